"""Relaying a child's response or stream: tag each item with the decision, fail over before the first chunk."""

from __future__ import annotations

from typing import Any, AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Optional, Tuple

from llamaindex_adapter.tags import Tagger

Reopen = Callable[[Exception], Tuple[Iterable[Any], Tagger]]
AReopen = Callable[[Exception], Awaitable[Tuple[AsyncIterable[Any], Tagger]]]


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
