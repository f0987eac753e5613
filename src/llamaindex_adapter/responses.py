"""Carrying a decision onto the ``Response`` a query engine or response synthesizer returns.

A synthesizer turns RouteLLM's text into a ``Response`` that RouteLLM never sees. An event handler
on LlamaIndex's root dispatcher opens a scope at each query/synthesis start event (a context
variable, so concurrent requests and threads stay apart), RouteLLM records each decision in the
innermost open scope, and the matching end event writes the scope's last decision into
``response.metadata["routellm"]``. A scope whose span fails (SpanDropEvent) is closed unused.
Streaming synthesizers call the LLM only as the tokens are read: their response is tagged when
its first token is produced.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import Any, AsyncIterator, Dict, Iterator, Optional

from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.query import QueryEndEvent, QueryStartEvent
from llama_index.core.instrumentation.events.span import SpanDropEvent
from llama_index.core.instrumentation.events.synthesis import SynthesizeEndEvent, SynthesizeStartEvent

from llamaindex_adapter.tags import tag_object

#: Scopes nested deeper than this (spans that never ended) are dropped rather than kept forever.
_MAX_DEPTH = 32


class _Scope:
    __slots__ = ("span_id", "parent", "depth", "last")

    def __init__(self, span_id: Optional[str], parent: Optional["_Scope"]) -> None:
        self.span_id = span_id
        self.parent = parent if parent is not None and parent.depth < _MAX_DEPTH else None
        self.depth = 0 if self.parent is None else self.parent.depth + 1
        self.last: Optional[Dict[str, Any]] = None


_ACTIVE: ContextVar[Optional[_Scope]] = ContextVar("routellm_llamaindex_response_scope", default=None)


def record(tag: Dict[str, Any]) -> None:
    """Remember ``tag`` as the latest decision of the innermost open query/synthesis, if any."""
    scope = _ACTIVE.get()
    if scope is not None:
        scope.last = tag


def _close(span_id: Optional[str]) -> Optional[_Scope]:
    """Close the open scope of ``span_id`` (and any left open inside it); return it, or None if none is open."""
    scope = _ACTIVE.get()
    while scope is not None and scope.span_id != span_id:
        scope = scope.parent
    if scope is None:
        return None
    _ACTIVE.set(scope.parent)
    return scope


def _tagging_stream(inner: Iterator[Any], response: Any) -> Iterator[Any]:
    """``inner``'s tokens; the decision RouteLLM makes while producing them is written on ``response``."""
    scope = _Scope(None, None)
    it = iter(inner)
    while True:
        token = _ACTIVE.set(scope)
        try:
            item = next(it)
        except StopIteration:
            return
        finally:
            _ACTIVE.reset(token)
        if scope.last is not None:
            tag_object(response, scope.last)
        yield item


async def _atagging_stream(inner: AsyncIterator[Any], response: Any) -> AsyncIterator[Any]:
    """Async :func:`_tagging_stream`."""
    scope = _Scope(None, None)
    it = inner.__aiter__()
    while True:
        token = _ACTIVE.set(scope)
        try:
            item = await it.__anext__()
        except StopAsyncIteration:
            return
        finally:
            _ACTIVE.reset(token)
        if scope.last is not None:
            tag_object(response, scope.last)
        yield item


def _tag_when_streamed(response: Any) -> None:
    """A streaming response whose LLM call has not happened yet: tag it when its tokens are produced."""
    gen = getattr(response, "response_gen", None)
    if gen is None or getattr(gen, "__qualname__", "") in (_tagging_stream.__qualname__, _atagging_stream.__qualname__):
        return
    try:
        if hasattr(gen, "__anext__"):
            response.response_gen = _atagging_stream(gen, response)
        elif hasattr(gen, "__next__"):
            response.response_gen = _tagging_stream(gen, response)
    except (AttributeError, TypeError, ValueError):  # a response type that does not allow it: events still show the decision
        pass


class ResponseTagger(BaseEventHandler):
    """Writes the decision RouteLLM made during a query or synthesis into the response's metadata."""

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "RouteLLMResponseTagger"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        """Open a scope on a start event; tag the response on the matching end event."""
        if isinstance(event, (QueryStartEvent, SynthesizeStartEvent)):
            _ACTIVE.set(_Scope(event.span_id, _ACTIVE.get()))
        elif isinstance(event, (QueryEndEvent, SynthesizeEndEvent)):
            scope = _close(event.span_id)
            if scope is None:
                return
            if scope.last is not None:
                tag_object(event.response, scope.last)
                if scope.parent is not None:
                    scope.parent.last = scope.last
            else:  # streaming synthesizers call the LLM lazily, as the tokens are read
                _tag_when_streamed(event.response)
        elif isinstance(event, SpanDropEvent):
            _close(event.span_id)


_INSTALL_LOCK = threading.Lock()


def install() -> None:
    """Register one :class:`ResponseTagger` on LlamaIndex's root dispatcher (idempotent)."""
    root = get_dispatcher()
    if any(isinstance(h, ResponseTagger) for h in root.event_handlers):
        return
    with _INSTALL_LOCK:
        if not any(isinstance(h, ResponseTagger) for h in root.event_handlers):
            root.add_event_handler(ResponseTagger())
