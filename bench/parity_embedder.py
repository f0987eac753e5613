"""Parity of the embedder tiers against the fp32-compute reference, on every evaluation set, in one run.

Reference: the ONNX MiniLM computed in fp32 (``precision="fp32"``, the numbers every bundled router
was trained on). Candidates (default: ``int8``, the fast tier, and ``torch``, the transformers
path; also ``static``, the token-table tier): each embeds the same prompts; the routers (mf, sw_ranking and the default router) score
them from those embeddings. Per evaluation set, router and candidate the table gives

- cosine of the candidate's embeddings to the reference's (min / mean);
- routing decisions that agree at the router's 50 % threshold (its bundled calibration cut);
- APGR with the reference embeddings, with the candidate's, and the change.

Sets: MMLU held-out fold 0, GSM8K, RouterBench test (GPT-4 vs Mixtral), AlpacaEval (GPT-4-turbo
vs Mixtral-8x7B-Instruct preferences), arena_bench_v1 (gpt-4-1106-preview vs mixtral-8x7b-instruct
GPT-4 scores). A candidate passes when every |dAPGR| <= 0.005.

    python bench/parity_embedder.py [--candidates int8,torch,static] [--routers mf,sw_ranking] [--limit N] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

#: |dAPGR| a tier may move on any set and router to pass.
MAX_DAPGR = 0.005
Embed = Callable[[list[str]], np.ndarray]


def eval_sets(data_dir: str | None, limit: int | None) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """name -> (prompts, strong quality, weak quality), prompts graded for both models."""
    from routellm_plugins.evaluation.benchmarks import load_named_benchmark, strong_weak_columns
    from routellm_plugins.data.chat import alpaca_pair, load_alpaca_eval, load_arena_bench

    sets = {name: load_named_benchmark(name, data_dir) for name in ("mmlu", "gsm8k", "routerbench")}
    sets["alpaca_eval"] = alpaca_pair(load_alpaca_eval(data_dir), "Mixtral-8x7B-Instruct-v0.1")
    sets["arena_bench_v1"] = load_arena_bench(data_dir)
    out = {}
    for name, data in sets.items():
        pair = ("gpt-4-1106-preview", "mixtral-8x7b-instruct") if name == "arena_bench_v1" else (None, None)
        qs, qw, _, _ = strong_weak_columns(data, *pair)
        idx = np.flatnonzero(~(np.isnan(qs) | np.isnan(qw)))[:limit]
        out[name] = ([data.prompts[i] for i in idx], qs[idx], qw[idx])
    return out


def router_names(extra: Sequence[str] = ()) -> list[str]:
    """mf, sw_ranking, the default router and ``extra``, without repeats."""
    from routellm_plugins.registry import DEFAULT_ROUTER

    return list(dict.fromkeys(["mf", "sw_ranking", DEFAULT_ROUTER, *extra]))


def route_scores(names: Sequence[str], prompts: list[str], emb: np.ndarray) -> dict[str, tuple[np.ndarray, float]]:
    """router -> (scores of ``prompts`` computed from the embeddings ``emb``, its 50 % threshold)."""
    from routellm_plugins import load_router

    rows = {p: emb[i] for i, p in enumerate(prompts)}
    lookup = lambda texts: np.stack([rows[t] for t in texts])  # noqa: E731 - embeddings already computed
    out = {}
    for name in names:
        r = load_router(name, embedder=lookup)
        out[name] = (np.asarray(r.score(prompts), dtype=np.float64), float(r.threshold_for_share(0.5)))
    return out


def compare(reference: Embed, candidates: dict[str, Embed], sets: dict, routers: Sequence[str],
            log: Callable[[str], None] = print) -> dict[str, float]:
    """Print the parity table row by row (partial results survive an interruption); returns
    candidate -> worst |dAPGR| over sets and routers."""
    from routellm_plugins.evaluation import evaluate_scores

    widths = [10, 15, 5, 8, 9, 11, 10, 9, 10, 8, 17]
    hdr = ["candidate", "set", "n", "cos min", "cos mean", "router", "agree@50%", "APGR ref", "APGR cand", "dAPGR", "embed s ref/cand"]
    fmt = lambda r: "  ".join(c.ljust(w) if j in (0, 1, 5) else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    log(fmt(hdr))
    worst = {c: 0.0 for c in candidates}
    for set_name, (prompts, qs, qw) in sets.items():
        t0 = time.perf_counter()
        e_ref = reference(prompts)
        t_ref = time.perf_counter() - t0
        s_ref = route_scores(routers, prompts, e_ref)
        for cand, fn in candidates.items():
            t0 = time.perf_counter()
            e_new = fn(prompts)
            t_new = time.perf_counter() - t0
            cos = (e_ref * e_new).sum(1)
            s_new = route_scores(routers, prompts, e_new)
            for name in routers:
                (a, cut), (b, _) = s_ref[name], s_new[name]
                agree = float(np.mean((a >= cut) == (b >= cut)))
                apgr_ref, apgr_new = evaluate_scores(name, a, qs, qw).apgr, evaluate_scores(name, b, qs, qw).apgr
                worst[cand] = max(worst[cand], abs(apgr_new - apgr_ref))
                log(fmt([cand, set_name, str(len(prompts)), f"{cos.min():.5f}", f"{cos.mean():.6f}", name,
                         f"{100 * agree:.2f}%", f"{apgr_ref:.4f}", f"{apgr_new:.4f}", f"{apgr_new - apgr_ref:+.4f}",
                         f"{t_ref:.1f}/{t_new:.1f}"]))
    log("")
    for cand, w in worst.items():
        log(f"{cand}: worst |dAPGR| {w:.4f} (need <= {MAX_DAPGR}) -> {'PASS' if w <= MAX_DAPGR else 'FAIL'}")
    return worst


def tier(name: str) -> Embed:
    """The embedder of a tier name: an ONNX precision ("fp32", "int8"), "torch", "static", or an ONNX file."""
    from routellm_plugins.embedding import HFEncoder
    from routellm_plugins.embedding_onnx import OnnxEncoder
    from routellm_plugins.embedding_static import StaticEncoder

    if name == "torch":
        enc = HFEncoder(cache_size=0, micro_batch=False)
    elif name == "static":
        enc = StaticEncoder(cache_size=0)
    elif name.endswith(".onnx"):
        enc = OnnxEncoder(model_file=name, cache_size=0, micro_batch=False)
    else:
        enc = OnnxEncoder(precision=name, cache_size=0, micro_batch=False)
    return lambda prompts: enc(prompts)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=os.environ.get("ROUTELLM_SHARED_DATA"))
    ap.add_argument("--candidates", default="int8,torch", help="tiers to compare with fp32: int8, torch, static (default int8,torch)")
    ap.add_argument("--routers", default="", help="extra routers besides mf, sw_ranking and the default")
    ap.add_argument("--limit", type=int, default=None, help="at most this many prompts per set")
    ap.add_argument("--reference", default="fp32", help="reference: a tier name or an ONNX file of the same encoder "
                    "(e.g. the fp16-stored model shipped before the model was built at first use)")
    args = ap.parse_args(argv)

    from routellm_plugins.embedding_onnx import default_precision

    load0 = os.getloadavg()
    sets = eval_sets(args.data_dir, args.limit)
    routers = router_names([r for r in args.routers.split(",") if r])
    cands = [c for c in args.candidates.split(",") if c]
    print(f"# embedder parity vs the fp32-compute ONNX path; routers {', '.join(routers)}; "
          + ", ".join(f"{k} {len(v[0])}" for k, v in sets.items()) + f"; load average {load0[0]:.2f}")
    print(f"reference: {args.reference}", flush=True)
    worst = compare(tier(args.reference), {c: tier(c) for c in cands}, sets, routers)
    default = default_precision()
    print(f"default precision on this machine: {default}")
    return 0 if worst.get(default, 0.0) <= MAX_DAPGR else 1


if __name__ == "__main__":
    sys.exit(main())
