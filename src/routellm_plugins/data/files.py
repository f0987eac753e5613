"""Reading user files: prompt lists (JSONL/CSV with a ``prompt`` field) and benchmark files
(RouteLLM-format CSV, or MT-Bench/FastChat single-judgement JSONL)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Iterator

import numpy as np

from routellm_plugins.config_io import loads_json
from routellm_plugins.data.graded import GradedSet
from routellm_plugins.errors import DataFormatError

csv.field_size_limit(sys.maxsize)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSONL file, read lazily; nesting capped at MAX_DEPTH."""
    try:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    rec = loads_json(line, f"{str(path)!r} line {n}", DataFormatError)
                    if not isinstance(rec, dict):
                        raise DataFormatError(f"{str(path)!r} line {n}: expected a JSON object, got {type(rec).__name__}")
                    yield n, rec
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{str(path)!r} is not UTF-8 text: {exc}") from exc


def _read_jsonl(path: Path) -> list[dict]:
    return [rec for _, rec in _jsonl_rows(path)]


def _csv_rows(path: Path) -> Iterator[tuple[int, dict]]:
    """(row number, row) for each data row of a CSV/TSV file, read lazily."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            for n, row in enumerate(csv.DictReader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ","), 1):
                yield n, row
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{str(path)!r} is not UTF-8 text: {exc}") from exc


def iter_prompt_rows(path: str | Path, field: str = "prompt") -> Iterator[dict]:
    """The rows of a JSONL or CSV prompt file one at a time (constant memory), each checked to hold ``field``.

    A missing file or an unknown format is refused at the call, before any row is read.
    """
    p = Path(path)
    if not p.is_file():
        raise DataFormatError(f"input file {str(p)!r} does not exist")
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        rows, unit = _jsonl_rows(p), "line"
    elif suffix in (".csv", ".tsv"):
        rows, unit = _csv_rows(p), "row"
    else:
        raise DataFormatError(f"input file {str(p)!r}: use .jsonl or .csv (with a {field!r} field)")
    return _checked(rows, p, unit, field)


def _checked(rows: Iterator[tuple[int, dict]], path: Path, unit: str, field: str) -> Iterator[dict]:
    for n, row in rows:
        if field not in row:
            raise DataFormatError(f"{str(path)!r}: {unit} {n} has no {field!r} field (fields: {sorted(row)[:20]})")
        yield row


def read_prompts(path: str | Path, field: str = "prompt") -> list[str]:
    """Prompts from a JSONL (one object per line) or CSV file with a ``field`` column, in file order."""
    return [row[field] for row in iter_prompt_rows(path, field)]


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
