"""Tests of `vllm_chat.chat`: `<think>` splitting, the conversation, turn statistics."""
