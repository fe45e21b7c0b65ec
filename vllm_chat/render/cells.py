"""How many terminal columns text takes: the widest any terminal may draw it.

Terminals disagree about emoji sequences: a skin-tone thumb (👍🏽) or a ZWJ
family (👨‍👩‍👧) is one 2-column cluster in a recent terminal (and for `rich`),
but 4 or 6 columns in tmux and older ones, which draw each code point. A line
that the terminal draws wider than its width wraps, and a live region that
counted one row for it is then erased one row short: stale copies pile up in
the scrollback. So every line the renderer writes is measured here, by the
widest reading, and cut to fit it. Pure, no I/O.
"""

from __future__ import annotations

from functools import lru_cache

from rich.cells import cell_len

_ZWJ = "\u200d"
_VS16 = "\ufe0f"  # "emoji presentation": most terminals then draw 2 columns


def _joins(previous: str, char: str, width: int) -> bool:
    """Whether `char` belongs to the cluster that `previous` ends."""
    return (
        width <= 0  # combining marks, variation selectors, ZWJ
        or previous == _ZWJ
        or 0x1F3FB <= ord(char) <= 0x1F3FF  # skin-tone modifiers
        or (_regional(char) and _regional(previous))
    )


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


@lru_cache(maxsize=8192)
def _cluster_width(cluster: str) -> int:
    from wcwidth import wcwidth  # only text that is not ASCII gets here: 10-20 ms to load

    drawn = sum(max(0, wcwidth(char)) for char in cluster)
    if _VS16 in cluster:
        drawn = max(drawn, 2)
    return max(drawn, cell_len(cluster))


def clusters(text: str) -> list[tuple[str, int]]:
    """`text` as (grapheme cluster, widest width) pairs."""
    from wcwidth import wcwidth

    out: list[tuple[str, int]] = []
    previous = ""
    for char in text:
        width = wcwidth(char)
        if out and _joins(previous, char, width):
            cluster = out[-1][0] + char
            out[-1] = (cluster, _cluster_width(cluster))
        else:
            out.append((char, _cluster_width(char)))
        previous = char
    return out


# What the renderer itself draws besides the answer's text (a table's rule, a list's
# bullet, a code line's continuation, an ellipsis): one column each, as `clusters` has it.
_DRAWN = str.maketrans("", "", "─•↪…")


def widest(text: str) -> int:
    """The most columns any terminal may draw `text` in."""
    if text.isascii() or text.translate(_DRAWN).isascii():  # control characters never get here
        return len(text)
    return sum(width for _, width in clusters(text))


def cut_points(text: str, width: int, first: int | None = None) -> list[int]:
    """Offsets that cut `text` into pieces at most `width` columns wide (the first `first`).

    A piece ends after its last space where it has one after some other text,
    so that words stay whole; a cluster is never split, and one wider than the
    limit gets a piece of its own.
    """
    parts = clusters(text)
    points: list[int] = []
    limit = width if first is None else first
    start = offset = 0  # the piece's first cluster, and its offset in `text`
    while True:
        end, used = start, 0
        while end < len(parts) and (used + parts[end][1] <= limit or end == start):
            used += parts[end][1]
            end += 1
        if end == len(parts):
            return points
        cut = end
        for index in range(end, start, -1):  # before a space, or after the last one
            if parts[index][0] == " " and parts[index - 1][0] != " ":
                cut = index + (index < end)
                break
        offset += sum(len(cluster) for cluster, _ in parts[start:cut])
        points.append(offset)
        start, limit = cut, width
