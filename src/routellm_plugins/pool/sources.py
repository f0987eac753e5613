"""The graded data a pool is built from: exam sets and open-chat sets on one quality scale.

Every source gives a per-prompt quality in [0, 1] (see :data:`SCALES`):

- **correct** (RouterBench, RouterDC): 1 = correct, 0 = wrong (RouterDC's partial credit kept);
- **win** (AlpacaEval): P(the model's answer is preferred to GPT-4-turbo's), judged by GPT-4-turbo;
  GPT-4-turbo itself scores 0.5 (a tie with itself);
- **judge_1_10** (arena_bench_v1): (GPT-4 score - 1) / 9.

Within one prompt, only differences between models matter for routing, and these differences have
similar sizes across sources (GPT-4-turbo vs Mixtral: 0.29 on AlpacaEval, 0.26 on arena_bench_v1).
What differs is each source's level; a pool therefore keeps every source's level apart
(:meth:`~routellm_plugins.pool.profiles.LLMProfiles.cluster_quality` fits one offset per cluster
and source), so a model graded on some sources only is compared fairly with one graded on all.

Prompts are grouped as ``<source>/<task file>``; :func:`task_of` maps a group to its benchmark
(``arc``, ``mbpp``, ``gsm8k``, ...), the unit held out by leave-one-task-out evaluation.
Splits: RouterBench and RouterDC as shipped (``MATH_prealgebra`` and the chat sets: fold 0 of
sha1(prompt) mod 5 is test, the rest train).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from routellm_plugins.data.graded import GradedSet, concat, default_data_dir, prompt_fold
from routellm_plugins.errors import ConfigError

#: source -> (scale name, meaning of a quality of 1).
SCALES = {
    "routerbench": ("correct", "answer graded correct (exact answer or tests passed)"),
    "routerdc": ("correct", "answer graded correct (partial credit as recorded by RouterDC)"),
    "alpaca_eval": ("win", "answer preferred to GPT-4-turbo's by the GPT-4-turbo judge (GPT-4-turbo itself: 0.5)"),
    "arena_bench_v1": ("judge_1_10", "GPT-4 judge score 10 of 10 ((score - 1) / 9)"),
    "routellm_evals": ("correct", "answer graded correct (GPT-4-turbo and Mixtral on GSM8K; profiling prompts only)"),
}
#: Sources of the evaluation experiments (routellm_evals holds RouteLLM's test sets: profiling prompts only).
SOURCES = ("routerbench", "routerdc", "alpaca_eval", "arena_bench_v1")
#: Group (``<source>/<file>``) prefix -> benchmark (the leave-one-task-out unit).
_TASKS = (
    ("routerbench/arc", "arc"), ("routerbench/mbpp", "mbpp"),
    ("routerdc/arc_challenge", "arc"), ("routerdc/gsm8k", "gsm8k"), ("routerdc/humaneval", "humaneval"),
    ("routerdc/MATH", "math"), ("routerdc/mmlu", "mmlu"), ("routerdc/cmmlu", "cmmlu"),
    ("alpaca_eval", "alpaca_eval"), ("arena_bench_v1", "arena_bench_v1"), ("routellm_evals/gsm8k", "gsm8k"),
)
TASKS = tuple(dict.fromkeys(t for _, t in _TASKS))
#: RouterDC files per split (MATH_prealgebra has one file: split by prompt fold).
ROUTERDC_FILES = {
    "train": ("mmlu_train", "gsm8k-train", "arc_challenge_train", "humaneval_train", "cmmlu_train"),
    "test": ("mmlu_test", "gsm8k-test", "arc_challenge_test", "humaneval_test", "cmmlu_test"),
}
TEST_FOLD = 0


def source_of(group: str) -> str:
    """The source of a prompt group (``"routerdc/gsm8k-train"`` -> ``"routerdc"``)."""
    return group.split("/", 1)[0]


def task_of(group: str) -> str:
    """The benchmark of a prompt group (``"routerdc/gsm8k-train"`` -> ``"gsm8k"``); the group itself when unknown."""
    for prefix, task in _TASKS:
        if group.startswith(prefix):
            return task
    return group


@dataclass
class PoolData:
    """All graded prompts of one split, stacked over the union of models (NaN = not graded), with costs where recorded."""

    data: GradedSet
    split: str

    @property
    def tasks(self) -> np.ndarray:
        return np.array([task_of(g) for g in self.data.groups])

    @property
    def sources(self) -> np.ndarray:
        return np.array([source_of(g) for g in self.data.groups])


def _fold_split(data: GradedSet, split: str) -> GradedSet:
    if split == "all":
        return data
    test = data.folds(5) == TEST_FOLD
    return data.subset(test if split == "test" else ~test)


def load_source(source: str, split: str = "train", data_dir: str | Path | None = None) -> GradedSet:
    """One source's graded prompts of ``split`` ("train", "test" or "all"), groups ``<source>/<file>``."""
    if split not in ("train", "test", "all"):
        raise ConfigError(f"split must be 'train', 'test' or 'all', got {split!r}")
    splits = ("train", "test") if split == "all" else (split,)
    if source == "routerbench":
        from routellm_plugins.data.routerbench import load_routerbench
        from routellm_plugins.pool.training import merge_duplicate_ids

        parts = [merge_duplicate_ids(load_routerbench(s, data_dir)) for s in splits]
        return concat(parts, "routerbench") if len(parts) > 1 else parts[0]
    if source == "routerdc":
        from routellm_plugins.data.routerdc import load_routerdc

        parts = [load_routerdc(f, data_dir) for s in splits for f in ROUTERDC_FILES[s]]
        parts.append(_fold_split(load_routerdc("MATH_prealgebra", data_dir), split))
        return concat(parts, "routerdc")
    if source == "alpaca_eval":
        from routellm_plugins.data.chat import load_alpaca_eval

        return _fold_split(load_alpaca_eval(data_dir), split)
    if source == "arena_bench_v1":
        from routellm_plugins.data.chat import load_arena_bench

        return _fold_split(load_arena_bench(data_dir), split)
    raise ConfigError(f"unknown pool data source {source!r}; known: {', '.join(SOURCES)}")


def load_pool_data(split: str = "train", data_dir: str | Path | None = None, sources: Sequence[str] = SOURCES) -> PoolData:
    """Every source's ``split`` stacked into one :class:`GradedSet` (see module doc for scales and splits)."""
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ConfigError(f"unknown pool data sources {unknown}; known: {', '.join(SOURCES)}")
    data_dir = Path(data_dir or default_data_dir())
    return PoolData(concat([load_source(s, split, data_dir) for s in sources], f"pool-{split}"), split)


def stratified_rows(groups: Sequence[str], per_group: int, seed: int = 0) -> np.ndarray:
    """Sorted row indices: at most ``per_group`` rows of every group, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    arr = np.asarray(groups)
    picked = []
    for g in sorted(set(groups)):
        rows = np.flatnonzero(arr == g)
        picked.append(rows if len(rows) <= per_group else rng.choice(rows, per_group, replace=False))
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=int)


def split_of_prompt(prompt: str) -> str:
    """'test' or 'train' for a fold-split source (the chat sets, MATH_prealgebra)."""
    return "test" if prompt_fold(prompt, 5) == TEST_FOLD else "train"


def embed_by_group(data: GradedSet, embed=None) -> np.ndarray:
    """Embeddings (n, d) of ``data``'s prompts, computed group by group with the on-disk cache (so runs share them)."""
    if embed is None:
        from routellm_plugins.embedding_cache import embed_cached as embed
    groups = np.asarray(data.groups)
    out: np.ndarray | None = None
    for g in dict.fromkeys(data.groups):
        rows = np.flatnonzero(groups == g)
        e = np.asarray(embed([data.prompts[i] for i in rows]), dtype=np.float32)
        if out is None:
            out = np.zeros((len(data), e.shape[1]), dtype=np.float32)
        out[rows] = e
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def embedded_pool_data(split: str = "train", data_dir: str | Path | None = None, sources: Sequence[str] = SOURCES,
                       embed=None) -> tuple[PoolData, np.ndarray]:
    """:func:`load_pool_data` with its embeddings; "all" is the train split followed by the test split."""
    if split == "all":
        parts = [embedded_pool_data(s, data_dir, sources, embed) for s in ("train", "test")]
        data = concat([p.data for p, _ in parts], "pool-all")
        return PoolData(data, "all"), np.concatenate([e for _, e in parts])
    pool = load_pool_data(split, data_dir, sources)
    return pool, embed_by_group(pool.data, embed)
