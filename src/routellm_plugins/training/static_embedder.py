"""Recipe of the static embedder tier's map (:mod:`routellm_plugins.embedding_static`).

Data: the prompts of the mixture recipe's training sources without AlpacaEval (so the shipped map
carries no CC BY-NC data): MMLU folds 2-4, RouterBench train, the RouterDC train files and
arena_bench_v1, with their fp32 MiniLM embeddings as targets (no routing labels are used).

Fit: for each token weight ``a`` in :data:`A_GRID` (weight a / (a + p), p = the token's frequency
in these prompts) and ridge ``lam`` in :data:`LAM_GRID`, the affine map from the weighted mean of
the token table's rows to the MiniLM embedding is solved in closed form on 90 % of the prompts; the
pair with the best mean cosine on the other 10 % (seeded) is refitted on all of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

A_GRID = (1e-3, 1e-2, 1e-1)
LAM_GRID = (1e-3, 1e-2, 1e-1)
VALIDATION_SHARE = 0.1


def token_weights(seqs: Sequence[Sequence[int]], vocab: int, a: float) -> np.ndarray:
    """a / (a + p(token)) with p the token frequencies in ``seqs`` (unseen tokens weigh 1)."""
    freq = np.bincount(np.concatenate([np.asarray(s, dtype=np.int64) for s in seqs]), minlength=vocab).astype(np.float64)
    return (a / (a + freq / max(freq.sum(), 1.0))).astype(np.float32)


def pooled(seqs: Sequence[Sequence[int]], table: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(len(seqs), dim): the weighted mean of each sequence's token rows."""
    out = np.empty((len(seqs), table.shape[1]), dtype=np.float32)
    for r, ids in enumerate(seqs):
        idx = np.asarray(ids, dtype=np.int64)
        w = weight[idx]
        out[r] = (w @ table[idx]) / max(float(w.sum()), 1e-9)
    return out


def fit_affine(x: np.ndarray, y: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge solution of y ~ x @ weight + bias: (weight (d, d'), bias (d',)); the bias is not penalised."""
    xa = np.hstack([x, np.ones((len(x), 1), np.float32)]).astype(np.float64)
    reg = lam * np.eye(xa.shape[1])
    reg[-1, -1] = 0.0
    sol = np.linalg.solve(xa.T @ xa + reg, xa.T @ y.astype(np.float64))
    return sol[:-1].astype(np.float32), sol[-1].astype(np.float32)


def mean_cosine(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, y: np.ndarray) -> float:
    z = x @ weight + bias
    z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    return float((z * y).sum(1).mean())


def fit_static_map(seqs: Sequence[Sequence[int]], targets: np.ndarray, table: np.ndarray, *, seed: int = 0,
                   a_grid: Sequence[float] = A_GRID, lam_grid: Sequence[float] = LAM_GRID) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Tensors (``weight``, ``bias``, ``token_weight``) and a report (chosen a, lam, validation cosines) for the map."""
    val = np.random.default_rng(seed).random(len(seqs)) < VALIDATION_SHARE
    if val.all() or not val.any():
        raise ValueError(f"need prompts on both sides of the validation split; got {len(seqs)} prompts")
    grid = {}
    for a in a_grid:
        tw = token_weights([s for s, v in zip(seqs, val) if not v], table.shape[0], a)
        x = pooled(seqs, table, tw)
        for lam in lam_grid:
            w, b = fit_affine(x[~val], targets[~val], lam)
            grid[(a, lam)] = mean_cosine(x[val], w, b, targets[val])
    a, lam = max(grid, key=grid.__getitem__)
    tw = token_weights(seqs, table.shape[0], a)
    w, b = fit_affine(pooled(seqs, table, tw), targets, lam)
    report = {"a": a, "lam": lam, "validation_cosine": grid[(a, lam)],
              "grid": {f"a={k[0]:g},lam={k[1]:g}": round(v, 5) for k, v in grid.items()}}
    return {"weight": w, "bias": b, "token_weight": tw}, report


def train_static_map(data_dir: str | os.PathLike[str] | None = None, *, out: str | os.PathLike[str] | None = None,
                     seed: int = 0, progress: bool = False) -> dict[str, Any]:
    """Fit the map from ``data_dir`` (see the module docstring) and write it (default: the shipped asset)."""
    import json

    from safetensors.numpy import save_file

    from routellm_plugins.embedding_cache import embed_cached
    from routellm_plugins.embedding_onnx import OnnxEncoder
    from routellm_plugins.embedding_static import MAP_FILE, cached_table
    from routellm_plugins.training.mixture import SOURCE_INFO, load_sources

    sources = load_sources(data_dir, exclude=("alpaca_eval",), progress=progress)
    prompts = [p for s in sources for p in s.data.prompts]
    enc = OnnxEncoder(precision="fp32")  # the targets are fp32 MiniLM whatever $ROUTELLM_EMBEDDER_BACKEND says
    targets = embed_cached(prompts, embedder=enc, progress=progress).astype(np.float32)
    seqs = enc.token_ids(prompts)
    tensors, report = fit_static_map(seqs, targets, cached_table(), seed=seed)
    report.update({"prompts": len(prompts), "sources": [s.name for s in sources]})
    meta = {"recipe": "routellm_plugins.training.static_embedder", "report": json.dumps(report),
            "sources": json.dumps({n: {"from": SOURCE_INFO[n][0], "licence": SOURCE_INFO[n][1], "split": SOURCE_INFO[n][2]}
                                   for n in sorted({s.name.split("/")[0] for s in sources})}),
            "non_commercial": "false"}
    path = Path(out) if out is not None else MAP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"weight": tensors["weight"].astype(np.float16), "bias": tensors["bias"].astype(np.float16),
               "token_weight": tensors["token_weight"].astype(np.float16)}, str(path), metadata=meta)
    return {"path": str(path), **report}


__all__ = ["A_GRID", "LAM_GRID", "fit_static_map", "train_static_map", "token_weights", "pooled", "fit_affine"]
