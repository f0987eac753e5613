"""``sw_ranking``: similarity-weighted Bradley–Terry ranking (RouteLLM's SW ranking router).

For a query, the ``k`` most similar training prompts (cosine over embeddings) vote with
weight exp((sim - max_sim) / temperature); their graded answers become soft pairwise
comparisons among all models, and a Bradley–Terry fit over those (a few batched Newton
steps, L2-pulled towards the global ratings) gives P(strong beats weak) = sigmoid(r_s - r_w).
Cost per query: one (n_train × dim) product and an (n_models × n_models) solve; no refit
from scratch over the whole data.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from routellm_plugins.checkpoint import require
from routellm_plugins.data.graded import ROUTELLM_STRONG, ROUTELLM_WEAK, GradedSet, canonical_model, concat
from routellm_plugins.embedding import check_embedder_spec, get_embedder
from routellm_plugins.errors import ConfigError, NotFittedError, UnknownModelError
from routellm_plugins.routers.base import Router


def _soft_comparisons(y: np.ndarray, g: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted soft wins A[q, a, b] and comparison counts C[q, a, b] from graded rows.

    ``y``: (q, k, m) scores, ``g``: (q, k, m) graded mask, ``w``: (q, k) weights.
    """
    pair = g[:, :, :, None] * g[:, :, None, :]
    wins = pair * (0.5 + (y[:, :, :, None] - y[:, :, None, :]) / 2)
    return np.einsum("qk,qkab->qab", w, wins), np.einsum("qk,qkab->qab", w, pair)


def _bradley_terry(wins: np.ndarray, counts: np.ndarray, prior: np.ndarray, reg: float, steps: int = 8) -> np.ndarray:
    """Batched Newton fit of ratings r (q, m) maximising soft-win log-likelihood - reg * |r - prior|^2."""
    q, m = wins.shape[0], wins.shape[1]
    r = np.broadcast_to(prior, (q, m)).copy()
    eye = np.eye(m)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(r[:, :, None] - r[:, None, :])))  # P(a beats b)
        grad = (wins - counts * p).sum(2) - 2 * reg * (r - prior)
        hw = counts * p * (1 - p)
        hess = hw - hw.sum(2)[:, :, None] * eye - 2 * reg * eye
        r = r - np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
    return r


class SWRankingRouter(Router):
    """Similarity-weighted Bradley–Terry over the graded answers of nearby training prompts."""

    name = "sw_ranking"

    def __init__(
        self,
        *,
        strong_model: str = ROUTELLM_STRONG,
        weak_model: str = ROUTELLM_WEAK,
        model_aliases: dict[str, str] | None = None,
        k: int = 256,
        temperature: float = 0.1,
        reg: float = 0.3,
        max_train: int = 12000,
        seed: int = 0,
        embedder: Any = None,
        threshold: float | None = None,
    ) -> None:
        super().__init__(threshold=threshold)
        if k < 1 or temperature <= 0 or reg <= 0 or max_train < 1:
            raise ConfigError(f"sw_ranking needs k >= 1, temperature > 0, reg > 0, max_train >= 1; got {k}, {temperature}, {reg}, {max_train}")
        self.strong_model, self.weak_model = strong_model, weak_model
        self.model_aliases = dict(model_aliases or {})
        self.k, self.temperature, self.reg, self.max_train, self.seed = k, temperature, reg, max_train, seed
        check_embedder_spec(embedder)  # a bad embedder fails here, not on every request
        self.embedder_spec = embedder
        self.models_: list[str] | None = None
        self.emb_: np.ndarray | None = None
        self._emb32: np.ndarray | None = None
        self.scores_: np.ndarray | None = None
        self.prior_: np.ndarray | None = None

    def resolve_model(self, name: str) -> int:
        """Index of ``name`` (via aliases) among the models in the training comparisons."""
        if self.models_ is None:
            raise NotFittedError("sw_ranking router is not fitted: fit() or load() it first")
        target = canonical_model(self.model_aliases.get(name, name))
        if target not in self.models_:
            raise UnknownModelError(f"model {name!r} is unknown to this sw_ranking router; known models: {', '.join(self.models_)}")
        return self.models_.index(target)

    def fit(self, sets: Sequence[GradedSet], embeddings: Sequence[np.ndarray] | None = None) -> "SWRankingRouter":
        """Keep (a seeded sample of at most ``max_train``) graded training prompts and the global ratings."""
        data = concat(list(sets))
        emb = np.concatenate(list(embeddings)) if embeddings is not None else get_embedder(self.embedder_spec)(data.prompts)
        keep = np.arange(len(data))
        if len(keep) > self.max_train:
            keep = np.sort(np.random.default_rng(self.seed).choice(len(data), self.max_train, replace=False))
        self.models_ = list(data.models)
        self.emb_ = emb[keep].astype(np.float16)
        self._emb32 = None
        self.scores_ = data.scores[keep].astype(np.float32)
        g = ~np.isnan(data.scores)
        y = np.nan_to_num(data.scores)
        wins, counts = _soft_comparisons(y[None], g[None].astype(float), np.ones((1, len(data))))
        self.prior_ = _bradley_terry(wins, counts, np.zeros(len(self.models_)), reg=1e-3, steps=20)[0]
        self.resolve_model(self.strong_model)
        self.resolve_model(self.weak_model)
        return self

    def ratings_from_embeddings(self, q: np.ndarray) -> np.ndarray:
        """Bradley–Terry ratings of every model for each query embedding, shape (n, n_models)."""
        if self.emb_ is None or self.scores_ is None or self.prior_ is None:
            raise NotFittedError("sw_ranking router is not fitted")
        if self._emb32 is None:
            self._emb32 = self.emb_.astype(np.float32)  # converted once, not per query
        sims = q.astype(np.float32) @ self._emb32.T
        k = min(self.k, sims.shape[1])
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(sims, idx, axis=1)
        w = np.exp((top - top.max(1, keepdims=True)) / self.temperature)
        y = self.scores_[idx]
        g = ~np.isnan(y)
        wins, counts = _soft_comparisons(np.nan_to_num(y), g.astype(np.float64), w)
        return _bradley_terry(wins, counts, self.prior_, self.reg)

    def pair_probability_from_embeddings(self, q: np.ndarray) -> np.ndarray:
        """P(strong beats weak) for query embeddings."""
        r = self.ratings_from_embeddings(q)
        a, b = self.resolve_model(self.strong_model), self.resolve_model(self.weak_model)
        return 1.0 / (1.0 + np.exp(-(r[:, a] - r[:, b])))

    def _score(self, prompts: list[str]) -> np.ndarray:
        return self.pair_probability_from_embeddings(get_embedder(self.embedder_spec)(prompts))

    _HPARAMS = ("strong_model", "weak_model", "model_aliases", "k", "temperature", "reg", "max_train", "seed")

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if self.emb_ is None or self.scores_ is None or self.prior_ is None or self.models_ is None:
            raise NotFittedError("cannot save an unfitted sw_ranking router")
        config = {k: getattr(self, k) for k in self._HPARAMS}
        config["models"] = self.models_
        if isinstance(self.embedder_spec, str):
            config["embedder"] = self.embedder_spec
        graded = ~np.isnan(self.scores_)
        return config, {"train_embeddings": self.emb_, "train_scores": np.nan_to_num(self.scores_), "train_graded": graded.astype(np.uint8),
                        "prior": self.prior_.astype(np.float32)}

    @classmethod
    def _from_state(cls, config: dict[str, Any], tensors: dict[str, np.ndarray], **overrides: Any) -> "SWRankingRouter":
        config = dict(config)
        models = config.pop("models")
        router = cls(**{**config, **overrides})
        require(tensors, ["train_embeddings", "train_scores", "train_graded", "prior"], "sw_ranking checkpoint")
        router.models_ = list(models)
        router.emb_ = tensors["train_embeddings"]
        router.scores_ = np.where(tensors["train_graded"].astype(bool), tensors["train_scores"], np.nan).astype(np.float32)
        router.prior_ = tensors["prior"].astype(np.float64)
        if router.scores_.shape != (router.emb_.shape[0], len(models)):
            raise ConfigError(f"sw_ranking checkpoint: scores {router.scores_.shape} do not fit {router.emb_.shape[0]} prompts × {len(models)} models")
        router.resolve_model(router.strong_model)
        router.resolve_model(router.weak_model)
        return router
