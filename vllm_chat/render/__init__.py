"""Showing answers: what the terminal is, terminal-safe text, widths, plain and Markdown renderers.

`environment` decides the terminal's facts once (`Environment`, passed down);
the rest ask it, never the operating system. Imports nothing else from the
project; `rich` only in `markdown`, `live`, `scroll` and `stream`, which the
plain path never loads. `tokens` is the token view (each token coloured by its probability) and
`/alt`'s table.
"""
