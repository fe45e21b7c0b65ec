"""A chat session: its state (`session`), one turn (`turn`), answers, `<think>`, attachments.

`logprobs` says what the server did with the token probabilities asked for; `script` is
`-q --json`'s output.

May import `config`, `client` and `render`.
"""
