"""Micro-batching: concurrent encoder calls coalesce into one model call.

A caller hands :class:`MicroBatcher` its own list of items (token sequences) and gets back its own
rows, in order. While one batch runs, callers that arrive queue up; when it ends, one of them
(the leader) takes every queued job (up to ``max_rows`` rows) and runs them as one call, so
throughput grows with load. No background thread: the leader is always a caller.

A lone caller on an idle encoder runs at once. Under load (the last batch served more than one
caller) the leader waits up to ``max_wait_s`` for more callers before it runs; ``max_wait_s=0``
never waits. An exception raised by the model call reaches exactly the callers of that batch.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Generic, Sequence, TypeVar

import numpy as np

from routellm_plugins.errors import ConfigError

T = TypeVar("T")
#: Longest wait a leader may add for more callers (the configurable bound is at most this).
MAX_WAIT_LIMIT_S = 0.002


class _Job(Generic[T]):
    __slots__ = ("items", "result", "error", "done")

    def __init__(self, items: list[T]) -> None:
        self.items = items
        self.result: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class MicroBatcher(Generic[T]):
    """Coalesce concurrent ``fn(items) -> (len(items), dim) array`` calls into one call.

    ``max_wait_s`` (0 to 0.002): how long a leader waits for more callers under load;
    ``max_rows``: most items one coalesced call takes (a larger single job runs alone).
    After :meth:`close` every call runs ``fn`` directly; jobs already queued are still served.
    """

    def __init__(self, fn: Callable[[list[T]], np.ndarray], *, max_wait_s: float = MAX_WAIT_LIMIT_S,
                 max_rows: int = 256) -> None:
        if not isinstance(max_wait_s, (int, float)) or isinstance(max_wait_s, bool) or not 0 <= max_wait_s <= MAX_WAIT_LIMIT_S:
            raise ConfigError(f"micro-batch max_wait_s must be a number of seconds in [0, {MAX_WAIT_LIMIT_S}], got {max_wait_s!r}")
        if not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1:
            raise ConfigError(f"micro-batch max_rows must be an int >= 1, got {max_rows!r}")
        self.fn = fn
        self.max_wait_s = float(max_wait_s)
        self.max_rows = max_rows
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[_Job[T]] = []
        self._busy = False
        self._closed = False
        self._last_callers = 0
        #: Counters for benches and tests: model calls made and jobs (caller calls) served.
        self.calls = 0
        self.jobs = 0

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop coalescing: later calls run ``fn`` directly; queued callers are still answered."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __call__(self, items: Sequence[T]) -> np.ndarray:
        """``fn(items)``, possibly computed together with other callers' items."""
        job: _Job[T] = _Job(list(items))
        with self._cond:
            if self._closed and not self._busy:
                direct = True
            else:
                direct = False
                self._queue.append(job)
                self._cond.notify_all()  # a lingering leader may now have enough rows
        if direct:
            return self.fn(job.items)
        while True:
            with self._cond:
                while not job.done and self._busy:
                    self._cond.wait()
                if job.done:
                    break
                self._busy = True  # this caller leads the next batch
            self._lead()
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def _take(self) -> list[_Job[T]]:
        """Pop queued jobs in arrival order while they fit in ``max_rows`` (at least one). Lock held."""
        batch, rows = [], 0
        while self._queue and (not batch or rows + len(self._queue[0].items) <= self.max_rows):
            job = self._queue.pop(0)
            batch.append(job)
            rows += len(job.items)
        return batch

    def _lead(self) -> None:
        """Run one coalesced call for the queued jobs, then hand leadership on. Called with _busy set."""
        try:
            with self._cond:
                if self.max_wait_s > 0 and self._last_callers > 1 and not self._closed:
                    deadline = time.perf_counter() + self.max_wait_s
                    while sum(len(j.items) for j in self._queue) < self.max_rows and not self._closed:
                        left = deadline - time.perf_counter()
                        if left <= 0:
                            break
                        self._cond.wait(left)
                batch = self._take()
                self._last_callers = len(batch)
            if batch:
                self._run(batch)
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _run(self, batch: list[_Job[T]]) -> None:
        """One model call for ``batch``; each job gets its own rows or the call's exception."""
        items = [x for job in batch for x in job.items]
        try:
            out = self.fn(items)
            if len(out) != len(items):
                raise RuntimeError(f"encoder returned {len(out)} rows for {len(items)} inputs")
            start = 0
            for job in batch:
                job.result = out[start : start + len(job.items)]
                start += len(job.items)
        except BaseException as exc:  # noqa: BLE001 - handed to exactly this batch's callers
            for job in batch:
                job.error = exc
        with self._cond:
            self.calls += 1
            self.jobs += len(batch)
            for job in batch:
                job.done = True
            self._cond.notify_all()
