"""``mf``: matrix factorisation of model quality over prompts (RouteLLM's MF router, extended).

Each model m has a learned vector v_m and bias c_m; a prompt x is projected to phi(x) by a
small network over [embedding, text features]. Model strength is s(m, x) = v_m . phi(x) + c_m
and P(a beats b | x) = sigmoid(s(a, x) - s(b, x)). Training uses every pair of models graded
on the same prompt, with soft Bradley–Terry targets 0.5 + (score_a - score_b) / 2 (a tie is
half a win), so the score is an affine map of the expected quality gain of the strong model.
"""

from __future__ import annotations

import math
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

    def with_pair(self, strong_model: str, weak_model: str) -> "MatrixFactorizationRouter":
        """Point this router at another known (or aliased) pair; raises UnknownModelError otherwise."""
        self.resolve_model(strong_model)
        self.resolve_model(weak_model)
        self.strong_model, self.weak_model = strong_model, weak_model
        return self

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
        """Train on graded sets (with their precomputed embeddings, else embedded here).

        Every pair of models graded on the same prompt is a soft comparison. Each set's
        rows share ``set_weights[k]`` (default: equal per set). ``validation`` sets are
        scored on the strong/weak pair after each epoch; the best epoch's weights are kept.
        """
        import torch

        from routellm_plugins.data.graded import concat
        from routellm_plugins.evaluation import apgr, cost_quality_curve

        if not sets:
            raise ConfigError("mf.fit needs at least one graded set")
        if embeddings is None:
            embeddings = [self.featurizer.embedder(s.prompts) for s in sets]
        data = concat(list(sets))
        self.models_ = list(data.models)
        for m in (self.strong_model, self.weak_model):
            self.resolve_model(m)
        all_prompts = data.prompts
        self.featurizer.fit_standardiser(all_prompts)
        x = self.featurizer.combine(np.concatenate(list(embeddings)), all_prompts)
        weights = np.asarray(set_weights if set_weights is not None else [1.0] * len(sets), dtype=np.float64)
        row_w = np.concatenate([np.full(len(s), w / len(s)) for s, w in zip(sets, weights)])
        row_w = row_w / row_w.mean()

        torch.manual_seed(self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        d_in, m = x.shape[1], len(self.models_)
        layers: list[torch.nn.Module] = []
        if self.hidden:
            layers += [torch.nn.Linear(d_in, self.hidden), torch.nn.GELU(), torch.nn.Dropout(self.dropout), torch.nn.Linear(self.hidden, self.dim)]
        else:
            layers += [torch.nn.Linear(d_in, self.dim)]
        proj = torch.nn.Sequential(*layers)
        v = torch.nn.Parameter(torch.randn(m, self.dim, generator=gen) / math.sqrt(self.dim))
        c = torch.nn.Parameter(torch.zeros(m))
        params = [*proj.parameters(), v, c]
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)

        X = torch.from_numpy(x)
        Y = torch.from_numpy(np.nan_to_num(data.scores, nan=0.0)).float()
        G = torch.from_numpy(~np.isnan(data.scores)).float()
        W = torch.from_numpy(row_w).float()
        a, b = self.models_.index(canonical_model(self.strong_model)), self.models_.index(canonical_model(self.weak_model))
        upper = torch.triu(torch.ones(m, m), diagonal=1)
        pair_w = upper.clone()
        pair_w[min(a, b), max(a, b)] += self.target_pair_weight

        def batch_loss(idx: torch.Tensor) -> torch.Tensor:
            s = proj(X[idx]) @ v.T + c
            diff = s[:, :, None] - s[:, None, :]
            target = 0.5 + (Y[idx][:, :, None] - Y[idx][:, None, :]) / 2
            mask = G[idx][:, :, None] * G[idx][:, None, :] * pair_w
            bce = torch.nn.functional.binary_cross_entropy_with_logits(diff, target, reduction="none")
            per_row = (bce * mask).sum((1, 2)) / mask.sum((1, 2)).clamp(min=1.0)
            return (per_row * W[idx]).mean()

        def val_score() -> float:
            if not validation:
                return float("nan")
            proj.eval()
            vals = []
            with torch.no_grad():
                for vs, ve in validation:
                    xv = torch.from_numpy(self.featurizer.combine(ve, vs.prompts))
                    s = (proj(xv) @ v.T + c).numpy()
                    p = s[:, a] - s[:, b]
                    qs, qw = vs.column(self.strong_model), vs.column(self.weak_model)
                    ok = ~(np.isnan(qs) | np.isnan(qw))
                    vals.append(apgr(cost_quality_curve(p[ok], qs[ok], qw[ok])))
            proj.train()
            return float(np.mean(vals))

        n = len(X)
        best, best_state, bad = -np.inf, None, 0
        epochs = range(self.epochs)
        if progress:
            from tqdm import tqdm

            epochs = tqdm(epochs, desc="mf epochs")
        self.history_ = []
        for epoch in epochs:
            proj.train()
            perm = torch.randperm(n, generator=gen)
            total = 0.0
            for start in range(0, n, self.batch_size):
                idx = perm[start : start + self.batch_size]
                loss = batch_loss(idx)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            score = val_score()
            self.history_.append({"epoch": epoch, "loss": total / n, "val_apgr": score})
            if validation:
                if score > best + 1e-4:
                    best, bad = score, 0
                    best_state = ([p.detach().clone() for p in proj.parameters()], v.detach().clone(), c.detach().clone())
                else:
                    bad += 1
                    if bad >= self.patience:
                        break
        if best_state is not None:
            with torch.no_grad():
                for p, saved in zip(proj.parameters(), best_state[0]):
                    p.copy_(saved)
                v.data.copy_(best_state[1])
                c.data.copy_(best_state[2])
        lin = [l for l in proj if isinstance(l, torch.nn.Linear)]
        w: dict[str, np.ndarray] = {"v": v.detach().numpy().copy(), "c": c.detach().numpy().copy()}
        if self.hidden:
            w |= {"w1": lin[0].weight.detach().numpy().copy(), "b1": lin[0].bias.detach().numpy().copy()}
        w |= {"w2": lin[-1].weight.detach().numpy().copy(), "b2": lin[-1].bias.detach().numpy().copy()}
        self.weights_ = w
        return self

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
