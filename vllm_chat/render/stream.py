"""Markdown that renders while it streams, at a cost linear in its length.

Text whose rendering can no longer change (a finished paragraph, heading,
list, table or closed code fence) is rendered once and printed into the
terminal's scrollback. Only the unfinished tail is redrawn, in a `rich` Live
region, at most `refresh_per_second` times a second (less often when a redraw
is costly: see `pace.RedrawBudget`).

Known differences from rendering the whole answer at once, none of which a
reader would call wrong: a reference-style link defined in a later block stays
unresolved in an earlier one, and an indented (not fenced) code block that
holds blank lines followed by unindented text is cut at them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from rich.cells import cached_cell_len
from rich.console import Console
from rich.text import Text

from vllm_chat.render.blocks import BlockSplitter
from vllm_chat.render.calls import NOT_JSON, arguments_tail, call_head, final_arguments
from vllm_chat.render.environment import Environment
from vllm_chat.render.later import Later
from vllm_chat.render.live import LiveRegion
from vllm_chat.render.livecache import LiveCache
from vllm_chat.render.livetable import live_table_lines
from vllm_chat.render.markdown import (
    Lines,
    markdown_lines,
    renderable_lines,
)
from vllm_chat.render.pace import ReadPace, RedrawBudget
from vllm_chat.render.scroll import ScrolledFence, open_fence_lines
from vllm_chat.render.text import LineEnds, sanitize

__all__ = ["BlockSplitter", "MarkdownRenderer", "console_for", "render_once"]

FINISHED_BATCH = 4096  # characters of finished blocks rendered at once, at most (but one)


def _after_line(text: str, count: int) -> int:
    """The offset just after the `count`-th line end of `text` (0 if it has fewer)."""
    end = -1
    for _ in range(count):
        end = text.find("\n", end + 1)
        if end == -1:
            return 0
    return end + 1


def _batches(blocks: Sequence[str], size: int) -> Iterator[str]:
    """`blocks` joined in order into texts of about `size` characters (a longer block
    alone), none of them blank."""
    batch: list[str] = []
    length = 0
    for block in blocks:
        if batch and length + len(block) > size:
            text, batch, length = "".join(batch), [], 0
            if text and not text.isspace():
                yield text
        batch.append(block)
        length += len(block)
    text = "".join(batch)
    if text and not text.isspace():
        yield text


def _last_lines(text: str, count: int) -> str:
    """The last `count` lines of `text` (the last one may be unfinished)."""
    start = len(text)
    for _ in range(count):
        start = text.rfind("\n", 0, start)
        if start == -1:
            return text
    return text[start + 1 :]


class MarkdownRenderer:
    """Streams an answer (and its reasoning) to a terminal as Markdown."""

    REASONING_STYLE = "dim italic"

    def __init__(
        self,
        console: Console | None = None,
        *,
        env: Environment | None = None,
        code_theme: str = "monokai",
        refresh_per_second: float = 12.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console or console_for(env or Environment.detect())
        self._code_theme = code_theme
        self._interval = 1.0 / refresh_per_second  # grows with the cost of a redraw
        self._budget = RedrawBudget(self._interval)
        self._clock = clock
        self._last_refresh = float("-inf")
        self._region = LiveRegion(self.console)
        self._line_ends = LineEnds()
        self._blocks = BlockSplitter()
        self._finished: list[str] = []  # blocks finished since the last redraw
        self._reasoning = ""  # the thinking so far, shown live until the answer starts
        self._reasoning_open = False
        self._calls: Sequence[Mapping[str, Any]] = ()  # the answer's tool calls so far
        self._printed_any = False
        self.redraws = 0  # how many times the tail was drawn (for benchmarks)
        # A throttled update must still appear if the server then pauses: a timer
        # draws it. Only with the real clock; a fake one (benchmarks) means no timers.
        self._use_timer = clock is time.monotonic
        self._later = Later(self._redraw_late) if self._use_timer else None
        self._held = False  # an update waits for the next redraw
        self._lock = threading.RLock()
        self._pace = ReadPace(self._interval) if self._use_timer else None
        self._view_key: tuple[str, int] | None = None
        self._view: Lines = []
        self._cache = LiveCache()
        self._scroll = ScrolledFence(self.console, code_theme, self._cache)

    # -- the Renderer protocol -------------------------------------------------
    def feed_reasoning(self, text: str) -> None:
        text = sanitize(text)
        if not text:
            return
        with self._lock:
            self._add_reasoning(text)
        self._rest()

    def end_reasoning(self, summary: str | None = None) -> None:
        with self._lock:
            self._close_reasoning(summary)

    def feed(self, text: str) -> None:
        text = sanitize(self._line_ends.feed(text))
        if not text:
            return
        with self._lock:
            self._close_reasoning()
            self._finished += self._blocks.append(text)
            if self._scroll.done and (closed := self._blocks.take_closed_fence()):
                self._finished.append(closed)  # its top is printed: the rest goes too
            self._maybe_redraw()
        self._rest()

    def feed_calls(self, calls: Sequence[Mapping[str, Any]]) -> bool:
        """Shown below the answer's tail as they grow; printed complete at `finish`."""
        with self._lock:
            self._close_reasoning()
            self._calls = calls
            self._maybe_redraw()
        self._rest()
        return True

    def finish(self, note: str | None = None) -> None:
        with self._lock:
            self._held = False
            if self._later is not None:
                self._later.close()
            self._close_reasoning()
            self._finished += self._blocks.append(self._line_ends.finish())
            self._finished.append(self._blocks.tail)
            above = self._take_finished()
            for call in self._calls:
                above += self._spaced(self._lines_of(_final_call(call)))
            self._region.show([], above=above)
            self._region.close()
            self._blocks = BlockSplitter()
            if note:
                self.console.print(Text(f"[{note}]", style="yellow"))

    # -- internals -------------------------------------------------------------
    @property
    def _width(self) -> int:
        return self.console.size.width

    def _add_reasoning(self, text: str) -> None:
        # Reasoning stays in the live region until the answer starts: then it is
        # printed whole, once, or folded into the summary line.
        self._reasoning_open = True
        self._reasoning += text
        self._maybe_redraw()

    def _close_reasoning(self, summary: str | None = None) -> None:
        if not self._reasoning_open:
            return
        self._reasoning_open = False
        reasoning, self._reasoning = self._reasoning.strip("\n"), ""
        header = Text("Thinking…", style="dim bold")
        if summary:
            header.append(f" {summary}", style="dim")
        lines = renderable_lines(self.console, header, self._width)
        if not summary and reasoning:
            renderable = Text(reasoning, style=self.REASONING_STYLE)
            lines += renderable_lines(self.console, renderable, self._width)
        self._region.show(self._tail_lines(), above=self._spaced(lines))

    def _lines_of(self, text: Text) -> Lines:
        return renderable_lines(self.console, text, self._width)

    def _spaced(self, lines: Lines) -> Lines:
        """A block's lines, after a blank line if something was printed before."""
        if not lines:
            return lines
        spaced = [[], *lines] if self._printed_any else lines
        self._printed_any = True
        return spaced

    def _reasoning_view(self) -> Text:
        """The thinking's last screenful: a redraw costs the same however long it is."""
        height = max(1, self.console.size.height - 1)
        text = self._reasoning
        start = len(text)
        for _ in range(height):
            start = text.rfind("\n", 0, start)
            if start == -1:
                break
        start = max(start + 1, len(text) - height * self._width)
        view = Text("Thinking…\n" if start == 0 else "", style="dim bold")
        view.append(text[start:], style=self.REASONING_STYLE)
        return view

    def _take_finished(self) -> Lines:
        """The blocks finished since the last redraw, rendered a batch at a time.

        Blocks arrive many per redraw when the server is fast; one render for a
        batch of them saves a Markdown parser per block, and a bounded batch keeps
        the render's short-lived objects small: the allocator keeps the memory of
        the biggest one for the rest of the process. Each batch is printed before the
        next is rendered, so a flood's lines never wait in memory all at once.
        """
        blocks, self._finished = self._finished, []
        out: Lines = []
        if self._scroll.done and blocks:  # the fence whose top scrolled off
            block = blocks.pop(0)
            # Its top was printed line by line: the rest is drawn so too, from the lines
            # kept (lexing the whole block again would be for rows already printed).
            whole = markdown_lines(self.console, block, self._width, self._code_theme, self._cache)
            out = self._scroll.rest(block, whole, self._width)
        if blocks or out:
            self._cache.clear()  # their lines are never drawn live again
        for text in _batches(blocks, FINISHED_BATCH):
            if out:
                self._region.show([], above=out)
            out = self._spaced(markdown_lines(self.console, text, self._width, self._code_theme))
        if sum(map(len, blocks)) > FINISHED_BATCH:
            # rich keeps the width of every short string it measured (4,096 of them,
            # 0.7 MB): after a flood of text (a fast server) that will not be measured again.
            cached_cell_len.cache_clear()
        return out

    def _scrolled(self) -> Lines:
        """The rows of a long open top-level fence that left the region: printed now."""
        lines = self._blocks.lines
        if self._reasoning_open or self._calls or not lines or not self._top_fence(lines[0]):
            return []
        first = not self._scroll.done
        # The region keeps the last lines, its unfinished one and the closing fence.
        rows = self._scroll.scrolled(lines, max(1, self._region_rows - 2), self._width)
        return self._spaced(rows) if first else rows

    def _top_fence(self, source: str) -> bool:
        return self._blocks.in_fence and not self._blocks.fence_start and source[:1] in "`~"

    def _tail_lines(self) -> Lines:
        """The live region: the unfinished tail (or the thinking), its end if taller.

        At most half the screen: a terminal made narrower re-flows the region's
        lines into more rows, and rows pushed off the top of the screen are in
        the scrollback for good, where the finished block would repeat them.
        """
        height = self._region_rows
        if self._reasoning_open:
            return renderable_lines(self.console, self._reasoning_view(), self._width)[-height:]
        lines: Lines = []
        scrolled = bool(self._scroll.done)  # the fence's top is printed above it
        if scrolled:
            source = self._scroll.live_source(self._blocks.lines, self._blocks.partial)
            lines = self._scroll.live_rows(self._markdown_view(source), self._width)
        elif (source := self._live_source()).strip():
            lines = self._markdown_view(source)
        for call in self._calls:
            view = self._lines_of(_live_call(call, height, self._width))
            lines += [[], *view] if lines else view
        if self._printed_any and lines and not scrolled:
            lines = [[], *lines]
        return lines[-height:]

    @property
    def _region_rows(self) -> int:
        return max(1, (self.console.size.height - 1) // 2)

    def _markdown_view(self, source: str) -> Lines:
        """The tail rendered; again only if it changed (a timer's redraw, a tool call's)."""
        key = (source, self._width)
        if self._view_key != key:
            self._view_key = key
            args = (self.console, source, self._width, self._code_theme, self._cache)
            if self._top_fence(source):  # no parse: it is all one code block
                self._view = open_fence_lines(*args)
            else:  # a table: only its new rows parsed
                self._view = live_table_lines(*args) or markdown_lines(*args)
        return list(self._view)

    def _live_source(self) -> str:
        """The tail's text; for a tail taller than the live region, only what fits.

        A long open code fence, table or paragraph would otherwise cost a full
        re-render per redraw, which grows with its length. Only the live view is
        cut; the finished block is printed whole. A fence keeps its opening line
        and a table its header, so that the cut still renders as one.
        """
        tail = self._blocks.tail
        height = self._region_rows  # each source line is a row at least
        if self._blocks.in_fence:
            head_end = tail.find("\n", self._blocks.fence_start) + 1
        elif tail.lstrip().startswith("|"):
            head_end = _after_line(tail, 2)
        else:
            head_end = 0
        body = tail[head_end:]
        if body.count("\n") <= height:
            return tail
        return tail[:head_end] + _last_lines(body, height)

    @property
    def read_after_wait(self) -> bool | None:
        """Whether the last delta came after a wait for the server (None: not paced)."""
        return None if self._pace is None else self._pace.waited

    def _maybe_redraw(self) -> None:
        now = self._clock()
        due = self._last_refresh + self._interval
        if self._pace is None:
            ready = now >= due
        else:
            self._pace.arrived(now)
            ready = self._pace.ready(now, due)
        if ready:
            self._redraw(now)
        elif self._later is not None and not self._held:
            self._held = True
            # Later than the reader, that draws when it has read what came during its rest.
            self._later.at(max(now, due) + self._interval / 4)

    def _rest(self) -> None:
        """After a delta, outside the lock: the reader may sleep until the next redraw."""
        if self._pace is not None:
            self._pace.rest(self._last_refresh + self._interval)

    def _redraw_late(self) -> None:
        with self._lock:
            if self._held:  # not drawn, nor finished, meanwhile
                self._redraw(self._clock())

    def _redraw(self, now: float) -> None:
        if self._held and self._later is not None:  # this draw shows what it was to draw
            self._later.cancel()
        self._held = False
        self._last_refresh = now
        above = self._take_finished()
        above += self._scrolled()
        started = time.thread_time()  # the tail's cost: what a redraw repeats
        self._region.show(self._tail_lines(), above=above)
        if self._use_timer:
            self._interval = self._budget.interval(time.thread_time() - started)
        self.redraws += 1


def _live_call(call: Mapping[str, Any], rows: int, width: int) -> Text:
    """A call as it grows: its head, and the end of its arguments so far."""
    view = Text(call_head(call), style="bold cyan")
    view.append("\n" + arguments_tail(call, rows, width), style="cyan")
    return view


def _final_call(call: Mapping[str, Any]) -> Text:
    """A complete call: arguments pretty-printed, or raw and flagged when not JSON."""
    arguments, valid = final_arguments(call)
    view = Text(call_head(call), style="bold cyan")
    view.append("\n" + arguments, style="cyan")
    if not valid:
        view.append(f"\n{NOT_JSON}", style="yellow")
    return view


def console_for(env: Environment) -> Console:
    """A console on `env`'s stdout that takes `env`'s word for the terminal and its colours."""
    return Console(
        file=env.stdout,
        force_terminal=env.stdout_isatty,
        no_color=env.no_color,
        width=env.width,
        highlight=False,
        emoji=False,
    )


def render_once(text: str, console: Console, *, code_theme: str = "monokai") -> None:
    """Print a finished answer rendered in one go: what streaming it must look like."""
    text = sanitize(LineEnds().whole(text))
    lines = markdown_lines(console, text, console.size.width, code_theme) if text.strip() else []
    LiveRegion(console).show([], above=lines)
