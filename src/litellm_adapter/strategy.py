"""A ``litellm.Router`` custom routing strategy that routes each routed model name by prompt (the SDK path)."""

from __future__ import annotations

import functools
import inspect
import os
import threading
import uuid
from typing import Any, Mapping

from litellm import Router
from litellm.types.router import CustomRoutingStrategyBase

from routellm_plugins import ConfigError, RoutingController

from litellm_adapter.decisions import STORE, adecide, attach, decide, make_record, record_in_request, token_in_request, write_bucket
from litellm_adapter.routes import AUTO_MARKER_KEY, MARKER_PREFIX, Route, build_routes

try:  # LiteLLM >= 1.108: lets fallback lookup key off the model group a pre-routing step picked
    from litellm.router_utils.fallback_event_handlers import record_pre_routing_selection as _record_selection
except ImportError:  # pragma: no cover - older LiteLLM: the route's own fallbacks apply
    _record_selection = None


def _session_id(request_kwargs: Mapping[str, Any]) -> str | None:
    """LiteLLM's own session id: ``litellm_session_id``, else ``metadata.session_id``."""
    sid = request_kwargs.get("litellm_session_id")
    if not isinstance(sid, str):
        md = request_kwargs.get("litellm_metadata") if isinstance(request_kwargs.get("litellm_metadata"), dict) else request_kwargs.get("metadata")
        sid = md.get("session_id") if isinstance(md, dict) else None
    return sid if isinstance(sid, str) else None


class RouteLLMStrategy(CustomRoutingStrategyBase):
    """Routes calls to each routed model name through its RoutingController; other names route as before.

    A routed call is decided once (retries reuse the decision) and gets the deployment LiteLLM's
    own selection picks among the chosen key's targets, so load balancing, cooldowns, rate
    limits and ``fallbacks`` keep working; a target that is a model group keeps that group's
    fallbacks. The decision is found again with :func:`litellm_adapter.decision_of`.
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
        record = self._earlier(route, request_kwargs)
        if record is None:
            record = self._remember(route, decide(route, messages, _session_id(request_kwargs), input), request_kwargs)
        group = self._apply(route, record, request_kwargs)
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
        record = self._earlier(route, request_kwargs)
        if record is None:
            record = self._remember(route, await adecide(route, messages, _session_id(request_kwargs), input), request_kwargs)
        group = self._apply(route, record, request_kwargs)
        return await Router.async_get_available_deployment(self.router, model=group, messages=messages, input=input, request_kwargs=request_kwargs)

    # ---- helpers ------------------------------------------------------------------------
    @staticmethod
    def _call_id(request_kwargs: dict[str, Any]) -> str:
        call_id = request_kwargs.get("litellm_call_id")
        if not isinstance(call_id, str):
            call_id = request_kwargs["litellm_call_id"] = str(uuid.uuid4())
        return call_id

    @staticmethod
    def _earlier(route: Route, request_kwargs: dict[str, Any]) -> dict[str, Any] | None:
        """This call's decision when an earlier attempt (a retry) made one; never a record from the caller."""
        record = record_in_request(request_kwargs)
        return record if record is not None and record.get("route") == route.name else None

    def _remember(self, route: Route, decision: Any, request_kwargs: dict[str, Any]) -> dict[str, Any]:
        call_id = self._call_id(request_kwargs)
        record = make_record(route, decision)
        STORE.bind_call(call_id, attach(request_kwargs, record))
        return record

    def _carry(self, request_kwargs: dict[str, Any]) -> None:
        """A LiteLLM fallback hop of a routed call keeps its decision reachable from the hop's response."""
        token = token_in_request(request_kwargs)
        if token is not None:
            STORE.bind_call(self._call_id(request_kwargs), token)

    def _apply(self, route: Route, record: Mapping[str, Any], request_kwargs: dict[str, Any]) -> str:
        """The model group to select from for this decision (and the deployments to leave out)."""
        target = route.target(record["model"])
        if target.group is not None:
            if _record_selection is not None:
                write_bucket(request_kwargs)
                _record_selection(request_kwargs, target.group)  # the target group's own fallbacks apply
            return target.group
        excluded = self._excluded.get((route.name, record["model"]), frozenset())
        if excluded:
            prior = request_kwargs.get("_excluded_deployment_ids") or ()
            request_kwargs["_excluded_deployment_ids"] = list(set(prior) | excluded)
        return route.name


# ---- streams: the decision on every chunk ---------------------------------------------------
_STREAM_CLASSES: dict[type, type] = {}
_STREAM_LOCK = threading.Lock()


def _stamp(chunk: Any, call_id: str) -> Any:
    hidden = getattr(chunk, "_hidden_params", None)
    if isinstance(hidden, dict):
        hidden["litellm_call_id"] = call_id
    return chunk


def _stamping_class(cls: type) -> type:
    """A subclass of LiteLLM's stream class ``cls`` whose chunks carry the stream's call id (cached per class)."""
    with _STREAM_LOCK:
        sub = _STREAM_CLASSES.get(cls)
        if sub is None:
            def __next__(self: Any) -> Any:
                return _stamp(cls.__next__(self), self._routellm_call_id)

            async def __anext__(self: Any) -> Any:
                return _stamp(await cls.__anext__(self), self._routellm_call_id)

            ns: dict[str, Any] = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
            if hasattr(cls, "__next__"):
                ns["__next__"] = __next__
            if hasattr(cls, "__anext__"):
                ns["__anext__"] = __anext__
            sub = _STREAM_CLASSES[cls] = type(cls.__name__, (cls,), ns)
        return sub


def _tag_stream(result: Any) -> Any:
    """Let each chunk of a routed stream carry its call id, so :func:`decision_of` works on a chunk.

    LiteLLM offers no per-chunk hook on the sync path, so the stream object's class becomes a
    subclass whose ``__next__``/``__anext__`` stamp ``_hidden_params['litellm_call_id']`` on each
    chunk; the object and its type checks are otherwise unchanged.
    """
    hidden = getattr(result, "_hidden_params", None)
    call_id = hidden.get("litellm_call_id") if hasattr(hidden, "get") else None
    if not isinstance(call_id, str) or STORE.for_call(call_id) is None or not hasattr(result, "__dict__"):
        return result
    try:
        result._routellm_call_id = call_id
        result.__class__ = _stamping_class(type(result))
    except TypeError:  # a stream type that cannot be subclassed: chunks stay untagged (decision_of(stream) still works)
        pass
    return result


def _tagging(method: Any) -> Any:
    if inspect.iscoroutinefunction(method):
        @functools.wraps(method)
        async def acall(*args: Any, **kwargs: Any) -> Any:
            result = await method(*args, **kwargs)
            return _tag_stream(result) if kwargs.get("stream") else result
        acall.__routellm_tagging__ = True  # type: ignore[attr-defined]
        return acall

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        return _tag_stream(result) if kwargs.get("stream") else result
    call.__routellm_tagging__ = True  # type: ignore[attr-defined]
    return call


def _tag_streams(router: Router) -> None:
    for name in ("completion", "acompletion"):
        method = getattr(router, name)
        if not getattr(method, "__routellm_tagging__", False):
            setattr(router, name, _tagging(method))


def _add_markers(router: Router, routes: Mapping[str, Route]) -> None:
    """Give each route without deployments of its own a marker entry, so LiteLLM counts it as a model
    with a deployment: its retries then run (through the strategy, on the chosen group)."""
    missing = [name for name in routes if not router.get_model_list(model_name=name)]
    if not missing:
        return
    from litellm.types.router import Deployment

    from litellm_adapter.marker import register_provider

    register_provider()
    for name in missing:
        router.add_deployment(Deployment(model_name=name, litellm_params={"model": f"{MARKER_PREFIX}router"}, model_info={AUTO_MARKER_KEY: True}))


def install_routing(
    router: Router,
    routes: Mapping[str, Mapping[str, Any] | RoutingController | None] | str | os.PathLike[str] | None = None,
    *,
    track_costs: bool = True,
) -> RouteLLMStrategy:
    """Route ``router``'s routed model names by prompt; returns the installed strategy.

    ``routes`` maps a model name callers use to its settings (the shared controller settings such
    as ``router``/``threshold``/``strong_share``/``fallback``/``sticky_sessions``, plus ``models``
    {key: model group or deployment}, ``pool`` [model groups], ``route_on``, ``aliases`` and
    ``costs``), or is a YAML file with a top-level ``routes:`` mapping. Without it, routes come
    from the ``model_list`` itself (``routellm/...`` marker entries, ``model_info.routellm``, or
    model names like ``router-mf-0.116``). Every route is validated now; errors name the bad value.
    ``track_costs`` registers the shared :class:`~litellm_adapter.costs.CostTracker` callback.
    A route with no deployment of its own gets a ``routellm/router`` marker entry (never called),
    so LiteLLM's retries apply to it; the Router's ``completion``/``acompletion`` are wrapped so
    stream chunks carry the decision.
    """
    if not isinstance(router, Router):
        raise ConfigError(f"install_routing needs a litellm.Router, got {type(router).__name__}")
    if isinstance(routes, (str, os.PathLike)):
        from litellm_adapter.config import read_yaml

        path, data = routes, read_yaml(routes)
        routes = data.get("routes")
        if not isinstance(routes, Mapping):
            raise ConfigError(f"routing file {str(path)!r} needs a top-level 'routes:' mapping, got {type(routes).__name__}")
    built = build_routes(router.get_model_list() or [], routes)
    if not built:
        raise ConfigError(
            "no routed model names: pass routes={'<model name>': {...}} or add a model_list entry with "
            "litellm_params.model: routellm/router and model_info.routellm: {models: {strong: <group>, weak: <group>}}"
        )
    _add_markers(router, built)
    strategy = RouteLLMStrategy(router, built)
    router.set_custom_routing_strategy(strategy)
    _tag_streams(router)
    if track_costs:
        from litellm_adapter.costs import track_costs as _track

        _track().watch_routes(built)  # routes with shared_state add to the fleet's cost counters
    return strategy
