"""UniRoute pool routing on real RouterBench data with the real (bundled) embedder, kept small."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from routellm_plugins import ConfigError, DataFormatError, InvalidThresholdError, UnknownModelError
from routellm_plugins.decision import choose
from routellm_plugins.pool import PoolRouter, UniRouteLearnedMap, ZeroRouter, load_pool, upper_hull
from routellm_plugins.pool.clustering import kmeans
from routellm_plugins.pool.evaluation import Curve, area, router_curve, summarise
from routellm_plugins.pool.profiles import exact_match, read_graded_answers
from routellm_plugins.pool.training import PoolSettings, fit_pool, merge_duplicate_ids

GPT4 = "gpt-4-1106-preview"
MIXTRAL = "mixtral-8x7b-instruct"
GPT35 = "gpt-3.5-turbo-1106"
CLAUDE2 = "claude-v2"
HELD_OUT = [GPT35, CLAUDE2]  # never seen by the learned map in the small pool below


@pytest.fixture(scope="module")
def small(shared_data):
    """120 train / 60 test RouterBench prompts (both tasks), embedded once (cached on disk)."""
    from routellm_plugins.data.routerbench import load_routerbench
    from routellm_plugins.embedding_cache import embed_cached

    rng = np.random.default_rng(0)

    def pick(split, n_arc, n_mbpp):
        data = merge_duplicate_ids(load_routerbench(split, shared_data))
        ok = ~np.isnan(data.scores).any(1)
        groups = np.array(data.groups)
        rows = [rng.choice(np.flatnonzero(ok & (groups == g)), n, replace=False)
                for g, n in (("routerbench/arc-challenge", n_arc), ("routerbench/mbpp", n_mbpp))]
        sub = data.subset(np.sort(np.concatenate(rows)))
        return sub, embed_cached(sub.prompts)

    train, etr = pick("train", 80, 40)
    test, ete = pick("test", 40, 20)
    return train, etr, test, ete


@pytest.fixture(scope="module")
def routers(small):
    train, etr, _, _ = small
    settings = PoolSettings(k=4, epochs=60, knn_k=10, seed=0)
    train_models = [m for m in train.models if m not in HELD_OUT]
    return fit_pool(train, etr, settings, train_models=train_models)


def test_kmeans_is_seeded_and_separates_tasks(small):
    train, etr, _, _ = small
    c1, l1 = kmeans(etr, 2, seed=3)
    c2, l2 = kmeans(etr, 2, seed=3)
    assert np.array_equal(l1, l2) and np.allclose(c1, c2)
    is_code = np.array([g.endswith("mbpp") for g in train.groups])
    # ARC (5-shot multiple choice) and MBPP (one-line coding tasks) land in different clusters.
    agree = max((l1 == is_code).mean(), (l1 != is_code).mean())
    assert agree > 0.95


def test_every_variant_predicts_all_models_in_unit_interval(routers, small):
    _, _, test, ete = small
    for name, r in routers.items():
        q = r.predict_embedded(ete)
        assert q.shape == (len(test), len(test.models)), name
        assert np.all((q >= 0) & (q <= 1)), name
    zero = routers["pool_zero"].predict_embedded(ete)
    assert np.allclose(zero, zero[0])  # prompt-independent
    km = routers["uniroute_kmeans"].predict_embedded(ete)
    assert not np.allclose(km, km[0])  # depends on the prompt


def test_unseen_models_are_predicted_from_profiles_alone(routers, small):
    """Held-out LLMs joined by profile: the cluster router ranks gpt-3.5 above claude-v2 on ARC, as the data does."""
    train, _, test, ete = small
    q = routers["uniroute_map"].predict_embedded(ete, [GPT35, CLAUDE2])
    arc = np.array([g.endswith("arc-challenge") for g in test.groups])
    pred_gap = (q[arc, 0] - q[arc, 1]).mean()
    true_gap = (test.column(GPT35)[arc] - test.column(CLAUDE2)[arc]).mean()
    assert np.sign(pred_gap) == np.sign(true_gap) and abs(pred_gap) > 0.05


def test_lambda_sweep_is_monotone_in_cost(routers, small):
    _, _, test, ete = small
    costs = routers["uniroute_kmeans"].profiles.costs
    lams = np.concatenate([[0.0], np.geomspace(1e-2, 1e5, 40)])
    for name, r in routers.items():
        q = r.predict_embedded(ete)
        avg = [costs[choose(q, costs, lam)].mean() for lam in lams]
        assert all(a >= b - 1e-12 for a, b in zip(avg, avg[1:])), name
        assert math.isclose(avg[-1], costs.min())  # huge lam: always the cheapest
        assert np.array_equal(choose(q, costs, 0.0), q.argmax(1))  # lam 0: best predicted quality


def test_uniroute_beats_zero_router_on_small_split(routers, small):
    _, _, test, ete = small
    dcost = routers["uniroute_kmeans"].profiles.costs
    curves = {n: router_curve(n, routers[n].predict_embedded(ete), dcost, test.scores, test.costs) for n in routers}
    sums = {n: summarise(c, test.scores, test.costs) for n, c in curves.items()}
    assert sums["uniroute_kmeans"].area > sums["pool_zero"].area
    assert sums["uniroute_map"].area > sums["pool_zero"].area


def test_adding_an_unseen_model_by_profile_changes_decisions(routers, small):
    """A cheap model graded perfect on the code prompts (and failing ARC) takes the code traffic only."""
    _, _, test, ete = small
    router = routers["uniroute_kmeans"].as_variant("uniroute_kmeans")  # same pool state, own copy of profiles below
    router.fit(router.profiles.copy(), centroids=router.centroids)
    prof = router.profiles
    scores = {pid: (1.0 if g.endswith("mbpp") else 0.0) for pid, g in zip(prof.ids, prof.groups)}
    pool = {GPT4: 6e-3, MIXTRAL: 3e-4}
    before = router.policy(pool, lam=20.0)
    idx_before, _ = router.choose_embedded(ete, before)
    router.add_model("coder-mini", scores, cost=5e-5)
    after = router.policy({**pool, "coder-mini": 5e-5}, lam=20.0)
    idx_after, q = router.choose_embedded(ete, after)
    code = np.array([g.endswith("mbpp") for g in test.groups])
    chosen = np.array(after.keys)[idx_after]
    assert (chosen[code] == "coder-mini").mean() > 0.9
    assert (chosen[~code] == "coder-mini").mean() < 0.1
    assert "coder-mini" not in np.array(before.keys)[idx_before]
    assert q[code, 2].mean() > q[~code, 2].mean()


def test_profile_file_round_trip_and_unknown_ids(routers, tmp_path):
    router = routers["uniroute_kmeans"]
    ids = router.profiles.ids
    csv_file = tmp_path / "graded.csv"
    csv_file.write_text("id,score\n" + "".join(f"{pid},{i % 2}\n" for i, pid in enumerate(ids)), encoding="utf-8")
    jsonl = tmp_path / "graded.jsonl"
    jsonl.write_text("".join(json.dumps({"id": pid, "score": bool(i % 2)}) + "\n" for i, pid in enumerate(ids)), encoding="utf-8")
    assert read_graded_answers(csv_file) == read_graded_answers(jsonl)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,score\n" + "".join(f"{pid},1\n" for pid in ids) + "no-such-prompt-7,1\n", encoding="utf-8")
    copy = router.profiles.copy()
    with pytest.raises(DataFormatError, match="no-such-prompt-7"):
        copy.add_model("x", read_graded_answers(bad))
    few = {ids[0]: 1.0}
    with pytest.raises(DataFormatError, match="covers 1 of"):
        copy.add_model("y", few)
    out_of_range = tmp_path / "range.csv"
    out_of_range.write_text(f"id,score\n{ids[0]},1.5\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="outside"):
        read_graded_answers(out_of_range)


def test_save_load_round_trip(routers, small, tmp_path):
    _, _, _, ete = small
    for name in ("uniroute_map", "pool_knn"):
        r = routers[name]
        r.save(tmp_path / name)
        back = type(r).load(tmp_path / name)
        assert back.profiles.models == r.profiles.models and back.profiles.ids == r.profiles.ids
        assert np.allclose(back.predict_embedded(ete), r.predict_embedded(ete), atol=1e-6)
    # Generic "uniroute" loads the saved variant; any variant can serve the same pool folder.
    assert type(PoolRouter.load(tmp_path / "uniroute_map")) is UniRouteLearnedMap
    assert type(load_pool(tmp_path / "uniroute_map", "pool_zero")) is ZeroRouter
    assert (tmp_path / "uniroute_map" / "weights.safetensors").is_file()
    assert not list(tmp_path.glob("**/*.pt")) and not list(tmp_path.glob("**/*.pkl"))


def test_zero_router_mixes_along_the_hull(routers, small):
    _, _, _, ete = small
    zero = routers["pool_zero"]
    pool = {GPT4: 6e-3, MIXTRAL: 3e-4, "mistralai/mistral-7b-chat": 1e-4}
    target = 3e-3
    pol = zero.policy(pool, target_cost=target)
    lo, hi, p = pol.mix
    assert lo != hi and 0 < p < 1
    spec = pol.spec
    assert math.isclose((1 - p) * spec.costs[lo] + p * spec.costs[hi], target, rel_tol=1e-9)
    picks = np.concatenate([zero.choose_embedded(ete, pol)[0] for _ in range(20)])
    assert set(picks) == {lo, hi}
    assert abs((picks == hi).mean() - p) < 0.1
    assert upper_hull(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 0.6, 0.9, 0.8])) == [0, 2]


def test_target_cost_and_quality_floor_calibrate_lambda(routers):
    r = routers["uniroute_map"]
    pool = {GPT4: 6e-3, GPT35: 5e-4, MIXTRAL: 3e-4}
    q_rep = r.predict_embedded(r.profiles.embeddings, [GPT4, GPT35, MIXTRAL])
    costs = np.array([6e-3, 5e-4, 3e-4])
    pol = r.policy(pool, target_cost=2e-3)
    assert costs[choose(q_rep, costs, pol.lam)].mean() <= 2e-3 + 1e-12
    assert costs[choose(q_rep, costs, pol.lam * 0.9)].mean() > 2e-3  # the least such lam
    floor = float(q_rep[:, 2].mean() + 0.5 * (q_rep.max(1).mean() - q_rep[:, 2].mean()))
    pol = r.policy(pool, quality_floor=floor)
    idx = choose(q_rep, costs, pol.lam)
    assert q_rep[np.arange(len(idx)), idx].mean() >= floor - 1e-9


def test_bad_pools_and_parameters_raise_clear_errors(routers):
    r = routers["uniroute_kmeans"]
    with pytest.raises(ConfigError, match="at least two models"):
        r.policy({GPT4: 1.0}, lam=1.0)
    with pytest.raises(UnknownModelError, match="no-profile-llm"):
        r.policy({GPT4: 1.0, "no-profile-llm": 0.1}, lam=1.0)
    with pytest.raises(ConfigError, match="costs missing"):
        r.policy({GPT4: 1.0, MIXTRAL: None}, lam=1.0)
    with pytest.raises(InvalidThresholdError, match="cost of pool model 'mixtral"):
        r.policy({GPT4: 1.0, MIXTRAL: -0.5}, lam=1.0)
    with pytest.raises(InvalidThresholdError, match="lam"):
        r.policy({GPT4: 1.0, MIXTRAL: 0.1}, lam=-1.0)
    with pytest.raises(ConfigError, match="below the cheapest"):
        r.policy({GPT4: 1.0, MIXTRAL: 0.1}, target_cost=0.01)
    with pytest.raises(ConfigError, match="exactly one"):
        r.policy({GPT4: 1.0, MIXTRAL: 0.1}, lam=1.0, target_cost=0.5)
    with pytest.raises(ConfigError, match="exceeds"):
        r.policy({GPT4: 1.0, MIXTRAL: 0.1}, quality_floor=1.0)


def test_litellm_prices_for_aliased_pool(routers):
    litellm = pytest.importorskip("litellm")
    r = routers["uniroute_kmeans"]
    spec = r.resolve({"gpt-4o": {"profile": GPT4}, "gpt-4o-mini": {"profile": MIXTRAL}})
    want = [litellm.model_cost[m]["input_cost_per_token"] + litellm.model_cost[m]["output_cost_per_token"] for m in ("gpt-4o", "gpt-4o-mini")]
    assert np.allclose(spec.costs, want) and spec.cost_source.startswith("litellm")
    assert spec.profiles == (GPT4, MIXTRAL)


def test_curve_metrics_on_known_points():
    cv = Curve("x", np.array([1.0, 2.0, 3.0, 2.5]), np.array([0.5, 0.7, 0.9, 0.6]))
    c, q = cv.envelope()
    assert list(c) == [1.0, 2.0, 3.0] and list(q) == [0.5, 0.7, 0.9]  # dominated point dropped
    assert math.isclose(area(cv, 1.0, 3.0), (0.6 + 0.8) / 2, rel_tol=1e-6)
    assert math.isclose(cv.cost_for(0.8), 2.5) and cv.cost_for(0.95) is None
    scores = np.array([[1.0, 0.0], [1.0, 1.0]])
    costs = np.array([[4.0, 1.0], [4.0, 1.0]])
    s = summarise(Curve("y", np.array([1.0, 2.5, 4.0]), np.array([0.5, 1.0, 1.0])), scores, costs)
    assert math.isclose(s.qnc, 2.5 / 4.0) and math.isclose(s.cost95, (1.0 + 1.5 * 0.9) / 4.0)


def test_exact_match_grading():
    assert exact_match("B\n", "B") == 1.0 and exact_match("The answer is C.", "B") == 0.0
    assert exact_match("so she makes $18 every day. 18", "18") == 1.0
    assert exact_match("1,234", "1234") == 1.0 and exact_match("", "7") == 0.0


def test_hierarchical_shrinkage_borrows_from_the_parent_group():
    from routellm_plugins.pool.profiles import LLMProfiles

    emb = np.eye(4, dtype=np.float32)[[0, 0, 1, 2, 2, 3]]
    prof = LLMProfiles([f"p{i}" for i in range(6)], ["x"] * 6, emb, ["m"], np.array([[1.0], [1.0], [1.0], [0.0], [0.0], [0.0]]))
    labels = np.array([0, 0, 1, 2, 2, 3])
    flat = prof.cluster_quality(labels, 4, prior=2.0)
    hier = prof.cluster_quality(labels, 4, prior=2.0, parents=np.array([0, 0, 1, 1]))
    # Cluster 1 (one prompt, score 1) shrinks toward 0.5 (the model mean) flat, but toward ~1 under its parent.
    assert flat[1, 0] < hier[1, 0] and hier[1, 0] > 0.8 and hier[3, 0] < 0.2


def test_evaluate_pool_run_writes_table_and_png(small, tmp_path):
    from routellm_plugins.pool.experiment import Dataset, run, write_plot

    train, etr, test, ete = small
    with np.errstate(invalid="ignore"):
        dcost = np.nanmean(train.costs, axis=0)
    ds = Dataset("routerbench-small", train, test, etr, ete, dcost, test.costs, "USD per prompt")
    report = run(ds, seeds=[0], n_held_out=3, settings=PoolSettings(k=4, epochs=40, knn_k=20), log=lambda m: None)
    routers = {r["router"] for r in report.rows}
    assert routers == {"UniRoute-KMeans", "UniRoute-LearnedMap", "K-NN", "ZeroRouter"}
    assert {r["pool"] for r in report.rows} == {"all", "unseen"}
    assert all(0.0 < r["area"] <= 1.0 for r in report.rows)
    table = report.table()
    assert "UniRoute-LearnedMap" in table and "cost@95%" in table
    png = write_plot([report], tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_quality_floor_and_target_cost_reject_non_numbers(routers):
    r = routers["uniroute_kmeans"]
    pool = {GPT4: 1.0, MIXTRAL: 0.1}
    for bad in ("high", float("nan"), 1.5, True):
        with pytest.raises(InvalidThresholdError, match="quality_floor"):
            r.policy(pool, quality_floor=bad)
    with pytest.raises(InvalidThresholdError, match="target_cost"):
        r.policy(pool, target_cost="cheap")


def test_empirical_bayes_prior_shrinks_a_flat_model_more_than_a_varying_one():
    from routellm_plugins.pool.profiles import LLMProfiles, eb_prior

    k, per = 8, 20
    labels = np.repeat(np.arange(k), per)
    rng = np.random.default_rng(0)
    flat = (rng.random(k * per) < 0.6).astype(float)  # same rate in every cluster
    varying = np.repeat(np.arange(k) % 2, per).astype(float)  # all right or all wrong per cluster
    sums = np.stack([np.bincount(labels, flat), np.bincount(labels, varying)], axis=1)
    counts = np.full((k, 2), float(per))
    w = eb_prior(sums, counts, np.broadcast_to(sums.sum(0) / counts.sum(0), sums.shape))
    assert w[0] > 10 * w[1]  # homogeneous model: pooled toward its mean; varying model: trusted per cluster
    prof = LLMProfiles([f"p{i}" for i in range(k * per)], ["x"] * (k * per), np.eye(k, dtype=np.float32)[labels],
                       ["flat", "varying"], np.stack([flat, varying], axis=1))
    q = prof.cluster_quality(labels, k, prior="auto")
    assert q.shape == (k, 2) and np.all((q >= 0) & (q <= 1))
    assert np.ptp(q[:, 1]) > 0.9 and np.ptp(q[:, 0]) < 0.2


def test_prior_must_be_auto_or_a_non_negative_number():
    from routellm_plugins.pool import UniRouteKMeans

    assert UniRouteKMeans(prior="auto").prior == "auto"
    for bad in (-1.0, "strong", float("nan")):
        with pytest.raises(ConfigError, match="prior"):
            UniRouteKMeans(prior=bad)


def test_auto_prior_pool_round_trips(small, tmp_path):
    train, etr, test, ete = small
    pool = fit_pool(train, etr, PoolSettings(k=4, prior="auto", epochs=20, knn_k=10), train_models=[m for m in train.models if m not in HELD_OUT])
    path = pool["uniroute_kmeans"].save(tmp_path / "pool")
    loaded = PoolRouter.load(path)
    assert loaded.prior == "auto"
    assert np.allclose(loaded.predict_embedded(ete), pool["uniroute_kmeans"].predict_embedded(ete), atol=1e-6)


def test_more_bad_inputs_name_the_problem(routers):
    r = routers["uniroute_kmeans"]
    copy = r.profiles.copy()
    col = copy.scores[:, copy.column(GPT4)]
    with pytest.raises(InvalidThresholdError, match="cost of 'new-llm'"):
        copy.add_model("new-llm", col, cost=-0.01)
    with pytest.raises(ConfigError, match="already in the pool"):
        copy.add_model(GPT4, col, cost=0.01)
    for bad in (float("nan"), float("inf"), "cheap"):
        with pytest.raises(InvalidThresholdError, match="lam"):
            r.policy({GPT4: 1.0, MIXTRAL: 0.1}, lam=bad)
    # No cost in the config, none stored with the profile, and no LiteLLM price for an unknown name.
    copy.add_model("priceless-llm-xyz", col)
    bare = type(r)(k=r.k).fit(copy, centroids=r.centroids)
    with pytest.raises(ConfigError, match="costs missing for pool models \\['priceless-llm-xyz'\\]"):
        bare.policy([GPT4, "priceless-llm-xyz"], lam=0.0)


def test_tuning_reads_the_train_split_only(small):
    from routellm_plugins.pool.experiment import Dataset, tune

    train, etr, _, _ = small
    with np.errstate(invalid="ignore"):
        dcost = np.nanmean(train.costs, axis=0)
    # A data set without a test split: tuning must not need it.
    ds = Dataset("routerbench-small", train, None, etr, None, dcost, None, "USD per prompt")  # type: ignore[arg-type]
    models = [m for m in train.models if m != HELD_OUT[0]]
    chosen, table = tune(ds, models, PoolSettings(k=4, epochs=10), grid={"k": (2, 4), "prior": ("auto", 5.0)},
                         knn_grid={"knn_k": (5, 20)}, n_folds=2)
    assert chosen.k in (2, 4) and chosen.prior in ("auto", 5.0) and chosen.knn_k in (5, 20)
    assert len(table) == 6 and all(0.0 < v["uniroute_kmeans"] <= 1.0 and "uniroute_map" not in v for _, v in table[:4])


def test_cli_prior_option_parses_auto_and_numbers():
    import argparse

    from routellm_plugins.cli_pool import _prior

    assert _prior("auto") == "auto" and _prior("AUTO") == "auto" and _prior("20") == 20.0
    for bad in ("-1", "lots", "nan"):
        with pytest.raises(argparse.ArgumentTypeError, match="prior"):
            _prior(bad)
