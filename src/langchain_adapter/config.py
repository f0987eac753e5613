"""The LangChain adapter's settings: the shared vocabulary (``routellm_plugins.settings``), its
deprecated aliases, checks of children and adapter settings, and config-file parsing.

Every error is a :class:`routellm_plugins.ConfigError` that names the offending setting and
shows a bounded value, never the value of a secret-like key (``api_key``, ``token``...);
errors about the router itself (unknown name, bad threshold, missing checkpoint) come from
the core with its own error types.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from routellm_plugins import ConfigError, RoutingController
from routellm_plugins.controller import read_config
from routellm_plugins.errors import is_secret_key, show_value
from routellm_plugins.settings import ADAPTER_SETTINGS, BY_NAME, CONTROLLER_SETTINGS

#: Pool-routing (UniRoute) settings of the controller.
POOL_KEYS = ("pool", "lam", "target_cost", "quality_floor")
#: Old setting name -> its name in the shared vocabulary (accepted with a DeprecationWarning).
DEPRECATED = {"timeout": "timeout_s", "fallback_on_error": "failover"}
#: Settings only the LangChain adapter has (besides the children and the shared vocabulary).
LANGCHAIN_KEYS = ("controller", "session_keys", "max_retries", "streaming", "temperature", "max_tokens", "stop")
MODEL_KEYS = ("strong", "weak", "models")

_DEPRECATION_HINTS = {
    "timeout": "timeout_s (seconds the routing decision may take; provider timeouts belong on the child models)",
    "fallback_on_error": "failover",
}


def shown(value: Any, key: Any = None) -> str:
    """A bounded repr of ``value`` for an error message; values under secret-like keys are
    redacted, also one level down in a mapping (a child spec such as ``{"api_key": ...}``)."""
    if is_secret_key(key):
        return show_value(value, key=key)
    if isinstance(value, Mapping):
        try:
            items = list(value.items())
        except Exception:  # noqa: BLE001 - an exotic mapping is only a label here
            return f"<{type(value).__name__}>"
        parts = [f"{show_value(k, limit=30)}: {show_value(v, key=k, limit=40)}" for k, v in items[:4]]
        more = ", …" if len(items) > 4 else ""
        return "{" + ", ".join(parts) + more + "}"
    return show_value(value)


def _secret_values(spec: Any) -> list[str]:
    """String values held under secret-like keys in ``spec`` (a mapping, one level deep)."""
    if not isinstance(spec, Mapping):
        return []
    return [v for k, v in spec.items() if is_secret_key(k) and isinstance(v, str) and v]


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def safe_error_text(exc: BaseException, secrets: list[str], limit: int = 200) -> str:
    """``Type: message`` of an exception from building a child, the message cut to ``limit``
    characters, or the type alone when the message quotes any of ``secrets`` in any case,
    quoting or escaping."""
    text = f"{exc}"[:10_000]
    squashed = _squash(text)
    for secret in secrets:
        probe = _squash(secret)
        if len(probe) >= 6 and probe in squashed:
            return f"{type(exc).__name__} (message withheld: it quotes a secret setting)"
    text = text[:limit] + ("…" if len(text) > limit else "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ---- the shared vocabulary -------------------------------------------------------------
def normalize_settings(data: Mapping[str, Any], *, owner: str = "ChatRouteLLM") -> dict[str, Any]:
    """``data`` with deprecated names replaced by their shared-vocabulary names (warning once
    per call); a setting given under both names raises ConfigError."""
    out = dict(data)
    for old, new in DEPRECATED.items():
        if old not in out:
            continue
        if new in out:
            raise ConfigError(f"{owner}: give {new} or its deprecated name {old}, not both")
        warnings.warn(f"{owner}({old}=...) is deprecated; use {_DEPRECATION_HINTS[old]}", DeprecationWarning, stacklevel=3)
        out[new] = out.pop(old)
    return out


def controller_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """The settings in ``data`` that the RoutingController takes (names of ``settings.py``)."""
    return {k: data[k] for k in CONTROLLER_SETTINGS if k in data}


def check_flag(name: str, value: Any) -> bool:
    """A true/false setting: a bool (a config string such as ``"false"`` must not read as true)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {shown(value)}")
    return value


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
    raise ConfigError(f"child {key!r} must be a LangChain BaseChatModel, got {type(value).__name__} {shown(value)}{hint}")


def check_runnable(key: str, value: Any) -> Runnable:
    """``value`` as a Runnable (callables are wrapped), else ConfigError naming it."""
    if isinstance(value, Runnable):
        return value
    if callable(value):
        from langchain_core.runnables import RunnableLambda

        return RunnableLambda(value)
    raise ConfigError(f"route {key!r} must be a Runnable or a callable, got {type(value).__name__} {shown(value)}")


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
            raise ConfigError(f"{models_name} must be a non-empty mapping of name -> model, got {shown(models)}")
        out = {}
        for key, value in models.items():
            if not isinstance(key, str) or not key:
                raise ConfigError(f"{models_name} keys must be non-empty strings, got {show_value(key)}")
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
    """A retry count: an int from 0 to 10."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise ConfigError(f"max_retries must be an int from 0 to 10, got {shown(value)}")
    return value


def check_session_keys(value: Any) -> tuple[str, ...]:
    """Names looked up in a run config for the session id: a non-empty sequence of str."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value or not all(
        isinstance(k, str) and k for k in value
    ):
        raise ConfigError(f"session_keys must be a non-empty list of names such as ['thread_id'], got {shown(value)}")
    return tuple(value)


# ---- the controller ------------------------------------------------------------------
def build_controller(controller: Any = None, settings: Mapping[str, Any] | None = None) -> RoutingController:
    """The RoutingController: ``controller`` as given, or one built from the controller
    ``settings`` (shared vocabulary, passed on unchanged; the core validates them).

    ``settings["router"]`` may be a name, a model string (``router-mf-0.116``), a Router, a
    RoutingController, or a ``load_router`` dict that may also hold controller settings
    (``strong_share``, ``sticky_sessions``, ...); explicit settings win over the dict's.
    No router at all means the core's default router (``registry.DEFAULT_ROUTER``).
    """
    # A setting at its shared default is the controller's default too: passing it adds nothing,
    # and a ready controller need not refuse it.
    given = {k: v for k, v in (settings or {}).items() if not _is_default(k, v)}
    router = given.pop("router", None)
    if isinstance(router, RoutingController):
        controller, router = router, None
    if controller is not None:
        if not isinstance(controller, RoutingController):
            raise ConfigError(f"controller must be a routellm_plugins.RoutingController, got {type(controller).__name__} {shown(controller)}")
        if router is not None:
            given["router"] = router
        if given:
            raise ConfigError(f"the controller already holds the routing settings; drop {sorted(given)} or the controller")
        return controller
    if isinstance(router, Mapping):
        spec = dict(router)
        from_dict = {k: spec.pop(k) for k in CONTROLLER_SETTINGS if k in spec and k != "router"}
        if "threshold" in given and "strong_share" not in given:
            from_dict.pop("strong_share", None)  # an explicit threshold replaces the dict's target share
        if "strong_share" in given and "threshold" not in given:
            from_dict.pop("threshold", None)
        given = {**from_dict, **given}
        router = spec
    return RoutingController(router, **given)


def _is_default(name: str, value: Any) -> bool:
    default = BY_NAME[name].default if name in BY_NAME else None
    return value is None or (type(value) is type(default) and value == default)


# ---- from_config -----------------------------------------------------------------------
def build_child(key: str, spec: Any, init_model: Callable[..., Any]) -> BaseChatModel:
    """A child chat model from an ``init_chat_model`` spec (``"openai:gpt-4o"`` or a kwargs dict)."""
    if isinstance(spec, BaseChatModel):
        return spec
    if isinstance(spec, Mapping) and not isinstance(spec.get("model"), str):
        raise ConfigError(f"child {key!r}: a dict spec needs a 'model' string, got {shown(spec)}")
    if not isinstance(spec, (str, Mapping)):
        raise ConfigError(f"child {key!r} must be an init_chat_model spec (str or dict), got {type(spec).__name__} {shown(spec)}")
    try:
        model = init_model(spec) if isinstance(spec, str) else init_model(**dict(spec))
    except Exception as exc:  # ImportError (provider package missing), ValueError (unknown provider), ...
        secrets = _secret_values(spec)
        message = f"cannot build child {key!r} from {shown(spec)}: {safe_error_text(exc, secrets)}"
        if secrets:  # the original exception (and its traceback) could quote a key
            raise ConfigError(message) from None
        raise ConfigError(message) from exc
    return check_chat_model(key, model)


def _default_init_model() -> Callable[..., Any]:
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError("ChatRouteLLM.from_config needs the 'langchain' package for init_chat_model: pip install langchain") from exc
    return init_chat_model


def known_config_keys() -> tuple[str, ...]:
    """Every key ``ChatRouteLLM.from_config`` accepts (deprecated names included)."""
    return (*MODEL_KEYS, *CONTROLLER_SETTINGS, *ADAPTER_SETTINGS, *(k for k in LANGCHAIN_KEYS if k != "controller"), *DEPRECATED)


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
            raise ConfigError(f"'routing' must be a mapping of routing settings, got {shown(routing)}")
        clash = sorted(set(routing) & set(cfg))
        if clash:
            raise ConfigError(f"keys {clash} are given both at top level and under 'routing'")
        cfg.update(routing)
    known = known_config_keys()
    unknown = sorted(str(k)[:40] for k in set(cfg) - set(known))
    if unknown:
        raise ConfigError(f"unknown ChatRouteLLM config keys {unknown}; known: {sorted(known)}")

    init = init_model or _default_init_model()
    out: dict[str, Any] = {}
    if "models" in cfg:
        models = cfg.pop("models")
        if not isinstance(models, Mapping) or not models:
            raise ConfigError(f"'models' must be a non-empty mapping of name -> model spec, got {shown(models)}")
        if "strong" in cfg or "weak" in cfg:
            raise ConfigError("give strong/weak or models, not both")
        out["models"] = {str(k): build_child(str(k), v, init) for k, v in models.items()}
    else:
        missing = [k for k in ("strong", "weak") if cfg.get(k) is None]
        if missing:
            raise ConfigError(f"config is missing child model spec(s) {missing} (e.g. strong: 'openai:gpt-4o')")
        for key in ("strong", "weak"):
            out[key] = build_child(key, cfg.pop(key), init)
    checkpoint = cfg.get("checkpoint")
    if base_dir is not None and isinstance(checkpoint, str) and not Path(checkpoint).is_absolute():
        candidate = base_dir / checkpoint
        if candidate.exists():  # a path relative to the config file
            cfg["checkpoint"] = str(candidate)
    out.update(cfg)
    return out
