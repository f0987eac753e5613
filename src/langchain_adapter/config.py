"""Configuration checks and config-file parsing for the LangChain adapter.

Every error is a :class:`routellm_plugins.ConfigError` that names the offending value;
errors about the router itself (unknown name, bad threshold, missing checkpoint) come
from the core with its own error types.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from routellm_plugins import ConfigError, RoutingController
from routellm_plugins.controller import read_config

DEFAULT_ROUTER = "mf"
#: RoutingController settings that a ``router`` dict may carry besides what ``load_router`` takes.
CONTROLLER_KEYS = ("strong_share", "adaptive", "window", "fallback", "timeout_s", "sticky_sessions", "max_sessions",
                   "pool", "lam", "target_cost", "quality_floor")
#: Pool-routing (UniRoute) settings of the controller.
POOL_KEYS = ("pool", "lam", "target_cost", "quality_floor")
#: Keys of ``ChatRouteLLM.from_config`` that configure routing (``timeout`` and ``timeout_s`` are one).
ROUTING_KEYS = ("router", "checkpoint", "embedder", "threshold", "strong_share", "adaptive", "window",
                "fallback", "timeout", "timeout_s", "sticky_sessions", "max_sessions", *POOL_KEYS)
#: Keys of ``ChatRouteLLM.from_config`` that configure the adapter itself.
ADAPTER_KEYS = ("route_on", "session_keys", "fallback_on_error", "max_retries", "streaming",
                "temperature", "max_tokens", "stop")
MODEL_KEYS = ("strong", "weak", "models")
_ROUTER_DICT_KEYS = ("checkpoint", "embedder", "window", "max_sessions")


def _short(value: Any, n: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


# ---- children ------------------------------------------------------------------------
def check_chat_model(key: str, value: Any) -> BaseChatModel:
    """``value`` if it is a LangChain chat model, else ConfigError naming the key and value."""
    if isinstance(value, BaseChatModel):
        return value
    hint = ""
    if isinstance(value, (str, Mapping)):
        hint = " (for a model spec such as 'openai:gpt-4o' use ChatRouteLLM.from_config or init_chat_model)"
    elif isinstance(value, Runnable):
        hint = " (to route between chains or bound runnables use RouterRunnable)"
    raise ConfigError(f"child {key!r} must be a LangChain BaseChatModel, got {type(value).__name__} {_short(value)}{hint}")


def check_runnable(key: str, value: Any) -> Runnable:
    """``value`` as a Runnable (callables are wrapped), else ConfigError naming it."""
    if isinstance(value, Runnable):
        return value
    if callable(value):
        from langchain_core.runnables import RunnableLambda

        return RunnableLambda(value)
    raise ConfigError(f"route {key!r} must be a Runnable or a callable, got {type(value).__name__} {_short(value)}")


def resolve_children(
    strong: Any,
    weak: Any,
    models: Any,
    check: Callable[[str, Any], Any] = check_chat_model,
    *,
    models_name: str = "models",
) -> dict[str, Any]:
    """The children by key: ``{"strong": .., "weak": ..}`` or the ``models`` pool, each checked."""
    if models is not None:
        if strong is not None or weak is not None:
            raise ConfigError(f"give strong=/weak= or {models_name}=, not both")
        if not isinstance(models, Mapping) or not models:
            raise ConfigError(f"{models_name} must be a non-empty mapping of name -> model, got {_short(models)}")
        out = {}
        for key, value in models.items():
            if not isinstance(key, str) or not key:
                raise ConfigError(f"{models_name} keys must be non-empty strings, got {key!r}")
            out[key] = check(key, value)
        return out
    missing = [name for name, value in (("strong", strong), ("weak", weak)) if value is None]
    if missing:
        raise ConfigError(f"missing child model(s) {missing}: give strong= and weak= (or {models_name}={{name: model}})")
    return {"strong": check("strong", strong), "weak": check("weak", weak)}


def check_keys(controller: RoutingController, children: Mapping[str, Any]) -> None:
    """Every key the controller may choose has a child, the fallback is a child, no child is unreachable."""
    keys = tuple(controller.keys)
    name = controller.router.name
    missing = [k for k in keys if k not in children]
    if missing:
        raise ConfigError(f"router {name!r} chooses among {list(keys)} but no child is given for {missing}; children: {list(children)}")
    if controller.fallback not in children:
        raise ConfigError(f"fallback {controller.fallback!r} is not one of the children {list(children)}; set fallback= to one of them")
    unused = [k for k in children if k not in keys and k != controller.fallback]
    if unused:
        raise ConfigError(f"children {unused} can never be chosen: router {name!r} chooses among {list(keys)}")


def check_max_retries(value: Any) -> int:
    """A retry count: an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"max_retries must be an int >= 0, got {value!r}")
    return value


def check_session_keys(value: Any) -> tuple[str, ...]:
    """Names looked up in a run config for the session id: a non-empty sequence of str."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value or not all(
        isinstance(k, str) and k for k in value
    ):
        raise ConfigError(f"session_keys must be a non-empty list of names such as ['thread_id'], got {value!r}")
    return tuple(value)


# ---- the controller ------------------------------------------------------------------
def build_controller(
    *,
    controller: Any = None,
    router: Any = None,
    threshold: Any = None,
    strong_share: Any = None,
    adaptive: bool = False,
    fallback: Any = None,
    timeout: Any = None,
    sticky_sessions: bool = False,
    **pool: Any,
) -> RoutingController:
    """The RoutingController: ``controller`` as given, or one built from the router settings.

    ``router`` may be a name, a model string (``router-mf-0.116``), a Router, a
    RoutingController, or a dict for ``load_router`` that may also hold controller keys
    (``strong_share``, ``sticky_sessions``, ...); explicit arguments win over the dict.
    ``pool`` holds the pool-routing settings (``pool``, ``lam``, ``target_cost``, ``quality_floor``).
    """
    unknown_pool = sorted(set(pool) - set(POOL_KEYS))
    if unknown_pool:
        raise ConfigError(f"unknown routing settings {unknown_pool}")
    pool = {k: v for k, v in pool.items() if v is not None}
    if isinstance(router, RoutingController):
        controller, router = router, None
    if controller is not None:
        if not isinstance(controller, RoutingController):
            raise ConfigError(f"controller must be a routellm_plugins.RoutingController, got {type(controller).__name__} {_short(controller)}")
        given = {"router": router, "threshold": threshold, "strong_share": strong_share, "fallback": fallback, "timeout": timeout}
        given = {k: v for k, v in {**given, **pool}.items() if v is not None}
        given.update({k: True for k, v in (("adaptive", adaptive), ("sticky_sessions", sticky_sessions)) if v})
        if given:
            raise ConfigError(f"the controller already holds the routing settings; drop {sorted(given)} or the controller")
        return controller
    extra: dict[str, Any] = {}
    if isinstance(router, Mapping):
        spec = dict(router)
        extra = {k: spec.pop(k) for k in CONTROLLER_KEYS if k in spec}
        router = spec
        if threshold is not None and strong_share is None:
            extra.pop("strong_share", None)  # an explicit threshold replaces the dict's target share
    explicit = {"threshold": threshold, "strong_share": strong_share, "fallback": fallback, "timeout_s": timeout, **pool}
    extra.update({k: v for k, v in explicit.items() if v is not None})
    for flag, value in (("adaptive", adaptive), ("sticky_sessions", sticky_sessions)):
        if value is not None and not isinstance(value, bool):
            raise ConfigError(f"{flag} must be true or false, got {_short(value)}")  # "false" must not read as true
        if value:
            extra[flag] = True
    if router is None and not any(k in extra for k in POOL_KEYS):
        router = DEFAULT_ROUTER  # with pool settings the controller picks its pool router itself
    return RoutingController(router, **extra)


# ---- from_config -----------------------------------------------------------------------
def build_child(key: str, spec: Any, init_model: Callable[..., Any]) -> BaseChatModel:
    """A child chat model from an ``init_chat_model`` spec (``"openai:gpt-4o"`` or a kwargs dict)."""
    if isinstance(spec, BaseChatModel):
        return spec
    try:
        if isinstance(spec, str):
            model = init_model(spec)
        elif isinstance(spec, Mapping):
            if not isinstance(spec.get("model"), str):
                raise ConfigError(f"child {key!r}: a dict spec needs a 'model' string, got {_short(dict(spec))}")
            model = init_model(**dict(spec))
        else:
            raise ConfigError(f"child {key!r} must be an init_chat_model spec (str or dict), got {type(spec).__name__} {_short(spec)}")
    except ConfigError:
        raise
    except Exception as exc:  # ImportError (provider package missing), ValueError (unknown provider), ...
        raise ConfigError(f"cannot build child {key!r} from {_short(spec)}: {type(exc).__name__}: {exc}") from exc
    return check_chat_model(key, model)


def _default_init_model() -> Callable[..., Any]:
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError("ChatRouteLLM.from_config needs the 'langchain' package for init_chat_model: pip install langchain") from exc
    return init_chat_model


def parse_config(
    config: Mapping[str, Any] | str | os.PathLike[str],
    *,
    init_model: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """ChatRouteLLM keyword arguments from a dict or YAML/JSON file (see ``ChatRouteLLM.from_config``)."""
    cfg = dict(read_config(config))
    base_dir = Path(config).resolve().parent if isinstance(config, (str, os.PathLike)) else None
    routing = cfg.pop("routing", None)
    if routing is not None:
        if not isinstance(routing, Mapping):
            raise ConfigError(f"'routing' must be a mapping of routing settings, got {_short(routing)}")
        clash = sorted(set(routing) & set(cfg))
        if clash:
            raise ConfigError(f"keys {clash} are given both at top level and under 'routing'")
        cfg.update(routing)
    known = (*MODEL_KEYS, *ROUTING_KEYS, *ADAPTER_KEYS)
    unknown = sorted(set(cfg) - set(known))
    if unknown:
        raise ConfigError(f"unknown ChatRouteLLM config keys {unknown}; known: {sorted(known)}")
    if "timeout" in cfg and "timeout_s" in cfg:
        raise ConfigError(f"give timeout ({cfg['timeout']!r}) or timeout_s ({cfg['timeout_s']!r}), not both")

    init = init_model or _default_init_model()
    out: dict[str, Any] = {}
    if "models" in cfg:
        models = cfg.pop("models")
        if not isinstance(models, Mapping) or not models:
            raise ConfigError(f"'models' must be a non-empty mapping of name -> model spec, got {_short(models)}")
        if "strong" in cfg or "weak" in cfg:
            raise ConfigError("give strong/weak or models, not both")
        out["models"] = {str(k): build_child(str(k), v, init) for k, v in models.items()}
    else:
        missing = [k for k in ("strong", "weak") if cfg.get(k) is None]
        if missing:
            raise ConfigError(f"config is missing child model spec(s) {missing} (e.g. strong: 'openai:gpt-4o')")
        for key in ("strong", "weak"):
            out[key] = build_child(key, cfg.pop(key), init)

    router = cfg.pop("router", None)
    router_extra = {k: cfg.pop(k) for k in _ROUTER_DICT_KEYS if k in cfg}
    if base_dir is not None and isinstance(router_extra.get("checkpoint"), str):
        candidate = base_dir / router_extra["checkpoint"]
        if not Path(router_extra["checkpoint"]).is_absolute() and candidate.exists():
            router_extra["checkpoint"] = str(candidate)
    if router_extra:
        default = "uniroute" if any(k in cfg for k in POOL_KEYS) else DEFAULT_ROUTER
        spec = dict(router) if isinstance(router, Mapping) else {"router": router or default}
        router = {**spec, **router_extra}
    if router is not None:
        out["router"] = router
    if "timeout_s" in cfg:
        cfg["timeout"] = cfg.pop("timeout_s")
    if "session_keys" in cfg:
        cfg["session_keys"] = check_session_keys(cfg["session_keys"])
    out.update(cfg)
    return out
