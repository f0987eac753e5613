"""Cheap text features that complement the embedding: length, numbers, structure.

Prompt length alone is a strong difficulty signal (longer questions need more reasoning),
and the embedding is length-blind (mean pooling over at most 256 tokens). Features are
standardised with the mean/std stored in each checkpoint.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

FEATURE_NAMES = (
    "log_chars",
    "log_words",
    "log_numbers",
    "log_lines",
    "digit_fraction",
    "log_question_marks",
    "code_markers",
    "log_math_symbols",
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_CODE = re.compile(r"```|\bdef |\breturn\b|\bimport |[{};]\s*$", re.M)
_MATH = re.compile(r"[=+\-*/^%$]")


def text_features(prompts: Sequence[str]) -> np.ndarray:
    """Raw (unstandardised) features, shape (len(prompts), len(FEATURE_NAMES)), float32."""
    out = np.empty((len(prompts), len(FEATURE_NAMES)), dtype=np.float32)
    for i, p in enumerate(prompts):
        n = max(len(p), 1)
        out[i] = (
            np.log1p(len(p)),
            np.log1p(len(p.split())),
            np.log1p(len(_NUMBER.findall(p))),
            np.log1p(p.count("\n")),
            sum(ch.isdigit() for ch in p) / n,
            np.log1p(p.count("?")),
            float(bool(_CODE.search(p))),
            np.log1p(len(_MATH.findall(p))),
        )
    return out
