"""Server-Sent Events: raw bytes in, `data` payloads out. Pure, no I/O.

Follows the WHATWG event-stream rules that matter for chat completions:
LF, CR or CRLF line ends, `data:` with or without one space, several `data`
lines joined by newlines, `:` comment (keep-alive) lines ignored, and an event
dispatched on a blank line. Bytes are decoded incrementally so that a UTF-8
character split across network reads comes out whole.
"""

from __future__ import annotations

import codecs
import re

# Only these end a line; str.splitlines() would also split on U+2028 and friends.
_LINE_END = re.compile(r"\r\n|\r|\n")


class SSEDecoder:
    """Feed bytes as they arrive; get back the `data` payloads completed so far."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # text of an unfinished line
        self._data: list[str] = []
        self._at_start = True

    def feed(self, chunk: bytes) -> list[str]:
        """Decode `chunk` and return the payloads of every event it completes."""
        text = self._decoder.decode(chunk)
        if self._at_start and text:
            self._at_start = False
            text = text.removeprefix("\ufeff")  # a byte order mark is not part of the stream
        return self._consume(text)

    def close(self) -> list[str]:
        """End of stream: flush a last event that had complete lines but no blank line."""
        events = self._consume(self._decoder.decode(b"", final=True))
        if self._pending.endswith("\r"):
            self._line(self._pending[:-1], events)
        # A last line without its line end is truncated: drop it, as the spec says.
        self._pending = ""
        if self._data:
            events.append("\n".join(self._data))
            self._data = []
        return events

    def _consume(self, text: str) -> list[str]:
        if (
            not self._pending
            and not self._data
            and text.startswith("data: ")
            and text.endswith("\n\n")
            and text.count("\n") == 2
            and "\r" not in text
        ):
            return [text[6:-2]]  # what vLLM sends: one event of one line, whole in a read
        text = self._pending + text
        events: list[str] = []
        start = 0
        for match in _LINE_END.finditer(text):
            if match.group() == "\r" and match.end() == len(text):
                break  # maybe the first half of "\r\n": wait for the next read
            self._line(text[start : match.start()], events)
            start = match.end()
        self._pending = text[start:]
        return events

    def _line(self, line: str, events: list[str]) -> None:
        if not line:
            if self._data:
                events.append("\n".join(self._data))
            self._data = []
            return
        if line.startswith(":"):
            return
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        # `event`, `id` and `retry` fields carry nothing a chat completion needs.
