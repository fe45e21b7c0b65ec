"""Saved chats: one JSON file per chat, written atomically and kept private."""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vllm_chat.chat.conversation import Conversation, Message
from vllm_chat.config.defaults import RESERVED_BODY_KEYS
from vllm_chat.config.settings import data_dir

FORMAT = "vllm-chat/chat"
VERSION = 1


class SavedChatError(Exception):
    """The file cannot be written, or is not a chat this program saved."""


@dataclass
class SavedChat:
    """What a saved chat holds: enough to carry on where it stopped."""

    model: str | None
    conversation: Conversation
    sampling: dict[str, Any] = field(default_factory=dict)


def chats_dir() -> Path:
    return data_dir() / "chats"


def resolve(name: str | None) -> Path:
    """A path for `/save`/`/load`: a bare name lives in the chats folder, `.json` added."""
    if not name:
        stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        path = chats_dir() / f"chat-{stamp}.json"
        number = 1
        while path.exists():  # two saves within a second: a new file each time
            number += 1
            path = chats_dir() / f"chat-{stamp}-{number}.json"
        return path
    path = Path(name).expanduser()
    if path.parent == Path(".") and not name.startswith("."):
        path = chats_dir() / path
    return path if path.suffix else path.with_suffix(".json")


def locate(name: str) -> Path:
    """The file `/load NAME` reads: NAME itself if it is a file, else NAME in the chats folder."""
    given = Path(name).expanduser()
    if given.is_file():
        return given
    path = resolve(name)
    if path.parent == chats_dir() and path != given and not path.exists():
        raise SavedChatError(f"no saved chat {name}: neither ./{given} nor {path} exists")
    return path


def save(chat: SavedChat, path: Path, *, overwrite: bool = False) -> None:
    """Write `chat` to `path` (0600, via a temporary file and a rename).

    Only the chats folder is ever created; any other folder must exist. An
    existing file is replaced only with `overwrite`.
    """
    conversation = chat.conversation
    document = {
        "format": FORMAT,
        "version": VERSION,
        "saved_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "model": chat.model,
        "system_prompt": conversation.system_prompt,
        "sampling": chat.sampling,
        "messages": [
            {**message.as_request(), **({"partial": True} if message.partial else {}),
             **({"logprobs": message.logprobs} if message.logprobs is not None else {})}
            for message in conversation.messages
        ],
    }
    data = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    write_private(path, data, overwrite=overwrite, again="/save!")


def write_private(path: Path, data: bytes, *, overwrite: bool, again: str) -> None:
    """Write `data` to `path`, 0600, through a temporary file and a rename.

    Only the chats folder is ever created; an existing file is replaced only with
    `overwrite` (else the error names `again`, the command that would replace it).
    """
    folder = path.parent
    try:
        if folder == chats_dir():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        elif not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise SavedChatError(f"cannot save to {path}: the folder {folder} {what}")
        if path.is_dir():
            raise SavedChatError(f"cannot save to {path}: it is a folder")
        if path.exists() and not overwrite:
            raise SavedChatError(f"{path} exists; {again} {path} replaces it")
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}-")
    except OSError as exc:
        raise SavedChatError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)  # mkstemp made it 0600
    except OSError as exc:
        os.unlink(temporary)
        raise SavedChatError(f"cannot write {path}: {exc.strerror or exc}") from exc


def load(path: Path) -> SavedChat:
    """Read a chat written by `save`; anything else raises `SavedChatError`."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SavedChatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SavedChatError(f"{path} is not a saved chat (not JSON: {exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SavedChatError(f"{path} is not a chat saved by vllm-chat")
    if not isinstance(document.get("version"), int) or document["version"] > VERSION:
        version = document.get("version")
        raise SavedChatError(f"{path}: format version {version!r} is not {VERSION}")
    model, system_prompt, sampling = (
        document.get("model"),
        document.get("system_prompt"),
        document.get("sampling") or {},
    )
    if not (model is None or isinstance(model, str)):
        raise SavedChatError(f"{path}: 'model' must be a string")
    if not (system_prompt is None or isinstance(system_prompt, str)):
        raise SavedChatError(f"{path}: 'system_prompt' must be a string")
    if not isinstance(sampling, dict):
        raise SavedChatError(f"{path}: 'sampling' must be an object")
    reserved = sorted(set(sampling) & set(RESERVED_BODY_KEYS))
    if reserved:
        raise SavedChatError(f"{path}: 'sampling' may not set {', '.join(reserved)}")
    return SavedChat(model, Conversation(system_prompt, _messages(path, document)), sampling)


# Which roles may follow a message: an answer with tool calls is followed by their
# results (or, if none were given, by the next question); results by more, or the answer.
_NEXT = {"user": ("assistant",), "assistant": ("user",), "calls": ("tool", "user"),
         "tool": ("tool", "assistant")}  # fmt: skip


def _messages(path: Path, document: dict[str, Any]) -> list[Message]:
    items = document.get("messages")
    if not isinstance(items, list):
        raise SavedChatError(f"{path}: 'messages' must be a list")
    messages: list[Message] = []
    allowed: tuple[str, ...] = ("user",)
    for number, item in enumerate(items, 1):
        role = item.get("role") if isinstance(item, dict) else None
        if role not in allowed:
            raise SavedChatError(
                f"{path}: message {number} must be a {' or '.join(allowed)} message "
                "(roles alternate)"
            )
        calls = item.get("tool_calls") if role == "assistant" else None
        if calls is not None and not (isinstance(calls, list) and all(
            isinstance(c, dict) and isinstance(c.get("id"), str) for c in calls
        )):  # fmt: skip
            raise SavedChatError(f"{path}: message {number} has tool_calls without ids")
        content = item.get("content")
        if content is None and calls:
            content = ""
        if not isinstance(content, (str, list)):
            raise SavedChatError(f"{path}: message {number} has no text content")
        call_id = item.get("tool_call_id") if role == "tool" else None
        if role == "tool" and not isinstance(call_id, str):
            raise SavedChatError(f"{path}: message {number} is a tool result without its call id")
        logprobs = item.get("logprobs") if role == "assistant" else None
        logprobs = logprobs if isinstance(logprobs, list) else None  # kept for /alt, not checked
        messages.append(Message(role, content, bool(item.get("partial")), calls or None, call_id,
                                logprobs))  # fmt: skip
        allowed = _NEXT["calls" if calls else role]
    if messages and messages[-1].role == "user":
        raise SavedChatError(f"{path}: the last message has no answer")
    return messages
