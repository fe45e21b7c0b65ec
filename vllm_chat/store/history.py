"""The prompt history file: private, capped, and never a reason to crash."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from prompt_toolkit.history import FileHistory, History, InMemoryHistory

from vllm_chat.config.settings import line_may_hold_key
from vllm_chat.render.text import status_line

MAX_ENTRIES = 10_000


class SafeFileHistory(FileHistory):
    """A `FileHistory` kept at 0600 and capped at `MAX_ENTRIES`; I/O errors only warn.

    The file is read when this is made, at start-up, so that what is wrong with it
    is said before the first prompt, not across it.
    """

    def __init__(self, filename: Path, max_entries: int = MAX_ENTRIES) -> None:
        super().__init__(str(filename))
        self._path = filename
        self._max_entries = max_entries
        self._warned = False
        self._strings = self._read()

    def _read(self) -> list[str]:
        path = self._path
        try:
            data = path.read_bytes()
            data = trim_history_file(path, data, self._max_entries)
        except OSError as exc:
            self._warn(f"cannot read the history file {self._path}: {exc.strerror}")
            return []
        if not is_well_formed(data):
            status_line(
                f"the history file {path} has lines that are not history entries "
                "(or not UTF-8); they are skipped",
                kind="warn",
            )
        return history_strings(data)

    def load_history_strings(self) -> Iterable[str]:
        return self._strings

    def append_string(self, string: str) -> None:
        if line_may_hold_key(string):  # `/key KEY` (refused): the key never reaches the file
            return
        super().append_string(string)

    def store_string(self, string: str) -> None:
        try:
            super().store_string(string)
        except OSError as exc:
            self._warn(f"cannot write the history file {self._path}: {exc.strerror}")

    def _warn(self, text: str) -> None:
        if not self._warned:
            self._warned = True
            status_line(f"{text}; history is kept for this session only", kind="warn")


def _entries(data: bytes) -> list[bytes]:
    """Split FileHistory's format (a `# date` line, then `+`-prefixed lines) into entries."""
    entries: list[bytes] = []
    for line in data.splitlines(keepends=True):
        if line.startswith(b"#") or not entries:
            entries.append(line)
        else:
            entries[-1] += line
    return entries


def is_well_formed(data: bytes) -> bool:
    """UTF-8, and every line a `# date`, a `+text` entry line, or empty."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(not line or line[0] in "#+" for line in text.split("\n"))


def trim_history_file(path: Path, data: bytes, keep: int) -> bytes:
    """Keep the newest `keep` entries of `data`, read from `path`; replaced atomically.

    Returns what the file now holds.
    """
    if len(data) < keep * 8:  # too small to hold `keep` entries
        return data
    entries = _entries(data)
    if len(entries) <= keep:
        return data
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".history-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.writelines(entries[-keep:])
        os.replace(temporary, path)  # mkstemp made it 0600
    except BaseException:
        os.unlink(temporary)
        raise
    return b"".join(entries[-keep:])


def history_strings(data: bytes) -> list[str]:
    """The entries of a history file, newest first, read as `FileHistory` reads them."""
    strings: list[str] = []
    lines: list[str] = []
    for line_bytes in io.BytesIO(data):
        line = line_bytes.decode("utf-8", errors="replace")
        if line.startswith("+"):
            lines.append(line[1:])
        elif lines:
            strings.append("".join(lines)[:-1])  # without the entry's last newline
            lines = []
    if lines:
        strings.append("".join(lines)[:-1])
    return strings[::-1]


def open_history(path: Path | None) -> History:
    """History at `path` (0600 in a 0700 folder), or in memory when off or impossible."""
    if path is None:
        return InMemoryHistory()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            path.touch(mode=0o600)
        elif path.is_file() and path.stat().st_mode & 0o077:
            path.chmod(0o600)  # a file from elsewhere that others could read
    except OSError as exc:
        status_line(
            f"cannot create the history file {path}: {exc.strerror}; "
            "history is kept for this session only",
            kind="warn",
        )
        return InMemoryHistory()
    return SafeFileHistory(path)
