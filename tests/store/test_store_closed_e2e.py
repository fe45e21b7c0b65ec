"""A `-q` run closes the chat store before it exits, whichever way it used the store.

`app.run_quick` freezes what the run made (the interpreter's last collections need not
walk it), so nothing may wait for them to be closed: SQLite folds its write-ahead log
back into the file only when the connection closes, and leaves -wal and -shm files
beside it otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.standin import StandinServer
from tests.store.storage import db_path, query, quick


@pytest.mark.parametrize(
    ("flags", "stored"),
    [((), 2), (("-c",), 2), (("-r", "first"), 2), (("--private",), 1), (("--private", "-c"), 1)],
)
def test_a_quick_run_leaves_only_the_store_file(
    server: StandinServer, tmp_path: Path, flags: tuple[str, ...], stored: int
) -> None:
    assert quick(server, "-q", "first") == b"You said: first\n"
    assert quick(server, *flags, "-q", "second") == b"You said: second\n"
    path = db_path(tmp_path)
    assert sorted(entry.name for entry in path.parent.iterdir()) == ["chats.db"]
    assert query(path, "SELECT count(*) FROM messages WHERE role = 'user'") == [(stored,)]
