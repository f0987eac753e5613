"""``mixture``: the default router, a gated mixture of an exam expert and an open-chat expert.

One MiniLM embedding per prompt feeds three small parts:
- the **exam expert**: ``mf`` (matrix factorisation over 20 models), whose logit of
  P(strong beats weak) ranks exam-style prompts (multiple choice, maths, code tasks);
- the **chat expert**: a linear head on [embedding, text features, task-type cues] trained on
  open-ended requests (AlpacaEval and arena_bench_v1), each source's target standardised;
- the **gate**: P(prompt looks like an open chat request) from a logistic model on the same input.

z = (1 - g) * z_exam + g * z_chat, where each expert's output is standardised on its own
training prompts, so a mixed stream sends comparable shares of each kind to the strong model.
The score is sigmoid(scale * z + bias), with scale and bias fitted to the pooled outcomes: it
keeps the meaning P(strong model's answer is better) for GPT-4-1106 vs Mixtral-8x7B.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from routellm_plugins.checkpoint import require
from routellm_plugins.errors import CheckpointError, ConfigError, NotFittedError
from routellm_plugins.features import task_features, text_features
from routellm_plugins.routers.base import Router
from routellm_plugins.routers.mf import MatrixFactorizationRouter

#: Tensors of the mixture's own parts (the exam expert's are stored with the prefix ``mf.``).
_OWN = ("in_mean", "in_std", "chat_w", "chat_b", "gate_w", "gate_b", "z_stats", "link")
_MF_PREFIX = "mf."


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40.0, 40.0)))


class MixtureRouter(Router):
    """P(strong beats weak) from a style gate mixing an exam expert (mf) and a chat expert.

    Built by :func:`routellm_plugins.training.mixture.train_mixture` or loaded from a checkpoint;
    ``provenance`` records what each part was trained on, with licences.
    """

    name = "mixture"

    def __init__(self, *, embedder: Any = None, threshold: float | None = None) -> None:
        super().__init__(threshold=threshold)
        self.embedder_spec = embedder
        self.exam: MatrixFactorizationRouter | None = None
        self.weights_: dict[str, np.ndarray] | None = None

    # ---- scoring -------------------------------------------------------------------
    def inputs(self, emb: np.ndarray, prompts: list[str], features: np.ndarray | None = None) -> np.ndarray:
        """The chat expert's and the gate's standardised input for precomputed embeddings (``features``: the
        prompts' :func:`text_features`, when already computed)."""
        w = self._weights()
        tf = text_features(prompts) if features is None else features
        x = np.concatenate([emb.astype(np.float32, copy=False), tf, task_features(prompts)], axis=1)
        return (x - w["in_mean"]) / w["in_std"]

    def parts_from_embeddings(self, emb: np.ndarray, prompts: list[str]) -> dict[str, np.ndarray]:
        """Each part's output for precomputed embeddings: ``gate``, ``z_exam``, ``z_chat``, ``z`` and ``score``."""
        w = self._weights()
        exam = self._exam()
        tf = text_features(prompts)  # shared by both experts
        s = exam.model_strengths_from_features(exam.featurizer.combine(emb, prompts, tf))
        a, b = exam.resolve_model(exam.strong_model), exam.resolve_model(exam.weak_model)
        mu_e, sd_e, mu_c, sd_c = (float(v) for v in w["z_stats"])
        z_exam = ((s[:, a] - s[:, b]) - mu_e) / sd_e
        x = self.inputs(emb, prompts, tf)
        z_chat = (x @ w["chat_w"] + w["chat_b"][0] - mu_c) / sd_c
        gate = _sigmoid(x @ w["gate_w"] + w["gate_b"][0])
        z = (1.0 - gate) * z_exam + gate * z_chat
        scale, bias = (float(v) for v in w["link"])
        return {"gate": gate, "z_exam": z_exam, "z_chat": z_chat, "z": z, "score": _sigmoid(scale * z + bias)}

    def score_from_embeddings(self, emb: np.ndarray, prompts: list[str]) -> np.ndarray:
        """P(strong beats weak) for precomputed embeddings of ``prompts``."""
        return self.parts_from_embeddings(emb, prompts)["score"]

    def explain(self, prompts: list[str]) -> dict[str, np.ndarray]:
        """Each part's output per prompt (gate weight of the chat expert, the experts' z, the score)."""
        from routellm_plugins.validation import clean_prompts

        texts = clean_prompts(prompts)
        return self.parts_from_embeddings(self._exam().featurizer.embedder(texts), texts)

    def _score(self, prompts: list[str]) -> np.ndarray:
        return self.score_from_embeddings(self._exam().featurizer.embedder(prompts), prompts)

    def with_pair(self, strong_model: str, weak_model: str) -> "Router":
        """Refused: the chat expert and the calibration are for GPT-4-1106 vs Mixtral; use ``mf`` for other pairs."""
        raise ConfigError(
            f"the mixture router is trained for one pair (gpt-4-1106-preview vs mixtral-8x7b-instruct) and cannot score "
            f"{strong_model!r} vs {weak_model!r}; use load_router('mf').with_pair({strong_model!r}, {weak_model!r})"
        )

    def _weights(self) -> dict[str, np.ndarray]:
        if self.weights_ is None:
            raise NotFittedError("mixture router is not trained: train it (routellm-plugins train --router mixture) or load() a checkpoint")
        return self.weights_

    def _exam(self) -> MatrixFactorizationRouter:
        if self.exam is None:
            raise NotFittedError("mixture router has no exam expert: train or load it first")
        return self.exam

    # ---- persistence ---------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        exam_cfg, exam_tensors = self._exam()._state()
        exam_cfg.pop("history", None)
        config = {"exam_expert": exam_cfg}
        if isinstance(self.embedder_spec, str):
            config["embedder"] = self.embedder_spec
        tensors = {**self._weights(), **{_MF_PREFIX + k: v for k, v in exam_tensors.items()}}
        return config, tensors

    @classmethod
    def _from_state(cls, config: dict[str, Any], tensors: dict[str, np.ndarray], **overrides: Any) -> "MixtureRouter":
        config = dict(config)
        exam_cfg = config.pop("exam_expert", None)
        if not isinstance(exam_cfg, dict):
            raise CheckpointError("mixture checkpoint has no 'exam_expert' settings")
        router = cls(**{**config, **overrides})
        require(tensors, list(_OWN), "mixture checkpoint")
        weights = {k: np.asarray(tensors[k], dtype=np.float32) for k in _OWN}
        d = weights["in_mean"].shape[0]
        expected = {"in_std": (d,), "chat_w": (d,), "chat_b": (1,), "gate_w": (d,), "gate_b": (1,), "z_stats": (4,), "link": (2,)}
        for k, shape in expected.items():
            if weights[k].shape != shape:
                raise CheckpointError(f"mixture checkpoint: tensor {k!r} has shape {weights[k].shape}, expected {shape}")
        if np.any(weights["in_std"] <= 0) or np.any(weights["z_stats"][[1, 3]] <= 0):
            raise CheckpointError("mixture checkpoint: standardisation scales must be positive")
        exam_tensors = {k[len(_MF_PREFIX):]: v for k, v in tensors.items() if k.startswith(_MF_PREFIX)}
        embedder = overrides.get("embedder", config.get("embedder"))
        router.exam = MatrixFactorizationRouter._from_state({**exam_cfg, **({"embedder": embedder} if embedder is not None else {})}, exam_tensors)
        router.weights_ = weights
        return router
