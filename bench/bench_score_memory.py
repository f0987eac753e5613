"""Memory of one big ``router.score`` call: peak and retained RSS growth for N distinct prompts.

Prompts are the bundled sample, each made unique (so every one is embedded). RSS is sampled
every 10 ms in a background thread; "peak" is the highest sample above the baseline taken after
the router and encoder are loaded and warm, "after" is the growth once the call has returned.

    python bench/bench_score_memory.py [--n 20000] [--router mf]
"""

from __future__ import annotations

import argparse
import gc
import os
import threading
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from routellm_plugins import load_router  # noqa: E402
from routellm_plugins.demo import sample_prompts  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000, help="prompts in the one score() call (default: %(default)s)")
    ap.add_argument("--router", default="mf", help="router name (default: %(default)s)")
    args = ap.parse_args()
    base = [r["prompt"] for r in sample_prompts()]
    prompts = [f"{base[i % len(base)]}\n(item {i})" for i in range(args.n)]
    router = load_router(args.router)
    router.score(["warm up"] + [f"warm {i}: {p}" for i, p in enumerate(base[:64])])
    gc.collect()
    before = rss_mb()
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb())
            time.sleep(0.01)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    started = time.perf_counter()
    scores = router.score(prompts)
    took = time.perf_counter() - started
    done.set()
    watcher.join()
    gc.collect()
    after = rss_mb()
    print(f"{args.router}: {len(scores):,} prompts in one score() call, {took:.1f} s ({len(scores) / took:.0f} prompts/s); "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"RSS baseline {before:.0f} MB; peak +{peak - before:.0f} MB; after the call +{after - before:.0f} MB")


if __name__ == "__main__":
    main()
