"""Memory of one large embedder call (issue 15 item 5): RSS growth while embedding 20,000 distinct prompts at once.

In a fresh process: load the default embedder and embed one prompt (baseline RSS), then call it once
with ``--n`` distinct prompts (default 20,000 short synthetic questions; ``--real`` uses real MMLU /
GSM8K / RouterBench prompts, slower). Prints the peak RSS growth during the call (VmHWM - baseline),
the RSS held afterwards, the LRU cache's size and whether its rows are copies (own their memory).

    python bench/bench_embedder_memory.py [--n 20000] [--real] [--precision fp32]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, time
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
args = json.loads(sys.argv[1])
from routellm_plugins.embedding import get_embedder
emb = get_embedder(precision=args["precision"])
emb(["warm-up"])
if args["real"]:
    from routellm_plugins.data.routellm_evals import load_gsm8k, load_mmlu
    from routellm_plugins.data.routerbench import load_routerbench
    pool = list(dict.fromkeys(load_mmlu(None).prompts + load_gsm8k(None).prompts + load_routerbench("train").prompts))
    prompts = [f"{pool[i % len(pool)]} (#{i})" for i in range(args["n"])]
else:
    prompts = [f"Question {i}: what is {i} plus {i * 7 % 1000}, and why?" for i in range(args["n"])]
base = status("VmRSS")
t0 = time.perf_counter()
out = emb(prompts)
secs = time.perf_counter() - t0
rows = list(emb._cache._data.values())
print(json.dumps({"base_mb": base, "peak_mb": status("VmHWM"), "after_mb": status("VmRSS"), "secs": secs,
                  "shape": list(out.shape), "cache_rows": len(rows),
                  "cache_rows_own_memory": all(r.base is None for r in rows)}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--real", action="store_true", help="real benchmark prompts (longer, slower)")
    ap.add_argument("--precision", default="fp32")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(vars(args))], capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
        return 1
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    grow = r["peak_mb"] - r["base_mb"]
    print(f"# one call embedding {args.n:,} distinct {'real' if args.real else 'short synthetic'} prompts "
          f"({args.precision}); load average {load0:.2f}")
    print(f"RSS before the call {r['base_mb']:.0f} MB; peak during it +{grow:.0f} MB (target < +300 MB); "
          f"held after it +{r['after_mb'] - r['base_mb']:.0f} MB")
    print(f"output {r['shape']}, {r['secs']:.1f} s ({args.n / r['secs']:.0f} prompts/s); LRU cache {r['cache_rows']} rows, "
          f"rows own their memory: {r['cache_rows_own_memory']}")
    return 0 if grow < 300 else 1


if __name__ == "__main__":
    raise SystemExit(main())
