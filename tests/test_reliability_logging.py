"""Secrets audit: no prompt text and no API key in any log record or in the decision metadata.

Every adapter (and the core controller) serves a request whose prompt holds a unique secret and
whose model settings hold an API key-like string, on the normal path and on both fallback paths
(an embedder that raises and quotes the prompt; a child model that fails). Logging is captured at
the default level (WARNING, every logger) and at DEBUG for this project's own loggers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import litellm
import numpy as np
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from langchain_adapter import ChatRouteLLM
from langchain_adapter.testing import ScriptedChatModel
from litellm_adapter import decision_of, install_routing
from litellm_adapter.decisions import record_headers, record_in_request
from litellm_adapter.proxy import RouteLLMProxyCallback
from llamaindex_adapter import DECISION_KEY, RouteLLM
from routellm_plugins import RoutingController
from test_llamaindex_fakes import EchoLLM

SECRET = "zebra-7f3a9c21-confidential"
PROMPT = f"Summarise the memo about project {SECRET} for the board, keep it short."
API_KEY = "sk-live-9f8e7d6c5b4a3210leakcheckKEY"
OUR_LOGGERS = ("routellm_plugins", "langchain_adapter", "llamaindex_adapter", "litellm_adapter")
OTHER_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")


def leaky_embedder(texts: list[str]) -> np.ndarray:
    """An embedder that fails on the secret prompt with a message quoting it (as careless libraries do)."""
    if any(SECRET in t for t in texts):
        raise ValueError(f"cannot embed text={texts[0]!r}")
    return np.random.default_rng(0).normal(size=(len(texts), 384))


class Collect(logging.Handler):
    """Keeps every record it sees, formatted, with its attributes (args, extras, exception text)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        fmt = logging.Formatter("%(name)s %(levelname)s %(message)s")
        try:
            text = fmt.format(record)
        except Exception as exc:  # noqa: BLE001 - an unformattable record is kept as its raw parts
            text = f"unformattable {exc!r}"
        self.records.append(text + " " + repr(record.__dict__))


@pytest.fixture(params=["default", "debug"])
def logs(request):
    """Capture all logging: root at WARNING ("default"), or also our own loggers at DEBUG ("debug")."""
    handler = Collect()
    root = logging.getLogger()
    targets = [root, *(logging.getLogger(n) for n in OTHER_LOGGERS)]
    saved = {name: logging.getLogger(name).level for name in ("", *OUR_LOGGERS)}
    for lg in targets:
        lg.addHandler(handler)
    root.setLevel(logging.WARNING)
    if request.param == "debug":
        for name in OUR_LOGGERS:
            logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for lg in targets:
            lg.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def assert_clean(*things: Any) -> None:
    for thing in things:
        text = repr(thing)
        assert SECRET not in text, f"prompt text leaked: {text[:400]}"
        assert API_KEY not in text and API_KEY[:20] not in text, f"API key leaked: {text[:400]}"


@pytest.fixture(scope="module")
def mf() -> RoutingController:
    return RoutingController("mf", strong_share=0.5)


@pytest.fixture(scope="module")
def leaky() -> RoutingController:
    return RoutingController("mf", strong_share=0.5, embedder=leaky_embedder)


@pytest.fixture(scope="module")
def always_weak() -> RoutingController:
    return RoutingController("mf", threshold=1.0)


def fell_back(logs: Collect) -> bool:
    return any("fell back" in r or "failed" in r for r in logs.records)


# ---- core ----------------------------------------------------------------------------------
def test_core_controller_logs_and_decisions_hold_no_prompt(logs, mf, leaky):
    ok = mf.decide(PROMPT)
    bad = leaky.decide(PROMPT)
    assert not ok.fallback and bad.fallback and bad.model == "strong"
    assert bad.reason.startswith("scoring failed: ScoringError from ValueError")  # types, never the message (which quotes the prompt)
    assert fell_back(logs)  # the fallback was logged, so the capture works
    assert_clean(logs.records, ok.to_dict(), bad.to_dict(), repr(bad))


class ProviderError(Exception):
    """An SDK-style error: a status code, and a message that quotes the prompt and the key in disguise."""

    status_code = 503


def test_core_reason_names_the_error_type_and_status_never_its_text(logs):
    import json

    def down(texts):
        if any(SECRET in t for t in texts):  # upper-cased and JSON-escaped quotes beat any quote-matching heuristic
            raise ProviderError(f"upstream said: {json.dumps(texts[0].upper())} key={API_KEY}")
        return np.ones((len(texts), 384))

    d = RoutingController("mf", strong_share=0.5, embedder=down).decide(PROMPT)
    assert d.fallback and d.reason.startswith("scoring failed: ScoringError from ProviderError (status 503)")
    assert fell_back(logs)
    assert_clean(logs.records, d.to_dict())
    assert not any(SECRET.upper() in r for r in logs.records)


# ---- LangChain -----------------------------------------------------------------------------
class KeyedChat(ScriptedChatModel):
    """A scripted child that holds an API key in its settings, as provider chat models do."""

    api_key: str = ""


def _raise(messages: Any) -> str:
    raise RuntimeError("upstream 503 from provider")


def test_langchain_adapter_logs_and_metadata_hold_no_prompt_or_key(logs, mf, leaky, always_weak):
    def llm(controller: RoutingController, weak_replies: list[Any]) -> ChatRouteLLM:
        return ChatRouteLLM(strong=KeyedChat(model="big", api_key=API_KEY, replies=["strong says hi"]),
                            weak=KeyedChat(model="small", api_key=API_KEY, replies=weak_replies),
                            controller=controller, fallback_on_error=True)

    msgs = [SystemMessage(content="be brief"), HumanMessage(content=PROMPT)]
    outs = [
        llm(mf, ["weak says hi"]).invoke(msgs, api_key=API_KEY),
        llm(leaky, ["weak says hi"]).invoke(msgs, api_key=API_KEY),
        llm(always_weak, [_raise]).invoke(msgs, api_key=API_KEY),
        asyncio.run(llm(always_weak, [_raise]).ainvoke(msgs, api_key=API_KEY)),
        "".join(str(c.content) for c in llm(leaky, ["weak says hi"]).stream(msgs, api_key=API_KEY)),
    ]
    metas = [o.response_metadata["routellm"] for o in outs[:4]]
    assert metas[1]["fallback"] is True and metas[2]["child_fallback"] is True and metas[2]["served_by"] == "strong"
    assert all("model" in m and "score" in m and "threshold" in m for m in metas)
    assert fell_back(logs)
    assert_clean(logs.records, metas, [o.response_metadata for o in outs[:4]])


# ---- LlamaIndex ----------------------------------------------------------------------------
def test_llamaindex_adapter_logs_and_metadata_hold_no_prompt_or_key(logs, mf, leaky, always_weak):
    def llm(controller: RoutingController, weak_fail: str | None = None) -> RouteLLM:
        return RouteLLM(strong=EchoLLM(name="strong"), weak=EchoLLM(name="weak", fail=weak_fail), controller=controller, failover=True)

    msgs = [ChatMessage(role=MessageRole.SYSTEM, content="be brief"), ChatMessage(role=MessageRole.USER, content=PROMPT)]
    resps = [
        llm(mf).chat(msgs, api_key=API_KEY),
        llm(leaky).chat(msgs, api_key=API_KEY),
        llm(always_weak, "call").chat(msgs, api_key=API_KEY),
        asyncio.run(llm(always_weak, "call").achat(msgs, api_key=API_KEY)),
        llm(leaky).complete(PROMPT, api_key=API_KEY),
    ]
    tags = [r.additional_kwargs[DECISION_KEY] for r in resps]
    assert tags[1]["fallback"] is True and tags[2]["fallback"] is True and tags[2]["model"] == "strong"
    assert all("model" in t and "score" in t and "threshold" in t for t in tags)
    assert fell_back(logs)
    assert_clean(logs.records, tags)


# ---- LiteLLM: SDK strategy and proxy callback ------------------------------------------------
def _model_list(route_info: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    strong_info = {"routellm_model": "strong", **({"routellm": route_info} if route_info else {})}
    return [
        {"model_name": "r", "litellm_params": {"model": "openai/gpt-4o", "api_key": API_KEY, "mock_response": "strong reply"},
         "model_info": strong_info},
        {"model_name": "r", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": API_KEY, "mock_response": "litellm.InternalServerError"},
         "model_info": {"routellm_model": "weak"}},
        {"model_name": "backup", "litellm_params": {"model": "openai/gpt-4o", "api_key": API_KEY, "mock_response": "backup reply"}},
    ]


def _router(route_info: dict[str, Any] | None = None) -> litellm.Router:
    return litellm.Router(model_list=_model_list(route_info), num_retries=0, fallbacks=[{"r": ["backup"]}])


MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": PROMPT}]


def test_litellm_sdk_logs_and_decisions_hold_no_prompt_or_key(logs, mf, leaky, always_weak):
    records = []
    for controller in (mf, leaky, always_weak):
        router = _router()
        install_routing(router, {"r": {"controller": controller}}, track_costs=False)
        resp = router.completion(model="r", messages=MESSAGES)
        aresp = asyncio.run(router.acompletion(model="r", messages=MESSAGES))
        records += [decision_of(resp), decision_of(aresp)]
        assert resp.choices[0].message.content in ("strong reply", "backup reply")
    assert all(r is not None and "model" in r and "score" in r for r in records)
    assert records[2]["fallback"] is True and records[4]["model"] == "weak"  # leaky -> fallback; always_weak -> weak (failed over)
    assert fell_back(logs)
    assert_clean(logs.records, records, [record_headers(r) for r in records])


def test_litellm_proxy_callback_logs_and_headers_hold_no_prompt_or_key(logs):
    outcomes = []
    for info in ({"router": "mf", "strong_share": 0.5}, {"router": "mf", "strong_share": 0.5, "embedder": leaky_embedder},
                 {"router": "mf", "threshold": 1.0}):
        router = _router(info)
        callback = RouteLLMProxyCallback(router=router)
        litellm.callbacks.append(callback)
        try:
            md: dict[str, Any] = {}  # the proxy's request metadata, where the callback records the decision
            resp = asyncio.run(router.acompletion(model="r", messages=MESSAGES, metadata=md))
            headers = asyncio.run(callback.async_post_call_response_headers_hook({"metadata": md}, None, resp))
        finally:
            litellm.logging_callback_manager.remove_callback_from_all_lists(callback)
        outcomes.append((record_in_request({"metadata": md}), headers))
    assert all(rec is not None and headers and "x-routellm-choice" in headers for rec, headers in outcomes)
    assert outcomes[1][1]["x-routellm-fallback"] == "true" and outcomes[2][1]["x-routellm-choice"] == "weak"
    assert fell_back(logs)
    assert_clean(logs.records, outcomes)
