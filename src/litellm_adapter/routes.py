"""Routes: which model name is routed, by which controller, to which deployments, at what price.

A *route* is a model name a caller asks for (``router-mf-0.57``, ``routellm``). Its
targets map each controller key (``strong``/``weak`` or pool names) either to deployments
inside the route's own model group (tagged ``model_info.routellm_model: <key>``, or told
apart by price) or, in the SDK, to another model group of the ``model_list``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from routellm_plugins import ConfigError, RoutingController, parse_model_string
from routellm_plugins.controller import _CONFIG_KEYS as CONTROLLER_KEYS
from routellm_plugins.decision import STRONG

#: ``model_info`` key naming which controller key a deployment serves (``strong``, ``weak``, pool name).
ROLE_KEY = "routellm_model"
#: ``model_info`` key holding a route's routing config (on any one deployment of the routed group).
ROUTE_KEY = "routellm"
#: Route config keys read by the adapter itself; every other key goes to the controller.
ADAPTER_KEYS = frozenset({"models", "costs", "controller"})


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
    """A routed model name: its controller and a target per controller key."""

    name: str
    controller: RoutingController
    targets: Mapping[str, Target]
    baseline: str = STRONG

    def target(self, key: str) -> Target:
        try:
            return self.targets[key]
        except KeyError:
            raise ConfigError(f"route {self.name!r}: controller returned key {key!r} with no target; targets: {sorted(self.targets)}") from None


# ---- prices --------------------------------------------------------------------------
def _number(value: Any, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number >= 0, got {value!r}") from None
    if isinstance(value, bool) or math.isnan(v) or math.isinf(v) or v < 0:
        raise ConfigError(f"{what} must be a finite number >= 0, got {value!r}")
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

    entry = litellm.model_cost.get(model)
    if entry is None and "/" in model:
        entry = litellm.model_cost.get(model.split("/", 1)[1])
    if entry is None:
        try:
            entry = litellm.get_model_info(model)
        except Exception:  # noqa: BLE001 - any lookup failure means "no known price"
            return None, None
    i, o = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
    return (None if i is None else float(i)), (None if o is None else float(o))


# ---- model_list helpers ---------------------------------------------------------------
def _groups(model_list: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for i, dep in enumerate(model_list):
        if not isinstance(dep, Mapping):
            raise ConfigError(f"model_list entry {i} must be a mapping, got {type(dep).__name__}: {dep!r:.80}")
        name = dep.get("model_name")
        params = dep.get("litellm_params")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"model_list entry {i} needs a model_name, got {name!r}")
        if not isinstance(params, Mapping) or not isinstance(params.get("model"), str):
            raise ConfigError(f"model_list entry {i} ({name!r}) needs litellm_params.model")
        info = dep.get("model_info")
        if info is not None and not isinstance(info, Mapping):
            raise ConfigError(f"model_list entry {i} ({name!r}): model_info must be a mapping, got {info!r:.80}")
        groups.setdefault(name, []).append(dep)
    return groups


def _dep_model(dep: Mapping[str, Any]) -> str:
    return dep["litellm_params"]["model"]


def _dep_id(dep: Mapping[str, Any]) -> str | None:
    return (dep.get("model_info") or {}).get("id")


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
            raise ConfigError(f"model {name!r}: model_info.{ROUTE_KEY} must be a mapping of routing settings, got {c!r:.80}")
    if any(dict(c) != dict(found[0]) for c in found[1:]):
        raise ConfigError(f"model {name!r}: deployments carry different model_info.{ROUTE_KEY} settings; give them once")
    return dict(found[0])


def discover_routes(model_list: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Routed model names of a ``model_list`` and their route configs.

    A group is routed when a deployment carries ``model_info.routellm`` (a route config), or
    its name is a RouteLLM model string (``router-mf-0.116``), or a deployment is tagged
    ``model_info.routellm_model``.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, deps in _groups(model_list).items():
        cfg = _route_config_in_group(name, deps)
        if cfg is not None:
            out[name] = cfg
        elif _is_model_string(name):
            out[name] = {}
        elif any(ROLE_KEY in (d.get("model_info") or {}) for d in deps):
            raise ConfigError(
                f"model {name!r} has deployments tagged model_info.{ROLE_KEY} but no router: name the model "
                f"'router-<router>-<threshold>' (e.g. 'router-mf-0.116') or add model_info.{ROUTE_KEY}: {{router: ...}}"
            )
    return out


# ---- building a route -------------------------------------------------------------------
def build_controller(name: str, spec: Mapping[str, Any]) -> RoutingController:
    """The route's controller: ``spec['controller']``, else one built from the controller keys (or the route's model string)."""
    given = spec.get("controller")
    if given is not None:
        if not isinstance(given, RoutingController):
            raise ConfigError(f"route {name!r}: controller must be a RoutingController, got {type(given).__name__}")
        return given
    cfg = {k: v for k, v in spec.items() if k not in ADAPTER_KEYS}
    unknown = set(cfg) - CONTROLLER_KEYS
    if unknown:
        raise ConfigError(
            f"route {name!r}: unknown routing setting(s) {sorted(unknown)}; known: {sorted(CONTROLLER_KEYS | ADAPTER_KEYS - {'controller'})}"
        )
    if "router" not in cfg:
        if not name.startswith("router-"):
            raise ConfigError(f"route {name!r} names no router: give router: (e.g. 'mf') or name the model 'router-<router>-<threshold>'")
        cfg["router"] = name  # the RouteLLM model string carries router and threshold
    return RoutingController.from_config(cfg)


def _target_from_deps(key: str, deps: Sequence[Mapping[str, Any]], group: str | None = None) -> Target:
    models = sorted({_dep_model(d) for d in deps})
    prices = {price_per_token(d) for d in deps}
    price = next(iter(prices)) if len(prices) == 1 else max(prices, key=lambda p: (p[0] or 0) + (p[1] or 0))
    ids = tuple(i for i in (_dep_id(d) for d in deps) if i is not None)
    return Target(key, models[0], ids, group, price[0], price[1], tuple(models))


def _resolve_ref(route: str, key: str, ref: Any, own: Sequence[Mapping[str, Any]], groups: Mapping[str, Sequence[Mapping[str, Any]]], allow_groups: bool) -> Target:
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"route {route!r}: models.{key} must be a model name, got {ref!r}")
    inside = [d for d in own if ref in (_dep_model(d), _dep_id(d))]
    if inside:
        return _target_from_deps(key, inside)
    if ref in groups and ref != route:
        if not allow_groups:
            raise ConfigError(
                f"route {route!r}: models.{key}={ref!r} is another model group; in the proxy a route's models must be "
                f"deployments of the group {route!r} itself (add a {route!r} entry with litellm_params.model: ...)"
            )
        return _target_from_deps(key, groups[ref], group=ref)
    known = sorted({_dep_model(d) for d in own} | ({g for g in groups if g != route} if allow_groups else set()))
    raise ConfigError(f"route {route!r}: models.{key}={ref!r} is not a deployment of {route!r}" + (" nor a model group" if allow_groups else "") + f"; known: {known}")


def _costs_override(route: str, costs: Any, targets: dict[str, Target]) -> dict[str, Target]:
    if costs is None:
        return targets
    if not isinstance(costs, Mapping):
        raise ConfigError(f"route {route!r}: costs must map a model key to {{input_cost_per_token, output_cost_per_token}}, got {costs!r:.80}")
    out = dict(targets)
    for key, c in costs.items():
        if key not in targets:
            raise ConfigError(f"route {route!r}: costs names unknown model key {key!r}; keys: {sorted(targets)}")
        if not isinstance(c, Mapping) or {"input_cost_per_token", "output_cost_per_token"} - set(c):
            raise ConfigError(f"route {route!r}: costs.{key} needs input_cost_per_token and output_cost_per_token, got {c!r:.80}")
        t = targets[key]
        out[key] = Target(t.key, t.litellm_model, t.deployment_ids, t.group,
                          _number(c["input_cost_per_token"], f"costs.{key}.input_cost_per_token"),
                          _number(c["output_cost_per_token"], f"costs.{key}.output_cost_per_token"), t.litellm_models)
    return out


def build_route(
    name: str,
    spec: Mapping[str, Any] | RoutingController | None,
    model_list: Iterable[Mapping[str, Any]],
    *,
    allow_groups: bool = True,
) -> Route:
    """Validate one route against a ``model_list`` and return it; errors name the bad value.

    ``spec`` keys: the controller's (``router``, ``threshold``, ``strong_share``, ``fallback``, ...)
    or ``controller`` (a built RoutingController); ``models`` ({key: deployment model, model id or,
    with ``allow_groups``, a model group}); ``costs`` ({key: {input_cost_per_token, output_cost_per_token}}).
    Without ``models``: deployments tagged ``model_info.routellm_model``, else the two models of
    the group ordered by LiteLLM's price map (dearer = strong).
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"route name must be a non-empty model name, got {name!r}")
    if isinstance(spec, RoutingController):
        spec = {"controller": spec}
    spec = dict(spec or {})
    groups = _groups(model_list)
    own = groups.get(name, [])
    controller = build_controller(name, spec)
    keys = tuple(controller.keys)
    models = spec.get("models")
    targets: dict[str, Target] = {}
    if models is not None:
        if not isinstance(models, Mapping):
            raise ConfigError(f"route {name!r}: models must map model keys {list(keys)} to model names, got {models!r:.80}")
        extra = set(models) - set(keys)
        if extra:
            raise ConfigError(f"route {name!r}: models names unknown key(s) {sorted(extra)}; this router returns {list(keys)}")
        targets = {k: _resolve_ref(name, k, models[k], own, groups, allow_groups) for k in keys if k in models}
    elif any(ROLE_KEY in (d.get("model_info") or {}) for d in own):
        for d in own:
            role = (d.get("model_info") or {}).get(ROLE_KEY)
            if role is not None and role not in keys:
                raise ConfigError(f"route {name!r}: deployment {_dep_model(d)!r} has {ROLE_KEY}={role!r}; this router returns {list(keys)}")
        for k in keys:
            tagged = [d for d in own if (d.get("model_info") or {}).get(ROLE_KEY) == k]
            if tagged:
                targets[k] = _target_from_deps(k, tagged)
    elif own:
        targets = _targets_by_price(name, own, keys)
    missing = [k for k in keys if k not in targets]
    if missing:
        where = f"the {len(own)} deployment(s) of {name!r}" if own else f"the model_list (no deployment is named {name!r})"
        raise ConfigError(f"route {name!r}: no model for key(s) {missing} in {where}; give models: {{{', '.join(f'{k}: ...' for k in keys)}}} or tag deployments with model_info.{ROLE_KEY}")
    if controller.fallback not in targets:
        raise ConfigError(f"route {name!r}: fallback key {controller.fallback!r} is not one of {list(keys)}")
    seen: dict[str, str] = {}
    for t in targets.values():
        for m in t.litellm_models if t.group is None else ():
            if m in seen:
                raise ConfigError(f"route {name!r}: keys {seen[m]!r} and {t.key!r} both use the litellm model {m!r}; each key needs its own model")
            seen[m] = t.key
    targets = _costs_override(name, spec.get("costs"), targets)
    baseline = STRONG if STRONG in targets else max(targets.values(), key=lambda t: (t.input_cost_per_token or 0) + (t.output_cost_per_token or 0)).key
    return Route(name, controller, targets, baseline)


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


def build_routes(
    model_list: Iterable[Mapping[str, Any]],
    routes: Mapping[str, Mapping[str, Any] | RoutingController | None] | None = None,
    *,
    allow_groups: bool = True,
) -> dict[str, Route]:
    """Every route of a ``model_list``: the given ``routes`` (name -> spec), else those it declares itself."""
    model_list = list(model_list)
    if routes is None:
        routes = discover_routes(model_list)
    elif not isinstance(routes, Mapping):
        raise ConfigError(f"routes must map a model name to its routing settings, got {type(routes).__name__}")
    return {name: build_route(name, spec, model_list, allow_groups=allow_groups) for name, spec in routes.items()}
