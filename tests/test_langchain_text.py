"""Routing-text extraction and session ids: unit cases and a property test over arbitrary messages."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    HumanMessageChunk,
    SystemMessage,
    ToolMessage,
)
from langchain_core.prompt_values import ChatPromptValue

from langchain_adapter import content_text, input_text, routing_text, session_id
from langchain_adapter.text import usable

# ---- unit cases ---------------------------------------------------------------------------


def test_content_text_keeps_text_parts_and_skips_everything_else() -> None:
    parts = [
        "plain",
        {"type": "text", "text": "typed"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "image", "base64": "AAAA", "mime_type": "image/png"},
        {"type": "input_text", "text": "responses-api"},
        {"text": "untyped"},
        {"type": "text", "text": None},
        42,
    ]
    assert content_text(parts) == "plain\ntyped\nresponses-api\nuntyped"
    assert content_text("just text") == "just text"
    assert content_text(None) == "" and content_text({"type": "text", "text": "x"}) == ""


def test_the_last_user_message_is_the_default() -> None:
    msgs = [SystemMessage("sys"), HumanMessage("first"), AIMessage("reply"), HumanMessage("second"), AIMessage("r2")]
    assert routing_text(msgs) == "second"
    assert routing_text([ChatMessage(role="user", content="chat role")]) == "chat role"
    assert routing_text([HumanMessageChunk(content="chunk")]) == "chunk"


def test_missing_or_blank_text_gives_none() -> None:
    assert routing_text([SystemMessage("only system"), AIMessage("only ai")]) is None
    assert routing_text([HumanMessage("real question"), HumanMessage("   ")]) is None  # the last one counts
    assert routing_text([]) is None and routing_text("not a list") is None


def test_conversation_mode_joins_all_but_tool_messages() -> None:
    msgs = [SystemMessage("S"), HumanMessage("H"), AIMessage("A"), ToolMessage("T", tool_call_id="1")]
    assert routing_text(msgs, "conversation") == "S\n\nH\n\nA"


def test_input_text_reads_common_runnable_inputs() -> None:
    assert input_text("q") == "q"
    assert input_text(ChatPromptValue(messages=[HumanMessage("from prompt")])) == "from prompt"
    assert input_text([("user", "tuple message")]) == "tuple message"
    assert input_text({"question": "Q", "context": "C"}) == "Q\nC"
    assert input_text({"question": "Q", "context": "C"}, input_key="question") == "Q"
    assert input_text({"question": "Q"}, input_key="missing") is None
    assert input_text(object()) is None and input_text([1, 2, 3]) is None


def test_session_id_prefers_configurable_then_metadata() -> None:
    assert session_id({"configurable": {"thread_id": 7}, "metadata": {"session_id": "m"}}) == "7"
    assert session_id({"configurable": {}, "metadata": {"session_id": "m"}}) == "m"
    assert session_id({"configurable": {"thread_id": ""}}) is None
    assert session_id({"metadata": {"chat": "c"}}, keys=("chat",)) == "c"
    assert session_id(None) is None


# ---- property: arbitrary message structures never break extraction ---------------------------

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["type", "text", "x"]) | st.text(max_size=4), inner, max_size=4),
    max_leaves=10,
)
parts = st.one_of(
    st.text(max_size=20),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "input_text", "image_url", "tool_use"]) | json_like, "text": json_like}
    ),
    json_like,
)
contents = st.one_of(st.text(max_size=30), st.lists(parts, max_size=5), json_like)
MESSAGE_TYPES = [HumanMessage, AIMessage, SystemMessage, ToolMessage, ChatMessage, HumanMessageChunk, AIMessageChunk]


@st.composite
def messages(draw: Any) -> BaseMessage:
    cls = draw(st.sampled_from(MESSAGE_TYPES))
    fields: dict[str, Any] = {"content": draw(contents)}
    if cls is ChatMessage:
        fields["role"] = draw(st.sampled_from(["user", "human", "assistant"]) | json_like)
    if cls is ToolMessage:
        fields["tool_call_id"] = "t"
    return cls.model_construct(**fields)  # skip validation: content may be anything


conversations = st.lists(st.one_of(messages(), json_like), max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conversations, st.sampled_from(["last_user", "last_human", "conversation"]))
def test_routing_text_never_raises_and_returns_usable_text_or_none(conversation: list[Any], mode: str) -> None:
    text = routing_text(conversation, mode)  # documented: never raises for any message content
    assert text is None or (isinstance(text, str) and usable(text))
    if mode in ("last_user", "last_human"):  # "last_human" is the old name of "last_user"
        humans = [
            m
            for m in conversation
            if isinstance(m, HumanMessage)
            or (isinstance(m, ChatMessage) and isinstance(m.role, str) and m.role.lower() in ("user", "human"))
        ]
        if humans and isinstance(humans[-1].content, str) and usable(humans[-1].content):
            assert text == humans[-1].content


@settings(max_examples=100, deadline=None)
@given(st.one_of(json_like, conversations, st.dictionaries(st.text(max_size=8), json_like | conversations, max_size=4)))
def test_input_text_never_raises(value: Any) -> None:
    text = input_text(value)
    assert text is None or (isinstance(text, str) and usable(text))


@pytest.mark.parametrize("invisible", ["\u200b\u200b", "\x00", "\x1b", " \ufeff\t", "\u2800"])
def test_text_with_nothing_visible_is_no_routing_text(invisible: str) -> None:
    assert routing_text([HumanMessage(invisible)]) is None and input_text(invisible) is None
    assert routing_text([HumanMessage(f"{invisible}hi")]) == f"{invisible}hi"
