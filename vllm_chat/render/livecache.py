"""The pieces of a streaming tail rendered at one redraw, kept for the next."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from rich.text import Text

T = TypeVar("T")


class LiveCache:
    """A streaming tail's pieces rendered at one redraw, for the next: of a growing code
    block or table only the last line changed; its other code lines (highlighted one by
    one) and table rows (at the same column widths) come from here."""

    def __init__(self) -> None:
        self._items: dict[Hashable, Any] = {}

    def clear(self) -> None:
        self._items.clear()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __getitem__(self, key: Hashable) -> Any:
        return self._items[key]

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """What `make` made for `key`, made now if not kept (keys name what they hold)."""
        if key not in self._items:
            self.put(key, make())
        kept: T = self._items[key]
        return kept

    def put(self, key: Hashable, value: Any) -> None:
        if len(self._items) >= 4096:
            self._items.clear()
        self._items[key] = value


def text_key(text: Text) -> Hashable:
    return text.plain, tuple((span.start, span.end, str(span.style)) for span in text.spans)
