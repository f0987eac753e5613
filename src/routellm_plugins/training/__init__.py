"""The training recipe of the bundled checkpoints: which data, which splits, which settings.

Splits (all deterministic):
- MMLU (RouteLLM evals, GPT-4 vs Mixtral): fold = sha1(prompt) mod 5. Fold 0 is the held-out
  test fold (never trained on), fold 1 is the validation fold (early stopping), folds 2-4 train.
- GSM8K (``gsm8k_responses.csv``) is never trained on: it is the out-of-domain test.
- RouterBench train split (11 LLMs; GPT-4 and Mixtral among them) trains; its test split validates.
- RouterDC train files (7 open models): gsm8k-train, arc_challenge_train, humaneval_train,
  MATH_prealgebra, cmmlu_train. RouterDC's MMLU and GSM8K test files are not used (they may
  share questions with the MMLU/GSM8K test data above).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from routellm_plugins.data.graded import GradedSet, default_data_dir
from routellm_plugins.errors import ConfigError, DataFormatError

MMLU_TEST_FOLD = 0
MMLU_VALIDATION_FOLD = 1
N_FOLDS = 5
ROUTERDC_TRAIN_FILES = ("gsm8k-train", "arc_challenge_train", "humaneval_train", "MATH_prealgebra", "cmmlu_train")
TRAINABLE = ("mf", "sw_ranking", "bert", "causal_llm", "mixture")
#: Routers whose recipe reads the data folder itself: name -> "module:function" taking
#: ``(data_dir, *, seed, progress, **params)`` and returning a fitted router.
RECIPES = {
    "bert": "routellm_plugins.training.bert:train_bert",
    "causal_llm": "routellm_plugins.training.causal_llm:train_causal_llm",
    "mixture": "routellm_plugins.training.mixture:train_mixture",
}
#: The exam recipe's sources (``mf``, ``sw_ranking``, ``bert``, ``causal_llm``): name, origin, licence, split.
EXAM_SOURCES = (
    ("mmlu", "RouteLLM evaluation data (lm-sys/RouteLLM), MMLU", "Apache-2.0",
     "training: folds 2-4 of sha1(prompt) mod 5; validation: fold 1; fold 0 is never trained on"),
    ("routerbench", "RouterBench (withmartian/routerbench), ARC-Challenge and MBPP", "MIT",
     "training: train split; validation (early stopping): test split"),
    ("routerdc", "RouterDC 7-model files (shanghaiaiLab/RouterDC)", "as distributed with the RouterDC release (not stated in shared/data)",
     "training: gsm8k-train, arc_challenge_train, humaneval_train, MATH_prealgebra, cmmlu_train"),
)


def exam_provenance(name: str, **params: Any) -> dict[str, Any]:
    """The provenance record (training sources with licences and splits) of a router trained by the exam recipe."""
    return {
        "recipe": f"routellm_plugins.training ({name})",
        "sources": [{"name": n, "from": origin, "licence": lic, "split": split} for n, origin, lic, split in EXAM_SOURCES],
        "never_trained_on": ["MMLU fold 0", "GSM8K (gsm8k_responses.csv)", "AlpacaEval", "arena_bench_v1"],
        "non_commercial": False,
        "params": params,
    }


@dataclass
class TrainingData:
    """Training and validation sets with their embeddings (aligned lists)."""

    train: list[GradedSet]
    train_embeddings: list[np.ndarray]
    validation: list[GradedSet]
    validation_embeddings: list[np.ndarray]


def load_training_data(data_dir: str | os.PathLike[str] | None = None, *, progress: bool = False,
                       cache_dir: str | os.PathLike[str] | None = None) -> TrainingData:
    """The default recipe's sets (see module docstring), embedded with the bundled embedder (cached)."""
    from routellm_plugins.data.routellm_evals import load_mmlu
    from routellm_plugins.data.routerbench import load_routerbench
    from routellm_plugins.data.routerdc import load_routerdc
    from routellm_plugins.embedding_cache import embed_cached

    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if not root.is_dir():
        raise DataFormatError(f"training data folder {str(root)!r} does not exist (pass --data-dir)")
    mmlu = load_mmlu(root)
    folds = mmlu.folds(N_FOLDS)
    mmlu_emb = embed_cached(mmlu.prompts, cache_dir=cache_dir, progress=progress)
    train = [mmlu.subset(folds >= 2), load_routerbench("train", root)] + [load_routerdc(f, root) for f in ROUTERDC_TRAIN_FILES]
    train_emb = [mmlu_emb[folds >= 2]] + [embed_cached(s.prompts, cache_dir=cache_dir, progress=progress) for s in train[1:]]
    val = [mmlu.subset(folds == MMLU_VALIDATION_FOLD), load_routerbench("test", root)]
    val_emb = [mmlu_emb[folds == MMLU_VALIDATION_FOLD], embed_cached(val[1].prompts, cache_dir=cache_dir, progress=progress)]
    return TrainingData(train, train_emb, val, val_emb)


def train_with_recipe(name: str, data_dir: str | os.PathLike[str] | None = None, *, seed: int = 0,
                      progress: bool = False, **params: Any):
    """Train a router whose recipe reads ``data_dir`` itself (``bert``, ``causal_llm``, ``mixture``)."""
    import importlib

    if name not in RECIPES:
        raise ConfigError(f"router {name!r} has no self-contained recipe; those are: {', '.join(RECIPES)}")
    module, _, fn = RECIPES[name].partition(":")
    router = getattr(importlib.import_module(module), fn)(data_dir, seed=seed, progress=progress, **params)
    if not router.provenance:
        router.provenance = exam_provenance(name, seed=seed, **params)
    return router


def train_router(name: str, data: TrainingData, *, seed: int = 0, progress: bool = False, **params: Any):
    """Train router ``name`` ("mf" or "sw_ranking") on ``data`` with the default recipe."""
    from routellm_plugins.registry import router_class

    if name not in TRAINABLE or name in RECIPES:
        raise ConfigError(f"router {name!r} is not trainable here; trainable: {', '.join(TRAINABLE)}")
    router = router_class(name)(seed=seed, **params)
    if name == "mf":
        router.fit(data.train, data.train_embeddings, validation=list(zip(data.validation, data.validation_embeddings)), progress=progress)
    else:
        router.fit(data.train, data.train_embeddings)
    router.provenance = exam_provenance(name, seed=seed, **params)
    return router
