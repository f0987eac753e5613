"""ChatRouteLLM with tools: per-child tool formatting, a create_agent tool loop, structured output."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from langchain.agents import create_agent
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.runnables import RunnableBinding
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel

from langchain_adapter import ChatRouteLLM
from langchain_adapter.testing import ScriptedChatModel
from routellm_plugins import Router

HARD = "Prove that 17 * 23 is 391 by computing it."
EASY = "what's 2 + 3?"


class KeywordRouter(Router):
    """Deterministic test router: 0.9 for prompts with 'prove', else 0.1."""

    name = "keyword"

    def __init__(self, threshold: float | None = 0.5) -> None:
        super().__init__(threshold=threshold)

    def _score(self, prompts: list[str]) -> np.ndarray:
        return np.array([0.9 if "prove" in p.lower() else 0.1 for p in prompts])


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def agent_reply(label: str, a: int, b: int) -> Any:
    """A scripted agent turn: call `multiply`, then answer from the tool result."""

    def reply(messages: list[BaseMessage]) -> AIMessage:
        if isinstance(messages[-1], ToolMessage):
            return AIMessage(content=f"{label}: the product is {messages[-1].content}")
        return AIMessage(content="", tool_calls=[{"name": "multiply", "args": {"a": a, "b": b}, "id": f"call-{label}"}])

    return reply


def agent_model(**kwargs: Any) -> tuple[ChatRouteLLM, ScriptedChatModel, ScriptedChatModel]:
    strong = ScriptedChatModel(model="big", replies=[agent_reply("strong", 17, 23)], tool_format="openai")
    weak = ScriptedChatModel(model="small", replies=[agent_reply("weak", 2, 3)], tool_format="named")
    return ChatRouteLLM(strong=strong, weak=weak, router=KeywordRouter(), **kwargs), strong, weak


class Person(BaseModel):
    """A person."""

    name: str
    age: int


def person_call(name: str, age: int) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": "Person", "args": {"name": name, "age": age}, "id": "p1"}])


# ---- bind_tools -----------------------------------------------------------------------------
def test_bind_tools_lets_each_child_format_tools_its_own_way() -> None:
    model, strong, weak = agent_model()
    bound = model.bind_tools([multiply], tool_choice="any")
    assert isinstance(bound, RunnableBinding)
    bound.invoke(HARD)
    bound.invoke(EASY)
    (strong_tool,) = strong.calls[0]["kwargs"]["tools"]
    (weak_tool,) = weak.calls[0]["kwargs"]["tools"]
    assert strong_tool["type"] == "function" and strong_tool["function"]["name"] == "multiply"
    assert weak_tool["name"] == "multiply" and "input_schema" in weak_tool
    assert strong.calls[0]["kwargs"]["tool_choice"] == weak.calls[0]["kwargs"]["tool_choice"] == "any"


def test_bound_calls_still_route_and_stream_with_tool_call_chunks() -> None:
    model, _, _ = agent_model()
    bound = model.bind_tools([multiply])
    msg = bound.invoke(HARD)
    assert msg.tool_calls[0]["args"] == {"a": 17, "b": 23} and msg.response_metadata["routellm"]["served_by"] == "strong"
    chunks = list(bound.stream(EASY))
    merged = chunks[0]
    for c in chunks[1:]:
        merged = merged + c
    assert merged.tool_calls[0]["args"] == {"a": 2, "b": 3} and merged.response_metadata["routellm"]["served_by"] == "weak"


def test_bind_tools_names_a_child_that_cannot_bind_tools() -> None:
    model = ChatRouteLLM(
        strong=ScriptedChatModel(), weak=GenericFakeChatModel(messages=itertools.cycle(["x"])), router=KeywordRouter()
    )
    with pytest.raises(NotImplementedError, match="child 'weak' .*GenericFakeChatModel"):
        model.bind_tools([multiply])


# ---- a full agent loop -------------------------------------------------------------------------
def test_create_agent_runs_a_tool_loop_through_the_router() -> None:
    model, strong, weak = agent_model()
    agent = create_agent(model, tools=[multiply])
    hard = agent.invoke({"messages": [("user", HARD)]})["messages"]
    assert [type(m).__name__ for m in hard] == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    assert hard[2].content == "391" and hard[-1].content == "strong: the product is 391"
    assert {m.response_metadata["routellm"]["served_by"] for m in hard if isinstance(m, AIMessage)} == {"strong"}
    easy = agent.invoke({"messages": [("user", EASY)]})["messages"]
    assert easy[-1].content == "weak: the product is 6" and len(weak.calls) == 2 and len(strong.calls) == 2


async def test_create_agent_async_with_sticky_threads() -> None:
    model, _, _ = agent_model(sticky_sessions="first")
    agent = create_agent(model, tools=[multiply], checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": "conversation-1"}}
    first = await agent.ainvoke({"messages": [("user", HARD)]}, cfg)
    assert first["messages"][-1].content == "strong: the product is 391"
    # A follow-up that alone would go weak stays on the thread's first choice, flagged as reused.
    second = await agent.ainvoke({"messages": [("user", EASY)]}, cfg)
    assert second["messages"][-1].content == "strong: the product is 391"
    meta = second["messages"][-1].response_metadata["routellm"]
    assert meta["score"] == pytest.approx(0.9) and meta["sticky"] is True


def test_agent_token_stream_carries_each_token_once() -> None:
    model, _, _ = agent_model()
    agent = create_agent(model, tools=[multiply])
    tokens = [
        (chunk.content, meta["routellm"]["served_by"])
        for chunk, meta in agent.stream({"messages": [("user", EASY)]}, stream_mode="messages")
        if meta.get("langgraph_node") == "model" and chunk.content
    ]
    assert "".join(t for t, _ in tokens) == "weak: the product is 6"
    assert {who for _, who in tokens} == {"weak"}


# ---- structured output ------------------------------------------------------------------------------
def test_with_structured_output_routes_to_each_childs_own_structured_runnable() -> None:
    strong = ScriptedChatModel(model="big", replies=[person_call("Ada", 36)])
    weak = ScriptedChatModel(model="small", replies=[person_call("Bob", 7)], tool_format="named")
    model = ChatRouteLLM(strong=strong, weak=weak, router=KeywordRouter())
    structured = model.with_structured_output(Person)
    assert structured.invoke(HARD) == Person(name="Ada", age=36)
    assert structured.invoke(EASY) == Person(name="Bob", age=7)
    raw = model.with_structured_output(Person, include_raw=True).invoke(HARD)
    assert raw["parsed"] == Person(name="Ada", age=36) and raw["raw"].response_metadata["routellm"]["served_by"] == "strong"


async def test_structured_output_async_batch_and_metadata() -> None:
    strong = ScriptedChatModel(model="big", replies=[person_call("Ada", 36)])
    weak = ScriptedChatModel(model="small", replies=[person_call("Bob", 7)])
    structured = ChatRouteLLM(strong=strong, weak=weak, router=KeywordRouter()).with_structured_output(Person)
    assert await structured.ainvoke(EASY) == Person(name="Bob", age=7)
    assert structured.batch([HARD, EASY]) == [Person(name="Ada", age=36), Person(name="Bob", age=7)]


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
def test_structured_output_method_and_options_reach_every_child(method: str) -> None:
    seen: list[tuple[str, Any]] = []

    class Spy(ScriptedChatModel):
        def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Any:
            seen.append((self.model, kwargs))
            return super().with_structured_output(schema, include_raw=include_raw, **kwargs)

    model = ChatRouteLLM(
        strong=Spy(model="big", replies=[person_call("Ada", 1)]), weak=Spy(model="small", replies=[person_call("Bob", 2)]),
        router=KeywordRouter(),
    )
    structured = model.with_structured_output(Person, method=method, strict=True)
    assert structured.invoke(EASY) == Person(name="Bob", age=2)
    assert seen == [("big", {"method": method, "strict": True}), ("small", {"method": method, "strict": True})]


def test_with_fallbacks_then_bind_tools_keeps_the_router_and_its_backup() -> None:
    class Down(ScriptedChatModel):
        def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
            raise RuntimeError("down")

    backup = ScriptedChatModel(model="backup", replies=["backup answer"])
    model = ChatRouteLLM(strong=Down(), weak=Down(), router=KeywordRouter())
    guarded = model.with_fallbacks([backup]).bind_tools([multiply])
    assert guarded.invoke(HARD).content == "backup answer"
    assert backup.calls[0]["kwargs"]["tools"][0]["function"]["name"] == "multiply"
