"""Routes: which model name is routed, by which controller, to which models, at what price.

A *route* is a model name callers ask for (``routellm``, ``router-mf-0.57``). Its targets map
each controller key (``strong``/``weak`` or pool members) to one of:

- **model groups** of the ``model_list``, named in the route config (``models: {strong: gpt-4o,
  weak: gpt-4o-mini}`` or ``pool: [gpt-4o, claude-3-haiku, ...]``): the route's own entry is a
  *marker* deployment (``litellm_params.model: routellm/<label>``) that is never called, like
  LiteLLM's ``auto_router/complexity_router``. The target groups keep their own fallbacks,
  retries, rate limits and spend tracking.
- **deployments of the route's own group**, tagged ``model_info.routellm_model: <key>`` or told
  apart by LiteLLM's price map (the older form, kept).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from routellm_plugins import ConfigError, RoutingController, parse_model_string
from routellm_plugins.decision import STRONG
from routellm_plugins.errors import UnknownModelError
from routellm_plugins.settings import CONTROLLER_SETTINGS, ROUTE_ON_LAST_USER

from litellm_adapter.messages import check_route_on
from litellm_adapter.redact import show

#: ``model_info`` key naming which controller key a deployment serves (``strong``, ``weak``, pool name).
ROLE_KEY = "routellm_model"
#: ``model_info`` key holding a route's routing config (on any one deployment of the routed group).
ROUTE_KEY = "routellm"
#: ``litellm_params.model`` prefix of a route's marker entry (never called: the route's targets answer).
MARKER_PREFIX = "routellm/"
#: ``model_info`` flag of the marker entries :func:`~litellm_adapter.install_routing` adds (their routes live in code, not in the model_list).
AUTO_MARKER_KEY = "routellm_auto_marker"
#: Route config keys read by the adapter itself; the controller settings go to the RoutingController.
ADAPTER_KEYS = frozenset({"models", "costs", "controller", "aliases", "route_on"})
#: Shared settings that do not apply to LiteLLM routes, with what to use instead.
NOT_FOR_LITELLM = {
    "failover": "LiteLLM retries a failing model itself: list the other model in router_settings.fallbacks "
                "(a route to model groups keeps each group's own fallbacks)",
}


@dataclass(frozen=True)
class Target:
    """Where one controller key is served: deployments of the routed group, or another model group."""

    key: str
    litellm_model: str
    deployment_ids: tuple[str, ...] = ()
    group: str | None = None
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    #: every litellm model serving this key (``litellm_model`` is the first)
    litellm_models: tuple[str, ...] = ()

    @property
    def priced(self) -> bool:
        return self.input_cost_per_token is not None and self.output_cost_per_token is not None

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Price of a call with these token counts, or None when the model has no known price."""
        if not self.priced:
            return None
        return prompt_tokens * self.input_cost_per_token + completion_tokens * self.output_cost_per_token  # type: ignore[operator]


@dataclass(frozen=True)
class Route:
    """A routed model name: its controller, a target per controller key, and the text it routes on."""

    name: str
    controller: RoutingController
    targets: Mapping[str, Target]
    baseline: str = STRONG
    route_on: str = ROUTE_ON_LAST_USER

    def target(self, key: str) -> Target:
        try:
            return self.targets[key]
        except KeyError:
            raise ConfigError(f"route {self.name!r}: controller returned key {key!r} with no target; targets: {sorted(self.targets)}") from None


# ---- prices --------------------------------------------------------------------------
def _number(value: Any, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{what} must be a number >= 0, got {show(value)}") from None
    if isinstance(value, bool) or math.isnan(v) or math.isinf(v) or v < 0:
        raise ConfigError(f"{what} must be a finite number >= 0, got {show(value)}")
    return v


def price_per_token(deployment: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """(input, output) USD per token of a deployment: its own ``*_cost_per_token``, else LiteLLM's price map."""
    params = deployment.get("litellm_params") or {}
    info = deployment.get("model_info") or {}
    if params.get("input_cost_per_token") is not None and params.get("output_cost_per_token") is not None:
        return _number(params["input_cost_per_token"], "input_cost_per_token"), _number(params["output_cost_per_token"], "output_cost_per_token")
    name = info.get("base_model") or params.get("model")
    return model_price(name) if isinstance(name, str) else (None, None)


def model_price(model: str) -> tuple[float | None, float | None]:
    """(input, output) USD per token from ``litellm.model_cost``, or (None, None) if unpriced."""
    import litellm

    entry = None
    for name in profile_candidates(model):  # "openai/gpt-4o", then "gpt-4o"
        entry = litellm.model_cost.get(name)
        if isinstance(entry, Mapping):
            break
    if not isinstance(entry, Mapping):
        return None, None
    i, o = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
    return (None if i is None else float(i)), (None if o is None else float(o))


# ---- model_list helpers ---------------------------------------------------------------
def _groups(model_list: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for i, dep in enumerate(model_list):
        if not isinstance(dep, Mapping):
            raise ConfigError(f"model_list entry {i} must be a mapping, got {type(dep).__name__}")
        name = dep.get("model_name")
        params = dep.get("litellm_params")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"model_list entry {i} needs a model_name, got {show(name)}")
        if not isinstance(params, Mapping) or not isinstance(params.get("model"), str):
            raise ConfigError(f"model_list entry {i} ({name!r}) needs litellm_params.model")
        info = dep.get("model_info")
        if info is not None and not isinstance(info, Mapping):
            raise ConfigError(f"model_list entry {i} ({name!r}): model_info must be a mapping, got {type(info).__name__}")
        groups.setdefault(name, []).append(dep)
    return groups


def _dep_model(dep: Mapping[str, Any]) -> str:
    return dep["litellm_params"]["model"]


def _dep_id(dep: Mapping[str, Any]) -> str | None:
    return (dep.get("model_info") or {}).get("id")


def is_marker(dep: Mapping[str, Any]) -> bool:
    """True for a route's marker entry (``litellm_params.model: routellm/...``), which is never called."""
    params = dep.get("litellm_params") if isinstance(dep, Mapping) else None
    model = params.get("model") if isinstance(params, Mapping) else None
    return isinstance(model, str) and model.startswith(MARKER_PREFIX)


#: The shape of RouteLLM's model string; a name of this shape is a route (and a bad router or threshold in it is an error).
_MODEL_STRING_SHAPE = re.compile(r"^router-[A-Za-z_][A-Za-z0-9_]*-[0-9.eE+-]+$")


def _is_model_string(name: str) -> bool:
    if not _MODEL_STRING_SHAPE.match(name):
        return False
    parse_model_string(name)  # raises UnknownRouterError / InvalidThresholdError naming the value
    return True


def _route_config_in_group(name: str, deps: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    found = [(d.get("model_info") or {}).get(ROUTE_KEY) for d in deps]
    found = [c for c in found if c is not None]
    if not found:
        return None
    for c in found:
        if not isinstance(c, Mapping):
            raise ConfigError(f"model {name!r}: model_info.{ROUTE_KEY} must be a mapping of routing settings, got {show(c)}")
    if any(dict(c) != dict(found[0]) for c in found[1:]):
        raise ConfigError(f"model {name!r}: deployments carry different model_info.{ROUTE_KEY} settings; give them once")
    return dict(found[0])


def discover_routes(model_list: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Routed model names of a ``model_list`` and their route configs.

    A group is routed when its entry is a marker (``litellm_params.model: routellm/...``), a
    deployment carries ``model_info.routellm`` (a route config), or its name is a RouteLLM model
    string (``router-mf-0.116``).
    """
    out: dict[str, dict[str, Any]] = {}
    for name, deps in _groups(model_list).items():
        if all((d.get("model_info") or {}).get(AUTO_MARKER_KEY) for d in deps):
            continue
        cfg = _route_config_in_group(name, deps)
        if cfg is not None:
            out[name] = cfg
        elif any(is_marker(d) for d in deps) or _is_model_string(name):
            out[name] = {}
        elif any(ROLE_KEY in (d.get("model_info") or {}) for d in deps):
            raise ConfigError(
                f"model {name!r} has deployments tagged model_info.{ROLE_KEY} but no router: name the model "
                f"'router-<router>-<threshold>' (e.g. 'router-mf-0.116') or add model_info.{ROUTE_KEY}: {{router: ...}}"
            )
    return out


# ---- building a route -------------------------------------------------------------------
def _check_keys(name: str, spec: Mapping[str, Any]) -> None:
    for key in spec:
        if key in NOT_FOR_LITELLM:
            raise ConfigError(f"route {name!r}: {key!r} does not apply to LiteLLM routes: {NOT_FOR_LITELLM[key]}")
    unknown = [k for k in spec if k not in ADAPTER_KEYS and k not in CONTROLLER_SETTINGS]
    if unknown:
        known = sorted(set(CONTROLLER_SETTINGS) | (ADAPTER_KEYS - {"controller"}))
        raise ConfigError(f"route {name!r}: unknown routing setting(s) {[show(k, limit=40) for k in unknown[:10]]}; known: {known}")


def _scoped(cfg: dict[str, Any], route: str) -> dict[str, Any]:
    """Controller settings whose ``shared_state`` (if any) is scoped to the route name, so each route has its own fleet state."""
    if cfg.get("shared_state") is not None:
        from routellm_plugins.shared_state import with_scope

        cfg["shared_state"] = with_scope(cfg["shared_state"], route)
    return cfg


def build_controller(name: str, spec: Mapping[str, Any], router: Any = None) -> RoutingController:
    """The route's controller: ``spec['controller']``, else one built from the controller settings.

    No ``router`` means the route's model string (``router-mf-0.57``) when its name is one, else the
    package default (:data:`routellm_plugins.registry.DEFAULT_ROUTER`, or ``uniroute`` for a pool).
    """
    given = spec.get("controller")
    if given is not None:
        if not isinstance(given, RoutingController):
            raise ConfigError(f"route {name!r}: controller must be a RoutingController, got {type(given).__name__}")
        return given
    cfg = _scoped({k: v for k, v in spec.items() if k in CONTROLLER_SETTINGS}, name)
    if router is not None:
        cfg = {k: v for k, v in cfg.items() if k not in ("router", "checkpoint", "embedder")}
        cfg["router"] = router
    elif "router" not in cfg and _MODEL_STRING_SHAPE.match(name):
        cfg["router"] = name  # the RouteLLM model string carries router and threshold
    return RoutingController.from_config(cfg)


def _target_from_deps(key: str, deps: Sequence[Mapping[str, Any]], group: str | None = None) -> Target:
    models = sorted({_dep_model(d) for d in deps})
    prices = {price_per_token(d) for d in deps}
    price = next(iter(prices)) if len(prices) == 1 else max(prices, key=lambda p: (p[0] or 0) + (p[1] or 0))
    ids = tuple(i for i in (_dep_id(d) for d in deps) if i is not None)
    return Target(key, models[0], ids, group, price[0], price[1], tuple(models))


def _group_target(route: str, key: str, ref: Any, groups: Mapping[str, Sequence[Mapping[str, Any]]]) -> Target:
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"route {route!r}: models.{key} must be a model group name, got {show(ref)}")
    deps = groups.get(ref)
    if ref == route or deps is None:
        known = sorted(g for g in groups if g != route)
        raise ConfigError(f"route {route!r}: models.{key}={show(ref)} is not a model group of the model_list; groups: {known}")
    if any(is_marker(d) for d in deps):
        raise ConfigError(f"route {route!r}: models.{key}={show(ref)} is itself a route; name the model groups it routes to instead")
    return _target_from_deps(key, deps, group=ref)


def _resolve_ref(route: str, key: str, ref: Any, own: Sequence[Mapping[str, Any]], groups: Mapping[str, Sequence[Mapping[str, Any]]]) -> Target:
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"route {route!r}: models.{key} must be a model name, got {show(ref)}")
    inside = [d for d in own if ref in (_dep_model(d), _dep_id(d))]
    if inside:
        return _target_from_deps(key, inside)
    if ref in groups and ref != route:
        return _group_target(route, key, ref, groups)
    known = sorted({_dep_model(d) for d in own} | {g for g in groups if g != route})
    raise ConfigError(f"route {route!r}: models.{key}={show(ref)} is not a deployment of {route!r} nor a model group; known: {known}")


def _costs_override(route: str, costs: Any, targets: dict[str, Target]) -> dict[str, Target]:
    if costs is None:
        return targets
    if not isinstance(costs, Mapping):
        raise ConfigError(f"route {route!r}: costs must map a model key to {{input_cost_per_token, output_cost_per_token}}, got {show(costs)}")
    out = dict(targets)
    for key, c in costs.items():
        if key not in targets:
            raise ConfigError(f"route {route!r}: costs names unknown model key {show(key)}; keys: {sorted(targets)}")
        if not isinstance(c, Mapping) or {"input_cost_per_token", "output_cost_per_token"} - set(c):
            raise ConfigError(f"route {route!r}: costs.{key} needs input_cost_per_token and output_cost_per_token, got {show(c)}")
        t = targets[key]
        out[key] = Target(t.key, t.litellm_model, t.deployment_ids, t.group,
                          _number(c["input_cost_per_token"], f"route {route!r}: costs.{key}.input_cost_per_token"),
                          _number(c["output_cost_per_token"], f"route {route!r}: costs.{key}.output_cost_per_token"), t.litellm_models)
    return out


# ---- pools of model groups ----------------------------------------------------------------
def _pool_entries(route: str, pool: Any) -> list[tuple[str, Any]]:
    """(model group, profile override or None) for each pool member."""
    if isinstance(pool, Mapping):
        out = []
        for group, value in pool.items():
            if value is None:
                out.append((group, None))
            elif isinstance(value, Mapping) and set(value) <= {"profile"}:
                out.append((group, value.get("profile")))
            else:
                raise ConfigError(f"route {route!r}: pool.{show(group, limit=40)} may only give a profile name "
                                  f"({{profile: <profiled model>}}); costs come from LiteLLM's price map or the route's costs:, got {show(value)}")
        return out
    if isinstance(pool, (list, tuple)):
        return [(group, None) for group in pool]
    raise ConfigError(f"route {route!r}: pool must list model groups (or map each to {{profile: <profiled model>}}), got {show(pool)}")


def profile_candidates(model: str) -> list[str]:
    """Profiled names a LiteLLM model may go by: itself, then without each provider prefix (``openai/gpt-4`` -> ``gpt-4``)."""
    out = [model]
    rest = model
    while "/" in rest:
        rest = rest.split("/", 1)[1]
        out.append(rest)
    return out


def _profile_for(route: str, group: str, target: Target, override: Any, aliases: Mapping[str, Any], profiled: Sequence[str], router_name: str) -> str:
    """The profiled model a pool group stands for: its ``profile``, an alias, or the pool core's naming rule."""
    from routellm_plugins.errors import UnknownModelError
    from routellm_plugins.pool import profiled_name

    explicit = override if override is not None else aliases.get(group, aliases.get(target.litellm_model))
    if explicit is not None:
        if not isinstance(explicit, str) or explicit not in profiled:
            raise ConfigError(f"route {route!r}: model group {group!r} is mapped to profile {show(explicit)}, which router "
                              f"{router_name!r} has not profiled; profiled: {sorted(profiled)}")
        return explicit
    try:
        return profiled_name(target.litellm_model, profiled)
    except (UnknownModelError, ConfigError) as exc:
        raise ConfigError(
            f"route {route!r}: model group {group!r}: {exc}. In the route's config that is "
            f"aliases: {{{target.litellm_model}: <profiled name>}}, and a pool you profiled yourself is checkpoint: POOL_DIR"
        ) from None


def _pool_route(name: str, spec: Mapping[str, Any], groups: Mapping[str, Sequence[Mapping[str, Any]]]) -> tuple[RoutingController, dict[str, Target]]:
    """A pool route over model groups: profiles by alias, costs from LiteLLM's price map (or ``costs:``)."""
    from routellm_plugins import load_router
    from routellm_plugins.pool.routers import PoolRouter

    entries = _pool_entries(name, spec["pool"])
    aliases = spec.get("aliases") or {}
    if not isinstance(aliases, Mapping):
        raise ConfigError(f"route {name!r}: aliases must map a model group or LiteLLM model to a profiled model name, got {show(aliases)}")
    targets = {group: _group_target(name, group, group, groups) for group, _ in entries if isinstance(group, str)}
    if len(targets) != len(entries):
        raise ConfigError(f"route {name!r}: pool members must be model group names, got {show([g for g, _ in entries])}")
    targets = _costs_override(name, spec.get("costs"), targets)
    router_spec = spec.get("router") or "uniroute"
    extra = {"embedder": spec["embedder"]} if spec.get("embedder") is not None else {}
    router = load_router(router_spec, checkpoint=spec.get("checkpoint"), **extra)
    if not isinstance(router, PoolRouter):
        raise ConfigError(f"route {name!r}: a pool needs a pool router such as 'uniroute'; {show(router_spec)} routes between two models only")
    profiled = router.models
    pool: dict[str, dict[str, Any]] = {}
    for group, override in entries:
        t = targets[group]
        if not t.priced:
            raise ConfigError(f"route {name!r}: pool model group {group!r} ({t.litellm_model!r}) has no price in LiteLLM's price map; "
                              f"give costs: {{{group}: {{input_cost_per_token: ..., output_cost_per_token: ...}}}}")
        profile = _profile_for(name, group, t, override, aliases, profiled, router.name)
        pool[group] = {"cost": t.input_cost_per_token + t.output_cost_per_token, "profile": profile}  # type: ignore[operator]
    cfg = _scoped({k: v for k, v in spec.items() if k in CONTROLLER_SETTINGS and k not in ("router", "checkpoint", "embedder", "pool")}, name)
    try:
        controller = RoutingController(router, pool=pool, **cfg)
    except UnknownModelError as exc:  # a profile name the router lost between the check and here
        raise ConfigError(f"route {name!r}: {exc}") from None
    return controller, targets


def build_route(name: str, spec: Mapping[str, Any] | RoutingController | None, model_list: Iterable[Mapping[str, Any]]) -> Route:
    """Validate one route against a ``model_list`` and return it; errors name the bad value.

    ``spec`` keys: the controller settings of :mod:`routellm_plugins.settings` (``router``,
    ``threshold``, ``strong_share``, ``fallback``, ``sticky_sessions``, ``pool``, ...), ``route_on``,
    ``controller`` (a built RoutingController), ``models`` ({key: model group, deployment model or
    id}), ``aliases`` ({model group or LiteLLM model: profiled model}, pools) and ``costs``
    ({key: {input_cost_per_token, output_cost_per_token}}). Without ``models`` or ``pool``: the
    route's own deployments, tagged ``model_info.routellm_model`` or ordered by LiteLLM's price map.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"route name must be a non-empty model name, got {show(name)}")
    if isinstance(spec, RoutingController):
        spec = {"controller": spec}
    if spec is not None and not isinstance(spec, Mapping):
        raise ConfigError(f"route {name!r}: routing settings must be a mapping, got {type(spec).__name__}")
    spec = dict(spec or {})
    _check_keys(name, spec)
    route_on = check_route_on(spec.get("route_on", ROUTE_ON_LAST_USER))
    groups = _groups(model_list)
    deps = groups.get(name, [])
    markers = [d for d in deps if is_marker(d)]
    own = [d for d in deps if not is_marker(d)]
    if markers and own:
        raise ConfigError(f"route {name!r}: its model_list entries mix a {MARKER_PREFIX}... marker with real deployments "
                          f"{sorted({_dep_model(d) for d in own})}; a marker route names model groups in models: or pool:")
    if spec.get("pool") is not None and spec.get("controller") is None and spec.get("models") is None:
        controller, targets = _pool_route(name, spec, groups)
    else:
        controller = build_controller(name, spec)
        targets = _targets(name, spec, controller, own, groups, bool(markers))
    keys = tuple(controller.keys)
    missing = [k for k in keys if k not in targets]
    if missing:
        where = f"the {len(own)} deployment(s) of {name!r}" if own else f"the model_list (no deployment is named {name!r})"
        raise ConfigError(f"route {name!r}: no model for key(s) {missing} in {where}; give models: {{{', '.join(f'{k}: <model group>' for k in keys)}}} "
                          f"or tag deployments with model_info.{ROLE_KEY}")
    if controller.fallback not in targets:
        raise ConfigError(f"route {name!r}: fallback key {controller.fallback!r} is not one of {list(keys)}")
    seen: dict[str, str] = {}
    for t in targets.values():
        for m in t.litellm_models if t.group is None else ():
            if m in seen:
                raise ConfigError(f"route {name!r}: keys {seen[m]!r} and {t.key!r} both use the litellm model {m!r}; each key needs its own model")
            seen[m] = t.key
    if spec.get("pool") is None or spec.get("models") is not None:
        targets = _costs_override(name, spec.get("costs"), targets)
    baseline = STRONG if STRONG in targets else max(targets.values(), key=lambda t: (t.input_cost_per_token or 0) + (t.output_cost_per_token or 0)).key
    return Route(name, controller, targets, baseline, route_on)


def _targets(name: str, spec: Mapping[str, Any], controller: RoutingController, own: Sequence[Mapping[str, Any]],
             groups: Mapping[str, Sequence[Mapping[str, Any]]], marker: bool) -> dict[str, Target]:
    keys = tuple(controller.keys)
    models = spec.get("models")
    if models is not None:
        if not isinstance(models, Mapping):
            raise ConfigError(f"route {name!r}: models must map model keys {list(keys)} to model groups, got {show(models)}")
        extra = [k for k in models if k not in keys]
        if extra:
            raise ConfigError(f"route {name!r}: models names unknown key(s) {[show(k, limit=40) for k in extra]}; this router returns {list(keys)}")
        return {k: _resolve_ref(name, k, models[k], own, groups) for k in keys if k in models}
    if marker:
        raise ConfigError(f"route {name!r} ({MARKER_PREFIX}... entry) names no model groups: give model_info.{ROUTE_KEY}.models: "
                          f"{{strong: <model group>, weak: <model group>}} or pool: [<model group>, ...]")
    if any(ROLE_KEY in (d.get("model_info") or {}) for d in own):
        targets = {}
        for d in own:
            role = (d.get("model_info") or {}).get(ROLE_KEY)
            if role is not None and role not in keys:
                raise ConfigError(f"route {name!r}: deployment {_dep_model(d)!r} has {ROLE_KEY}={show(role)}; this router returns {list(keys)}")
        for k in keys:
            tagged = [d for d in own if (d.get("model_info") or {}).get(ROLE_KEY) == k]
            if tagged:
                targets[k] = _target_from_deps(k, tagged)
        return targets
    return _targets_by_price(name, own, keys) if own else {}


def _targets_by_price(name: str, own: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> dict[str, Target]:
    by_model: dict[str, list[Mapping[str, Any]]] = {}
    for d in own:
        by_model.setdefault(_dep_model(d), []).append(d)
    if tuple(keys) != ("strong", "weak") or len(by_model) != 2:
        raise ConfigError(
            f"route {name!r}: cannot tell which of its models {sorted(by_model)} serves each of {list(keys)}; "
            f"tag each deployment with model_info.{ROLE_KEY}: <key>, or give models: {{...}}"
        )
    priced = {m: price_per_token(ds[0]) for m, ds in by_model.items()}
    unpriced = [m for m, p in priced.items() if None in p]
    if unpriced:
        raise ConfigError(
            f"route {name!r}: model(s) {unpriced} have no price in LiteLLM's price map, so strong/weak cannot be inferred; "
            f"tag deployments with model_info.{ROLE_KEY}: strong|weak"
        )
    (cheap, _), (dear, _) = sorted(priced.items(), key=lambda kv: kv[1][0] + kv[1][1])  # type: ignore[operator]
    if priced[cheap] == priced[dear]:
        raise ConfigError(f"route {name!r}: {cheap!r} and {dear!r} cost the same; tag deployments with model_info.{ROLE_KEY}")
    return {"strong": _target_from_deps("strong", by_model[dear]), "weak": _target_from_deps("weak", by_model[cheap])}


def build_routes(model_list: Iterable[Mapping[str, Any]], routes: Mapping[str, Mapping[str, Any] | RoutingController | None] | None = None) -> dict[str, Route]:
    """Every route of a ``model_list``: the given ``routes`` (name -> spec), else those it declares itself."""
    model_list = list(model_list)
    if routes is None:
        routes = discover_routes(model_list)
    elif not isinstance(routes, Mapping):
        raise ConfigError(f"routes must map a model name to its routing settings, got {type(routes).__name__}")
    return {name: build_route(name, spec, model_list) for name, spec in routes.items()}


__all__ = ["ADAPTER_KEYS", "AUTO_MARKER_KEY", "MARKER_PREFIX", "ROLE_KEY", "ROUTE_KEY", "Route", "Target", "build_controller", "build_route", "build_routes",
           "discover_routes", "is_marker", "model_price", "price_per_token", "profile_candidates"]
