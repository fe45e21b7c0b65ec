"""The messages of one chat: system prompt, user turns and answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Message:
    role: str  # "user", "assistant" or "tool"
    content: Any  # str, or a list of OpenAI content parts
    partial: bool = False  # an answer cut short (interrupted or connection lost)
    # An answer's tool calls, as received: [{"id", "type": "function", "function":
    # {"name", "arguments"}}] (arguments the exact string streamed).
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None  # a "tool" message: the call it answers
    # An answer's token probabilities, when asked for: one dict per token in OpenAI's
    # shape (client.events.Logprobs); never sent back to the server.
    logprobs: list[dict[str, Any]] | None = None

    def as_request(self) -> dict[str, Any]:
        if self.role == "tool":
            return {"role": "tool", "tool_call_id": self.tool_call_id, "content": self.content}
        if self.tool_calls:
            return {"role": self.role, "content": self.content or None,
                    "tool_calls": self.tool_calls}  # fmt: skip
        return {"role": self.role, "content": self.content}


@dataclass
class Conversation:
    """User and assistant turns alternate; the system prompt stays first."""

    system_prompt: str | None = None
    messages: list[Message] = field(default_factory=list)

    def add_user(self, content: Any) -> None:
        self.messages.append(Message("user", content))

    def add_assistant(
        self,
        content: str,
        *,
        partial: bool = False,
        tool_calls: list[dict[str, Any]] | None = None,
        logprobs: list[dict[str, Any]] | None = None,
    ) -> None:
        self.messages.append(
            Message("assistant", content, partial, tool_calls or None, logprobs=logprobs)
        )

    def add_tool_result(self, call_id: str, content: str) -> None:
        self.messages.append(Message("tool", content, tool_call_id=call_id))

    def pending_tool_calls(self) -> list[dict[str, Any]]:
        """The last answer's tool calls that have no result yet, in their order."""
        answered: set[str] = set()
        for message in reversed(self.messages):
            if message.role == "tool" and message.tool_call_id:
                answered.add(message.tool_call_id)
            elif message.role == "assistant":
                return [c for c in message.tool_calls or [] if c.get("id") not in answered]
            else:
                return []
        return []

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
        for message in reversed(self.messages):
            if message.role == "assistant":
                return message
            if message.role == "user":
                return None
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
