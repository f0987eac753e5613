"""Open-ended chat sets: AlpacaEval 2 preferences and arena_bench_v1 1-10 scores.

Both come as a :class:`GradedSet` on one documented scale, a per-prompt quality in [0, 1]:
- **arena_bench_v1** (absolute scores): quality = (score - 1) / 9; blank cells are NaN.
- **AlpacaEval** (pairwise preferences against ``gpt4_1106_preview``, 1 = baseline better,
  2 = model better, 1.5 = tie; ``weighted_*`` gives a soft value): a model's quality on a prompt
  is P(its answer beats the baseline's), averaged over the annotators that judged it; the
  baseline's own column is 0.5 (a tie with itself). For one pair (baseline vs model m) the
  evaluation qualities are (1 - p_m, p_m): sending the prompt to a model "scores" when that
  model's answer was the preferred one. See :func:`alpaca_pair`.

AlpacaEval's data licence is CC BY-NC 4.0 (non-commercial); arena_bench_v1 is Apache-2.0
(lm-sys/arena-hard-auto). :data:`LICENCES` records both for checkpoint provenance.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from routellm_plugins.data.graded import ROUTELLM_STRONG, GradedSet, canonical_model, default_data_dir
from routellm_plugins.errors import DataFormatError

ALPACA_BASELINE = "gpt4_1106_preview"
#: source name -> (licence, where it comes from)
LICENCES = {
    "alpaca_eval": ("CC BY-NC 4.0 (data; code Apache-2.0)", "tatsu-lab/alpaca_eval, AlpacaEval 2 annotations"),
    "arena_bench_v1": ("Apache-2.0", "lm-sys/arena-hard-auto, arena-bench-v1 (part shipped in shared/data)"),
}


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise DataFormatError(f"file {str(path)!r} does not exist")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_alpaca_eval(data_dir: str | Path | None = None, *, annotators: tuple[str, ...] | None = None) -> GradedSet:
    """AlpacaEval's 803 instructions × judged models, quality = P(model's answer beats the baseline's).

    ``groups`` hold ``alpaca_eval/<dataset>`` (helpful_base, koala, oasst, selfinstruct, vicuna);
    ``ids`` hold ``alpaca_eval:<id>``. ``annotators`` restricts which judges are averaged.
    """
    root = Path(data_dir or default_data_dir()) / "alpaca_eval"
    rows = _read_jsonl(root / "instructions.jsonl")
    ids = [int(r["id"]) for r in rows]
    index = {i: k for k, i in enumerate(ids)}
    path = root / "preferences.csv"
    if not path.is_file():
        raise DataFormatError(f"file {str(path)!r} does not exist")
    sums: dict[tuple[int, str], float] = {}
    counts: dict[tuple[int, str], int] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"id", "annotator", "model", "preference"}
        if not need <= set(reader.fieldnames or []):
            raise DataFormatError(f"{str(path)!r} needs columns {sorted(need)}, has {reader.fieldnames}")
        for rec in reader:
            if annotators is not None and rec["annotator"] not in annotators:
                continue
            try:
                pref = float(rec["preference"])
                qid = int(rec["id"])
            except ValueError:
                continue
            if qid not in index or not 1.0 <= pref <= 2.0:
                continue
            model = canonical_model(rec["model"])
            key = (index[qid], model)
            sums[key] = sums.get(key, 0.0) + (pref - 1.0)
            counts[key] = counts.get(key, 0) + 1
    baseline = canonical_model(ALPACA_BASELINE)
    models = sorted({m for _, m in sums} - {baseline})
    scores = np.full((len(rows), len(models) + 1), np.nan)
    col = {m: j for j, m in enumerate(models)}
    for (i, m), s in sums.items():
        if m in col:
            scores[i, col[m]] = s / counts[(i, m)]
    scores[:, -1] = 0.5
    return GradedSet("alpaca_eval", [r["prompt"] for r in rows], models + [baseline], scores,
                     [f"alpaca_eval/{r.get('dataset', 'unknown')}" for r in rows], ids=[f"alpaca_eval:{i}" for i in ids])


def alpaca_pair(data: GradedSet, model: str) -> GradedSet:
    """The two-column set (baseline, ``model``) for evaluation: qualities (1 - p, p), p = P(model's answer is better)."""
    p = data.column(model)
    scores = np.stack([1.0 - p, p], axis=1)
    return GradedSet(data.name, list(data.prompts), [canonical_model(ALPACA_BASELINE), canonical_model(model)], scores,
                     list(data.groups), ids=list(data.ids))


def load_arena_bench(data_dir: str | Path | None = None) -> GradedSet:
    """arena_bench_v1's 158 Chatbot Arena prompts × 15 models, quality = (GPT-4 score - 1) / 9."""
    root = Path(data_dir or default_data_dir()) / "arena_bench_v1"
    questions = {str(r["question_id"]): r["prompt"] for r in _read_jsonl(root / "questions.jsonl")}
    path = root / "scores.csv"
    if not path.is_file():
        raise DataFormatError(f"file {str(path)!r} does not exist")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        if "question_id" not in header:
            raise DataFormatError(f"{str(path)!r} has no 'question_id' column (columns: {header})")
        model_cols = [c for c in header if c != "question_id"]
        prompts, ids, rows = [], [], []
        for rec in reader:
            qid = rec["question_id"]
            if qid not in questions or not questions[qid].strip():
                continue
            vals = []
            for c in model_cols:
                try:
                    v = float(rec[c]) if rec[c] not in (None, "") else np.nan
                except ValueError:
                    v = np.nan
                vals.append((v - 1.0) / 9.0 if np.isfinite(v) else np.nan)
            prompts.append(questions[qid])
            ids.append(f"arena_bench_v1:{qid}")
            rows.append(vals)
    scores = np.clip(np.array(rows, dtype=float).reshape(len(rows), len(model_cols)), 0.0, 1.0)
    return GradedSet("arena_bench_v1", prompts, [canonical_model(c) for c in model_cols], scores,
                     ["arena_bench_v1"] * len(prompts), ids=ids)


__all__ = ["ALPACA_BASELINE", "LICENCES", "ROUTELLM_STRONG", "alpaca_pair", "load_alpaca_eval", "load_arena_bench"]
