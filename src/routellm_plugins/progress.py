"""Progress bars for long CLI work: off unless a caller turns them on for a block of code.

``with progress_bars(True): router.score(prompts)`` shows a tqdm bar (on stderr, only once the
work has run for :data:`DELAY_S`); library calls outside such a block never print.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator

#: Seconds of work before a bar appears (short jobs print nothing).
DELAY_S = 1.0
_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar("routellm_progress", default=False)


def progress_enabled() -> bool:
    """True inside a :func:`progress_bars` block that turned bars on."""
    return _ENABLED.get()


@contextlib.contextmanager
def progress_bars(enabled: bool = True) -> Iterator[None]:
    """Show (or hide) progress bars for the work done inside the block."""
    token = _ENABLED.set(bool(enabled))
    try:
        yield
    finally:
        _ENABLED.reset(token)


def bar(total: int | None, desc: str, unit: str = "prompt", shown: bool = True) -> Any:
    """A tqdm bar when bars are on (and ``shown``), else a no-op object with the same ``update``/``close`` methods."""
    if not (shown and _ENABLED.get()):
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, delay=DELAY_S, leave=False, dynamic_ncols=True)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> "_NoBar":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass
