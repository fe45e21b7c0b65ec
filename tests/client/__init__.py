"""Tests of `vllm_chat.client`: SSE decoding and the HTTP client, against the stand-in."""
