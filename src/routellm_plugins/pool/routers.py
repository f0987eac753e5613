"""Pool routers: UniRoute (K-means clusters, learned cluster map), K-NN and ZeroRouter.

All four predict a quality matrix (prompts x pool models) as ``weights(prompt) @ unit_quality``
and decide with :func:`routellm_plugins.decision.choose` (argmax quality - lam * cost):

- ``uniroute_kmeans``: weights = one-hot nearest centroid; unit_quality = per-cluster quality.
- ``uniroute_map``: weights = learned soft cluster map; same per-cluster quality.

  Both may use an ensemble of ``n_clusterings`` K-means runs (different seeds): the units are then
  every clustering's clusters and the weights average the clusterings (each row still sums to 1).
- ``pool_knn``: weights = the k nearest representative prompts; unit_quality = their scores.
- ``pool_zero``: prompt-independent mean quality; a target cost or quality floor between two
  points of the cost-quality hull is met by a random mix of those two models.

Each is also a two-model :class:`~routellm_plugins.routers.base.Router`: ``score`` is the
predicted quality gain of ``strong_model`` over ``weak_model``, clipped to [0, 1], so
"strong iff score >= t" is the pool rule on that pair with lam * (cost gap) = t.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from routellm_plugins.checkpoint import load_checkpoint, require, save_checkpoint
from routellm_plugins.decision import Candidate, Decision, choose
from routellm_plugins.errors import CheckpointError, ConfigError, InvalidThresholdError, NotFittedError, ScoringError
from routellm_plugins.pool.clustering import assign_ensemble, blocks, kmeans_ensemble, parent_groups
from routellm_plugins.pool.cluster_map import ClusterMap
from routellm_plugins.pool.profiles import LLMProfiles, check_prior, read_prompts_jsonl, write_prompts_jsonl
from routellm_plugins.pool.spec import PoolSpec, resolve_pool
from routellm_plugins.routers.base import CALIBRATION_TENSOR, Router
from routellm_plugins.validation import check_non_negative, clean_prompt, clean_prompts

POOL_KIND = "uniroute_pool"
PROMPTS_FILE = "prompts.jsonl.gz"
#: Variant name -> class name in this module (filled below).
VARIANTS: dict[str, type["PoolRouter"]] = {}


@dataclass(frozen=True)
class PoolPolicy:
    """A pool with its operating point: ``lam``, plus a random two-model ``mix`` (ZeroRouter only)."""

    spec: PoolSpec
    cols: tuple[int, ...]
    lam: float
    mix: tuple[int, int, float] | None = None
    target: str = ""

    @property
    def keys(self) -> tuple[str, ...]:
        return self.spec.keys


def check_lambda(lam: Any) -> float:
    """lam >= 0 and finite, else InvalidThresholdError naming it."""
    try:
        return check_non_negative(lam, "lam")
    except InvalidThresholdError:
        raise InvalidThresholdError(f"lam (cost weight) must be a finite number >= 0, got {lam!r}") from None


def lambda_grid(costs: np.ndarray, n: int = 200) -> np.ndarray:
    """A lam sweep from 0 to 'always the cheapest model', geometric in between."""
    costs = np.asarray(costs, dtype=np.float64)
    gaps = np.diff(np.unique(costs))
    if gaps.size == 0 or costs.max() <= 0:
        return np.array([0.0])
    lo, hi = 1e-3 / costs.max(), 2.0 / gaps.min()
    return np.concatenate([[0.0], np.geomspace(lo, hi, n)])


class PoolRouter(Router):
    """Base of the pool routers: profiles, centroids and (optionally) the learned map of one pool."""

    name: ClassVar[str] = "uniroute"
    needs: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        k: int = 16,
        prior: float | str = 1.0,
        knn_k: int = 10,
        seed: int = 0,
        hierarchical: bool = True,
        n_clusterings: int = 1,
        embedder: Any = None,
        strong_model: str | None = None,
        weak_model: str | None = None,
        threshold: float | None = None,
    ) -> None:
        super().__init__(threshold=threshold)
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ConfigError(f"k (number of clusters) must be an integer >= 1, got {k!r}")
        if not isinstance(knn_k, (int, np.integer)) or knn_k < 1:
            raise ConfigError(f"knn_k must be an integer >= 1, got {knn_k!r}")
        if not isinstance(n_clusterings, (int, np.integer)) or isinstance(n_clusterings, bool) or n_clusterings < 1:
            raise ConfigError(f"n_clusterings must be an integer >= 1, got {n_clusterings!r}")
        self.k = int(k)
        self.n_clusterings = int(n_clusterings)
        self.prior = check_prior(prior)
        self.knn_k = int(knn_k)
        self.seed = int(seed)
        self.hierarchical = bool(hierarchical)
        self.embedder_spec = embedder
        self.strong_model = strong_model
        self.weak_model = weak_model
        self.profiles: LLMProfiles | None = None
        self.centroids: np.ndarray | None = None
        self.cluster_map: ClusterMap | None = None
        self.info: dict[str, Any] = {}
        self._rep_labels: np.ndarray | None = None
        self.parents: np.ndarray | None = None
        self._unit_cache: tuple[int, np.ndarray] | None = None
        self._embedder = None
        self._lock = threading.Lock()
        self._rng = np.random.default_rng(seed)

    # ---- state -----------------------------------------------------------------------
    def fit(self, profiles: LLMProfiles, *, centroids: np.ndarray | None = None, cluster_map: ClusterMap | None = None,
            train_embeddings: np.ndarray | None = None, parents: np.ndarray | None = None) -> "PoolRouter":
        """Attach a pool: profiles, and centroids (given, or K-means on ``train_embeddings`` or the representative prompts).

        ``centroids`` of an ensemble are its ``n_clusterings`` clusterings stacked. ``parents`` groups
        each clustering's clusters for hierarchical shrinkage (default: K-means on its centroids).
        """
        self.profiles = profiles
        if centroids is None and "centroids" in self.needs:
            x = profiles.embeddings if train_embeddings is None else train_embeddings
            centroids = kmeans_ensemble(x, min(self.k, len(x)), self.n_clusterings, seed=self.seed)
        self.centroids = None if centroids is None else np.asarray(centroids, dtype=np.float32)
        if self.centroids is not None:
            parts = blocks(self.centroids, self.n_clusterings)
            self.k = int(parts[0].shape[0])
        self.cluster_map = cluster_map
        self._rep_labels = None if self.centroids is None else assign_ensemble(profiles.embeddings, self.centroids, self.n_clusterings)
        if self.centroids is None or not self.hierarchical:
            self.parents = None
        elif parents is not None:
            self.parents = np.asarray(parents, dtype=int).reshape(-1)
            if self.parents.shape != (len(self.centroids),):
                raise CheckpointError(f"cluster parents have shape {self.parents.shape}, expected ({len(self.centroids)},)")
        else:
            self.parents = np.concatenate([parent_groups(c, self.seed) for c in blocks(self.centroids, self.n_clusterings)])
        self._unit_cache = None
        self._check_ready()
        return self

    def _check_ready(self) -> None:
        if self.profiles is None:
            raise NotFittedError(f"router {self.name!r} has no pool: call fit(profiles) or load a pool checkpoint")
        if "centroids" in self.needs and self.centroids is None:
            raise NotFittedError(f"router {self.name!r} needs cluster centroids; the pool has none")
        if "map" in self.needs and self.cluster_map is None:
            raise NotFittedError(f"router {self.name!r} needs a learned cluster map; the pool has none (train one with `routellm-plugins train-pool`)")

    @property
    def models(self) -> list[str]:
        """Names of the profiled models."""
        self._check_ready()
        assert self.profiles is not None
        return list(self.profiles.models)

    def add_model(self, name: str, scores: Mapping[str, Any] | np.ndarray, cost: float | None = None, **kw: Any) -> None:
        """Add a model from its graded answers on the representative prompts (no retraining)."""
        self._check_ready()
        assert self.profiles is not None
        self.profiles.add_model(name, scores, cost, **kw)
        self._unit_cache = None

    def remove_model(self, name: str) -> None:
        """Forget a model's profile."""
        self._check_ready()
        assert self.profiles is not None
        self.profiles.remove_model(name)
        self._unit_cache = None

    # ---- prediction ------------------------------------------------------------------
    def _get_embedder(self):
        if self._embedder is None:
            from routellm_plugins.embedding import get_embedder

            self._embedder = get_embedder(self.embedder_spec)
        return self._embedder

    def embed(self, prompts: Sequence[str]) -> np.ndarray:
        """Prompt embeddings with the pool's embedder; checks they match the pool's dimension."""
        self._check_ready()
        assert self.profiles is not None
        emb = np.asarray(self._get_embedder()(list(prompts)), dtype=np.float32)
        if emb.ndim != 2 or emb.shape[1] != self.profiles.embeddings.shape[1]:
            raise ScoringError(
                f"embedder gives {emb.shape[-1]}-dim vectors but pool {self.name!r} was built with "
                f"{self.profiles.embeddings.shape[1]}-dim embeddings; use the embedder the pool was built with"
            )
        return emb

    def _weights(self, emb: np.ndarray) -> np.ndarray:
        """(n, units) weights over the units of :meth:`_unit_quality`."""
        raise NotImplementedError

    def _unit_quality(self) -> np.ndarray:
        """(units, all profiled models) quality per unit: every cluster of every clustering."""
        assert self.profiles is not None and self._rep_labels is not None
        key = id(self.profiles.scores)
        if self._unit_cache is None or self._unit_cache[0] != key:
            parts = []
            for b, labels in enumerate(self._rep_labels):
                par = None if self.parents is None else self.parents[b * self.k : (b + 1) * self.k]
                parts.append(self.profiles.cluster_quality(labels, self.k, self.prior, par))
            self._unit_cache = (key, np.concatenate(parts))
        return self._unit_cache[1]

    def predict_embedded(self, emb: np.ndarray, models: Sequence[str] | None = None) -> np.ndarray:
        """Predicted quality (n, m) of ``models`` (default: all profiled) for embedded prompts."""
        self._check_ready()
        assert self.profiles is not None
        cols = [self.profiles.column(m) for m in (self.profiles.models if models is None else models)]
        q = self._weights(np.asarray(emb, dtype=np.float32)) @ self._unit_quality()[:, cols]
        return np.clip(q, 0.0, 1.0)

    def predict(self, prompts: Sequence[str], models: Sequence[str] | None = None) -> np.ndarray:
        """Predicted quality (n, m) of ``models`` for ``prompts``."""
        texts = clean_prompts(prompts)
        return self.predict_embedded(self.embed(texts), models)

    # ---- the two-model contract --------------------------------------------------------
    def pair(self) -> tuple[str, str]:
        """(strong, weak) for :meth:`score`: the configured pair, else best-quality vs cheapest profiled model."""
        self._check_ready()
        assert self.profiles is not None
        p = self.profiles
        strong = self.strong_model or p.models[int(np.argmax(p.mean_quality()))]
        if self.weak_model:
            weak = self.weak_model
        else:
            costs = np.where(np.isnan(p.costs), np.inf, p.costs)
            order = np.argsort(costs, kind="stable") if np.isfinite(costs).any() else np.argsort(p.mean_quality(), kind="stable")
            weak = next(p.models[j] for j in order if p.models[j] != strong)
        p.column(strong), p.column(weak)
        return strong, weak

    def _score(self, prompts: list[str]) -> np.ndarray:
        q = self.predict(prompts, list(self.pair()))
        return np.clip(q[:, 0] - q[:, 1], 0.0, 1.0)

    def calibrate_representative(self, strong_share: float) -> float:
        """Set the two-model threshold that sends ``strong_share`` of the representative prompts to the strong model (no re-embedding)."""
        from routellm_plugins.thresholds import threshold_for_share

        self._check_ready()
        assert self.profiles is not None
        q = self.predict_embedded(self.profiles.embeddings, list(self.pair()))
        scores = np.clip(q[:, 0] - q[:, 1], 0.0, 1.0)
        self.threshold = threshold_for_share(scores, strong_share)
        self.calibration_scores = scores
        self.calibration = {"strong_share": float(strong_share), "n_prompts": int(len(scores)), "prompts": "representative"}
        return self.threshold

    # ---- pool decisions ----------------------------------------------------------------
    def resolve(self, pool: Mapping[str, Any] | Sequence[str] | None = None, aliases: Mapping[str, str] | None = None) -> PoolSpec:
        """Validate ``pool`` against the profiles, resolving names (see :func:`~routellm_plugins.pool.spec.resolve_pool`)."""
        self._check_ready()
        assert self.profiles is not None
        return resolve_pool(pool, self.profiles, aliases)

    def _sweep(self, q: np.ndarray, costs: np.ndarray, lam: float) -> tuple[float, float]:
        idx = choose(q, costs, lam)
        return float(costs[idx].mean()), float(q[np.arange(len(q)), idx].mean())

    def policy(self, pool: Mapping[str, Any] | Sequence[str] | PoolSpec | None = None, *, lam: float | None = None,
               target_cost: float | None = None, quality_floor: float | None = None,
               aliases: Mapping[str, str] | None = None) -> PoolPolicy:
        """Fix the operating point: ``lam``, or the least lam whose predicted average cost on the representative
        prompts is <= ``target_cost``, or the largest lam whose predicted average quality there is >= ``quality_floor``.
        ``aliases`` maps pool names to profiled names (see :func:`~routellm_plugins.pool.names.profiled_name`)."""
        spec = pool if isinstance(pool, PoolSpec) else self.resolve(pool, aliases)
        assert self.profiles is not None
        cols = tuple(self.profiles.column(p) for p in spec.profiles)
        given = [n for n, v in (("lam", lam), ("target_cost", target_cost), ("quality_floor", quality_floor)) if v is not None]
        if len(given) != 1:
            raise ConfigError(f"give exactly one of lam=, target_cost=, quality_floor= (got {given or 'none'})")
        if lam is not None:
            return PoolPolicy(spec, cols, check_lambda(lam), target=f"lam={float(lam):g}")
        q = self.predict_embedded(self.profiles.embeddings, list(spec.profiles))
        if target_cost is not None:
            target = check_non_negative(target_cost, "target_cost")
            floor_cost = float(spec.costs.min())
            if target < floor_cost:
                raise ConfigError(f"target_cost {target!r} is below the cheapest pool model's cost {floor_cost!r}")
            return self._calibrated(spec, cols, q, lambda c, _q: c <= target * (1 + 1e-9), prefer_small=True, label=f"target_cost={target:g}")
        try:
            floor = float(quality_floor)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidThresholdError(f"quality_floor must be a number in [0, 1], got {quality_floor!r}") from None
        if isinstance(quality_floor, bool) or not math.isfinite(floor) or not 0.0 <= floor <= 1.0:
            raise InvalidThresholdError(f"quality_floor must be in [0, 1], got {quality_floor!r}")
        best = self._sweep(q, spec.costs, 0.0)[1]
        if floor > best + 1e-12:
            raise ConfigError(f"quality_floor {floor!r} exceeds the best predicted average quality of this pool ({best:.4f})")
        return self._calibrated(spec, cols, q, lambda _c, qq: qq >= floor - 1e-12, prefer_small=False, label=f"quality_floor={floor:g}")

    def _calibrated(self, spec: PoolSpec, cols: tuple[int, ...], q: np.ndarray, ok, *, prefer_small: bool, label: str) -> PoolPolicy:
        """Bisection on lam (avg cost falls and avg quality falls as lam grows)."""
        grid = lambda_grid(spec.costs)
        flags = [ok(*self._sweep(q, spec.costs, lam)) for lam in grid]
        if prefer_small:  # least lam that is ok; ok is monotone (False ... True)
            hits = [i for i, f in enumerate(flags) if f]
            i = hits[0] if hits else len(grid) - 1
            lo, hi = (grid[i - 1] if i > 0 else None), grid[i]
            if lo is not None:
                for _ in range(50):
                    mid = 0.5 * (lo + hi)
                    lo, hi = (lo, mid) if ok(*self._sweep(q, spec.costs, mid)) else (mid, hi)
            return PoolPolicy(spec, cols, float(hi), target=label)
        hits = [i for i, f in enumerate(flags) if f]  # largest lam that is ok; ok is monotone (True ... False)
        i = hits[-1] if hits else 0
        lo, hi = grid[i], (grid[i + 1] if i + 1 < len(grid) else None)
        if hi is not None:
            for _ in range(50):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if ok(*self._sweep(q, spec.costs, mid)) else (lo, mid)
        return PoolPolicy(spec, cols, float(lo), target=label)

    def choose_embedded(self, emb: np.ndarray, policy: PoolPolicy) -> tuple[np.ndarray, np.ndarray]:
        """(chosen index into the pool per prompt, predicted quality matrix) for embedded prompts."""
        q = self.predict_embedded(emb, list(policy.spec.profiles))
        idx = choose(q, policy.spec.costs, policy.lam)
        if policy.mix is not None:
            lo, hi, p = policy.mix
            with self._lock:
                draw = self._rng.random(len(idx))
            idx = np.where(draw < p, hi, lo)
        return idx, q

    def route_pool(self, prompt: str, pool: PoolPolicy | Mapping[str, Any] | Sequence[str] | None = None, *,
                   lam: float | None = None, target_cost: float | None = None, quality_floor: float | None = None) -> Decision:
        """Pick a pool model for one prompt; the decision lists every candidate's predicted quality and cost."""
        policy = pool if isinstance(pool, PoolPolicy) else self.policy(pool, lam=lam, target_cost=target_cost, quality_floor=quality_floor)
        start = time.perf_counter()
        text = clean_prompt(prompt)
        idx, q = self.choose_embedded(self.embed([text]), policy)
        j = int(idx[0])
        cands = tuple(Candidate(k, float(q[0, i]), float(c)) for i, (k, c) in enumerate(zip(policy.spec.keys, policy.spec.costs)))
        return Decision(policy.spec.keys[j], float(q[0, j]), policy.lam, self.name, time.perf_counter() - start,
                        reason=policy.target or None, candidates=cands)

    # ---- persistence -------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self._check_ready()
        p = self.profiles
        assert p is not None
        costs = [None if math.isnan(c) else float(c) for c in p.costs]
        cfg = {
            "variant": self.name, "k": self.k, "prior": self.prior, "knn_k": self.knn_k, "seed": self.seed, "hierarchical": self.hierarchical,
            "n_clusterings": self.n_clusterings,
            "embedder": self.embedder_spec if isinstance(self.embedder_spec, str) or self.embedder_spec is None else str(getattr(self.embedder_spec, "name", "custom")),
            "strong_model": self.strong_model, "weak_model": self.weak_model,
            "models": list(p.models), "costs": costs, "cost_unit": p.cost_unit, "n_prompts": len(p), "info": self.info,
        }
        graded = ~np.isnan(p.scores)
        tensors = {
            "rep_embeddings": p.embeddings.astype(np.float16),
            "rep_scores": np.where(graded, p.scores, 0.0).astype(np.float16),
            "rep_graded": graded.astype(np.uint8),
        }
        if self.centroids is not None:
            tensors["centroids"] = self.centroids.astype(np.float32)
        if self.parents is not None:
            tensors["cluster_parents"] = self.parents.astype(np.int32)
        if self.cluster_map is not None:
            tensors.update(self.cluster_map.tensors())
        return cfg, tensors

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the pool (profiles, prompts, centroids, map) as router.json + weights.safetensors + prompts.jsonl."""
        cfg, tensors = self._state()
        cfg = {**cfg, "threshold": self.threshold, "calibration": self.calibration}
        if self.calibration_scores is not None:
            tensors[CALIBRATION_TENSOR] = self.calibration_scores.astype(np.float32)
        out = save_checkpoint(path, POOL_KIND, cfg, tensors)
        assert self.profiles is not None
        write_prompts_jsonl(self.profiles, out / PROMPTS_FILE)
        return out

    @classmethod
    def load(cls, path: str | os.PathLike[str], **overrides: Any) -> "PoolRouter":
        """Read a pool checkpoint as this variant (``uniroute`` itself: the variant saved as default)."""
        cfg, tensors = load_checkpoint(path, kind=POOL_KIND)
        target = VARIANTS.get(cfg.get("variant", "")) if cls is PoolRouter else cls
        if target is None:
            raise CheckpointError(f"pool checkpoint {str(path)!r} names unknown variant {cfg.get('variant')!r}; known: {sorted(VARIANTS)}")
        try:
            require(tensors, ["rep_embeddings", "rep_scores", "rep_graded"], path)
            records = read_prompts_jsonl(Path(path) / PROMPTS_FILE)
            models = list(cfg["models"])
            scores = np.where(tensors["rep_graded"].astype(bool), tensors["rep_scores"].astype(np.float64), np.nan)
            costs = np.array([np.nan if c is None else float(c) for c in cfg["costs"]], dtype=np.float64)
            profiles = LLMProfiles(
                [str(r["id"]) for r in records], [r["prompt"] for r in records], tensors["rep_embeddings"].astype(np.float32),
                models, scores, costs, [r.get("group", "") for r in records], [r.get("answer") for r in records], cfg.get("cost_unit", "USD/request"),
                [r.get("grading") for r in records], [r.get("reference") for r in records],
            )
            settings = {k: cfg[k] for k in ("k", "prior", "knn_k", "seed", "hierarchical", "n_clusterings", "embedder", "strong_model",
                                            "weak_model", "threshold") if k in cfg}
            router = target(**{**settings, **overrides})
            router.fit(profiles, centroids=tensors.get("centroids"), cluster_map=ClusterMap.from_tensors(tensors),
                       parents=tensors.get("cluster_parents"))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, (CheckpointError, NotFittedError)) or type(exc).__module__.startswith("routellm_plugins"):
                raise
            raise CheckpointError(f"pool checkpoint {str(path)!r} is incomplete or inconsistent: {exc}") from exc
        except NotFittedError as exc:
            raise CheckpointError(f"pool checkpoint {str(path)!r} cannot serve variant {target.name!r}: {exc}") from exc
        router.info = dict(cfg.get("info") or {})
        router.calibration = cfg.get("calibration") or {}
        cal = tensors.get(CALIBRATION_TENSOR)
        router.calibration_scores = None if cal is None else cal.astype(np.float64)
        router.checkpoint_path = Path(path)
        return router

    def as_variant(self, variant: str) -> "PoolRouter":
        """The same pool (shared profiles, centroids, map) served by another variant."""
        if variant not in VARIANTS:
            raise ConfigError(f"unknown pool router variant {variant!r}; known: {sorted(VARIANTS)}")
        other = VARIANTS[variant](k=self.k, prior=self.prior, knn_k=self.knn_k, seed=self.seed, hierarchical=self.hierarchical,
                                  n_clusterings=self.n_clusterings, embedder=self.embedder_spec, strong_model=self.strong_model, weak_model=self.weak_model,
                                  threshold=self.threshold)
        assert self.profiles is not None
        other.fit(self.profiles, centroids=self.centroids, cluster_map=self.cluster_map, parents=self.parents)
        other._embedder = self._embedder
        other.info = dict(self.info)
        return other

    def __repr__(self) -> str:
        n = len(self.profiles.models) if self.profiles is not None else 0
        return f"{type(self).__name__}(models={n}, k={self.k}, threshold={self.threshold!r})"


class UniRouteKMeans(PoolRouter):
    """UniRoute with K-means clusters: nearest centroid, then argmax per-cluster quality - lam * cost."""

    name = "uniroute_kmeans"
    needs = ("centroids",)

    def _weights(self, emb: np.ndarray) -> np.ndarray:
        assert self.centroids is not None
        labels = assign_ensemble(emb, self.centroids, self.n_clusterings)
        w = np.zeros((len(emb), len(self.centroids)))
        rows = np.arange(len(emb))
        for b, lab in enumerate(labels):
            w[rows, b * self.k + lab] = 1.0 / self.n_clusterings
        return w


class UniRouteLearnedMap(PoolRouter):
    """UniRoute with a learned soft cluster map over the same clusters and LLM vectors."""

    name = "uniroute_map"
    needs = ("centroids", "map")

    def _weights(self, emb: np.ndarray) -> np.ndarray:
        assert self.cluster_map is not None
        if self.cluster_map.k != self.k or self.cluster_map.blocks != self.n_clusterings:
            raise CheckpointError(f"learned map has {self.cluster_map.blocks} x {self.cluster_map.k} clusters "
                                  f"but the pool has {self.n_clusterings} x {self.k}")
        return self.cluster_map.weights(emb)


class KNNRouter(PoolRouter):
    """K-NN baseline: each model's mean score on the ``knn_k`` nearest representative prompts (cosine)."""

    name = "pool_knn"
    needs = ()

    def neighbours(self, emb: np.ndarray, chunk: int = 1024) -> np.ndarray:
        """Indices (n, knn_k) of the nearest representative prompts."""
        assert self.profiles is not None
        rep = self.profiles.embeddings
        k = min(self.knn_k, len(rep))
        emb = np.asarray(emb, dtype=np.float32)
        out = np.empty((len(emb), k), dtype=np.int64)
        for start in range(0, len(emb), chunk):
            sims = emb[start : start + chunk] @ rep.T
            out[start : start + chunk] = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        return out

    def predict_embedded(self, emb: np.ndarray, models: Sequence[str] | None = None) -> np.ndarray:
        self._check_ready()
        assert self.profiles is not None
        p = self.profiles
        cols = [p.column(m) for m in (p.models if models is None else models)]
        s = p.scores[:, cols]
        graded = ~np.isnan(s)
        top = self.neighbours(emb)
        num = np.where(graded, s, 0.0)[top].sum(axis=1)
        den = graded[top].sum(axis=1)
        mean = p.mean_quality()[cols][None, :]
        return np.clip(np.where(den > 0, num / np.maximum(den, 1), mean), 0.0, 1.0)


class ZeroRouter(PoolRouter):
    """ZeroRouter: ignores the prompt; picks along the upper cost-quality hull, mixing two hull models at random."""

    name = "pool_zero"
    needs = ()

    def predict_embedded(self, emb: np.ndarray, models: Sequence[str] | None = None) -> np.ndarray:
        self._check_ready()
        assert self.profiles is not None
        cols = [self.profiles.column(m) for m in (self.profiles.models if models is None else models)]
        return np.repeat(self.profiles.mean_quality()[cols][None, :], len(emb), axis=0)

    def hull(self, spec: PoolSpec) -> list[int]:
        """Pool indices on the upper-left cost-quality hull, cheapest first."""
        assert self.profiles is not None
        q = self.profiles.mean_quality()[[self.profiles.column(p) for p in spec.profiles]]
        return upper_hull(spec.costs, q)

    def policy(self, pool=None, *, lam=None, target_cost=None, quality_floor=None, aliases=None) -> PoolPolicy:  # type: ignore[override]
        base = super().policy(pool, lam=lam, target_cost=target_cost, quality_floor=quality_floor, aliases=aliases)
        if lam is not None:
            return base
        spec = base.spec
        assert self.profiles is not None
        q = self.profiles.mean_quality()[list(base.cols)]
        h = self.hull(spec)
        axis, goal = (spec.costs, float(target_cost)) if target_cost is not None else (q, float(quality_floor))  # type: ignore[arg-type]
        for a, b in zip(h, h[1:]):
            if axis[a] <= goal <= axis[b] and axis[b] > axis[a]:
                p = (goal - axis[a]) / (axis[b] - axis[a])
                return PoolPolicy(spec, base.cols, base.lam, (a, b, float(p)), base.target)
        pick = h[-1] if goal >= axis[h[-1]] else h[0]
        return PoolPolicy(spec, base.cols, base.lam, (pick, pick, 1.0), base.target)


def upper_hull(costs: np.ndarray, quality: np.ndarray) -> list[int]:
    """Indices of the points on the upper convex hull of (cost, quality) from the cheapest to the best, cost ascending."""
    costs, quality = np.asarray(costs, float), np.asarray(quality, float)
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -quality[i]))
    pts: list[int] = []
    for i in order:
        if pts and quality[i] <= quality[pts[-1]]:
            continue  # dominated: costs no less, quality no better
        while len(pts) >= 2:
            a, b = pts[-2], pts[-1]
            cross = (costs[b] - costs[a]) * (quality[i] - quality[a]) - (quality[b] - quality[a]) * (costs[i] - costs[a])
            if cross >= 0:  # b lies on or under the segment a -> i
                pts.pop()
            else:
                break
        pts.append(i)
    return pts


for _cls in (UniRouteKMeans, UniRouteLearnedMap, KNNRouter, ZeroRouter):
    VARIANTS[_cls.name] = _cls


def load_pool(path: str | os.PathLike[str] | None = None, variant: str | None = None, **overrides: Any) -> PoolRouter:
    """Load a pool checkpoint (default: the bundled pool) as ``variant`` (default: the saved one)."""
    from routellm_plugins.registry import bundled_checkpoint

    folder = Path(path) if path is not None else bundled_checkpoint("uniroute")
    if variant is None:
        return PoolRouter.load(folder, **overrides)
    if variant not in VARIANTS:
        raise ConfigError(f"unknown pool router variant {variant!r}; known: {sorted(VARIANTS)}")
    return VARIANTS[variant].load(folder, **overrides)


def describe(router: PoolRouter) -> str:
    """A short JSON summary of a pool (models, costs, clusters) for the CLI."""
    assert router.profiles is not None
    p = router.profiles
    return json.dumps({
        "variant": router.name, "k": router.k, "representative_prompts": len(p),
        "models": {m: {"cost": None if math.isnan(c) else c, "mean_quality": round(float(q), 4)} for m, c, q in zip(p.models, p.costs, p.mean_quality())},
        "cost_unit": p.cost_unit,
    }, indent=2)
