"""The ``random`` baseline: scores uniform in [0, 1], independent of the prompt."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from routellm_plugins.routers.base import Router


class RandomRouter(Router):
    """Uniform random scores; a seeded instance is reproducible call by call."""

    name = "random"

    def __init__(self, *, seed: int | None = None, threshold: float | None = 0.5) -> None:
        super().__init__(threshold=threshold)
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()

    def _score(self, prompts: list[str]) -> np.ndarray:
        with self._lock:
            return self._rng.random(len(prompts))

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"seed": self.seed}, {}
