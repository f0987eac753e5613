"""Building pools from graded data: representative prompts, profiles, K-means, the learned map, CV tuning."""

from __future__ import annotations

import ast
import csv
import itertools
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from routellm_plugins.data.graded import GradedSet, default_data_dir
from routellm_plugins.errors import ConfigError
from routellm_plugins.pool.cluster_map import train_cluster_map
from routellm_plugins.pool.clustering import kmeans_ensemble
from routellm_plugins.pool.profiles import LLMProfiles
from routellm_plugins.pool.routers import KNNRouter, PoolRouter, UniRouteKMeans, UniRouteLearnedMap, ZeroRouter

csv.field_size_limit(sys.maxsize)


@dataclass
class PoolSettings:
    """Hyper-parameters of a pool: clusters, shrinkage, K-NN size, and the learned map's training."""

    k: int = 16
    #: Shrinkage pseudo-prompts per cluster, or "auto" (per-model empirical Bayes, see profiles.eb_prior).
    prior: float | str = 1.0
    knn_k: int = 10
    hidden: int = 0
    epochs: int = 300
    lr: float = 0.01
    weight_decay: float = 1e-4
    temperature: float = 20.0
    seed: int = 0
    #: Shrink small clusters toward their parent group of clusters (else toward the model's overall mean).
    hierarchical: bool = True
    #: K-means runs (different seeds) whose per-cluster estimates are averaged (1 = plain UniRoute).
    n_clusterings: int = 1
    #: Representative prompts drawn (stratified by group) from the training split; None = all.
    n_representative: int | None = None

    def map_kwargs(self) -> dict[str, Any]:
        return {"hidden": self.hidden, "epochs": self.epochs, "lr": self.lr, "weight_decay": self.weight_decay,
                "temperature": self.temperature, "seed": self.seed}

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def merge_duplicate_ids(data: GradedSet) -> GradedSet:
    """One row per prompt id: RouterBench splits some prompts over two rows (one model graded in each); merge them."""
    first: dict[str, int] = {}
    for i, pid in enumerate(data.ids):
        first.setdefault(pid, i)
    if len(first) == len(data):
        return data
    rows = list(first.values())
    scores = np.full((len(rows), len(data.models)), np.nan)
    costs = None if data.costs is None else np.full_like(scores, np.nan)
    pos = {pid: r for r, pid in enumerate(first)}
    buckets: dict[int, list[int]] = {}
    for i, pid in enumerate(data.ids):
        buckets.setdefault(pos[pid], []).append(i)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (a model graded in neither row) stay NaN
        for r, members in buckets.items():
            scores[r] = np.nanmean(data.scores[members], axis=0)
            if costs is not None and data.costs is not None:
                costs[r] = np.nanmean(data.costs[members], axis=0)
    return GradedSet(data.name, [data.prompts[i] for i in rows], list(data.models), scores,
                     [data.groups[i] for i in rows], costs, [data.ids[i] for i in rows])


def select_representative(data: GradedSet, n: int | None, seed: int = 0) -> np.ndarray:
    """Row indices of ``n`` representative prompts, stratified by group (all rows when n is None or >= len)."""
    if n is None or n >= len(data):
        return np.arange(len(data))
    if n < 2:
        raise ConfigError(f"need at least 2 representative prompts, got {n}")
    rng = np.random.default_rng(seed)
    groups = np.array(data.groups)
    picked: list[int] = []
    names = sorted(set(data.groups))
    for g in names:
        rows = np.flatnonzero(groups == g)
        take = max(1, int(round(n * len(rows) / len(data))))
        picked += list(rng.choice(rows, size=min(take, len(rows)), replace=False))
    return np.sort(np.array(picked[:n] if len(picked) > n else picked, dtype=int))


def model_costs(data: GradedSet, models: Sequence[str], proxy: dict[str, float] | None = None) -> np.ndarray:
    """Per-model average cost per request (NaN where unknown), or the given proxy."""
    if proxy is not None:
        return np.array([float(proxy[m]) for m in models])
    if data.costs is None:
        return np.full(len(models), np.nan)
    cols = [data.models.index(m) for m in models]
    with np.errstate(invalid="ignore"):
        return np.nanmean(data.costs[:, cols], axis=0)


def build_profiles(data: GradedSet, embeddings: np.ndarray, rep_index: np.ndarray, *, models: Sequence[str] | None = None,
                   costs: np.ndarray | None = None, answers: dict[str, str] | None = None, cost_unit: str = "USD/request",
                   grading: dict[str, str] | None = None, references: dict[str, str] | None = None) -> LLMProfiles:
    """Profiles of ``models`` (default: all) on the representative rows ``rep_index`` of ``data``.

    ``answers``, ``grading`` and ``references`` (by prompt id) mark the prompts a new model is profiled on.
    """
    models = list(data.models if models is None else models)
    cols = [data.models.index(m) for m in models]
    rep = np.asarray(rep_index, dtype=int)
    answers, grading, references = answers or {}, grading or {}, references or {}
    ids = [data.ids[i] for i in rep]
    return LLMProfiles(
        ids, [data.prompts[i] for i in rep], np.asarray(embeddings)[rep], models,
        data.scores[np.ix_(rep, cols)], model_costs(data, models) if costs is None else np.asarray(costs, dtype=np.float64),
        [data.groups[i] for i in rep], [answers.get(i) for i in ids], cost_unit,
        [grading.get(i) for i in ids], [references.get(i) for i in ids],
    )


def fit_pool(data: GradedSet, embeddings: np.ndarray, settings: PoolSettings, *, rep_index: np.ndarray | None = None,
             train_models: Sequence[str] | None = None, costs: np.ndarray | None = None, answers: dict[str, str] | None = None,
             cost_unit: str = "USD/request", grading: dict[str, str] | None = None,
             references: dict[str, str] | None = None, variants: Sequence[str] | None = None) -> dict[str, PoolRouter]:
    """Fit one pool on ``data`` and return it served by every variant (uniroute_kmeans, uniroute_map, pool_knn, pool_zero),
    or only by ``variants`` (the learned map is trained only when ``uniroute_map`` is among them).

    K-means uses all training prompts (no model labels); profiles cover every model of
    ``data`` on ``rep_index``; the learned map sees only ``train_models``' scores, so the
    other models join purely by their profiles.
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    rep = select_representative(data, settings.n_representative, settings.seed) if rep_index is None else np.asarray(rep_index, dtype=int)
    profiles = build_profiles(data, emb, rep, costs=costs, answers=answers, cost_unit=cost_unit, grading=grading, references=references)
    k = min(settings.k, len(emb))
    centroids = kmeans_ensemble(emb, k, settings.n_clusterings, seed=settings.seed)
    train_models = list(data.models if train_models is None else train_models)
    unknown = [m for m in train_models if m not in data.models]
    if unknown:
        raise ConfigError(f"train_models {unknown} are not in {data.name}")
    tcols = [data.models.index(m) for m in train_models]
    common = {"k": k, "prior": settings.prior, "knn_k": settings.knn_k, "seed": settings.seed, "hierarchical": settings.hierarchical,
              "n_clusterings": settings.n_clusterings}
    km = UniRouteKMeans(**common).fit(profiles, centroids=centroids)
    psi = km._unit_quality()[:, tcols]  # the training LLMs' feature vectors, exactly as served
    wanted = set(variants) if variants is not None else None
    cmap = None
    if wanted is None or UniRouteLearnedMap.name in wanted:
        cmap = train_cluster_map(emb, data.scores[:, tcols], psi, centroids, blocks=settings.n_clusterings, **settings.map_kwargs())
    out: dict[str, PoolRouter] = {}
    for cls in (UniRouteKMeans, UniRouteLearnedMap, KNNRouter, ZeroRouter):
        if wanted is not None and cls.name not in wanted:
            continue
        r = cls(**common)
        r.fit(profiles, centroids=centroids, cluster_map=cmap, parents=km.parents)
        r.info = {"train_models": train_models, "settings": settings.as_dict()}
        out[cls.name] = r
    return out


def routerbench_answers(split: str = "train", data_dir: str | Path | None = None) -> dict[str, str]:
    """Gold letters of RouterBench ARC prompts (sample_id -> "A".."D"), read off the graded-correct responses."""
    folder = Path(data_dir or default_data_dir()) / "routerbench"
    out: dict[str, str] = {}
    path = folder / f"arc_challenge_{split}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        models = [c for c in (reader.fieldnames or []) if c + "|model_response" in (reader.fieldnames or [])]
        for rec in reader:
            votes: Counter[str] = Counter()
            for m in models:
                if (rec.get(m) or "").strip() in ("1.0", "1"):
                    raw = rec.get(m + "|model_response") or ""
                    try:
                        val = ast.literal_eval(raw)
                        text = str(val[0] if isinstance(val, (list, tuple)) and val else val)
                    except (ValueError, SyntaxError):
                        text = raw
                    letter = text.strip()[:1].upper()
                    if letter in "ABCDE" and letter:
                        votes[letter] += 1
            if votes:
                out[rec["sample_id"]] = votes.most_common(1)[0][0]
    return out


# ---- cross-validated tuning on the training split -------------------------------------------------
@dataclass
class CVResult:
    """Mean CV score of each settings candidate (higher is better)."""

    scores: list[tuple[dict[str, Any], dict[str, float]]] = field(default_factory=list)

    def best(self, variant: str) -> dict[str, Any]:
        return max(self.scores, key=lambda s: s[1][variant])[0]


def cross_validate(data: GradedSet, embeddings: np.ndarray, grid: dict[str, Sequence[Any]], *, score_fn: Callable[..., dict[str, float]],
                   n_folds: int = 5, held_out_sets: Sequence[Sequence[str]] = (), base: PoolSettings | None = None,
                   costs: np.ndarray | None = None, variants: Sequence[str] | None = None) -> CVResult:
    """Grid search with prompt folds (stable hash) x model hold-out sets, all inside ``data`` (the training split).

    ``score_fn(routers, test_data, test_emb, held_out, costs)`` returns {variant: score} for one split.
    """
    base = base or PoolSettings()
    folds = data.folds(n_folds)
    result = CVResult()
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        s = PoolSettings(**{**base.as_dict(), **dict(zip(keys, values))})
        acc: dict[str, list[float]] = {}
        for f in range(n_folds):
            tr, te = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
            dtr, dte = data.subset(tr), data.subset(te)
            for held in held_out_sets or [()]:
                train_models = [m for m in data.models if m not in held]
                routers = fit_pool(dtr, embeddings[tr], s, train_models=train_models, costs=costs, variants=variants)
                for name, v in score_fn(routers, dte, embeddings[te], list(held), costs).items():
                    acc.setdefault(name, []).append(v)
        result.scores.append((dict(zip(keys, values)), {n: float(np.mean(v)) for n, v in acc.items()}))
    return result
