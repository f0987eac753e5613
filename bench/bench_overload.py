"""Overload: 32 threads call one controller with ``timeout_s``; what is answered, what is shed, what is orphaned.

The real mf router and bundled encoder score distinct real prompts (the bundled sample, each
made unique so the encoder's cache never answers). Two ways of running scoring under a deadline:

* ``queue``: the former behaviour: a 4-worker thread pool with an unbounded queue; a caller
  that times out leaves its job queued, and it still runs later.
* ``shed``: today's :class:`routellm_plugins.shedding.SheddingPool`: a bounded queue, a request
  that cannot finish in time is answered by the fallback at once ("overloaded"), and a job whose
  caller gave up is dropped before it starts.

For each mode and timeout it prints: the share answered by the router (and how many per second), by the fallback on timeout
and on overload; jobs orphaned (started after their caller had left) and jobs still running when
their caller left; the CPU seconds the process burnt after every caller had returned; decide()
latency p50/p99.

    python bench/bench_overload.py [--threads 32] [--requests 20] [--timeouts 0.05,0.2,1.0] [--modes queue,shed]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import os
import threading
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from routellm_plugins import Decision, RoutingController  # noqa: E402
from routellm_plugins.demo import sample_prompts  # noqa: E402
from routellm_plugins.shedding import SheddingPool  # noqa: E402


class _Token:
    """Per-request flags shared by the caller and its job."""

    __slots__ = ("left", "started_after_left", "running_when_left", "started")

    def __init__(self) -> None:
        self.left = self.started_after_left = self.running_when_left = self.started = False


class Instrumented(RoutingController):
    """A controller whose timed scoring runs in ``mode`` and records orphaned work."""

    def __init__(self, *args, mode: str, **kw) -> None:
        super().__init__(*args, **kw)
        self.mode = mode
        self.orphaned = self.running_when_left = 0
        self._count_lock = threading.Lock()
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="legacy") if mode == "queue" else None
        self.shedder = SheddingPool() if mode == "shed" else None

    def _job(self, token: _Token, text: str) -> Decision:
        token.started = True
        if token.left:
            token.started_after_left = True
            with self._count_lock:
                self.orphaned += 1
        return self._route(text)

    def _route_in_time(self, text: str) -> Decision:
        token = _Token()
        try:
            if self.executor is not None:  # the former behaviour
                future = self.executor.submit(self._job, token, text)
                try:
                    return future.result(timeout=self.timeout_s)
                except concurrent.futures.TimeoutError:
                    raise TimeoutError(f"routing took longer than timeout_s={self.timeout_s}") from None
            return self.shedder.run(lambda t: self._job(token, t), text, self.timeout_s)
        except Exception:
            token.left = True
            if token.started:
                with self._count_lock:
                    self.running_when_left += 1
            raise

    def wait_idle(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True)
        else:
            while not self.shedder.idle():
                time.sleep(0.005)


def run(mode: str, timeout_s: float, threads: int, requests: int, prompts: list[str]) -> dict:
    ctl = Instrumented("mf", strong_share=0.5, timeout_s=timeout_s, mode=mode)
    ctl.router.score(["warm up the encoder once"])
    results: list[tuple[Decision, float]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def caller(k: int) -> None:
        barrier.wait()
        for i in range(requests):
            text = f"{prompts[(k * requests + i) % len(prompts)]}\n(request {mode}-{timeout_s}-{k}-{i})"
            started = time.perf_counter()
            d = ctl.decide(text)
            with lock:
                results.append((d, time.perf_counter() - started))

    pool = [threading.Thread(target=caller, args=(k,)) for k in range(threads)]
    wall = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - wall
    cpu_left = time.process_time()
    idle_wait = time.perf_counter()
    ctl.wait_idle()
    cpu_left = time.process_time() - cpu_left
    idle_wait = time.perf_counter() - idle_wait
    n = len(results)
    reasons = [d.reason or "" for d, _ in results]
    lat = np.array([s for _, s in results])
    return {
        "mode": mode, "timeout_s": timeout_s, "requests": n,
        "router": sum(not d.fallback for d, _ in results) / n,
        "router_per_s": sum(not d.fallback for d, _ in results) / wall,
        "timeout": sum(r.startswith("timeout") for r in reasons) / n,
        "overloaded": sum(r.startswith("overloaded") for r in reasons) / n,
        "orphaned": ctl.orphaned, "running_when_left": ctl.running_when_left,
        "cpu_after_s": cpu_left, "drain_s": idle_wait, "wall_s": wall,
        "p50_ms": 1000 * float(np.percentile(lat, 50)), "p99_ms": 1000 * float(np.percentile(lat, 99)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=32, help="concurrent callers (default: %(default)s)")
    ap.add_argument("--requests", type=int, default=20, help="requests per caller (default: %(default)s)")
    ap.add_argument("--timeouts", default="0.05,0.2,1.0", help="comma-separated timeout_s values (default: %(default)s)")
    ap.add_argument("--modes", default="queue,shed", help="queue (former behaviour), shed (today) (default: %(default)s)")
    args = ap.parse_args()
    logging.getLogger("routellm_plugins").setLevel(logging.ERROR)  # one warning per fallback would flood the terminal
    prompts = [r["prompt"] for r in sample_prompts()]
    print(f"{args.threads} threads x {args.requests} requests, mf router; load average {os.getloadavg()[0]:.2f} at start; "
          f"{len(os.sched_getaffinity(0))} usable cores")
    head = (f"{'mode':<6} {'timeout_s':>9} {'router':>7} {'router/s':>8} {'timeout':>8} {'overload':>9} {'orphaned':>9} {'running@left':>12} "
            f"{'CPU s after':>11} {'drain s':>8} {'wall s':>7} {'p50 ms':>7} {'p99 ms':>7}")
    print(head)
    for timeout_s in (float(t) for t in args.timeouts.split(",")):
        for mode in args.modes.split(","):
            r = run(mode, timeout_s, args.threads, args.requests, prompts)
            print(f"{r['mode']:<6} {r['timeout_s']:>9g} {r['router']:>7.1%} {r['router_per_s']:>8.1f} {r['timeout']:>8.1%} {r['overloaded']:>9.1%} "
                  f"{r['orphaned']:>9d} {r['running_when_left']:>12d} {r['cpu_after_s']:>11.2f} {r['drain_s']:>8.2f} "
                  f"{r['wall_s']:>7.1f} {r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
