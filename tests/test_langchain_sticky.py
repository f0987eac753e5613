"""Sticky sessions through ChatRouteLLM: the session id comes from the run config
(``configurable.thread_id`` / ``session_id``, or ``metadata``), the controller's policy decides
('off', 'escalate', 'first'), and a reused or escalated decision says ``sticky: true``."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langchain_core.tracers.context import collect_runs
from langgraph.checkpoint.memory import InMemorySaver

from langchain_adapter import ChatRouteLLM
from langchain_adapter.testing import ScriptedChatModel
from routellm_plugins import RoutingController, load_router
from test_langchain_fakes import EASY, HARD, KeywordRouter, fake, routed

FOLLOW_UP = "thanks, and what's the weather like?"


def thread(name: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": name}}


def served(model: ChatRouteLLM, question: str, config: dict[str, Any]) -> tuple[str, bool]:
    meta = model.invoke(question, config=config).response_metadata["routellm"]
    return meta["served_by"], meta["sticky"]


def test_off_scores_every_turn_on_its_own() -> None:
    model = routed()  # the shared default policy is "off"
    assert model.routing_controller.sticky_policy == "off"
    turns = [served(model, q, thread("t")) for q in (EASY, HARD, FOLLOW_UP)]
    assert turns == [("weak", False), ("strong", False), ("weak", False)]


def test_escalate_sends_later_hard_questions_strong_and_never_drops_back() -> None:
    model = routed(sticky_sessions="escalate")
    turns = [served(model, q, thread("opens-with-hi")) for q in (EASY, FOLLOW_UP, HARD, FOLLOW_UP, EASY)]
    assert turns == [("weak", False), ("weak", False), ("strong", False), ("strong", True), ("strong", True)]
    assert served(model, EASY, thread("another")) == ("weak", False)  # other conversations are their own


def test_first_keeps_the_first_decision_for_the_whole_conversation() -> None:
    model = routed(sticky_sessions="first")
    turns = [served(model, q, thread("t")) for q in (EASY, HARD, FOLLOW_UP)]
    assert turns == [("weak", False), ("weak", True), ("weak", True)]
    assert served(model, HARD, {}) == ("strong", False)  # no session id: decided per call


@pytest.mark.parametrize(
    "config",
    [
        {"configurable": {"thread_id": "a"}},
        {"configurable": {"session_id": "a"}},
        {"metadata": {"session_id": "a"}},
        {"metadata": {"conversation_id": "a"}},
        {"configurable": {"thread_id": 42}},
    ],
)
def test_the_session_id_comes_from_the_run_config(config: dict[str, Any]) -> None:
    model = routed(sticky_sessions="first")
    assert [served(model, q, config) for q in (HARD, EASY)] == [("strong", False), ("strong", True)]


def test_custom_session_keys_and_ids_that_are_not_ids() -> None:
    model = routed(sticky_sessions="first", session_keys=["chat_id"])
    assert [served(model, q, {"configurable": {"chat_id": "c"}}) for q in (HARD, EASY)] == [("strong", False), ("strong", True)]
    assert served(model, EASY, thread("t")) == ("weak", False)  # thread_id is not a session key here
    odd = {"configurable": {"chat_id": {"nested": "dict"}}}  # not an id: routed per call, never an error
    assert [served(model, q, odd) for q in (HARD, EASY)] == [("strong", False), ("weak", False)]


def test_the_router_run_shows_the_sticky_flag() -> None:
    model = routed(sticky_sessions="escalate")
    model.invoke(HARD, config=thread("t"))
    with collect_runs() as runs:
        model.invoke(EASY, config=thread("t"))
    (root,) = runs.traced_runs
    assert root.extra["metadata"]["routellm"]["sticky"] is True
    assert root.extra["metadata"]["routellm"]["served_by"] == "strong" and "routellm:strong" in root.tags


def test_a_shared_controller_shares_sessions_between_models() -> None:
    controller = RoutingController(KeywordRouter(), sticky_sessions="first")
    first = ChatRouteLLM(strong=fake("A-strong"), weak=fake("A-weak"), controller=controller)
    second = ChatRouteLLM(strong=fake("B-strong"), weak=fake("B-weak"), controller=controller)
    assert first.invoke(HARD, config=thread("shared")).content == "A-strong"
    assert second.invoke(EASY, config=thread("shared")).content == "B-strong"


@tool
def lookup(topic: str) -> str:
    """Look a topic up."""
    return f"notes on {topic}"


def agent_reply(label: str) -> Any:
    def reply(messages: list[Any]) -> AIMessage:
        if isinstance(messages[-1], ToolMessage):
            return AIMessage(content=f"{label}: {messages[-1].content}")
        return AIMessage(content="", tool_calls=[{"name": "lookup", "args": {"topic": "primes"}, "id": f"call-{len(messages)}"}])

    return reply


async def test_an_agent_thread_escalates_across_turns_and_keeps_its_tool_loop_on_one_model() -> None:
    strong = ScriptedChatModel(model="big", replies=[agent_reply("strong")])
    weak = ScriptedChatModel(model="small", replies=[agent_reply("weak")], tool_format="named")
    model = ChatRouteLLM(strong=strong, weak=weak, router=KeywordRouter(), sticky_sessions="escalate")
    agent = create_agent(model, tools=[lookup], checkpointer=InMemorySaver())
    cfg = thread("agent-thread")
    answers = []
    for question in (EASY, HARD, FOLLOW_UP):
        messages = (await agent.ainvoke({"messages": [("user", question)]}, cfg))["messages"]
        answers.append(messages[-1].content.split(":")[0])
    assert answers == ["weak", "strong", "strong"]
    assert len(weak.calls) == 2 and len(strong.calls) == 4  # each turn's tool loop stayed on one model


def test_escalate_with_the_bundled_default_router() -> None:
    """The real default router: the opener and the hard question are the lowest and highest scored
    of a few chat turns, and the threshold sits between them."""
    router = load_router()
    turns = ["hi", "Thanks! Can you recommend a good book?", "Write a Python function that merges two sorted lists.",
             "Prove that the square root of 2 is irrational."]
    scores = router.score(turns)
    opener, hard = turns[int(scores.argmin())], turns[int(scores.argmax())]
    model = ChatRouteLLM(strong=fake("S"), weak=fake("W"), router=router, threshold=float(scores.min() + scores.max()) / 2,
                         sticky_sessions="escalate")
    assert [served(model, q, thread("real")) for q in (opener, hard, opener)] == [("weak", False), ("strong", False), ("strong", True)]
