"""Reading user files: prompt lists (JSONL/CSV with a ``prompt`` field) and benchmark files
(RouteLLM-format CSV, or MT-Bench/FastChat single-judgement JSONL)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from routellm_plugins.data.graded import GradedSet
from routellm_plugins.errors import DataFormatError

csv.field_size_limit(sys.maxsize)


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    try:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    rec = json.loads(line)
                    if not isinstance(rec, dict):
                        raise DataFormatError(f"{str(path)!r} line {n}: expected a JSON object, got {type(rec).__name__}")
                    rows.append(rec)
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{str(path)!r} line {n} is not valid JSON: {exc.msg}") from exc
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{str(path)!r} is not UTF-8 text: {exc}") from exc
    return rows


def read_prompts(path: str | Path, field: str = "prompt") -> list[str]:
    """Prompts from a JSONL (one object per line) or CSV file with a ``field`` column, in file order."""
    p = Path(path)
    if not p.is_file():
        raise DataFormatError(f"input file {str(p)!r} does not exist")
    if p.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        rows = _read_jsonl(p)
    elif p.suffix.lower() in (".csv", ".tsv"):
        try:
            with p.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh, delimiter="\t" if p.suffix.lower() == ".tsv" else ","))
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"{str(p)!r} is not UTF-8 text: {exc}") from exc
    else:
        raise DataFormatError(f"input file {str(p)!r}: use .jsonl or .csv (with a {field!r} field)")
    missing = [i for i, r in enumerate(rows) if field not in r]
    if missing:
        raise DataFormatError(f"{str(p)!r}: row {missing[0]} has no {field!r} field (fields: {sorted(rows[missing[0]])})")
    return [r[field] for r in rows]


def load_mt_bench(questions: str | Path, judgements: str | Path) -> GradedSet:
    """MT-Bench/FastChat single judgements: ``question.jsonl`` (question_id, turns) + a judgement
    JSONL (question_id, model, score[, turn]). Uses turn 1 when turns are recorded; score -1 (judge
    failure) is treated as ungraded."""
    qs = _read_jsonl(Path(questions)) if Path(questions).is_file() else None
    if qs is None:
        raise DataFormatError(f"questions file {str(questions)!r} does not exist")
    if not Path(judgements).is_file():
        raise DataFormatError(f"judgement file {str(judgements)!r} does not exist")
    prompts: dict = {}
    for q in qs:
        if "question_id" not in q or not q.get("turns"):
            raise DataFormatError(f"{str(questions)!r}: every row needs 'question_id' and 'turns'")
        prompts[q["question_id"]] = q["turns"][0]
    table: dict = {}
    for j in _read_jsonl(Path(judgements)):
        if not {"question_id", "model", "score"} <= set(j):
            raise DataFormatError(f"{str(judgements)!r}: rows need question_id, model, score; got {sorted(j)}")
        if j.get("turn", 1) != 1 or j["question_id"] not in prompts or float(j["score"]) < 0:
            continue
        table.setdefault(j["question_id"], {})[j["model"]] = float(j["score"])
    models = sorted({m for row in table.values() for m in row})
    ids = [qid for qid in prompts if qid in table]
    scores = np.array([[table[q].get(m, np.nan) for m in models] for q in ids], dtype=float).reshape(len(ids), len(models))
    return GradedSet("mt_bench", [prompts[q] for q in ids], models, scores, ids=[str(q) for q in ids])


def load_benchmark(path: str | Path, judgements: str | Path | None = None) -> GradedSet:
    """A benchmark file: RouteLLM-format CSV, or MT-Bench questions JSONL + ``judgements``."""
    from routellm_plugins.data.routellm_evals import read_routellm_csv

    p = Path(path)
    if judgements is not None:
        return load_mt_bench(p, judgements)
    if p.suffix.lower() != ".csv":
        raise DataFormatError(f"benchmark {str(p)!r}: expected a RouteLLM-format .csv, or MT-Bench question.jsonl with --judgements")
    return read_routellm_csv(p)
