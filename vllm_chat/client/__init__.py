"""Talking to the server: SSE decoding (`sse`), stream events (`events`), typed errors and
the server's own words (`errors`), one table of hints (`hints`), the HTTP client (`api`),
what a server says about itself (`server`: version, health, model cards, metrics, tokens).

May import `config`.
"""
