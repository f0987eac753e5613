"""The evaluation suite and its baselines on real data slices (real encoder and bundled checkpoints)."""

from __future__ import annotations

import numpy as np
import pytest

from routellm_plugins.cli import main
from routellm_plugins.evaluation.baselines import complexity_available, complexity_scores, length_scores
from routellm_plugins.evaluation.suite import SUITE_SETS, format_suite, load_suite_set, plot_suite, run_suite


def test_baselines_order_prompts_as_documented():
    short, long = "hi", "Explain, step by step, how to implement a lock-free queue in C++ with atomics. " * 3
    assert length_scores([short, long])[1] > length_scores([short, long])[0]
    assert complexity_available() is None  # litellm is installed with the test extras
    tiers = complexity_scores([short, long])
    assert np.all((tiers >= 0) & (tiers < 4)) and tiers[1] > tiers[0]


def test_every_suite_set_loads_with_both_models_graded(shared_data):
    for name in SUITE_SETS:
        ss = load_suite_set(name, shared_data, limit=25)
        assert len(ss.prompts) == 25 and np.isfinite(ss.strong).all() and np.isfinite(ss.weak).all()


@pytest.fixture(scope="module")
def result(shared_data, tmp_path_factory):
    cache = tmp_path_factory.mktemp("suite-cache")
    return run_suite(["mf", "length", "litellm_complexity"], data_dir=shared_data, sets=["gsm8k", "arena_bench_v1"],
                     cache_dir=cache, limit=40), cache


def test_suite_reports_every_router_on_every_set_with_a_macro_average(result):
    res, _ = result
    assert {(s, r) for s, r in res.reports} == {(s, r) for s in ("gsm8k", "arena_bench_v1") for r in ("mf", "length", "litellm_complexity")}
    assert all(0.0 <= rep.apgr <= 1.0 for rep in res.reports.values())
    assert ("gsm8k", "mf") in res.shares and ("gsm8k", "length") not in res.shares  # baselines have no threshold
    text = format_suite(res)
    assert "macro" in text and "CPT(50%)" in text and "strong share of the shipped router at its default threshold" in text
    assert abs(res.macro("mf") - np.mean([res.reports[(s, "mf")].apgr for s in ("gsm8k", "arena_bench_v1")])) < 1e-12


def test_scores_are_cached_so_a_rerun_gives_the_same_figures(result, shared_data):
    res, cache = result
    assert len(list((cache / "suite").glob("*.npy"))) == 2  # mf on two sets; baselines are not cached
    again = run_suite(["mf"], data_dir=shared_data, sets=["gsm8k", "arena_bench_v1"], cache_dir=cache, limit=40)
    assert again.reports[("gsm8k", "mf")].apgr == res.reports[("gsm8k", "mf")].apgr


def test_plot_has_a_panel_per_set(result, tmp_path):
    res, _ = result
    path = plot_suite(res, tmp_path / "suite.png")
    from PIL import Image

    with Image.open(path) as img:
        assert img.size[0] > img.size[1] > 300  # panels side by side, the legend in a spare panel or below


def test_cli_suite_runs_offline_and_names_a_bad_set(shared_data, tmp_path, capsys):
    rc = main(["evaluate", "--suite", "--routers", "length", "--sets", "gsm8k", "--limit", "30", "--data-dir", str(shared_data),
               "--plot", str(tmp_path / "s.png"), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "APGR" in out and (tmp_path / "s.png").is_file()
    assert main(["evaluate", "--suite", "--sets", "mmlu,nope", "--data-dir", str(shared_data), "--quiet"]) == 2
    assert "unknown suite set 'nope'" in capsys.readouterr().err


def test_embedder_tiers_never_share_cached_suite_scores(monkeypatch):
    from routellm_plugins.evaluation.suite import _embedder_tag

    monkeypatch.delenv("ROUTELLM_EMBEDDER_PRECISION", raising=False)
    monkeypatch.delenv("ROUTELLM_EMBEDDER_BACKEND", raising=False)
    assert _embedder_tag() == ""  # the default path keeps the existing cache keys
    monkeypatch.setenv("ROUTELLM_EMBEDDER_BACKEND", "static")
    assert _embedder_tag() == "-static"
    monkeypatch.setenv("ROUTELLM_EMBEDDER_BACKEND", "onnx")
    monkeypatch.setenv("ROUTELLM_EMBEDDER_PRECISION", "int8")
    assert _embedder_tag() == "-int8"


def test_the_random_baseline_gives_a_set_the_same_figure_whatever_ran_before(shared_data, tmp_path):
    both = run_suite(["random"], data_dir=shared_data, sets=["gsm8k", "arena_bench_v1"], cache_dir=tmp_path / "a", limit=40)
    alone = run_suite(["random"], data_dir=shared_data, sets=["arena_bench_v1"], cache_dir=tmp_path / "b", limit=40)
    assert both.reports[("arena_bench_v1", "random")].apgr == alone.reports[("arena_bench_v1", "random")].apgr
