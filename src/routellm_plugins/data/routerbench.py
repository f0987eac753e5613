"""RouterBench zero-shot subset: 11 LLMs, per-prompt score and cost (ARC-Challenge, MBPP)."""

from __future__ import annotations

import ast
import csv
import sys
from pathlib import Path

import numpy as np

from routellm_plugins.data.graded import GradedSet, canonical_model, concat, default_data_dir
from routellm_plugins.errors import DataFormatError

csv.field_size_limit(sys.maxsize)
TASKS = ("arc_challenge", "mbpp")


def _prompt_text(raw: str) -> str:
    """RouterBench stores the prompt as a Python-list string; join its parts."""
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    return str(value)


def read_routerbench_csv(path: str | Path) -> GradedSet:
    """One RouterBench CSV (``sample_id, prompt, eval_name, <model>, <model>|total_cost, ...``)."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"RouterBench file {str(path)!r} does not exist")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        if "prompt" not in header:
            raise DataFormatError(f"{str(path)!r} has no 'prompt' column")
        models = [c for c in header if c + "|total_cost" in header]
        prompts, scores, costs, groups, ids = [], [], [], [], []
        for rec in reader:
            prompts.append(_prompt_text(rec["prompt"]))
            scores.append([float(rec[m] or "nan") for m in models])
            costs.append([float(rec[m + "|total_cost"] or "nan") for m in models])
            groups.append("routerbench/" + (rec.get("eval_name") or path.stem))
            ids.append(rec.get("sample_id") or f"{path.stem}:{len(ids)}")
    return GradedSet(path.stem, prompts, [canonical_model(m) for m in models], np.array(scores), groups, np.array(costs), ids)


def load_routerbench(split: str = "train", data_dir: str | Path | None = None, tasks: tuple[str, ...] = TASKS) -> GradedSet:
    """RouterBench ``split`` ("train" or "test") of the given tasks, stacked."""
    if split not in ("train", "test"):
        raise DataFormatError(f"RouterBench split must be 'train' or 'test', got {split!r}")
    folder = Path(data_dir or default_data_dir()) / "routerbench"
    return concat([read_routerbench_csv(folder / f"{t}_{split}.csv") for t in tasks], f"routerbench-{split}")
