"""Routing decisions as request metadata, response headers, and a per-call lookup for SDK responses."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Any, Mapping

from routellm_plugins import Decision

from litellm_adapter.messages import routing_text
from litellm_adapter.routes import Route

#: Metadata key (in ``metadata`` or ``litellm_metadata``) holding the decision record.
RECORD_KEY = "routellm"
HEADER_PREFIX = "x-routellm-"
_MAX_REASON = 200


def decide(route: Route, messages: Any, session_id: str | None = None) -> Decision:
    """The controller's decision for a request's messages (fallback, with the reason, when there is no user text)."""
    text = routing_text(messages)
    if text is None:
        return route.controller.fallback_decision("no user text to route on (messages have no user turn with text)")
    return route.controller.decide(text, session_id=session_id)


async def adecide(route: Route, messages: Any, session_id: str | None = None) -> Decision:
    """Async :func:`decide`."""
    text = routing_text(messages)
    if text is None:
        return route.controller.fallback_decision("no user text to route on (messages have no user turn with text)")
    return await route.controller.adecide(text, session_id=session_id)


def make_record(route: Route, decision: Decision) -> dict[str, Any]:
    """A JSON-ready record of one decision: what was chosen, why, and the prices for the cost summary."""
    target = route.target(decision.model)
    base = route.target(route.baseline)
    return {
        "route": route.name,
        "model": decision.model,
        "served": target.litellm_model,
        "score": decision.score,
        "threshold": decision.threshold,
        "router": decision.router,
        "fallback": decision.fallback,
        "reason": decision.reason,
        "latency_s": decision.latency_s,
        "baseline": base.key,
        "baseline_model": base.litellm_model,
        "cost_per_token": [target.input_cost_per_token, target.output_cost_per_token],
        "baseline_cost_per_token": [base.input_cost_per_token, base.output_cost_per_token],
    }


def find_record(metadata: Any) -> dict[str, Any] | None:
    """The decision record in a request's metadata, or None.

    A record is only taken when it belongs to this call: its route is the call's model group or,
    on a LiteLLM fallback hop, its original model group (a metadata dict a caller reuses for a
    later, unrouted call still holds the old record, and must not count as routed).
    """
    if not isinstance(metadata, Mapping):
        return None
    rec = metadata.get(RECORD_KEY)
    if not isinstance(rec, dict):
        return None
    groups = {metadata.get("model_group"), metadata.get("original_model_group")} - {None}
    return rec if not groups or rec.get("route") in groups else None


def record_in_request(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The decision record of a request's kwargs / proxy request data, looking in both metadata buckets."""
    if not isinstance(data, Mapping):
        return None
    for key in ("litellm_metadata", "metadata"):
        rec = find_record(data.get(key))
        if rec is not None:
            return rec
    params = data.get("litellm_params")
    return find_record(params.get("metadata")) if isinstance(params, Mapping) else None


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def _ascii(text: str) -> str:
    clean = "".join(ch if " " <= ch <= "~" else " " for ch in text)
    return clean[:_MAX_REASON]


def record_headers(record: Mapping[str, Any], served: str | None = None) -> dict[str, str]:
    """``x-routellm-*`` response headers for a decision record (``served`` overrides the planned model)."""
    headers = {
        f"{HEADER_PREFIX}route": _ascii(str(record.get("route"))),
        f"{HEADER_PREFIX}model": _ascii(served or str(record.get("served"))),
        f"{HEADER_PREFIX}choice": _ascii(str(record.get("model"))),
        f"{HEADER_PREFIX}score": _fmt(record.get("score")),
        f"{HEADER_PREFIX}threshold": _fmt(record.get("threshold")),
        f"{HEADER_PREFIX}router": _ascii(str(record.get("router"))),
        f"{HEADER_PREFIX}fallback": "true" if record.get("fallback") else "false",
    }
    if record.get("fallback") and record.get("reason"):
        headers[f"{HEADER_PREFIX}reason"] = _ascii(str(record["reason"]))
    return headers


class DecisionStore:
    """A bounded, thread-safe map from LiteLLM call id to decision record (the SDK's per-response lookup)."""

    def __init__(self, max_items: int = 10_000) -> None:
        self._items: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._max = max_items
        self._lock = threading.Lock()

    def put(self, call_id: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._items[call_id] = record
            self._items.move_to_end(call_id)
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def get(self, call_id: str | None) -> dict[str, Any] | None:
        if call_id is None:
            return None
        with self._lock:
            return self._items.get(call_id)


STORE = DecisionStore()


def decision_of(response: Any) -> dict[str, Any] | None:
    """The routing record of an SDK response or stream from a routed ``litellm.Router`` call, or None.

    Keys: route, model (the controller key), served (the litellm model), score, threshold,
    router, fallback, reason, latency_s, and the prices used for the cost summary.
    """
    hidden = getattr(response, "_hidden_params", None)
    if hidden is None:
        return None
    try:
        call_id = hidden.get("litellm_call_id")
    except AttributeError:
        return None
    return STORE.get(call_id)


__all__ = ["RECORD_KEY", "DecisionStore", "adecide", "decide", "decision_of", "find_record", "make_record", "record_headers", "record_in_request"]
