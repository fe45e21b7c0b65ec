"""vllm-chat: a terminal chat client for vLLM and any OpenAI-compatible server."""

__version__ = "0.1.0"
