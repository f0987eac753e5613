"""The text a route scores: the last user turn of a chat ``messages`` list or a Responses API ``input``.

``route_on`` (the shared setting, see :mod:`routellm_plugins.settings`) picks the text:
``"last_user"`` (default) the last user turn; ``"conversation"`` every system, user and
assistant turn in order, joined by blank lines (tool turns left out).
"""

from __future__ import annotations

from typing import Any, Iterable

from routellm_plugins.errors import ConfigError

from litellm_adapter.redact import show

try:  # the core's own test of "nothing visible" (zero-width, control and format characters count as empty)
    from routellm_plugins.validation import has_visible_text as _visible
except ImportError:  # pragma: no cover - an older core: whitespace only counts as empty
    def _visible(text: str) -> bool:
        return bool(text.strip())
from routellm_plugins.settings import ROUTE_ON_CONVERSATION, ROUTE_ON_LAST_USER

ROUTE_ON_MODES = (ROUTE_ON_LAST_USER, ROUTE_ON_CONVERSATION)
_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})
_CONVERSATION_ROLES = frozenset({"system", "developer", "user", "assistant"})


def check_route_on(value: Any) -> str:
    """``route_on`` as one of :data:`ROUTE_ON_MODES`, else ConfigError naming the value."""
    if isinstance(value, str) and value in ROUTE_ON_MODES:
        return value
    raise ConfigError(f"route_on must be one of {list(ROUTE_ON_MODES)}, got {show(value)}")


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


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _turns(items: Iterable[Any]) -> list[tuple[str, str]]:
    """(role, text) of each message-like item; items without a string role are skipped."""
    out = []
    for item in items:
        role = _field(item, "role")
        if not isinstance(role, str):
            continue
        kind = _field(item, "type")
        if kind is not None and kind != "message":  # Responses API items other than messages (tool calls, reasoning...)
            continue
        out.append((role, _content_text(_field(item, "content"))))
    return out


def _pick(turns: list[tuple[str, str]], route_on: str) -> str | None:
    if route_on == ROUTE_ON_CONVERSATION:
        texts = [t for role, t in turns if role in _CONVERSATION_ROLES and _visible(t)]
        return "\n\n".join(texts) if texts else None
    for role, text in reversed(turns):
        if role == "user":
            return text if _visible(text) else None
    return None


def _items(value: Any) -> list[Any] | None:
    if value is None or isinstance(value, (str, bytes, dict)):
        return None
    try:
        return list(value)
    except TypeError:
        return None


def routing_text(messages: Iterable[Any] | None, route_on: str = ROUTE_ON_LAST_USER) -> str | None:
    """Text of the last user message (its string content or text parts), or None if it has no text.

    System, assistant and tool messages are not scored (except with ``route_on="conversation"``);
    image-only, empty or invisible-only user turns give None, which routes to the controller's fallback model
    with the reason stated. Never raises.
    """
    items = _items(messages)
    return None if not items else _pick(_turns(items), route_on)


def input_text(value: Any, route_on: str = ROUTE_ON_LAST_USER) -> str | None:
    """Text of a Responses API ``input``: the string itself, or the last user item's text; None without text."""
    if isinstance(value, str):
        return value if _visible(value) else None
    items = _items(value)
    return None if not items else _pick(_turns(items), route_on)


def request_text(messages: Any = None, input: Any = None, route_on: str = ROUTE_ON_LAST_USER) -> str | None:
    """The routing text of a call: from chat ``messages`` when given, else from a Responses API ``input``."""
    if messages is not None:
        return routing_text(messages, route_on)
    return input_text(input, route_on)
