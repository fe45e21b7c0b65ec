"""Every key-binding decision of the prompt, made here.

Enter sends; Alt-Enter and Ctrl-J insert a new line; a line that is exactly `\"\"\"` opens a
block that Enter extends until a line ends in `\"\"\"`. In a Ctrl-R search, Enter sends the
entry found, Esc or an arrow takes it back for editing, Ctrl-C gives the search up.
Ctrl-X Ctrl-E (`v` in vi normal mode) edits the text in $VISUAL/$EDITOR and brings it
back for review. In vi mode, Esc followed by Enter is Alt-Enter only when both came in
one burst from the terminal (within `VI_TTIMEOUTLEN`), as vi tells Alt from Esc.
"""

from __future__ import annotations

from prompt_toolkit.application import Application, get_app, run_in_terminal
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.document import Document
from prompt_toolkit.filters import (
    Condition,
    emacs_mode,
    has_selection,
    is_searching,
    vi_mode,
    vi_navigation_mode,
)
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.key_binding.bindings.search import (
    accept_search,
    accept_search_and_accept_input,
)

from vllm_chat.render.text import status_line
from vllm_chat.repl.editor import EditorError, edit

BLOCK = '"""'
EXIT_HINT = "Ctrl-D or /exit to quit"
VI_TTIMEOUTLEN = 0.05  # seconds: an Esc alone by then is Esc (vi's `ttimeoutlen`)


class BlockState:
    """Whether Enter opened a `\"\"\"` block in the text being typed (a paste opens none)."""

    def __init__(self) -> None:
        self.open = False


def _first_line_is_block(text: str) -> bool:
    return text.split("\n", 1)[0].strip(" \t") == BLOCK


def _closes_block(text: str) -> bool:
    """A block's text whose last line (not its first) ends in `\"\"\"`."""
    lines = text.split("\n")
    return len(lines) > 1 and lines[-1].rstrip().endswith(BLOCK)


def unwrap_block(text: str) -> str:
    """The message inside a closed `\"\"\"` block: without its opening and closing quotes."""
    inner = text.split("\n", 1)[1].rstrip()
    return inner[: -len(BLOCK)].strip("\n")


@Condition
def _esc_came_with_the_next_key() -> bool:
    """Esc and the key after it arrived together: the terminal's Alt, not a typed Esc."""
    processor = get_app().key_processor
    return len(processor.key_buffer) > 1 or bool(processor.input_queue)


def key_bindings(block: BlockState) -> KeyBindings:
    """The prompt's own keys; they take precedence over prompt_toolkit's defaults."""
    bindings = KeyBindings()
    editing = ~is_searching

    @bindings.add("enter", filter=editing)
    def _send(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        text = buffer.text
        if block.open and not _first_line_is_block(text):
            block.open = False  # its opening line was edited away, or other text recalled
        if not block.open and text.strip(" \t") == BLOCK:
            block.open = True
            buffer.cursor_position = len(text)
            buffer.insert_text("\n")
        elif block.open and not _closes_block(text):
            buffer.insert_text("\n")
        else:
            if block.open:  # what is sent, and kept in the history, is the block's message
                block.open = False
                message = unwrap_block(text)
                buffer.document = Document(message, len(message))
            buffer.validate_and_handle()

    # Enter in a search accepts the entry found and sends it, as in bash and zsh.
    bindings.add("enter")(accept_search_and_accept_input)
    for arrow in ("left", "right", "up", "down"):
        bindings.add(arrow, filter=is_searching)(accept_search)

    @bindings.add("escape", "enter", filter=editing & (~vi_mode | _esc_came_with_the_next_key))
    @bindings.add("c-j", filter=editing)
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    @bindings.add("c-c", filter=editing)
    def _clear(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        block.open = False
        if buffer.text:
            buffer.reset()
        else:
            run_in_terminal(lambda: print(EXIT_HINT))

    @bindings.add("c-x", "c-e", filter=emacs_mode & ~has_selection & editing)
    @bindings.add("v", filter=vi_navigation_mode)
    def _edit(event: KeyPressEvent) -> None:
        event.app.create_background_task(_edit_in_editor(event.current_buffer))

    return bindings


async def _edit_in_editor(buffer: Buffer) -> None:
    """Replace the buffer's text by what the editor saved; on failure, say so and keep it."""

    def run() -> str | None:
        try:
            return edit(buffer.text)
        except EditorError as exc:
            status_line(f"{exc}; the text is as it was", kind="error")
            return None

    edited = await run_in_terminal(run, in_executor=True)
    if edited is not None:
        edited = edited.removesuffix("\n")  # editors end the file with one
        buffer.document = Document(edited, len(edited))


def configure_keys(app: Application[str], vi: bool) -> None:
    """Timing the key bindings depend on."""
    if vi:
        app.ttimeoutlen = VI_TTIMEOUTLEN
