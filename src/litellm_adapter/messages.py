"""The text a route scores: the last user message of an OpenAI-style ``messages`` list."""

from __future__ import annotations

from typing import Any, Iterable

_TEXT_PART_TYPES = frozenset({"text", "input_text"})


def _is_text_part(part: dict) -> bool:
    kind = part.get("type", "text")
    return isinstance(kind, str) and kind in _TEXT_PART_TYPES  # a malformed part's type may be unhashable


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and _is_text_part(part) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "\n".join(parts)
    return ""


def routing_text(messages: Iterable[Any] | None) -> str | None:
    """Text of the last user message (its string content or text parts), or None if it has no text.

    System, assistant and tool messages are not scored; image-only or empty user turns give None,
    which routes to the controller's fallback model with the reason stated.
    """
    if not messages:
        return None
    try:
        items = list(messages)
    except TypeError:
        return None
    for msg in reversed(items):
        role = msg.get("role") if isinstance(msg, dict) else getattr(msg, "role", None)
        if role != "user":
            continue
        content = msg.get("content") if isinstance(msg, dict) else getattr(msg, "content", None)
        text = _content_text(content)
        return text if text.strip() else None
    return None
