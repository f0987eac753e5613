"""LiteLLM proxy ``config.yaml`` files: build an SDK Router from one, and check one before serving it.

CLI: ``python -m litellm_adapter check CONFIG.yaml`` prints the routes it declares or the error.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Mapping

from routellm_plugins import ConfigError
from routellm_plugins.controller import read_config

from litellm_adapter.redact import show
from litellm_adapter.routes import MARKER_PREFIX, Route, build_routes, is_marker

CALLBACK_PATH = "litellm_adapter.proxy.callback"
MARKER_HANDLER_PATH = "litellm_adapter.marker.handler"


def read_yaml(config: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """A YAML/JSON file (or a mapping) as a dict; a missing, unreadable or non-mapping file raises ConfigError naming it."""
    return read_config(config)


def _model_list(cfg: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    ml = cfg.get("model_list")
    if not isinstance(ml, list) or not ml:
        raise ConfigError(f"{where}: needs a non-empty 'model_list:' list, got {show(ml)}")
    return ml


def _where(config: Any) -> str:
    return f"config {str(config)!r}" if isinstance(config, (str, os.PathLike)) else "config"


def router_from_config(config: str | os.PathLike[str] | Mapping[str, Any], **router_kwargs: Any) -> Any:
    """A ``litellm.Router`` built from a proxy ``config.yaml`` (model_list + router_settings), routing installed.

    In the SDK the routes run through :class:`~litellm_adapter.strategy.RouteLLMStrategy` (sync and
    async); ``litellm_settings`` (the proxy's callback) is not applied, and the ``routellm``
    provider of route marker entries is registered with LiteLLM here.
    """
    import litellm

    from litellm_adapter.strategy import install_routing

    cfg = read_yaml(config)
    where = _where(config)
    model_list = copy.deepcopy(_model_list(cfg, where))
    if any(is_marker(d) for d in model_list if isinstance(d, Mapping)):
        from litellm_adapter.marker import register_provider

        register_provider()
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

    Checks: the YAML parses; routes (``routellm/...`` marker entries, ``model_info.routellm``, or
    ``router-<name>-<threshold>`` names) name known routers, valid thresholds, existing model groups
    and one model per key; ``litellm_settings.callbacks`` lists the routing callback and, with
    marker entries, ``custom_provider_map`` registers the ``routellm`` provider; ``fallbacks``
    name known models.
    """
    cfg = read_yaml(config)
    where = _where(config)
    model_list = _model_list(cfg, where)
    routes = build_routes(model_list, None)
    if not routes:
        raise ConfigError(f"{where}: no routed model: add a model_list entry with litellm_params.model: {MARKER_PREFIX}router and "
                          "model_info.routellm: {models: {strong: <group>, weak: <group>}}")
    settings = cfg.get("router_settings") or {}
    if not isinstance(settings, Mapping):
        raise ConfigError(f"{where}: router_settings must be a mapping, got {show(settings)}")
    ls = cfg.get("litellm_settings") or {}
    callbacks = ls.get("callbacks") if isinstance(ls, Mapping) else None
    if not isinstance(callbacks, list) or CALLBACK_PATH not in callbacks:
        raise ConfigError(f"{where}: litellm_settings.callbacks must list {CALLBACK_PATH!r} for routing to run; got {show(callbacks)}")
    if any(is_marker(d) for d in model_list if isinstance(d, Mapping)):
        providers = ls.get("custom_provider_map") if isinstance(ls, Mapping) else None
        registered = isinstance(providers, list) and any(
            isinstance(p, Mapping) and p.get("provider") == "routellm" and p.get("custom_handler") == MARKER_HANDLER_PATH for p in providers)
        if not registered:
            raise ConfigError(f"{where}: model_list has {MARKER_PREFIX}... route entries, so litellm_settings.custom_provider_map must "
                              f"register them: [{{provider: routellm, custom_handler: {MARKER_HANDLER_PATH}}}]")
    names = {d.get("model_name") for d in model_list if isinstance(d, Mapping)}
    for entry in settings.get("fallbacks") or []:
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: each fallbacks entry must map a model to a list of models, got {show(entry)}")
        for src, dsts in entry.items():
            for m in [src, *(dsts if isinstance(dsts, list) else [dsts])]:
                if m not in names:
                    raise ConfigError(f"{where}: fallbacks name unknown model {show(m)}; models: {sorted(n for n in names if n)}")
    return routes


def describe(routes: Mapping[str, Route]) -> str:
    """One line per route and key: the model serving it and its price per million tokens."""
    lines = []
    for route in routes.values():
        c = route.controller
        op = f"lam={c.threshold:.4g}" if c.policy is not None else f"threshold={c.current_threshold:.4g}"
        lines.append(f"{route.name}: router={c.router.name} {op} fallback={c.fallback} sticky_sessions={c.sticky_policy} "
                     f"route_on={route.route_on} baseline={route.baseline}")
        shared = getattr(c, "shared", None)
        if shared is not None:
            lines.append(f"  shared_state: {shared.config.shown_url} keys {shared.config.prefix}:{shared.scope}:*")
        for key, t in route.targets.items():
            price = "unpriced" if not t.priced else f"${t.input_cost_per_token * 1e6:.3g}/${t.output_cost_per_token * 1e6:.3g} per 1M in/out"  # type: ignore[operator]
            where = f"model group {t.group}" if t.group else f"deployment {t.litellm_model}"
            lines.append(f"  {key:>8} -> {where} ({price})")
    return "\n".join(lines)
