"""Training recipe of ``causal_llm``: a 3-way head on frozen backbone features.

The backbone is never updated. Features (see :mod:`routellm_plugins.routers.causal_llm`) are
extracted once per prompt and cached on disk, keyed by the router's ``feature_key`` and the
prompt's digest. Training prompts are a seeded subsample of the bundled recipe's training
sets (:func:`routellm_plugins.data.outcomes.default_classifier_sets`), allotted in proportion
to set size (each set at least ``min_per_set``), so extraction fits a CPU budget.
The head is a multinomial logistic regression (standardised inputs, L2 penalty ``l2``) over
strong wins / tie / weak wins. The feature blocks and ``l2`` are chosen by mean APGR on
(subsamples of) the validation sets: MMLU fold 1 and the RouterBench test split.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from routellm_plugins.data.graded import GradedSet
from routellm_plugins.errors import ConfigError
from routellm_plugins.routers.causal_llm import FEATURE_BLOCKS, CausalLLMRouter

BLOCK_CHOICES = (("last",), ("last", "rating"), ("mid", "last", "rating"), ("mid", "rating"))
L2_GRID = (1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)


def default_cache_dir() -> Path:
    """``$ROUTELLM_CACHE/causal_llm`` or ``~/.cache/routellm-plugins/causal_llm``."""
    root = os.environ.get("ROUTELLM_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "routellm-plugins") / "causal_llm"


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=12).hexdigest()


class FeatureCache:
    """On-disk feature blocks per prompt digest for one ``feature_key`` (npz shards, append-only)."""

    def __init__(self, folder: str | os.PathLike[str], key: str) -> None:
        self.folder = Path(folder) / key
        self.rows: dict[str, dict[str, np.ndarray]] = {}
        if self.folder.is_dir():
            for shard in sorted(self.folder.glob("shard_*.npz")):
                with np.load(shard) as z:
                    for i, k in enumerate(z["keys"]):
                        self.rows[str(k)] = {b: z[b][i] for b in (*FEATURE_BLOCKS, "valid")}

    def add(self, digests: Sequence[str], blocks: dict[str, np.ndarray], valid: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = self.folder / f"shard_{time.time_ns()}.npz"
        tmp = name.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(digests)), valid=valid.astype(np.float32), **blocks)
        os.replace(tmp, name)
        for i, d in enumerate(digests):
            self.rows[d] = {**{b: blocks[b][i] for b in FEATURE_BLOCKS}, "valid": np.float32(valid[i])}


def extract_cached(router: CausalLLMRouter, prompts: Sequence[str], cache: FeatureCache | None, *,
                   chunk: int = 100, progress: bool = False, desc: str = "features") -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Feature blocks and validity for ``prompts``, reading/writing ``cache`` when given."""
    digests = [_digest(p) for p in prompts]
    todo = sorted({d: i for i, d in enumerate(digests) if cache is None or d not in cache.rows}.values())
    fresh: dict[str, dict[str, np.ndarray]] = {}
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=desc)
    for start in range(0, len(todo), chunk):
        idx = todo[start : start + chunk]
        feats = router.extract([prompts[i] for i in idx])
        ds = [digests[i] for i in idx]
        if cache is not None:
            cache.add(ds, feats.blocks, feats.valid)
        for j, d in enumerate(ds):
            fresh[d] = {**{b: feats.blocks[b][j] for b in FEATURE_BLOCKS}, "valid": np.float32(feats.valid[j])}
        if bar is not None:
            bar.update(len(idx))
    if bar is not None:
        bar.close()
    rows = [fresh.get(d) or (cache.rows[d] if cache is not None else None) for d in digests]
    blocks = {b: np.stack([r[b] for r in rows]) for b in FEATURE_BLOCKS}
    return blocks, np.array([bool(r["valid"]) for r in rows])


def fit_head(x: np.ndarray, y: np.ndarray, l2: float, *, sample_weight: np.ndarray | None = None,
             steps: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """Multinomial logistic regression on standardised ``x`` (L-BFGS, L2 on weights); returns head tensors."""
    import torch

    mean = x.mean(0)
    std = x.std(0) + 1e-6
    z = torch.from_numpy((x - mean) / std)
    t = torch.from_numpy(y.astype(np.int64))
    w_row = torch.from_numpy(np.ones(len(y)) if sample_weight is None else sample_weight / sample_weight.mean())
    torch.manual_seed(seed)
    w = torch.zeros(3, x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        nll = torch.nn.functional.cross_entropy(z @ w.T + b, t, reduction="none")
        loss = (nll * w_row).mean() + l2 * (w**2).sum() / 2
        loss.backward()
        return loss

    opt.step(closure)
    return {"w": w.detach().numpy().copy(), "b": b.detach().numpy().copy(), "mean": mean, "std": std}


def _subsample(sets: Sequence[GradedSet], total: int, min_per_set: int, rng: np.random.Generator) -> list[GradedSet]:
    sizes = np.array([len(s) for s in sets], dtype=np.float64)
    quota = np.minimum(sizes, np.maximum(min_per_set, np.floor(total * sizes / sizes.sum()))).astype(int)
    return [s.subset(np.sort(rng.choice(len(s), q, replace=False))) if q < len(s) else s for s, q in zip(sets, quota)]


def _val_apgr(router: CausalLLMRouter, val: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]]) -> float:
    from routellm_plugins.evaluation import apgr, cost_quality_curve

    return float(np.nanmean([apgr(cost_quality_curve(router.scores_from_blocks(b), qs, qw)) for b, qs, qw in val]))


def train_causal_llm(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    seed: int = 0,
    progress: bool = False,
    backbone: str | None = None,
    max_train: int = 2400,
    min_per_set: int = 100,
    max_val_per_set: int = 250,
    cache_dir: str | os.PathLike[str] | None = None,
    dtype: str = "bfloat16",
    block_choices: Sequence[Sequence[str]] = BLOCK_CHOICES,
    l2_grid: Sequence[float] = L2_GRID,
    sets: tuple[list[GradedSet], list[GradedSet]] | None = None,
    log: Callable[[str], None] | None = print,
    **router_params: Any,
) -> CausalLLMRouter:
    """Fit the head of a :class:`CausalLLMRouter` on the bundled recipe (see module docstring)."""
    from routellm_plugins.data.outcomes import default_classifier_sets, outcomes, pair_for

    if max_train < 10 or max_val_per_set < 10:
        raise ConfigError(f"causal_llm training needs max_train >= 10 and max_val_per_set >= 10; got {max_train}, {max_val_per_set}")
    started = time.perf_counter()
    say = log or (lambda _msg: None)
    rng = np.random.default_rng(seed)
    train_sets, val_sets = sets if sets is not None else default_classifier_sets(data_dir)
    train_sets = _subsample(train_sets, max_train, min_per_set, rng)
    val_sets = [s.subset(np.sort(rng.choice(len(s), max_val_per_set, replace=False))) if len(s) > max_val_per_set else s for s in val_sets]
    params = {"dtype": dtype, **router_params}
    if backbone is not None:
        params["backbone"] = backbone
    router = CausalLLMRouter(**params)
    cache = FeatureCache(cache_dir if cache_dir is not None else default_cache_dir(), router.feature_key())

    data = outcomes(train_sets)
    set_of_row = np.concatenate([np.full(len(outcomes([s])), k) for k, s in enumerate(train_sets)])
    blocks, valid = extract_cached(router, data.prompts, cache, progress=progress, desc="causal_llm train features")
    say(f"causal_llm: {len(data)} training prompts from {len(train_sets)} sets, {int((~valid).sum())} invalid, "
        f"label counts {np.bincount(data.labels, minlength=3).tolist()}")
    val = []
    for s in val_sets:
        strong, weak = pair_for(s)
        qs, qw = s.column(strong), s.column(weak)
        ok = np.isfinite(qs) & np.isfinite(qw)
        vs = s.subset(ok)
        vb, _ = extract_cached(router, vs.prompts, cache, progress=progress, desc=f"causal_llm {s.name} features")
        val.append((vb, qs[ok], qw[ok]))

    # every training set weighs in proportion to its share of the subsample; invalid rows are dropped
    weight = np.ones(len(data))
    keep = valid
    router.head = None
    zero_shot = _val_apgr(router, val)
    say(f"causal_llm: zero-shot (rating distribution) validation APGR {zero_shot:.4f}")
    best: tuple[float, tuple[str, ...], float, dict[str, np.ndarray]] | None = None
    trials = []
    for names in block_choices:
        x = router.features_matrix(blocks, names)[keep]
        for l2 in l2_grid:
            head = fit_head(x, data.labels[keep], l2, sample_weight=weight[keep], seed=seed)
            router.blocks, router.head = tuple(names), head
            score = _val_apgr(router, val)
            trials.append({"blocks": list(names), "l2": l2, "val_apgr": round(score, 5)})
            say(f"causal_llm: blocks={'+'.join(names)} l2={l2:g} validation APGR {score:.4f}")
            if best is None or score > best[0] + 1e-6:
                best = (score, tuple(names), l2, head)
    assert best is not None
    router.blocks, router.head = best[1], best[3]
    router.training_info = {
        "training": {
            "recipe": "head on frozen features (3-way logistic regression), routellm_plugins.training.causal_llm",
            "seed": seed, "n_train": int(keep.sum()), "train_sets": {s.name: len(s) for s in train_sets},
            "validation_sets": {s.name: len(s) for s in val_sets}, "l2": best[2],
            "val_apgr": round(best[0], 5), "zero_shot_val_apgr": round(zero_shot, 5), "trials": trials,
            "wall_s": round(time.perf_counter() - started, 1), "set_rows": np.bincount(set_of_row).tolist(),
        }
    }
    say(f"causal_llm: chose blocks={'+'.join(best[1])} l2={best[2]:g} (validation APGR {best[0]:.4f})")
    return router
