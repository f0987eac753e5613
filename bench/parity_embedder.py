"""Parity of the ONNX embedder backend against the torch reference, on real prompts.

For the bundled sample (400 prompts) and the held-out benchmarks (``mmlu`` fold 0, ``gsm8k``),
each prompt is embedded by the torch HFEncoder and by each ONNX model (default: the shipped
int8 file); the table gives, per prompt set and router (mf, sw_ranking):

- cosine of the two embeddings (min / 1st percentile / mean);
- routing decision agreement at the router's 50% threshold (calibrated on its bundled
  calibration scores, so the same cut for both backends), and max |score difference|;
- APGR under each backend and its change (held-out benchmarks only; sample: on its recorded labels).

    python bench/parity_embedder.py [--data-dir /work/shared/data] [--models a.onnx,b.onnx] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

ROUTERS = ("mf", "sw_ranking")


def prompt_sets(data_dir: str | None, limit: int | None) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """name -> (prompts, strong quality, weak quality) for the sample and the held-out benchmarks."""
    from routellm_plugins.benchmarks import load_named_benchmark, strong_weak_columns

    sample = Path(__file__).resolve().parents[1] / "src" / "routellm_plugins" / "assets" / "sample_prompts.jsonl"
    rows = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = {"sample": ([r["prompt"] for r in rows], np.array([float(r["strong_correct"]) for r in rows]),
                      np.array([float(r["weak_correct"]) for r in rows]))}
    for name in ("mmlu", "gsm8k"):
        data = load_named_benchmark(name, data_dir)
        qs, qw, _, _ = strong_weak_columns(data, None, None)
        idx = np.flatnonzero(~(np.isnan(qs) | np.isnan(qw)))[:limit] if limit else np.flatnonzero(~(np.isnan(qs) | np.isnan(qw)))
        out[name] = ([data.prompts[i] for i in idx], qs[idx], qw[idx])
    return out


def scores_for(enc, prompts: Sequence[str]) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, float], float]:
    """(embeddings, router -> scores, router -> 50% threshold, seconds to embed) with embedder ``enc``."""
    from routellm_plugins import load_router

    t0 = time.perf_counter()
    emb = enc(list(prompts))  # fills enc's cache: the routers below reuse these rows
    secs = time.perf_counter() - t0
    scores, cuts = {}, {}
    for name in ROUTERS:
        r = load_router(name, embedder=enc)
        scores[name] = np.asarray(r.score(list(prompts)), dtype=np.float64)
        cuts[name] = float(r.threshold_for_share(0.5))
    return emb, scores, cuts, secs


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=os.environ.get("ROUTELLM_SHARED_DATA"))
    ap.add_argument("--models", default="", help="comma-separated ONNX files (default: the shipped int8 model)")
    ap.add_argument("--limit", type=int, default=None, help="at most this many prompts per benchmark")
    args = ap.parse_args(argv)

    from routellm_plugins.embedding import HFEncoder
    from routellm_plugins.embedding_onnx import OnnxEncoder, bundled_onnx_path
    from routellm_plugins.evaluation import evaluate_scores

    models = [Path(m) for m in args.models.split(",") if m] or [bundled_onnx_path()]
    sets = prompt_sets(args.data_dir, args.limit)
    big = sum(len(p) for p, _, _ in sets.values()) + 16
    print(f"# embedder parity: torch HFEncoder (reference) vs onnxruntime; prompts: "
          + ", ".join(f"{k} {len(v[0])}" for k, v in sets.items()))
    ref = HFEncoder(cache_size=big)
    ref_out = {k: scores_for(ref, v[0]) for k, v in sets.items()}
    hdr = ["model", "set", "n", "cos min", "cos p1", "cos mean", "router", "agree@50%", "max|dscore|",
           "APGR torch", "APGR onnx", "dAPGR", "embed s torch/onnx"]
    rows = [hdr]
    verdicts = []
    for model in models:
        worst = {"agree": 1.0, "dapgr": 0.0, "cos_min": 1.0}
        enc = OnnxEncoder(model_file=model, cache_size=big) if model != bundled_onnx_path() else OnnxEncoder(cache_size=big)
        for set_name, (prompts, qs, qw) in sets.items():
            e_ref, s_ref, cuts, t_ref = ref_out[set_name]
            e_new, s_new, _, t_new = scores_for(enc, prompts)
            cos = (e_ref * e_new).sum(1)
            worst["cos_min"] = min(worst["cos_min"], float(cos.min()))
            for name in ROUTERS:
                agree = float(np.mean((s_ref[name] >= cuts[name]) == (s_new[name] >= cuts[name])))
                a_ref = evaluate_scores(name, s_ref[name], qs, qw).apgr
                a_new = evaluate_scores(name, s_new[name], qs, qw).apgr
                worst["agree"] = min(worst["agree"], agree)
                worst["dapgr"] = max(worst["dapgr"], abs(a_new - a_ref))
                rows.append([model.name, set_name, str(len(prompts)), f"{cos.min():.4f}", f"{np.percentile(cos, 1):.4f}",
                             f"{cos.mean():.5f}", name, f"{100 * agree:.2f}%",
                             f"{np.abs(s_ref[name] - s_new[name]).max():.4f}", f"{a_ref:.4f}", f"{a_new:.4f}",
                             f"{a_new - a_ref:+.4f}", f"{t_ref:.1f}/{t_new:.1f}"])
        ok = worst["agree"] >= 0.98 and worst["dapgr"] <= 0.005
        verdicts.append(ok)
        verdicts_txt = (f"{model.name}: worst decision agreement {100 * worst['agree']:.2f}% (need >= 98%), |dAPGR| "
                        f"{worst['dapgr']:.4f} (need <= 0.005), min cosine {worst['cos_min']:.4f} -> {'PASS' if ok else 'FAIL'}")
        rows.append(["#", verdicts_txt] + [""] * (len(hdr) - 2))
    table = [r for r in rows if r[0] != "#"]
    widths = [max(len(r[j]) for r in table) for j in range(len(hdr))]
    for r in table:
        print("  ".join(s.ljust(w) if j < 2 or j == 6 else s.rjust(w) for j, (s, w) in enumerate(zip(r, widths))))
    print()
    for r in rows:
        if r[0] == "#":
            print(r[1])
    return 0 if verdicts[0] else 1  # exit status: the first model (the shipped one by default)


if __name__ == "__main__":
    sys.exit(main())
