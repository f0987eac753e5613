"""The LiteLLM proxy entry, named from ``config.yaml`` with no Python of the user's own:

    litellm_settings:
      callbacks: ["litellm_adapter.proxy.callback"]
      custom_provider_map: [{provider: routellm, custom_handler: litellm_adapter.marker.handler}]

:class:`RouteLLMProxyCallback` is a LiteLLM ``CustomLogger``:

- ``async_pre_call_hook`` (once per request, before LiteLLM's router): drops any decision record
  or token a client put in its metadata, decides the request's route, stores the decision on the
  server and, for a route to model groups, sends the request to the chosen group. That group's
  own fallbacks, retries, rate limits and spend tracking then apply unchanged.
- ``async_filter_deployments`` (inside deployment selection): for a route over its own
  deployments, keeps only the chosen key's deployments (one provider call, one spend row);
  retries and fallback hops reuse the stored decision.
- ``async_post_call_response_headers_hook``: the ``x-routellm-*`` headers; the success events
  write the cost log (see :mod:`litellm_adapter.costs`).
- ``async_post_call_failure_hook``: a key that is not the master key on a proxy without a key
  database gets 401 (see :mod:`litellm_adapter.proxy_guard`).

What the proxy trusts: the route config and prices in ``config.yaml``, LiteLLM's price map, the
provider's token counts. Not trusted: anything in the request body besides the model name and
the text routed on; a client's session id only selects its own conversation (scoped by API key).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from routellm_plugins.errors import RouteLLMError

from litellm_adapter.costs import CostTracker, cost_row
from litellm_adapter.decisions import adecide, attach, drop_client_keys, make_record, record_headers, record_in_request, served_model
from litellm_adapter.proxy_guard import auth_error_for, install_request_guard
from litellm_adapter.routes import Route, build_route, discover_routes


#: Call types a route decides (chat completions, the Responses API, Anthropic /v1/messages); others reach the marker, which refuses them.
ROUTED_CALL_TYPES = frozenset({"completion", "acompletion", "responses", "aresponses", "anthropic_messages"})


def _bucket(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    md = data.get("litellm_metadata") if isinstance(data.get("litellm_metadata"), dict) else data.get("metadata")
    return md if isinstance(md, dict) else {}


def session_of(data: Any) -> str | None:
    """The conversation id of a proxy request (LiteLLM's ``litellm_session_id`` or ``metadata.session_id``), scoped by API key."""
    if not isinstance(data, dict):
        return None
    md = _bucket(data)
    sid = data.get("litellm_session_id")
    if not isinstance(sid, str) or not sid:
        sid = md.get("session_id")
    if not isinstance(sid, str) or not sid:
        return None
    owner = md.get("user_api_key_hash")  # set by the proxy's key check, not by the client
    return f"{owner[:24]}:{sid}" if isinstance(owner, str) and owner else sid


def _usage(response: Any) -> tuple[int, int] | None:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    pt = getattr(usage, "prompt_tokens", None)
    ct = getattr(usage, "completion_tokens", None)
    if pt is None:  # Responses API
        pt, ct = getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None)
    if not isinstance(pt, int) or not isinstance(ct, (int, type(None))):
        return None
    return int(pt), int(ct or 0)


class RouteLLMProxyCallback(CostTracker):
    """Routes each routed model name by prompt, inside the proxy (see the module docstring).

    ``router`` is the ``litellm.Router`` whose ``model_list`` declares the routes; in the proxy it
    is the proxy's own router, found on first use. Routes are rebuilt when the ``model_list``
    changes; a bad route raises ConfigError naming the value on each request to it.
    """

    def __init__(self, router: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._router = router
        self._routes: tuple[tuple, dict[str, Route | Exception]] | None = None
        self._routes_lock = threading.Lock()

    def _litellm_router(self) -> Any:
        if self._router is not None:
            return self._router
        proxy_server = sys.modules.get("litellm.proxy.proxy_server")  # only loaded inside the proxy
        return getattr(proxy_server, "llm_router", None)

    def _all_routes(self) -> dict[str, Route | Exception]:
        router = self._litellm_router()
        if router is None:
            return {}
        model_list = router.get_model_list() or []
        signature = tuple(((d.get("model_info") or {}).get("id"), d.get("model_name"), (d.get("litellm_params") or {}).get("model"))
                          for d in model_list)
        cached = self._routes
        if cached is not None and cached[0] == signature:
            return cached[1]
        with self._routes_lock:
            if self._routes is not None and self._routes[0] == signature:
                return self._routes[1]
            routes: dict[str, Route | Exception] = {}
            try:
                specs = discover_routes(model_list)
            except RouteLLMError as exc:
                specs, routes["*"] = {}, exc
            for name, spec in specs.items():
                try:
                    routes[name] = build_route(name, spec, model_list)
                except Exception as exc:  # noqa: BLE001 - kept, and raised on each request to this route
                    routes[name] = exc
            self._routes = (signature, routes)
            self.watch_routes({n: r for n, r in routes.items() if isinstance(r, Route)})  # fleet cost counters (shared_state)
            return routes

    def route_for(self, group: Any) -> Route | None:
        """The route for model name ``group``, or None if it is not routed (a misconfigured route raises its error)."""
        if not isinstance(group, str):
            return None
        routes = self._all_routes()
        value = routes.get(group)
        if value is None and "*" in routes and isinstance(routes["*"], Exception):
            raise routes["*"]
        if isinstance(value, Exception):
            raise value
        return value

    # ---- request hooks ------------------------------------------------------------------
    async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type):
        """Drop client-supplied routing keys; decide routed requests once and send group routes to the chosen group."""
        if not isinstance(data, dict):
            return data
        drop_client_keys(data)
        route = self.route_for(data.get("model"))
        if route is None or getattr(call_type, "value", call_type) not in ROUTED_CALL_TYPES:
            return data
        decision = await adecide(route, data.get("messages"), session_of(data), data.get("input"))
        attach(data, make_record(route, decision))
        target = route.target(decision.model)
        if target.group is not None:
            data["model"] = target.group
        return data

    async def async_filter_deployments(self, model, healthy_deployments, messages, request_kwargs=None, parent_otel_span=None):
        """Keep the deployments of the key chosen for this request (routes over their own deployments only)."""
        route = self.route_for(model)
        if route is None or request_kwargs is None:
            return healthy_deployments
        record = record_in_request(request_kwargs)
        if record is None or record.get("route") != route.name:
            # no decision yet (a LiteLLM fallback hop into this route): decide now, keep it for retries
            decision = await adecide(route, messages, session_of(request_kwargs), request_kwargs.get("input"))
            record = make_record(route, decision)
            attach(request_kwargs, record)
        target = route.target(record["model"])
        if target.group is not None:
            return healthy_deployments
        allowed = set(target.litellm_models)
        return [d for d in healthy_deployments if (d.get("litellm_params") or {}).get("model") in allowed]

    async def async_post_call_response_headers_hook(self, data, user_api_key_dict, response, request_headers=None, litellm_call_info=None):
        """``x-routellm-*`` headers naming the served model and the decision (plus costs when known)."""
        record = record_in_request(data)
        if record is None:
            return None
        headers = record_headers(record, served_model(response))
        tokens = _usage(response)
        if tokens is not None:
            hidden = getattr(response, "_hidden_params", None)
            cost = hidden.get("response_cost") if hasattr(hidden, "get") else None
            try:
                cost = None if cost is None else float(cost)
            except (TypeError, ValueError):
                cost = None
            row = cost_row(record, tokens[0], tokens[1], cost, served_model(response))
            if row["baseline_cost"] is not None and row["cost"] is not None:
                headers["x-routellm-cost"] = f"{row['cost']:.6g}"
                headers["x-routellm-baseline-cost"] = f"{row['baseline_cost']:.6g}"
                headers["x-routellm-saved"] = f"{row['saved']:.6g}"
        return headers

    async def async_post_call_failure_hook(self, request_data, original_exception, user_api_key_dict, traceback_str=None):
        """401 instead of LiteLLM's 400 "No connected db" for a key that is not the master key."""
        return auth_error_for(original_exception)


_CALLBACK: RouteLLMProxyCallback | None = None
_CALLBACK_LOCK = threading.Lock()


def proxy_callback() -> RouteLLMProxyCallback:
    """The proxy's callback (one per process). Inside a running proxy it also installs the request guard."""
    global _CALLBACK
    with _CALLBACK_LOCK:
        if _CALLBACK is None:
            _CALLBACK = RouteLLMProxyCallback()
            proxy_server = sys.modules.get("litellm.proxy.proxy_server")
            if proxy_server is not None and getattr(proxy_server, "app", None) is not None:
                install_request_guard(proxy_server.app)
        return _CALLBACK


def __getattr__(name: str) -> Any:
    # ``litellm_settings.callbacks: ["litellm_adapter.proxy.callback"]``: built when the proxy asks for it
    if name == "callback":
        return proxy_callback()
    raise AttributeError(f"module 'litellm_adapter.proxy' has no attribute {name!r}")
