"""A ``litellm.Router`` custom routing strategy that routes each routed model name by prompt."""

from __future__ import annotations

import os
import uuid
from typing import Any, Mapping

from litellm import Router
from litellm.types.router import CustomRoutingStrategyBase

from routellm_plugins import ConfigError, Decision, RoutingController

from litellm_adapter.decisions import RECORD_KEY, STORE, adecide, decide, make_record, record_in_request
from litellm_adapter.routes import Route, build_routes


def _metadata(request_kwargs: dict[str, Any]) -> dict[str, Any]:
    key = "litellm_metadata" if isinstance(request_kwargs.get("litellm_metadata"), dict) else "metadata"
    md = request_kwargs.get(key)
    if not isinstance(md, dict):
        md = request_kwargs[key] = {}
    return md


def _session_id(request_kwargs: dict[str, Any]) -> str | None:
    sid = request_kwargs.get("litellm_session_id") or _metadata(request_kwargs).get("session_id")
    return sid if isinstance(sid, str) else None


class RouteLLMStrategy(CustomRoutingStrategyBase):
    """Routes calls to each routed model name through its RoutingController; other names route as before.

    A routed call gets the deployment LiteLLM's own selection picks among the chosen key's
    targets (so load balancing, cooldowns and ``fallbacks`` keep working), and its decision
    is written to the request metadata (``metadata['routellm']``) for callbacks and to
    :func:`litellm_adapter.decision_of` for the response.
    """

    def __init__(self, router: Router, routes: Mapping[str, Route]) -> None:
        self.router = router
        self.routes = dict(routes)
        # deployments of a routed group that do NOT serve each key, excluded when that key is chosen
        self._excluded: dict[tuple[str, str], frozenset[str]] = {}
        for name, route in self.routes.items():
            group_ids = {(d.get("model_info") or {}).get("id") for d in router.get_model_list(model_name=name) or []}
            group_ids.discard(None)
            for key, target in route.targets.items():
                if target.group is None:
                    self._excluded[(name, key)] = frozenset(group_ids - set(target.deployment_ids))

    # ---- the two hooks litellm.Router calls ------------------------------------------
    def get_available_deployment(self, model: str, messages: list[dict[str, Any]] | None = None, input: Any = None,
                                 specific_deployment: bool | None = False, request_kwargs: dict | None = None) -> dict:
        """Pick a deployment for ``model`` (sync path)."""
        route = self.routes.get(model)
        request_kwargs = request_kwargs if request_kwargs is not None else {}
        if route is None or specific_deployment:
            self._carry(request_kwargs)
            return Router.get_available_deployment(self.router, model=model, messages=messages, input=input,
                                                   specific_deployment=specific_deployment, request_kwargs=request_kwargs)
        decision = decide(route, messages, _session_id(request_kwargs))
        group = self._apply(route, decision, request_kwargs)
        return Router.get_available_deployment(self.router, model=group, messages=messages, input=input, request_kwargs=request_kwargs)

    async def async_get_available_deployment(self, model: str, messages: list[dict[str, Any]] | None = None, input: Any = None,
                                             specific_deployment: bool | None = False, request_kwargs: dict | None = None) -> dict:
        """Pick a deployment for ``model`` (async path; scoring runs off the event loop)."""
        route = self.routes.get(model)
        request_kwargs = request_kwargs if request_kwargs is not None else {}
        if route is None or specific_deployment:
            self._carry(request_kwargs)
            return await Router.async_get_available_deployment(self.router, model=model, messages=messages, input=input,
                                                               specific_deployment=specific_deployment, request_kwargs=request_kwargs)
        decision = await adecide(route, messages, _session_id(request_kwargs))
        group = self._apply(route, decision, request_kwargs)
        return await Router.async_get_available_deployment(self.router, model=group, messages=messages, input=input, request_kwargs=request_kwargs)

    # ---- helpers ------------------------------------------------------------------------
    @staticmethod
    def _remember(record: dict[str, Any], request_kwargs: dict[str, Any]) -> None:
        call_id = request_kwargs.get("litellm_call_id")
        if not isinstance(call_id, str):
            call_id = request_kwargs["litellm_call_id"] = str(uuid.uuid4())
        STORE.put(call_id, record)

    def _carry(self, request_kwargs: dict[str, Any]) -> None:
        """A fallback hop of a routed call keeps the decision reachable from its response."""
        record = record_in_request(request_kwargs)
        if record is not None:
            self._remember(record, request_kwargs)

    def _apply(self, route: Route, decision: Decision, request_kwargs: dict[str, Any]) -> str:
        """Record the decision on the request and return the model group to select from."""
        record = make_record(route, decision)
        _metadata(request_kwargs)[RECORD_KEY] = record
        self._remember(record, request_kwargs)
        target = route.target(decision.model)
        if target.group is not None:
            return target.group
        excluded = self._excluded.get((route.name, decision.model), frozenset())
        if excluded:
            prior = request_kwargs.get("_excluded_deployment_ids") or ()
            request_kwargs["_excluded_deployment_ids"] = list(set(prior) | excluded)
        return route.name


def install_routing(
    router: Router,
    routes: Mapping[str, Mapping[str, Any] | RoutingController | None] | str | os.PathLike[str] | None = None,
    *,
    track_costs: bool = True,
) -> RouteLLMStrategy:
    """Route ``router``'s routed model names by prompt; returns the installed strategy.

    ``routes`` maps a model name callers use to its settings (controller keys such as
    ``router``/``threshold``/``strong_share``/``fallback``, plus ``models`` {key: deployment or
    model group} and optional ``costs``), or is a YAML file with a top-level ``routes:`` mapping.
    Without it, routes come from the ``model_list`` itself (``model_info.routellm``, or model
    names like ``router-mf-0.116``). Every route is validated now; errors name the bad value.
    ``track_costs`` registers the shared :class:`~litellm_adapter.costs.CostTracker` callback.
    """
    if not isinstance(router, Router):
        raise ConfigError(f"install_routing needs a litellm.Router, got {type(router).__name__}")
    if isinstance(routes, (str, os.PathLike)):
        from litellm_adapter.config import read_yaml

        path, data = routes, read_yaml(routes)
        routes = data.get("routes")
        if not isinstance(routes, Mapping):
            raise ConfigError(f"routing file {str(path)!r} needs a top-level 'routes:' mapping, got {routes!r:.80}")
    built = build_routes(router.get_model_list() or [], routes)
    if not built:
        raise ConfigError(
            "no routed model names: pass routes={'<model name>': {...}} or add a model_list entry named "
            "'router-<router>-<threshold>' (e.g. 'router-mf-0.116')"
        )
    strategy = RouteLLMStrategy(router, built)
    router.set_custom_routing_strategy(strategy)
    if track_costs:
        from litellm_adapter.costs import track_costs as _track

        _track()
    return strategy
