"""ChatRouteLLM: routing, delegation (sync/async/batch/stream/events), metadata, failover and
configuration errors, with LangChain's fake chat models and the real core. Tracing, settings,
sticky sessions and secrets have their own test files."""

from __future__ import annotations

import asyncio
import itertools
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, GenericFakeChatModel
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.rate_limiters import BaseRateLimiter

from langchain_adapter import ChatRouteLLM
from langchain_adapter.testing import ScriptedChatModel
from routellm_plugins import ConfigError, Decision, InvalidThresholdError, RoutingController, UnknownRouterError
from test_langchain_fakes import EASY, HARD, BrokenRouter, Failing, FlakyOnce, KeywordRouter, Recorder, SlowRouter, fake, routed


class Ticker(BaseChatModel):
    """Streams words and records when each was produced, to prove chunks arrive as produced."""

    produced: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "ticker"

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="a b c"))])

    def _stream(
        self, messages: Any, stop: Any = None, run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        for word in ("a", "b", "c"):
            self.produced.append(word)
            yield ChatGenerationChunk(message=AIMessageChunk(content=word))


class AsyncOnly(FakeMessagesListChatModel):
    """Answers differently on the async path, proving ainvoke reaches the child's async code."""

    async def _agenerate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        await asyncio.sleep(0)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content="async path"))])


# ---- routing -------------------------------------------------------------------------
def test_routes_hard_prompt_to_strong_and_easy_prompt_to_weak() -> None:
    model = routed()
    hard, easy = model.invoke(HARD), model.invoke(EASY)
    assert (hard.content, easy.content) == ("strong answer", "weak answer")
    meta = hard.response_metadata["routellm"]
    assert meta["model"] == meta["served_by"] == "strong"
    assert meta["score"] == pytest.approx(0.9) and meta["threshold"] == 0.5 and meta["router"] == "keyword"
    assert meta["fallback"] is False and meta["child_fallback"] is False and meta["errors"] == []
    assert easy.response_metadata["routellm"]["model"] == "weak"


def test_threshold_and_strong_share_move_the_cut() -> None:
    always_strong = routed(threshold=0.05)
    always_weak = routed(threshold=0.95)
    assert always_strong.invoke(EASY).content == "strong answer"
    assert always_weak.invoke(HARD).content == "weak answer"
    random_all_strong = routed(router={"router": "random", "seed": 0}, strong_share=1.0)
    assert {random_all_strong.invoke(f"q{i}").content for i in range(5)} == {"strong answer"}


def test_routes_on_the_last_user_message_by_default_and_on_conversation_when_asked() -> None:
    dialogue = [HumanMessage(HARD), AIMessage("Euclid's argument..."), HumanMessage("thanks!")]
    assert routed().invoke(dialogue).response_metadata["routellm"]["model"] == "weak"
    assert routed(route_on="conversation").invoke(dialogue).response_metadata["routellm"]["model"] == "strong"
    assert routed(route_on=lambda msgs: msgs[0].content).invoke(dialogue).content == "strong answer"


def test_content_part_lists_route_on_their_text_parts() -> None:
    parts = [{"type": "text", "text": HARD}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    assert routed().invoke([HumanMessage(content=parts)]).content == "strong answer"


def test_decide_reports_the_decision_without_calling_a_child() -> None:
    model = routed()
    decision = model.decide(HARD)
    assert isinstance(decision, Decision) and decision.model == "strong"


# ---- delegation: async, batch, stream, events ------------------------------------------
def test_invoke_passes_stop_kwargs_and_model_defaults_to_the_child() -> None:
    strong = ScriptedChatModel(model="big", replies=["s"])
    weak = ScriptedChatModel(model="small", replies=["w"])
    model = ChatRouteLLM(strong=strong, weak=weak, router=KeywordRouter(), temperature=0.2, max_tokens=7, stop=["DEFAULT"])
    model.invoke(HARD, stop=["END"], seed=42)
    call = strong.calls[-1]
    assert call["stop"] == ["END"] and call["kwargs"]["seed"] == 42
    assert call["kwargs"]["temperature"] == 0.2 and call["kwargs"]["max_tokens"] == 7
    model.invoke(EASY)
    assert weak.calls[-1]["stop"] == ["DEFAULT"] and not strong.calls[1:]


async def test_ainvoke_is_async_all_the_way() -> None:
    strong = AsyncOnly(responses=[AIMessage("sync path")])
    model = ChatRouteLLM(strong=strong, weak=fake("weak answer"), router=KeywordRouter())
    controller = model.routing_controller
    seen: list[str] = []
    original = controller.adecide

    async def spy(text: Any, session_id: Any = None) -> Decision:
        seen.append(text)
        return await original(text, session_id)

    controller.adecide = spy  # type: ignore[method-assign]
    out = await model.ainvoke(HARD)
    assert out.content == "async path" and seen == [HARD]
    assert out.response_metadata["routellm"]["served_by"] == "strong"


def test_batch_routes_each_input_on_its_own() -> None:
    out = routed().batch([HARD, EASY, HARD])
    assert [m.content for m in out] == ["strong answer", "weak answer", "strong answer"]


async def test_abatch_routes_each_input_on_its_own() -> None:
    out = await routed().abatch([EASY, HARD])
    assert [m.content for m in out] == ["weak answer", "strong answer"]


def test_stream_yields_the_childs_chunks_in_order_with_the_decision_first() -> None:
    model = ChatRouteLLM(strong=fake("one two three"), weak=fake("weak answer"), router=KeywordRouter())
    chunks = list(model.stream(HARD))
    assert [c.content for c in chunks] == ["one", " ", "two", " ", "three"]
    assert chunks[0].response_metadata["routellm"]["served_by"] == "strong"
    merged = chunks[0]
    for c in chunks[1:]:
        merged = merged + c
    assert merged.content == "one two three" and merged.response_metadata["routellm"]["model"] == "strong"


def test_stream_really_streams() -> None:
    ticker = Ticker(produced=[])
    model = ChatRouteLLM(strong=ticker, weak=fake("weak"), router=KeywordRouter())
    stream = model.stream(HARD)
    first = next(stream)
    assert first.content == "a" and ticker.produced == ["a"]  # the child has produced only what we got
    assert [c.content for c in stream] == ["b", "c", ""] and ticker.produced == ["a", "b", "c"]


async def test_astream_really_streams() -> None:
    ticker = Ticker(produced=[])
    model = ChatRouteLLM(strong=ticker, weak=fake("weak"), router=KeywordRouter())
    got: list[tuple[str, int]] = []
    async for chunk in model.astream(HARD):
        got.append((chunk.content, len(ticker.produced)))
    assert got[:3] == [("a", 1), ("b", 2), ("c", 3)]


async def test_astream_events_come_from_the_chosen_child_run() -> None:
    model = ChatRouteLLM(strong=fake("strong answer"), weak=fake("small reply here"), router=KeywordRouter())
    events = [e async for e in model.astream_events(EASY, version="v2")]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "on_chat_model_start" and kinds[-1] == "on_chat_model_end"
    tokens = [e["data"]["chunk"].content for e in events if e["event"] == "on_chat_model_stream"]
    assert "".join(tokens) == "small reply here"
    assert all(e["metadata"]["routellm"]["served_by"] == "weak" for e in events)


def test_stream_events_v3_is_the_chosen_childs_stream() -> None:
    model = ChatRouteLLM(strong=fake("strong answer"), weak=fake("weak answer"), router=KeywordRouter())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # v3 is a LangChain beta API and may say so
        stream = model.stream_events(HARD, version="v3")
        assert list(stream.text) == ["strong", " ", "answer"]


def test_streaming_true_makes_invoke_stream_from_the_child() -> None:
    recorder = Recorder()
    model = ChatRouteLLM(strong=fake("x y z"), weak=fake("w"), router=KeywordRouter(), streaming=True)
    out = model.invoke(HARD, config={"callbacks": [recorder]})
    assert out.content == "x y z" and isinstance(out, AIMessage) and not isinstance(out, AIMessageChunk)
    assert [t for t, _ in recorder.tokens][:5] == ["x", " ", "y", " ", "z"]
    assert len({run for _, run in recorder.tokens}) == 1  # each token once, from the child's run
    assert out.response_metadata["routellm"]["served_by"] == "strong"


def test_disable_streaming_answers_stream_in_one_piece() -> None:
    model = ChatRouteLLM(strong=fake("x y z"), weak=fake("w"), router=KeywordRouter(), disable_streaming=True)
    chunks = list(model.stream(HARD))
    assert len(chunks) == 1 and chunks[0].content == "x y z"


def test_rate_limiter_is_acquired_per_call() -> None:
    class Counting(BaseRateLimiter):
        n: int = 0

        def acquire(self, *, blocking: bool = True) -> bool:
            Counting.n += 1
            return True

        async def aacquire(self, *, blocking: bool = True) -> bool:
            Counting.n += 1
            return True

    model = routed(rate_limiter=Counting())
    model.invoke(HARD)
    list(model.stream(EASY))
    assert Counting.n == 2


# ---- fallbacks ----------------------------------------------------------------------------
def test_no_user_text_is_answered_by_the_fallback_child_and_flagged() -> None:
    model = routed(fallback="weak")
    out = model.invoke([SystemMessage("You are terse.")])
    meta = out.response_metadata["routellm"]
    assert out.content == "weak answer" and meta["fallback"] is True and meta["score"] is None
    assert "empty" in meta["reason"]
    image_only = [HumanMessage(content=[{"type": "image_url", "image_url": {"url": "http://x/y.png"}}])]
    assert model.invoke(image_only).response_metadata["routellm"]["fallback"] is True


def test_router_failure_is_answered_by_the_fallback_child_and_flagged() -> None:
    out = routed(router=BrokenRouter(threshold=0.5)).invoke(EASY)
    meta = out.response_metadata["routellm"]
    assert out.content == "strong answer" and meta["fallback"] is True and "RuntimeError" in meta["reason"]


def test_routing_timeout_is_answered_by_the_fallback_child() -> None:
    out = routed(router=SlowRouter(), timeout_s=0.02, fallback="weak").invoke(HARD)
    meta = out.response_metadata["routellm"]
    assert out.content == "weak answer" and meta["fallback"] is True and "timeout" in meta["reason"]


def test_a_raising_route_on_callable_falls_back_instead_of_failing() -> None:
    def bad(messages: Any) -> str:
        raise KeyError("no such field")

    meta = routed(route_on=bad).invoke(HARD).response_metadata["routellm"]
    assert meta["fallback"] is True and meta["reason"] == "route_on raised KeyError"  # the type, never the text


def test_failing_child_raises_unless_failover() -> None:
    with pytest.raises(RuntimeError, match="provider is down"):
        routed(strong=Failing()).invoke(HARD)
    out = routed(strong=Failing(status_code=503), failover=True).invoke(HARD)
    meta = out.response_metadata["routellm"]
    assert out.content == "weak answer" and meta["model"] == "strong" and meta["served_by"] == "weak"
    assert meta["child_fallback"] is True
    assert meta["errors"] == [{"model": "strong", "error": "ProviderError", "status_code": 503}]


async def test_failing_child_falls_back_on_the_async_and_streaming_paths() -> None:
    model = routed(strong=Failing(), failover=True)
    assert (await model.ainvoke(HARD)).content == "weak answer"
    chunks = [c async for c in model.astream(HARD)]
    assert "".join(c.content for c in chunks) == "weak answer"
    assert chunks[0].response_metadata["routellm"]["child_fallback"] is True
    assert "".join(c.content for c in model.stream(HARD)) == "weak answer"


def test_both_children_failing_raises_the_last_error() -> None:
    with pytest.raises(RuntimeError, match="provider is down"):
        routed(strong=Failing(), weak=Failing(), failover=True).invoke(HARD)


def test_max_retries_retries_the_chosen_child_first() -> None:
    flaky = FlakyOnce(responses=[AIMessage("recovered")])
    out = routed(strong=flaky, max_retries=1).invoke(HARD)
    meta = out.response_metadata["routellm"]
    assert out.content == "recovered" and meta["served_by"] == "strong"
    assert meta["errors"] == [{"model": "strong", "error": "RuntimeError", "status_code": None}]


def test_langchain_with_fallbacks_works_around_the_router() -> None:
    guarded = routed(strong=Failing(), weak=Failing()).with_fallbacks([fake("backup answer")])
    assert guarded.invoke(HARD).content == "backup answer"


# ---- configuration errors -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"router": "no-such-router"}, UnknownRouterError, "no-such-router"),
        ({"router": "router-mf-abc"}, UnknownRouterError, "router-mf-abc"),
        ({"weak": None}, ConfigError, r"missing child model\(s\) \['weak'\]"),
        ({"strong": "openai:gpt-4o"}, ConfigError, "child 'strong' must be a LangChain BaseChatModel.*openai:gpt-4o"),
        ({"weak": object()}, ConfigError, "child 'weak' must be a LangChain BaseChatModel"),
        ({"threshold": 1.5}, InvalidThresholdError, "1.5"),
        ({"threshold": "high"}, InvalidThresholdError, "high"),
        ({"strong_share": -0.1}, InvalidThresholdError, "-0.1"),
        ({"strng": fake("x")}, ConfigError, "strng"),
        ({"fallback": "backup"}, ConfigError, "fallback .*'backup'"),
        ({"route_on": "first_message"}, ConfigError, "first_message"),
        ({"max_retries": -1}, ConfigError, "-1"),
        ({"failover": "yes"}, ConfigError, "failover must be true or false"),
        ({"session_keys": "thread_id"}, ConfigError, "thread_id"),
        ({"cache": True}, ConfigError, "cache"),
        ({"controller": "mf"}, ConfigError, "controller must be"),
        ({"controller": RoutingController(KeywordRouter())}, ConfigError, r"drop \['router'\]"),
    ],
)
def test_bad_configuration_raises_a_clear_error(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        routed(**kwargs)


def test_pool_children_must_match_the_controller_keys() -> None:
    pool = ChatRouteLLM(models={"strong": fake("S"), "weak": fake("W")}, router=KeywordRouter())
    assert pool.invoke(HARD).content == "S" and set(pool.children) == {"strong", "weak"}
    with pytest.raises(ConfigError, match=r"no child is given for \['strong', 'weak'\]"):
        ChatRouteLLM(models={"gpt-4o": fake("a"), "mini": fake("b")}, router=KeywordRouter())
    with pytest.raises(ConfigError, match=r"children \['extra'\] can never be chosen"):
        ChatRouteLLM(models={"strong": fake("S"), "weak": fake("W"), "extra": fake("E")}, router=KeywordRouter())
    with pytest.raises(ConfigError, match="not both"):
        ChatRouteLLM(models={"strong": fake("S"), "weak": fake("W")}, strong=fake("S"), router=KeywordRouter())


# ---- small pieces ---------------------------------------------------------------------------
def test_profile_is_what_every_child_can_do() -> None:
    strong = ScriptedChatModel(profile={"tool_calling": True, "image_inputs": True, "max_input_tokens": 128_000})
    weak = ScriptedChatModel(profile={"tool_calling": True, "image_inputs": False, "max_input_tokens": 32_000})
    model = ChatRouteLLM(strong=strong, weak=weak, router=KeywordRouter())
    assert model.profile == {"tool_calling": True, "image_inputs": False, "max_input_tokens": 32_000}
    assert routed().profile is None  # a child without a profile: nothing is promised


def test_fast_decision_dict_matches_the_core_to_dict() -> None:
    from langchain_adapter.context import decision_dict

    decision = KeywordRouter().route(HARD)
    assert decision_dict(decision) == decision.to_dict()


GPT4, GPT35, YI = "gpt-4-1106-preview", "gpt-3.5-turbo-1106", "zero-one-ai/Yi-34B-Chat"
POOL = {GPT4: 6.0e-3, GPT35: 4.7e-4, YI: 3.6e-4}


def test_the_bundled_pool_router_routes_among_named_children() -> None:
    """Real UniRoute pool routing: cost weight 0 picks the best model, a huge one the cheapest."""
    children = {GPT4: fake("big"), GPT35: fake("medium"), YI: fake("tiny")}
    best = ChatRouteLLM(models=children, pool=POOL, lam=0.0)
    cheapest = ChatRouteLLM(models=children, pool=POOL, lam=1e6)
    question = "Which gas do plants take in for photosynthesis? (A) oxygen (B) carbon dioxide (C) helium"
    out = best.invoke(question)
    assert out.content == "big" and out.response_metadata["routellm"]["served_by"] == GPT4
    assert {c["model"] for c in out.response_metadata["routellm"]["candidates"]} == set(POOL)
    assert cheapest.invoke(question).content == "tiny"
    assert best.invoke([SystemMessage("no user text")]).response_metadata["routellm"]["fallback"] is True
    with pytest.raises(ConfigError, match=r"no child is given for \['zero-one-ai/Yi-34B-Chat'\]"):
        ChatRouteLLM(models={GPT4: fake("big"), GPT35: fake("medium")}, pool=POOL, lam=0.0)


def test_pool_settings_reach_the_core() -> None:
    children = {"gpt-4o": fake("big"), "mini": fake("small")}
    with pytest.raises(ConfigError, match="pool router"):  # the core refuses pool settings on a two-model router
        ChatRouteLLM(models=children, router="random", pool={"gpt-4o": 5.0, "mini": 0.2}, lam=0.5)


def test_threshold_can_be_a_configurable_field_per_request() -> None:
    from langchain_core.runnables import ConfigurableField

    model = routed(threshold=0.95).configurable_fields(threshold=ConfigurableField(id="routing_threshold"))
    assert model.invoke(HARD).content == "weak answer"
    assert model.invoke(HARD, config={"configurable": {"routing_threshold": 0.5}}).content == "strong answer"


def test_the_bundled_default_router_routes_real_prompts_by_their_score() -> None:
    """The real default router (bundled checkpoint and MiniLM encoder), at its 50 %-share threshold."""
    from routellm_plugins import load_router
    from routellm_plugins.demo import sample_prompts

    prompts = [r["prompt"] for r in sample_prompts()[:40]]
    router = load_router()
    scores = router.score(prompts)
    high, low = prompts[int(np.argmax(scores))], prompts[int(np.argmin(scores))]
    llm = ChatRouteLLM(
        strong=GenericFakeChatModel(messages=itertools.repeat(AIMessage("from strong"))),
        weak=GenericFakeChatModel(messages=itertools.repeat(AIMessage("from weak"))),
        strong_share=0.5,
    )
    strong, weak = llm.invoke([HumanMessage(high)]), llm.invoke([HumanMessage(low)])
    assert strong.content == "from strong" and strong.response_metadata["routellm"]["router"] == router.name
    assert weak.content == "from weak"
    assert strong.response_metadata["routellm"]["score"] == pytest.approx(float(scores.max()), abs=1e-6)
