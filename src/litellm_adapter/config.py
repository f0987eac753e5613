"""LiteLLM proxy ``config.yaml`` files: build an SDK Router from one, and check one before serving it.

CLI: ``python -m litellm_adapter check CONFIG.yaml`` prints the routes it declares or the error.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Mapping

from routellm_plugins import ConfigError
from routellm_plugins.controller import read_config

from litellm_adapter.routes import Route, build_routes

CALLBACK_PATH = "litellm_adapter.proxy.callback"


def read_yaml(config: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """A YAML/JSON file (or a mapping) as a dict; a missing, unreadable or non-mapping file raises ConfigError naming it."""
    return read_config(config)


def _model_list(cfg: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    ml = cfg.get("model_list")
    if not isinstance(ml, list) or not ml:
        raise ConfigError(f"{where}: needs a non-empty 'model_list:' list, got {ml!r:.80}")
    return ml


def _where(config: Any) -> str:
    return f"config {str(config)!r}" if isinstance(config, (str, os.PathLike)) else "config"


def router_from_config(config: str | os.PathLike[str] | Mapping[str, Any], **router_kwargs: Any) -> Any:
    """A ``litellm.Router`` built from a proxy ``config.yaml`` (model_list + router_settings), routing installed.

    In the SDK the routes run through :class:`~litellm_adapter.strategy.RouteLLMStrategy` (sync and
    async); ``litellm_settings`` (the proxy's callback) is not applied.
    """
    import litellm

    from litellm_adapter.strategy import install_routing

    cfg = read_yaml(config)
    where = _where(config)
    model_list = copy.deepcopy(_model_list(cfg, where))
    settings = dict(cfg.get("router_settings") or {})
    valid = set(litellm.Router.get_valid_args())
    unknown = sorted(set(settings) - valid)
    if unknown:
        raise ConfigError(f"{where}: router_settings has key(s) {unknown} that litellm.Router does not take")
    router = litellm.Router(model_list=model_list, **{**settings, **router_kwargs})
    install_routing(router)
    return router


def check_proxy_config(config: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Route]:
    """Validate a proxy ``config.yaml`` for routing and return its routes; errors name the bad value.

    Checks: the YAML parses; routed models (``router-<name>-<threshold>`` names or
    ``model_info.routellm``) name known routers, valid thresholds and one deployment per key;
    ``litellm_settings.callbacks`` lists the routing callback; ``fallbacks`` name known models.
    """
    cfg = read_yaml(config)
    where = _where(config)
    model_list = _model_list(cfg, where)
    routes = build_routes(model_list, None, allow_groups=False)
    if not routes:
        raise ConfigError(f"{where}: no routed model: name a model_list entry 'router-<router>-<threshold>' or give it model_info.routellm")
    settings = cfg.get("router_settings") or {}
    if not isinstance(settings, Mapping):
        raise ConfigError(f"{where}: router_settings must be a mapping, got {settings!r:.80}")
    ls = cfg.get("litellm_settings") or {}
    callbacks = ls.get("callbacks") if isinstance(ls, Mapping) else None
    if not isinstance(callbacks, list) or CALLBACK_PATH not in callbacks:
        raise ConfigError(f"{where}: litellm_settings.callbacks must list {CALLBACK_PATH!r} for routing to run; got {callbacks!r}")
    names = {d.get("model_name") for d in model_list if isinstance(d, Mapping)}
    for entry in settings.get("fallbacks") or []:
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: each fallbacks entry must map a model to a list of models, got {entry!r:.80}")
        for src, dsts in entry.items():
            for m in [src, *(dsts if isinstance(dsts, list) else [dsts])]:
                if m not in names:
                    raise ConfigError(f"{where}: fallbacks name unknown model {m!r}; models: {sorted(n for n in names if n)}")
    return routes


def describe(routes: Mapping[str, Route]) -> str:
    """One line per route and key: the model serving it and its price per million tokens."""
    lines = []
    for route in routes.values():
        c = route.controller
        lines.append(f"{route.name}: router={c.router.name} threshold={c.current_threshold:.4g} fallback={c.fallback} baseline={route.baseline}")
        for key, t in route.targets.items():
            price = "unpriced" if not t.priced else f"${t.input_cost_per_token * 1e6:.3g}/${t.output_cost_per_token * 1e6:.3g} per 1M in/out"  # type: ignore[operator]
            lines.append(f"  {key:>8} -> {t.group or t.litellm_model} ({price})")
    return "\n".join(lines)
