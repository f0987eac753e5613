"""Child LLMs from config data: ``{"class": "package.module.ClassName", "kwargs": {...}}``."""

from __future__ import annotations

import importlib
from typing import Any, Mapping

from llama_index.core.llms import LLM

from routellm_plugins.errors import ConfigError

_SPEC_KEYS = {"class", "kwargs"}


def import_llm_class(path: Any) -> type:
    """The LLM subclass named by ``"pkg.module.Class"`` (or ``"pkg.module:Class"``)."""
    if not isinstance(path, str) or not path.strip():
        raise ConfigError(f"an LLM class path must be a string such as 'llama_index.core.llms.MockLLM', got {path!r}")
    text = path.strip()
    module_name, sep, attr = text.partition(":") if ":" in text else text.rpartition(".")
    if not module_name or not attr:
        raise ConfigError(f"LLM class path {path!r} must name a module and a class, e.g. 'llama_index.core.llms.MockLLM'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import module {module_name!r} of LLM class {path!r}: {exc}") from exc
    cls = getattr(module, attr, None)
    if cls is None:
        raise ConfigError(f"module {module_name!r} has no attribute {attr!r} (LLM class {path!r})")
    if not (isinstance(cls, type) and issubclass(cls, LLM)):
        raise ConfigError(f"{path!r} is not a LlamaIndex LLM class (a subclass of llama_index.core.llms.LLM)")
    return cls


def build_llm(spec: Any, key: str) -> LLM:
    """An LLM from an instance (passed through) or a ``{"class": ..., "kwargs": {...}}`` mapping."""
    if isinstance(spec, LLM):
        return spec
    if isinstance(spec, str):
        spec = {"class": spec}
    if not isinstance(spec, Mapping):
        raise ConfigError(f"model {key!r} must be an LLM or a mapping with 'class' and 'kwargs', got {type(spec).__name__}")
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise ConfigError(f"model {key!r} has unknown keys {sorted(unknown)}; allowed: {sorted(_SPEC_KEYS)}")
    if "class" not in spec:
        raise ConfigError(f"model {key!r} needs a 'class' (e.g. 'llama_index.core.llms.MockLLM')")
    cls = import_llm_class(spec["class"])
    kwargs = spec.get("kwargs") or {}
    if not isinstance(kwargs, Mapping):
        raise ConfigError(f"model {key!r}: 'kwargs' must be a mapping, got {kwargs!r:.80}")
    try:
        return cls(**dict(kwargs))
    except (TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        # Name the keyword names only: values may hold API keys.
        raise ConfigError(f"model {key!r}: {spec['class']} with kwargs {sorted(kwargs)} failed: {str(exc)[:300]}") from exc
