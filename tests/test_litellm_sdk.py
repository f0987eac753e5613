"""litellm_adapter on the SDK: a litellm.Router with the RouteLLM strategy, mock_response deployments."""

from __future__ import annotations

import asyncio
import json
import time

import litellm
import numpy as np
import pytest
from litellm.llms.custom_llm import CustomLLM, CustomLLMError

from litellm_adapter import CostTracker, decision_of, format_summary, install_routing, summarize, track_costs, untrack_costs
from litellm_adapter.proxy import RouteLLMProxyCallback
from routellm_plugins import RoutingController
from routellm_plugins.registry import DEFAULT_ROUTER
from routellm_plugins.routers.base import Router as CoreRouter

STRONG_TEXT, WEAK_TEXT = "answer from gpt-4o", "answer from gpt-4o-mini"
USER = [{"role": "user", "content": "Prove that there are infinitely many primes."}]


def _dep(name: str, model: str, reply, role: str | None = None) -> dict:
    dep = {"model_name": name, "litellm_params": {"model": model, "api_key": "mock-key", "mock_response": reply}}
    if role:
        dep["model_info"] = {"routellm_model": role}
    return dep


def model_list(weak_reply=WEAK_TEXT) -> list[dict]:
    return [
        _dep("gpt-4o", "openai/gpt-4o", STRONG_TEXT),
        _dep("gpt-4o-mini", "openai/gpt-4o-mini", WEAK_TEXT),
        _dep("routellm", "openai/gpt-4o", STRONG_TEXT, "strong"),
        _dep("routellm", "openai/gpt-4o-mini", weak_reply, "weak"),
    ]


def routed(threshold: float, weak_reply=WEAK_TEXT, **router_kwargs) -> litellm.Router:
    r = litellm.Router(model_list=model_list(weak_reply), **router_kwargs)
    install_routing(r, {"routellm": {"router": {"router": "random", "seed": 0}, "threshold": threshold}}, track_costs=False)
    return r


def text_of(resp) -> str:
    return resp.choices[0].message.content


def stream_text(chunks) -> str:
    return "".join((c.choices[0].delta.content or "") for c in chunks if c.choices)


@pytest.fixture
def tracker():
    t = track_costs(CostTracker())
    yield t
    untrack_costs(t)


# ---- routing by score ----------------------------------------------------------------------
def test_threshold_zero_routes_strong_and_one_routes_weak():
    strong = routed(0.0).completion(model="routellm", messages=USER)
    weak = routed(1.0).completion(model="routellm", messages=USER)
    assert (text_of(strong), strong.model) == (STRONG_TEXT, "gpt-4o")
    assert (text_of(weak), weak.model) == (WEAK_TEXT, "gpt-4o-mini")
    assert decision_of(strong)["model"] == "strong" and decision_of(strong)["served"] == "openai/gpt-4o"
    assert decision_of(weak)["model"] == "weak" and decision_of(weak)["served"] == "openai/gpt-4o-mini"


def test_decision_is_reported_with_score_threshold_and_router():
    r = routed(0.5)
    expected = np.random.default_rng(0).random(4)  # the seeded random router's scores, in call order
    for score in expected:
        resp = r.completion(model="routellm", messages=USER)
        d = decision_of(resp)
        assert d["score"] == pytest.approx(score)
        assert d["threshold"] == 0.5 and d["router"] == "random" and d["fallback"] is False
        assert d["model"] == ("strong" if score >= 0.5 else "weak")
        assert text_of(resp) == (STRONG_TEXT if score >= 0.5 else WEAK_TEXT)


def test_mf_router_routes_an_easy_and_a_hard_prompt_differently():
    r = litellm.Router(model_list=model_list())
    install_routing(r, {"routellm": {"router": "mf"}}, track_costs=False)  # the checkpoint's calibrated threshold
    easy = r.completion(model="routellm", messages=[{"role": "user", "content": "What is 2 + 2?"}])
    hard = r.completion(model="routellm", messages=[{"role": "user", "content":
                        "Write a Python function that merges two sorted lists in linear time and explain its complexity."}])
    de, dh = decision_of(easy), decision_of(hard)
    assert de["router"] == dh["router"] == "mf" and de["score"] < de["threshold"] <= dh["score"]
    assert (de["model"], text_of(easy)) == ("weak", WEAK_TEXT)
    assert (dh["model"], text_of(hard)) == ("strong", STRONG_TEXT)


def test_route_to_other_model_groups_by_name():
    r = litellm.Router(model_list=model_list())
    install_routing(r, {"cheap-first": {"router": "random", "threshold": 1.0, "models": {"strong": "gpt-4o", "weak": "gpt-4o-mini"}}}, track_costs=False)
    resp = r.completion(model="cheap-first", messages=USER)
    assert text_of(resp) == WEAK_TEXT and decision_of(resp)["route"] == "cheap-first"


def test_model_string_route_and_untagged_group_ordered_by_price():
    ml = [_dep("router-random-0.0", "openai/gpt-4o-mini", WEAK_TEXT), _dep("router-random-0.0", "openai/gpt-4o", STRONG_TEXT)]
    r = litellm.Router(model_list=ml)
    strategy = install_routing(r, track_costs=False)  # routes discovered from the model_list
    route = strategy.routes["router-random-0.0"]
    assert route.targets["strong"].litellm_model == "openai/gpt-4o"  # dearer in LiteLLM's price map
    assert text_of(r.completion(model="router-random-0.0", messages=USER)) == STRONG_TEXT


def test_unrouted_names_pass_through():
    r = routed(1.0)
    resp = r.completion(model="gpt-4o", messages=USER)
    assert text_of(resp) == STRONG_TEXT and decision_of(resp) is None


def test_reused_metadata_dict_does_not_mark_a_later_unrouted_call():
    r = routed(1.0)
    md = {"user": "u1"}
    first = r.completion(model="routellm", messages=USER, metadata=md)
    later = r.completion(model="gpt-4o", messages=USER, metadata=md)  # LiteLLM and the router both wrote into md
    assert decision_of(first)["route"] == "routellm" and decision_of(later) is None


# ---- sync / async / streaming --------------------------------------------------------------
async def test_async_completion_routes():
    resp = await routed(1.0).acompletion(model="routellm", messages=USER)
    assert text_of(resp) == WEAK_TEXT and decision_of(resp)["model"] == "weak"


def test_sync_streaming_routes():
    stream = routed(1.0).completion(model="routellm", messages=USER, stream=True)
    assert decision_of(stream)["model"] == "weak"
    assert stream_text(list(stream)) == WEAK_TEXT


async def test_async_streaming_routes():
    stream = await routed(0.0).acompletion(model="routellm", messages=USER, stream=True)
    chunks = [c async for c in stream]
    assert stream_text(chunks) == STRONG_TEXT and decision_of(stream)["model"] == "strong"


# ---- reliability --------------------------------------------------------------------------
def test_failed_deployment_uses_litellm_fallbacks():
    r = routed(1.0, weak_reply="litellm.InternalServerError", num_retries=0, fallbacks=[{"routellm": ["gpt-4o"]}])
    resp = r.completion(model="routellm", messages=USER)
    assert text_of(resp) == STRONG_TEXT  # the weak pick failed; LiteLLM's fallback served it
    assert decision_of(resp)["model"] == "weak"
    assert resp._hidden_params["additional_headers"]["x-litellm-attempted-fallbacks"] == 1


async def test_failed_deployment_without_fallbacks_raises():
    r = routed(1.0, weak_reply="litellm.InternalServerError", num_retries=0)
    with pytest.raises(litellm.InternalServerError):
        await r.acompletion(model="routellm", messages=USER)


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "system", "content": "You are terse."}],
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}],
        [{"role": "user", "content": "   "}],
    ],
    ids=["system-only", "image-only", "whitespace"],
)
def test_unscorable_request_goes_to_fallback_and_says_so(messages):
    resp = routed(1.0).completion(model="routellm", messages=messages)
    d = decision_of(resp)
    assert text_of(resp) == STRONG_TEXT and d["model"] == "strong"
    assert d["fallback"] is True and d["score"] is None and "no user text" in d["reason"]


class _BrokenRouter(CoreRouter):
    name = "broken"

    def _score(self, prompts):
        raise RuntimeError("embedder exploded")


async def test_scoring_error_goes_to_configured_fallback_and_names_the_error_type_only():
    r = litellm.Router(model_list=model_list())
    install_routing(r, {"routellm": {"controller": RoutingController(_BrokenRouter(threshold=0.5), fallback="weak")}}, track_costs=False)
    resp = await r.acompletion(model="routellm", messages=USER)
    d = decision_of(resp)
    assert text_of(resp) == WEAK_TEXT and d["fallback"] is True and "RuntimeError" in d["reason"]
    assert "embedder exploded" not in str(d)  # an exception's text never reaches the record (it may quote the prompt or a key)


# ---- costs -------------------------------------------------------------------------------
def wait_for(tracker: CostTracker, ids: list[str], timeout: float = 10.0) -> dict[str, list[dict]]:
    """Rows of these call ids, after they landed (plus a grace period for any duplicate)."""
    end = time.monotonic() + timeout
    while not set(ids) <= {row["call_id"] for row in tracker.rows} and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(0.3)
    out: dict[str, list[dict]] = {i: [] for i in ids}
    for row in tracker.rows:
        if row["call_id"] in out:
            out[row["call_id"]].append(row)
    return out


def check_weak_rows(by_id: dict[str, list[dict]]) -> None:
    assert all(len(rows) == 1 for rows in by_id.values()), {k: len(v) for k, v in by_id.items()}  # each call once
    rows = [r[0] for r in by_id.values()]
    for row in rows:
        assert row["model"] == "weak" and "gpt-4o-mini" in row["served"]
        weak = row["prompt_tokens"] * 1.5e-07 + row["completion_tokens"] * 6e-07
        strong = row["prompt_tokens"] * 2.5e-06 + row["completion_tokens"] * 1e-05
        assert row["cost"] == pytest.approx(weak) and row["baseline_cost"] == pytest.approx(strong)
        assert row["saved"] == pytest.approx(strong - weak) and row["saved"] > 0
    s = summarize(rows)
    assert s["requests"] == len(rows) and s["by_decision"] == {"weak": len(rows)} and s["by_served"] == {"openai/gpt-4o-mini": len(rows)}
    assert s["saved"] == pytest.approx(sum(r["saved"] for r in rows)) and 90 < s["saved_pct"] < 100


def test_cost_rows_once_per_sync_call_against_strong_baseline(tracker):
    r = routed(1.0)
    ids = [r.completion(model="routellm", messages=USER)._hidden_params["litellm_call_id"]]
    stream = r.completion(model="routellm", messages=USER, stream=True)
    _ = list(stream)
    ids.append(stream._hidden_params["litellm_call_id"])
    check_weak_rows(wait_for(tracker, ids))


async def test_cost_rows_once_per_async_call_against_strong_baseline(tracker):
    r = routed(1.0)
    ids = [(await r.acompletion(model="routellm", messages=USER))._hidden_params["litellm_call_id"]]
    stream = await r.acompletion(model="routellm", messages=USER, stream=True)
    _ = [c async for c in stream]
    ids.append(stream._hidden_params["litellm_call_id"])
    end = time.monotonic() + 10
    while not set(ids) <= {row["call_id"] for row in tracker.rows} and time.monotonic() < end:
        await asyncio.sleep(0.05)
    check_weak_rows(wait_for(tracker, ids))


def test_unrouted_calls_are_not_counted(tracker):
    r = routed(0.0)
    plain = r.completion(model="gpt-4o-mini", messages=USER)._hidden_params["litellm_call_id"]
    routed_id = r.completion(model="routellm", messages=USER)._hidden_params["litellm_call_id"]
    rows = wait_for(tracker, [plain, routed_id])
    assert rows[plain] == [] and [row["model"] for row in rows[routed_id]] == ["strong"]
    assert rows[routed_id][0]["saved"] == 0


def test_summarize_counts_by_served_model_and_by_decision():
    rows = [
        {"model": "weak", "served": "openai/gpt-4o-mini", "fallback": False, "cost": 1.0, "baseline_cost": 4.0},
        {"model": "weak", "served": "openai/gpt-4o", "rerouted": True, "fallback": False, "cost": 4.0, "baseline_cost": 4.0},
        {"model": "strong", "served": "openai/gpt-4o", "fallback": True, "cost": 4.0, "baseline_cost": 4.0},
        {"model": "weak", "served": "openai/gpt-4o-mini", "fallback": False, "cost": None, "baseline_cost": None},
    ]
    s = summarize(rows)
    assert s == {"requests": 4, "by_served": {"openai/gpt-4o": 2, "openai/gpt-4o-mini": 2}, "by_decision": {"strong": 1, "weak": 3},
                 "rerouted": 1, "fallbacks": 1, "unpriced": 1, "cost": 9.0, "baseline_cost": 12.0, "saved": 3.0, "saved_pct": 25.0}
    text = format_summary(s)
    assert "served by: openai/gpt-4o: 2, openai/gpt-4o-mini: 2" in text and "decided:   strong: 1, weak: 3" in text


# ---- the proxy callback, in process (async Router, no server) -------------------------------
async def test_proxy_callback_routes_inside_deployment_selection():
    ml = model_list()
    ml[2]["model_info"]["routellm"] = {"router": "random", "threshold": 1.0}
    r = litellm.Router(model_list=ml, num_retries=0)
    cb = RouteLLMProxyCallback(router=r)
    litellm.callbacks.append(cb)
    try:
        texts = {text_of(await r.acompletion(model="routellm", messages=USER)) for _ in range(4)}
        other = await r.acompletion(model="gpt-4o", messages=USER)
    finally:
        litellm.logging_callback_manager.remove_callback_from_all_lists(cb)
    assert texts == {WEAK_TEXT}  # without the callback LiteLLM would shuffle between both
    assert text_of(other) == STRONG_TEXT


# ---- pools: any controller keys, not just strong/weak ------------------------------------------
class _LengthPool(RoutingController):
    """A stand-in pool controller: short prompts to 'small', medium to 'mid', long to 'big'."""

    def __init__(self) -> None:
        super().__init__("random", threshold=0.5, fallback="strong")
        self.fallback = "big"

    @property
    def keys(self) -> tuple[str, ...]:
        return ("big", "mid", "small")

    def decide(self, text, session_id=None):
        from routellm_plugins import Decision

        key = "small" if len(text) < 10 else "mid" if len(text) < 40 else "big"
        return Decision(key, None, None, "length", 0.0)


async def test_pool_keys_route_to_tagged_deployments_with_priciest_baseline():
    ml = [_dep("pool", "openai/gpt-4o", "big", "big"), _dep("pool", "openai/gpt-4o-mini", "mid", "mid"),
          _dep("pool", "openai/gpt-3.5-turbo", "small", "small")]
    r = litellm.Router(model_list=ml)
    strategy = install_routing(r, {"pool": {"controller": _LengthPool()}}, track_costs=False)
    assert strategy.routes["pool"].baseline == "big"  # no 'strong' key: the dearest model is the baseline
    for text, key in [("hi", "small"), ("a medium sized question here", "mid"), ("x" * 80, "big")]:
        resp = await r.acompletion(model="pool", messages=[{"role": "user", "content": text}])
        assert text_of(resp) == key and decision_of(resp)["model"] == key
        assert decision_of(resp)["baseline_model"] == "openai/gpt-4o"
    resp = r.completion(model="pool", messages=[{"role": "system", "content": "no user turn"}])
    assert text_of(resp) == "big" and decision_of(resp)["fallback"] is True


# ---- routes that name existing model groups ------------------------------------------------------
DOWN = "litellm.InternalServerError"


def group_router(weak_reply=WEAK_TEXT, **kwargs) -> litellm.Router:
    """Plain model groups only (no deployment of the route itself), as in a working config."""
    return litellm.Router(model_list=[_dep("gpt-4o", "openai/gpt-4o", STRONG_TEXT), _dep("gpt-4o-mini", "openai/gpt-4o-mini", weak_reply)], **kwargs)


GROUPS = {"strong": "gpt-4o", "weak": "gpt-4o-mini"}


def test_group_route_keeps_the_target_groups_own_fallbacks_and_costs_count_the_served_model(tracker):
    # the route has no fallbacks of its own: only the weak group's fallbacks can save the call
    r = group_router(DOWN, num_retries=0, fallbacks=[{"gpt-4o-mini": ["gpt-4o"]}])
    install_routing(r, {"smart": {"router": "random", "threshold": 1.0, "models": GROUPS}}, track_costs=False)
    resp = r.completion(model="smart", messages=USER)
    d = decision_of(resp)
    assert text_of(resp) == STRONG_TEXT and d["model"] == "weak" and d["target"] == "gpt-4o-mini" and d["served"] == "openai/gpt-4o"
    rows = wait_for(tracker, [resp._hidden_params["litellm_call_id"]])
    [row] = next(iter(rows.values()))
    assert row["model"] == "weak" and row["served"] == "openai/gpt-4o" and row["rerouted"] is True
    assert row["cost"] == pytest.approx(row["prompt_tokens"] * 2.5e-06 + row["completion_tokens"] * 1e-05)  # billed at gpt-4o's price
    s = summarize([row])
    assert s["by_served"] == {"openai/gpt-4o": 1} and s["by_decision"] == {"weak": 1} and s["rerouted"] == 1 and s["saved"] == 0


async def test_group_route_async_routes_both_ways():
    r = group_router()
    install_routing(r, {"smart": {"router": "random", "threshold": 0.5, "models": GROUPS}}, track_costs=False)
    seen = set()
    for _ in range(12):
        resp = await r.acompletion(model="smart", messages=USER)
        d = decision_of(resp)
        assert text_of(resp) == (STRONG_TEXT if d["model"] == "strong" else WEAK_TEXT) and d["target"] == GROUPS[d["model"]]
        seen.add(d["model"])
    assert seen == {"strong", "weak"}


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_retry_reuses_the_decision(use_async):
    calls = []

    class Counting(RoutingController):
        def decide(self, text, session_id=None):
            calls.append(text)
            return super().decide(text, session_id)

    # two failing deployments: LiteLLM retries on a group's other deployment, through the strategy again
    r = litellm.Router(model_list=[_dep("gpt-4o", "openai/gpt-4o", STRONG_TEXT), _dep("gpt-4o-mini", "openai/gpt-4o-mini", DOWN),
                                   _dep("gpt-4o-mini", "azure/gpt-4o-mini", DOWN)], num_retries=2, retry_after=0)
    strategy = install_routing(r, {"smart": {"controller": Counting("random", threshold=1.0), "models": GROUPS}}, track_costs=False)
    reused = []
    earlier = strategy._earlier
    strategy._earlier = lambda route, kw: reused.append(earlier(route, kw)) or reused[-1]
    with pytest.raises(litellm.InternalServerError):
        if use_async:
            asyncio.run(r.acompletion(model="smart", messages=USER))
        else:
            r.completion(model="smart", messages=USER)
    assert len(calls) == 1  # decided once ...
    assert len(reused) == 3 and reused[0] is None and all(rec is not None and rec["model"] == "weak" for rec in reused[1:])  # ... and the 2 retries reused it


def test_client_metadata_cannot_choose_the_route():
    forged = {"route": "smart", "model": "strong", "served": "openai/gpt-4o", "router": "FORGED", "cost_per_token": [0, 0]}
    r = group_router()
    install_routing(r, {"smart": {"router": "random", "threshold": 1.0, "models": GROUPS}}, track_costs=False)
    for md_key in ("metadata", "litellm_metadata"):
        resp = r.completion(model="smart", messages=USER, **{md_key: {"routellm": forged, "routellm_request": "made-up-token"}})
        d = decision_of(resp)
        assert text_of(resp) == WEAK_TEXT and d["model"] == "weak" and d["router"] == "random"


# ---- Responses API -----------------------------------------------------------------------------
def responses_text(resp) -> str:
    return "".join(part.text for item in resp.output for part in getattr(item, "content", None) or [] if hasattr(part, "text"))


def test_responses_api_is_routed_and_logged(tracker):
    r = group_router()
    install_routing(r, {"smart": {"router": "random", "threshold": 1.0, "models": GROUPS}}, track_costs=False)
    resp = r.responses(model="smart", input="Summarise the plot of Hamlet in one line.")
    d = decision_of(resp)
    assert d["model"] == "weak" and d["fallback"] is False and d["served"] == "openai/gpt-4o-mini"
    assert responses_text(resp) == WEAK_TEXT
    no_text = r.responses(model="smart", input=[{"role": "system", "content": "Be brief."}])
    assert decision_of(no_text)["fallback"] is True and "no user text" in decision_of(no_text)["reason"]
    rows = wait_for(tracker, [resp._hidden_params["litellm_call_id"]])
    [row] = next(iter(rows.values()))
    assert row["route"] == "smart" and row["model"] == "weak" and row["prompt_tokens"] > 0 and row["baseline_cost"] > 0


async def test_async_responses_api_routes_on_the_last_user_input_item():
    r = group_router()
    install_routing(r, {"smart": {"router": "random", "threshold": 0.0, "models": GROUPS}}, track_costs=False)
    items = [{"role": "user", "content": "first question"}, {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
             {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And why?"}]}]
    resp = await r.aresponses(model="smart", input=items)
    d = decision_of(resp)
    assert d["model"] == "strong" and d["fallback"] is False and responses_text(resp) == STRONG_TEXT


# ---- decision_of on stream chunks ----------------------------------------------------------------
def test_decision_of_every_sync_stream_chunk():
    r = group_router()
    install_routing(r, {"smart": {"router": "random", "threshold": 1.0, "models": GROUPS}}, track_costs=False)
    chunks = list(r.completion(model="smart", messages=USER, stream=True))
    assert chunks and all(decision_of(c)["model"] == "weak" for c in chunks)
    plain = list(r.completion(model="gpt-4o", messages=USER, stream=True))
    assert plain and all(decision_of(c) is None for c in plain)  # unrouted streams carry no decision


async def test_decision_of_every_async_stream_chunk():
    r = routed(0.0)
    stream = await r.acompletion(model="routellm", messages=USER, stream=True)
    chunks = [c async for c in stream]
    assert chunks and all(decision_of(c)["model"] == "strong" and decision_of(c)["route"] == "routellm" for c in chunks)
    assert stream_text(chunks) == STRONG_TEXT


# ---- shared settings: default router, sticky sessions, route_on ------------------------------------
EASY = [{"role": "user", "content": "What is 2 + 2?"}]
HARD = [{"role": "user", "content": "Write a Python function that merges two sorted lists in linear time and explain its complexity."}]


def test_default_router_and_sticky_escalate_marks_reused_decisions():
    r = group_router()
    strategy = install_routing(r, {"smart": {"models": GROUPS, "sticky_sessions": "escalate"}}, track_costs=False)
    assert strategy.routes["smart"].controller.router.name == DEFAULT_ROUTER
    alone = decision_of(r.completion(model="smart", messages=EASY))
    assert alone["model"] == "weak" and alone["sticky"] is False
    hard = decision_of(r.completion(model="smart", messages=HARD, metadata={"session_id": "conv-1"}))
    easy = r.completion(model="smart", messages=EASY, metadata={"session_id": "conv-1"})
    assert hard["model"] == "strong" and hard["sticky"] is False
    assert decision_of(easy)["model"] == "strong" and decision_of(easy)["sticky"] is True and text_of(easy) == STRONG_TEXT
    other = decision_of(r.completion(model="smart", messages=EASY, litellm_session_id="conv-2"))
    assert other["model"] == "weak" and other["sticky"] is False  # another conversation is not lifted


def test_route_on_conversation_scores_the_whole_conversation():
    calls = []

    class Recording(RoutingController):
        def decide(self, text, session_id=None):
            calls.append(text)
            return super().decide(text, session_id)

    r = group_router()
    install_routing(r, {"last": {"controller": Recording("random", threshold=0.5), "models": GROUPS},
                        "whole": {"controller": Recording("random", threshold=0.5), "models": GROUPS, "route_on": "conversation"}}, track_costs=False)
    convo = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"},
             {"role": "tool", "content": "tool output", "tool_call_id": "t"}, {"role": "user", "content": "Q2"}]
    r.completion(model="last", messages=convo)
    r.completion(model="whole", messages=convo)
    assert calls == ["Q2", "Be terse.\n\nQ1\n\nA1\n\nQ2"]


# ---- pools of model groups -------------------------------------------------------------------------
POOL_MODELS = [_dep("gpt-4-turbo", "openai/gpt-4-1106-preview", "from gpt-4-turbo"), _dep("gpt-3.5-turbo", "openai/gpt-3.5-turbo-1106", "from gpt-3.5-turbo"),
               _dep("mixtral", "together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1", "from mixtral")]


async def test_pool_of_model_groups_priced_from_litellm_and_found_by_profile():
    r = litellm.Router(model_list=list(POOL_MODELS))
    strategy = install_routing(r, {"pool": {"pool": ["gpt-4-turbo", "gpt-3.5-turbo", "mixtral"], "aliases": {"mixtral": "mixtral-8x7b-instruct"},
                                            "lam": 0.0}}, track_costs=False)
    route = strategy.routes["pool"]
    policy = route.controller.policy
    assert policy.keys == ("gpt-4-turbo", "gpt-3.5-turbo", "mixtral")
    # costs: LiteLLM's input + output price per token; profiles: provider prefix dropped, or the alias
    assert list(policy.spec.costs) == pytest.approx([1e-05 + 3e-05, 1e-06 + 2e-06, 6e-07 + 6e-07])
    assert policy.spec.profiles == ("gpt-4-1106-preview", "gpt-3.5-turbo-1106", "mixtral-8x7b-instruct")
    assert route.baseline == "gpt-4-turbo" and route.controller.router.name.startswith("uniroute")
    resp = await r.acompletion(model="pool", messages=HARD)
    d = decision_of(resp)
    assert d["model"] in policy.keys and text_of(resp) == f"from {d['model']}" and d["baseline_model"] == "openai/gpt-4-1106-preview"


# ---- provider errors: the type and status code only ---------------------------------------------------
CANARY, FAKE_KEY = "CANARY-provider-text-7c1d", "sk-fake-provider-key-0a9b8c7d6e5f"


class _LeakyProvider(CustomLLM):
    """A provider whose errors quote the prompt and a key, as real ones sometimes do."""

    def _fail(self):
        raise CustomLLMError(status_code=503, message=f"upstream quoted {CANARY} with key {FAKE_KEY}")

    def completion(self, *args, **kwargs):
        self._fail()

    async def acompletion(self, *args, **kwargs):
        self._fail()


@pytest.fixture
def leaky_provider():
    entry = {"provider": "leaky", "custom_handler": _LeakyProvider()}
    litellm.custom_provider_map.append(entry)
    litellm.utils.custom_llm_setup()
    yield
    litellm.custom_provider_map.remove(entry)


def test_a_provider_error_text_reaches_no_record_row_or_log_of_ours(tracker, caplog, leaky_provider):
    r = litellm.Router(model_list=[_dep("gpt-4o", "openai/gpt-4o", STRONG_TEXT), {"model_name": "gpt-4o-mini", "litellm_params": {"model": "leaky/mini"}}],
                       num_retries=0, fallbacks=[{"gpt-4o-mini": ["gpt-4o"]}])
    install_routing(r, {"smart": {"router": "random", "threshold": 1.0, "models": GROUPS}}, track_costs=False)
    with caplog.at_level("DEBUG", logger="litellm_adapter"), caplog.at_level("DEBUG", logger="routellm_plugins"):
        resp = r.completion(model="smart", messages=USER)
        rows = wait_for(tracker, [resp._hidden_params["litellm_call_id"]])
    assert text_of(resp) == STRONG_TEXT and decision_of(resp)["served"] == "openai/gpt-4o"  # the provider failed, and was handled
    assert decision_of(resp)["model"] == "weak" and next(iter(rows.values()))[0]["rerouted"] is True
    ours = [rec.getMessage() for rec in caplog.records if rec.name.split(".")[0] in ("litellm_adapter", "routellm_plugins")]
    for secret in (CANARY, FAKE_KEY):
        assert secret not in str(decision_of(resp)) and secret not in json.dumps(rows) and not any(secret in m for m in ours)
