"""Run-config plumbing: session ids for sticky routing, the child's config, and response tagging."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from typing import Any
from uuid import UUID

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig

from routellm_plugins import Decision

#: Response-metadata / run-metadata key under which the routing decision is recorded.
METADATA_KEY = "routellm"
#: Tag put on every delegated run; a second tag names the chosen key (``routellm:strong``).
TAG = "routellm"
#: Where a session id is looked for: ``configurable`` first, then ``metadata``.
DEFAULT_SESSION_KEYS: tuple[str, ...] = ("thread_id", "session_id", "conversation_id")


_DECISION_FIELDS = tuple(f.name for f in fields(Decision) if f.name != "candidates")


def decision_dict(decision: Decision) -> dict[str, Any]:
    """``decision.to_dict()`` without dataclasses.asdict's deep copy (this runs on every call)."""
    out = {name: getattr(decision, name) for name in _DECISION_FIELDS}
    out["candidates"] = [asdict(c) for c in decision.candidates]
    return out


def session_id(config: Mapping[str, Any] | None, keys: Sequence[str] = DEFAULT_SESSION_KEYS) -> str | None:
    """The conversation id in a RunnableConfig (``configurable`` then ``metadata``) as a str, or
    None. Only a str, an int or a UUID counts as an id; other values are not conversation ids."""
    if not config:
        return None
    for section in ("configurable", "metadata"):
        values = config.get(section)
        if not isinstance(values, Mapping):
            continue
        for key in keys:
            value = values.get(key)
            if isinstance(value, str):
                if value:
                    return value
            elif isinstance(value, (int, UUID)) and not isinstance(value, bool):
                return str(value)
    return None


def child_config(
    config: RunnableConfig,
    meta: dict[str, Any],
    *,
    keep_run_id: bool,
    extra_tags: Sequence[str] = (),
) -> RunnableConfig:
    """A copy of ``config`` for the chosen child: the decision in metadata, routing tags added.

    ``keep_run_id`` passes a ``run_id`` in ``config`` on (first attempt only: a retry or a
    failover is a new run); the router's own run has already taken it when there is one.
    """
    out: dict[str, Any] = dict(config)
    out["metadata"] = {**(config.get("metadata") or {}), METADATA_KEY: meta}
    out["tags"] = [*(config.get("tags") or []), *extra_tags, TAG, f"{TAG}:{meta['served_by']}"]
    if not keep_run_id:
        out.pop("run_id", None)
    return out  # type: ignore[return-value]


def tag_output(output: Any, meta: dict[str, Any]) -> Any:
    """``output`` with the decision in ``response_metadata`` when it is a message (or holds one
    under ``"raw"``, as ``with_structured_output(include_raw=True)`` returns); else unchanged."""
    if isinstance(output, BaseMessage):
        return output.model_copy(update={"response_metadata": {**output.response_metadata, METADATA_KEY: meta}})
    if isinstance(output, dict) and isinstance(output.get("raw"), BaseMessage):
        return {**output, "raw": tag_output(output["raw"], meta)}
    return output


def add_callbacks(base: Any, extra: Any) -> Any:
    """``base`` callbacks (None, list, or manager) with the handlers of ``extra`` added, as a new value."""
    handlers = list(getattr(extra, "handlers", extra) or [])
    if base is None:
        return handlers
    if isinstance(base, list):
        return base + [h for h in handlers if h not in base]
    manager = base.copy()
    for handler in handlers:
        manager.add_handler(handler, inherit=True)
    return manager
