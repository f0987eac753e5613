"""Embedder throughput under concurrency: micro-batching on vs off, 1 to 32 concurrent callers.

Each caller (a thread, as the adapters' async paths use) embeds one distinct real prompt (GSM8K
questions near 60 tokens) per call, with the LRU cache off, for ``--seconds``. Printed per
concurrency: prompts/s with micro-batching on and off (interleaved), their ratio, mean callers
per encoder call, p50 latency of one call, and CPU milliseconds per prompt (this process's CPU
time / prompts: on a machine shared with other jobs, wall-clock rates mostly measure the share of
the cores a process wins, which grows with its thread count; CPU per prompt measures the work).

    python bench/bench_embedder_concurrency.py [--levels 1,2,4,8,16,32] [--seconds 4] [--precision fp32]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from typing import Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402


def gsm8k_prompts(n: int) -> list[str]:
    """``n`` distinct GSM8K questions nearest to 45 words (about 60 MiniLM tokens)."""
    from routellm_plugins.data.routellm_evals import load_gsm8k

    uniq = sorted(set(load_gsm8k(None).prompts), key=lambda p: (abs(len(p.split()) - 45), p))
    return uniq[:n]


def run(enc, prompts: list[str], callers: int, seconds: float) -> tuple[float, float, float, float]:
    """(prompts/s, callers per encoder call, p50 seconds per call, CPU seconds per prompt) for ``callers`` threads."""
    stop = time.perf_counter() + seconds
    lat: list[float] = []
    count = [0]
    lock = threading.Lock()
    b = enc._batcher
    calls0, jobs0 = (b.calls, b.jobs) if b is not None else (0, 0)

    def worker(k: int) -> None:
        i = k
        mine = []
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            enc([prompts[i % len(prompts)]])
            mine.append(time.perf_counter() - t0)
            i += callers
        with lock:
            lat.extend(mine)
            count[0] += len(mine)

    t0, c0 = time.perf_counter(), time.process_time()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    per_call = (b.jobs - jobs0) / max(b.calls - calls0, 1) if b is not None else 1.0
    return count[0] / wall, per_call, float(np.median(lat)), cpu / max(count[0], 1)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levels", default="1,2,4,8,16,32")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--precision", default="fp32")
    args = ap.parse_args(argv)
    from routellm_plugins.embedding_onnx import OnnxEncoder

    prompts = gsm8k_prompts(2000)
    on = OnnxEncoder(precision=args.precision, cache_size=0, micro_batch=True)
    off = OnnxEncoder(precision=args.precision, cache_size=0, micro_batch=False)
    for e in (on, off):
        e(prompts[:4])
    load0 = os.getloadavg()
    print(f"# embedder throughput vs concurrency, precision {args.precision}, wait bound {on.max_wait_s * 1e3:g} ms; "
          f"load average {load0[0]:.2f}")
    print(f"{'callers':>7}  {'on p/s':>8}  {'off p/s':>8}  {'on/off':>6}  {'callers/call':>12}  {'p50 on ms':>9}  {'p50 off ms':>10}")
    for level in [int(x) for x in args.levels.split(",") if x]:
        r_on = run(on, prompts, level, args.seconds)
        r_off = run(off, prompts, level, args.seconds)
        print(f"{level:>7}  {r_on[0]:8.1f}  {r_off[0]:8.1f}  {r_on[0] / r_off[0]:6.2f}  {r_on[1]:12.1f}  "
              f"{r_on[2] * 1e3:9.1f}  {r_off[2] * 1e3:10.1f}  {r_on[3] * 1e3:11.1f}  {r_off[3] * 1e3:12.1f}", flush=True)
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
