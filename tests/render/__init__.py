"""Tests of `vllm_chat.render`: sanitising, plain output, streaming Markdown, fidelity."""
