"""A chat session: the conversation, one turn, the answer on its way, `<think>`, attachments.

May import `config`, `client` and `render`.
"""
