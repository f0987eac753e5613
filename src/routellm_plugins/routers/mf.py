"""``mf``: matrix factorisation of model quality over prompts (RouteLLM's MF router, extended).

Each model m has a learned vector v_m and bias c_m; a prompt x is projected to phi(x) by a
small network over [embedding, text features]. Model strength is s(m, x) = v_m . phi(x) + c_m
and P(a beats b | x) = sigmoid(s(a, x) - s(b, x)). Training uses every pair of models graded
on the same prompt, with soft Bradley–Terry targets 0.5 + (score_a - score_b) / 2 (a tie is
half a win), so the score is an affine map of the expected quality gain of the strong model.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from routellm_plugins.checkpoint import require
from routellm_plugins.data.graded import ROUTELLM_STRONG, ROUTELLM_WEAK, GradedSet, canonical_model
from routellm_plugins.errors import ConfigError, NotFittedError, UnknownModelError
from routellm_plugins.routers.base import Router
from routellm_plugins.routers.features_mixin import PromptFeaturizer


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x**3)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class MatrixFactorizationRouter(Router):
    """Scores P(strong beats weak) from learned model vectors × a projected prompt.

    ``strong_model``/``weak_model`` pick the pair to score among the trained models;
    ``model_aliases`` maps other names (e.g. "gpt-4o") to a known proxy model.
    """

    name = "mf"

    def __init__(
        self,
        *,
        strong_model: str = ROUTELLM_STRONG,
        weak_model: str = ROUTELLM_WEAK,
        model_aliases: Mapping[str, str] | None = None,
        dim: int = 32,
        hidden: int = 128,
        use_text_features: bool = True,
        epochs: int = 40,
        lr: float = 2e-3,
        weight_decay: float = 5e-2,
        dropout: float = 0.3,
        batch_size: int = 256,
        target_pair_weight: float = 1.0,
        patience: int = 6,
        seed: int = 0,
        embedder: Any = None,
        threshold: float | None = None,
    ) -> None:
        super().__init__(threshold=threshold)
        if dim < 1 or hidden < 0 or epochs < 1 or batch_size < 1 or lr <= 0:
            raise ConfigError(f"mf needs dim >= 1, hidden >= 0, epochs >= 1, batch_size >= 1, lr > 0; got {dim}, {hidden}, {epochs}, {batch_size}, {lr}")
        self.strong_model = strong_model
        self.weak_model = weak_model
        self.model_aliases = dict(model_aliases or {})
        self.dim, self.hidden, self.use_text_features = dim, hidden, use_text_features
        self.epochs, self.lr, self.weight_decay, self.dropout = epochs, lr, weight_decay, dropout
        self.batch_size, self.target_pair_weight, self.patience, self.seed = batch_size, target_pair_weight, patience, seed
        self.featurizer = PromptFeaturizer(embedder, use_text_features)
        self.models_: list[str] | None = None
        self.weights_: dict[str, np.ndarray] | None = None
        self.history_: list[dict[str, float]] = []

    # ---- model names ---------------------------------------------------------------
    def resolve_model(self, name: str) -> int:
        """Index of ``name`` (through aliases and canonical names) among the trained models."""
        if self.models_ is None:
            raise NotFittedError("mf router has no trained model vectors: fit() or load() it first")
        target = canonical_model(self.model_aliases.get(name, name))
        if target not in self.models_:
            raise UnknownModelError(
                f"model {name!r} is unknown to this mf router; known models: {', '.join(self.models_)}. "
                "Map it to a known proxy with model_aliases={" + repr(name) + ": '<known model>'}"
            )
        return self.models_.index(target)

    def with_pair(self, strong_model: str, weak_model: str, *, calibrate: bool = True) -> "MatrixFactorizationRouter":
        """A new router scoring another known (or aliased) pair; this one is left unchanged.

        With ``calibrate`` the copy gets its own calibration on the bundled sample (same strong share
        as this router's, default 50 %); without it, it has no default threshold and refuses
        ``strong_share`` until :meth:`calibrate` is called. Unknown names raise UnknownModelError.
        """
        import copy

        self.resolve_model(strong_model)
        self.resolve_model(weak_model)
        other = copy.copy(self)
        other.strong_model, other.weak_model = strong_model, weak_model
        other.threshold, other.calibration, other.calibration_scores = None, {}, None
        if calibrate:
            from routellm_plugins.demo import sample_prompts

            share = float(self.calibration.get("strong_share", 0.5)) if self.calibration else 0.5
            other.calibrate([r["prompt"] for r in sample_prompts()], share)
        return other

    # ---- scoring -------------------------------------------------------------------
    def _phi(self, x: np.ndarray) -> np.ndarray:
        w = self.weights_
        assert w is not None
        h = _gelu(x @ w["w1"].T + w["b1"]) if self.hidden else x
        return h @ w["w2"].T + w["b2"]

    def model_strengths_from_features(self, x: np.ndarray) -> np.ndarray:
        """s(m, x) for every trained model, shape (n, n_models)."""
        w = self.weights_
        if w is None:
            raise NotFittedError("mf router is not fitted")
        return self._phi(x) @ w["v"].T + w["c"]

    def model_strengths(self, prompts: Sequence[str]) -> np.ndarray:
        """Latent strength of every trained model on each prompt (higher = better)."""
        from routellm_plugins.validation import clean_prompts

        texts = clean_prompts(prompts)
        return self.model_strengths_from_features(self.featurizer(texts))

    def pair_probability(self, x: np.ndarray, strong_model: str, weak_model: str) -> np.ndarray:
        """P(strong beats weak) from router inputs ``x``."""
        a, b = self.resolve_model(strong_model), self.resolve_model(weak_model)
        s = self.model_strengths_from_features(x)
        return _sigmoid(s[:, a] - s[:, b])

    def _score(self, prompts: list[str]) -> np.ndarray:
        return self.pair_probability(self.featurizer(prompts), self.strong_model, self.weak_model)

    # ---- training ------------------------------------------------------------------
    def fit(
        self,
        sets: Sequence[GradedSet],
        embeddings: Sequence[np.ndarray] | None = None,
        *,
        set_weights: Sequence[float] | None = None,
        validation: Sequence[tuple[GradedSet, np.ndarray]] | None = None,
        progress: bool = False,
    ) -> "MatrixFactorizationRouter":
        """Train on graded sets (with their precomputed embeddings, else embedded here): see :mod:`routellm_plugins.training.mf`."""
        from routellm_plugins.training.mf import fit_mf

        return fit_mf(self, sets, embeddings, set_weights=set_weights, validation=validation, progress=progress)

    # ---- persistence ---------------------------------------------------------------
    _HPARAMS = ("strong_model", "weak_model", "model_aliases", "dim", "hidden", "use_text_features", "epochs", "lr",
                "weight_decay", "dropout", "batch_size", "target_pair_weight", "patience", "seed")

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if self.weights_ is None or self.models_ is None:
            raise NotFittedError("cannot save an unfitted mf router")
        config = {k: getattr(self, k) for k in self._HPARAMS}
        config["models"] = self.models_
        config["history"] = self.history_
        if isinstance(self.featurizer.embedder_spec, str):
            config["embedder"] = self.featurizer.embedder_spec
        return config, {**self.weights_, **self.featurizer.tensors()}

    @classmethod
    def _from_state(cls, config: dict[str, Any], tensors: dict[str, np.ndarray], **overrides: Any) -> "MatrixFactorizationRouter":
        config = dict(config)
        models = config.pop("models")
        history = config.pop("history", [])
        router = cls(**{**config, **overrides})
        names = ["v", "c", "w2", "b2"] + (["w1", "b1"] if router.hidden else [])
        require(tensors, names + (["feat_mean", "feat_std"] if router.use_text_features else []), "mf checkpoint")
        _check_shapes(tensors, router.hidden, router.dim, len(models), router.use_text_features)
        router.weights_ = {k: tensors[k].astype(np.float32) for k in names}
        router.featurizer.load_tensors(tensors)
        router.models_ = list(models)
        router.history_ = history
        router.resolve_model(router.strong_model)
        router.resolve_model(router.weak_model)
        return router


def _check_shapes(tensors: Mapping[str, np.ndarray], hidden: int, dim: int, n_models: int, use_text_features: bool) -> None:
    """CheckpointError naming the first tensor whose shape does not fit the others and the config."""
    from routellm_plugins.errors import CheckpointError
    from routellm_plugins.features import text_features

    first = tensors["w1"] if hidden else tensors["w2"]
    d_in = first.shape[1] if first.ndim == 2 else -1
    expected: dict[str, tuple[int, ...]] = {"v": (n_models, dim), "c": (n_models,), "b2": (dim,)}
    if hidden:
        expected |= {"w1": (hidden, d_in), "b1": (hidden,), "w2": (dim, hidden)}
    else:
        expected |= {"w2": (dim, d_in)}
    if use_text_features:
        n_feat = text_features(["x"]).shape[1]
        expected |= {"feat_mean": (n_feat,), "feat_std": (n_feat,)}
    for name, shape in expected.items():
        got = tuple(tensors[name].shape)
        if got != shape or -1 in shape:
            raise CheckpointError(f"mf checkpoint: tensor {name!r} has shape {got}, expected {shape} "
                                  f"({n_models} models, dim {dim}, hidden {hidden}, input width {d_in})")
    if use_text_features and d_in <= expected["feat_mean"][0]:
        raise CheckpointError(f"mf checkpoint: input width {d_in} leaves no room for an embedding beside {expected['feat_mean'][0]} text features")
