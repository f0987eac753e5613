"""Issue 15 (item 2) for the LangChain adapter: a failing child's exception text (which may quote
the prompt or an API key) never reaches a log record or the response metadata; config errors
never echo values of secret-like keys and cut other values short.

Canary prompt and key; a fake provider whose errors quote both verbatim, upper-cased and
JSON-escaped; every log record of every logger captured at DEBUG."""

from __future__ import annotations

import json
import logging
import re
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tracers.context import collect_runs

from langchain_adapter import ChatRouteLLM
from langchain_adapter.testing import ScriptedChatModel
from routellm_plugins import ConfigError, load_router
from test_langchain_fakes import Quoting

PROMPT_CANARY = "otter-91c3e5-private"
PROMPT = f'Review the "contract" for {PROMPT_CANARY} and list its risks, step by step.'
API_KEY = "sk-live-CANARY-4b7f9e21d0c3"
CANARIES = (PROMPT_CANARY, API_KEY)


def squash(text: str) -> str:
    """Lower-case letters and digits only: a quote survives upper-casing, escaping and re-quoting."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def leaks(text: str) -> list[str]:
    return [c for c in CANARIES if squash(c) in squash(text)]


class KeyedChat(ScriptedChatModel):
    """A scripted child that holds an API key in its settings, as provider chat models do."""

    api_key: str = ""


class Everything(logging.Handler):
    """Keeps every record of every logger, formatted, with its attributes and exception text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = logging.Formatter("%(name)s %(levelname)s %(message)s").format(record)
        except Exception as exc:  # noqa: BLE001 - an unformattable record is kept as its raw parts
            text = f"unformattable {exc!r}"
        self.texts.append(f"{text} {record.__dict__!r}")


@pytest.fixture()
def all_logs() -> Iterator[Everything]:
    """Every logger at DEBUG, including those that do not propagate to the root."""
    handler = Everything()
    loggers = [logging.getLogger()] + [lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        if lg is logging.getLogger() or not lg.propagate:
            lg.addHandler(handler)
    try:
        yield handler
    finally:
        for lg, level in saved:
            lg.setLevel(level)
            lg.removeHandler(handler)


@pytest.fixture(scope="module")
def default_router() -> Any:
    return load_router()


def failing_over(router: Any, **kwargs: Any) -> ChatRouteLLM:
    """The strong child fails quoting the prompt and its key; threshold 0 sends everything strong."""
    return ChatRouteLLM(strong=Quoting(api_key=API_KEY), weak=KeyedChat(model="small", api_key=API_KEY, replies=["weak answer"]),
                        router=router, threshold=0.0, failover=True, **kwargs)


async def test_a_failing_childs_error_text_reaches_no_log_and_no_metadata(all_logs: Everything, default_router: Any) -> None:
    model = failing_over(default_router, max_retries=1)
    messages = [SystemMessage("be brief"), HumanMessage(PROMPT)]
    with collect_runs() as runs:
        replies = [
            model.invoke(messages, api_key=API_KEY),
            await model.ainvoke(messages, api_key=API_KEY),
            model._merge(list(model.stream(messages, api_key=API_KEY))),
            model._merge([c async for c in model.astream(messages, api_key=API_KEY)]),
        ]
    for reply in replies:
        meta = reply.response_metadata["routellm"]
        assert reply.content == "weak answer" and meta["model"] == "strong" and meta["served_by"] == "weak"
        assert meta["errors"] == [{"model": "strong", "error": "ProviderError", "status_code": 400}] * 2
        assert leaks(json.dumps(reply.model_dump(), default=str)) == []
    assert any("ProviderError (status 400)" in t for t in all_logs.texts)  # the failure is logged, by type
    assert [t for t in all_logs.texts if leaks(t)] == []
    for root in runs.traced_runs:  # the router's own run: decision and outputs hold no quote either
        assert leaks(json.dumps(root.extra["metadata"], default=str)) == []
        assert leaks(json.dumps(root.outputs, default=str)) == []
        assert leaks(json.dumps(root.extra.get("invocation_params", {}), default=str)) == []


def test_when_every_child_fails_only_the_caller_gets_the_error(all_logs: Everything, default_router: Any) -> None:
    model = ChatRouteLLM(strong=Quoting(api_key=API_KEY), weak=Quoting(api_key=API_KEY), router=default_router, failover=True)
    with pytest.raises(Exception, match="contract"):  # the caller's own exception is untouched
        model.invoke(PROMPT)
    assert [t for t in all_logs.texts if leaks(t)] == []


def test_router_and_route_on_failures_quoting_the_prompt_stay_out_of_logs_and_metadata(all_logs: Everything) -> None:
    def leaky_embedder(texts: Any) -> Any:
        raise ValueError(f"cannot embed {texts[0].upper()!r} with key {API_KEY}")

    def leaky_route_on(messages: Any) -> str:
        raise KeyError(f"no field in {json.dumps(messages[-1].content)}")

    broken = ChatRouteLLM(strong=KeyedChat(api_key=API_KEY, replies=["S"]), weak=KeyedChat(replies=["W"]),
                          threshold=0.5, embedder=leaky_embedder)  # the default router, encoding with a leaky embedder
    picky = ChatRouteLLM(strong=KeyedChat(replies=["S"]), weak=KeyedChat(replies=["W"]), router="random", threshold=0.5,
                         route_on=leaky_route_on)
    for model in (broken, picky):
        meta = model.invoke([HumanMessage(PROMPT)]).response_metadata["routellm"]
        assert meta["fallback"] is True and meta["reason"] and leaks(json.dumps(meta)) == []
    assert [t for t in all_logs.texts if leaks(t)] == []


# ---- configuration errors ---------------------------------------------------------------------------
def message_and_traceback(exc: BaseException) -> str:
    return str(exc) + "".join(traceback.format_exception(exc))


def test_a_child_spec_given_as_a_dict_is_refused_without_its_key() -> None:
    with pytest.raises(ConfigError, match="child 'strong' must be a LangChain BaseChatModel") as caught:
        ChatRouteLLM(strong={"model": "gpt-4o", "api_key": API_KEY}, weak=KeyedChat(), router="random", threshold=0.5)
    assert "<redacted" in str(caught.value) and leaks(message_and_traceback(caught.value)) == []


def test_init_chat_model_errors_that_quote_the_key_are_withheld() -> None:
    def quoting_init(**spec: Any) -> Any:
        raise ValueError(f"1 validation error for ChatOpenAI\napi_key\n  input_value={json.dumps(spec['api_key'].upper())}")

    spec = {"model": "gpt-4o", "model_provider": "openai", "api_key": API_KEY, "temperature": 0}
    with pytest.raises(ConfigError, match=r"cannot build child 'strong'.*ValueError \(message withheld") as caught:
        ChatRouteLLM.from_config({"strong": spec, "weak": "openai:gpt-4o-mini", "router": "random"}, init_model=quoting_init)
    assert caught.value.__cause__ is None and leaks(message_and_traceback(caught.value)) == []


def test_a_real_init_chat_model_error_keeps_its_useful_text_but_not_the_key() -> None:
    spec = {"model": "some-model", "model_provider": "nosuchprovider", "api_key": API_KEY}
    with pytest.raises(ConfigError, match="cannot build child 'strong'.*nosuchprovider") as caught:
        ChatRouteLLM.from_config({"strong": spec, "weak": spec, "router": "random", "threshold": 0.5})
    assert "<redacted" in str(caught.value) and leaks(message_and_traceback(caught.value)) == []


@pytest.mark.parametrize("settings", [{"api_key": API_KEY}, {"openai_api_key": API_KEY, "threshold": 0.5}])
def test_unknown_settings_are_named_without_their_values(settings: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="unknown ChatRouteLLM settings") as caught:
        ChatRouteLLM(strong=KeyedChat(), weak=KeyedChat(), router="random", **settings)
    assert leaks(message_and_traceback(caught.value)) == []
    with pytest.raises(ConfigError, match="unknown ChatRouteLLM config keys") as caught:
        ChatRouteLLM.from_config({"strong": KeyedChat(), "weak": KeyedChat(), "router": "random", **settings})
    assert leaks(str(caught.value)) == []


@pytest.mark.parametrize("setting", ["route_on", "session_keys", "max_retries", "failover", "sticky_sessions"])
def test_bad_values_are_shown_cut_short(setting: str) -> None:
    huge = PROMPT_CANARY + "x" * 5000
    with pytest.raises(ConfigError, match=setting) as caught:
        ChatRouteLLM(strong=KeyedChat(), weak=KeyedChat(), router="random", threshold=0.5, **{setting: huge})
    assert len(str(caught.value)) < 400 and "x" * 200 not in str(caught.value)
