"""Which conversation a call belongs to (for ``sticky_sessions``), and the decision of each agent turn.

LlamaIndex passes no conversation id to an LLM, so the caller names one around its calls with
:func:`session` (a context variable: it reaches every LLM call made inside, sync or async, including
the steps of a chat engine or agent started there).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, Iterator, Optional, TypeVar

from routellm_plugins.errors import ConfigError, show_value

_SESSION: ContextVar[Optional[str]] = ContextVar("routellm_llamaindex_session", default=None)

T = TypeVar("T")


@contextmanager
def session(session_id: str) -> Iterator[str]:
    """Route every call made inside the block as part of conversation ``session_id``."""
    if not isinstance(session_id, str) or not session_id.strip():
        raise ConfigError(f"session id must be a non-empty string, got {type(session_id).__name__} {show_value(session_id)}")
    token = _SESSION.set(session_id)
    try:
        yield session_id
    finally:
        _SESSION.reset(token)


def current_session() -> Optional[str]:
    """The session id set by the innermost :func:`session` block, or None."""
    return _SESSION.get()


class TurnMemory(Generic[T]):
    """A small thread-safe LRU map: turn key -> the value decided on the turn's first call."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._items: "OrderedDict[str, T]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Optional[T]:
        """The value stored for ``key`` (marked recently used), or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: T) -> None:
        """Store ``value`` for ``key``, dropping the least recently used entry beyond ``size``."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
