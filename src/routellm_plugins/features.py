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
    raw = np.empty((len(prompts), len(FEATURE_NAMES)), dtype=np.float64)
    for i, p in enumerate(prompts):
        raw[i] = (len(p), len(p.split()), len(_NUMBER.findall(p)), p.count("\n"), sum(map(str.isdigit, p)) / max(len(p), 1),
                  p.count("?"), bool(_CODE.search(p)), len(_MATH.findall(p)))
    logged = [0, 1, 2, 3, 5, 7]  # counts are log-scaled; the digit fraction and the code flag are not
    raw[:, logged] = np.log1p(raw[:, logged])
    return raw.astype(np.float32)


#: Task-type cues: what kind of work a request asks for. Counts of regex matches, log-scaled.
#: Code, maths, multi-step reasoning and extraction tend to separate strong from weak models;
#: creative writing, role-play and advice tend not to. The learned heads weigh them.
TASK_PATTERNS: dict[str, str] = {
    "code": r"```|\b(python|javascript|typescript|java|c\+\+|c#|golang|rust|sql|bash|html|css|regex|json|yaml|api|"
            r"function|class|method|script|program|compile|debug|code|algorithm|implement|library|framework)\b|"
            r"\bdef\s|\breturn\b|[{};]\s*$|=>|\w+\(\)",
    "math": r"\b(solve|equation|integral|derivative|probability|calculate|compute|theorem|prove|proof|matrix|vector|"
            r"sum of|how many|how much|percent|ratio|area|volume|average|mean|median|prime|factor)\b|"
            r"\d+\s*[-+*/^=<>]\s*\d+|[∑∫√π≤≥≠^]",
    "reasoning": r"\b(step[- ]by[- ]step|reason|logic|puzzle|riddle|deduce|infer|why|explain why|analy[sz]e|compare|"
                 r"trade-?offs?|evaluate|critique|pros and cons|assume|hypothes)",
    "extraction": r"\b(extract|parse|convert|format|table|csv|json|list all|classify|categori[sz]e|summari[sz]e|rewrite|"
                  r"translate|correct the|fix the)\b",
    "creative": r"\b(poem|story|song|lyrics|haiku|essay|blog|letter|tweet|slogan|joke|limerick|novel|fiction|creative|imagine)\b",
    "roleplay": r"\b(pretend|act as|you are an?|role[- ]?play|in the style of|as if you were|persona)\b",
    "advice": r"\b(should i|how (do|can) i|tips|advice|recommend|suggest|best way|ideas for)\b",
    "constraints": r"\b(must|exactly|at least|at most|no more than|only|without|do not|don't|make sure|ensure)\b",
}
TASK_FEATURE_NAMES = tuple(TASK_PATTERNS)
_TASK_RX = {name: re.compile(rx, re.I | re.M) for name, rx in TASK_PATTERNS.items()}


def task_features(prompts: Sequence[str]) -> np.ndarray:
    """log(1 + matches) of each task cue, shape (len(prompts), len(TASK_FEATURE_NAMES)), float32."""
    out = np.zeros((len(prompts), len(TASK_FEATURE_NAMES)), dtype=np.float32)
    for i, p in enumerate(prompts):
        for j, name in enumerate(TASK_FEATURE_NAMES):
            out[i, j] = np.log1p(len(_TASK_RX[name].findall(p)))
    return out
