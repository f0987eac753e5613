"""Checking RouteLLM's configuration: the routing controller and the child LLMs it routes to."""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from llama_index.core.llms import LLM

from routellm_plugins import STRONG, WEAK, RoutingController
from routellm_plugins.controller import read_config
from routellm_plugins.errors import ConfigError, RouteLLMError, show_value

ControllerSpec = Any  # RoutingController | Mapping | str | os.PathLike


def build_controller(controller: ControllerSpec, routing: Mapping[str, Any]) -> RoutingController:
    """A RoutingController from the controller settings in ``routing`` (None = not given, the shared
    default applies), or from ``controller=`` (instance, dict or YAML path), never both.

    Core errors (unknown router, bad threshold, missing checkpoint) are re-raised as ConfigError.
    """
    given = {k: v for k, v in routing.items() if v is not None}
    try:
        if controller is None:
            return RoutingController.from_config(given)
        if given:
            raise ConfigError(f"{sorted(given)} cannot be combined with controller=: set them in the controller's config")
        if isinstance(controller, RoutingController):
            return controller
        if not isinstance(controller, (Mapping, str, os.PathLike)):
            raise ConfigError(f"controller must be a RoutingController, a config dict or a YAML path, got {type(controller).__name__}")
        return RoutingController.from_config(read_config(controller))
    except ConfigError:
        raise
    except RouteLLMError as exc:
        raise ConfigError(f"invalid routing configuration: {exc}") from exc


def collect_children(
    strong: Optional[LLM],
    weak: Optional[LLM],
    models: Optional[Mapping[str, LLM]],
    controller: RoutingController,
) -> Dict[str, LLM]:
    """{model key: child LLM}, checked against the keys the controller can return and its fallback."""
    if models is not None:
        if strong is not None or weak is not None:
            raise ConfigError("give strong=/weak= or models={key: llm}, not both")
        if not isinstance(models, Mapping) or not models:
            raise ConfigError(f"models must be a non-empty mapping of model key to LLM, got {type(models).__name__} {show_value(models)}")
        children = dict(models)
    else:
        missing = [name for name, llm in ((STRONG, strong), (WEAK, weak)) if llm is None]
        if missing:
            raise ConfigError(f"RouteLLM needs child LLMs strong= and weak= (or models={{key: llm}}); missing {missing}")
        children = {STRONG: strong, WEAK: weak}
    for key, llm in children.items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"model keys must be non-empty strings, got {show_value(key)}")
        if not isinstance(llm, LLM):
            raise ConfigError(f"model {key!r} must be a LlamaIndex LLM (llama_index.core.llms.LLM), got {type(llm).__name__}")
    keys: Tuple[str, ...] = tuple(controller.keys)
    missing_keys = [k for k in keys if k not in children]
    extra_keys = [k for k in children if k not in keys]
    if missing_keys or extra_keys:
        raise ConfigError(
            f"models {sorted(children)} do not match the keys router {controller.router.name!r} can return {list(keys)}: "
            f"missing {missing_keys}, unexpected {extra_keys}"
        )
    if controller.fallback not in children:
        raise ConfigError(f"fallback {controller.fallback!r} is not one of the models {list(keys)}")
    return {k: children[k] for k in keys}


def check_query_vars(value: Any) -> Tuple[str, ...]:
    """``query_template_vars`` as a tuple of non-empty strings."""
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Sequence) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"query_template_vars must be a list of template variable names, got {show_value(value)}")
    return tuple(value)
