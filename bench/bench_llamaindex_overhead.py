"""Overhead of RouteLLM over calling its child directly, with the routing decision's own time taken out.

For each call i (a fresh prompt each time, so sticky sessions never short-cut scoring) we time, in
the same loop: the child called directly, ``controller.decide`` on the routed text, and the same call
through RouteLLM. Overhead_i = routed_i - direct_i - decide_i: what the adapter itself adds (text
extraction, turn key, delegation, tagging, the decision event). Reported as a median in
microseconds and as a share of the direct call, for a zero-latency mock child (worst case: the
child is LlamaIndex's own callback machinery only) and for a child with simulated (busy-wait)
latency. Medians of per-call differences and differences of per-series minima are both shown: on a
busy shared machine the latency rows are dominated by preemption noise, so read the zero-latency
absolute overhead and the projected shares printed at the end.

    python bench/bench_llamaindex_overhead.py [--n 2000] [--latency-ms 0 10] [--router random] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
from typing import Any, Callable, Dict, List

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from llama_index.core.base.llms.types import ChatMessage, CompletionResponse, LLMMetadata, MessageRole  # noqa: E402
from llama_index.core.llms import CustomLLM  # noqa: E402
from llama_index.core.llms.callbacks import llm_completion_callback  # noqa: E402

from routellm_plugins import RoutingController, load_router  # noqa: E402
from llamaindex_adapter import RouteLLM  # noqa: E402


def _wait(seconds: float) -> None:
    """Busy-wait: precise to microseconds and keeps the CPU warm, unlike time.sleep."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


class LatencyLLM(CustomLLM):
    """Answers "ok" after ``latency_s`` of busy-waiting (0 = only LlamaIndex's callback machinery); streams 5 chunks."""

    latency_s: float = 0.0

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=f"latency-{self.latency_s}")

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        _wait(self.latency_s)
        return CompletionResponse(text="ok")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
        _wait(self.latency_s)
        return (CompletionResponse(text="ok" * (i + 1), delta="ok") for i in range(5))

    @llm_completion_callback()
    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        _wait(self.latency_s)  # a real client would await I/O; waiting here keeps timings comparable
        return CompletionResponse(text="ok")


def _messages(i: int) -> List[ChatMessage]:
    return [
        ChatMessage(role=MessageRole.SYSTEM, content="You are a helpful assistant."),
        ChatMessage(role=MessageRole.USER, content=f"Question {i}: explain step {i} of the proof of theorem {i % 97}."),
    ]


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


async def _atimed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    await fn()
    return time.perf_counter() - start


def _summary(direct: List[float], decide: List[float], routed: List[float]) -> Dict[str, float]:
    """Median-of-pairs overhead, and the same from per-series minima (robust to preemption on a busy box)."""
    over = [r - d - c for r, d, c in zip(routed, direct, decide)]
    over_min = min(routed) - min(direct) - min(decide)
    return {
        "direct_us": statistics.median(direct) * 1e6,
        "decide_us": statistics.median(decide) * 1e6,
        "routed_us": statistics.median(routed) * 1e6,
        "overhead_us": statistics.median(over) * 1e6,
        "overhead_pct": 100.0 * statistics.median(over) / statistics.median(direct),
        "overhead_min_us": over_min * 1e6,
        "overhead_min_pct": 100.0 * over_min / min(direct),
    }


def bench_sync(llm: RouteLLM, child: LatencyLLM, ctrl: RoutingController, entry: str, n: int) -> Dict[str, float]:
    calls = {
        "chat": (lambda x, m: x.chat(m)),
        "complete": (lambda x, m: x.complete(m[-1].content)),
        "stream_chat": (lambda x, m: list(x.stream_chat(m))),
    }[entry]
    direct, decide, routed = [], [], []
    for i in range(-50, n):  # 50 warm-up rounds
        msgs = _messages(i)
        d = _timed(lambda: calls(child, msgs))
        c = _timed(lambda: ctrl.decide(msgs[-1].content))
        r = _timed(lambda: calls(llm, msgs))
        if i >= 0:
            direct.append(d), decide.append(c), routed.append(r)
    return _summary(direct, decide, routed)


async def bench_async(llm: RouteLLM, child: LatencyLLM, ctrl: RoutingController, n: int) -> Dict[str, float]:
    direct, decide, routed = [], [], []
    for i in range(-50, n):
        msgs = _messages(i)
        d = await _atimed(lambda: child.achat(msgs))
        c = await _atimed(lambda: ctrl.adecide(msgs[-1].content))
        r = await _atimed(lambda: llm.achat(msgs))
        if i >= 0:
            direct.append(d), decide.append(c), routed.append(r)
    return _summary(direct, decide, routed)


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="timed calls per entry point (zero-latency child)")
    parser.add_argument("--n-latency", type=int, default=200, help="timed calls per entry point for children with latency")
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 10.0])
    parser.add_argument("--router", default="random", help="router name or model string (decision time is subtracted)")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    router = load_router(args.router, seed=0) if args.router == "random" else load_router(args.router)
    results: Dict[str, Any] = {"router": args.router, "python": sys.version.split()[0], "rows": []}
    print(f"router={args.router}; medians per call; overhead = routed - direct - decide\n")
    print(
        f"{'child latency':>13} {'entry':>12} {'direct µs':>11} {'decide µs':>10} {'routed µs':>11} "
        f"{'overhead µs':>12} {'overhead %':>11} {'min-based µs':>13} {'min-based %':>12}"
    )
    gc.disable()
    try:
        for latency_ms in args.latency_ms:
            n = args.n if latency_ms == 0 else args.n_latency
            child = LatencyLLM(latency_s=latency_ms / 1000)
            # Both keys point at the same child, so every call is comparable whatever the router decides.
            ctrl = RoutingController(router, threshold=0.5)
            llm = RouteLLM(strong=child, weak=child, router=router, threshold=0.5)
            rows = {e: bench_sync(llm, child, ctrl, e, n) for e in ("chat", "complete", "stream_chat")}
            rows["achat"] = asyncio.run(bench_async(llm, child, ctrl, n))
            for entry, row in rows.items():
                results["rows"].append({"latency_ms": latency_ms, "entry": entry, "n": n, **row})
                print(
                    f"{latency_ms:>10.1f} ms {entry:>12} {row['direct_us']:>11.1f} {row['decide_us']:>10.1f} "
                    f"{row['routed_us']:>11.1f} {row['overhead_us']:>12.1f} {row['overhead_pct']:>10.2f}% "
                    f"{row['overhead_min_us']:>13.1f} {row['overhead_min_pct']:>11.2f}%"
                )
    finally:
        gc.enable()
    zero = [r for r in results["rows"] if r["latency_ms"] == 0]
    if zero:
        worst = max(max(r["overhead_us"], r["overhead_min_us"]) for r in zero)
        results["worst_overhead_us"] = worst
        print(f"\nworst adapter overhead at zero child latency: {worst:.1f} µs per call; as a share of a call to a child taking")
        for ms in (10, 100, 1000):
            print(f"  {ms:>5} ms: {100 * worst / (ms * 1000):.3f}%  (target <= 5%)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
