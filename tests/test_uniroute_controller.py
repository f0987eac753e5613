"""The bundled UniRoute pool through load_router, RoutingController (pool and two-model modes) and the CLI."""

from __future__ import annotations

import argparse
import asyncio
import json

import numpy as np
import pytest

from routellm_plugins import ConfigError, RoutingController, UnknownModelError, load_router
from routellm_plugins.cli_pool import add_pool_commands
from routellm_plugins.pool import KNNRouter, UniRouteKMeans, UniRouteLearnedMap, ZeroRouter, load_pool
from routellm_plugins.pool.profiles import read_prompts_jsonl

GPT4 = "gpt-4-1106-preview"
GPT35 = "gpt-3.5-turbo-1106"
YI = "zero-one-ai/Yi-34B-Chat"
MIXTRAL = "mixtral-8x7b-instruct"
POOL = {GPT4: 6.0e-3, GPT35: 4.7e-4, YI: 3.6e-4}


@pytest.fixture(scope="module")
def prompts(shared_data):
    """One real ARC-Challenge and one real MBPP prompt from the RouterBench *test* split."""
    from routellm_plugins.data.routerbench import load_routerbench

    test = load_routerbench("test", shared_data)
    arc = next(p for p, g in zip(test.prompts, test.groups) if g.endswith("arc-challenge"))
    mbpp = next(p for p, g in zip(test.prompts, test.groups) if g.endswith("mbpp"))
    return arc, mbpp


@pytest.fixture(scope="module")
def bundled():
    return load_router("uniroute")


def _cli(argv):
    parser = argparse.ArgumentParser(prog="routellm-plugins")
    add_pool_commands(parser.add_subparsers(dest="cmd", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_bundled_pool_loads_as_every_variant(bundled):
    assert isinstance(bundled, UniRouteLearnedMap)
    # Exam and chat sources: the models people ran in 2023-24, under one name each.
    for name in (GPT4, "gpt-4-0314", "gpt-3.5-turbo-1106", "claude-2.1", "claude-v1", "gemini-pro", MIXTRAL, "meta/llama-2-70b-chat",
                 "mistralai/mistral-7b-chat", "tulu-2-dpo-70b", "vicuna-33b-v1.3", "meta-math/MetaMath-Mistral-7B"):
        assert name in bundled.models, name
    assert len(bundled.models) > 60 and bundled.n_clusterings > 1
    sources = bundled.info["sources"]
    assert set(sources) >= {"routerbench", "routerdc", "alpaca_eval", "arena_bench_v1"}
    assert "CC BY-NC 4.0" in sources["alpaca_eval"]["licence"] and sources["alpaca_eval"]["split"] == "train"
    assert isinstance(load_router("uniroute_kmeans"), UniRouteKMeans)
    assert isinstance(load_router("pool_knn"), KNNRouter)
    assert isinstance(load_router("pool_zero"), ZeroRouter)
    assert bundled.pair() == (GPT4, MIXTRAL)
    assert 0.0 < bundled.threshold < 1.0


def test_pool_controller_routes_code_and_science_to_different_models(prompts):
    arc, mbpp = prompts
    ctl = RoutingController(pool=POOL, lam=40.0)
    assert ctl.keys == (GPT4, GPT35, YI)
    d_arc, d_code = ctl.decide(arc), ctl.decide(mbpp)
    # RouterBench: Yi-34B is strong and cheap on ARC; gpt-3.5 is far better than Yi on MBPP.
    assert d_arc.model == YI and d_code.model == GPT35
    for d in (d_arc, d_code):
        assert not d.fallback and d.threshold == 40.0 and d.router == "uniroute_map"
        assert [c.model for c in d.candidates] == list(POOL)
        assert [c.cost for c in d.candidates] == list(POOL.values())
        assert all(0.0 <= c.quality <= 1.0 for c in d.candidates)
        assert d.score == max(d.candidates, key=lambda c: c.quality - 40.0 * c.cost).quality
    q = {c.model: c.quality for c in d_code.candidates}
    assert q[GPT35] > q[YI] + 0.05
    assert json.loads(json.dumps(d_code.to_dict()))["candidates"][0]["model"] == GPT4


def test_lambda_extremes_and_target_cost(prompts):
    arc, _ = prompts
    assert RoutingController(pool=POOL, lam=0.0).decide(arc).model == GPT4
    assert RoutingController(pool=POOL, lam=1e6).decide(arc).model == YI  # cheapest
    ctl = RoutingController(pool=POOL, target_cost=1e-3)
    assert ctl.threshold > 0 and ctl.decide(arc).model in POOL
    assert RoutingController(pool=POOL, quality_floor=0.5).decide(arc).model in POOL


def test_pool_controller_never_raises_for_bad_text(prompts):
    ctl = RoutingController(pool=POOL, lam=20.0, sticky_sessions="first")
    for bad in ("", "   ", None, b"bytes", 42):
        d = ctl.decide(bad)
        assert d.fallback and d.model == GPT4 and d.reason  # fallback "strong" = best-quality pool model
    first = ctl.decide(prompts[1], session_id="s1")
    again = ctl.decide(prompts[0], session_id="s1")
    assert again.model == first.model and again.sticky
    d = asyncio.run(ctl.adecide(prompts[0]))
    assert d.model in POOL and not d.fallback


def test_pool_config_keys_and_errors(tmp_path, prompts):
    cfg = tmp_path / "routing.yaml"
    cfg.write_text(
        "router: uniroute_kmeans\n"
        "pool:\n"
        f"  {GPT4}: 0.006\n"
        f"  fast-deployment: {{profile: {YI}, cost: 0.0004}}\n"
        "target_cost: 0.002\n"
        "fallback: fast-deployment\n",
        encoding="utf-8",
    )
    ctl = RoutingController.from_config(cfg)
    assert ctl.keys == (GPT4, "fast-deployment") and ctl.fallback == "fast-deployment"
    assert ctl.decide(prompts[0]).model in ctl.keys
    with pytest.raises(ConfigError, match="two-model routing"):
        RoutingController(pool=POOL, lam=1.0, threshold=0.3)
    with pytest.raises(ConfigError, match="needs a pool router"):
        RoutingController(router="random", pool=POOL, lam=1.0)
    with pytest.raises(ConfigError, match="not a model of the pool"):
        RoutingController(pool=POOL, lam=1.0, fallback="strong-ish")
    with pytest.raises(ConfigError, match="needs one of lam"):
        RoutingController(router="uniroute", pool=POOL)
    with pytest.raises(UnknownModelError, match="gpt-9"):
        RoutingController(pool={GPT4: 1.0, "gpt-9": 0.1}, lam=1.0)
    with pytest.raises(ConfigError, match="unknown routing config keys"):
        RoutingController.from_config({"pool": POOL, "lam": 1.0, "lamda": 2.0})


def test_two_model_contract_still_works(bundled, prompts):
    ctl = RoutingController(router="uniroute")
    assert ctl.keys == ("strong", "weak")
    d = ctl.decide(prompts[0])
    assert d.model in ("strong", "weak") and 0.0 <= d.score <= 1.0
    scores = bundled.score(list(prompts))
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    always_strong = RoutingController(router="uniroute", strong_share=1.0)
    assert always_strong.decide(prompts[1]).model == "strong"
    # The two-model score is the pool rule on (strong, weak): gain in predicted quality.
    q = bundled.predict(list(prompts), [GPT4, MIXTRAL])
    assert np.allclose(scores, np.clip(q[:, 0] - q[:, 1], 0, 1))


def test_cli_profile_adds_a_model_and_rejects_unknown_ids(tmp_path, prompts, capsys):
    export = tmp_path / "prompts.jsonl"
    assert _cli(["profile", "--export-prompts", str(export)]) == 0
    recs = read_prompts_jsonl(export)
    assert len(recs) == len(load_pool().profiles) and {"id", "prompt", "answer"} <= set(recs[0])
    arc = [r for r in recs if r["group"].endswith("arc-challenge")]
    assert sum(r["answer"] in ("A", "B", "C", "D") for r in arc) > 0.95 * len(arc)  # ARC gold letters for exact match
    graded = [r for r in recs if r.get("grading")]
    assert 300 < len(graded) < 600 and all(r["answer"] for r in graded if r["grading"] == "exact")
    assert all(r.get("reference") for r in graded if r["grading"] == "reference")
    graded = tmp_path / "graded.csv"
    # A new cheap model, graded on the RouterBench prompts only: it solves the coding prompts and fails the science ones.
    rb = [r for r in recs if r["group"].startswith("routerbench/")]
    graded.write_text("id,score\n" + "".join(f"{r['id']},{int(r['group'].endswith('mbpp'))}\n" for r in rb), encoding="utf-8")
    out = tmp_path / "pool"
    assert _cli(["profile", "--model", "coder-7b", "--answers", str(graded), "--cost", "0.00005", "--min-coverage", "0.4",
                 "--out", str(out)]) == 0
    pool = load_pool(out)
    assert "coder-7b" in pool.models and len(pool.models) == len(load_pool().models) + 1
    ctl = RoutingController(router=pool, pool={**POOL, "coder-7b": 5e-5}, lam=20.0)
    assert ctl.decide(prompts[1]).model == "coder-7b"
    assert ctl.decide(prompts[0]).model == YI
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "not-a-prompt-id", "score": 1}) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert _cli(["profile", "--model", "x", "--answers", str(bad), "--out", str(tmp_path / "p2")]) == 2
    assert "not-a-prompt-id" in capsys.readouterr().err
    assert _cli(["profile", "--model", "x", "--answers", str(graded)]) == 2  # --out is required
