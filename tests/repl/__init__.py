"""Tests of `vllm_chat.repl`: the prompt, keys and slash commands (pipe input and pty)."""
