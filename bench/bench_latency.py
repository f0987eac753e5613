"""Routing decision cost on CPU (or GPU when available): latency, throughput, cold start, peak RSS, per embedder tier.

On real prompts from ``../shared/data`` (short: GSM8K questions near 45 words ≈ 60 tokens;
long: MMLU professional_law questions near 300 words ≈ 400 tokens), for each router it prints

- every embedding router (mf, sw_ranking, uniroute and the default router) once per embedder tier
  (``[onnx]``: onnxruntime fp32, the default; ``[onnx:int8]``: the opt-in int8 tier; ``[static]``:
  the opt-in token-table tier; ``[torch]``: the transformers reference), interleaved prompt by prompt;
  routers without the MiniLM embedder (random, bert, causal_llm) once (skipped with a note when
  ``load_router`` fails);
- single-prompt decision latency p50/p99 of ``router.route(prompt)`` after warm-up;
- batched throughput (prompts/s) of ``router.score(batch)`` on distinct prompts at batch 1, 32 and 256;
- the same for the embedder alone (so the router's own share is visible) and for LiteLLM's
  rule-based complexity router (``ComplexityRouter.classify``; it has no batch API, so its
  "batched" figure is a loop);
- each learned router's own cost: ``route(prompt)`` with that prompt's embedding already in the
  embedder cache (the only time the cache is on), and the embedder's share of the p50;
- cold start in fresh subprocesses: ``import routellm_plugins`` alone, and, per backend
  (``$ROUTELLM_EMBEDDER_BACKEND``/``PRECISION``), import + ``load_router()`` (the default router)
  + first decision, with the encoder already built in the user cache; peak RSS
  (ru_maxrss) of that process after it has also routed 32 single prompts and scored 64 long ones.

The embedder's in-process LRU cache is switched off for the whole run, so every call pays for
the embedding. Each figure is the median over ``--repeat`` runs of the whole suite.

    python bench/bench_latency.py [--repeat 3] [--n-single 20] [--cap-s 3] [--backends onnx,onnx:int8,static,torch]
                                  [--routers mf,sw_ranking,uniroute,bert,...]  (the default router is always added)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import numpy as np  # noqa: E402

SHORT_WORDS = 45  # ≈ 60 MiniLM word pieces for GSM8K text
LONG_WORDS = 300  # ≈ 400 word pieces for MMLU professional_law text
WARMUP = 2
MIN_SINGLE = 10
OWN_N = 20  # prompts for the router-own (embedding cached) timing
EMBEDDING_ROUTERS = ("mf", "sw_ranking", "uniroute", "mixture")  # routers that take ``embedder=``


# ---------------------------------------------------------------- prompts

def _nearest_by_words(prompts: Sequence[str], target: int, n: int) -> list[str]:
    """The ``n`` distinct prompts whose whitespace word count is closest to ``target``."""
    uniq = list(dict.fromkeys(p for p in prompts if p.strip()))
    uniq.sort(key=lambda p: (abs(len(p.split()) - target), p))
    if len(uniq) < n:
        raise SystemExit(f"only {len(uniq)} distinct prompts available, need {n}")
    return uniq[:n]


def load_prompt_sets(data_dir: str | None, n: int) -> dict[str, list[str]]:
    """Short (GSM8K) and long (MMLU professional_law) prompt lists of ``n`` distinct prompts each."""
    from routellm_plugins.data.routellm_evals import load_gsm8k, load_mmlu

    gsm = load_gsm8k(data_dir)
    mmlu = load_mmlu(data_dir)
    law = [p for p, g in zip(mmlu.prompts, mmlu.groups) if g == "mmlu/professional_law"]
    return {"short": _nearest_by_words(gsm.prompts, SHORT_WORDS, n), "long": _nearest_by_words(law, LONG_WORDS, n)}


# ---------------------------------------------------------------- timing helpers

def _pct(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs, dtype=float), q))


def time_single_interleaved(cands: Sequence["Candidate"], prompts: Sequence[str], warm: Sequence[str],
                            cap_s: float, min_n: int) -> dict[str, list[float]]:
    """Per-candidate seconds of ``single(prompt)``, candidates interleaved prompt by prompt (fair under
    shifting machine load). A candidate stops once it has ``min_n`` samples and has used ``cap_s``."""
    for c in cands:
        for p in warm:
            c.single(p)
    times: dict[str, list[float]] = {c.name: [] for c in cands}
    for p in prompts:
        for c in cands:
            ts = times[c.name]
            if len(ts) >= min_n and sum(ts) > cap_s:
                continue
            t0 = time.perf_counter()
            c.single(p)
            ts.append(time.perf_counter() - t0)
    return times


def time_batch(fn: Callable[[list[str]], Any], batch: list[str]) -> float:
    """Seconds of one call ``fn(batch)``."""
    t0 = time.perf_counter()
    fn(batch)
    return time.perf_counter() - t0


def set_embedder_cache(emb: Any, size: int) -> str:
    """Resize (0 = off) and empty an embedder's LRU cache; returns how."""
    cache = getattr(emb, "_cache", None)
    if cache is None or not hasattr(cache, "size"):
        return "no cache attribute found (prompts are never repeated within a measurement)"
    cache.size = size
    getattr(cache, "_data", {}).clear()
    return f"embedder LRU cache size set to {size}"


def time_router_own(cands: Sequence["Candidate"], prompts: Sequence[str]) -> dict[str, float]:
    """p50 seconds of ``route(prompt)`` with the prompt's embedding already cached: the router's own cost."""
    out = {}
    for c in cands:
        if c.na or c.emb is None or c.is_embedder:
            continue
        set_embedder_cache(c.emb, len(prompts) + 16)
        try:
            c.emb(list(prompts))
            c.single(prompts[0])
            out[c.name] = _pct([time_batch(c.single, p) for p in prompts], 50)
        finally:
            set_embedder_cache(c.emb, 0)
    return out


def backend_embedders(backends: Sequence[str]) -> dict[str, Any]:
    """backend -> its shared MiniLM embedder, LRU cache off, loaded; 'n/a: reason' when it cannot load."""
    from routellm_plugins.embedding import get_embedder

    out: dict[str, Any] = {}
    for b in backends:
        try:
            kind, _, precision = b.partition(":")
            emb = get_embedder(backend=kind, **({"precision": precision} if precision else {}))
            emb(["warm-up: load the embedder"])
            set_embedder_cache(emb, 0)
            out[b] = emb
        except Exception as exc:  # an unavailable backend is reported, not fatal
            out[b] = f"n/a: {type(exc).__name__}: {str(exc)[:110]}"
    return out


# ---------------------------------------------------------------- candidates

class Candidate:
    """Something to time: a single-prompt call, a batch call, or a reason it is unavailable."""

    def __init__(self, name: str, single: Callable | None = None, batch: Callable | None = None, na: str = "",
                 emb: Any = None, is_embedder: bool = False) -> None:
        self.name, self.single, self.batch, self.na = name, single, batch, na
        self.emb, self.is_embedder = emb, is_embedder


def _router_candidate(name: str, label: str, **kw: Any) -> Candidate:
    from routellm_plugins import load_router

    try:
        r = load_router(name, seed=0) if name == "random" else load_router(name, **kw)
        r.route("warm-up: load weights")
        return Candidate(label, r.route, r.score, emb=kw.get("embedder"))
    except Exception as exc:  # a router that cannot load is reported, not fatal
        return Candidate(label, na=f"{type(exc).__name__}: {str(exc)[:110]}")


def build_candidates(routers: Sequence[str], embs: dict[str, Any]) -> list[Candidate]:
    """Per backend: the embedder alone and each embedding router; then the other routers and LiteLLM's."""
    out = []
    for b, emb in embs.items():
        if isinstance(emb, str):
            out.append(Candidate(f"embedder (MiniLM) [{b}]", na=emb))
            continue
        out.append(Candidate(f"embedder (MiniLM) [{b}]", lambda p, e=emb: e([p]), lambda x, e=emb: e(x), emb=emb,
                             is_embedder=True))
        for name in routers:
            if name in EMBEDDING_ROUTERS:
                out.append(_router_candidate(name, f"{name} [{b}]", embedder=emb))
    for name in routers:
        if name not in EMBEDDING_ROUTERS:
            out.append(_router_candidate(name, name))
    out.append(litellm_complexity_candidate())
    return out


def litellm_complexity_candidate() -> Candidate:
    """LiteLLM's rule-based ComplexityRouter.classify, or 'n/a' with the reason."""
    name = "litellm complexity"
    try:
        import litellm
        from litellm import Router as LiteRouter
        from litellm.router_strategy.complexity_router.complexity_router import ComplexityRouter
    except Exception as exc:
        return Candidate(name, na=f"not in installed litellm: {type(exc).__name__}: {exc}")
    try:
        lr = LiteRouter(model_list=[{"model_name": "m", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "sk-bench"}}])
        cr = ComplexityRouter("bench", lr, {"tiers": {"SIMPLE": "m", "MEDIUM": "m", "COMPLEX": "m", "REASONING": "m"}})
        cr.classify("warm-up")
    except Exception as exc:
        return Candidate(name, na=f"ComplexityRouter failed to build: {type(exc).__name__}: {exc}")
    name = f"litellm {litellm.__version__ if hasattr(litellm, '__version__') else ''} complexity".replace("  ", " ")
    return Candidate(name, cr.classify, lambda b: [cr.classify(p) for p in b])


# ---------------------------------------------------------------- cold start (subprocesses)

_IMPORT_ONLY = """
import json, time, sys
t0 = time.perf_counter()
import routellm_plugins
print(json.dumps({"import_s": time.perf_counter() - t0, "torch_loaded": "torch" in sys.modules}))
"""

_COLD_MF = """
import json, resource, sys, time
def peak_mb():
    # VmHWM belongs to this process's own address space; ru_maxrss would also count the
    # parent's high-water mark inherited through fork (the bench process itself is large).
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
import routellm_plugins
t_imp = time.perf_counter()
r = routellm_plugins.load_router()
t_load = time.perf_counter()
prompts = json.loads(sys.stdin.read())
r.route(prompts["short"][0])
t_first = time.perf_counter()
for p in prompts["short"][1:33]:
    r.route(p)
r.score(prompts["long"][:64])
print(json.dumps({"import_s": t_imp - t0, "load_s": t_load - t_imp, "first_s": t_first - t_load,
                  "total_s": t_first - t0, "maxrss_mb": peak_mb(),
                  "backend": routellm_plugins.embedding.get_embedder().backend, "torch_loaded": "torch" in sys.modules}))
"""


def run_sub(code: str, stdin: str = "", backend: str | None = None) -> dict:
    """Run ``code`` in a fresh interpreter (``$ROUTELLM_EMBEDDER_BACKEND=backend``); its last stdout line is JSON."""
    env = os.environ.copy()
    if backend:
        kind, _, precision = backend.partition(":")
        env["ROUTELLM_EMBEDDER_BACKEND"] = kind
        if precision:
            env["ROUTELLM_EMBEDDER_PRECISION"] = precision
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"subprocess failed (rc={proc.returncode}): {proc.stderr[-800:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall_s"] = wall
    return res


# ---------------------------------------------------------------- suite

def one_run(cands: list[Candidate], sets: dict[str, list[str]], n_single: int, batches: Sequence[int],
            cap_s: float, first: dict | None) -> dict:
    """One pass over every candidate, length and batch size. A batch cell whose call took longer
    than ``cap_s`` in the first run (``first``) is not repeated."""
    res: dict = {}
    live = [c for c in cands if not c.na]
    for length, prompts in sets.items():
        times = time_single_interleaved(live, prompts[:n_single], prompts[-WARMUP:], cap_s, MIN_SINGLE)
        for c in live:
            res[(c.name, length, "p50")] = _pct(times[c.name], 50)
            res[(c.name, length, "p99")] = _pct(times[c.name], 99)
            res[(c.name, length, "n")] = len(times[c.name])
        for c in live:
            for b in batches:
                key = (c.name, length, f"b{b}")
                if first is not None and first.get(key, 0.0) and b / first[key] > cap_s:
                    continue
                res[key] = b / time_batch(c.batch, list(prompts[:b]))
        for name, own in time_router_own(live, prompts[:OWN_N]).items():
            res[(name, length, "own")] = own
    return res


def _med(runs: list[dict], key: Any) -> float | None:
    vals = [r[key] for r in runs if key in r]
    return statistics.median(vals) if vals else None


def _fmt_ms(x: float | None) -> str:
    return "n/a" if x is None else (f"{x * 1e3:.3f}" if x < 0.01 else f"{x * 1e3:.1f}")


def _fmt_rate(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


def token_stats(prompts: Sequence[str]) -> str:
    """Words and MiniLM word pieces (before the embedder's 256-token cap) of a prompt list."""
    from tokenizers import Tokenizer

    from routellm_plugins.embedding import bundled_minilm_path

    tok = Tokenizer.from_file(str(bundled_minilm_path() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    words = [len(p.split()) for p in prompts]
    pieces = [len(e.ids) for e in tok.encode_batch(list(prompts), add_special_tokens=False)]
    return (f"words {min(words)}-{max(words)} (median {statistics.median(words):.0f}), "
            f"MiniLM tokens median {statistics.median(pieces):.0f} (range {min(pieces)}-{max(pieces)})")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of the whole suite; figures are medians (default 3)")
    ap.add_argument("--n-single", type=int, default=20, help="distinct prompts timed one at a time per length (default 20)")
    ap.add_argument("--batches", default="1,32,256", help="batch sizes for throughput (default 1,32,256)")
    ap.add_argument("--routers", default="mf,sw_ranking,uniroute", help="routers (the default router is always added)")
    ap.add_argument("--backends", default="onnx,onnx:int8,static",
                    help="embedder tiers: onnx, onnx:int8, static, torch (default onnx,onnx:int8,static)")
    ap.add_argument("--data-dir", default=None, help="shared data folder (default: $ROUTELLM_SHARED_DATA or ../shared/data)")
    ap.add_argument("--cap-s", type=float, default=3.0,
                    help="per cell time cap: single-prompt timing stops after this many seconds (min 10 prompts), and a batch "
                         "call slower than this in run 1 is not repeated (default 3)")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-start / RSS subprocesses")
    args = ap.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",") if b]
    from routellm_plugins.registry import DEFAULT_ROUTER

    routers = list(dict.fromkeys([r.strip() for r in args.routers.split(",") if r.strip()] + [DEFAULT_ROUTER]))
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]

    load0 = os.getloadavg()
    t_start = time.perf_counter()
    n = max(max(batches), args.n_single + WARMUP)
    sets = load_prompt_sets(args.data_dir, n)
    embs = backend_embedders(backends)
    cache_note = "LRU cache of each backend's embedder off (size 0)"
    cands = build_candidates(routers, embs)

    print("# routellm-plugins decision latency")
    info = []
    for b, e in embs.items():
        if isinstance(e, str):
            info.append(f"{b}: {e}")
        elif b == "static":
            info.append("[static] token table + linear map (opt-in tier; no onnxruntime per prompt)")
        elif b == "torch":
            import torch

            info.append(f"torch {torch.__version__} device={e.device} threads={torch.get_num_threads()} "
                        f"interop={torch.get_num_interop_threads()}")
        else:
            import onnxruntime

            info.append(f"[{b}] onnxruntime {onnxruntime.__version__} device={e.device} intra-op threads="
                        f"{e._session.get_session_options().intra_op_num_threads} precision={e.precision} "
                        f"micro-batching={'on' if e.micro_batch else 'off'}")
    print(f"machine: nproc={os.cpu_count()} affinity={len(os.sched_getaffinity(0))} python={sys.version.split()[0]}")
    print("embedders: " + "; ".join(info))
    print(f"load average at start (1/5/15 min): {load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f}")
    print(f"cache: {cache_note}")
    for k, v in sets.items():
        print(f"{k} prompts: {token_stats(v)}")
    print(f"repeat={args.repeat}: each figure is the median over runs. Single prompts: up to n={args.n_single} distinct "
          f"prompts per run, candidates interleaved prompt by prompt, after {WARMUP} warm-up calls; a candidate stops after "
          f"{args.cap_s:g} s once it has {MIN_SINGLE} (column n), so p99 is close to the max. "
          f"Batches: one score() call on distinct prompts; * = slower than {args.cap_s:g} s, measured in run 1 only. "
          f"own p50 = route() when the prompt's embedding is already cached (the router's own cost, "
          f"{OWN_N} prompts); embedder share = 1 - own/p50.")

    runs: list[dict] = []
    for i in range(args.repeat):
        runs.append(one_run(cands, sets, args.n_single, batches, args.cap_s, runs[0] if runs else None))
    cold: list[dict] = []
    cold_b = [b for b in backends if not isinstance(embs.get(b), str)]
    if not args.no_cold:
        stdin = json.dumps({"short": sets["short"][:40], "long": sets["long"][:64]})
        for i in range(args.repeat):  # backends interleaved run by run
            cold.append({"import": run_sub(_IMPORT_ONLY), **{b: run_sub(_COLD_MF, stdin, b) for b in cold_b}})

    print()
    hdr = ["candidate", "len", "n", "p50 ms", "p99 ms"] + [f"b{b} p/s" for b in batches] + ["own p50 ms", "embedder share of p50"]
    rows = [hdr]
    for length in sets:
        for c in cands:
            if c.na:
                rows.append([c.name, length, "-", "n/a", "n/a"] + ["n/a"] * len(batches) + ["n/a", c.na])
                continue
            p50 = _med(runs, (c.name, length, "p50"))
            own = _med(runs, (c.name, length, "own"))
            share = ""
            if own is not None and p50:
                emb_name = next((e.name for e in cands if e.is_embedder and e.emb is c.emb), None)
                e50 = _med(runs, (emb_name, length, "p50")) if emb_name else None
                share = f"{100 * (1 - own / p50):.0f}% (embedder alone / router p50 = {100 * e50 / p50:.0f}%)" if e50 else ""
            rates = []
            for b in batches:
                key = (c.name, length, f"b{b}")
                once = args.repeat > 1 and sum(key in r for r in runs) == 1
                rates.append(_fmt_rate(_med(runs, key)) + ("*" if once else ""))
            n_med = _med(runs, (c.name, length, "n"))
            rows.append([c.name, length, f"{n_med:.0f}", _fmt_ms(p50), _fmt_ms(_med(runs, (c.name, length, "p99")))]
                        + rates + ["" if own is None else _fmt_ms(own), share])
    widths = [max(len(r[j]) for r in rows) for j in range(len(hdr) - 1)]
    for r in rows:
        print("  ".join(s.ljust(w) if j < 2 else s.rjust(w) for j, (s, w) in enumerate(zip(r, widths))) + "  " + r[-1])

    if cold:
        imp = [c["import"] for c in cold]
        m = lambda xs, k: statistics.median(x[k] for x in xs)  # noqa: E731
        print()
        print("cold start (fresh subprocess, median of runs; in-process timings exclude interpreter start-up)")
        print(f"  import routellm_plugins                    : {m(imp, 'import_s'):.3f} s in-process, "
              f"{m(imp, 'wall_s'):.2f} s process wall; torch imported: {imp[0]['torch_loaded']}")
        for b in cold_b:
            mf = [c[b] for c in cold]
            print(f"  [{b}] import + load_router() + first route() : {m(mf, 'total_s'):.2f} s in-process "
                  f"(import {m(mf, 'import_s'):.2f} + load {m(mf, 'load_s'):.2f} + first decision {m(mf, 'first_s'):.2f}), "
                  f"{m(mf, 'wall_s'):.2f} s process wall; torch imported: {mf[0]['torch_loaded']}")
            print(f"  [{b}] peak RSS, mf process after first decision + 32 single + score(64 long): {m(mf, 'maxrss_mb'):.0f} MB "
                  f"(runs: {', '.join('%.0f' % x['maxrss_mb'] for x in mf)})")
    load1 = os.getloadavg()
    print()
    print(f"load average at end (1/5/15 min): {load1[0]:.2f} / {load1[1]:.2f} / {load1[2]:.2f}; "
          f"total bench time {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
