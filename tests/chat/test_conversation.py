"""Conversation: what is sent to the server, and how turns are kept."""

from __future__ import annotations

from vllm_chat.chat.conversation import Conversation, Message


def test_request_messages_put_the_system_prompt_first() -> None:
    conversation = Conversation(system_prompt="Be brief.")
    conversation.add_user("hi")
    conversation.add_assistant("hello")
    conversation.add_user("and?")
    assert conversation.request_messages() == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "and?"},
    ]


def test_no_system_message_when_none_is_set() -> None:
    for prompt in (None, ""):
        conversation = Conversation(system_prompt=prompt)
        conversation.add_user("hi")
        assert conversation.request_messages() == [{"role": "user", "content": "hi"}]


def test_empty_conversation() -> None:
    assert Conversation().request_messages() == []
    assert Conversation(system_prompt="S").request_messages() == [
        {"role": "system", "content": "S"}
    ]
    assert Conversation().turns == 0


def test_partial_answers_are_sent_without_the_flag() -> None:
    conversation = Conversation()
    conversation.add_user("tell me")
    conversation.add_assistant("half an ans", partial=True)
    assert conversation.messages[-1].partial is True
    assert conversation.request_messages()[-1] == {"role": "assistant", "content": "half an ans"}


def test_content_parts_pass_through_unchanged() -> None:
    parts = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    conversation = Conversation()
    conversation.add_user(parts)
    assert conversation.request_messages() == [{"role": "user", "content": parts}]


def test_drop_unanswered_removes_only_a_trailing_user_message() -> None:
    conversation = Conversation(system_prompt="S")
    conversation.add_user("q1")
    conversation.add_assistant("a1")
    conversation.add_user("q2")
    conversation.drop_unanswered()
    assert [m.content for m in conversation.messages] == ["q1", "a1"]
    conversation.drop_unanswered()  # the last message is an answer: nothing to drop
    assert [m.content for m in conversation.messages] == ["q1", "a1"]
    assert conversation.turns == 1


def test_drop_unanswered_on_empty_conversation() -> None:
    # Nothing to drop: the system prompt is no turn and stays, and nothing is sent but it.
    conversation = Conversation(system_prompt="S")
    conversation.drop_unanswered()
    assert conversation.messages == []
    assert conversation.turns == 0
    assert conversation.request_messages() == [{"role": "system", "content": "S"}]
    # And the conversation goes on as one that never had a failed turn.
    conversation.add_user("q")
    assert conversation.request_messages() == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "q"},
    ]


def test_reset_keeps_the_system_prompt() -> None:
    conversation = Conversation(system_prompt="You are terse.")
    conversation.add_user("q")
    conversation.add_assistant("a")
    conversation.reset()
    assert conversation.turns == 0
    assert conversation.messages == []
    assert conversation.request_messages() == [{"role": "system", "content": "You are terse."}]


def test_turns_counts_user_messages() -> None:
    conversation = Conversation()
    for index in range(3):
        conversation.add_user(f"q{index}")
        conversation.add_assistant(f"a{index}")
    assert conversation.turns == 3


def test_conversations_do_not_share_messages() -> None:
    first, second = Conversation(), Conversation()
    first.add_user("only in the first")
    assert second.messages == []


def test_message_as_request() -> None:
    assert Message("user", "x", partial=True).as_request() == {"role": "user", "content": "x"}
