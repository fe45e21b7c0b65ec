"""Tests of `vllm_chat.config`: settings resolution, the config file, validation."""
