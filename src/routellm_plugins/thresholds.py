"""Turning scores into strong/weak decisions: thresholds calibrated to a strong-call share."""

from __future__ import annotations

import threading
from collections import deque
from typing import Sequence

import numpy as np

from routellm_plugins.errors import ConfigError
from routellm_plugins.validation import check_positive_int, check_share, check_threshold

#: Largest adaptive window (scores kept in memory).
MAX_WINDOW = 1_000_000


def threshold_for_share(scores: Sequence[float] | np.ndarray, strong_share: float) -> float:
    """The threshold t such that the share of ``scores >= t`` is as close as possible to ``strong_share``.

    Rule: rank the scores descending and put t at the k-th highest, k = round(share * n);
    k = 0 gives a threshold just above the highest score (capped at 1.0).
    """
    share = check_share(strong_share)
    s = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    if s.size == 0:
        raise ConfigError("cannot calibrate a threshold on zero scores: give at least one prompt")
    k = int(round(share * s.size))
    if k <= 0:
        return float(min(1.0, np.nextafter(s[0], np.inf)))
    return float(s[k - 1])


class AdaptiveThreshold:
    """Holds a target strong share on live traffic: the threshold is the (1 - share)
    quantile (by :func:`threshold_for_share`) of the last ``window`` scores.

    Deterministic: the same score sequence gives the same thresholds. Until ``min_seen``
    scores have arrived, ``initial`` is used. Thread-safe.
    """

    def __init__(self, strong_share: float, *, window: int = 1000, initial: float = 0.5, min_seen: int = 50) -> None:
        check_positive_int(window, "window", maximum=MAX_WINDOW)
        check_positive_int(min_seen, "min_seen")
        self.strong_share = check_share(strong_share)
        self.window = window
        self.initial = check_threshold(initial)
        self.min_seen = min_seen
        self._scores: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()
        self._current = self.initial

    @property
    def threshold(self) -> float:
        """The threshold to apply to the next request."""
        return self._current

    def observe(self, scores: Sequence[float] | np.ndarray) -> float:
        """Record scores of requests just routed; return the updated threshold."""
        with self._lock:
            self._scores.extend(float(x) for x in np.atleast_1d(scores))
            if len(self._scores) >= self.min_seen:
                self._current = threshold_for_share(np.fromiter(self._scores, float), self.strong_share)
            return self._current
