"""Settings: built-in defaults, the config file, sampling values, and their resolution.

The lowest floor with `render.text`: imports nothing else from the project.
"""
