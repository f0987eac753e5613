"""Build the ONNX MiniLM embedder variants (no torch), or recalibrate the int8 variant's smoothing factors.

The package builds its encoder itself at first use (into ``$ROUTELLM_CACHE/embedder``); this script
is for looking at the result or shipping it elsewhere:

    python scripts/export_onnx_embedder.py [--out-dir DIR] [--variants fp32,int8]
        writes minilm-<variant>.onnx to DIR (default: fill the user cache) and prints size, sha256, build time
    python scripts/export_onnx_embedder.py --calibrate [--data-dir ../shared/data] [--alpha 0.5]
        recomputes src/routellm_plugins/assets/embedder/minilm-int8-calibration.safetensors: per-channel
        ranges of every dense layer's input over 300 training prompts (MMLU folds 2-4, RouterBench
        train, RouterDC gsm8k-train / humaneval_train / MATH_prealgebra; never an evaluation set),
        run through the fp32 model: static ranges for the Q|K|V projections, SmoothQuant factors
        max|x|^a / max|w|^(1-a) for the FFN input layers
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N_CALIBRATION = 300


def calibration_prompts(data_dir: str | None) -> list[str]:
    """300 training prompts, chosen by sha1 order (no RNG): 120 MMLU (folds 2-4), 100 RouterBench, 80 RouterDC."""
    from routellm_plugins.data.graded import prompt_fold
    from routellm_plugins.data.routellm_evals import load_mmlu
    from routellm_plugins.data.routerbench import load_routerbench
    from routellm_plugins.data.routerdc import load_routerdc

    def first(prompts: list[str], n: int) -> list[str]:
        uniq = sorted(set(p for p in prompts if p.strip()), key=lambda p: hashlib.sha1(p.encode()).hexdigest())
        return uniq[:n]

    mmlu = [p for p in load_mmlu(data_dir).prompts if prompt_fold(p) >= 2]
    rb = list(load_routerbench("train", data_dir).prompts)
    dc = [p for stem in ("gsm8k-train", "humaneval_train", "MATH_prealgebra") for p in load_routerdc(stem, data_dir).prompts]
    return first(mmlu, 120) + first(rb, 100) + first(dc, 80)


def calibrate(data_dir: str | None, alpha: float, out: Path) -> None:
    """Write the int8 variant's calibration tensors to ``out`` (safetensors): for each layer that
    PLANS["int8"] computes with static ranges, its per-channel [min; max] input range; for each
    layer of a kind in SMOOTHED_KINDS, its SmoothQuant factors."""
    import onnx
    import onnxruntime as ort
    from safetensors.numpy import save_file

    from routellm_plugins.embedding import bundled_minilm_path
    from routellm_plugins.embedding_build import PLANS, SMOOTHED_KINDS, build_model, load_source, smoothing_factors
    from routellm_plugins.embedding_onnx import OnnxEncoder

    folder = bundled_minilm_path()
    model = build_model(folder, "fp32", calibration_outputs=True)
    names = json.loads(onnx.load_from_string(model).doc_string)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    tokens = OnnxEncoder(precision="fp32", cache_size=0, micro_batch=False)
    prompts = calibration_prompts(data_dir)
    lo: dict[str, np.ndarray] = {}
    hi: dict[str, np.ndarray] = {}
    for ids in tokens.token_ids(prompts):  # one prompt at a time: no padding rows in the ranges
        a = np.array([ids], np.int64)
        for name, x in zip(names, session.run(list(names.values()), {"input_ids": a, "attention_mask": np.ones_like(a)})):
            lo[name] = np.minimum(lo.get(name, np.inf), x.min(0))
            hi[name] = np.maximum(hi.get(name, -np.inf), x.max(0))
    amax = {n: np.maximum(np.abs(lo[n]), np.abs(hi[n])) for n in names}
    smooth = smoothing_factors(amax, *load_source(folder), alpha=alpha)
    params: dict[str, np.ndarray] = {}
    for name in names:
        kind = name.split(".", 1)[1]
        if PLANS["int8"][kind] == "static":
            params[name + ".range"] = np.stack([lo[name], hi[name]]).astype(np.float32)
        if kind in SMOOTHED_KINDS:
            params[name + ".smooth"] = smooth[name]
    save_file(dict(sorted(params.items())), str(out), metadata={"alpha": str(alpha), "prompts": str(len(prompts))})
    print(f"{out}: {len(params)} calibration tensors from {len(prompts)} training prompts (alpha {alpha})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default=None, help="write the models here (default: build into the user cache)")
    ap.add_argument("--variants", default="fp32,int8")
    ap.add_argument("--calibrate", action="store_true", help="recompute the int8 smoothing factors (needs the shared data)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--alpha", type=float, default=0.5, help="SmoothQuant migration strength (default 0.5)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from routellm_plugins.embedding_build import PARAMS_FILE, build_variant, cached_model, model_cache_dir

    if args.calibrate:
        calibrate(args.data_dir, args.alpha, PARAMS_FILE)
        return 0
    for variant in [v for v in args.variants.split(",") if v]:
        t0 = time.perf_counter()
        if args.out_dir:
            data = build_variant(variant)
            dst = Path(args.out_dir) / f"minilm-{variant}.onnx"
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(data)
        else:
            data = cached_model(variant)
            dst = model_cache_dir()
        print(f"{variant}: {len(data) / 1e6:.1f} MB  sha256 {hashlib.sha256(data).hexdigest()[:16]}  "
              f"{time.perf_counter() - t0:.1f} s  -> {dst}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
