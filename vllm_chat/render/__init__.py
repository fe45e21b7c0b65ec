"""Showing answers: terminal-safe text, widths, plain and streaming Markdown renderers.

Imports nothing else from the project; `rich` only in `markdown`, `live` and
`stream`, which the plain path never loads.
"""
