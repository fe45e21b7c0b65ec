"""Every chat, kept as it happens: one SQLite database, a transaction per turn.

`$XDG_DATA_HOME/vllm-chat/chats.db` (folder 0700, file 0600), WAL journal, a busy
timeout, the schema's version in `PRAGMA user_version` (migrated on open; a newer one
is never touched). A chat is a row of `chats`; its messages are rows of `messages`,
in order; `messages_fts` (FTS5, when this SQLite has it) indexes their text.

Failures are `StoreError`s with one line to show: the caller keeps the chat in memory
and carries on. The file is never deleted or overwritten.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vllm_chat.chat.attachments import text_of
from vllm_chat.chat.conversation import Message
from vllm_chat.config.settings import data_dir
from vllm_chat.render.text import common_prefix
from vllm_chat.store.failures import explained

SCHEMA = 2  # 2: messages.extra (an answer's tool calls and logprobs, a tool result's call id)
BUSY_TIMEOUT_MS = 3000
TITLE_LENGTH = 60
# The page cache while writing (KiB; SQLite's default, 2 MB, is kept for reading): the
# pages a long answer dirties (its row, FTS5's copy and index) would all stay in memory
# until the commit, 0.7 MB more peak for 400 KB of text; past this they spill to the WAL.
WRITE_CACHE_KIB = 64

_TABLES = """
CREATE TABLE chats (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    url TEXT,
    model TEXT,
    system_prompt TEXT,
    sampling TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX chats_by_update ON chats (updated);
CREATE TABLE messages (
    chat_id TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    partial INTEGER NOT NULL DEFAULT 0,
    stats TEXT,
    created REAL NOT NULL,
    PRIMARY KEY (chat_id, seq)
);
"""
# A message's text, under the rowid of its row in `messages`.
_FTS = "CREATE VIRTUAL TABLE messages_fts USING fts5 (text)"
_TAIL_ROWIDS = "SELECT rowid FROM messages WHERE chat_id = ? AND seq >= ?"


class StoreError(Exception):
    """The store cannot be used (or not now); the message says why, in one line."""


@dataclass
class ChatMeta:
    """A chat's row: what a listing shows and what resuming restores."""

    id: str
    title: str
    created: float
    updated: float
    url: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    sampling: dict[str, Any] = field(default_factory=dict)
    turns: int = 0
    snippet: str | None = None  # where a search matched


def default_path() -> Path:
    return data_dir() / "chats.db"


def new_id() -> str:
    """12 hex digits: a collision needs about 16 million chats (and uuid costs 2 ms to load)."""
    return os.urandom(6).hex()


def title_of(content: Any) -> str:
    """A chat's title: its first user message on one line, shortened."""
    line = " ".join(text_of(content).split()) or "(no text)"
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


OPEN_STORES: weakref.WeakSet[ChatStore] = weakref.WeakSet()  # for resume.close_stores


class ChatStore:
    """The database, opened on first use; one connection per process."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._db: sqlite3.Connection | None = None
        self.has_fts = False
        self._cache_size = -2000  # SQLite's default page cache (read at open), for reading

    # ---- opening --------------------------------------------------------------------------

    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
            OPEN_STORES.add(self)
        return self._db

    def _open(self) -> sqlite3.Connection:
        folder = self.path.parent
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not self.path.exists():
                # Created private; SQLite gives its -wal and -shm files the same mode.
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as exc:
            reason = exc.strerror or exc
            raise StoreError(f"cannot create the chat store {self.path}: {reason}") from exc
        try:
            # No statement cache: a cached statement keeps SQLite's copies of its parameters
            # (a long answer's JSON, then its text) for the rest of the process.
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                 isolation_level=None, cached_statements=0)  # fmt: skip
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the chat store {self.path}: {exc}") from exc
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA:
                raise StoreError(
                    f"the chat store {self.path} was made by a newer vllm-chat (schema "
                    f"{version}, this one knows {SCHEMA}); it was left untouched"
                )
            with _suppress_readonly():
                db.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL keeps every commit through a crash or `kill -9` (only a
            # power cut may lose the last ones) and saves an fsync per turn: 10-20 ms on -q.
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            self._cache_size = db.execute("PRAGMA cache_size").fetchone()[0]
            if version < SCHEMA:
                self._migrate(db, version)
            self.has_fts = bool(
                db.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'messages_fts'"
                ).fetchone()
            )
        except StoreError:
            db.close()
            raise
        except sqlite3.Error as exc:
            db.close()
            raise StoreError(explained(self.path, exc, BUSY_TIMEOUT_MS)) from exc
        return db

    def _migrate(self, db: sqlite3.Connection, version: int) -> None:
        """Bring the schema from `version` to SCHEMA, in one transaction."""
        with _transaction(db):
            # Read again under the write lock: another process that opened the file at the
            # same time may have made the schema since `version` was read.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version >= SCHEMA:
                return
            if version < 1:
                # One statement at a time: executescript() would commit the transaction.
                for statement in filter(str.strip, _TABLES.split(";")):
                    db.execute(statement)
                with contextlib.suppress(sqlite3.OperationalError):
                    db.execute(_FTS)  # no FTS5 in this SQLite: searches scan with LIKE
            if version < 2:
                db.execute("ALTER TABLE messages ADD COLUMN extra TEXT")
            db.execute(f"PRAGMA user_version = {SCHEMA}")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # ---- writing --------------------------------------------------------------------------

    def create(self, meta: ChatMeta) -> None:
        with self._writing() as db:
            self._insert_chat(db, meta)

    def sync(
        self,
        meta: ChatMeta,
        messages: Sequence[Message],
        stored: Sequence[Message],
        stats: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        """Make the chat's stored messages `messages`, which were `stored` until now.

        One transaction: what the two share stays, the rest is replaced. If the chat in
        the database is no longer `stored` (another vllm-chat wrote to it meanwhile),
        raise `ChatChanged` and write nothing.
        """
        keep = common_prefix(messages, stored)
        with self._writing() as db:
            row = db.execute("SELECT 1 FROM chats WHERE id = ?", (meta.id,)).fetchone()
            if row is None:
                if stored:
                    raise ChatChanged(meta.id)
                self._insert_chat(db, meta)
            elif self._count(db, meta.id) != len(stored):
                raise ChatChanged(meta.id)
            if self.has_fts:
                db.execute(f"DELETE FROM messages_fts WHERE rowid IN ({_TAIL_ROWIDS})",
                           (meta.id, keep))  # fmt: skip
            db.execute("DELETE FROM messages WHERE chat_id = ? AND seq >= ?", (meta.id, keep))
            now = time.time()
            for seq in range(keep, len(messages)):
                message = messages[seq]
                figures = (stats or {}).get(seq)
                # Only the rowid kept: the cursor, with the JSON bound, goes before the index.
                rowid = db.execute(
                    "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (meta.id, seq, message.role, json.dumps(message.content),
                     int(message.partial), json.dumps(figures) if figures else None, now,
                     _extra(message)),
                ).lastrowid  # fmt: skip
                if self.has_fts:
                    db.execute(
                        "INSERT INTO messages_fts (rowid, text) VALUES (?, ?)",
                        (rowid, text_of(message.content)),
                    )
            db.execute(
                "UPDATE chats SET updated = ?, title = ?, url = ?, model = ?, system_prompt = ?,"
                " sampling = ? WHERE id = ?",
                (now, meta.title, meta.url, meta.model, meta.system_prompt,
                 json.dumps(meta.sampling), meta.id),
            )  # fmt: skip
        meta.updated = now

    def rename(self, chat_id: str, title: str) -> None:
        with self._writing() as db:
            db.execute("UPDATE chats SET title = ? WHERE id = ?", (title, chat_id))

    def delete(self, chat_id: str) -> None:
        with self._writing() as db:
            if self.has_fts:
                db.execute(f"DELETE FROM messages_fts WHERE rowid IN ({_TAIL_ROWIDS})",
                           (chat_id, 0))  # fmt: skip
            db.execute("DELETE FROM messages WHERE chat_id = ?", (chat_id,))
            db.execute("DELETE FROM chats WHERE id = ?", (chat_id,))

    # ---- reading --------------------------------------------------------------------------

    def latest(self) -> ChatMeta | None:
        found = self.recent(1)
        return found[0] if found else None

    def recent(self, limit: int = 20) -> list[ChatMeta]:
        rows = self._read(
            f"SELECT {_META_COLUMNS} FROM chats ORDER BY updated DESC LIMIT ?", (limit,)
        )
        return [_meta(row) for row in rows]

    def find(self, query: str) -> ChatMeta | None:
        """The chat whose id starts with `query`, else the best match of its words."""
        rows = self._read(
            f"SELECT {_META_COLUMNS} FROM chats WHERE id LIKE ? ORDER BY updated DESC LIMIT 2",
            (_escaped(query) + "%",),
        )
        if len(rows) == 1 or (rows and rows[0][0] == query):
            return _meta(rows[0])
        matches = self.search(query, limit=1)
        return matches[0] if matches else None

    def search(self, words: str, limit: int = 20) -> list[ChatMeta]:
        """Chats whose messages hold `words`, best (then latest) first."""
        self.db()  # opened: has_fts is known
        if self.has_fts:
            try:
                return self._search_fts(words, limit)
            except sqlite3.OperationalError:
                pass  # not an FTS5 query (quotes, operators): scan instead
        return self._search_like(words, limit)

    def _search_fts(self, words: str, limit: int) -> list[ChatMeta]:
        query = " ".join('"' + word.replace('"', '""') + '"' for word in words.split())
        hits = self._read(
            "SELECT m.chat_id, snippet(messages_fts, 0, '[', ']', '…', 8) FROM messages_fts"
            " JOIN messages AS m ON m.rowid = messages_fts.rowid"
            " WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?",
            (query, limit * 20),
        )
        best: dict[str, str] = {}
        for chat_id, snippet in hits:  # best match first: a chat's first hit is its best
            best.setdefault(chat_id, snippet)
        found = []
        for chat_id, snippet in list(best.items())[:limit]:
            rows = self._read(f"SELECT {_META_COLUMNS} FROM chats WHERE id = ?", (chat_id,))
            if rows:
                found.append(_meta(rows[0], snippet=" ".join(snippet.split())))
        return found

    def _search_like(self, words: str, limit: int) -> list[ChatMeta]:
        terms = words.split() or [""]
        where = " AND ".join(["text LIKE ? ESCAPE '\\'"] * len(terms))
        rows = self._read(
            f"SELECT {_META_COLUMNS}, m.text FROM chats JOIN ("
            "  SELECT chat_id, content AS text, max(seq) FROM messages"
            f"  WHERE {where.replace('text', 'content')} GROUP BY chat_id"
            ") AS m ON m.chat_id = chats.id ORDER BY chats.updated DESC LIMIT ?",
            # `content` is JSON: look for each word spelt as json.dumps spells it there
            # (non-ASCII as \uXXXX, quotes and backslashes escaped).
            (*("%" + _escaped(json.dumps(term)[1:-1]) + "%" for term in terms), limit),
        )
        return [_meta(row[:-1], snippet=_around(text_of(json.loads(row[-1])), terms[0]))
                for row in rows]  # fmt: skip

    def messages(self, chat_id: str) -> tuple[list[Message], dict[int, dict[str, Any]]]:
        """A chat's messages in order, and the stats stored with its answers by position."""
        rows = self._read(
            "SELECT seq, role, content, partial, stats, extra FROM messages WHERE chat_id = ?"
            " ORDER BY seq",
            (chat_id,),
        )
        messages = []
        for _, role, content, partial, _, extra in rows:
            more = json.loads(extra) if extra else {}
            messages.append(Message(role, json.loads(content), bool(partial),
                                    more.get("tool_calls"), more.get("tool_call_id"),
                                    more.get("logprobs")))  # fmt: skip
        stats = {seq: json.loads(raw) for seq, _, _, _, raw, _ in rows if raw}
        return messages, stats

    def integrity(self) -> str:
        return str(self._read("PRAGMA integrity_check", ())[0][0])

    # ---- helpers --------------------------------------------------------------------------

    def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        try:
            return self.db().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(explained(self.path, exc, BUSY_TIMEOUT_MS)) from exc

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A transaction with a small page cache (WRITE_CACHE_KIB), the usual one after."""
        db = self.db()
        try:
            db.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
            try:
                with _transaction(db):
                    yield db
            finally:  # a failed write's own error is the one to say
                with contextlib.suppress(sqlite3.Error):
                    db.execute(f"PRAGMA cache_size = {self._cache_size}")
        except sqlite3.Error as exc:
            raise StoreError(explained(self.path, exc, BUSY_TIMEOUT_MS)) from exc

    @staticmethod
    def _insert_chat(db: sqlite3.Connection, meta: ChatMeta) -> None:
        db.execute(
            "INSERT INTO chats VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (meta.id, meta.title, meta.created, meta.updated, meta.url, meta.model,
             meta.system_prompt, json.dumps(meta.sampling)),
        )  # fmt: skip

    @staticmethod
    def _count(db: sqlite3.Connection, chat_id: str) -> int:
        row = db.execute("SELECT count(*) FROM messages WHERE chat_id = ?", (chat_id,))
        return int(row.fetchone()[0])


class ChatChanged(StoreError):
    """The chat was written by another vllm-chat since this one last wrote it."""

    def __init__(self, chat_id: str) -> None:
        super().__init__(f"chat {chat_id} was changed by another vllm-chat meanwhile")
        self.chat_id = chat_id


_META_COLUMNS = (
    "chats.id, title, created, updated, url, model, system_prompt, sampling,"
    " (SELECT count(*) FROM messages WHERE chat_id = chats.id AND role = 'user')"
)


def _meta(row: Sequence[Any], snippet: str | None = None) -> ChatMeta:
    chat_id, title, created, updated, url, model, system, sampling, turns = row
    return ChatMeta(chat_id, title, created, updated, url, model, system,
                    json.loads(sampling or "{}"), turns, snippet)  # fmt: skip


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE: take the write lock first (waiting up to the busy timeout), so that two
    # writers never both read a chat and then one fails to upgrade its lock.
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@contextmanager
def _suppress_readonly() -> Iterator[None]:
    """WAL cannot be switched on in a read-only file: reading still works."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc):
            raise


def _extra(message: Message) -> str | None:
    """What a message holds beside its text: an answer's tool calls and token
    probabilities, a result's call id."""
    more: dict[str, Any] = {}
    if message.tool_calls:
        more["tool_calls"] = message.tool_calls
    if message.logprobs is not None:
        more["logprobs"] = message.logprobs
    if message.tool_call_id:
        more["tool_call_id"] = message.tool_call_id
    return json.dumps(more, ensure_ascii=False) if more else None


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _around(text: str, word: str, width: int = 60) -> str:
    at = max(0, text.lower().find(word.lower()))
    start = max(0, at - width // 3)
    piece = " ".join(text[start : start + width].split())
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")
