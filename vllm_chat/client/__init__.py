"""Talking to the server: SSE decoding (`sse`), stream events (`events`), typed errors and
the server's own words (`errors`), one table of hints (`hints`), the HTTP client (`api`).

May import `config`.
"""
