"""Three-way outcome labels used by the classifier routers (bert, causal_llm)."""

from __future__ import annotations

import numpy as np
import pytest

from routellm_plugins.data.graded import ROUTELLM_STRONG, ROUTELLM_WEAK, GradedSet
from routellm_plugins.data.outcomes import STRONG_WINS, TIE, WEAK_WINS, default_classifier_sets, outcomes, pair_for
from routellm_plugins.errors import DataFormatError


def test_labels_follow_the_score_gap_and_drop_ungraded_rows():
    data = GradedSet("toy", ["a", "b", "c", "d"], [ROUTELLM_STRONG, ROUTELLM_WEAK],
                     np.array([[1, 0], [0, 1], [1, 1], [np.nan, 1]]))
    out = outcomes([data])
    assert out.prompts == ["a", "b", "c"]
    assert out.labels.tolist() == [STRONG_WINS, WEAK_WINS, TIE]
    assert out.pairs[0] == (ROUTELLM_STRONG, ROUTELLM_WEAK)


def test_sets_without_the_routellm_pair_use_best_and_worst_models():
    data = GradedSet("open", ["a", "b", "c"], ["x", "y", "z"], np.array([[1, 0, 1], [1, 0, 0], [0, 0, 1]]))
    assert pair_for(data) == ("x", "y")  # x and z tie on mean; the first listed wins the tie
    with pytest.raises(DataFormatError, match="one"):
        pair_for(GradedSet("one", ["a"], ["x"], np.array([[1.0]])))


def test_default_sets_keep_the_held_out_folds_out_of_training(shared_data):
    train, val = default_classifier_sets(shared_data)
    train_prompts = set(outcomes(train).prompts)
    val_prompts = outcomes(val).prompts
    assert len(train_prompts) > 10_000 and len(val_prompts) > 3000
    assert not train_prompts.intersection(val[0].prompts)  # MMLU validation fold never trains
    labels = outcomes(train).labels
    assert set(np.unique(labels)) == {STRONG_WINS, TIE, WEAK_WINS}
