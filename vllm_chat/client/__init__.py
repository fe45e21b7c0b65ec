"""Talking to the server: SSE decoding, the HTTP client, typed errors and their hints.

May import `config`.
"""
