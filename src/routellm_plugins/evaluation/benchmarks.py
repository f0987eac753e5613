"""Benchmarks the ``evaluate`` command knows by name, and evaluation of routers on them.

Named benchmarks only ever contain prompts the bundled routers were not trained on:
``gsm8k`` (all of RouteLLM's GSM8K file, never trained on), ``mmlu`` (the held-out fold 0,
see :mod:`routellm_plugins.training`), ``routerbench`` (RouterBench test split, GPT-4 vs Mixtral).
Contaminated prompts are dropped by the loaders.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from routellm_plugins.data.graded import ROUTELLM_STRONG, ROUTELLM_WEAK, GradedSet, canonical_model
from routellm_plugins.errors import DataFormatError
from routellm_plugins.evaluation.curves import RouterReport, evaluate_scores, format_table, plot_curves
from routellm_plugins.features import text_features

NAMED = ("gsm8k", "mmlu", "routerbench")
#: Reference rows computed without a trained router.
BASELINES = ("length",)


def load_named_benchmark(name: str, data_dir: str | os.PathLike[str] | None = None) -> GradedSet:
    """One of :data:`NAMED`, restricted to prompts the bundled routers never trained on."""
    from routellm_plugins.data.routellm_evals import load_gsm8k, load_mmlu
    from routellm_plugins.data.routerbench import load_routerbench
    from routellm_plugins.training import MMLU_TEST_FOLD, N_FOLDS

    if name == "gsm8k":
        return load_gsm8k(data_dir)
    if name == "mmlu":
        m = load_mmlu(data_dir)
        return m.subset(m.folds(N_FOLDS) == MMLU_TEST_FOLD)
    if name == "routerbench":
        return load_routerbench("test", data_dir).select_models([ROUTELLM_STRONG, ROUTELLM_WEAK])
    raise DataFormatError(f"unknown benchmark {name!r}; named: {', '.join(NAMED)}, or give a file path")


def strong_weak_columns(data: GradedSet, strong: str | None, weak: str | None) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Per-prompt qualities of the strong and weak model (default: the better of two models is strong)."""
    if strong is None and weak is None:
        if canonical_model(ROUTELLM_STRONG) in data.models and canonical_model(ROUTELLM_WEAK) in data.models:
            strong, weak = ROUTELLM_STRONG, ROUTELLM_WEAK
        elif len(data.models) == 2:
            means = np.nanmean(data.scores, axis=0)
            strong, weak = (data.models[0], data.models[1]) if means[0] >= means[1] else (data.models[1], data.models[0])
        else:
            raise DataFormatError(f"{data.name} has models {data.models}: pass --strong-model and --weak-model")
    if strong is None or weak is None:
        raise DataFormatError("give both --strong-model and --weak-model")
    return data.column(strong), data.column(weak), strong, weak


def evaluate_benchmark(
    benchmark: str,
    routers: Sequence[str],
    *,
    data_dir: str | os.PathLike[str] | None = None,
    checkpoints: Mapping[str, str] | None = None,
    judgements: str | None = None,
    strong_model: str | None = None,
    weak_model: str | None = None,
    plot: str | None = None,
    limit: int | None = None,
) -> tuple[str, str | None]:
    """Score the benchmark's prompts with each router (plus the length baseline); return (table, plot path)."""
    from routellm_plugins.data.files import load_benchmark
    from routellm_plugins.registry import load_router

    data = load_named_benchmark(benchmark, data_dir) if benchmark in NAMED else load_benchmark(benchmark, judgements)
    qs, qw, strong, weak = strong_weak_columns(data, strong_model, weak_model)
    ok = ~(np.isnan(qs) | np.isnan(qw))
    idx = np.flatnonzero(ok)[:limit] if limit else np.flatnonzero(ok)
    if idx.size == 0:
        raise DataFormatError(f"{benchmark}: no prompt is graded for both {strong!r} and {weak!r}")
    prompts = [data.prompts[i] for i in idx]
    qs, qw = qs[idx], qw[idx]
    reports: list[RouterReport] = []
    extra: dict[str, dict[str, float]] = {}
    for name in routers:
        router = load_router(name, checkpoint=(checkpoints or {}).get(name), **({"seed": 0} if name == "random" else {}))
        import time

        start = time.perf_counter()
        scores = router.score(prompts)
        extra[name] = {"ms/prompt": 1000 * (time.perf_counter() - start) / len(prompts)}
        reports.append(evaluate_scores(name, scores, qs, qw))
    reports.append(evaluate_scores("length (baseline)", text_features(prompts)[:, 0], qs, qw))
    title = f"{benchmark if benchmark in NAMED else Path(benchmark).name}: {strong} vs {weak}, {len(idx)} held-out prompts"
    table = title + "\n" + format_table(reports, extra)
    path = None
    if plot:
        Path(plot).parent.mkdir(parents=True, exist_ok=True)
        path = plot_curves(reports, plot, title)
    return table, path
