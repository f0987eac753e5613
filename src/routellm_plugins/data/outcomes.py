"""Three-way pairwise outcomes (strong wins / tie / weak wins) for the classifier routers.

Rule mapping a graded set to one strong/weak pair (documented for ``bert`` and ``causal_llm``):
- a set that grades both of RouteLLM's models (GPT-4-1106 and Mixtral-8x7B) uses that pair;
- any other set (e.g. RouterDC's seven open models) uses its best model by mean score as
  "strong" and its worst as "weak".
Per prompt: strong wins if its score beats the weak model's by more than ``tie_margin``,
weak wins if the reverse, otherwise a tie. Prompts where either model is ungraded are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from routellm_plugins.data.graded import ROUTELLM_STRONG, ROUTELLM_WEAK, GradedSet, canonical_model
from routellm_plugins.errors import DataFormatError

STRONG_WINS, TIE, WEAK_WINS = 0, 1, 2
LABELS = ("strong_wins", "tie", "weak_wins")


@dataclass
class Outcomes:
    """Aligned prompts and labels in {STRONG_WINS, TIE, WEAK_WINS}, with the pair each came from."""

    prompts: list[str]
    labels: np.ndarray
    pairs: list[tuple[str, str]]

    def __len__(self) -> int:
        return len(self.prompts)


def pair_for(data: GradedSet) -> tuple[str, str]:
    """The (strong, weak) pair used for ``data`` by the rule in the module docstring."""
    if canonical_model(ROUTELLM_STRONG) in data.models and canonical_model(ROUTELLM_WEAK) in data.models:
        return canonical_model(ROUTELLM_STRONG), canonical_model(ROUTELLM_WEAK)
    if len(data.models) < 2:
        raise DataFormatError(f"{data.name} grades {len(data.models)} model(s); a pair needs two")
    means = np.nanmean(data.scores, axis=0)
    order = np.argsort(-means, kind="stable")
    return data.models[int(order[0])], data.models[int(order[-1])]


def outcomes(sets: Sequence[GradedSet], *, tie_margin: float = 1e-9) -> Outcomes:
    """Three-way labels for every prompt of ``sets`` graded by both models of its pair."""
    prompts: list[str] = []
    labels: list[np.ndarray] = []
    pairs: list[tuple[str, str]] = []
    for data in sets:
        strong, weak = pair_for(data)
        gain = data.column(strong) - data.column(weak)
        keep = np.isfinite(gain)
        lab = np.where(gain > tie_margin, STRONG_WINS, np.where(gain < -tie_margin, WEAK_WINS, TIE))[keep]
        prompts += [p for p, k in zip(data.prompts, keep) if k]
        labels.append(lab.astype(np.int64))
        pairs += [(strong, weak)] * int(keep.sum())
    return Outcomes(prompts, np.concatenate(labels) if labels else np.zeros(0, np.int64), pairs)


def default_classifier_sets(data_dir=None) -> tuple[list[GradedSet], list[GradedSet]]:
    """(train sets, validation sets) of the bundled recipe (see :mod:`routellm_plugins.training`), without embeddings."""
    from routellm_plugins.data.routellm_evals import load_mmlu
    from routellm_plugins.data.routerbench import load_routerbench
    from routellm_plugins.data.routerdc import load_routerdc
    from routellm_plugins.training import MMLU_VALIDATION_FOLD, N_FOLDS, ROUTERDC_TRAIN_FILES

    mmlu = load_mmlu(data_dir)
    folds = mmlu.folds(N_FOLDS)
    train = [mmlu.subset(folds >= 2), load_routerbench("train", data_dir).select_models([ROUTELLM_STRONG, ROUTELLM_WEAK])]
    train += [load_routerdc(f, data_dir) for f in ROUTERDC_TRAIN_FILES]
    val = [mmlu.subset(folds == MMLU_VALIDATION_FOLD), load_routerbench("test", data_dir).select_models([ROUTELLM_STRONG, ROUTELLM_WEAK])]
    return train, val
