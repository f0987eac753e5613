"""The router contract: batch scoring of P(strong beats weak), and decisions from scores."""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from routellm_plugins.checkpoint import load_checkpoint, save_checkpoint
from routellm_plugins.decision import STRONG, WEAK, Decision, choose_strong
from routellm_plugins.errors import CheckpointError, ConfigError, InvalidPromptError, RouteLLMError, ScoringError
from routellm_plugins.progress import bar, progress_enabled
from routellm_plugins.thresholds import threshold_for_share
from routellm_plugins.validation import check_share, check_threshold, clean_prompt, clean_prompts


CALIBRATION_TENSOR = "calibration_scores"
#: Prompts handed to a router's ``_score`` at once: a big batch is scored in chunks of this size,
#: so memory stays bounded whatever the batch size.
SCORE_CHUNK = 1024
#: Chunk size while a progress bar is shown (finer steps, same results).
PROGRESS_CHUNK = 64


class Router(ABC):
    """A two-model router. Subclasses implement :meth:`_score` (and state I/O if learned).

    ``threshold`` is the default cut used by :meth:`route` when none is passed; bundled
    checkpoints set it by calibration (see ``calibration`` in their JSON).
    """

    name: ClassVar[str]

    def __init__(self, *, threshold: float | None = None) -> None:
        self.threshold = None if threshold is None else check_threshold(threshold)
        self.checkpoint_path: Path | None = None
        self.calibration: dict[str, Any] = {}
        #: Where the checkpoint came from: training sources with licences and splits, recipe, settings.
        self.provenance: dict[str, Any] = {}
        #: Scores of the calibration prompts, kept so a new strong share needs no re-scoring.
        self.calibration_scores: np.ndarray | None = None

    # ---- scoring -------------------------------------------------------------------
    @abstractmethod
    def _score(self, prompts: list[str]) -> np.ndarray:
        """P(strong beats weak) for already-validated prompts, shape (len(prompts),)."""

    def score(self, prompts: Sequence[str]) -> np.ndarray:
        """P(strong model's answer is better) per prompt, float64 in [0, 1], same order.

        Large batches are scored in chunks of :data:`SCORE_CHUNK` prompts (bounded memory).
        """
        texts = clean_prompts(prompts)
        out = np.empty(len(texts), dtype=np.float64)
        step = PROGRESS_CHUNK if progress_enabled() else SCORE_CHUNK
        with bar(len(texts), f"scoring ({self.name})", shown=len(texts) > step) as progress:
            for start in range(0, len(texts), step):
                chunk = texts[start:start + step]
                out[start:start + len(chunk)] = self._score_chunk(chunk)
                progress.update(len(chunk))
        return out

    def _score_chunk(self, texts: list[str]) -> np.ndarray:
        out = np.asarray(self._score(texts), dtype=np.float64).reshape(-1)
        if out.shape != (len(texts),) or not np.isfinite(out).all():
            raise ScoringError(f"router {self.name!r} produced {out.shape} scores (or NaN) for {len(texts)} prompts")
        return np.clip(out, 0.0, 1.0)

    # ---- decisions -----------------------------------------------------------------
    def _resolve_threshold(self, threshold: float | None) -> float:
        if threshold is not None:
            return check_threshold(threshold)
        if self.threshold is None:
            raise ConfigError(
                f"router {self.name!r} has no default threshold: pass threshold=..., or calibrate(prompts, strong_share=...)"
            )
        return self.threshold

    def route(self, prompt: str, threshold: float | None = None) -> Decision:
        """Decide strong/weak for one prompt: strong iff score >= threshold."""
        t = self._resolve_threshold(threshold)
        start = time.perf_counter()
        s = float(self.score([clean_prompt(prompt)])[0])
        strong = bool(choose_strong(np.array([s]), t)[0])
        return Decision(STRONG if strong else WEAK, s, t, self.name, time.perf_counter() - start)

    def route_batch(self, prompts: Sequence[str], threshold: float | None = None) -> list[Decision]:
        """Decisions for a batch; the batch's scoring time is split evenly into latency_s."""
        t = self._resolve_threshold(threshold)
        start = time.perf_counter()
        scores = self.score(prompts)
        strong = choose_strong(scores, t)
        each = (time.perf_counter() - start) / max(len(scores), 1)
        return [Decision(STRONG if m else WEAK, float(s), t, self.name, each) for s, m in zip(scores, strong)]

    def calibrate(self, prompts: Sequence[str], strong_share: float) -> float:
        """Set and return the threshold that sends ``strong_share`` of ``prompts`` to the strong model."""
        check_share(strong_share)
        scores = self.score(prompts)
        if scores.size == 0:
            raise InvalidPromptError("calibrate needs at least one prompt; got none")
        t = threshold_for_share(scores, strong_share)
        self.threshold = t
        self.calibration_scores = scores
        self.calibration = {"strong_share": float(strong_share), "n_prompts": len(prompts)}
        return t

    def threshold_for_share(self, strong_share: float) -> float:
        """Threshold for ``strong_share`` on the stored calibration scores (no re-scoring)."""
        if self.calibration_scores is None or self.calibration_scores.size == 0:
            raise ConfigError(f"router {self.name!r} has no calibration scores: call calibrate(prompts, strong_share) first")
        return threshold_for_share(self.calibration_scores, strong_share)

    # ---- persistence ---------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Config (JSON-able) and tensors that :meth:`_from_state` rebuilds the router from."""
        return {}, {}

    @classmethod
    def _from_state(cls, config: dict[str, Any], tensors: dict[str, np.ndarray], **overrides: Any) -> "Router":
        return cls(**{**config, **overrides})

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the router to folder ``path`` as safetensors + JSON."""
        config, tensors = self._state()
        config = {**config, "threshold": self.threshold, "calibration": self.calibration}
        if self.provenance:
            config["provenance"] = self.provenance
        if self.calibration_scores is not None:
            tensors = {**tensors, CALIBRATION_TENSOR: self.calibration_scores.astype(np.float32)}
        return save_checkpoint(path, self.name, config, tensors)

    @classmethod
    def load(cls, path: str | os.PathLike[str], **overrides: Any) -> "Router":
        """Read a router saved by :meth:`save`; ``overrides`` replace saved settings (e.g. embedder)."""
        config, tensors = load_checkpoint(path, kind=cls.name)
        calibration = config.pop("calibration", {}) or {}
        provenance = config.pop("provenance", {}) or {}
        cal_scores = tensors.pop(CALIBRATION_TENSOR, None)
        try:
            router = cls._from_state(config, tensors, **overrides)
        except CheckpointError as exc:
            if str(path) in str(exc):
                raise
            raise CheckpointError(f"checkpoint {str(path)!r}: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, RouteLLMError):
                raise
            raise CheckpointError(f"checkpoint {str(path)!r} does not fit router {cls.name!r}: {exc}") from exc
        router.calibration = calibration
        router.provenance = provenance if isinstance(provenance, dict) else {}
        router.calibration_scores = None if cal_scores is None else cal_scores.astype(np.float64)
        router.checkpoint_path = Path(path)
        return router

    def __repr__(self) -> str:
        return f"{type(self).__name__}(threshold={self.threshold!r})"
