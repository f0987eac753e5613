"""The recipe of the bundled UniRoute pool: which data, which prompts profile a model, which settings.

- **Clusters and learned map**: every *train*-split prompt of RouterBench, RouterDC, AlpacaEval
  and arena_bench_v1 (:func:`routellm_plugins.pool.sources.load_pool_data`).
- **Representative prompts** (the stored profiles): all of them, except RouterDC files, capped
  at :data:`ROUTERDC_CAP` prompts each. No test split of any source is used (RouteLLM's GSM8K
  and MMLU files are evaluation sets, so they are left out entirely).
- **Profiling prompts** (what ``routellm-plugins profile --model`` sends to a new model), from the
  representative prompts: :data:`PROFILING`.
- **Costs**: LiteLLM prices (:func:`routellm_plugins.pool.costs.model_price`), NaN where unknown.
"""

from __future__ import annotations

import ast
import csv
import sys
from pathlib import Path
from typing import Any

import numpy as np

from routellm_plugins.data.graded import GradedSet, default_data_dir
from routellm_plugins.pool.profiling import CHECK, EXACT, REFERENCE, SCALE

csv.field_size_limit(sys.maxsize)

#: RouterDC prompts per file kept as representative prompts (the rest still shape clusters and map).
ROUTERDC_CAP = 150
#: group prefix -> (grading mode, number of profiling prompts; None = all). GSM8K train questions have
#: no gold answer in the data, so the judge checks them.
PROFILING = {
    "routerbench/arc": (EXACT, 100),
    "routerbench/mbpp": (REFERENCE, 100),
    "routerdc/gsm8k-train": (CHECK, 100),
    "arena_bench_v1": (SCALE, None),
}
#: Preference order of the RouterBench model whose correct answer becomes an MBPP reference.
REFERENCE_MODELS = ("gpt-4-1106-preview", "claude-v2", "gpt-3.5-turbo-1106", "mixtral-8x7b-instruct")
REFERENCE_CHARS = 2000
_LICENCES = {
    "routerbench": "MIT (RouterBench)",
    "routerdc": "RouterDC release (see its repository)",
    "alpaca_eval": "CC BY-NC 4.0 (AlpacaEval data; non-commercial)",
    "arena_bench_v1": "Apache-2.0 (lm-sys/arena-hard-auto)",
}


def _response_text(raw: str) -> str:
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw
    return str(value[0] if isinstance(value, (list, tuple)) and value else value)


def mbpp_references(data_dir: str | Path | None = None, split: str = "train") -> dict[str, str]:
    """RouterBench MBPP sample id -> a correct answer (first of :data:`REFERENCE_MODELS` graded correct), truncated."""
    path = Path(data_dir or default_data_dir()) / "routerbench" / f"mbpp_{split}.csv"
    out: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        cols = {c.split("/")[-1].lower(): c for c in (reader.fieldnames or []) if c + "|model_response" in (reader.fieldnames or [])}
        for rec in reader:
            for m in REFERENCE_MODELS:
                col = cols.get(m.split("/")[-1].lower()) or cols.get("mixtral-8x7b-chat" if m == "mixtral-8x7b-instruct" else m)
                if col and (rec.get(col) or "").strip() in ("1", "1.0"):
                    text = _response_text(rec.get(col + "|model_response") or "").strip()
                    if text:
                        out[rec["sample_id"]] = text[:REFERENCE_CHARS]
                        break
    return out


def bundled_pool_data(data_dir: str | Path | None = None, seed: int = 0) -> dict[str, Any]:
    """Training prompts, representative rows, answers, grading modes and references of the bundled pool (see module doc)."""
    from routellm_plugins.pool.sources import load_pool_data, stratified_rows
    from routellm_plugins.pool.training import routerbench_answers

    data = load_pool_data("train", data_dir).data
    groups = np.array(data.groups)
    is_rdc = np.array([g.startswith("routerdc/") for g in data.groups])
    rep = np.sort(np.concatenate([np.flatnonzero(~is_rdc), np.flatnonzero(is_rdc)[stratified_rows(groups[is_rdc], ROUTERDC_CAP, seed)]]))
    answers = routerbench_answers("train", data_dir)
    refs = mbpp_references(data_dir, "train")
    grading: dict[str, str] = {}
    rng = np.random.default_rng(seed)
    for prefix, (mode, n) in PROFILING.items():
        rows = [i for i in rep if data.groups[i].startswith(prefix)]
        if mode == EXACT:
            rows = [i for i in rows if data.ids[i] in answers]
        if mode == REFERENCE:
            rows = [i for i in rows if data.ids[i] in refs]
        if n is not None and len(rows) > n:
            rows = sorted(rng.choice(rows, size=n, replace=False))
        grading.update({data.ids[i]: mode for i in rows})
    return {"data": data, "rep_index": rep, "answers": answers, "grading": grading,
            "references": {k: v for k, v in refs.items() if grading.get(k) == REFERENCE}}


def provenance(data: GradedSet, rep_index: np.ndarray, grading: dict[str, str]) -> dict[str, Any]:
    """Sources, splits, licences and prompt counts of the bundled pool, for router.json."""
    from routellm_plugins.data.chat import LICENCES
    from routellm_plugins.pool.sources import SCALES, source_of

    src = np.array([source_of(g) for g in data.groups])
    rep_src = src[rep_index]
    out = {}
    for s in sorted(set(src)):
        out[s] = {
            "scale": SCALES[s][0], "meaning_of_1": SCALES[s][1], "licence": _LICENCES.get(s, ""),
            "training_prompts": int((src == s).sum()), "representative_prompts": int((rep_src == s).sum()),
            "profiling_prompts": int(sum(1 for i in rep_index if src[i] == s and data.ids[i] in grading)),
            "split": "train",
        }
    out["alpaca_eval"]["source"] = LICENCES["alpaca_eval"][1]
    out["arena_bench_v1"]["source"] = LICENCES["arena_bench_v1"][1]
    return out
