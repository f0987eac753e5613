"""The text a routing decision is made on, taken from LangChain messages or any runnable input.

Every function here is total: for any input it returns a ``str`` or ``None`` (no usable
text) and never raises, so a strange message can cost at most a fallback decision.
The one exception is :func:`check_route_on`, which rejects a bad *configuration* value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Union

from langchain_core.messages import BaseMessage, ChatMessage, HumanMessage, ToolMessage
from langchain_core.prompt_values import PromptValue

from routellm_plugins.errors import ConfigError, show_value
from routellm_plugins.settings import ROUTE_ON_CONVERSATION, ROUTE_ON_LAST_USER
from routellm_plugins.validation import has_visible_text

LAST_USER = ROUTE_ON_LAST_USER
CONVERSATION = ROUTE_ON_CONVERSATION
#: Older name of ``"last_user"``, still accepted.
LAST_HUMAN = "last_human"
ROUTE_ON_MODES = (LAST_USER, CONVERSATION)

#: ``"last_user"``, ``"conversation"``, or a callable returning the text (or None).
RouteOn = Union[Literal["last_user", "conversation", "last_human"], Callable[[Any], Any]]

# Content-part types that carry plain text (LangChain v1 blocks and OpenAI Responses input).
# A tuple, not a set: a part's "type" may be unhashable, and `in` on a tuple only compares.
_TEXT_PART_TYPES = ("text", "input_text")
_HUMAN_CHAT_ROLES = ("user", "human")


def check_route_on(route_on: Any) -> RouteOn:
    """``route_on`` as a known mode (``"last_human"`` becomes ``"last_user"``) or a callable;
    anything else raises ConfigError naming it."""
    if callable(route_on):
        return route_on
    if isinstance(route_on, str) and route_on == LAST_HUMAN:
        return LAST_USER  # type: ignore[return-value]
    if isinstance(route_on, str) and route_on in ROUTE_ON_MODES:
        return route_on  # type: ignore[return-value]
    raise ConfigError(f"route_on must be one of {list(ROUTE_ON_MODES)} or a callable, got {show_value(route_on)}")


def content_text(content: Any) -> str:
    """Plain text of a message ``content``: a str, or the text parts of a content-part list.

    Images, audio, files, tool blocks and anything unrecognised are skipped; text parts
    are joined with newlines. Never raises.
    """
    if isinstance(content, str):
        return content
    if not isinstance(content, (list, tuple)):
        return ""
    parts: list[str] = []
    for part in content:
        if isinstance(part, str):
            text: Any = part
        elif isinstance(part, dict):
            kind = part.get("type")
            if kind is not None and not (isinstance(kind, str) and kind in _TEXT_PART_TYPES):
                continue
            text = part.get("text")
        else:
            continue
        if isinstance(text, str) and text:
            parts.append(text)
    return "\n".join(parts)


def is_human(message: Any) -> bool:
    """True for a human/user message (``HumanMessage``, its chunk, or a ChatMessage with role user)."""
    if isinstance(message, HumanMessage):
        return True
    role = getattr(message, "role", None)
    return isinstance(message, ChatMessage) and isinstance(role, str) and role.lower() in _HUMAN_CHAT_ROLES


def _message_text(message: BaseMessage) -> str:
    return content_text(getattr(message, "content", None))


def usable(text: str) -> bool:
    """True when ``text`` has something a router can read: a visible character, not only
    whitespace, zero-width, control or format characters (the core's own test)."""
    return has_visible_text(text)


def _clean(text: str) -> str | None:
    return text if usable(text) else None


def routing_text(messages: Any, route_on: RouteOn = LAST_USER) -> str | None:
    """The text to route ``messages`` (a sequence of BaseMessage) on, or None when there is none.

    ``"last_user"`` (or its old name ``"last_human"``): the text of the last user message (None
    if that message has no text, e.g. an image alone). ``"conversation"``: the text of every
    system, human and AI message, in order, joined by blank lines (tool messages are left
    out). A callable receives the message list and returns the text. Non-message items are
    ignored. Never raises except what a user-supplied callable raises.
    """
    if callable(route_on):
        out = route_on(list(messages) if isinstance(messages, Sequence) and not isinstance(messages, str) else messages)
        return _clean(out) if isinstance(out, str) else None
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        return None
    if route_on == CONVERSATION:
        texts = [
            t
            for m in messages
            if isinstance(m, BaseMessage) and not isinstance(m, ToolMessage)
            for t in (_message_text(m),)
            if usable(t)
        ]
        return "\n\n".join(texts) if texts else None
    for message in reversed(messages):
        if is_human(message):
            return _clean(_message_text(message))
    return None


def input_messages(value: Any) -> list[BaseMessage] | None:
    """Messages held by a runnable input (PromptValue, message, list of message-likes), else None."""
    try:
        if isinstance(value, PromptValue):
            return value.to_messages()
        if isinstance(value, BaseMessage):
            return [value]
        if isinstance(value, (list, tuple)) and value:
            if all(isinstance(m, BaseMessage) for m in value):
                return list(value)
            from langchain_core.messages import convert_to_messages

            return convert_to_messages(value)
    except Exception:  # noqa: BLE001 - an input we cannot read as messages is simply not messages
        return None
    return None


def input_text(value: Any, route_on: RouteOn = LAST_USER, input_key: str | None = None) -> str | None:
    """The routing text of any runnable input; None when it holds no usable text. Never raises
    except what a user-supplied ``route_on`` callable raises.

    A callable ``route_on`` receives the raw input. Otherwise: a str is the text; a
    PromptValue, message or message list follows :func:`routing_text`; a mapping uses
    ``input_key`` if given, else its ``"messages"`` entry, else its str values joined by
    newlines (in insertion order).
    """
    if callable(route_on):
        out = route_on(value)
        return _clean(out) if isinstance(out, str) else None
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, Mapping):
        try:
            if input_key is not None:
                return input_text(value.get(input_key), route_on) if input_key in value else None
            if "messages" in value:
                return input_text(value.get("messages"), route_on)
            texts = [v for v in value.values() if isinstance(v, str) and usable(v)]
        except Exception:  # noqa: BLE001 - exotic Mapping implementations
            return None
        return "\n".join(texts) if texts else None
    messages = input_messages(value)
    return None if messages is None else routing_text(messages, route_on)
