"""The interactive chat: prompt session, keys, completion, toolbar, slash commands.

The only floor that imports `prompt_toolkit`; may import every floor below it.
"""
