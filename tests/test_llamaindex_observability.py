"""Decisions are visible (response tags, one RoutingDecisionEvent per decision) and LLM events are not doubled."""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Optional

import pytest
from llama_index.core.callbacks import CallbackManager, CBEventType
from llama_index.core.callbacks.base_handler import BaseCallbackHandler
from llama_index.core.prompts import PromptTemplate

from llamaindex_adapter import RoutingDecisionEvent, RouteLLM
from test_llamaindex_fakes import EchoLLM, ScriptedToolLLM, counting_events, echo_pair, make_route_llm, user

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

    from llamaindex_adapter.tags import decision_dict

    decision = Decision("weak", 0.2, 0.5, "mf", 0.001, fallback=True, reason="r", candidates=(Candidate("weak", 0.7, 0.1),))
    assert decision_dict(decision) == decision.to_dict()


# ---- decision_of: every result type a LlamaIndex user holds (issue 14) ---------------------------
async def test_decision_of_reads_chat_completion_and_stream_results() -> None:
    llm = make_route_llm()
    chat = llm.chat(user(HARD))
    found = {
        "ChatResponse": RouteLLM.decision_of(chat),
        "ChatResponse.message": RouteLLM.decision_of(chat.message),
        "CompletionResponse": RouteLLM.decision_of(llm.complete(HARD)),
        "achat .message": RouteLLM.decision_of((await llm.achat(user(HARD))).message),
    }
    for name, chunks in (
        ("stream_chat", list(llm.stream_chat(user(HARD)))),
        ("stream_complete", list(llm.stream_complete(HARD))),
        ("astream_chat", [c async for c in await llm.astream_chat(user(HARD))]),
        ("astream_complete", [c async for c in await llm.astream_complete(HARD)]),
    ):
        assert len(chunks) > 1
        for i, chunk in enumerate(chunks):
            found[f"{name}[{i}]"] = RouteLLM.decision_of(chunk)
            if hasattr(chunk, "message"):
                found[f"{name}[{i}].message"] = RouteLLM.decision_of(chunk.message)
    missing = [name for name, tag in found.items() if not (tag and tag["model"] == "strong")]
    assert missing == []
    assert RouteLLM.decision_of(llm.models["strong"].complete(HARD)) is None  # an unrouted response carries none
    assert RouteLLM.decision_of(None) is None and RouteLLM.decision_of("text") is None


@pytest.fixture(scope="module")
def small_index():
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.embeddings import MockEmbedding

    docs = ["A theorem is proved from axioms.", "The sky is blue.", "Paris is in France."]
    return VectorStoreIndex.from_documents([Document(text=t) for t in docs], embed_model=MockEmbedding(embed_dim=8))


@pytest.mark.parametrize("mode", ["query", "aquery", "stream", "astream", "tree_summarize_async"])
async def test_query_engine_responses_carry_the_decision_in_metadata(small_index, mode: str) -> None:
    llm = make_route_llm()
    easy = "What colour is the sky?"
    if mode == "query":
        response = small_index.as_query_engine(llm=llm).query(easy)
    elif mode == "aquery":
        response = await small_index.as_query_engine(llm=llm).aquery(easy)
    elif mode == "stream":
        response = small_index.as_query_engine(llm=llm, streaming=True).query(easy)
        assert "".join(response.response_gen).startswith("[weak]")  # tagged once the LLM has been called
    elif mode == "astream":
        response = await small_index.as_query_engine(llm=llm, streaming=True).aquery(easy)
        assert "".join([t async for t in response.async_response_gen()]).startswith("[weak]")
    else:
        engine = small_index.as_query_engine(llm=llm, response_mode="tree_summarize", use_async=True, similarity_top_k=3)
        response = await engine.aquery(easy)
    tag = response.metadata["routellm"]
    assert tag["model"] == "weak" and tag["routing_text_source"] == "template:query_str"
    assert RouteLLM.decision_of(response) is tag
    node_ids = {n.node.node_id for n in response.source_nodes}
    assert node_ids <= set(response.metadata)  # the synthesizer's own metadata is kept


def test_a_query_engine_without_routellm_gets_no_decision(small_index) -> None:
    from llama_index.core.llms import MockLLM

    make_route_llm()  # a RouteLLM exists in the process...
    make_route_llm().complete(HARD)  # ...and has just decided something
    response = small_index.as_query_engine(llm=MockLLM()).query("What colour is the sky?")
    assert RouteLLM.decision_of(response) is None  # ...but this query never used it


def test_a_failed_query_leaves_no_open_scope(small_index) -> None:
    from llamaindex_adapter import responses

    llm = make_route_llm(EchoLLM(name="strong", fail="call"), EchoLLM(name="weak", fail="call"))
    with pytest.raises(RuntimeError):
        small_index.as_query_engine(llm=llm).query(HARD)
    assert responses._ACTIVE.get() is None
