"""Routing decisions as values, and the one decision rule every router uses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

STRONG = "strong"
WEAK = "weak"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One model a decision considered: its predicted quality and its cost."""

    model: str
    quality: float
    cost: float


@dataclass(frozen=True, slots=True)
class Decision:
    """What a router decided for one prompt.

    ``model`` is the chosen key (``"strong"``/``"weak"`` for two-model routers, a pool
    name for pool routers). ``fallback`` is True when the router could not score the
    prompt and the configured fallback model was chosen instead; ``reason`` says why.
    """

    model: str
    score: float | None
    threshold: float | None
    router: str
    latency_s: float
    fallback: bool = False
    reason: str | None = None
    candidates: tuple[Candidate, ...] = field(default=())
    #: True when ``model`` came from the conversation's memory (sticky sessions), not from this turn's score.
    sticky: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for response metadata, headers and logs)."""
        out = asdict(self)
        out["candidates"] = [asdict(c) for c in self.candidates]
        return out


def choose(quality: np.ndarray, cost: Sequence[float] | np.ndarray, lam: float) -> np.ndarray:
    """Index of argmax(quality - lam * cost) per row; ties go to the lower index.

    ``quality`` is (n_prompts, n_models); ``cost`` is (n_models,). The two-model
    threshold rule is the case quality = [[score, 0]], cost = [1, 0], lam = threshold:
    strong iff score >= threshold.
    """
    q = np.asarray(quality, dtype=np.float64)
    c = np.asarray(cost, dtype=np.float64)
    if q.ndim != 2 or c.shape != (q.shape[1],):
        raise ValueError(f"quality must be (n, m) and cost (m,); got {q.shape} and {c.shape}")
    utility = q - lam * c[None, :]
    return np.argmax(utility, axis=1)


def choose_strong(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean mask: True where the two-model rule sends the prompt to the strong model."""
    s = np.asarray(scores, dtype=np.float64)
    quality = np.stack([s, np.zeros_like(s)], axis=1)
    return choose(quality, (1.0, 0.0), threshold) == 0
