"""The LiteLLM proxy entry, named from ``config.yaml`` with no Python of the user's own:

    litellm_settings:
      callbacks: ["litellm_adapter.proxy.callback"]

:class:`RouteLLMProxyCallback` is a LiteLLM ``CustomLogger``. Its ``async_filter_deployments``
hook runs inside the Router's deployment selection: for a routed model group it scores the
request and keeps only the chosen key's deployments, so LiteLLM makes exactly one provider call
(one cost, one spend row) and its own retries, cooldowns and ``fallbacks`` apply. Other model
groups pass through untouched. It also sets the ``x-routellm-*`` response headers and records
the cost saved (see :mod:`litellm_adapter.costs`).

Why a callback and not ``router_settings.plugins``: in LiteLLM 1.106 a routing plugin's
narrowing is kept in the request metadata across ``fallbacks`` hops, so a fallback to another
model group finds no deployment; the callback hook filters each hop afresh.
"""

from __future__ import annotations

import threading
from typing import Any

from litellm_adapter.costs import CostTracker, cost_row
from litellm_adapter.decisions import RECORD_KEY, STORE, adecide, make_record, record_headers, record_in_request
from litellm_adapter.routes import Route, build_route, discover_routes


def _metadata(request_kwargs: dict[str, Any]) -> dict[str, Any]:
    key = "litellm_metadata" if isinstance(request_kwargs.get("litellm_metadata"), dict) else "metadata"
    md = request_kwargs.get(key)
    if not isinstance(md, dict):
        md = request_kwargs[key] = {}
    return md


class RouteLLMProxyCallback(CostTracker):
    """Routes each routed model group by prompt inside LiteLLM's (async) deployment selection.

    ``router`` is the ``litellm.Router`` whose ``model_list`` declares the routes; in the proxy it
    is the proxy's own router, found on first use. A route is rebuilt when its group's deployments
    change; a bad route raises ConfigError naming the value on each request to it.
    """

    def __init__(self, router: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._router = router
        self._cache: dict[str, tuple[tuple, Route | None | Exception]] = {}
        self._cache_lock = threading.Lock()

    def _litellm_router(self) -> Any:
        if self._router is not None:
            return self._router
        from litellm.proxy import proxy_server  # only reached inside the proxy

        return getattr(proxy_server, "llm_router", None)

    def route_for(self, group: Any) -> Route | None:
        """The route for model group ``group``, or None if it is not routed."""
        router = self._litellm_router()
        if not isinstance(group, str) or router is None:
            return None
        deps = router.get_model_list(model_name=group) or []
        signature = tuple(((d.get("model_info") or {}).get("id"), d["litellm_params"].get("model")) for d in deps)
        with self._cache_lock:
            cached = self._cache.get(group)
        if cached is None or cached[0] != signature:
            try:
                specs = discover_routes(deps)
                value: Route | None | Exception = build_route(group, specs[group], deps, allow_groups=False) if group in specs else None
            except Exception as exc:  # noqa: BLE001 - kept, and raised on each request to this group
                value = exc
            cached = (signature, value)
            with self._cache_lock:
                self._cache[group] = cached
        if isinstance(cached[1], Exception):
            raise cached[1]
        return cached[1]

    async def async_filter_deployments(self, model, healthy_deployments, messages, request_kwargs=None, parent_otel_span=None):
        """Keep the deployments of the key the controller picks for this request (routed groups only)."""
        route = self.route_for(model)
        if route is None or request_kwargs is None:
            return healthy_deployments
        md = _metadata(request_kwargs)
        record = md.get(RECORD_KEY)
        if not (isinstance(record, dict) and record.get("route") == route.name):
            # first attempt on this route: decide (a retry on the same route keeps the decision)
            session = request_kwargs.get("litellm_session_id") or md.get("session_id")
            decision = await adecide(route, messages, session if isinstance(session, str) else None)
            record = make_record(route, decision)
            md[RECORD_KEY] = record
            call_id = request_kwargs.get("litellm_call_id")
            if isinstance(call_id, str):
                STORE.put(call_id, record)  # the proxy's header hook may see a copy of the metadata
        allowed = set(route.target(record["model"]).litellm_models)
        return [d for d in healthy_deployments if (d.get("litellm_params") or {}).get("model") in allowed]

    async def async_post_call_response_headers_hook(self, data, user_api_key_dict, response, request_headers=None, litellm_call_info=None):
        """Proxy hook: ``x-routellm-*`` headers naming the served model and the decision (plus costs when known)."""
        record = record_in_request(data) or STORE.get(data.get("litellm_call_id"))
        if record is None:
            return None
        hidden = getattr(response, "_hidden_params", None)
        hidden = hidden if hasattr(hidden, "get") else {}
        served = hidden.get("litellm_model_name")  # the deployment that answered (after any fallback)
        headers = record_headers(record, served if isinstance(served, str) else None)
        usage = getattr(response, "usage", None)
        if usage is not None and getattr(usage, "prompt_tokens", None) is not None:
            cost = hidden.get("response_cost")
            row = cost_row(record, int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0), None if cost is None else float(cost))
            if row["baseline_cost"] is not None and row["cost"] is not None:
                headers["x-routellm-cost"] = f"{row['cost']:.6g}"
                headers["x-routellm-baseline-cost"] = f"{row['baseline_cost']:.6g}"
                headers["x-routellm-saved"] = f"{row['saved']:.6g}"
        return headers


#: ``litellm_settings.callbacks: ["litellm_adapter.proxy.callback"]``
callback = RouteLLMProxyCallback()
