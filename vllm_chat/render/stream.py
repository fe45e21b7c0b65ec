"""Markdown that renders while it streams, at a cost linear in its length.

Text whose rendering can no longer change (a finished paragraph, heading,
list, table or closed code fence) is rendered once and printed into the
terminal's scrollback. Only the unfinished tail is redrawn, in a `rich` Live
region, at most `refresh_per_second` times a second.

Known differences from rendering the whole answer at once, none of which a
reader would call wrong: a reference-style link defined in a later block stays
unresolved in an earlier one, and an indented (not fenced) code block that
holds blank lines followed by unindented text is cut at them.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from vllm_chat.render.calls import NOT_JSON, arguments_tail, call_head, final_arguments
from vllm_chat.render.environment import Environment
from vllm_chat.render.fences import Fence, opening
from vllm_chat.render.live import LiveRegion
from vllm_chat.render.markdown import Lines, markdown_lines, renderable_lines
from vllm_chat.render.text import LineEnds, sanitize

_LIST_ITEM = re.compile(r"\s{0,3}(?:[-*+]|\d{1,9}[.)])(?:\s|$)")
_HEADING = re.compile(r"#{1,6}(?:\s|$)")


class BlockSplitter:
    """Cuts a growing Markdown text into finished blocks and an unfinished tail.

    Each line is examined once, when its line end arrives. A block is finished
    when a later line starts a new one: after a blank line (outside a code
    fence) an unindented line that does not continue the same list, or any
    line after a closed top-level fence or a heading.
    """

    def __init__(self) -> None:
        # The unfinished block, as lines, and the unfinished line, as pieces: joining
        # a growing string on every delta would cost the square of a long block.
        self._block: list[str] = []
        self._block_len = 0
        self._line: list[str] = []
        self._fence: Fence | None = None
        self.fence_start = 0  # offset in `tail` of the open fence's first line
        self._blank_before = False
        self._block_started = False
        self._block_is_list = False
        self._closed_block = False  # last line was a closing fence or a heading

    @property
    def in_fence(self) -> bool:
        return self._fence is not None

    @property
    def tail(self) -> str:
        """The text not yet part of a finished block."""
        return "".join(self._block) + "".join(self._line)

    def append(self, text: str) -> list[str]:
        """Add streamed text; return the blocks it finished, in order."""
        blocks: list[str] = []
        start = 0
        while (end := text.find("\n", start)) != -1:
            self._line.append(text[start : end + 1])
            start = end + 1
            line = "".join(self._line)
            self._line.clear()
            was_in_fence = self.in_fence
            if self._starts_new_block(line[:-1]) and self._block:
                blocks.append("".join(self._block))
                self._block.clear()
                self._block_len = 0
            if self.in_fence and not was_in_fence:
                self.fence_start = self._block_len
            self._block.append(line)
            self._block_len += len(line)
        if start < len(text):
            self._line.append(text[start:])
        return blocks

    def _starts_new_block(self, line: str) -> bool:
        if self._fence is not None:
            if self._fence.closed_by(line):
                self._fence = None
                self._closed_block = not line[:1].isspace()
            return False
        if not line.strip():
            self._blank_before = self._block_started
            return False
        is_list = bool(_LIST_ITEM.match(line))
        new_block = self._block_started and (
            self._closed_block
            or (
                self._blank_before
                and not line[:1].isspace()
                and not (is_list and self._block_is_list)
            )
        )
        if new_block or not self._block_started:
            self._block_started = True
            self._block_is_list = False
        # A list may follow a paragraph line directly; the block is a list from there.
        self._block_is_list = self._block_is_list or is_list
        self._blank_before = False
        self._closed_block = bool(_HEADING.match(line))
        self._fence = opening(line)
        if self._fence is not None:
            self._closed_block = False
        return new_block


def _after_line(text: str, count: int) -> int:
    """The offset just after the `count`-th line end of `text` (0 if it has fewer)."""
    end = -1
    for _ in range(count):
        end = text.find("\n", end + 1)
        if end == -1:
            return 0
    return end + 1


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
        self._interval = 1.0 / refresh_per_second
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
        self._timer: threading.Timer | None = None
        self._lock = threading.RLock()

    # -- the Renderer protocol -------------------------------------------------
    def feed_reasoning(self, text: str) -> None:
        text = sanitize(text)
        if not text:
            return
        with self._lock:
            self._add_reasoning(text)

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
            self._maybe_redraw()

    def feed_calls(self, calls: Sequence[Mapping[str, Any]]) -> bool:
        """Shown below the answer's tail as they grow; printed complete at `finish`."""
        with self._lock:
            self._close_reasoning()
            self._calls = calls
            self._maybe_redraw()
        return True

    def finish(self, note: str | None = None) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
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
        """The blocks finished since the last redraw, rendered together.

        Blocks arrive many per redraw when the server is fast; one render for
        all of them saves a Markdown parser per block.
        """
        text, self._finished = "".join(self._finished), []
        if not text.strip():
            return []
        return self._spaced(markdown_lines(self.console, text, self._width, self._code_theme))

    def _tail_lines(self) -> Lines:
        """The live region: the unfinished tail (or the thinking), its end if taller.

        At most half the screen: a terminal made narrower re-flows the region's
        lines into more rows, and rows pushed off the top of the screen are in
        the scrollback for good, where the finished block would repeat them.
        """
        height = max(1, (self.console.size.height - 1) // 2)
        if self._reasoning_open:
            return renderable_lines(self.console, self._reasoning_view(), self._width)[-height:]
        source = self._live_source()
        lines: Lines = []
        if source.strip():
            lines = markdown_lines(self.console, source, self._width, self._code_theme)
        for call in self._calls:
            view = self._lines_of(_live_call(call, height, self._width))
            lines += [[], *view] if lines else view
        if self._printed_any and lines:
            lines = [[], *lines]
        return lines[-height:]

    def _live_source(self) -> str:
        """The tail's text; for a tail taller than the screen, only what fits.

        A long open code fence, table or paragraph would otherwise cost a full
        re-render per redraw, which grows with its length. Only the live view is
        cut; the finished block is printed whole. A fence keeps its opening line
        and a table its header, so that the cut still renders as one.
        """
        tail = self._blocks.tail
        height = self.console.size.height
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

    def _maybe_redraw(self) -> None:
        now = self._clock()
        wait = self._interval - (now - self._last_refresh)
        if wait > 0:
            if self._use_timer and self._timer is None:
                self._timer = threading.Timer(wait, self._redraw_late)
                self._timer.daemon = True
                self._timer.start()
            return
        self._redraw(now)

    def _redraw_late(self) -> None:
        with self._lock:
            if self._timer is None:
                return  # finished meanwhile
            self._timer = None
            self._redraw(self._clock())

    def _redraw(self, now: float) -> None:
        self._last_refresh = now
        above = self._take_finished()
        self._region.show(self._tail_lines(), above=above)
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
