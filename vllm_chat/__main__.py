"""`python -m vllm_chat` runs the command line."""

from vllm_chat.cli import main

raise SystemExit(main())
