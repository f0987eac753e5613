"""Bounded routing work under a deadline: a few worker threads, a short queue, no orphaned jobs.

:class:`SheddingPool` is what ``timeout_s`` runs on. A job whose caller has given up is never
started (it is dropped from the queue), and a request is refused at once (:class:`Overloaded`)
when the queue is full or the queued work could not finish within the caller's deadline, so
excess load is answered by the fallback instead of piling up CPU work nobody waits for.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from routellm_plugins.errors import RouteLLMError

#: Most queued (not yet started) jobs per worker; within it, a job is admitted only if the work
#: ahead of it (at the moving-average job time) leaves it time to finish before its deadline.
QUEUE_PER_WORKER = 16
_EWMA_ALPHA = 0.2


class Overloaded(RouteLLMError):
    """The routing queue is full (or could not finish in time): the request is answered by the fallback."""


def default_workers() -> int:
    """Worker threads for routing: half the usable cores, 1 to 4 (the encoder itself uses several threads)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(4, cores // 2 or 1))


@dataclass(eq=False)
class _Job:
    fn: Callable[[Any], Any]
    arg: Any
    deadline: float
    done: threading.Event = field(default_factory=threading.Event)
    state: str = "queued"  # queued | running | finished | abandoned
    result: Any = None
    error: BaseException | None = None
    caller_left: bool = False


class SheddingPool:
    """Runs ``fn(arg)`` on ``workers`` threads; the caller waits at most ``timeout_s`` and never queues unboundedly."""

    def __init__(self, workers: int | None = None, queue_size: int | None = None, name: str = "routellm") -> None:
        self.workers = workers or default_workers()
        self.queue_size = queue_size if queue_size is not None else QUEUE_PER_WORKER * self.workers
        self._name = name
        self._queue: deque[_Job] = deque()
        self._cv = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._running = 0
        self._service_s: float | None = None  # moving average of one job's run time
        self.counters = {"submitted": 0, "completed": 0, "shed": 0, "timed_out": 0, "dropped_unstarted": 0,
                         "finished_after_caller_left": 0, "seconds_after_caller_left": 0.0}

    # ---- caller side -------------------------------------------------------------------
    def run(self, fn: Callable[[Any], Any], arg: Any, timeout_s: float) -> Any:
        """``fn(arg)`` run on a worker; raises :class:`Overloaded` at once when shed, TimeoutError after ``timeout_s``."""
        now = time.monotonic()
        job = _Job(fn, arg, now + timeout_s)
        with self._cv:
            self._start_workers()
            reason = self._refusal(timeout_s)
            if reason is not None:
                self.counters["shed"] += 1
                raise Overloaded(reason)
            self._queue.append(job)
            self.counters["submitted"] += 1
            self._cv.notify()
        if not job.done.wait(timeout_s):
            with self._cv:
                late = job.state != "finished"
                if job.state == "queued":
                    self._queue.remove(job)
                    job.state = "abandoned"
                    self.counters["dropped_unstarted"] += 1
                if late:
                    job.caller_left = True
                    self.counters["timed_out"] += 1
            if late:
                raise TimeoutError(f"routing took longer than timeout_s={timeout_s:g}")
        job.done.wait()  # finished under the lock: the result is set
        if job.error is not None:
            raise job.error
        return job.result

    def _refusal(self, timeout_s: float) -> str | None:
        """Why a new job is refused now, or None (called under the lock)."""
        queued = len(self._queue)
        if queued >= self.queue_size:
            return f"overloaded: {queued} routing jobs already queued"
        idle = self._running + queued < self.workers
        if not idle and self._service_s is not None:
            ahead = (self._running + queued) / self.workers
            expected = (ahead + 1.0) * self._service_s
            if expected > timeout_s:
                return f"overloaded: the {self._running + queued} jobs ahead would not finish within timeout_s={timeout_s:g}"
        return None

    # ---- worker side -------------------------------------------------------------------
    def _start_workers(self) -> None:
        while len(self._threads) < self.workers:
            t = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True)
            self._threads.append(t)
            t.start()

    def _next(self) -> _Job:
        with self._cv:
            while True:
                while not self._queue:
                    self._cv.wait()
                job = self._queue.popleft()
                if time.monotonic() >= job.deadline:  # its caller is giving up now: do not start it
                    job.state = "abandoned"
                    self.counters["dropped_unstarted"] += 1
                    continue
                job.state = "running"
                self._running += 1
                return job

    def _work(self) -> None:
        while True:
            job = self._next()
            started = time.perf_counter()
            try:
                job.result = job.fn(job.arg)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                job.error = exc
            took = time.perf_counter() - started
            with self._cv:
                self._running -= 1
                job.state = "finished"
                self._service_s = took if self._service_s is None else (1 - _EWMA_ALPHA) * self._service_s + _EWMA_ALPHA * took
                self.counters["completed"] += 1
                if job.caller_left:
                    self.counters["finished_after_caller_left"] += 1
                    self.counters["seconds_after_caller_left"] += max(0.0, time.monotonic() - job.deadline)
            job.done.set()

    # ---- observation -------------------------------------------------------------------
    def stats(self) -> dict[str, float]:
        """Counters since creation, plus the queue length and the moving-average job time."""
        with self._cv:
            return {**self.counters, "queued": len(self._queue), "running": self._running,
                    "service_s": self._service_s or 0.0}

    def idle(self) -> bool:
        """True when no job is queued or running."""
        with self._cv:
            return not self._queue and self._running == 0
