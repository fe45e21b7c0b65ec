"""`-r` alone: a full-screen list of the stored chats, filtered as you type.

Up/Down (or Ctrl-P/Ctrl-N) choose, Enter opens, Esc or Ctrl-C cancels. Each line is
the chat's title, model, turns and age; what is typed filters on the title, model and
id, every word matching somewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from prompt_toolkit.application import Application
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.layout import HSplit, Layout, Window
from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
from prompt_toolkit.output import Output

from vllm_chat.render.text import sanitize
from vllm_chat.repl.commands.chats import age
from vllm_chat.repl.commands.registry import counted
from vllm_chat.store.chats import ChatMeta


def matches(meta: ChatMeta, query: str) -> bool:
    haystack = f"{meta.title} {meta.model or ''} {meta.id}".lower()
    return all(word in haystack for word in query.lower().split())


class Picker:
    """The list, its filter and the chosen line."""

    def __init__(self, chats: Sequence[ChatMeta]) -> None:
        self.chats = list(chats)
        self.query = Buffer(multiline=False, on_text_changed=lambda _: self._refilter())
        self.shown = list(self.chats)
        self.selected = 0

    def _refilter(self) -> None:
        self.shown = [meta for meta in self.chats if matches(meta, self.query.text)]
        self.selected = 0

    def move(self, step: int) -> None:
        if self.shown:
            self.selected = max(0, min(len(self.shown) - 1, self.selected + step))

    def chosen(self) -> ChatMeta | None:
        return self.shown[self.selected] if self.shown else None

    def lines(self) -> StyleAndTextTuples:
        if not self.shown:
            return [("italic", "  no stored chat matches")]
        out: StyleAndTextTuples = []
        for index, meta in enumerate(self.shown):
            style = "reverse" if index == self.selected else ""
            details = f"{meta.model or '?'} · {counted(meta.turns, 'turn')} · {age(meta.updated)}"
            out.append((style, sanitize(f" {meta.title}  ")))
            out.append((style + " fg:ansibrightblack", sanitize(details)))
            out.append(("", "\n"))
        return out


def pick_chat(
    chats: Sequence[ChatMeta], *, input: Input | None = None, output: Output | None = None
) -> ChatMeta | None:
    """Show the picker over `chats` (latest first); the chosen chat, or None if cancelled."""
    picker = Picker(chats)
    keys = KeyBindings()

    @keys.add("up")
    @keys.add("c-p")
    def _up(event: KeyPressEvent) -> None:
        picker.move(-1)

    @keys.add("down")
    @keys.add("c-n")
    def _down(event: KeyPressEvent) -> None:
        picker.move(1)

    @keys.add("enter")
    def _open(event: KeyPressEvent) -> None:
        event.app.exit(result=picker.chosen())

    @keys.add("escape", eager=True)
    @keys.add("c-c")
    @keys.add("c-d")
    def _cancel(event: KeyPressEvent) -> None:
        event.app.exit(result=None)

    header = f" {counted(len(picker.chats), 'stored chat')}: type to filter"
    layout = Layout(
        HSplit([
            Window(FormattedTextControl([("bold", header)]), height=1),
            Window(BufferControl(picker.query), height=1),
            Window(FormattedTextControl(picker.lines), wrap_lines=False),
            Window(
                FormattedTextControl([("reverse", " ↑↓ choose · Enter open · Esc cancel ")]),
                height=1,
            ),
        ]),  # fmt: skip
        focused_element=picker.query,
    )
    app: Application[ChatMeta | None] = Application(
        layout=layout, key_bindings=keys, full_screen=True, input=input, output=output
    )
    return app.run()
