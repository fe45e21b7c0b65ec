"""What a failure of the chat store's SQLite means to the user, in one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def explained(path: Path, exc: sqlite3.Error, busy_timeout_ms: int) -> str:
    """One line for a SQLite failure, saying what the user can do about it."""
    words = str(exc)
    if "locked" in words or "busy" in words:
        what = f"is locked by another process (waited {busy_timeout_ms / 1000:g} s)"
    elif "readonly" in words or "read-only" in words:
        what = "is read-only"
    elif "full" in words:
        what = "cannot grow: the disk is full"
    elif "not a database" in words or "malformed" in words or "corrupt" in words:
        what = "is not a chat store (corrupt, or another kind of file); it was left as it is"
    else:
        what = f"failed: {words}"
    return f"the chat store {path} {what}"
