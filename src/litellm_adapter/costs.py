"""Cost saved by routing: per request and in total, against sending every request to the baseline (strong) model.

:class:`CostTracker` is a LiteLLM ``CustomLogger``: on each successful routed call it records the
model served, LiteLLM's ``response_cost`` and what the same tokens would have cost on the
baseline model (LiteLLM's price map).
CLI: ``python -m litellm_adapter costs LOG.jsonl`` summarises a log written with ``log_path``
(or the ``ROUTELLM_COST_LOG`` environment variable).

Fleet totals: a route with ``shared_state`` also adds each row to the fleet's counters in Redis
(hash ``<prefix>:costs``: counts by served model, decision and route, costs), so
``python -m litellm_adapter costs --shared-state redis://...`` prints one summary for every
replica. Rows are sent in the replica's background sync, a fraction of a second later.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import deque
from typing import Any, Iterable, Mapping

from litellm.integrations.custom_logger import CustomLogger
from routellm_plugins.errors import ConfigError

from litellm_adapter.decisions import record_in_request

COST_LOG_ENV = "ROUTELLM_COST_LOG"


def _usage_tokens(kwargs: Mapping[str, Any], response_obj: Any) -> tuple[int, int]:
    slo = kwargs.get("standard_logging_object") or {}
    pt, ct = slo.get("prompt_tokens"), slo.get("completion_tokens")
    if pt is None or ct is None:
        usage = getattr(response_obj, "usage", None) or (response_obj.get("usage") if isinstance(response_obj, dict) else None) or {}
        get = usage.get if isinstance(usage, dict) else (lambda k, d=None: getattr(usage, k, d))
        pt, ct = get("prompt_tokens", 0), get("completion_tokens", 0)
    return int(pt or 0), int(ct or 0)


def _price(pair: Any, pt: int, ct: int) -> float | None:
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or None in pair:
        return None
    return pt * float(pair[0]) + ct * float(pair[1])


def _same_model(a: Any, b: Any) -> bool:
    """True when two LiteLLM model names name one model (``openai/gpt-4o`` and ``gpt-4o`` do)."""
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    return a == b or a.rsplit("/", 1)[-1] == b.rsplit("/", 1)[-1]


def cost_row(record: Mapping[str, Any], prompt_tokens: int, completion_tokens: int, cost: float | None,
             served: str | None = None, call_id: str | None = None) -> dict[str, Any]:
    """One request's row: the decision, the model that served it, tokens, actual cost, baseline cost and the saving.

    ``cost`` is what LiteLLM charged for the served model (None: the decided model's price is used);
    ``rerouted`` is True when a LiteLLM fallback served another model than the decision chose.
    """
    served = served or record.get("served")
    targets = record.get("target_models") or [record.get("served")]
    if cost is None:
        cost = _price(record.get("cost_per_token"), prompt_tokens, completion_tokens)
    baseline = _price(record.get("baseline_cost_per_token"), prompt_tokens, completion_tokens)
    return {
        "call_id": call_id,
        "route": record.get("route"),
        "model": record.get("model"),
        "target": record.get("target"),
        "served": served,
        "rerouted": not any(_same_model(served, t) for t in targets),
        "fallback": bool(record.get("fallback")),
        "sticky": bool(record.get("sticky")),
        "score": record.get("score"),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost": cost,
        "baseline_model": record.get("baseline_model"),
        "baseline_cost": baseline,
        "saved": None if baseline is None or cost is None else baseline - cost,
    }


def summarize(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Totals over rows: requests counted by the model that served them and by decision, reroutes, fallbacks, costs, saved.

    ``by_served`` counts each request under the LiteLLM model that answered it (a LiteLLM fallback
    can serve another model than the decision chose); ``by_decision`` under the controller key chosen.
    """
    n = fallbacks = rerouted = unpriced = 0
    by_served: dict[str, int] = {}
    by_decision: dict[str, int] = {}
    cost = baseline = 0.0
    for r in rows:
        n += 1
        served, key = str(r.get("served")), str(r.get("model"))
        by_served[served] = by_served.get(served, 0) + 1
        by_decision[key] = by_decision.get(key, 0) + 1
        fallbacks += bool(r.get("fallback"))
        rerouted += bool(r.get("rerouted"))
        if r.get("cost") is None or r.get("baseline_cost") is None:
            unpriced += 1
            continue
        cost += float(r["cost"])
        baseline += float(r["baseline_cost"])
    saved = baseline - cost
    return {
        "requests": n,
        "by_served": dict(sorted(by_served.items())),
        "by_decision": dict(sorted(by_decision.items())),
        "rerouted": rerouted,
        "fallbacks": fallbacks,
        "unpriced": unpriced,
        "cost": cost,
        "baseline_cost": baseline,
        "saved": saved,
        "saved_pct": (100.0 * saved / baseline) if baseline > 0 else 0.0,
    }


def row_counts(row: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, float]]:
    """One row as increments of the fleet's cost counters: (integer fields, float fields); :func:`fleet_summary_of` reads them back."""
    ints = {"requests": 1, f"served:{row.get('served')}": 1, f"decision:{row.get('model')}": 1, f"route:{row.get('route')}": 1}
    for field, flag in (("fallbacks", row.get("fallback")), ("rerouted", row.get("rerouted"))):
        if flag:
            ints[field] = 1
    if row.get("cost") is None or row.get("baseline_cost") is None:
        ints["unpriced"] = 1
        return ints, {}
    return ints, {"cost": float(row["cost"]), "baseline_cost": float(row["baseline_cost"])}


def fleet_summary_of(counts: Mapping[str, float]) -> dict[str, Any]:
    """The fleet's cost counters (a Redis hash, decoded) as a :func:`summarize` dict, plus ``by_route``."""
    def group(prefix: str) -> dict[str, int]:
        return dict(sorted((k[len(prefix):], int(v)) for k, v in counts.items() if k.startswith(prefix)))

    cost, baseline = float(counts.get("cost", 0.0)), float(counts.get("baseline_cost", 0.0))
    saved = baseline - cost
    return {
        "requests": int(counts.get("requests", 0)),
        "by_served": group("served:"),
        "by_decision": group("decision:"),
        "by_route": group("route:"),
        "rerouted": int(counts.get("rerouted", 0)),
        "fallbacks": int(counts.get("fallbacks", 0)),
        "unpriced": int(counts.get("unpriced", 0)),
        "cost": cost,
        "baseline_cost": baseline,
        "saved": saved,
        "saved_pct": (100.0 * saved / baseline) if baseline > 0 else 0.0,
    }


def fleet_summary(shared_state: Any) -> dict[str, Any]:
    """The fleet's cost summary from Redis; ``shared_state`` is a route's setting (URL, os.environ/NAME or mapping).

    Raises ConfigError for a bad setting and ConnectionError when Redis cannot be reached.
    """
    from routellm_plugins.shared_state import COSTS, RedisLink, Unavailable, decode_counts, parse_shared_state

    config = parse_shared_state(shared_state)
    if config is None:
        raise ConfigError("fleet_summary needs a shared_state setting (a Redis URL), got None")
    link = RedisLink(config)
    try:
        raw = link.call(lambda r: r.hgetall(f"{config.prefix}:{COSTS}"))
    except Unavailable as exc:
        raise ConnectionError(f"{exc} at {config.shown_url}") from None
    finally:
        link.close()
    return fleet_summary_of(decode_counts(raw))


def format_summary(s: Mapping[str, Any]) -> str:
    """The summary as a few human-readable lines (with the request count per route for a fleet summary)."""
    served = ", ".join(f"{k}: {v}" for k, v in s["by_served"].items()) or "none"
    decided = ", ".join(f"{k}: {v}" for k, v in s["by_decision"].items()) or "none"
    routes = ", ".join(f"{k}: {v}" for k, v in s.get("by_route", {}).items())
    return (
        f"routed requests: {s['requests']}" + (f" (routes: {routes})" if routes else "") + "\n"
        f"  served by: {served}\n"
        f"  decided:   {decided} (router fallbacks: {s['fallbacks']}; served by another model after a LiteLLM fallback: "
        f"{s['rerouted']}; unpriced: {s['unpriced']})\n"
        f"cost: ${s['cost']:.6f}  all-baseline cost: ${s['baseline_cost']:.6f}  "
        f"saved: ${s['saved']:.6f} ({s['saved_pct']:.1f}%)"
    )


class CostTracker(CustomLogger):
    """Records every successful routed call (one row per call) and keeps the last ``max_rows``.

    A call counts as routed only when the server's own decision record is found for it (see
    :mod:`litellm_adapter.decisions`); prices come from that record and LiteLLM's ``response_cost``,
    never from the request. ``log_path`` (default: the ``ROUTELLM_COST_LOG`` variable, read on first use) appends each
    row as a JSON line. Calls that were not routed are ignored.
    """

    def __init__(self, log_path: str | os.PathLike[str] | None = None, max_rows: int = 100_000, name: str | None = None) -> None:
        super().__init__()
        #: public and unique, so LiteLLM's callback manager (which de-duplicates loggers by class
        #: name plus public str/int/bool attributes) keeps every tracker instance registered
        self.name = name or f"routellm-costs-{uuid.uuid4().hex[:12]}"
        self._rows: deque[dict[str, Any]] = deque(maxlen=max_rows)
        self._lock = threading.Lock()
        self._log_path: str | None = None if log_path is None else os.fspath(log_path)
        self._log_path_resolved = log_path is not None
        self._fleet: dict[str, Any] = {}  # route name -> SharedState of routes with shared_state

    def watch_routes(self, routes: Mapping[str, Any]) -> None:
        """Also add the rows of these routes (name -> Route) to their fleet's counters when they use shared_state."""
        fleet = {name: getattr(route.controller, "shared", None) for name, route in routes.items()}
        with self._lock:
            self._fleet.update({name: state for name, state in fleet.items() if state is not None})

    # ---- rows ---------------------------------------------------------------------------
    def _add(self, kwargs: Mapping[str, Any], response_obj: Any) -> None:
        record = record_in_request(kwargs)
        if record is None:
            return
        pt, ct = _usage_tokens(kwargs, response_obj)
        cost = kwargs.get("response_cost")
        slo = kwargs.get("standard_logging_object") or {}
        if cost is None:
            cost = slo.get("response_cost")
        served = slo.get("model") or kwargs.get("model")
        try:
            cost = None if cost is None else float(cost)
        except (TypeError, ValueError):
            cost = None
        row = cost_row(record, pt, ct, cost, served if isinstance(served, str) else None, kwargs.get("litellm_call_id"))
        with self._lock:
            fleet = self._fleet.get(str(row["route"]))
        if fleet is not None:
            from routellm_plugins.shared_state import COSTS

            fleet.count(COSTS, *row_counts(row))
        with self._lock:
            self._rows.append(row)
            path = self._path()
            if path:
                with open(path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row) + "\n")

    def _path(self) -> str | None:
        if not self._log_path_resolved:
            self._log_path = os.environ.get(COST_LOG_ENV) or None
            self._log_path_resolved = True
        return self._log_path

    @property
    def rows(self) -> list[dict[str, Any]]:
        """A copy of the recorded rows, oldest first."""
        with self._lock:
            return list(self._rows)

    def summary(self) -> dict[str, Any]:
        """Totals over the recorded rows (see :func:`summarize`)."""
        return summarize(self.rows)

    def reset(self) -> None:
        """Forget the recorded rows."""
        with self._lock:
            self._rows.clear()

    # ---- LiteLLM callback hooks ---------------------------------------------------------
    def log_success_event(self, kwargs, response_obj, start_time, end_time):  # noqa: D401 - LiteLLM hook
        self._add(kwargs, response_obj)

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self._add(kwargs, response_obj)


_DEFAULT: CostTracker | None = None
_DEFAULT_LOCK = threading.Lock()


def default_tracker() -> CostTracker:
    """The process-wide tracker used by :func:`track_costs`, :func:`summary` and the proxy entry."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = CostTracker()
        return _DEFAULT


def track_costs(tracker: CostTracker | None = None) -> CostTracker:
    """Register ``tracker`` (default: the shared one) in ``litellm.callbacks`` once; returns it."""
    import litellm

    tracker = tracker or default_tracker()
    if not any(cb is tracker for cb in litellm.callbacks):
        litellm.callbacks.append(tracker)
    return tracker


def untrack_costs(tracker: CostTracker) -> None:
    """Remove ``tracker`` from every LiteLLM callback list it was registered in."""
    import litellm

    litellm.logging_callback_manager.remove_callback_from_all_lists(tracker)


def summary() -> dict[str, Any]:
    """Cost saved so far by routed calls in this process (the shared tracker)."""
    return default_tracker().summary()


def read_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows of a JSONL cost log; a bad line raises ValueError naming the file and line number."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{str(path)!r} line {i} is not JSON: {exc}") from None
    return rows
