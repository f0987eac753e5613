"""What shared_state (Redis) costs: decision latency, litellm.Router throughput and Redis round-trips per request.

Three policies on the same router, encoder and prompts, measured in one run so the ratios compare
like with like (this box is shared: absolute figures move with the load average, printed too):

- ``in-process``: adaptive strong_share 0.3 + sticky "escalate", state kept in the process;
- ``shared``: the same with ``shared_state`` (a redis-server this script starts on 127.0.0.1);
- with and without session ids (sticky sessions are what costs round-trips on the request path;
  the shared window and the counters go to Redis in a background sync every ``sync_every_s``).

Decision latency: one thread, distinct real prompts (each embedded once, modes interleaved prompt
by prompt), then the same prompts again (embeddings cached) to isolate the policy's own cost.
Throughput: async ``acompletion`` through ``install_routing`` with mock deployments answering after
``--latency-ms``, ``--concurrency`` requests in flight, distinct prompts, a session id per request
drawn from 50 conversations.

    python bench/bench_shared_state.py [--decisions 300] [--requests 400] [--concurrency 32] [--latency-ms 50] [--redis URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402


def real_prompts(n: int) -> list[str]:
    """``n`` distinct real prompts (GSM8K, then MMLU questions)."""
    from routellm_plugins.data.routellm_evals import load_gsm8k, load_mmlu

    return list(dict.fromkeys(load_gsm8k(None).prompts + load_mmlu(None).prompts))[:n]


def start_redis() -> tuple[str, subprocess.Popen, str]:
    """A throw-away redis-server on a free local port: (url, process, its folder)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install -y redis-server), or pass --redis URL")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tempfile.mkdtemp(prefix="bench-redis-")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0", proc, folder


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def decision_latency(router, url: str, prompts: list[str]) -> None:
    from routellm_plugins import RoutingController

    common = {"strong_share": 0.3, "adaptive": True, "window": 1000, "sticky_sessions": "escalate"}
    controllers = {
        "in-process": (RoutingController(router, **common), True),
        "shared, no session id": (RoutingController(router, shared_state={"url": url, "scope": "bench-a"}, **common), False),
        "shared, session id": (RoutingController(router, shared_state={"url": url, "scope": "bench-b"}, **common), True),
    }
    names = list(controllers)
    cold: dict[str, list[float]] = {n: [] for n in names}
    warm: dict[str, list[float]] = {n: [] for n in names}
    for i, text in enumerate(prompts):  # each prompt embedded once, by the mode whose turn it is
        name = names[i % len(names)]
        ctl, sessions = controllers[name]
        t = time.perf_counter()
        ctl.decide(text, f"conv-{i % 50}" if sessions else None)
        cold[name].append(time.perf_counter() - t)
    for _ in range(3):  # cached embeddings: what is left is the policy (and Redis)
        for i, text in enumerate(prompts):
            for name in names:
                ctl, sessions = controllers[name]
                t = time.perf_counter()
                ctl.decide(text, f"conv-{i % 50}" if sessions else None)
                warm[name].append(time.perf_counter() - t)
    base_cold, base_warm = pct(cold["in-process"], 50), pct(warm["in-process"], 50)
    print(f"\ndecision latency, one thread ({len(prompts)} distinct prompts; cold: {len(cold[names[0]])} per mode, cached: {len(warm[names[0]])})")
    print(f"{'mode':24s} {'cold p50':>9s} {'cold p99':>9s} {'ratio':>6s}   {'cached p50':>10s} {'p99':>8s} {'ratio':>6s}   round-trips/decision (request path + background)")
    for name in names:
        ctl, _ = controllers[name]
        n = len(cold[name]) + len(warm[name])
        rtt = ""
        if ctl.shared is not None:
            ctl.shared.sync()
            st = ctl.shared.stats()
            rtt = f"{(st['round_trips'] - st['syncs']) / n:.2f} + {st['syncs'] / n:.3f}"
        print(f"{name:24s} {pct(cold[name], 50):8.2f}ms {pct(cold[name], 99):8.2f}ms {pct(cold[name], 50) / base_cold:6.3f}   "
              f"{pct(warm[name], 50):9.3f}ms {pct(warm[name], 99):7.3f}ms {pct(warm[name], 50) / base_warm:6.2f}   {rtt}")
    for ctl, _ in controllers.values():
        ctl.close()


async def throughput(url: str, prompts: list[str], concurrency: int, latency_ms: float, router_name: str) -> None:
    import litellm

    from litellm_adapter import install_routing

    def make(shared: bool):
        extra = {"mock_delay": latency_ms / 1000} if latency_ms > 0 else {}
        r = litellm.Router(model_list=[
            {"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "api_key": "mock", "mock_response": "strong", **extra}},
            {"model_name": "gpt-4o-mini", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "mock", "mock_response": "weak", **extra}},
        ])
        spec = {"router": router_name, "strong_share": 0.3, "adaptive": True, "sticky_sessions": "escalate",
                "models": {"strong": "gpt-4o", "weak": "gpt-4o-mini"}}
        if shared:
            spec["shared_state"] = {"url": url, "prefix": "bench-tp"}
        strategy = install_routing(r, {"smart": spec}, track_costs=False)
        return r, strategy.routes["smart"].controller

    async def run(router, texts: list[str]) -> float:
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem:
                await router.acompletion(model="smart", messages=[{"role": "user", "content": texts[i]}], metadata={"session_id": f"s{i % 50}"})

        t = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(len(texts))))
        return len(texts) / (time.perf_counter() - t)

    local, local_ctl = make(False)
    shared, shared_ctl = make(True)
    for r in (local, shared):
        await run(r, prompts[:20])  # warm-up: clients, price map
    n = (len(prompts) - 20) // 2
    rps_local = await run(local, prompts[20 : 20 + n])
    before = shared_ctl.shared.stats()
    rps_shared = await run(shared, prompts[20 + n : 20 + 2 * n])
    shared_ctl.shared.sync()
    after = shared_ctl.shared.stats()
    trips, syncs = after["round_trips"] - before["round_trips"], after["syncs"] - before["syncs"]
    print(f"\nlitellm.Router throughput: {n} async requests each, concurrency {concurrency}, mock latency {latency_ms:g} ms, "
          f"distinct prompts, 50 conversations (escalate)")
    print(f"in-process state : {rps_local:8.1f} req/s")
    print(f"shared_state     : {rps_shared:8.1f} req/s   ratio {rps_shared / rps_local:.3f}   "
          f"Redis round-trips/request: {(trips - syncs) / n:.2f} on the request path + {syncs / n:.3f} background syncs")
    local_ctl.close()
    shared_ctl.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decisions", type=int, default=300, help="distinct prompts for the latency part")
    ap.add_argument("--requests", type=int, default=400, help="requests per setup for the throughput part")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--latency-ms", type=float, default=50.0, help="simulated provider latency of each mock reply")
    ap.add_argument("--router", default=None, help="router name (default: the default router)")
    ap.add_argument("--redis", default=None, help="use this Redis instead of starting a redis-server")
    args = ap.parse_args()
    from routellm_plugins import load_router
    from routellm_plugins.registry import DEFAULT_ROUTER

    name = args.router or DEFAULT_ROUTER
    proc = None
    url = args.redis
    if url is None:
        url, proc, _ = start_redis()
    try:
        prompts = real_prompts(args.decisions + 2 * args.requests + 40)
        router = load_router(name)
        router.score(["warm-up"])
        load0 = os.getloadavg()[0]
        print(f"router {name}, Redis {url.split('@')[-1]}; load average at start {load0:.2f} (2-core box shared with other jobs)")
        decision_latency(router, url, prompts[: args.decisions])
        asyncio.run(throughput(url, prompts[args.decisions :], args.concurrency, args.latency_ms, name))
        print(f"load average at end {os.getloadavg()[0]:.2f}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
