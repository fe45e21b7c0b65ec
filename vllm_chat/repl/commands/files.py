"""Files in and out: /file, /image, /attachments, /detach, /copy."""

from __future__ import annotations

from pathlib import Path

from vllm_chat.chat.attachments import Attachment, file_attachment, image_attachment, text_of
from vllm_chat.repl.clipboard import code_blocks, osc52
from vllm_chat.repl.commands.registry import Context, UsageError, command, counted


@command("file", "attach a text file to the next message", usage="/file PATH", takes_path=True)
def file_command(ctx: Context, arg: str) -> None:
    """Attach the text file `arg` to the next message."""
    if not arg:
        raise UsageError("usage: /file PATH")
    _attach(ctx, file_attachment(Path(arg).expanduser()))


@command(
    "image",
    "attach an image (file or URL) to the next message",
    usage="/image PATH_OR_URL",
    takes_path=True,
)
def image_command(ctx: Context, arg: str) -> None:
    """Attach the image file or URL `arg` to the next message."""
    if not arg:
        raise UsageError("usage: /image PATH_OR_URL")
    _attach(ctx, image_attachment(arg))


def _attach(ctx: Context, item: Attachment) -> None:
    what = f"image {item.name}" if item.kind == "image" else item.name
    size = "" if item.size is None else f" ({item.describe_size()})"
    if ctx.chat.attachments.add(item):
        ctx.say(f"attached {what}{size} to the next message")
    else:
        ctx.say(f"{what} is already attached; kept one copy{size}")


@command("attachments", "list what is attached to the next message, with sizes")
def attachments_command(ctx: Context, arg: str) -> None:
    """List the pending attachments, numbered as /detach takes them."""
    items = ctx.chat.attachments.items
    if not items:
        ctx.say("nothing is attached (/file PATH or /image PATH_OR_URL attaches)")
        return
    width = max(len(item.name) for item in items)
    lines = [f"{counted(len(items), 'attachment')} for the next message:"]
    for number, item in enumerate(items, 1):
        lines.append(f"  {number}  {item.kind:<5}  {item.name:<{width}}  {item.describe_size()}")
    ctx.say("\n".join(lines))


@command(
    "detach",
    "drop one attachment (N, as /attachments numbers them) or all of them",
    usage="/detach [N]",
)
def detach_command(ctx: Context, arg: str) -> None:
    """Drop attachment `arg`, or every one."""
    attachments = ctx.chat.attachments
    if not attachments:
        ctx.say("nothing is attached")
        return
    if not arg:
        ctx.say(f"detached {counted(attachments.clear(), 'attachment')}")
        return
    count = len(attachments)
    if not arg.isdigit() or not 1 <= int(arg) <= count:
        span = "/detach 1" if count == 1 else f"/detach 1..{count}"
        raise UsageError(f"{span}, or /detach alone for all (see /attachments)")
    item = attachments.remove(int(arg))
    left = len(attachments)
    ctx.say(f"detached {item.name} ({counted(left, 'attachment')} left)")


@command(
    "copy",
    "copy the last answer, or its N-th code block, to the clipboard",
    usage="/copy [N]",
)
def copy_command(ctx: Context, arg: str) -> None:
    """Send the last answer (or a code block of it) to the clipboard with OSC 52."""
    answer = ctx.chat.conversation.last_answer()
    if answer is None:
        raise UsageError("there is no answer to copy yet")
    text, what = text_of(answer.content), "the last answer"
    if arg:
        blocks = code_blocks(text)
        if not arg.isdigit() or not 1 <= int(arg) <= len(blocks):
            span = "/copy 1" if len(blocks) == 1 else f"/copy 1..{len(blocks)}"
            raise UsageError(
                f"the last answer has {counted(len(blocks), 'code block')}; {span}"
                if blocks
                else "the last answer has no code block"
            )
        text, what = blocks[int(arg) - 1], f"code block {arg}"
    if ctx.terminal is None:
        raise UsageError("/copy needs a terminal (it asks the terminal to set the clipboard)")
    ctx.terminal.write(osc52(text))
    ctx.terminal.flush()
    lines = text.count("\n") + 1
    ctx.say(f"copied {what} ({counted(lines, 'line')}, {counted(len(text), 'character')})")
