"""Router names, bundled checkpoints, and ``load_router`` (names, model strings, config dicts)."""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from routellm_plugins.errors import CheckpointError, ConfigError, UnknownRouterError
from routellm_plugins.validation import check_threshold

if TYPE_CHECKING:
    from routellm_plugins.routers.base import Router

#: name -> "module:Class"; modules are imported only when the router is asked for.
ROUTERS: dict[str, str] = {
    "random": "routellm_plugins.routers.random_router:RandomRouter",
    "mf": "routellm_plugins.routers.mf:MatrixFactorizationRouter",
    "mixture": "routellm_plugins.routers.mixture:MixtureRouter",
    # the same router trained without AlpacaEval (CC BY-NC 4.0): permissive licences only
    "mixture_permissive": "routellm_plugins.routers.mixture:MixtureRouter",
    "sw_ranking": "routellm_plugins.routers.sw_ranking:SWRankingRouter",
    "bert": "routellm_plugins.routers.bert:BertRouter",
    "causal_llm": "routellm_plugins.routers.causal_llm:CausalLLMRouter",
    # Pool routers (UniRoute); all read the bundled pool in checkpoints/uniroute.
    "uniroute": "routellm_plugins.pool.routers:PoolRouter",
    "uniroute_kmeans": "routellm_plugins.pool.routers:UniRouteKMeans",
    "uniroute_map": "routellm_plugins.pool.routers:UniRouteLearnedMap",
    "pool_knn": "routellm_plugins.pool.routers:KNNRouter",
    "pool_zero": "routellm_plugins.pool.routers:ZeroRouter",
}
#: The router used when none is named: ``load_router()``, the CLI without ``--router``, every adapter.
DEFAULT_ROUTER = "mixture"
#: Routers whose bundled checkpoint lives under another router's folder.
BUNDLED_ALIASES = {"uniroute_kmeans": "uniroute", "uniroute_map": "uniroute", "pool_knn": "uniroute", "pool_zero": "uniroute"}
#: Routers that need no checkpoint to run.
UNTRAINED = {"random"}

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
_MODEL_STRING = re.compile(r"^router-(?P<name>[A-Za-z_][A-Za-z0-9_]*)-(?P<threshold>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)$")


def available_routers() -> list[str]:
    """Names accepted by :func:`load_router`."""
    return sorted(ROUTERS)


def router_class(name: str) -> type["Router"]:
    """The class registered under ``name``."""
    if name not in ROUTERS:
        raise UnknownRouterError(f"unknown router {name!r}; known routers: {', '.join(available_routers())}")
    module, _, cls = ROUTERS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def bundled_checkpoint(name: str) -> Path:
    """Folder of the default checkpoint shipped for router ``name``."""
    path = CHECKPOINT_DIR / BUNDLED_ALIASES.get(name, name)
    if not (path / "router.json").is_file():
        raise CheckpointError(f"no bundled checkpoint for router {name!r} (looked in {str(path)!r}); pass checkpoint=PATH")
    return path


def parse_model_string(model: str) -> tuple[str, float]:
    """Split RouteLLM's ``router-<name>-<threshold>`` (e.g. ``router-mf-0.116``) into (name, threshold)."""
    if not isinstance(model, str):
        raise UnknownRouterError(f"model string must be a str, got {type(model).__name__}")
    m = _MODEL_STRING.match(model.strip())
    if not m:
        raise UnknownRouterError(f"{model!r} is not of the form 'router-<name>-<threshold>', e.g. 'router-mf-0.116'")
    name = m["name"]
    if name not in ROUTERS:
        raise UnknownRouterError(f"model string {model!r} names unknown router {name!r}; known: {', '.join(available_routers())}")
    return name, check_threshold(float(m["threshold"]))


def load_router(
    spec: "str | Mapping[str, Any] | Router | None" = None,
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> "Router":
    """Build a router from a name (``"mf"``), a model string (``"router-mf-0.116"``), a config dict, or pass one through.

    Config dict keys: ``router`` (name or model string), optional ``checkpoint`` (folder),
    ``threshold``, and router settings such as ``embedder``. Trained routers load their
    bundled checkpoint unless ``checkpoint`` is given. ``None`` means :data:`DEFAULT_ROUTER`.
    """
    from routellm_plugins.routers.base import Router

    if spec is None:
        spec = DEFAULT_ROUTER

    if isinstance(spec, Router):
        return spec
    threshold = overrides.pop("threshold", None)
    if isinstance(spec, Mapping):
        cfg = dict(spec)
        name = cfg.pop("router", None) or cfg.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError(f"router config needs a 'router' name; got keys {sorted(spec)}")
        checkpoint = checkpoint or cfg.pop("checkpoint", None)
        if threshold is None:
            threshold = cfg.pop("threshold", None)
        overrides = {**cfg, **overrides}
        spec = name
    if not isinstance(spec, str):
        raise UnknownRouterError(f"router must be a name, model string, config dict or Router; got {type(spec).__name__}")
    name = spec.strip()
    if name.startswith("router-"):
        name, parsed = parse_model_string(name)
        threshold = parsed if threshold is None else threshold
    cls = router_class(name)
    if checkpoint is None and name in UNTRAINED:
        router = cls(**overrides)
    else:
        router = cls.load(checkpoint if checkpoint is not None else bundled_checkpoint(name), **overrides)
    if name != cls.name:  # a registered variant (e.g. mixture_permissive) reports its own name in decisions
        router.name = name
    if threshold is not None:
        router.threshold = check_threshold(threshold)
    return router
