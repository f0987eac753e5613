"""Property tests: arbitrary message structures through each adapter's real call path, routed by the
bundled mf router. Every request is answered (never an exception from routing), and it falls back,
flagged, exactly when it has no user text to route on.

The pure text-extraction functions have their own property tests (test_langchain_text,
test_litellm_config); the LlamaIndex adapter's call path is also covered with a keyword router
(test_llamaindex_reliability). Here the whole call runs, with the real router.
"""

from __future__ import annotations

import asyncio
from typing import Any

import litellm
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from llama_index.core.base.llms.types import ChatMessage, ImageBlock, MessageRole, TextBlock

from langchain_adapter import ChatRouteLLM, routing_text as lc_routing_text
from langchain_adapter.testing import ScriptedChatModel
from litellm_adapter import decision_of, install_routing, routing_text as oa_routing_text
from litellm_adapter.decisions import record_in_request
from litellm_adapter.proxy import RouteLLMProxyCallback
from llamaindex_adapter import DECISION_KEY, RouteLLM
from routellm_plugins import RoutingController
from routellm_plugins.validation import has_visible_text
from test_llamaindex_fakes import EchoLLM

IMAGE = "data:image/png;base64,iVBORw0KGgo="
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
_CONTROLLER: RoutingController | None = None


def controller() -> RoutingController:
    """One mf controller for every example (built once: loading the router costs seconds)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = RoutingController("mf", strong_share=0.5)
    return _CONTROLLER


text = st.text(max_size=60)
junk = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["type", "text", "x"]), inner, max_size=3),
                    max_leaves=6)
parts = st.lists(
    st.one_of(
        text,
        st.builds(lambda t: {"type": "text", "text": t}, text),
        st.just({"type": "image_url", "image_url": {"url": IMAGE}}),
        st.builds(lambda t: {"type": "input_text", "text": t}, text),
        st.dictionaries(st.sampled_from(["type", "text", "x"]), junk, max_size=3),
    ),
    max_size=4,
)


# ---- LangChain: ChatRouteLLM.invoke / ainvoke ------------------------------------------------------
@st.composite
def lc_messages(draw: Any) -> Any:
    kind = draw(st.sampled_from(["human", "ai", "system", "tool"]))
    content = draw(st.one_of(text, parts))
    if kind == "tool":
        return ToolMessage.model_construct(content=content, tool_call_id="t1")
    cls = {"human": HumanMessage, "ai": AIMessage, "system": SystemMessage}[kind]
    return cls.model_construct(content=content)  # content parts may be anything a provider could send


_LC: ChatRouteLLM | None = None


@SETTINGS
@given(st.lists(lc_messages(), min_size=1, max_size=4), st.booleans())
def test_langchain_any_messages_are_answered_and_flagged_exactly_when_unscorable(messages, use_async):
    global _LC
    if _LC is None:
        _LC = ChatRouteLLM(strong=ScriptedChatModel(replies=["S"]), weak=ScriptedChatModel(replies=["W"]), controller=controller())
    try:  # the adapter adds no failure of its own: what the child refuses, the routed call refuses alike
        ScriptedChatModel().invoke(messages)
    except Exception as exc:  # noqa: BLE001
        with pytest.raises(type(exc)):
            _LC.invoke(messages)
        return
    out = asyncio.run(_LC.ainvoke(messages)) if use_async else _LC.invoke(messages)
    meta = out.response_metadata["routellm"]
    assert out.content == {"strong": "S", "weak": "W"}[meta["model"]]
    assert meta["fallback"] is (lc_routing_text(messages, "last_human") is None)
    if meta["fallback"]:
        assert meta["model"] == "strong" and meta["reason"]
    else:
        assert 0.0 <= meta["score"] <= 1.0


# ---- LlamaIndex: RouteLLM.chat / achat ------------------------------------------------------------
block = st.one_of(text.map(lambda t: TextBlock(text=t)), st.just(ImageBlock(url=IMAGE)))
li_message = st.builds(
    lambda role, content: ChatMessage(role=role, blocks=content) if isinstance(content, list) else ChatMessage(role=role, content=content),
    st.sampled_from([MessageRole.USER, MessageRole.SYSTEM, MessageRole.ASSISTANT, MessageRole.TOOL]),
    st.one_of(text, st.lists(block, max_size=3), st.none()),
)
_LI: RouteLLM | None = None


CONTROL_ONLY = [ChatMessage(role=MessageRole.USER, content="\x1b")]  # nothing visible: the core falls back (found by hypothesis)


@SETTINGS
@given(st.lists(li_message, max_size=4), st.booleans())
@example(CONTROL_ONLY, False)
def test_llamaindex_any_messages_are_answered_and_flagged_exactly_when_unscorable(messages, use_async):
    global _LI
    if _LI is None:
        _LI = RouteLLM(strong=EchoLLM(name="strong"), weak=EchoLLM(name="weak"), controller=controller())
    resp = asyncio.run(_LI.achat(messages)) if use_async else _LI.chat(messages)
    tag = resp.additional_kwargs[DECISION_KEY]
    assert resp.message.content.startswith(f"[{tag['model']}]")
    users = [m for m in messages if m.role == MessageRole.USER]
    last = users[-1].content if users else None
    if not (last and has_visible_text(last)):
        assert tag["fallback"] is True and tag["model"] == "strong" and tag["reason"]
    elif "Observation:" not in last and "Query:" not in last:  # ReAct / QA prompts are cut first (own tests)
        assert tag["fallback"] is False and 0.0 <= tag["score"] <= 1.0


# ---- LiteLLM: SDK strategy and proxy callback, through litellm.Router -------------------------------
oa_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant", "tool"]), "content": st.one_of(text, parts, st.none())}
)
_PAIR = [
    {"model_name": "r", "litellm_params": {"model": "openai/gpt-4o", "api_key": "k", "mock_response": "S"}, "model_info": {"routellm_model": "strong"}},
    {"model_name": "r", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "k", "mock_response": "W"}, "model_info": {"routellm_model": "weak"}},
    {"model_name": "plain", "litellm_params": {"model": "openai/gpt-4o", "api_key": "k", "mock_response": "S"}},
]
_ROUTERS: dict[str, Any] = {}


def _sdk_router() -> litellm.Router:
    if "sdk" not in _ROUTERS:
        router = litellm.Router(model_list=[dict(d) for d in _PAIR], num_retries=0)
        install_routing(router, {"r": {"controller": controller()}}, track_costs=False)
        _ROUTERS["sdk"] = router
    return _ROUTERS["sdk"]


def _check(record: dict[str, Any], content: str, messages: list[dict[str, Any]]) -> None:
    assert content == {"strong": "S", "weak": "W"}[record["model"]]
    assert record["fallback"] is (oa_routing_text(messages) is None)
    if record["fallback"]:
        assert record["model"] == "strong" and "no user text" in record["reason"]
    else:
        assert 0.0 <= record["score"] <= 1.0


UNHASHABLE_TYPE = [{"role": "user", "content": [{"type": []}, {"type": "text", "text": "What is 2 + 2?"}]}]  # once crashed routing_text


@SETTINGS
@given(st.lists(oa_message, min_size=1, max_size=4))
@example(UNHASHABLE_TYPE)
def test_litellm_sdk_any_messages_are_answered_and_flagged_exactly_when_unscorable(messages):
    router = _sdk_router()
    try:  # LiteLLM's own message validation refuses some structures: the routed call must refuse them alike
        router.completion(model="plain", messages=messages)
    except Exception as exc:  # noqa: BLE001
        with pytest.raises(type(exc)):
            router.completion(model="r", messages=messages)
        return
    resp = router.completion(model="r", messages=messages)
    _check(decision_of(resp), resp.choices[0].message.content, messages)


@pytest.fixture(scope="module")
def proxy_router():
    ml = [{**d, "model_info": dict(d.get("model_info") or {})} for d in _PAIR]
    ml[0]["model_info"]["routellm"] = {"router": "mf", "strong_share": 0.5}
    router = litellm.Router(model_list=ml, num_retries=0)
    callback = RouteLLMProxyCallback(router=router)
    litellm.callbacks.append(callback)
    yield router
    litellm.logging_callback_manager.remove_callback_from_all_lists(callback)


@SETTINGS
@given(messages=st.lists(oa_message, min_size=1, max_size=4))
@example(messages=UNHASHABLE_TYPE)
def test_litellm_proxy_callback_any_messages_are_answered_and_flagged_exactly_when_unscorable(proxy_router, messages):
    md: dict[str, Any] = {}
    try:
        asyncio.run(proxy_router.acompletion(model="plain", messages=messages))
    except Exception as exc:  # noqa: BLE001
        with pytest.raises(type(exc)):
            asyncio.run(proxy_router.acompletion(model="r", messages=messages, metadata=md))
        return
    resp = asyncio.run(proxy_router.acompletion(model="r", messages=messages, metadata=md))
    _check(record_in_request({"metadata": md}), resp.choices[0].message.content, messages)
