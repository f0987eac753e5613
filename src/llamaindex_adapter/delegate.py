"""Relaying a child's response or stream: tag each item with the decision, fail over before the first chunk."""

from __future__ import annotations

import dataclasses
from typing import Any, AsyncIterable, AsyncIterator, Awaitable, Callable, Dict, Iterable, Iterator, Optional, Tuple

from routellm_plugins import Decision

#: Key of the routing decision in ``additional_kwargs`` (responses) or ``metadata`` (agent responses).
DECISION_KEY = "routellm"

Tagger = Callable[[Any], Any]
Reopen = Callable[[Exception], Tuple[Iterable[Any], Tagger]]
AReopen = Callable[[Exception], Awaitable[Tuple[AsyncIterable[Any], Tagger]]]


def decision_dict(decision: Decision) -> Dict[str, Any]:
    """``decision.to_dict()`` without dataclasses.asdict's deep copy (its fields are plain values)."""
    out = {f.name: getattr(decision, f.name) for f in dataclasses.fields(decision)}
    out["candidates"] = [dataclasses.asdict(c) for c in decision.candidates]
    return out


def tagger(tag: Optional[Dict[str, Any]]) -> Tagger:
    """A function that writes ``tag`` into a response's ``additional_kwargs`` (or an agent response's ``metadata``)."""
    if tag is None:
        return _identity

    def apply(item: Any) -> Any:
        extra = getattr(item, "additional_kwargs", None)
        if isinstance(extra, dict):
            extra[DECISION_KEY] = tag
        elif hasattr(item, "metadata") and hasattr(item, "sources"):  # AgentChatResponse
            item.metadata = {**(item.metadata or {}), DECISION_KEY: tag}
        return item

    return apply


def _identity(item: Any) -> Any:
    return item


def _close(it: Any) -> None:
    close = getattr(it, "close", None)
    if close is not None:
        close()


async def _aclose(it: Any) -> None:
    aclose = getattr(it, "aclose", None)
    if aclose is not None:
        await aclose()


def relay(inner: Iterable[Any], tag: Tagger, reopen: Optional[Reopen] = None) -> Iterator[Any]:
    """Yield ``inner``'s items tagged; if it fails before its first item and ``reopen`` is set, switch streams once."""
    it = iter(inner)
    try:
        try:
            first = next(it)
        except StopIteration:
            return
        except Exception as exc:
            if reopen is None:
                raise
            _close(it)
            replacement, tag = reopen(exc)
            it = iter(replacement)
            try:
                first = next(it)
            except StopIteration:
                return
        yield tag(first)
        for item in it:
            yield tag(item)
    finally:
        _close(it)


async def arelay(inner: AsyncIterable[Any], tag: Tagger, reopen: Optional[AReopen] = None) -> AsyncIterator[Any]:
    """Async :func:`relay`."""
    it = inner.__aiter__()
    try:
        try:
            first = await it.__anext__()
        except StopAsyncIteration:
            return
        except Exception as exc:
            if reopen is None:
                raise
            await _aclose(it)
            replacement, tag = await reopen(exc)
            it = replacement.__aiter__()
            try:
                first = await it.__anext__()
            except StopAsyncIteration:
                return
        yield tag(first)
        async for item in it:
            yield tag(item)
    finally:
        await _aclose(it)
