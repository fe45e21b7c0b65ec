"""A deterministic long Markdown answer, and its split into server-like deltas.

`markdown_answer(tokens)` writes roughly `4 * tokens` characters of the kind
of Markdown a model answers with: headings, paragraphs with `inline code` and
**bold**, bullet and numbered lists, tables and fenced Python code blocks.
The same `tokens` always gives the same text.
"""

from __future__ import annotations

import random
from collections.abc import Callable

CHARS_PER_TOKEN = 4

# fmt: off
_WORDS = (
    "the", "server", "streams", "each", "token", "as", "soon", "as", "the", "model", "samples",
    "it", "so", "the", "client", "must", "render", "partial", "text", "quickly", "while",
    "keeping", "the", "terminal", "responsive", "and", "the", "scrollback", "clean", "a",
    "request", "carries", "the", "conversation", "history", "and", "sampling", "parameters",
    "such", "as", "temperature", "top", "p", "and", "the", "maximum", "number", "of", "tokens",
    "vllm", "batches", "requests", "continuously", "which", "keeps", "the", "accelerator",
    "busy", "paged", "attention", "stores", "the", "key", "value", "cache", "in", "blocks",
    "prefix", "caching", "reuses", "shared", "prompts", "throughput", "latency", "memory",
    "bandwidth", "scheduler", "tensor", "parallel", "pipeline",
)
# fmt: on
_CODE_WORDS = ("stream", "render", "tokens", "buffer", "client", "payload", "delta", "answer")
_TOPICS = (
    "Streaming basics",
    "Sampling parameters",
    "Batching and scheduling",
    "Memory and the KV cache",
    "Measuring latency",
    "Error handling",
    "Deployment notes",
    "Putting it together",
)


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 18))]
    roll = rng.random()
    if roll < 0.3:
        at = rng.randrange(len(words))
        words[at] = f"`{rng.choice(_CODE_WORDS)}_{rng.choice(_CODE_WORDS)}()`"
    elif roll < 0.55:
        at = rng.randrange(len(words) - 1)
        words[at : at + 2] = [f"**{words[at]} {words[at + 1]}**"]
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 5)))


def _bullets(rng: random.Random) -> str:
    return "\n".join(f"- {_sentence(rng)}" for _ in range(rng.randint(3, 6)))


def _numbered(rng: random.Random) -> str:
    return "\n".join(f"{i}. {_sentence(rng)}" for i in range(1, rng.randint(3, 6) + 1))


def _table(
    rng: random.Random, rows: tuple[int, int] = (3, 6), largest: int = 4096, words: int = 7
) -> str:
    lines = ["| Setting | Value | Effect |", "|---------|------:|--------|"]
    for _ in range(rng.randint(*rows)):
        name = f"`{rng.choice(_CODE_WORDS)}_{rng.choice(_CODE_WORDS)}`"
        effect = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, words)))
        lines.append(f"| {name} | {rng.randint(1, largest)} | {effect} |")
    return "\n".join(lines)


def _code(rng: random.Random) -> str:
    name = f"{rng.choice(_CODE_WORDS)}_{rng.choice(_CODE_WORDS)}"
    arg = rng.choice(_CODE_WORDS)
    lines = [
        "```python",
        f"def {name}({arg}: list[str], limit: int = {rng.randint(2, 64)}) -> dict[str, int]:",
        f'    """Count how often each {arg} appears, up to limit."""',
        "    counts: dict[str, int] = {}",
        f"    for item in {arg}[:limit]:",
        "        counts[item] = counts.get(item, 0) + 1",
    ]
    for _ in range(rng.randint(0, 4)):
        word = rng.choice(_CODE_WORDS)
        lines.append(f'    counts["{word}"] = len({arg}) * {rng.randint(1, 9)}  # {word}')
    lines += ["    return counts", "", "", f"print({name}(['a', 'b', 'a']))", "```"]
    return "\n".join(lines)


_BLOCKS = (_paragraph, _bullets, _paragraph, _numbered, _table, _paragraph, _code)


def markdown_answer(tokens: int, seed: int = 0) -> str:
    """About `tokens` tokens (4 characters each) of varied, deterministic Markdown."""
    return _sections(tokens, seed, f"# An answer of about {tokens} tokens", _BLOCKS)


def _sections(
    tokens: int, seed: int, title: str, makers: tuple[Callable[[random.Random], str], ...]
) -> str:
    """`title`, a paragraph, then numbered sections of the blocks `makers` make, until
    about `tokens` tokens."""
    rng = random.Random(seed)
    target = tokens * CHARS_PER_TOKEN
    blocks: list[str] = [title, _paragraph(rng)]
    size = sum(len(block) + 2 for block in blocks)
    section = 0
    while size < target:
        section += 1
        heading = f"## {section}. {_TOPICS[section % len(_TOPICS)]}"
        for block in [heading, *(make(rng) for make in makers)]:
            blocks.append(block)
            size += len(block) + 2
            if size >= target:
                break
    return "\n\n".join(blocks) + "\n"


def _long_table(rng: random.Random) -> str:
    return _table(rng, rows=(10, 20), largest=65536, words=9)


def _long_code(rng: random.Random) -> str:
    name = f"{rng.choice(_CODE_WORDS)}_{rng.choice(_CODE_WORDS)}"
    arg = rng.choice(_CODE_WORDS)
    lines = [f"def {name}({arg}: list[str], limit: int = {rng.randint(2, 64)}) -> dict[str, int]:"]
    lines.append(f'    """Count how often each {arg} appears, up to limit."""')
    for _ in range(rng.randint(3, 28)):
        word = rng.choice(_CODE_WORDS)
        lines.append(f'    counts["{word}"] = len({arg}) * {rng.randint(1, 99)}  # {word}')
    return "```python\n" + "\n".join(lines) + "\n```"


_SECTION = (_paragraph, _paragraph, _bullets, _long_table, _paragraph, _long_code, _numbered)


def sectioned_answer(tokens: int = 12_700, seed: int = 0) -> str:
    """About `tokens` tokens of sections: paragraphs, lists, 10-20-row tables and
    5-30-line code fences (issue 17's corpus: 12,700 tokens are about 52 KB)."""
    return _sections(tokens, seed, "# A long answer", _SECTION)


def deltas(text: str, chars: int = CHARS_PER_TOKEN) -> list[str]:
    """`text` in pieces of `chars` characters, like a server's token deltas."""
    return [text[i : i + chars] for i in range(0, len(text), chars)]


if __name__ == "__main__":
    print(markdown_answer(600))
