"""Editing text in the user's own editor ($VISUAL, $EDITOR, else vi)."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile


class EditorError(Exception):
    """The editor could not be started or failed."""


def editor_command() -> list[str]:
    return shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")


def edit(text: str) -> str:
    """Open `text` in the editor; return what the user saved (a private temporary file)."""
    command = editor_command()
    fd, path = tempfile.mkstemp(prefix="vllm-chat-", suffix=".md")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        try:
            status = subprocess.call([*command, path])
        except OSError as exc:
            raise EditorError(f"cannot start the editor {command[0]!r}: {exc.strerror}") from exc
        if status != 0:
            raise EditorError(f"the editor {command[0]!r} exited with status {status}")
        with open(path, encoding="utf-8", errors="replace") as edited:
            return edited.read()
    finally:
        os.unlink(path)
