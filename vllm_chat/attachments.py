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


def text_block(path: Path) -> str:
    """The file's text, fenced and headed by its name."""
    data = _read(path, MAX_TEXT_BYTES)
    if b"\0" in data[:8192]:
        raise AttachmentError(f"{path} is not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AttachmentError(f"{path} is not UTF-8 text") from None
    longest = max((len(run) for run in re.findall(r"^ {0,3}(`{3,})", text, re.M)), default=0)
    fence = "`" * max(3, longest + 1)  # longer than any fence line inside the file
    return f"{path.name}:\n{fence}\n{text.rstrip(chr(10))}\n{fence}"


def image_url(source: str) -> str:
    """An URL the server can fetch, or a local image as a base64 `data:` URL."""
    if source.startswith(("http://", "https://", "data:")):
        return source
    path = Path(source).expanduser()
    kind = mimetypes.guess_type(path.name)[0]
    if kind not in IMAGE_TYPES:
        raise AttachmentError(f"{path} is not an image this client knows (png, jpeg, gif, webp)")
    data = _read(path, MAX_IMAGE_BYTES)
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


@dataclass
class Attachments:
    """What `/file` and `/image` queued for the next message."""

    files: list[tuple[str, str]] = field(default_factory=list)  # (name, fenced text)
    images: list[tuple[str, str]] = field(default_factory=list)  # (name, url)

    def __bool__(self) -> bool:
        return bool(self.files or self.images)

    def describe(self) -> str:
        names = [name for name, _ in self.files] + [name for name, _ in self.images]
        return ", ".join(names)

    def content(self, text: str) -> Any:
        """The message's content: text with the files, then image parts if any."""
        body = "\n\n".join([text, *(block for _, block in self.files)]) if self.files else text
        if not self.images:
            return body
        parts: list[dict[str, Any]] = [{"type": "text", "text": body}]
        parts += [{"type": "image_url", "image_url": {"url": url}} for _, url in self.images]
        return parts

    def clear(self) -> None:
        self.files.clear()
        self.images.clear()


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
