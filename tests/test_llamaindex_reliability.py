"""Unscorable requests go to the fallback model, flagged; a failing child can fail over, flagged."""

from __future__ import annotations

import time
from typing import Any, List

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llama_index.core.base.llms.types import ChatMessage, ImageBlock, MessageRole, TextBlock

from routellm_plugins import Router
from routellm_plugins.validation import has_visible_text
from llamaindex_adapter import DECISION_KEY, RoutingDecisionLog
from test_llamaindex_fakes import EchoLLM, KeywordRouter, counting_events, make_route_llm, user

HARD = "Prove Fermat's little theorem."
EASY = "Say hi."


@pytest.mark.parametrize(
    "messages",
    [
        [],
        user(""),
        user("   \n"),
        [ChatMessage(role=MessageRole.USER, blocks=[ImageBlock(url="http://example.invalid/cat.png")])],
        [ChatMessage(role=MessageRole.SYSTEM, content="system only")],
    ],
    ids=["no-messages", "empty", "whitespace", "image-only", "no-user-message"],
)
def test_unscorable_requests_are_answered_by_the_fallback_child_and_flagged(messages: List[ChatMessage]) -> None:
    llm = make_route_llm(fallback="weak")
    resp = llm.chat(messages)
    tag = resp.additional_kwargs[DECISION_KEY]
    assert tag["model"] == "weak" and tag["fallback"] is True and tag["reason"]
    assert resp.message.content.startswith("[weak]")


def test_a_router_that_raises_falls_back_flagged() -> None:
    llm = make_route_llm(router=KeywordRouter(explode_on="boom"))
    tag = llm.complete("boom: prove it").additional_kwargs[DECISION_KEY]
    assert tag["model"] == "strong" and tag["fallback"] is True and tag["reason"] == "scoring failed: RuntimeError"


class _SlowRouter(Router):
    name = "slow"

    def _score(self, prompts: List[str]) -> np.ndarray:
        time.sleep(0.3)
        return np.zeros(len(prompts))


async def test_a_router_slower_than_timeout_falls_back_flagged() -> None:
    llm = make_route_llm(router=_SlowRouter(threshold=0.5), timeout_s=0.01, fallback="weak")
    tag = (await llm.acomplete(HARD)).additional_kwargs[DECISION_KEY]
    assert tag["model"] == "weak" and tag["fallback"] is True and "timeout" in tag["reason"].lower()


# ---- failover when the chosen child fails ---------------------------------------------------
def _failing_strong(mode: str = "call", **kwargs: Any) -> Any:
    return make_route_llm(EchoLLM(name="strong", fail=mode), EchoLLM(name="weak"), **kwargs)


def test_without_failover_the_childs_error_propagates_unchanged() -> None:
    llm = _failing_strong()
    with pytest.raises(RuntimeError, match="strong is down"):
        llm.chat(user(HARD))
    assert llm.models["weak"].calls == []


@pytest.mark.parametrize("entry", ["chat", "complete", "stream_chat", "stream_complete", "predict"])
def test_failover_answers_with_the_other_child_flagged(entry: str) -> None:
    from llama_index.core.prompts import PromptTemplate

    llm = _failing_strong(failover=True)
    log = RoutingDecisionLog.attach()
    try:
        if entry == "chat":
            out = [llm.chat(user(HARD))]
        elif entry == "complete":
            out = [llm.complete(HARD)]
        elif entry == "stream_chat":
            out = list(llm.stream_chat(user(HARD)))
        elif entry == "stream_complete":
            out = list(llm.stream_complete(HARD))
        else:
            text = llm.predict(PromptTemplate("{query_str}"), query_str=HARD)
            assert text.startswith("[weak]")
            out = []
    finally:
        log.detach()
    for item in out:
        tag = item.additional_kwargs[DECISION_KEY]
        assert tag["model"] == "weak" and tag["fallback"] is True and "strong" in tag["reason"]
    assert [e.failover_from for e in log.events] == [None, "strong"]
    assert log.models == ["strong", "weak"]


@pytest.mark.parametrize("mode", ["call", "first"])
async def test_async_failover_covers_calls_and_streams_failing_before_their_first_chunk(mode: str) -> None:
    llm = _failing_strong(mode, failover=True)
    resp = await llm.achat(user(HARD))
    assert resp.additional_kwargs[DECISION_KEY]["model"] == "weak"
    chunks = [c async for c in await llm.astream_complete(HARD)]
    assert chunks[0].delta == "[weak]" and all(c.additional_kwargs[DECISION_KEY]["fallback"] for c in chunks)


def test_stream_failing_before_first_chunk_fails_over_lazily() -> None:
    llm = _failing_strong("first", failover=True)
    stream = llm.stream_complete(HARD)
    assert llm.models["weak"].calls == []  # nothing switched until the stream is read
    assert next(stream).delta == "[weak]"


def test_a_stream_that_breaks_after_its_first_chunk_is_not_retried() -> None:
    llm = _failing_strong("middle", failover=True)
    stream = llm.stream_complete(HARD)
    assert next(stream).delta == "[strong]"
    with pytest.raises(RuntimeError, match="mid-stream"):
        next(stream)
    assert llm.models["weak"].calls == []


def test_when_both_children_fail_the_fallbacks_error_propagates() -> None:
    llm = make_route_llm(EchoLLM(name="strong", fail="call"), EchoLLM(name="weak", fail="call"), failover=True)
    with counting_events() as seen:
        with pytest.raises(RuntimeError, match="weak is down"):
            llm.chat(user(HARD))
    assert seen.counts["RoutingDecisionEvent"] == 2


def test_failover_goes_to_the_configured_fallback_from_the_other_side() -> None:
    llm = make_route_llm(EchoLLM(name="strong"), EchoLLM(name="weak", fail="call"), failover=True)
    tag = llm.complete(EASY).additional_kwargs[DECISION_KEY]
    assert tag["model"] == "strong" and tag["fallback"] is True and tag["reason"].startswith("model 'weak' failed")


# ---- arbitrary message content ----------------------------------------------------------------
_text = st.text(max_size=40)
_block = st.one_of(
    _text.map(lambda t: TextBlock(text=t)),
    st.just(ImageBlock(url="http://example.invalid/x.png")),
)
_message = st.builds(
    lambda role, content: ChatMessage(role=role, blocks=content) if isinstance(content, list) else ChatMessage(role=role, content=content),
    st.sampled_from([MessageRole.USER, MessageRole.SYSTEM, MessageRole.ASSISTANT, MessageRole.TOOL]),
    st.one_of(_text, st.lists(_block, max_size=3), st.none()),
)
_PROPERTY_LLM = make_route_llm(router=KeywordRouter(), fallback="weak")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_message, max_size=4))
def test_any_message_content_gets_a_tagged_answer_or_a_documented_error(messages: List[ChatMessage]) -> None:
    """Routing never raises: every request is answered, flagged as fallback when its user text is unscorable."""
    resp = _PROPERTY_LLM.chat(messages)
    tag = resp.additional_kwargs[DECISION_KEY]
    assert tag["model"] in ("strong", "weak")
    user_texts = [m for m in messages if m.role == MessageRole.USER]
    last = user_texts[-1].content if user_texts else None
    if not (last and has_visible_text(last)):
        assert tag["fallback"] is True and tag["model"] == "weak"
    else:
        assert tag["fallback"] is False


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=200))
def test_any_prompt_text_is_answered_and_query_extraction_never_invents_text(prompt: str) -> None:
    from llamaindex_adapter import extract_query

    query = extract_query(prompt)
    assert query is None or (query.strip() and query in prompt)
    tag = _PROPERTY_LLM.complete(prompt).additional_kwargs[DECISION_KEY]
    routed = query if query is not None else prompt
    assert tag["fallback"] is (not has_visible_text(routed))
