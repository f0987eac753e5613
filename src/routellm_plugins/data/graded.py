"""``GradedSet``: prompts × models score matrix (1 = correct/best), with optional per-prompt costs."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from routellm_plugins.errors import DataFormatError, UnknownModelError

#: Names that denote the same model across data sets -> one canonical name.
MODEL_ALIASES = {
    "mistralai/Mixtral-8x7B-Instruct-v0.1": "mixtral-8x7b-instruct",
    "mistralai/mixtral-8x7b-chat": "mixtral-8x7b-instruct",
    "Mixtral-8x7B-Instruct-v0.1": "mixtral-8x7b-instruct",  # AlpacaEval, arena_bench_v1
    "gpt-4-1106-preview": "gpt-4-1106-preview",
    "gpt4_1106_preview": "gpt-4-1106-preview",  # AlpacaEval's baseline
    # Chat sets -> the RouterBench names of the same models (pool routing profiles them across sources).
    "Llama-2-70b-chat": "meta/llama-2-70b-chat",  # arena_bench_v1
    "llama-2-70b-chat-hf": "meta/llama-2-70b-chat",  # AlpacaEval
    "Mistral-7B-Instruct-v0.1": "mistralai/mistral-7b-chat",  # arena_bench_v1
    "claude-1": "claude-v1",  # arena_bench_v1
    "claude": "claude-v1",  # AlpacaEval (its config calls claude-v1)
    "claude-2": "claude-v2",  # AlpacaEval
    "gpt4": "gpt-4-0314",  # AlpacaEval's "gpt-4" of spring 2023; arena_bench_v1 names it gpt-4-0314
}

#: The strong/weak pair of RouteLLM's evaluation data (canonical names).
ROUTELLM_STRONG = "gpt-4-1106-preview"
ROUTELLM_WEAK = "mixtral-8x7b-instruct"


def canonical_model(name: str) -> str:
    """The canonical name of a model as it appears in any bundled data set."""
    return MODEL_ALIASES.get(name, name)


def default_data_dir() -> Path:
    """``$ROUTELLM_DATA`` or ``../shared/data`` next to the current directory."""
    env = os.environ.get("ROUTELLM_DATA")
    return Path(env) if env else Path.cwd().parent / "shared" / "data"


def prompt_fold(prompt: str, n_folds: int = 5) -> int:
    """A stable fold index for a prompt (hash of its text), for cross-fitting and held-out splits."""
    digest = hashlib.sha1(prompt.strip().encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % n_folds


@dataclass
class GradedSet:
    """Graded answers: ``scores[i, j]`` is model j's score on prompt i in [0, 1] (NaN = not graded).

    ``costs`` (same shape, USD) is present when the source records it. ``groups`` labels
    each prompt with its benchmark/domain (e.g. "mmlu/anatomy").
    """

    name: str
    prompts: list[str]
    models: list[str]
    scores: np.ndarray
    groups: list[str] = field(default_factory=list)
    costs: np.ndarray | None = None
    ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, dtype=np.float64)
        n, m = len(self.prompts), len(self.models)
        if self.scores.shape != (n, m):
            raise DataFormatError(f"{self.name}: scores shape {self.scores.shape} != ({n} prompts, {m} models)")
        if not self.groups:
            self.groups = [self.name] * n
        if not self.ids:
            self.ids = [f"{self.name}:{i}" for i in range(n)]
        if self.costs is not None:
            self.costs = np.asarray(self.costs, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.prompts)

    def column(self, model: str) -> np.ndarray:
        """Scores of one model (canonical or alias name)."""
        name = canonical_model(model)
        if name not in self.models:
            raise UnknownModelError(f"model {model!r} is not in {self.name}; known: {', '.join(self.models)}")
        return self.scores[:, self.models.index(name)]

    def subset(self, mask: np.ndarray | Sequence[bool] | Sequence[int]) -> "GradedSet":
        """The rows selected by a boolean mask or index list."""
        idx = np.arange(len(self))[np.asarray(mask)] if np.asarray(mask).dtype == bool else np.asarray(mask, dtype=int)
        return GradedSet(
            self.name,
            [self.prompts[i] for i in idx],
            list(self.models),
            self.scores[idx],
            [self.groups[i] for i in idx],
            None if self.costs is None else self.costs[idx],
            [self.ids[i] for i in idx],
        )

    def select_models(self, models: Sequence[str]) -> "GradedSet":
        """The same prompts with only ``models`` (in that order)."""
        cols = [self.models.index(canonical_model(m)) if canonical_model(m) in self.models else -1 for m in models]
        missing = [m for m, c in zip(models, cols) if c < 0]
        if missing:
            raise UnknownModelError(f"models {missing} are not in {self.name}; known: {', '.join(self.models)}")
        return GradedSet(
            self.name, list(self.prompts), [canonical_model(m) for m in models], self.scores[:, cols],
            list(self.groups), None if self.costs is None else self.costs[:, cols], list(self.ids),
        )

    def folds(self, n_folds: int = 5) -> np.ndarray:
        """Stable per-prompt fold indices (see :func:`prompt_fold`)."""
        return np.array([prompt_fold(p, n_folds) for p in self.prompts], dtype=int)


def concat(sets: Sequence[GradedSet], name: str = "mixed") -> GradedSet:
    """Stack graded sets over the union of their models (NaN where a model was not graded)."""
    models: list[str] = []
    for s in sets:
        models += [m for m in s.models if m not in models]
    rows = sum(len(s) for s in sets)
    scores = np.full((rows, len(models)), np.nan)
    has_cost = any(s.costs is not None for s in sets)
    costs = np.full((rows, len(models)), np.nan) if has_cost else None
    prompts, groups, ids = [], [], []
    r = 0
    for s in sets:
        cols = [models.index(m) for m in s.models]
        scores[r : r + len(s), cols] = s.scores
        if costs is not None and s.costs is not None:
            costs[r : r + len(s), cols] = s.costs
        prompts += s.prompts
        groups += s.groups
        ids += s.ids
        r += len(s)
    return GradedSet(name, prompts, models, scores, groups, costs, ids)
