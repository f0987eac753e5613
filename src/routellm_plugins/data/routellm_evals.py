"""RouteLLM's evaluation files: MMLU (57 domains) and GSM8K, GPT-4 vs Mixtral correctness.

Contaminated prompts (``*/contaminated_prompts.jsonl``, field ``eval_prompt``) are dropped.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from routellm_plugins.data.graded import GradedSet, canonical_model, default_data_dir
from routellm_plugins.errors import DataFormatError

csv.field_size_limit(sys.maxsize)


def _truth(value: str) -> float:
    v = value.strip().lower()
    if v in ("true", "1", "1.0", "yes"):
        return 1.0
    if v in ("false", "0", "0.0", "no"):
        return 0.0
    try:
        return float(v)
    except ValueError:
        return float("nan")


def contaminated_prompts(folder: Path) -> set[str]:
    """The ``eval_prompt`` texts listed in ``folder/contaminated_prompts.jsonl`` (empty if absent)."""
    path = folder / "contaminated_prompts.jsonl"
    if not path.is_file():
        return set()
    with path.open(encoding="utf-8") as fh:
        return {json.loads(line)["eval_prompt"].strip() for line in fh if line.strip()}


def read_routellm_csv(path: str | Path, name: str | None = None, group: str | None = None, drop: set[str] | None = None) -> GradedSet:
    """A RouteLLM-format CSV: a ``prompt`` column plus one True/False (or numeric) column per model.

    Columns ending in ``_response`` are ignored. Rows whose prompt is in ``drop`` are skipped.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"benchmark file {str(path)!r} does not exist")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        if "prompt" not in header:
            raise DataFormatError(f"{str(path)!r} has no 'prompt' column (columns: {header})")
        model_cols = [c for c in header if c and c != "prompt" and not c.endswith("_response") and not c.startswith("Unnamed")]
        if not model_cols:
            raise DataFormatError(f"{str(path)!r} has no model score columns besides 'prompt'")
        prompts, rows = [], []
        for rec in reader:
            p = rec["prompt"]
            if not p or not p.strip() or (drop and p.strip() in drop):
                continue
            prompts.append(p)
            rows.append([_truth(rec[c] or "") for c in model_cols])
    label = name or path.stem
    return GradedSet(label, prompts, [canonical_model(c) for c in model_cols], np.array(rows, dtype=float).reshape(len(rows), len(model_cols)),
                     [group or label] * len(prompts))


def load_mmlu(data_dir: str | Path | None = None) -> GradedSet:
    """All 57 MMLU domains (~14k questions), contaminated prompts dropped; groups are "mmlu/<domain>"."""
    from routellm_plugins.data.graded import concat

    folder = Path(data_dir or default_data_dir()) / "routellm_evals" / "mmlu"
    files = sorted(folder.glob("mmlu_*.csv"))
    if not files:
        raise DataFormatError(f"no mmlu_*.csv files under {str(folder)!r}")
    drop = contaminated_prompts(folder)
    parts = [read_routellm_csv(f, "mmlu", "mmlu/" + f.stem[len("mmlu_"):], drop) for f in files]
    return concat(parts, "mmlu")


def load_gsm8k(data_dir: str | Path | None = None) -> GradedSet:
    """GSM8K test questions (1,319) with GPT-4/Mixtral correctness, contaminated prompts dropped."""
    folder = Path(data_dir or default_data_dir()) / "routellm_evals" / "gsm8k"
    return read_routellm_csv(folder / "gsm8k_responses.csv", "gsm8k", "gsm8k", contaminated_prompts(folder))
