"""The chat store (`store.chats.ChatStore`) and a session's side of it (`store.journal.Journal`).

Every test opens a real SQLite file under pytest's `tmp_path` and reads it back, through
the store and with `sqlite3` directly; turns that need answers go to the stand-in server.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.standin import Reply, StandinServer
from tests.store.storage import query
from vllm_chat.chat.conversation import Message
from vllm_chat.chat.session import Chat
from vllm_chat.client.api import Client
from vllm_chat.store import chats
from vllm_chat.store.chats import (
    SCHEMA,
    ChatChanged,
    ChatMeta,
    ChatStore,
    StoreError,
    default_path,
    title_of,
)
from vllm_chat.store.journal import Journal

NOWHERE = "http://127.0.0.1:9/v1"  # never asked: these chats send nothing


# ---- helpers ---------------------------------------------------------------------------


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "vllm-chat" / "chats.db"


@pytest.fixture
def store(path: Path) -> Iterator[ChatStore]:
    opened = ChatStore(path)
    yield opened
    opened.close()


def exchange(*texts: str) -> list[Message]:
    """Messages alternating user, assistant, user… with these texts."""
    return [Message("user" if i % 2 == 0 else "assistant", text) for i, text in enumerate(texts)]


def meta(chat_id: str, updated: float = 1000.0, title: str = "a chat") -> ChatMeta:
    return ChatMeta(chat_id, title, updated, updated, model="standin-model")


def stored_texts(path: Path, chat_id: str) -> list[str]:
    found = query(path, "SELECT content FROM messages WHERE chat_id = ? ORDER BY seq", chat_id)
    return [json.loads(content) for (content,) in found]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Said(list):
    """A chat's `report`: every (kind, text) it was asked to show."""

    def __call__(self, text: str, kind: str = "info") -> None:
        self.append((kind, text))


def offline_chat(said: Said | None = None) -> Chat:
    return Chat(Client(NOWHERE), model="standin-model", report=said if said is not None else Said())


def journal_on(store: ChatStore, chat: Chat) -> Journal:
    journal = Journal(chat, store, NOWHERE)
    chat.after_change = journal.record
    return journal


# ---- the file ----------------------------------------------------------------------------


def test_a_new_store_is_private_in_wal_mode_with_the_schema_version(
    store: ChatStore, path: Path
) -> None:
    assert not path.parent.exists()
    store.sync(meta("c1"), exchange("hi", "hello"), [])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for side in ("-wal", "-shm"):  # SQLite's own files, while the store is open
        extra = path.with_name(path.name + side)
        assert extra.exists()
        assert stat.S_IMODE(extra.stat().st_mode) == 0o600
    assert query(path, "PRAGMA user_version") == [(SCHEMA,)]
    assert query(path, "PRAGMA journal_mode") == [("wal",)]
    assert store.has_fts
    assert store.integrity() == "ok"


def test_the_default_path_is_in_xdg_data_home(tmp_path: Path) -> None:
    assert default_path() == tmp_path / "xdg-data" / "vllm-chat" / "chats.db"
    assert ChatStore().path == default_path()


def test_a_relative_xdg_data_home_is_ignored(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "rel/dir")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".local" / "share" / "vllm-chat" / "chats.db"


def test_reopening_keeps_everything(path: Path) -> None:
    first = ChatStore(path)
    first.sync(meta("c1"), exchange("one", "two"), [])
    first.close()
    again = ChatStore(path)
    messages, _ = again.messages("c1")
    assert messages == exchange("one", "two")
    assert query(path, "PRAGMA user_version") == [(SCHEMA,)]
    again.close()


def test_a_newer_schema_is_left_untouched(path: Path) -> None:
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    before = digest(path)
    store = ChatStore(path)
    with pytest.raises(StoreError, match="made by a newer vllm-chat") as failure:
        store.sync(meta("c1"), exchange("hi", "hello"), [])
    assert str(path) in str(failure.value) and "\n" not in str(failure.value)
    with pytest.raises(StoreError, match="made by a newer vllm-chat"):
        store.recent()
    assert digest(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["chats.db"]


def test_a_file_that_is_no_database_is_left_as_it_is(path: Path) -> None:
    path.parent.mkdir(parents=True)
    garbage = b"this is not SQLite at all \x00\xff" * 200
    path.write_bytes(garbage)
    store = ChatStore(path)
    with pytest.raises(StoreError, match="is not a chat store") as failure:
        store.sync(meta("c1"), exchange("hi", "hello"), [])
    assert str(path) in str(failure.value)
    with pytest.raises(StoreError, match="is not a chat store"):
        store.search("hi")
    assert path.read_bytes() == garbage


def test_a_locked_store_says_so_and_writes_later(path: Path, monkeypatch) -> None:
    monkeypatch.setattr(chats, "BUSY_TIMEOUT_MS", 100)  # not the real 3 s
    store = ChatStore(path)
    store.sync(meta("c1"), exchange("one", "two"), [])
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreError, match="is locked by another process"):
        store.sync(meta("c1"), exchange("one", "two", "three", "four"), exchange("one", "two"))
    holder.execute("ROLLBACK")
    holder.close()
    store.sync(meta("c1"), exchange("one", "two", "three", "four"), exchange("one", "two"))
    assert stored_texts(path, "c1") == ["one", "two", "three", "four"]
    store.close()


def test_a_second_process_that_found_no_schema_does_not_fail(path: Path) -> None:
    """Two first runs at once: both read user_version 0, one creates the tables first."""
    ChatStore(path).db()  # the first made the schema
    late = sqlite3.connect(path, isolation_level=None, timeout=3)
    ChatStore(path)._migrate(late, 0)  # the second one read version 0 before that
    late.close()
    assert query(path, "PRAGMA user_version") == [(SCHEMA,)]


# ---- writing -------------------------------------------------------------------------------


def test_sync_stores_messages_in_order_with_their_stats(store: ChatStore, path: Path) -> None:
    picture = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    messages = [
        Message("user", picture),
        Message("assistant", "a cat", partial=True),
        Message("user", "café ☕"),
        Message("assistant", "oui"),
    ]
    figures = {"ttft_ms": 12.5, "finish_reason": "stop", "usage": {"total_tokens": 9}}
    store.sync(meta("c1"), messages, [], {3: figures})
    got, stats = store.messages("c1")
    assert got == messages
    assert stats == {3: figures}
    assert query(path, "SELECT seq, role, partial FROM messages ORDER BY seq") == [
        (0, "user", 0), (1, "assistant", 1), (2, "user", 0), (3, "assistant", 0),
    ]  # fmt: skip
    [found] = store.recent()
    assert (found.id, found.turns, found.model) == ("c1", 2, "standin-model")


def test_sync_after_an_undo_replaces_the_tail(store: ChatStore, path: Path) -> None:
    chat = meta("c1")
    four = exchange("keep me", "kept", "drop zebra", "dropped")
    store.sync(chat, four, [])
    two = four[:2]
    store.sync(chat, two, four)  # /undo
    assert stored_texts(path, "c1") == ["keep me", "kept"]
    assert store.search("zebra") == []  # its words left the index too
    again = [*two, *exchange("new giraffe", "answer")]
    store.sync(chat, again, two)
    assert stored_texts(path, "c1") == ["keep me", "kept", "new giraffe", "answer"]
    assert [m.id for m in store.search("giraffe")] == ["c1"]
    assert store.search("zebra") == []
    assert store.integrity() == "ok"


def test_sync_replaces_a_changed_answer(store: ChatStore, path: Path) -> None:
    """/retry: same length, the last answer differs; the first message keeps its row."""
    chat = meta("c1")
    first = exchange("question", "old answer")
    store.sync(chat, first, [])
    created = query(path, "SELECT created FROM messages WHERE seq = 0")
    store.sync(chat, exchange("question", "new answer"), first)
    assert stored_texts(path, "c1") == ["question", "new answer"]
    assert query(path, "SELECT created FROM messages WHERE seq = 0") == created


def test_sync_refuses_a_chat_another_writer_changed(store: ChatStore, path: Path) -> None:
    chat = meta("c1")
    store.sync(chat, exchange("one", "two"), [])
    other = ChatStore(path)  # another vllm-chat added a turn meanwhile
    other.sync(meta("c1"), exchange("one", "two", "theirs", "reply"), exchange("one", "two"))
    other.close()
    with pytest.raises(ChatChanged, match="changed by another vllm-chat") as failure:
        store.sync(chat, exchange("one", "two", "mine", "reply"), exchange("one", "two"))
    assert failure.value.chat_id == "c1"
    assert stored_texts(path, "c1") == ["one", "two", "theirs", "reply"]  # nothing overwritten


def test_sync_refuses_a_chat_deleted_meanwhile(store: ChatStore, path: Path) -> None:
    store.sync(meta("c1"), exchange("one", "two"), [])
    store.delete("c1")
    with pytest.raises(ChatChanged):
        store.sync(meta("c1"), exchange("one", "two", "three", "four"), exchange("one", "two"))
    assert query(path, "SELECT count(*) FROM chats") == [(0,)]


def test_delete_removes_one_chat_and_its_messages(store: ChatStore, path: Path) -> None:
    store.sync(meta("gone"), exchange("walrus", "a"), [])
    store.sync(meta("stays"), exchange("walrus too", "b"), [])
    store.delete("gone")
    assert [m.id for m in store.recent()] == ["stays"]
    assert query(path, "SELECT DISTINCT chat_id FROM messages") == [("stays",)]
    assert query(path, "SELECT count(*) FROM messages_fts") == [(2,)]  # the index follows
    assert [m.id for m in store.search("walrus")] == ["stays"]
    assert store.messages("gone") == ([], {})


def test_rename(store: ChatStore) -> None:
    store.sync(meta("c1", title="first words"), exchange("first words", "a"), [])
    store.rename("c1", "a better title")
    assert [m.title for m in store.recent()] == ["a better title"]


def test_titles_are_one_short_line() -> None:
    assert title_of("  several\n  lines\tof text ") == "several lines of text"
    assert title_of("") == "(no text)"
    long = title_of("word " * 40)
    assert len(long) == chats.TITLE_LENGTH and long.endswith("…")
    assert title_of([{"type": "text", "text": "look"}, {"type": "image_url"}]) == "look"


# ---- reading -------------------------------------------------------------------------------


def test_recent_lists_the_latest_updated_first(store: ChatStore) -> None:
    for chat_id, when in (("old", 1000.0), ("newer", 2000.0), ("newest", 3000.0)):
        store.create(meta(chat_id, when))
    assert [m.id for m in store.recent()] == ["newest", "newer", "old"]
    assert [m.id for m in store.recent(2)] == ["newest", "newer"]
    store.sync(meta("old", 1000.0), exchange("hello again", "hi"), [])  # a new turn: now
    assert [m.id for m in store.recent()] == ["old", "newest", "newer"]
    latest = store.latest()
    assert latest is not None and latest.id == "old"


def test_latest_of_an_empty_store(store: ChatStore) -> None:
    assert store.latest() is None
    assert store.recent() == []


def test_find_takes_an_id_prefix_before_words(store: ChatStore) -> None:
    store.sync(meta("3f2a9c1b0d4e", 1000.0), exchange("about penguins", "yes"), [])
    store.sync(meta("3f2b00000000", 2000.0), exchange("about otters", "yes"), [])
    store.sync(meta("aa0000000000", 3000.0), exchange("3f2a9 is a code", "ok"), [])
    found = store.find("3f2a")
    assert found is not None and found.id == "3f2a9c1b0d4e"
    exact = store.find("3f2b00000000")
    assert exact is not None and exact.id == "3f2b00000000"
    words = store.find("otters")
    assert words is not None and words.id == "3f2b00000000"
    assert store.find("nothing like it") is None


def test_find_with_an_ambiguous_prefix_searches_words(store: ChatStore) -> None:
    store.sync(meta("ab1000000000", 1000.0), exchange("one", "yes"), [])
    store.sync(meta("ab2000000000", 2000.0), exchange("two", "yes"), [])
    store.sync(meta("cc0000000000", 3000.0), exchange("ab is a word here", "ok"), [])
    found = store.find("ab")
    assert found is not None and found.id == "cc0000000000"


def test_find_treats_like_wildcards_literally(store: ChatStore) -> None:
    store.sync(meta("c1"), exchange("plain words", "ok"), [])
    assert store.find("%") is None
    assert store.find("_") is None


def test_search_with_fts_marks_the_match(store: ChatStore) -> None:
    store.sync(meta("c1", 1000.0), exchange("tell me about the Quick Brown fox", "it jumps"), [])
    store.sync(meta("c2", 2000.0), exchange("a brown bear", "it sleeps"), [])
    assert store.has_fts
    found = store.search("brown FOX")
    assert [m.id for m in found] == ["c1"]
    assert found[0].snippet is not None
    assert "[Brown]" in found[0].snippet and "[fox]" in found[0].snippet
    assert sorted(m.id for m in store.search("brown")) == ["c1", "c2"]
    assert [m.id for m in store.search("café")] == []
    store.sync(meta("c3", 3000.0), exchange("un café noir", "voilà"), [])
    assert [m.id for m in store.search("café")] == ["c3"]
    assert [m.id for m in store.search("voilà")] == ["c3"]  # answers are searched too
    assert store.search('quote " and (parens) OR NOT') == []  # not FTS5 syntax: no error
    assert len(store.search("brown", limit=1)) == 1


def test_search_without_fts_scans_the_messages(store: ChatStore) -> None:
    store.sync(meta("c1", 1000.0), exchange("tell me about the Quick Brown fox", "it jumps"), [])
    store.sync(meta("c2", 2000.0), exchange("a brown bear", "it sleeps"), [])
    store.sync(meta("c3", 3000.0), exchange("100% sure, snake_case", "ok"), [])
    store.has_fts = False  # as with a SQLite built without FTS5
    found = store.search("brown FOX")
    assert [m.id for m in found] == ["c1"]
    assert found[0].snippet is not None and "Brown fox" in found[0].snippet
    assert [m.id for m in store.search("brown")] == ["c2", "c1"]  # latest first
    assert [m.id for m in store.search("100%")] == ["c3"]
    assert [m.id for m in store.search("e_c")] == ["c3"]  # `_` is no wildcard
    assert store.search("1%") == []  # nor is `%`
    assert store.search("giraffe") == []


def test_search_without_fts_finds_text_beyond_ascii(store: ChatStore) -> None:
    store.sync(meta("c1"), exchange('un café "noir"', "日本語 voilà"), [])
    store.has_fts = False
    assert [m.id for m in store.search("café")] == ["c1"]
    assert [m.id for m in store.search("日本語")] == ["c1"]
    assert [m.id for m in store.search('"noir"')] == ["c1"]


def test_a_store_made_without_fts_is_searched_by_scanning(path: Path, monkeypatch) -> None:
    monkeypatch.setattr(chats, "_FTS", "CREATE VIRTUAL TABLE messages_fts USING no_such_module")
    first = ChatStore(path)
    first.sync(meta("c1"), exchange("the okapi", "yes"), [])
    assert not first.has_fts
    first.close()
    again = ChatStore(path)
    assert [m.id for m in again.search("okapi")] == ["c1"]
    assert not again.has_fts
    again.close()


# ---- long answers (issue 17: a 100,000-token answer is some 400 KB) ----------------------

# 400 KB of words, numbers and punctuation: 90,000 words, 7,400 distinct.
LONG = "".join(f"Row {i}: some words of a long answer, item {i % 97} (of {i % 89}).\n"
               for i in range(7200))  # fmt: skip

_PEAK = """
import sys
from pathlib import Path
from tests.store.test_chats import LONG
from vllm_chat.chat.conversation import Message
from vllm_chat.store.chats import ChatMeta, ChatStore

def status(key):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith(key))

store = ChatStore(Path(sys.argv[1]))
short = [Message("user", "hi"), Message("assistant", "hello")]
store.sync(ChatMeta("c0", "warm-up", 1.0, 1.0), short, [])  # open, schema made
answer = "aardvark " + LONG + " zymurgy"
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as peak:
    peak.write("5")  # VmHWM := VmRSS
store.sync(ChatMeta("c1", "long", 2.0, 2.0), [Message("user", "x"), Message("assistant", answer)],
           [])
print(status("VmHWM") - before, len(answer) // 1024)
"""


def test_a_long_answer_is_stored_whole_and_found_anywhere(store: ChatStore, path: Path) -> None:
    answer = "aardvark " + LONG + " zymurgy"
    assert len(answer) > 400_000
    store.sync(meta("c1"), exchange("a long one", answer), [])
    store.sync(meta("c2", 2000.0), exchange("another", "aardvark"), [])
    assert stored_texts(path, "c1") == ["a long one", answer]
    for word in ("aardvark", "zymurgy", "Row 7199"):
        found = store.search(word)
        assert "c1" in [m.id for m in found]
        snippet = next(m.snippet for m in found if m.id == "c1")
        assert snippet is not None and "[" + word.split()[-1] + "]" in snippet
    assert store.integrity() == "ok"
    # FTS5's own check of its index against the text: raises if they differ.
    query(path, "INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
    store.sync(meta("c1"), exchange("a long one", "short now"), exchange("a long one", answer))
    assert store.search("zymurgy") == []  # the old answer's words left the index
    assert [m.id for m in store.search("aardvark")] == ["c2"]
    query(path, "INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")


def test_a_turn_is_written_with_a_small_page_cache_then_the_default_again(
    store: ChatStore,
) -> None:
    db = store.db()
    default = db.execute("PRAGMA cache_size").fetchone()[0]
    said: list[str] = []
    db.set_trace_callback(said.append)
    store.sync(meta("c1"), exchange("hi", "hello"), [])
    db.set_trace_callback(None)
    small = said.index(f"PRAGMA cache_size = -{chats.WRITE_CACHE_KIB}")
    assert small < said.index("BEGIN IMMEDIATE") < said.index("COMMIT")
    assert said[-1] == f"PRAGMA cache_size = {default}"
    assert db.execute("PRAGMA cache_size").fetchone()[0] == default
    with pytest.raises(ChatChanged):  # a write that fails gives the cache back too
        store.sync(meta("c1"), exchange("other", "words"), [])
    assert db.execute("PRAGMA cache_size").fetchone()[0] == default


@pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc peak RSS reset"
)
def test_writing_a_long_answer_raises_peak_memory_less_than_6x_its_size(path: Path) -> None:
    """Issue 17: this write raised peak RSS by 2.6 MB (6.8x), now 1.5 MB (3.9x): cached
    statements kept their parameters bound, and the row's pages, FTS5's copy of the text
    and its index sat in a 2 MB page cache until the commit. What is left is the JSON, its
    copy bound and the row SQLite builds (3 x 400 KB) and FTS5's hash of the pending
    tokens (7,400 distinct words here)."""
    path.parent.mkdir(parents=True)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(path)], cwd=root, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    peak_kb, text_kb = map(int, done.stdout.split())
    assert peak_kb < 6 * text_kb, f"peak RSS +{peak_kb} KB for a {text_kb} KB answer"


# ---- the journal of a session ------------------------------------------------------------


def test_a_journal_stores_each_change_once(store: ChatStore, path: Path) -> None:
    chat = offline_chat()
    journal = journal_on(store, chat)
    journal.record()
    assert not path.exists()  # nothing to store: the file is not even made
    chat.conversation.messages[:] = exchange("hello", "hi there")
    journal.record()
    chat_id = journal.chat_id
    assert chat_id is not None
    updated = query(path, "SELECT updated FROM chats")
    journal.record()  # nothing changed: nothing written
    assert query(path, "SELECT updated FROM chats") == updated
    chat.conversation.pop_exchange()
    journal.record()
    assert stored_texts(path, chat_id) == []
    chat.conversation.messages[:] = exchange("again", "yes")
    journal.record()
    assert journal.chat_id == chat_id
    assert stored_texts(path, chat_id) == ["again", "yes"]
    [found] = store.recent()
    assert (found.title, found.model, found.url) == ("hello", "standin-model", NOWHERE)


def test_a_journal_stores_settings_changes(store: ChatStore) -> None:
    chat = offline_chat()
    journal = journal_on(store, chat)
    chat.conversation.messages[:] = exchange("hello", "hi")
    journal.record()
    chat.sampling["temperature"] = 0.2
    chat.conversation.system_prompt = "Be terse."
    chat.model = "standin-model-large"
    journal.record()
    [found] = store.recent()
    assert found.sampling == {"temperature": 0.2}
    assert found.system_prompt == "Be terse."
    assert found.model == "standin-model-large"


def test_a_private_journal_writes_nothing(tmp_path: Path) -> None:
    chat = offline_chat()
    journal = Journal(chat, None, NOWHERE)
    chat.conversation.messages[:] = exchange("secret", "kept secret")
    journal.record()
    assert journal.private and journal.chat_id is None
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_turn_is_stored_with_its_figures(
    server: StandinServer, store: ChatStore, path: Path, capsys
) -> None:
    chat = Chat(Client(server.url), model="standin-model")
    journal = journal_on(store, chat)
    chat.send("hello")
    assert capsys.readouterr().out == "You said: hello\n"
    assert journal.chat_id is not None
    messages, stats = store.messages(journal.chat_id)
    assert messages == exchange("hello", "You said: hello")
    assert list(stats) == [1]
    figures = stats[1]
    assert figures["finish_reason"] == "stop"
    assert figures["interrupted"] is False
    assert isinstance(figures["ttft_ms"], float) and figures["ttft_ms"] >= 0
    assert figures["usage"]["completion_tokens"] > 0
    assert figures["usage"]["total_tokens"] == (
        figures["usage"]["prompt_tokens"] + figures["usage"]["completion_tokens"]
    )


def test_a_cut_answer_is_stored_partial(
    server: StandinServer, store: ChatStore, path: Path, capsys
) -> None:
    server.push(Reply(content="abcdefghijklmnop", chunk_chars=4, cut_after=2))
    chat = Chat(Client(server.url), model="standin-model", report=Said())
    journal = journal_on(store, chat)
    with pytest.raises(Exception, match="connection"):
        chat.send("go")
    assert journal.chat_id is not None
    messages, stats = store.messages(journal.chat_id)
    assert messages == [Message("user", "go"), Message("assistant", "abcdefgh", partial=True)]
    assert stats[1]["interrupted"] is True
    assert query(path, "SELECT partial FROM messages WHERE seq = 1") == [(1,)]


def test_two_journals_on_one_chat_lose_nothing(store: ChatStore, path: Path) -> None:
    store.sync(meta("shared"), exchange("start", "ok"), [])
    first_said, second_said = Said(), Said()
    first, second = offline_chat(first_said), offline_chat(second_said)
    first_journal = journal_on(store, first)
    second_journal = journal_on(ChatStore(path), second)  # another process
    for journal in (first_journal, second_journal):
        [found] = store.recent()
        journal.open(found)
    first.conversation.messages += exchange("first's question", "first's answer")
    first_journal.record()
    second.conversation.messages += exchange("second's question", "second's answer")
    second_journal.record()

    assert first_said == []
    [(kind, warning)] = second_said
    assert kind == "warn"
    assert "chat shared was changed by another vllm-chat" in warning
    assert second_journal.chat_id not in (None, "shared")
    assert second_journal.chat_id in warning
    assert stored_texts(path, "shared") == ["start", "ok", "first's question", "first's answer"]
    assert stored_texts(path, str(second_journal.chat_id)) == [
        "start", "ok", "second's question", "second's answer",
    ]  # fmt: skip
    # The copy goes on as its own chat, quietly.
    second.conversation.messages += exchange("more", "yes")
    second_journal.record()
    assert len(second_said) == 1
    assert stored_texts(path, str(second_journal.chat_id))[-2:] == ["more", "yes"]
    assert store.integrity() == "ok"
    assert second_journal.store is not None
    second_journal.store.close()


def test_a_failing_store_is_said_once_and_caught_up_later(path: Path, monkeypatch) -> None:
    monkeypatch.setattr(chats, "BUSY_TIMEOUT_MS", 100)
    said = Said()
    chat = offline_chat(said)
    store = ChatStore(path)
    journal = journal_on(store, chat)
    chat.conversation.messages[:] = exchange("one", "two")
    journal.record()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    chat.conversation.messages += exchange("three", "four")
    journal.record()
    chat.conversation.messages += exchange("five", "six")
    journal.record()
    holder.execute("ROLLBACK")
    holder.close()
    [(kind, warning)] = said
    assert kind == "warn" and "is locked by another process" in warning
    assert warning.endswith("this chat is kept in memory only, for now")
    assert stored_texts(path, str(journal.chat_id)) == ["one", "two"]
    journal.record()  # the next change (or record) stores everything not yet stored
    everything = ["one", "two", "three", "four", "five", "six"]
    assert stored_texts(path, str(journal.chat_id)) == everything
    store.close()


def test_start_new_keeps_the_old_chat(store: ChatStore, path: Path) -> None:
    chat = offline_chat()
    journal = journal_on(store, chat)
    chat.conversation.messages[:] = exchange("old", "chat")
    journal.record()
    old = journal.chat_id
    journal.start_new()
    chat.reset()
    journal.record()
    assert journal.chat_id is None
    chat.conversation.messages[:] = exchange("new", "chat")
    journal.record()
    assert journal.chat_id not in (None, old)
    assert stored_texts(path, str(old)) == ["old", "chat"]
    assert stored_texts(path, str(journal.chat_id)) == ["new", "chat"]


def test_fork_copies_and_the_original_stays_whole(store: ChatStore, path: Path) -> None:
    chat = offline_chat()
    journal = journal_on(store, chat)
    chat.conversation.messages[:] = exchange("q1", "a1", "q2", "a2", "q3", "a3")
    journal.record()
    original = str(journal.chat_id)
    copy = journal.fork(1)
    assert copy not in ("", original)
    assert stored_texts(path, original) == ["q1", "a1", "q2", "a2", "q3", "a3"]
    assert stored_texts(path, copy) == ["q1", "a1"]
    assert [m.content for m in chat.conversation.messages] == ["q1", "a1"]
    whole = journal.fork()
    assert stored_texts(path, whole) == ["q1", "a1"]
    assert len({original, copy, whole}) == 3


def test_rename_needs_a_stored_chat(store: ChatStore) -> None:
    chat = offline_chat()
    journal = journal_on(store, chat)
    with pytest.raises(StoreError, match="nothing is stored yet"):
        journal.rename("title")
    chat.conversation.messages[:] = exchange("hello", "hi")
    journal.record()
    journal.rename("greetings")
    chat.conversation.messages += exchange("more", "yes")
    journal.record()  # a later turn keeps the new title
    assert [m.title for m in store.recent()] == ["greetings"]
