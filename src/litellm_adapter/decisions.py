"""Routing decisions: made once per request, kept on the server, shown as headers and to SDK callers.

Trust: a decision record is never read from a request. The adapter mints an unguessable token
per routed request, stores the record under it (a bounded in-process map) and puts only the
token in the request's metadata, where LiteLLM carries it through retries, fallbacks and its
logging callbacks. A record is found again only by that token *and* one of the request's ids
(LiteLLM's ``litellm_call_id`` / ``litellm_trace_id``), so a client that sends its own
``metadata.routellm`` record, a token, or another request's ``x-litellm-call-id`` changes
nothing: not the model served, not the headers, not the cost log (the proxy also drops such
keys on arrival); and a metadata dict an SDK caller reuses for a later call does not mark it.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping

from routellm_plugins import Decision

from litellm_adapter.messages import request_text
from litellm_adapter.routes import Route

#: Metadata keys this adapter owns; a client's values for them are dropped at the proxy's door.
RECORD_KEY = "routellm"
TOKEN_KEY = "routellm_request"
CLIENT_KEYS = (RECORD_KEY, TOKEN_KEY)
#: Metadata buckets LiteLLM uses (``litellm_metadata`` on the Responses API and /v1/messages, else ``metadata``).
BUCKETS = ("litellm_metadata", "metadata")
HEADER_PREFIX = "x-routellm-"
_MAX_HEADER = 200
NO_TEXT = "no user text to route on (the request has no user turn with text)"


def decide(route: Route, messages: Any = None, session_id: str | None = None, input: Any = None) -> Decision:
    """The controller's decision for a chat ``messages`` list or a Responses API ``input`` (fallback, with the reason, without text)."""
    text = request_text(messages, input, route.route_on)
    if text is None:
        return route.controller.fallback_decision(NO_TEXT)
    return route.controller.decide(text, session_id=session_id)


async def adecide(route: Route, messages: Any = None, session_id: str | None = None, input: Any = None) -> Decision:
    """Async :func:`decide` (scoring runs off the event loop)."""
    text = request_text(messages, input, route.route_on)
    if text is None:
        return route.controller.fallback_decision(NO_TEXT)
    return await route.controller.adecide(text, session_id=session_id)


def make_record(route: Route, decision: Decision) -> dict[str, Any]:
    """A JSON-ready record of one decision: what was chosen, why, and the server's prices for the cost log."""
    target = route.target(decision.model)
    base = route.target(route.baseline)
    return {
        "route": route.name,
        "model": decision.model,
        "target": target.group or target.litellm_model,
        "target_models": list(target.litellm_models),
        "served": target.litellm_model,
        "score": decision.score,
        "threshold": decision.threshold,
        "router": decision.router,
        "fallback": decision.fallback,
        "sticky": bool(getattr(decision, "sticky", False)),
        "reason": decision.reason,
        "latency_s": decision.latency_s,
        "baseline": base.key,
        "baseline_model": base.litellm_model,
        "cost_per_token": [target.input_cost_per_token, target.output_cost_per_token],
        "baseline_cost_per_token": [base.input_cost_per_token, base.output_cost_per_token],
    }


# ---- the server-side store ------------------------------------------------------------------
@dataclass(frozen=True)
class _Entry:
    record: dict[str, Any]
    ids: frozenset[str]


def request_ids(data: Mapping[str, Any]) -> frozenset[str]:
    """The ids LiteLLM gives a request and keeps through its retries and fallbacks (call id, trace id)."""
    return frozenset(v for v in (data.get("litellm_call_id"), data.get("litellm_trace_id")) if isinstance(v, str) and v)


class DecisionStore:
    """A bounded, thread-safe map from server-minted token to decision record (least recently used dropped)."""

    def __init__(self, max_items: int = 20_000) -> None:
        self._items: OrderedDict[str, _Entry] = OrderedDict()
        self._calls: OrderedDict[str, str] = OrderedDict()
        self._max = max_items
        self._lock = threading.Lock()

    def issue(self, record: dict[str, Any], ids: frozenset[str]) -> str:
        """Store ``record`` for the request with these ids; returns the new token."""
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._items[token] = _Entry(record, ids)
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        return token

    def get(self, token: Any, ids: frozenset[str] = frozenset()) -> dict[str, Any] | None:
        """The record of ``token`` when it was issued for a request sharing one of ``ids`` (no ids on either side: any), else None."""
        if not isinstance(token, str):
            return None
        with self._lock:
            entry = self._items.get(token)
        if entry is None:
            return None
        if ids and entry.ids and not ids & entry.ids:
            return None
        return entry.record

    def bind_call(self, call_id: str, token: str) -> None:
        """SDK: let :func:`decision_of` find ``token``'s record from a response's call id."""
        with self._lock:
            self._calls[call_id] = token
            self._calls.move_to_end(call_id)
            while len(self._calls) > self._max:
                self._calls.popitem(last=False)

    def for_call(self, call_id: Any) -> dict[str, Any] | None:
        """SDK: the record bound to a response's call id, or None."""
        if not isinstance(call_id, str):
            return None
        with self._lock:
            token = self._calls.get(call_id)
        return None if token is None else self.get(token)

    def __len__(self) -> int:
        return len(self._items)


STORE = DecisionStore()


# ---- finding a request's record -----------------------------------------------------------------
def _buckets(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = [data[k] for k in BUCKETS if isinstance(data.get(k), dict)]
    params = data.get("litellm_params")
    if isinstance(params, Mapping):
        out += [params[k] for k in BUCKETS if isinstance(params.get(k), dict)]
    return out


def write_bucket(data: dict[str, Any]) -> dict[str, Any]:
    """The metadata dict LiteLLM reads for this request (``litellm_metadata`` when present, else ``metadata``), created if missing."""
    key = "litellm_metadata" if isinstance(data.get("litellm_metadata"), dict) else "metadata"
    md = data.get(key)
    if not isinstance(md, dict):
        md = data[key] = {}
    return md


def drop_client_keys(data: Mapping[str, Any]) -> None:
    """Remove this adapter's keys from a request's metadata (what a client put there is never trusted)."""
    for md in _buckets(data):
        for key in CLIENT_KEYS:
            md.pop(key, None)


def attach(data: dict[str, Any], record: dict[str, Any]) -> str:
    """Store ``record`` for this request (keyed by a new token and its call id) and put the token in its metadata."""
    token = STORE.issue(record, request_ids(data))
    write_bucket(data)[TOKEN_KEY] = token
    return token


def token_in_request(data: Mapping[str, Any] | None) -> str | None:
    """The token of this request's server record (checked against its ids), or None."""
    if not isinstance(data, Mapping):
        return None
    ids = request_ids(data)
    for md in _buckets(data):
        token = md.get(TOKEN_KEY)
        if STORE.get(token, ids) is not None:
            return token
    return None


def record_in_request(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The server's record for a request's kwargs / proxy data / logging kwargs, or None when it was not routed."""
    token = token_in_request(data)
    return None if token is None else STORE.get(token)


# ---- headers and SDK lookups ------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def _ascii(text: str) -> str:
    return "".join(ch if " " <= ch <= "~" else " " for ch in text)[:_MAX_HEADER]


def record_headers(record: Mapping[str, Any], served: str | None = None) -> dict[str, str]:
    """``x-routellm-*`` response headers for a decision record (``served``: the model that answered, if known)."""
    headers = {
        f"{HEADER_PREFIX}route": _ascii(str(record.get("route"))),
        f"{HEADER_PREFIX}model": _ascii(served or str(record.get("served"))),
        f"{HEADER_PREFIX}choice": _ascii(str(record.get("model"))),
        f"{HEADER_PREFIX}score": _fmt(record.get("score")),
        f"{HEADER_PREFIX}threshold": _fmt(record.get("threshold")),
        f"{HEADER_PREFIX}router": _ascii(str(record.get("router"))),
        f"{HEADER_PREFIX}fallback": "true" if record.get("fallback") else "false",
        f"{HEADER_PREFIX}sticky": "true" if record.get("sticky") else "false",
    }
    if record.get("reason"):
        headers[f"{HEADER_PREFIX}reason"] = _ascii(str(record["reason"]))
    return headers


def served_model(response: Any) -> str | None:
    """The LiteLLM model that produced ``response`` (after any fallback), from its hidden params; None if unknown."""
    hidden = getattr(response, "_hidden_params", None)
    if not hasattr(hidden, "get"):
        return None
    served = hidden.get("litellm_model_name")
    return served if isinstance(served, str) and served else None


def decision_of(response: Any) -> dict[str, Any] | None:
    """The routing record of an SDK response, stream or stream chunk from a routed ``litellm.Router`` call, or None.

    Keys: route, model (the controller key), target (the model group or deployment model chosen),
    served (the LiteLLM model that answered, which a LiteLLM fallback can change), score,
    threshold, router, fallback, sticky, reason, latency_s, and the prices used for the cost log.
    Works for chat completions and Responses API results, sync and async, and on each chunk of a
    routed stream.
    """
    hidden = getattr(response, "_hidden_params", None)
    if not hasattr(hidden, "get"):
        return None
    record = STORE.for_call(hidden.get("litellm_call_id"))
    if record is None:
        return None
    out = dict(record)
    out["served"] = served_model(response) or record["served"]
    return out


__all__ = ["CLIENT_KEYS", "RECORD_KEY", "STORE", "TOKEN_KEY", "DecisionStore", "adecide", "attach", "decide", "decision_of",
           "drop_client_keys", "make_record", "record_headers", "record_in_request", "request_ids", "served_model", "token_in_request",
           "write_bucket"]
