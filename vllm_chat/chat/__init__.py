"""A chat session: its state (`session`), one turn (`turn`), answers, `<think>`, attachments.

May import `config`, `client` and `render`.
"""
