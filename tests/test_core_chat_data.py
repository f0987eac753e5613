"""Open-chat data loaders on the real files: AlpacaEval preferences and arena_bench_v1 scores."""

from __future__ import annotations

import numpy as np
import pytest

from routellm_plugins.data.chat import LICENCES, alpaca_pair, load_alpaca_eval, load_arena_bench
from routellm_plugins.data.graded import ROUTELLM_STRONG, ROUTELLM_WEAK
from routellm_plugins.errors import DataFormatError


@pytest.fixture(scope="module")
def alpaca(shared_data):
    return load_alpaca_eval(shared_data)


def test_alpaca_is_a_prompt_by_model_matrix_of_win_rates_against_the_baseline(alpaca):
    assert len(alpaca) == 803 and len(alpaca.models) > 50
    assert alpaca.models[-1] == ROUTELLM_STRONG and np.all(alpaca.scores[:, -1] == 0.5)
    finite = alpaca.scores[np.isfinite(alpaca.scores)]
    assert finite.min() >= 0.0 and finite.max() <= 1.0
    assert {g.split("/")[1] for g in alpaca.groups} == {"helpful_base", "koala", "oasst", "selfinstruct", "vicuna"}


def test_alpaca_pair_gives_complementary_qualities_and_mixtral_wins_about_a_fifth(alpaca):
    pair = alpaca_pair(alpaca, "Mixtral-8x7B-Instruct-v0.1")
    assert pair.models == [ROUTELLM_STRONG, ROUTELLM_WEAK]
    assert np.allclose(pair.scores.sum(1), 1.0)
    assert 0.15 < pair.scores[:, 1].mean() < 0.25  # the data README: Mixtral beats the baseline on ~20 %


def test_arena_scores_are_on_the_unit_scale_with_both_routed_models(shared_data):
    arena = load_arena_bench(shared_data)
    assert len(arena.models) == 15 and len(arena) >= 150
    qs, qw = arena.column(ROUTELLM_STRONG), arena.column(ROUTELLM_WEAK)
    both = np.isfinite(qs) & np.isfinite(qw)
    assert both.sum() >= 150 and np.nanmin(arena.scores) >= 0 and np.nanmax(arena.scores) <= 1
    assert qs[both].mean() > qw[both].mean()  # GPT-4-1106 scores higher than Mixtral on average


def test_licences_are_recorded_and_a_missing_folder_is_a_clear_error(tmp_path):
    assert "NC" in LICENCES["alpaca_eval"][0] and LICENCES["arena_bench_v1"][0] == "Apache-2.0"
    with pytest.raises(DataFormatError, match="does not exist"):
        load_arena_bench(tmp_path)
