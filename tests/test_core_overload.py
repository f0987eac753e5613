"""``timeout_s`` sheds load instead of queueing it (issue 15 item 3).

The real mf router and bundled encoder, with the encoder behind a gate the test opens, so the
queue states are exact rather than timing-dependent. The figures under load are in
``bench/bench_overload.py``.
"""

from __future__ import annotations

import threading
import time

import pytest

from routellm_plugins import RoutingController
from routellm_plugins.embedding import get_embedder
from routellm_plugins.shedding import Overloaded, SheddingPool


class GatedEncoder:
    """The bundled encoder, but every call waits until the test opens the gate; counts the calls that ran."""

    def __init__(self) -> None:
        self.encoder = get_embedder()
        self.encoder(["load the model now, not under the test's clock"])
        self.gate = threading.Event()
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, texts):
        self.gate.wait(20)
        with self._lock:
            self.calls += 1
        return self.encoder(texts)


def _wait_for(predicate, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.005)


def _start(ctl: RoutingController, n: int, out: list) -> list[threading.Thread]:
    def call(k: int) -> None:
        out.append(ctl.decide(f"Question {k}: what is {k} squared?"))

    threads = [threading.Thread(target=call, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    return threads


@pytest.fixture()
def gated():
    enc = GatedEncoder()
    ctl = RoutingController("mf", strong_share=0.5, embedder=enc, timeout_s=5.0, fallback="weak")
    yield ctl, enc
    enc.gate.set()


def test_a_full_queue_is_answered_by_the_fallback_at_once_flagged_overloaded(gated):
    ctl, enc = gated
    out: list = []
    first = _start(ctl, 1, out)
    _wait_for(lambda: ctl.load_stats().get("running") == 1)
    pool = ctl._workers
    busy = pool.workers + pool.queue_size - 1  # fill every worker and every queue slot
    rest = _start(ctl, busy, out)
    _wait_for(lambda: ctl.load_stats()["queued"] == pool.queue_size)
    started = time.perf_counter()
    shed = ctl.decide("one request too many")
    waited = time.perf_counter() - started
    assert shed.fallback and shed.model == "weak" and shed.score is None
    assert shed.reason.startswith("overloaded") and waited < 0.5
    enc.gate.set()
    for t in first + rest:
        t.join(timeout=30)
    assert len(out) == busy + 1 and not any(d.fallback for d in out)  # everything admitted was answered by the router
    assert ctl.load_stats()["shed"] == 1


def test_callers_that_gave_up_leave_no_work_behind():
    enc = GatedEncoder()
    ctl = RoutingController("mf", strong_share=0.5, embedder=enc, timeout_s=0.3)
    out: list = []
    threads = _start(ctl, 1, out)
    _wait_for(lambda: ctl.load_stats().get("running") == 1)
    pool = ctl._workers
    threads += _start(ctl, pool.workers - 1 + pool.queue_size, out)
    for t in threads:
        t.join(timeout=30)  # every caller times out while the encoder is held
    assert len(out) == pool.workers + pool.queue_size
    assert all(d.fallback and d.model == "strong" and d.reason.startswith("timeout") for d in out)
    stats = ctl.load_stats()
    assert stats["dropped_unstarted"] == pool.queue_size and stats["timed_out"] == len(out)
    enc.gate.set()  # now let the held work finish: only the jobs already running may complete
    _wait_for(pool.idle)
    time.sleep(0.2)
    assert enc.calls == pool.workers
    assert ctl.load_stats()["completed"] == pool.workers and ctl.load_stats()["queued"] == 0


def test_a_job_that_cannot_finish_before_its_deadline_is_refused_without_queueing():
    pool = SheddingPool(workers=1, queue_size=8)
    assert pool.run(time.sleep, 0.2, timeout_s=5.0) is None  # learns that a job takes about 0.2 s
    runner = threading.Thread(target=pool.run, args=(time.sleep, 0.3, 5.0))
    runner.start()
    _wait_for(lambda: pool.stats()["running"] == 1)
    started = time.perf_counter()
    with pytest.raises(Overloaded, match="would not finish within timeout_s=0.1"):
        pool.run(time.sleep, 0.0, timeout_s=0.1)
    assert time.perf_counter() - started < 0.05
    runner.join()
    assert pool.stats()["shed"] == 1 and pool.stats()["submitted"] == 2


def test_an_idle_pool_always_admits_a_job_and_passes_errors_through():
    pool = SheddingPool(workers=2, queue_size=1)

    def boom(_):
        raise KeyError("x")

    with pytest.raises(KeyError):
        pool.run(boom, None, timeout_s=1.0)
    assert pool.run(len, "abc", timeout_s=1.0) == 3
