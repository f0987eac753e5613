"""Bad input to the core API: each gets one clear error naming the problem."""

from __future__ import annotations

import math

import numpy as np
import pytest

from routellm_plugins import (
    CheckpointError,
    ConfigError,
    InvalidPromptError,
    InvalidThresholdError,
    UnknownRouterError,
    load_router,
    parse_model_string,
)
from routellm_plugins.thresholds import AdaptiveThreshold, threshold_for_share
from routellm_plugins.validation import clean_prompt, clean_prompts


@pytest.mark.parametrize("bad", ["", "   ", "\n\t "])
def test_empty_prompt_is_refused_with_its_value(bad):
    with pytest.raises(InvalidPromptError, match="empty or whitespace"):
        clean_prompt(bad)


@pytest.mark.parametrize("bad, word", [(None, "NoneType"), (42, "int"), (b"bytes", "bytes"), (["x"], "list")])
def test_non_string_prompt_names_its_type(bad, word):
    with pytest.raises(InvalidPromptError, match=word):
        clean_prompt(bad)


def test_batch_error_names_the_index():
    with pytest.raises(InvalidPromptError, match="index 2"):
        clean_prompts(["a", "b", "  "])


def test_bare_string_is_not_a_batch():
    with pytest.raises(InvalidPromptError, match="wrap it in a list"):
        clean_prompts("one prompt")


def test_enormous_prompt_is_cut_to_head_and_tail():
    text = "HEAD " + "x" * 1_000_000 + " TAIL?"
    out = clean_prompt(text)
    assert len(out) < 11_000 and out.startswith("HEAD") and out.endswith("TAIL?")


def test_lone_surrogates_are_replaced_not_crashing():
    out = clean_prompt("bad \udcff text")
    out.encode("utf-8")  # would raise if the surrogate survived


@pytest.mark.parametrize("bad", [math.nan, -0.1, 1.5, "abc", True])
def test_bad_thresholds_are_refused(bad):
    with pytest.raises(InvalidThresholdError, match="threshold"):
        load_router("random", threshold=bad)


def test_model_string_parses_name_and_threshold():
    assert parse_model_string("router-mf-0.116") == ("mf", 0.116)
    assert parse_model_string("router-sw_ranking-0.5") == ("sw_ranking", 0.5)


@pytest.mark.parametrize("bad", ["router-nope-0.1", "mf-0.1", "router-mf-1.5", "router-mf-abc"])
def test_bad_model_strings(bad):
    with pytest.raises((UnknownRouterError, InvalidThresholdError), match=r"router|threshold"):
        parse_model_string(bad)


def test_unknown_router_lists_known_ones():
    with pytest.raises(UnknownRouterError, match="known routers: .*mf"):
        load_router("gpt5-router")


def test_missing_checkpoint_folder(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_router("mf", checkpoint=tmp_path / "nowhere")


def test_config_without_router_name():
    with pytest.raises(ConfigError, match="'router' name"):
        load_router({"threshold": 0.2})


def test_threshold_for_share_hits_the_share():
    scores = np.linspace(0, 1, 101)
    for share in (0.0, 0.1, 0.3, 0.5, 1.0):
        t = threshold_for_share(scores, share)
        assert abs((scores >= t).mean() - share) <= 0.011


def test_adaptive_threshold_tracks_a_drifting_distribution():
    rng = np.random.default_rng(0)
    adaptive = AdaptiveThreshold(0.3, window=500, initial=0.5)
    for _ in range(1000):  # traffic drifts to high scores: a fixed threshold would send ~all to strong
        adaptive.observe(rng.uniform(0.6, 1.0, 1))
    recent = rng.uniform(0.6, 1.0, 2000)
    assert abs((recent >= adaptive.threshold).mean() - 0.3) < 0.05
