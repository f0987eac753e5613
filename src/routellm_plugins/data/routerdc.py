"""RouterDC's 7 open 7B-8B LLMs: JSON lists of {"question", "scores": {model: score}}."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from routellm_plugins.data.graded import GradedSet, canonical_model, default_data_dir
from routellm_plugins.errors import DataFormatError

#: File stems in routerdc_7models/ (train/test as named there).
FILES = (
    "mmlu_train", "mmlu_test", "gsm8k-train", "gsm8k-test", "arc_challenge_train", "arc_challenge_test",
    "humaneval_train", "humaneval_test", "cmmlu_train", "cmmlu_test", "MATH_prealgebra",
)


def read_routerdc_json(path: str | Path) -> GradedSet:
    """One RouterDC JSON file as a GradedSet (group = file stem)."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"RouterDC file {str(path)!r} does not exist")
    records = json.loads(path.read_text(encoding="utf-8"))
    if not records or "question" not in records[0] or "scores" not in records[0]:
        raise DataFormatError(f"{str(path)!r} is not a list of {{'question', 'scores'}} records")
    models = list(records[0]["scores"])
    scores = np.array([[float(r["scores"].get(m, np.nan)) for m in models] for r in records])
    prompts = [r["question"] for r in records]
    return GradedSet(path.stem, prompts, [canonical_model(m) for m in models], scores, ["routerdc/" + path.stem] * len(prompts))


def load_routerdc(stem: str, data_dir: str | Path | None = None) -> GradedSet:
    """RouterDC file ``stem`` (one of :data:`FILES`)."""
    if stem not in FILES:
        raise DataFormatError(f"unknown RouterDC file {stem!r}; known: {', '.join(FILES)}")
    return read_routerdc_json(Path(data_dir or default_data_dir()) / "routerdc_7models" / f"{stem}.json")
