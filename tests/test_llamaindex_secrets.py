"""No prompt, provider error text or key reaches a log record, a decision event or a response (issue 15, item 2)."""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, Iterator, List

import numpy as np
import pytest
from llama_index.core.base.llms.types import CompletionResponse
from llama_index.core.llms.callbacks import llm_completion_callback

from routellm_plugins import ConfigError, Router
from llamaindex_adapter import RouteLLM, RoutingDecisionLog
from test_llamaindex_fakes import EchoLLM, KeywordRouter, user

FAKE_KEY = "sk-canary-9f8e7d6c5b4a39281706"
# Non-ASCII, quotes and a newline: JSON escaping changes them, upper-casing changes the rest.
PROMPT = 'Prove the "zébra-quökka" lemma 7731QX for me\nplease.'


def _forms(text: str) -> List[str]:
    """``text`` as a provider error might quote it: verbatim, upper-cased, JSON-escaped, and its distinctive token."""
    return [text, text.upper(), json.dumps(text)[1:-1], json.dumps(text.upper())[1:-1], "7731QX", "quökka", "qu\\u00f6kka"]


CANARIES = _forms(PROMPT) + [FAKE_KEY, FAKE_KEY.upper()]


class ProviderError(Exception):
    """What an SDK raises: a status code, and a message quoting the request and the key."""

    status_code = 429

    def __init__(self, prompt: str) -> None:
        body = {"error": {"message": f"Rate limit for key {FAKE_KEY} on request {prompt!r}", "prompt": prompt.upper()}}
        super().__init__(f"Error code: 429 - {json.dumps(body)} / {prompt.upper()}")


class FailingProvider(EchoLLM):
    """A child whose every call raises a ProviderError quoting the prompt and the key."""

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        raise ProviderError(prompt)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Iterator[CompletionResponse]:
        raise ProviderError(prompt)


class QuotingRouter(Router):
    """A router whose scoring fails with an error quoting the prompt (an embedder error would)."""

    name = "quoting"

    def _score(self, prompts: List[str]) -> np.ndarray:
        raise RuntimeError(f"cannot embed {prompts[0]!r} ({prompts[0].upper()}) with key {FAKE_KEY}")


@pytest.fixture()
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):  # every logger, DEBUG and up
        yield caplog


def _logged_text(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records)  # includes any exc_info traceback


def _assert_clean(text: str, where: str) -> None:
    leaked = [c for c in CANARIES if c.lower() in text.lower()]
    assert leaked == [], f"{where} leaks {leaked}"


@pytest.mark.parametrize("entry", ["chat", "complete", "stream_chat", "stream_complete", "achat"])
async def test_failover_records_the_error_type_and_status_never_its_text(everything_logged, entry: str) -> None:
    llm = RouteLLM(strong=FailingProvider(name="strong"), weak=EchoLLM(name="weak"), router=KeywordRouter(), failover=True)
    log = RoutingDecisionLog.attach()
    try:
        if entry == "chat":
            results: List[Any] = [llm.chat(user(PROMPT))]
        elif entry == "complete":
            results = [llm.complete(PROMPT)]
        elif entry == "stream_chat":
            results = list(llm.stream_chat(user(PROMPT)))
        elif entry == "stream_complete":
            results = list(llm.stream_complete(PROMPT))
        else:
            results = [await llm.achat(user(PROMPT))]
    finally:
        log.detach()
    tags = [RouteLLM.decision_of(r) for r in results]
    assert tags and all(t["model"] == "weak" and t["fallback"] for t in tags)
    assert tags[0]["reason"] == "model 'strong' failed: ProviderError (status 429)"
    assert [e.failover_from for e in log.events] == [None, "strong"]
    assert log.events[1].decision["reason"] == tags[0]["reason"]
    _assert_clean(json.dumps(tags, default=str), "the response tag")
    _assert_clean("\n".join(e.model_dump_json() for e in log.events), "the decision events")
    logged = _logged_text(everything_logged)
    assert "ProviderError (status 429)" in logged  # the failover is logged...
    _assert_clean(logged, "the logs")  # ...without the provider's text


def test_without_failover_the_callers_own_error_propagates_and_nothing_is_logged(everything_logged) -> None:
    llm = RouteLLM(strong=FailingProvider(name="strong"), weak=EchoLLM(name="weak"), router=KeywordRouter())
    with pytest.raises(ProviderError):  # the caller gets the provider's exception unchanged, as without routing
        llm.chat(user(PROMPT))
    _assert_clean(_logged_text(everything_logged), "the logs")


def test_a_scoring_error_quoting_the_prompt_never_reaches_logs_events_or_the_response(everything_logged) -> None:
    strong, weak = EchoLLM(name="strong"), EchoLLM(name="weak")
    llm = RouteLLM(strong=strong, weak=weak, router=QuotingRouter(threshold=0.5), fallback="weak")
    log = RoutingDecisionLog.attach()
    try:
        response = llm.chat(user(PROMPT))
    finally:
        log.detach()
    tag = RouteLLM.decision_of(response)
    assert tag["fallback"] is True and "RuntimeError" in tag["reason"]
    _assert_clean(json.dumps(tag, default=str), "the response tag")
    _assert_clean(log.events[0].model_dump_json(), "the decision event")
    _assert_clean(_logged_text(everything_logged), "the logs")


BAD_CHILD_CONFIGS: List[Dict[str, Any]] = [
    {"class": "llama_index.core.llms.MockLLM", "kwargs": {"max_tokens": FAKE_KEY}},  # pydantic echoes input_value
    {"class": "llama_index.core.llms.MockLLM", "kwargs": {"api_key": FAKE_KEY}},  # unexpected keyword
    {"class": "llama_index.core.llms.MockLLM", "kwargs": FAKE_KEY},  # not a mapping
]


@pytest.mark.parametrize("spec", BAD_CHILD_CONFIGS, ids=["pydantic", "unexpected", "kwargs-not-mapping"])
def test_config_errors_name_the_problem_never_a_secret_value(spec: Dict[str, Any]) -> None:
    config = {"router": "random", "threshold": 0.5, "strong": spec, "weak": {"class": "llama_index.core.llms.MockLLM"}}
    with pytest.raises(ConfigError) as info:
        RouteLLM.from_config(config)
    message = str(info.value)
    assert "'strong'" in message
    assert FAKE_KEY not in message and "input_value" not in message and "sk-canary" not in message
    error = info.value  # the original error (whose text holds the value) is not chained
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_unknown_secret_like_keys_are_named_without_their_values() -> None:
    with pytest.raises(ConfigError) as info:
        RouteLLM.from_config({"router": "random", "threshold": 0.5, "openai_api_key": FAKE_KEY, "strong": {"class": "x.Y"}})
    assert "openai_api_key" in str(info.value) and FAKE_KEY not in str(info.value)
