"""Child LLMs from config data: ``{"class": "package.module.ClassName", "kwargs": {...}}``.

A config file names classes; naming one must not run code planted in the working directory.
A class path is checked for form (dotted identifiers) before anything is imported; its module is
then located without importing it (``importlib.machinery.PathFinder``) and loaded only if it is
already imported or its file lies outside the current working directory (installed packages
and the standard library are always allowed, even inside a project's ``.venv``). Anything else must
be passed in code: ``RouteLLM(strong=MyLLM(...), ...)``. The class must be a LlamaIndex ``LLM``
before it is instantiated. Errors name keyword names only, never their values, and do not chain the
original exception (whose text, e.g. pydantic's ``input_value``, may hold a key).
"""

from __future__ import annotations

import importlib.util
import re
import site
import sys
import sysconfig
from importlib.machinery import PathFinder
from pathlib import Path
from types import ModuleType
from typing import Any, List, Mapping, Optional

from llama_index.core.bridge.pydantic import ValidationError
from llama_index.core.llms import LLM

from routellm_plugins.errors import ConfigError, describe_error, show_value

_SPEC_KEYS = {"class", "kwargs"}
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
#: ``pkg.module.Class`` or ``pkg.module:Class``: dotted identifiers only.
_CLASS_PATH = re.compile(rf"(?:{_IDENT}\.)*{_IDENT}[.:]{_IDENT}")
MAX_CLASS_PATH_CHARS = 200
#: Spec origins that are not files.
_NOT_FILES = (None, "built-in", "frozen", "namespace")


def _trusted_roots() -> List[Path]:
    """Folders of installed packages and of the standard library."""
    paths = sysconfig.get_paths()
    found = [paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    try:
        found += list(site.getsitepackages()) + [site.getusersitepackages()]
    except AttributeError:  # some embedded interpreters lack these
        pass
    return [Path(p).resolve() for p in found if p]


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _check_location(module_name: str, location: str) -> None:
    """Refuse a module file (or package folder) inside the working directory, unless it is an installed package."""
    path = Path(location).resolve()
    if any(_inside(path, root) for root in _trusted_roots()):
        return
    try:
        cwd: Optional[Path] = Path.cwd().resolve()
    except OSError:  # the working directory was removed: trust installed packages only
        cwd = None
    if cwd is not None and not _inside(path, cwd):
        return
    raise ConfigError(
        f"refusing to import module {module_name!r} named in a config: it resolves to the working directory "
        f"({str(path)!r}), where any file could have been planted. Install it as a package, import it "
        "yourself before loading the config, or pass the LLM instance in code (RouteLLM(strong=MyLLM(...), ...))"
    )


def _load_module(module_name: str) -> ModuleType:
    """``module_name`` from sys.modules, or imported level by level from specs checked by :func:`_check_location`."""
    parts = module_name.split(".")
    parent: Optional[ModuleType] = None
    for i, part in enumerate(parts):
        name = ".".join(parts[: i + 1])
        module = sys.modules.get(name)
        if module is None:
            search = None if parent is None else getattr(parent, "__path__", None)
            if parent is not None and search is None:
                raise ConfigError(f"{parent.__name__!r} is a module, not a package: cannot import {module_name!r}")
            spec = PathFinder.find_spec(name, search)
            if spec is None or spec.loader is None and not spec.submodule_search_locations:
                raise ConfigError(f"cannot find module {name!r} (of {module_name!r}) among the importable packages")
            for location in ([] if spec.origin in _NOT_FILES else [spec.origin]) + list(spec.submodule_search_locations or []):
                _check_location(name, location)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)  # type: ignore[union-attr]
            except BaseException as exc:
                sys.modules.pop(name, None)
                if not isinstance(exc, Exception):
                    raise
                missing = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
                hint = f" (missing module {missing!r}: install it)" if isinstance(missing, str) else ""
                raise ConfigError(f"cannot import module {name!r}: {describe_error(exc)}{hint}") from None
            if parent is not None:
                setattr(parent, part, module)
        parent = module
    assert parent is not None
    return parent


def import_llm_class(path: Any) -> type:
    """The LLM subclass named by ``"pkg.module.Class"`` (or ``"pkg.module:Class"``), imported safely (see module doc)."""
    if not isinstance(path, str) or not path.strip():
        raise ConfigError(f"an LLM class path must be a string such as 'llama_index.core.llms.MockLLM', got {type(path).__name__} {show_value(path)}")
    text = path.strip()
    if len(text) > MAX_CLASS_PATH_CHARS or not _CLASS_PATH.fullmatch(text):
        raise ConfigError(
            f"LLM class path {show_value(text)} must be dotted Python identifiers naming a module and a class, "
            "e.g. 'llama_index.core.llms.MockLLM'"
        )
    module_name, _, attr = text.partition(":") if ":" in text else text.rpartition(".")
    module = _load_module(module_name)
    cls = getattr(module, attr, None)
    if cls is None:
        raise ConfigError(f"module {module_name!r} has no attribute {attr!r} (LLM class {text!r})")
    if not (isinstance(cls, type) and issubclass(cls, LLM)):
        raise ConfigError(f"{text!r} is not a LlamaIndex LLM class (a subclass of llama_index.core.llms.LLM)")
    return cls


def _kwargs_problem(exc: BaseException) -> str:
    """What was wrong with an LLM's kwargs, by field name and error kind only (pydantic's input_value is left out)."""
    if isinstance(exc, ValidationError):
        kinds = [
            f"{'.'.join(str(p) for p in e.get('loc', ())) or '?'} ({e.get('type', 'invalid')})"
            for e in exc.errors(include_url=False, include_input=False)
        ]
        return f"invalid {', '.join(kinds[:10])}"
    return describe_error(exc)


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
        raise ConfigError(f"model {key!r} has unknown keys {sorted(map(str, unknown))[:10]}; allowed: {sorted(_SPEC_KEYS)}")
    if "class" not in spec:
        raise ConfigError(f"model {key!r} needs a 'class' (e.g. 'llama_index.core.llms.MockLLM')")
    try:
        cls = import_llm_class(spec["class"])
    except ConfigError as exc:
        raise ConfigError(f"model {key!r}: {exc}") from None
    kwargs = spec.get("kwargs") or {}
    if not isinstance(kwargs, Mapping) or not all(isinstance(k, str) for k in kwargs):
        raise ConfigError(f"model {key!r}: 'kwargs' must be a mapping of argument names, got {type(kwargs).__name__}")
    try:
        return cls(**dict(kwargs))
    except Exception as exc:  # noqa: BLE001 - any constructor failure is a configuration error
        # Name the keyword names only: values may hold API keys.
        raise ConfigError(f"model {key!r}: {cls.__name__}(**kwargs with keys {sorted(kwargs)[:20]}) failed: {_kwargs_problem(exc)}") from None
