"""The chat store at size: 10,000 chats and 1,000,000 messages (--quick: a tenth).

Measured in this process against a store built here once (cached in the scratch
folder of this run): opening it and finding the latest chat (what `-c` adds to a start),
listing the recent chats (`/chats`), a full-text search (`/chats WORDS`), and the commit
that ends a turn (`Journal.record`, one exchange appended). Baseline for the start:
`-q` against the stand-in with `--private` (no store at all) vs the same with `-c`.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
import subprocess
import time
from pathlib import Path

from common import VLLM_CHAT, StandinProcess, Table, Target, child_env, median, scratch

from vllm_chat.chat.conversation import Message
from vllm_chat.store.chats import ChatStore, new_id

WORDS = [
    "vllm",
    "kv",
    "cache",
    "tokens",
    "prefix",
    "paged",
    "attention",
    "batch",
    "scheduler",
    "tensor",
    "parallel",
    "lora",
    "quantization",
    "fp8",
    "awq",
    "gptq",
    "speculative",
    "decoding",
    "sampler",
    "logits",
    "temperature",
    "top_p",
    "python",
    "rust",
    "markdown",
    "table",
    "stream",
    "server",
    "client",
    "latency",
    "throughput",
    "memory",
    "gpu",
]


def vocabulary(rng: random.Random, size: int = 20_000) -> tuple[list[str], list[float]]:
    """Words with Zipf-like frequencies, as text has them; WORDS among the common ones."""
    words = [f"w{rank}x{rng.randrange(1000)}" for rank in range(size)]
    for offset, word in enumerate(WORDS):
        words[100 + offset * 3] = word
    return words, list(itertools.accumulate(1 / (rank + 1) for rank in range(size)))


def build(path: Path, chats: int, messages_per_chat: int) -> None:
    """A store of `chats` chats, each `messages_per_chat` messages of 30-80 words."""
    rng = random.Random(7)
    words, weights = vocabulary(rng)
    store = ChatStore(path)
    db = store.db()
    now = time.time()
    db.execute("BEGIN")
    for number in range(chats):
        chat_id = new_id()
        when = now - (chats - number) * 60
        db.execute(
            "INSERT INTO chats VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (chat_id, f"chat {number} about {rng.choice(WORDS)}", when, when,
             "http://127.0.0.1:8000/v1", "bench-model", None, "{}"),
        )  # fmt: skip
        for seq in range(messages_per_chat):
            text = " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(30, 80)))
            role = "user" if seq % 2 == 0 else "assistant"
            row = db.execute(
                "INSERT INTO messages VALUES (?, ?, ?, ?, 0, NULL, ?, NULL)",
                (chat_id, seq, role, f'"{text}"', when),
            )
            if store.has_fts:
                db.execute(
                    "INSERT INTO messages_fts (rowid, text) VALUES (?, ?)", (row.lastrowid, text)
                )
    db.execute("COMMIT")
    store.close()


def _ms(work: object, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - began)
    return median(times) * 1000, max(times) * 1000


def _commit_cost(path: Path, runs: int) -> float:
    """Median ms of storing one exchange at the end of an existing chat."""
    from vllm_chat.store.chats import ChatStore as Store

    store = Store(path)
    meta = store.latest()
    assert meta is not None
    messages, _ = store.messages(meta.id)
    times = []
    for number in range(runs):
        grown = [*messages, Message("user", f"q {number}"), Message("assistant", f"a {number}")]
        began = time.perf_counter()
        store.sync(meta, grown, messages)
        times.append(time.perf_counter() - began)
        messages = grown
    store.close()
    return median(times) * 1000


def run(quick: bool = False) -> list[Table]:
    chats, per_chat = (1_000, 100) if quick else (10_000, 100)
    runs = 5 if quick else 15
    with scratch() as tmp:
        env = child_env(tmp)
        path = tmp / "xdg-data" / "vllm-chat" / "chats.db"
        env["XDG_DATA_HOME"] = str(tmp / "xdg-data")
        began = time.perf_counter()
        build(path, chats, per_chat)
        built = time.perf_counter() - began
        size = path.stat().st_size / 1e6

        def fresh() -> ChatStore:
            return ChatStore(path)

        def open_latest() -> None:
            store = fresh()
            store.latest()
            store.messages(store.latest().id)  # type: ignore[union-attr]
            store.close()

        listed = fresh()
        open_ms, _ = _ms(open_latest, runs)
        list_ms, _ = _ms(lambda: listed.recent(20), runs)
        search_ms, search_max = _ms(lambda: listed.search("speculative decoding fp8"), runs)
        common_ms, _ = _ms(lambda: listed.search("vllm"), runs)  # in about 1 message in 8
        scan = fresh()
        scan.db()
        scan.has_fts = False
        like_ms, _ = _ms(lambda: scan.search("speculative decoding fp8"), max(3, runs // 3))
        listed.close()
        scan.close()
        commit_ms = _commit_cost(path, runs)

        with StandinProcess() as server:

            def start(*flags: str) -> float:
                server.push(content="ok")
                began = time.perf_counter()
                subprocess.run(
                    [VLLM_CHAT, "--url", server.url, *flags, "-q", "hi"],
                    env=env, capture_output=True, check=True, timeout=60,
                )  # fmt: skip
                return time.perf_counter() - began

            pairs = [(start("--private"), start("-c", "--private")) for _ in range(runs)]
        plain = median([a for a, _ in pairs]) * 1000
        resumed = median([b for _, b in pairs]) * 1000

    messages = chats * per_chat
    table = Table(
        f"store: {chats:,} chats, {messages:,} messages ({size:.0f} MB, built in {built:.0f} s),"
        f" medians of {runs}",
        ["operation", "ms"],
    )
    table.add("open the store, find the latest chat, read its messages", f"{open_ms:.1f}")
    table.add("/chats: the 20 most recent", f"{list_ms:.2f}")
    table.add("/chats WORDS: FTS5 search, 3 words", f"{search_ms:.1f}")
    table.add("/chats WORDS: FTS5 search, 1 common word", f"{common_ms:.1f}")
    table.add("the same search as a LIKE scan (no FTS5)", f"{like_ms:.0f}")
    table.add("the commit that ends a turn (one exchange)", f"{commit_ms:.2f}")
    table.add("vllm-chat --private -q hi (no store read)", f"{plain:.1f}")
    table.add("vllm-chat -c --private -q hi (reads the latest chat)", f"{resumed:.1f}")
    added = resumed - plain
    table.targets = [
        Target("-c adds to a start", "< 30 ms", f"{added:.1f} ms", added < 30),
        Target("/chats lists", "< 50 ms", f"{list_ms:.2f} ms", list_ms < 50),
        Target(
            "a search answers (the slower of the two)",
            "< 200 ms",
            f"{max(search_ms, common_ms):.1f} ms",
            max(search_ms, common_ms) < 200,
        ),  # fmt: skip
        Target("the commit after a turn", "< 5 ms", f"{commit_ms:.2f} ms", commit_ms < 5),
    ]
    table.notes = [
        f"SQLite {sqlite3.sqlite_version}; the search's slowest run took {search_max:.1f} ms.",
        "-c --private reads the store and writes nothing, so both runs see the same store.",
    ]
    return [table]
