"""Where a routing decision is written on LlamaIndex objects, and how it is read back.

- ``ChatResponse`` / ``CompletionResponse`` and every stream chunk: ``additional_kwargs["routellm"]``;
- the ``ChatMessage`` of a ChatResponse (what agents return as ``result.response``): a private
  attribute, never a field, so the decision is not serialised and never sent back to a provider
  when the message is replayed as history (OpenAI-style clients copy ``additional_kwargs`` into the
  request);
- query-engine ``Response`` objects and agent/chat-engine ``AgentChatResponse``: ``metadata["routellm"]``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Optional

from routellm_plugins import Decision

#: Key of the routing decision in ``additional_kwargs`` (responses) or ``metadata`` (query/agent responses).
DECISION_KEY = "routellm"
#: Instance attribute (outside the pydantic fields) that carries the decision on a ChatMessage.
_MESSAGE_ATTR = "_routellm_decision"

Tagger = Callable[[Any], Any]


def decision_dict(decision: Decision) -> Dict[str, Any]:
    """``decision.to_dict()`` without dataclasses.asdict's deep copy (its fields are plain values)."""
    out = {f.name: getattr(decision, f.name) for f in dataclasses.fields(decision)}
    out["candidates"] = [dataclasses.asdict(c) for c in decision.candidates]
    return out


def _tag_message(message: Any, tag: Dict[str, Any]) -> None:
    try:
        object.__setattr__(message, _MESSAGE_ATTR, tag)
    except (AttributeError, TypeError):  # a message type without an instance dict: the response still carries it
        pass


def _tag_metadata(item: Any, tag: Dict[str, Any]) -> None:
    meta = getattr(item, "metadata", None)
    if meta is None or isinstance(meta, dict):
        try:  # a new dict: the old one may be shared
            item.metadata = {**(meta or {}), DECISION_KEY: tag}
        except (AttributeError, TypeError, ValueError):
            pass


def tag_object(item: Any, tag: Dict[str, Any]) -> Any:
    """Write ``tag`` where ``item`` can carry it (see the module docstring); returns ``item``."""
    extra = getattr(item, "additional_kwargs", None)
    if isinstance(extra, dict):
        extra[DECISION_KEY] = tag
        message = getattr(item, "message", None)
        if message is not None:
            _tag_message(message, tag)
    elif hasattr(item, "metadata") and (hasattr(item, "sources") or hasattr(item, "source_nodes")):
        _tag_metadata(item, tag)  # AgentChatResponse, Response, StreamingResponse, PydanticResponse
    return item


def tagger(tag: Optional[Dict[str, Any]]) -> Tagger:
    """A function that writes ``tag`` on a response or chunk (identity when ``tag`` is None)."""
    if tag is None:
        return _identity
    return lambda item: tag_object(item, tag)


def _identity(item: Any) -> Any:
    return item


def _from_mapping(value: Any) -> Optional[Dict[str, Any]]:
    found = value.get(DECISION_KEY) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else None


def decision_of(obj: Any) -> Optional[Dict[str, Any]]:
    """The routing decision (a dict) carried by a RouteLLM result, or None.

    Accepts a ChatResponse, its ``.message``, a CompletionResponse, a stream chunk, an agent result
    (``AgentOutput``, or its ``.response``), a query-engine Response and an AgentChatResponse (its own
    metadata, or that of the query-engine response among its sources).
    """
    if obj is None:
        return None
    found = _from_mapping(getattr(obj, "additional_kwargs", None))
    if found is None:
        found = getattr(obj, "__dict__", {}).get(_MESSAGE_ATTR)
    if found is None:
        found = _from_mapping(getattr(obj, "metadata", None))
    if found is None:
        message = getattr(obj, "message", None)
        if message is None and not isinstance(getattr(obj, "response", None), str):
            message = getattr(obj, "response", None)  # AgentOutput.response is the ChatMessage
        if message is not None and message is not obj:
            found = getattr(message, "__dict__", {}).get(_MESSAGE_ATTR)
    if found is None:
        for source in getattr(obj, "sources", None) or ():
            found = _from_mapping(getattr(getattr(source, "raw_output", None), "metadata", None))
            if found is not None:
                break
    return found if isinstance(found, dict) else None
