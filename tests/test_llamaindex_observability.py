"""Decisions are visible (response tags, one RoutingDecisionEvent per decision) and LLM events are not doubled."""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Optional

import pytest
from llama_index.core.callbacks import CallbackManager, CBEventType
from llama_index.core.callbacks.base_handler import BaseCallbackHandler
from llama_index.core.prompts import PromptTemplate

from llamaindex_adapter import RoutingDecisionEvent, RouteLLM
from test_llamaindex_fakes import ScriptedToolLLM, counting_events, echo_pair, make_route_llm, user

HARD = "Prove that 17 is prime."


def _run(target: Any, entry: str) -> None:
    if entry == "chat":
        target.chat(user(HARD))
    elif entry == "complete":
        target.complete(HARD)
    elif entry == "stream_chat":
        list(target.stream_chat(user(HARD)))
    elif entry == "stream_complete":
        list(target.stream_complete(HARD))
    elif entry == "predict":
        target.predict(PromptTemplate("{query_str}"), query_str=HARD)


async def _arun(target: Any, entry: str) -> None:
    if entry == "achat":
        await target.achat(user(HARD))
    elif entry == "acomplete":
        await target.acomplete(HARD)
    elif entry == "astream_chat":
        [c async for c in await target.astream_chat(user(HARD))]
    elif entry == "astream_complete":
        [c async for c in await target.astream_complete(HARD)]


def _llm_events(counts: Counter) -> Dict[str, int]:
    return {k: v for k, v in counts.items() if k.startswith("LLM")}


@pytest.mark.parametrize("entry", ["chat", "complete", "stream_chat", "stream_complete", "predict"])
def test_routing_adds_one_decision_event_and_no_llm_events(entry: str) -> None:
    llm = make_route_llm()
    with counting_events() as direct:
        _run(llm.models["strong"], entry)
    with counting_events() as routed:
        _run(llm, entry)
    assert _llm_events(direct.counts), "the child emits its own LLM events"
    assert _llm_events(routed.counts) == _llm_events(direct.counts)
    assert routed.counts["RoutingDecisionEvent"] == 1 and direct.counts["RoutingDecisionEvent"] == 0


@pytest.mark.parametrize("entry", ["achat", "acomplete", "astream_chat", "astream_complete"])
async def test_async_routing_adds_one_decision_event_and_no_llm_events(entry: str) -> None:
    llm = make_route_llm()
    with counting_events() as direct:
        await _arun(llm.models["strong"], entry)
    with counting_events() as routed:
        await _arun(llm, entry)
    assert _llm_events(routed.counts) == _llm_events(direct.counts) != {}
    assert routed.counts["RoutingDecisionEvent"] == 1


def test_tool_calls_emit_the_childs_chat_events_once() -> None:
    strong = ScriptedToolLLM(name="strong", script=[{"text": "ok"}, {"text": "ok"}])
    weak = ScriptedToolLLM(name="weak", style="blocks")
    llm = RouteLLM(strong=strong, weak=weak, router=make_route_llm().controller.router)
    with counting_events() as direct:
        strong.chat_with_tools([], user_msg=HARD)
    with counting_events() as routed:
        llm.chat_with_tools([], user_msg=HARD)
    assert routed.counts["LLMChatStartEvent"] == direct.counts["LLMChatStartEvent"] == 1
    assert routed.counts["LLMChatEndEvent"] == 1 and routed.counts["RoutingDecisionEvent"] == 1


def test_decision_event_describes_the_decision_without_the_prompt() -> None:
    llm = make_route_llm()
    with counting_events() as seen:
        resp = llm.chat(user("Prove the zebra-quokka lemma."))
    (event,) = [e for e in seen.events if isinstance(e, RoutingDecisionEvent)]
    assert event.model == "strong" and event.entry_point == "chat" and event.failover_from is None
    assert event.decision == {k: v for k, v in resp.additional_kwargs["routellm"].items() if k != "routing_text_source"}
    assert event.decision["score"] == 1.0 and event.decision["router"] == "keyword"
    assert "quokka" not in repr(event.model_dump())  # no user text in the event
    assert event.class_name() == "RoutingDecisionEvent"


def test_decision_event_happens_inside_the_routellm_span() -> None:
    llm = make_route_llm()
    with counting_events() as seen:
        llm.chat(user(HARD))
    decision = next(e for e in seen.events if isinstance(e, RoutingDecisionEvent))
    start = next(e for e in seen.events if e.class_name() == "LLMChatStartEvent")
    assert decision.span_id and decision.span_id.startswith("RouteLLM.chat")
    assert start.span_id != decision.span_id  # the child's event belongs to the child's own span


class _LLMEventCounter(BaseCallbackHandler):
    def __init__(self) -> None:
        super().__init__(event_starts_to_ignore=[], event_ends_to_ignore=[])
        self.starts: List[CBEventType] = []

    def on_event_start(self, event_type: CBEventType, payload: Optional[Dict[str, Any]] = None, event_id: str = "", parent_id: str = "", **kwargs: Any) -> str:
        self.starts.append(event_type)
        return event_id

    def on_event_end(self, event_type: CBEventType, payload: Optional[Dict[str, Any]] = None, event_id: str = "", **kwargs: Any) -> None:
        pass

    def start_trace(self, trace_id: Optional[str] = None) -> None:
        pass

    def end_trace(self, trace_id: Optional[str] = None, trace_map: Optional[Dict[str, List[str]]] = None) -> None:
        pass


def test_callback_manager_set_on_routellm_reaches_the_children_once() -> None:
    llm = make_route_llm()
    handler = _LLMEventCounter()
    llm.callback_manager = CallbackManager([handler])  # what Settings and response synthesizers do
    llm.complete(HARD)
    assert handler.starts.count(CBEventType.LLM) == 1
    assert all(child.callback_manager is llm.callback_manager for child in llm.models.values())


def test_children_with_their_own_callback_handlers_keep_them() -> None:
    own = _LLMEventCounter()
    strong, weak = echo_pair()
    strong.callback_manager = CallbackManager([own])
    llm = RouteLLM(strong=strong, weak=weak, router=make_route_llm().controller.router)
    llm.callback_manager = CallbackManager([_LLMEventCounter()])
    assert strong.callback_manager.handlers == [own]
    assert weak.callback_manager is llm.callback_manager


def test_response_tag_matches_the_cores_decision_serialisation() -> None:
    from routellm_plugins import Candidate, Decision

    from llamaindex_adapter.delegate import decision_dict

    decision = Decision("weak", 0.2, 0.5, "mf", 0.001, fallback=True, reason="r", candidates=(Candidate("weak", 0.7, 0.1),))
    assert decision_dict(decision) == decision.to_dict()
