"""Pools built from exam and chat sources at once: one quality scale, unified names, source offsets,
ensembles of clusterings, leave-one-task-out evaluation, and the bundled pool's recipe."""

from __future__ import annotations

import numpy as np
import pytest

from routellm_plugins.data.graded import concat
from routellm_plugins.pool.profiles import LLMProfiles, additive_fit
from routellm_plugins.pool.sources import embed_by_group, load_source, source_of, task_of
from routellm_plugins.pool.training import PoolSettings, fit_pool


@pytest.fixture(scope="module")
def mixed(shared_data):
    """Real prompts of three sources (arena_bench_v1, two AlpacaEval subsets, RouterBench MBPP), embedded once."""
    parts = []
    arena = load_source("arena_bench_v1", "train", shared_data)
    parts.append(arena)
    alpaca = load_source("alpaca_eval", "train", shared_data)
    parts.append(alpaca.subset(np.array([g in ("alpaca_eval/vicuna", "alpaca_eval/helpful_base") for g in alpaca.groups])))
    rb = load_source("routerbench", "train", shared_data)
    parts.append(rb.subset(np.array([g.endswith("mbpp") for g in rb.groups])))
    data = concat(parts, "mixed")
    return data, embed_by_group(data)


def test_every_source_is_on_one_scale_with_unified_names(shared_data):
    alpaca = load_source("alpaca_eval", "train", shared_data)
    arena = load_source("arena_bench_v1", "train", shared_data)
    for data in (alpaca, arena):
        s = data.scores[~np.isnan(data.scores)]
        assert s.min() >= 0.0 and s.max() <= 1.0
    assert np.all(alpaca.column("gpt-4-1106-preview") == 0.5)  # the AlpacaEval baseline ties with itself
    nine = arena.scores[~np.isnan(arena.scores)] * 9  # (score - 1) / 9 of integer 1..10 judge scores
    assert np.allclose(nine, np.round(nine)) and nine.max() == 9
    both = set(alpaca.models) & set(arena.models)
    assert {"gpt-4-1106-preview", "mixtral-8x7b-instruct", "meta/llama-2-70b-chat", "claude-v1", "gpt-4-0314", "claude-2.1"} <= both
    assert task_of("routerdc/gsm8k-train") == task_of("routellm_evals/gsm8k") == "gsm8k"
    assert task_of("routerbench/arc-challenge") == task_of("routerdc/arc_challenge_test") == "arc"
    assert source_of("alpaca_eval/koala") == "alpaca_eval"
    assert not set(load_source("arena_bench_v1", "test", shared_data).ids) & set(arena.ids)


def test_additive_fit_recovers_source_spreads_and_caps_single_source_models():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.3, 0.6, 6), np.array([0.2, 0.0, -0.1, -0.1])
    src = np.array([0, 0, 0, 1, 1, 1])
    g = np.array([0.8, 1.6])  # source 1 spreads models twice as wide
    y = a[:, None] + g[src][:, None] * b[None, :]
    n = np.full(y.shape, 20.0)
    fit = additive_fit(y * n, n, src)
    assert np.allclose(fit, y, atol=1e-4)
    n_missing = n.copy()
    n_missing[3:, 3] = 0.0  # model 3 never graded on source 1: filled from its level on source 0
    fit = additive_fit(y * n_missing, n_missing, src)
    assert np.all(np.abs(fit[3:, 3] - y[3:, 3]) < 0.08)
    # A model graded on one source only that beats everyone there is not predicted above the best model elsewhere.
    y2 = np.concatenate([y, np.array([0.9, 0.9, 0.9, np.nan, np.nan, np.nan])[:, None]], axis=1)
    n2 = np.concatenate([n, np.array([20.0, 20, 20, 0, 0, 0])[:, None]], axis=1)
    fit2 = additive_fit(np.nan_to_num(y2) * n2, n2, src)
    assert np.all(fit2[3:, 4] <= fit2[3:, :4].max(1) + 1e-9)


def test_a_model_profiled_on_one_source_is_judged_by_what_it_was_graded_on():
    """Two sources with different levels share one cluster; a new model graded on source A only keeps its lead there."""
    n = 40
    groups = ["exam/x"] * n + ["chat/y"] * n
    emb = np.ones((2 * n, 3), dtype=np.float32)
    strong = np.r_[np.full(n, 0.9), np.full(n, 0.5)]  # graded on both (chat on a lower, win-rate-like level)
    weak = np.r_[np.full(n, 0.5), np.full(n, 0.1)]
    new = np.r_[np.full(n, 1.0), np.full(n, np.nan)]  # graded on the exam prompts only: better than strong there
    prof = LLMProfiles([f"p{i}" for i in range(2 * n)], ["x"] * (2 * n), emb, ["strong", "weak", "new"],
                       np.stack([strong, weak, new], axis=1), groups=groups)
    q = prof.cluster_quality(np.zeros(2 * n, dtype=int), 1, prior=5.0)[0]
    assert q[2] > q[0] > q[1]
    assert q[0] - q[1] == pytest.approx(0.4, abs=0.02)  # the gap both sources agree on
    mean = prof.mean_quality()
    assert mean[0] > mean[1] and mean[2] > mean[1]


def test_ensemble_of_clusterings_saves_loads_and_predicts_identically(mixed, tmp_path):
    from routellm_plugins.pool import PoolRouter

    data, emb = mixed
    pools = fit_pool(data, emb, PoolSettings(k=4, n_clusterings=3, epochs=30, knn_k=10, prior="auto"))
    for name in ("uniroute_kmeans", "uniroute_map"):
        r = pools[name]
        assert r.n_clusterings == 3 and r.centroids.shape == (12, emb.shape[1])
        w = r._weights(emb[:20])
        assert w.shape == (20, 12) and np.allclose(w.sum(1), 1.0)
        assert np.allclose(w.reshape(20, 3, 4).sum(2), 1 / 3)  # each clustering carries a third
    path = pools["uniroute_map"].save(tmp_path / "pool")
    back = PoolRouter.load(path)
    assert back.n_clusterings == 3 and back.cluster_map.blocks == 3
    assert np.allclose(back.predict_embedded(emb[:50]), pools["uniroute_map"].predict_embedded(emb[:50]), atol=1e-6)


def test_leave_one_task_out_measures_gain_over_the_routers_own_mean(mixed):
    from routellm_plugins.pool.heldout_tasks import leave_one_task_out
    from routellm_plugins.pool.sources import PoolData

    data, emb = mixed
    pool = PoolData(data, "train")
    report = leave_one_task_out(pool, emb, pool, emb, PoolSettings(k=4, epochs=20, knn_k=10), tasks=["arena_bench_v1"],
                                log=lambda m: None)
    rows = report.rows
    assert {r["router"] for r in rows} == {"UniRoute-KMeans", "UniRoute-LearnedMap", "K-NN", "ZeroRouter"}
    for r in rows:
        assert r["task"] == "arena_bench_v1" and r["n_prompts"] > 100 and r["n_models"] >= 3
        assert r["gain"] == pytest.approx(r["area"] - r["own_mean_area"], abs=1e-3)
        assert "gpt-4-1106-preview" in r["models"]  # profiled from AlpacaEval alone, priced by LiteLLM
    zero = next(r for r in rows if r["router"] == "ZeroRouter")
    assert zero["gain"] == 0.0  # a prompt-independent router gains nothing over its own mean
    assert "gain >= 0.02 and QNC < 1" in report.table()
    with pytest.raises(Exception, match="unknown tasks"):
        leave_one_task_out(pool, emb, pool, emb, PoolSettings(k=4), tasks=["poetry"])


def test_bundled_recipe_reads_references_from_the_data_and_uses_no_test_split(shared_data):
    from routellm_plugins.pool.profiling import CHECK, EXACT, REFERENCE, SCALE
    from routellm_plugins.training.pool import PROFILING, REFERENCE_CHARS, bundled_pool_data, mbpp_references

    built = bundled_pool_data(shared_data)
    groups = set(built["data"].groups)
    assert not any(g.startswith("routellm_evals") or "test" in g for g in groups), sorted(groups)
    modes = {}
    for pid, mode in built["grading"].items():
        modes.setdefault(mode, 0)
        modes[mode] += 1
    assert modes[EXACT] == modes[REFERENCE] == modes[CHECK] == 100 and modes[SCALE] > 100
    assert set(PROFILING) >= {"routerdc/gsm8k-train"}
    refs = mbpp_references(shared_data, "train")
    assert len(refs) > 200 and all(0 < len(t) <= REFERENCE_CHARS for t in refs.values())
    assert sum("def " in t for t in refs.values()) > 0.9 * len(refs)  # real code solutions


def test_cluster_diagnostics_separate_code_maths_and_writing(mixed):
    from routellm_plugins.pool.diagnostics import benchmark_separation, chat_separation, nmi, purity, request_kind

    assert request_kind("Write a Python function that sorts a list") == "code"
    assert request_kind("Solve 3x + 5 = 20 for x") == "maths"
    assert request_kind("Write a short poem about the sea") == "writing"
    assert request_kind("What are good names for a cat?") == "other"
    assert nmi([0, 0, 1, 1], ["a", "a", "b", "b"]) == pytest.approx(1.0) and nmi([0, 1, 0, 1], ["a", "a", "b", "b"]) == pytest.approx(0.0)
    assert purity(np.array([0, 0, 1, 1]), np.array(["a", "b", "b", "b"])) == 0.75
    data, emb = mixed
    router = fit_pool(data, emb, PoolSettings(k=6, n_clusterings=2, epochs=5, knn_k=10))["uniroute_kmeans"]
    bench = benchmark_separation(router, data.groups, emb)
    assert 0.0 < bench["nmi"] <= 1.0 and bench["purity"] > 0.6 and set(bench["tasks"]) == {"arena_bench_v1", "alpaca_eval", "mbpp"}
    chat = [i for i, g in enumerate(data.groups) if not g.startswith("routerbench")]
    out = chat_separation(router, [data.prompts[i] for i in chat], emb[chat])
    assert out["code"]["code"] > out["other"]["code"]  # code requests sit with the MBPP prompts
