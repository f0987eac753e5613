"""litellm_adapter: prompt-based strong/weak (or pool) routing for LiteLLM, by routellm_plugins.

SDK: :func:`install_routing` puts a :class:`RouteLLMStrategy` on a ``litellm.Router``;
:func:`router_from_config` builds a routed Router from a proxy ``config.yaml``.
Proxy: ``litellm_settings.callbacks: ["litellm_adapter.proxy.callback"]`` in ``config.yaml``
(see ``litellm_adapter.proxy``); a route entry is ``litellm_params.model: routellm/router`` with
``model_info.routellm: {models: {strong: <group>, weak: <group>}}`` (see ``litellm_adapter.routes``).
Cost saved: :func:`summary` / :class:`CostTracker`.
Importing this package imports nothing heavy (not even litellm) until a name is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CostTracker": "costs",
    "format_summary": "costs",
    "summarize": "costs",
    "summary": "costs",
    "track_costs": "costs",
    "untrack_costs": "costs",
    "check_proxy_config": "config",
    "router_from_config": "config",
    "decision_of": "decisions",
    "input_text": "messages",
    "routing_text": "messages",
    "register_provider": "marker",
    "Route": "routes",
    "Target": "routes",
    "build_route": "routes",
    "build_routes": "routes",
    "RouteLLMStrategy": "strategy",
    "install_routing": "strategy",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'litellm_adapter' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"litellm_adapter.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
