"""Requests/s through litellm.Router with prompt routing vs the same Router without it.

Same two mock deployments (openai/gpt-4o, openai/gpt-4o-mini, mock_response) in one model group;
without routing LiteLLM shuffles between them, with routing the RouteLLM strategy picks per prompt.
One run of each, async calls with bounded concurrency; prints both rates and their ratio (target >= 0.95
at 100 concurrent requests). Distinct prompts (real GSM8K / MMLU questions, each sent once), so the
embedder's cache never answers; its micro-batching coalesces the concurrent decisions.

    python bench/bench_litellm_throughput.py [--requests 600] [--concurrency 100] [--router NAME] [--latency-ms 200]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import litellm  # noqa: E402

from litellm_adapter import install_routing  # noqa: E402

def real_prompts(n: int) -> list[str]:
    """``n`` distinct real prompts (GSM8K, then MMLU questions)."""
    from routellm_plugins.data.routellm_evals import load_gsm8k, load_mmlu

    return list(dict.fromkeys(load_gsm8k(None).prompts + load_mmlu(None).prompts))[:n]


def make_router(latency_s: float) -> litellm.Router:
    extra = {"mock_delay": latency_s} if latency_s > 0 else {}
    return litellm.Router(model_list=[
        {"model_name": "chat", "litellm_params": {"model": "openai/gpt-4o", "api_key": "mock", "mock_response": "strong answer", **extra},
         "model_info": {"routellm_model": "strong"}},
        {"model_name": "chat", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "mock", "mock_response": "weak answer", **extra},
         "model_info": {"routellm_model": "weak"}},
    ])


async def run(router: litellm.Router, prompts: list[str], concurrency: int) -> float:
    """Requests per second for one async completion per prompt, at most ``concurrency`` in flight."""
    sem = asyncio.Semaphore(concurrency)
    n = len(prompts)

    async def one(i: int) -> None:
        async with sem:
            await router.acompletion(model="chat", messages=[{"role": "user", "content": prompts[i]}])

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return n / (time.perf_counter() - start)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--repeat-prompts", type=int, default=0,
                    help="cycle through this many prompts instead (repeats are answered by the embedder's cache)")
    ap.add_argument("--router", default=None, help="router name or model string (default: the default router)")
    ap.add_argument("--track-costs", action="store_true", help="also run the cost-saved callback in the routed setup")
    ap.add_argument("--latency-ms", type=float, default=200.0, help="simulated provider latency of each mock reply (0: instant)")
    args = ap.parse_args()
    from routellm_plugins.registry import DEFAULT_ROUTER

    args.router = args.router or DEFAULT_ROUTER
    prompts = real_prompts(2 * args.requests + 40)
    if args.repeat_prompts:
        prompts = [prompts[i % args.repeat_prompts] for i in range(len(prompts))]

    plain, routed = make_router(args.latency_ms / 1000), make_router(args.latency_ms / 1000)
    spec = {"router": args.router} if args.router.startswith("router-") else {"router": args.router, "strong_share": 0.5} if args.router == "random" else {"router": args.router}
    strategy = install_routing(routed, {"chat": spec}, track_costs=args.track_costs)
    for r in (plain, routed):  # warm-up: clients, price map, router weights
        await run(r, prompts[:20], args.concurrency)

    load0 = os.getloadavg()[0]
    base_rps = await run(plain, prompts[20 : 20 + args.requests], args.concurrency)
    routed_rps = await run(routed, prompts[20 + args.requests : 20 + 2 * args.requests], args.concurrency)
    c = strategy.routes["chat"].controller
    print(f"litellm {importlib.metadata.version('litellm')} | {args.requests} async requests, concurrency {args.concurrency}, "
          f"mock latency {args.latency_ms:g} ms, "
          f"{f'{args.repeat_prompts} repeated prompts' if args.repeat_prompts else 'distinct prompts'}; load average {load0:.2f}")
    print(f"without routing : {base_rps:8.1f} req/s")
    print(f"with routing    : {routed_rps:8.1f} req/s  (router={c.router.name}, threshold={c.current_threshold:.3f})")
    print(f"ratio           : {routed_rps / base_rps:8.3f}  (target >= 0.95)")


if __name__ == "__main__":
    asyncio.run(main())
