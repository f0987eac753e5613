"""The one safe reader of configuration and JSON data: bounded size, nesting depth and YAML aliases.

Every config a user or a framework hands the package (``RoutingController.from_config``, each
adapter's ``from_config``, ``router.json`` of a checkpoint, JSONL inputs) is parsed here, so a
600-byte YAML alias bomb or a 100,000-deep JSON array fails fast with a clear error instead of
exhausting memory, time or the interpreter's recursion limit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from routellm_plugins.errors import ConfigError, RouteLLMError, show_value

#: Largest config file read (bytes); real configs are a few kB.
MAX_CONFIG_BYTES = 1 << 20
#: Deepest nesting of mappings and lists accepted in a config or JSON record.
MAX_DEPTH = 64
#: Most alias references (``*name``) a YAML config may hold.
MAX_YAML_ALIASES = 1_000
#: Most nodes a YAML document may expand to once every alias is followed.
MAX_YAML_NODES = 200_000


class _TooDeep(Exception):
    """Internal: nesting beyond the cap was found (turned into the caller's error type)."""


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise ``_TooDeep`` when ``value`` nests dicts/lists deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    seen: set[int] = set()
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children = list(item.values())
        elif isinstance(item, (list, tuple)):
            children = list(item)
        else:
            continue
        if depth > limit:
            raise _TooDeep
        if id(item) in seen:  # shared or self-referencing containers: walk each once
            continue
        seen.add(id(item))
        stack.extend((c, depth + 1) for c in children)


def loads_json(text: str | bytes, what: str, error: type[RouteLLMError] = ConfigError, limit: int = MAX_DEPTH) -> Any:
    """Parse JSON ``text`` (described as ``what`` in errors), refusing nesting deeper than ``limit``."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise error(f"{what} nests deeper than {limit} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{what} is not valid JSON: {exc}") from exc
    try:
        check_depth(value, limit)
    except _TooDeep:
        raise error(f"{what} nests deeper than {limit} levels") from None
    return value


def _bounded_loader():  # built on first use: importing this module does not import yaml
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        """SafeLoader that counts aliases and nesting while composing, before anything is built."""

        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.aliases = 0
            self.depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_YAML_ALIASES:
                    raise ConfigError(f"uses more than {MAX_YAML_ALIASES:,} YAML aliases (*name)")
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ConfigError(f"nests deeper than {MAX_DEPTH} levels")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return BoundedLoader


def _expanded_size(root: Any) -> tuple[int, int]:
    """(nodes, depth) of a composed YAML graph once every alias is expanded; ConfigError beyond the caps or on a cycle."""
    import yaml

    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            size[key], depth[key] = 1, 1
            continue
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[key] > MAX_YAML_NODES:
                raise ConfigError(f"expands to more than {MAX_YAML_NODES:,} values through YAML aliases")
            if depth[key] > MAX_DEPTH:
                raise ConfigError(f"nests deeper than {MAX_DEPTH} levels through YAML aliases")
            continue
        if key in size:
            continue
        if key in on_path:
            raise ConfigError("refers to itself through a YAML alias")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)
    return size[id(root)], depth[id(root)]


def loads_yaml(text: str, what: str) -> Any:
    """Parse YAML (or JSON) ``text`` with SafeLoader under the alias, expansion and depth caps."""
    import yaml

    loader = _bounded_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node)
        return loader.construct_document(node)
    except ConfigError as exc:
        raise ConfigError(f"{what} {exc}") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise ConfigError(f"{what} is not valid YAML/JSON: {exc}") from exc
    finally:
        loader.dispose()


def read_text_capped(path: Path, what: str, limit: int = MAX_CONFIG_BYTES, error: type[RouteLLMError] = ConfigError) -> str:
    """The UTF-8 text of ``path``, refusing files over ``limit`` bytes before reading them."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise error(f"{what} is {size:,} bytes; the limit is {limit:,}")
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise error(f"{what} cannot be read: {exc.strerror or type(exc).__name__}") from exc
    if len(data) > limit:
        raise error(f"{what} is over {limit:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not valid YAML/JSON: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def read_config(config: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    """A config as a dict: a mapping passes through (copied); a path is read as YAML or JSON, safely.

    Files over :data:`MAX_CONFIG_BYTES`, nesting deeper than :data:`MAX_DEPTH`, more than
    :data:`MAX_YAML_ALIASES` aliases or an alias expansion beyond :data:`MAX_YAML_NODES` values
    raise :class:`ConfigError` at once.
    """
    if isinstance(config, Mapping):
        return dict(config)
    if not isinstance(config, (str, os.PathLike)):
        raise ConfigError(f"config must be a dict or a YAML/JSON file path, got {type(config).__name__}")
    path = Path(config)
    what = f"config file {show_value(str(path), limit=200)}"
    if not path.is_file():
        raise ConfigError(f"{what} does not exist")
    data = loads_yaml(read_text_capped(path, what), what)
    if not isinstance(data, dict):
        raise ConfigError(f"{what} must hold a mapping, got {type(data).__name__}")
    return data
