"""Tracing like ChatOpenAI: each ChatRouteLLM call is a run named for the router, with the
decision in its metadata and outputs, the chosen child's run nested under it, tokens streamed
and usage counted once. Checked with LangChain's in-memory tracer (``collect_runs``), a plain
callback handler, the event stream and the usage callback, over LangChain's fake chat models."""

from __future__ import annotations

import itertools
import uuid
from typing import Any, ClassVar

import pytest
from langchain_core.callbacks import get_usage_metadata_callback
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tracers.context import collect_runs
from langchain_core.tracers.langchain import LangChainTracer
from langsmith import Client

from langchain_adapter import ChatRouteLLM
from langchain_adapter.testing import ScriptedChatModel
from test_langchain_fakes import EASY, HARD, Failing, KeywordRouter, Recorder, fake

DECISION_FIELDS = {"model", "model_name", "served_by", "score", "threshold", "router", "fallback", "sticky"}


def named(**kwargs: Any) -> ChatRouteLLM:
    """A router over two scripted children that report their model names to tracing."""
    params: dict[str, Any] = {
        "strong": ScriptedChatModel(model="big-model", replies=["strong says hi"]),
        "weak": ScriptedChatModel(model="small-model", replies=["weak says hi"]),
        "router": KeywordRouter(),
    }
    return ChatRouteLLM(**{**params, **kwargs})


def with_usage(text: str, tokens: int) -> GenericFakeChatModel:
    usage = {"input_tokens": tokens, "output_tokens": 1, "total_tokens": tokens + 1}
    return GenericFakeChatModel(messages=itertools.cycle([AIMessage(content=text, usage_metadata=usage,
                                                                    response_metadata={"model_name": f"model-{text}"})]))


def root_of(runs: Any) -> Any:
    (root,) = runs.traced_runs
    return root


def output_message(run: Any) -> dict[str, Any]:
    return run.outputs["generations"][0][0]["message"]["kwargs"]


# ---- the router's run -------------------------------------------------------------------------
def test_a_call_is_a_router_run_with_the_decision_and_the_child_run_nested() -> None:
    with collect_runs() as runs:
        reply = named().invoke(EASY, config={"tags": ["mine"], "metadata": {"user": "u1"}})
    root = root_of(runs)
    assert root.name == "ChatRouteLLM" and root.run_type == "llm" and root.parent_run_id is None
    decision = root.extra["metadata"]["routellm"]
    assert DECISION_FIELDS <= set(decision)
    assert (decision["model"], decision["served_by"], decision["model_name"]) == ("weak", "weak", "small-model")
    assert decision["score"] == pytest.approx(0.1) and decision["threshold"] == 0.5 and decision["router"] == "keyword"
    assert decision["fallback"] is False and decision["sticky"] is False
    assert root.extra["metadata"]["ls_provider"] == "routellm" and root.extra["metadata"]["user"] == "u1"
    assert {"mine", "routellm", "routellm:weak"} <= set(root.tags)
    out = output_message(root)
    assert out["content"] == "weak says hi" and out["response_metadata"]["routellm"]["served_by"] == "weak"
    (child,) = root.child_runs
    assert child.name == "ScriptedChatModel" and child.parent_run_id == root.id
    assert child.extra["metadata"]["ls_model_name"] == "small-model"  # the child reports the model that served
    assert child.extra["metadata"]["routellm"]["served_by"] == "weak" and "mine" in child.tags
    assert reply.response_metadata["routellm"] == out["response_metadata"]["routellm"]


def test_a_callback_handler_sees_the_decision_at_start_and_in_on_llm_end() -> None:
    recorder = Recorder()
    named().invoke(HARD, config={"callbacks": [recorder]})
    router_start, child_start = recorder.starts
    assert router_start["name"] == "ChatRouteLLM" and router_start["parent_run_id"] is None
    assert router_start["metadata"]["routellm"]["model_name"] == "big-model"
    assert child_start["parent_run_id"] == router_start["run_id"]
    child_end, router_end = recorder.ends
    assert router_end["run_id"] == router_start["run_id"] and child_end["run_id"] == child_start["run_id"]
    assert router_end["message"].response_metadata["routellm"]["served_by"] == "strong"
    assert router_end["message"].content == "strong says hi"
    assert "api_key" not in router_start["params"] and router_start["params"]["router"] == "keyword"


def test_run_name_and_run_id_from_the_config_name_the_router_run() -> None:
    run_id = uuid.uuid4()
    with collect_runs() as runs:
        named().invoke(HARD, config={"run_name": "answerer", "run_id": run_id})
    root = root_of(runs)
    assert root.name == "answerer" and root.id == run_id
    assert root.child_runs[0].name == "ScriptedChatModel" and root.child_runs[0].id != run_id


async def test_async_and_streamed_calls_trace_the_same_way() -> None:
    model = ChatRouteLLM(strong=fake("one two three"), weak=fake("weak answer"), router=KeywordRouter())
    with collect_runs() as runs:
        await model.ainvoke(HARD)
        chunks = [c async for c in model.astream(EASY)]
        list(model.stream(HARD))
    assert "".join(c.content for c in chunks) == "weak answer"
    roots = runs.traced_runs
    assert [r.name for r in roots] == ["ChatRouteLLM"] * 3
    served = [output_message(r)["response_metadata"]["routellm"]["served_by"] for r in roots]
    assert served == ["strong", "weak", "strong"]
    assert [output_message(r)["content"] for r in roots] == ["one two three", "weak answer", "one two three"]
    assert all(len(r.child_runs) == 1 and r.child_runs[0].name == "GenericFakeChatModel" for r in roots)


def test_generate_opens_one_router_run_per_message_list() -> None:
    recorder = Recorder()
    result = named().generate([[HumanMessage(HARD)], [HumanMessage(EASY)]], callbacks=[recorder])
    assert [g[0].message.content for g in result.generations] == ["strong says hi", "weak says hi"]
    routers = [s for s in recorder.starts if s["name"] == "ChatRouteLLM"]
    children = [s for s in recorder.starts if s["name"] != "ChatRouteLLM"]
    assert len(routers) == 2 and [c["parent_run_id"] for c in children] == [r["run_id"] for r in routers]


# ---- nothing twice -----------------------------------------------------------------------------
def test_token_usage_is_counted_once_on_the_childs_run() -> None:
    model = ChatRouteLLM(strong=with_usage("s", 40), weak=with_usage("w", 7), router=KeywordRouter())
    with get_usage_metadata_callback() as usage:
        reply = model.invoke(HARD)
        model.invoke(EASY)
    assert reply.usage_metadata["input_tokens"] == 40  # the caller still gets the usage
    assert {name: u["input_tokens"] for name, u in usage.usage_metadata.items()} == {"model-s": 40, "model-w": 7}
    with collect_runs() as runs:
        model.invoke(HARD)
    root = root_of(runs)
    assert output_message(root).get("usage_metadata") is None
    assert output_message(root.child_runs[0])["usage_metadata"]["input_tokens"] == 40


class RecordingLangSmithTracer(LangChainTracer):
    """LangChain's LangSmith tracer, its own run processing intact, recording runs instead of posting
    them (in a class-level dict: LangChain makes copies of a tracer as runs nest)."""

    ended: ClassVar[dict[str, Any]] = {}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("client", Client(api_url="http://127.0.0.1:9", api_key="test-key", auto_batch_tracing=False))
        kwargs.setdefault("project_name", "routellm-tests")
        super().__init__(**kwargs)

    def _persist_run_single(self, run: Any) -> None:
        pass

    def _update_run_single(self, run: Any) -> None:  # type: ignore[override]
        self.ended[run.name] = run


def test_langsmith_sees_the_router_run_and_counts_usage_on_the_child_only() -> None:
    RecordingLangSmithTracer.ended.clear()
    tracer = RecordingLangSmithTracer()
    model = ChatRouteLLM(strong=with_usage("s", 40), weak=with_usage("w", 7), router=KeywordRouter())
    model.invoke(HARD, config={"callbacks": [tracer]})
    router_run, child_run = tracer.ended["ChatRouteLLM"], tracer.ended["GenericFakeChatModel"]
    assert child_run.parent_run_id == router_run.id and router_run.run_type == "llm"
    assert router_run.extra["metadata"]["routellm"]["served_by"] == "strong"
    assert "usage_metadata" not in router_run.extra["metadata"]  # LangSmith rolls child usage up itself
    assert child_run.extra["metadata"]["usage_metadata"]["input_tokens"] == 40


async def test_astream_events_report_each_token_once_from_the_childs_run() -> None:
    model = ChatRouteLLM(strong=fake("strong answer"), weak=fake("small reply here"), router=KeywordRouter())
    for runnable, question in ((model, EASY), (ChatPromptTemplate.from_messages([("human", "{q}")]) | model, {"q": EASY})):
        events = [e async for e in runnable.astream_events(question, version="v2")]
        starts = [e["name"] for e in events if e["event"] == "on_chat_model_start"]
        assert starts == ["ChatRouteLLM", "GenericFakeChatModel"]
        streamed = [e for e in events if e["event"] == "on_chat_model_stream"]
        assert "".join(e["data"]["chunk"].content for e in streamed) == "small reply here"
        assert {e["name"] for e in streamed} == {"GenericFakeChatModel"}
        ends = [e for e in events if e["event"] == "on_chat_model_end"]
        assert ends[-1]["name"] == "ChatRouteLLM" and ends[-1]["data"]["output"].content == "small reply here"
        assert all(e["metadata"]["routellm"]["served_by"] == "weak" for e in events if e["event"].startswith("on_chat_model"))


async def test_a_child_that_cannot_stream_still_gives_the_event_stream_its_reply() -> None:
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel

    model = ChatRouteLLM(strong=FakeMessagesListChatModel(responses=[AIMessage("whole reply")]), weak=fake("w"), router=KeywordRouter())
    events = [e async for e in model.astream_events(HARD, version="v2")]
    streamed = [e["data"]["chunk"].content for e in events if e["event"] == "on_chat_model_stream"]
    assert streamed == ["whole reply"]


# ---- failures in the trace ------------------------------------------------------------------------
def test_failover_shows_both_child_runs_under_one_router_run() -> None:
    with collect_runs() as runs:
        named(strong=Failing(status_code=503), failover=True).invoke(HARD)
    root = root_of(runs)
    assert root.extra["metadata"]["routellm"]["served_by"] == "strong"  # the decision, as made
    final = output_message(root)["response_metadata"]["routellm"]
    assert final["served_by"] == "weak" and final["child_fallback"] is True
    assert final["errors"] == [{"model": "strong", "error": "ProviderError", "status_code": 503}]
    failed, served = sorted(root.child_runs, key=lambda r: r.start_time)
    assert failed.error and served.error is None and root.error is None


def test_a_failing_call_ends_the_router_run_with_the_error() -> None:
    with collect_runs() as runs, pytest.raises(RuntimeError):
        named(strong=Failing()).invoke(HARD)
    root = root_of(runs)
    assert root.name == "ChatRouteLLM" and "RuntimeError" in root.error and root.child_runs[0].error
