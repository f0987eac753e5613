"""Shared input pipeline of learned routers: embedding + standardised text features."""

from __future__ import annotations

from typing import Any

import numpy as np

from routellm_plugins.embedding import Embedder, check_embedder_spec, get_embedder
from routellm_plugins.features import text_features


class PromptFeaturizer:
    """Maps prompts to the router input [embedding, standardised text features].

    The embedder spec is checked here (:func:`check_embedder_spec`), so a router with a bad one
    fails when it is built, not on every request; the model itself still loads on first use.
    """

    def __init__(self, embedder: Any = None, use_text_features: bool = True) -> None:
        check_embedder_spec(embedder)
        self.embedder_spec = embedder
        self.use_text_features = use_text_features
        self.feat_mean: np.ndarray | None = None
        self.feat_std: np.ndarray | None = None
        self._embedder: Embedder | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.embedder_spec)
        return self._embedder

    def fit_standardiser(self, prompts: list[str]) -> None:
        f = text_features(prompts)
        self.feat_mean = f.mean(0)
        self.feat_std = f.std(0) + 1e-6

    def combine(self, emb: np.ndarray, prompts: list[str], features: np.ndarray | None = None) -> np.ndarray:
        """Join precomputed embeddings with the text features of the same prompts (``features``: their
        :func:`text_features`, when the caller already has them)."""
        if not self.use_text_features:
            return emb.astype(np.float32, copy=False)
        assert self.feat_mean is not None and self.feat_std is not None, "fit_standardiser first"
        f = ((text_features(prompts) if features is None else features) - self.feat_mean) / self.feat_std
        return np.concatenate([emb.astype(np.float32, copy=False), f.astype(np.float32)], axis=1)

    def __call__(self, prompts: list[str]) -> np.ndarray:
        return self.combine(self.embedder(prompts), prompts)

    def tensors(self) -> dict[str, np.ndarray]:
        if not self.use_text_features:
            return {}
        assert self.feat_mean is not None and self.feat_std is not None
        return {"feat_mean": self.feat_mean, "feat_std": self.feat_std}

    def load_tensors(self, tensors: dict[str, np.ndarray]) -> None:
        if self.use_text_features:
            self.feat_mean = tensors["feat_mean"].astype(np.float32)
            self.feat_std = tensors["feat_std"].astype(np.float32)
