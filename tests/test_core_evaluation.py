"""APGR / CPT computed exactly on hand-checkable curves."""

from __future__ import annotations

import numpy as np
import pytest

from routellm_plugins.errors import DataFormatError
from routellm_plugins.evaluation import apgr, cost_quality_curve, cpt, evaluate_scores


def test_perfect_router_beats_random_and_random_is_half():
    rng = np.random.default_rng(0)
    strong = rng.integers(0, 2, 4000).astype(float)
    weak = np.where(rng.random(4000) < 0.5, strong, 0.0)  # weak never beats strong here
    oracle = strong - weak
    assert apgr(cost_quality_curve(oracle, strong, weak)) > 0.8
    const = np.zeros(4000)  # all tied: the curve is the straight line, APGR exactly 0.5
    assert apgr(cost_quality_curve(const, strong, weak)) == pytest.approx(0.5)
    assert apgr(cost_quality_curve(rng.random(4000), strong, weak)) == pytest.approx(0.5, abs=0.03)


def test_cpt_interpolates_on_the_diagonal():
    strong = np.ones(10)
    weak = np.zeros(10)
    c = cost_quality_curve(np.zeros(10), strong, weak)  # diagonal from (0,0) to (1,1)
    assert cpt(c, 0.5) == pytest.approx(0.5)
    assert cpt(c, 0.8) == pytest.approx(0.8)


def test_report_fields_and_references():
    strong = np.array([1, 1, 1, 0.0])
    weak = np.array([0, 1, 0, 0.0])
    r = evaluate_scores("x", np.array([0.9, 0.1, 0.8, 0.2]), strong, weak)
    assert r.strong_quality == 0.75 and r.weak_quality == 0.25 and r.oracle_quality == 0.75
    assert r.cpt80 <= 0.5 and r.apgr > 0.7


def test_mismatched_lengths_are_refused():
    with pytest.raises(DataFormatError, match="equal"):
        cost_quality_curve([0.1, 0.2], np.ones(3), np.zeros(3))
