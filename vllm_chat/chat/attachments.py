"""Files and images attached to the next message."""

from __future__ import annotations

import base64
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_TEXT_BYTES = 4 * 1024 * 1024
MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"}


class AttachmentError(Exception):
    """A file that cannot be attached; `str()` says why."""


def _read(path: Path, limit: int) -> bytes:
    try:
        if path.is_dir():
            raise AttachmentError(f"{path} is a directory")
        size = path.stat().st_size
        if size > limit:
            raise AttachmentError(f"{path} is {size:,} bytes; the limit is {limit:,}")
        return path.read_bytes()
    except OSError as exc:
        raise AttachmentError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _fenced(path: Path, data: bytes) -> str:
    """The file's text, fenced and headed by its name."""
    if b"\0" in data[:8192]:
        raise AttachmentError(f"{path} is not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AttachmentError(f"{path} is not UTF-8 text") from None
    longest = max((len(run) for run in re.findall(r"^ {0,3}(`{3,})", text, re.M)), default=0)
    fence = "`" * max(3, longest + 1)  # longer than any fence line inside the file
    return f"{path.name}:\n{fence}\n{text.rstrip(chr(10))}\n{fence}"


def text_block(path: Path) -> str:
    """The file's text, fenced and headed by its name."""
    return _fenced(path, _read(path, MAX_TEXT_BYTES))


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://", "data:"))


def image_url(source: str) -> str:
    """An URL the server can fetch, or a local image as a base64 `data:` URL."""
    return image_attachment(source).payload


@dataclass(frozen=True)
class Attachment:
    """One file or image waiting for the next message."""

    kind: str  # "file" or "image"
    name: str  # as shown: the file's name, or the URL
    key: str  # what makes two attachments the same: the resolved path, or the URL
    payload: str  # the fenced text, or the image's URL
    size: int | None  # bytes read from disk; None for an URL

    def describe_size(self) -> str:
        return "URL" if self.size is None else human_size(self.size)


def file_attachment(path: Path) -> Attachment:
    """A text file, read now, as an attachment."""
    data = _read(path, MAX_TEXT_BYTES)
    return Attachment("file", path.name, _key(path), _fenced(path, data), len(data))


def image_attachment(source: str) -> Attachment:
    """An image URL as it is, or a local image read now as a base64 `data:` URL."""
    if _is_url(source):
        name = "a data: URL" if source.startswith("data:") else source
        return Attachment("image", name, source, source, None)
    path = Path(source).expanduser()
    kind = mimetypes.guess_type(path.name)[0]
    if kind not in IMAGE_TYPES:
        raise AttachmentError(f"{path} is not an image this client knows (png, jpeg, gif, webp)")
    data = _read(path, MAX_IMAGE_BYTES)
    url = f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
    return Attachment("image", path.name, _key(path), url, len(data))


def _key(path: Path) -> str:
    try:
        return str(path.resolve())
    except OSError:
        return str(path.absolute())


def human_size(size: int) -> str:
    """`1 byte`, `512 bytes`, `1.5 KiB`, `3.2 MiB`."""
    if size < 1024:
        return f"{size} byte{'' if size == 1 else 's'}"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


@dataclass
class Attachments:
    """What `/file` and `/image` queued for the next message, in the order attached."""

    items: list[Attachment] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: Attachment) -> bool:
        """Queue `item`; False when it was already there (its copy is replaced, kept once)."""
        for index, present in enumerate(self.items):
            if present.kind == item.kind and present.key == item.key:
                self.items[index] = item  # the file as it is now
                return False
        self.items.append(item)
        return True

    def remove(self, number: int) -> Attachment:
        """Take out the `number`-th attachment (counting from 1)."""
        return self.items.pop(number - 1)

    def describe(self) -> str:
        return ", ".join(item.name for item in self.items)

    def content(self, text: str) -> Any:
        """The message's content: text with the files, then image parts if any."""
        files = [item.payload for item in self.items if item.kind == "file"]
        images = [item.payload for item in self.items if item.kind == "image"]
        body = "\n\n".join([text, *files]) if files else text
        if not images:
            return body
        parts: list[dict[str, Any]] = [{"type": "text", "text": body}]
        parts += [{"type": "image_url", "image_url": {"url": url}} for url in images]
        return parts

    def clear(self) -> int:
        """Drop them all; how many there were."""
        count = len(self.items)
        self.items.clear()
        return count


def text_of(content: Any) -> str:
    """The text of a message's content, whether a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def with_text(content: Any, text: str) -> Any:
    """`content` with its text replaced; image parts are kept."""
    if not isinstance(content, list):
        return text
    others = [p for p in content if not (isinstance(p, dict) and p.get("type") == "text")]
    return [{"type": "text", "text": text}, *others]
