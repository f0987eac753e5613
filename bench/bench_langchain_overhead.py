"""Overhead of ChatRouteLLM over calling its child chat model directly, routing decision excluded.

Each round i uses a fresh prompt (so sticky sessions never short-cut scoring) and times, in the
same loop and in rotating order: the child called directly, ``controller.decide`` on the same
text, and the same call through ChatRouteLLM. The adapter's own cost is
``routed - direct - decide`` (input conversion, routing-text extraction, config and metadata
plumbing, response tagging). Reported as medians in microseconds and as the ratio
``(routed - decide) / direct`` for ``invoke`` and ``stream``, with LangChain's own fake chat
model as the child (zero latency: the worst case, the child is only LangChain's machinery) and
optionally with simulated provider latency. ``--traced`` attaches a no-op callback handler to
both calls, as a tracer would: the routed call then opens the router's own run as well.

    python bench/bench_langchain_overhead.py [--n 3000] [--router random] [--latency-ms 0 5] [--traced] [--json out.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from langchain_core.callbacks import BaseCallbackHandler  # noqa: E402
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel  # noqa: E402
from langchain_core.messages import AIMessage  # noqa: E402
from langchain_core.outputs import ChatResult  # noqa: E402

from langchain_adapter import ChatRouteLLM  # noqa: E402

TARGET_RATIO = 1.05


class LatencyChatModel(FakeMessagesListChatModel):
    """LangChain's FakeMessagesListChatModel, plus ``latency_s`` of busy-waiting per call."""

    latency_s: float = 0.0

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        end = time.perf_counter() + self.latency_s
        while time.perf_counter() < end:
            pass
        return super()._generate(messages, stop, run_manager, **kwargs)


def _time(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, this thread's CPU seconds) of one call; CPU time is immune to other processes."""
    wall, cpu = time.perf_counter(), time.thread_time()
    fn()
    return time.perf_counter() - wall, time.thread_time() - cpu


class Listening(BaseCallbackHandler):
    """A handler that listens to every event and does nothing (the cheapest possible tracer)."""


def measure(n: int, router: str, latency_s: float, mode: str, traced: bool = False) -> dict[str, Any]:
    """Median direct / decide / routed times (µs) and the overhead ratio for one setting."""
    child = LatencyChatModel(responses=[AIMessage("ok")], latency_s=latency_s)
    spec: Any = {"router": "random", "seed": 0} if router == "random" else router
    routed = ChatRouteLLM(strong=child, weak=child, router=spec, threshold=0.5)
    controller = routed.routing_controller
    config: Any = {"callbacks": [Listening()]} if traced else None
    if mode == "invoke":
        def direct(p: str) -> Any:
            return child.invoke(p, config)

        def via(p: str) -> Any:
            return routed.invoke(p, config)
    else:
        def direct(p: str) -> Any:
            return list(child.stream(p, config))

        def via(p: str) -> Any:
            return list(routed.stream(p, config))

    for i in range(min(200, n)):  # warm-up (imports, lazy embedder, caches)
        direct(f"warm-up question {i}")
        via(f"warm-up question {i}")
    rows: list[dict[str, tuple[float, float]]] = []
    gc.collect()
    gc.disable()
    try:
        for i in range(n):
            prompt = f"Question {i}: what is {i} plus {i * 7 % 13}?"
            timers = {
                "direct": lambda: direct(prompt),
                "decide": lambda: controller.decide(prompt),
                "routed": lambda: via(prompt),
            }
            order = ("direct", "decide", "routed")[i % 3:] + ("direct", "decide", "routed")[: i % 3]
            rows.append({name: _time(timers[name]) for name in order})
    finally:
        gc.enable()
    out: dict[str, Any] = {"mode": mode, "router": router, "latency_ms": latency_s * 1e3, "n": n, "traced": traced}
    for clock, k in (("wall", 0), ("cpu", 1)):
        direct_us = statistics.median(r["direct"][k] for r in rows) * 1e6
        decide_us = statistics.median(r["decide"][k] for r in rows) * 1e6
        routed_us = statistics.median(r["routed"][k] for r in rows) * 1e6
        adapter_us = statistics.median(r["routed"][k] - r["direct"][k] - r["decide"][k] for r in rows) * 1e6
        out[clock] = {
            "direct_us": round(direct_us, 1),
            "decide_us": round(decide_us, 1),
            "routed_us": round(routed_us, 1),
            "adapter_us": round(adapter_us, 1),
            "ratio": round((routed_us - decide_us) / direct_us, 4),
        }
    out["within_target"] = out["cpu"]["ratio"] <= TARGET_RATIO
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="timed rounds per setting")
    parser.add_argument("--router", default="random", help="router name ('random' is seeded; 'mf' needs its checkpoint)")
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0], help="simulated child latencies")
    parser.add_argument("--modes", nargs="+", default=["invoke", "stream"], choices=["invoke", "stream"])
    parser.add_argument("--traced", action="store_true", help="attach a no-op callback handler to every call")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    results = [measure(args.n, args.router, ms / 1e3, mode, args.traced) for ms in args.latency_ms for mode in args.modes]
    header = (
        f"{'mode':<7} {'latency':>8} {'clock':>5} {'direct µs':>10} {'decide µs':>10} {'routed µs':>10} "
        f"{'adapter µs':>11} {'(routed-decide)/direct':>23}"
    )
    traced = ", traced (a no-op callback handler on every call)" if args.traced else ""
    print(f"ChatRouteLLM overhead, router={args.router}, n={args.n}{traced}, medians; target ratio <= {TARGET_RATIO:.2f} (CPU clock)")
    print(header)
    for r in results:
        for clock in ("cpu", "wall"):
            c = r[clock]
            flag = "" if clock == "wall" or r["within_target"] else "  (over target)"
            print(
                f"{r['mode']:<7} {r['latency_ms']:>6.1f}ms {clock:>5} {c['direct_us']:>10.1f} {c['decide_us']:>10.1f} "
                f"{c['routed_us']:>10.1f} {c['adapter_us']:>11.1f} {c['ratio']:>22.3f}{flag}"
            )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
