"""The messages of one chat: system prompt, user turns and answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Message:
    role: str  # "user" or "assistant"
    content: Any  # str, or a list of OpenAI content parts
    partial: bool = False  # an answer cut short (interrupted or connection lost)

    def as_request(self) -> dict[str, Any]:
        return {"role": self.role, "content": self.content}


@dataclass
class Conversation:
    """User and assistant turns alternate; the system prompt stays first."""

    system_prompt: str | None = None
    messages: list[Message] = field(default_factory=list)

    def add_user(self, content: Any) -> None:
        self.messages.append(Message("user", content))

    def add_assistant(self, content: str, *, partial: bool = False) -> None:
        self.messages.append(Message("assistant", content, partial))

    def drop_unanswered(self) -> None:
        """Forget a trailing user message whose answer never came."""
        if self.messages and self.messages[-1].role == "user":
            self.messages.pop()

    def pop_exchange(self) -> list[Message]:
        """Remove the last user message and its answer; return them (empty if none)."""
        for index in range(len(self.messages) - 1, -1, -1):
            if self.messages[index].role == "user":
                removed = self.messages[index:]
                del self.messages[index:]
                return removed
        return []

    def last_answer(self) -> Message | None:
        if self.messages and self.messages[-1].role == "assistant":
            return self.messages[-1]
        return None

    def reset(self) -> None:
        """Forget every turn; keep the system prompt."""
        self.messages.clear()

    def request_messages(self) -> list[dict[str, Any]]:
        """The list sent to the server: system first, then the turns."""
        head = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return head + [message.as_request() for message in self.messages]

    @property
    def turns(self) -> int:
        return sum(1 for message in self.messages if message.role == "user")
