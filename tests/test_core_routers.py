"""The bundled routers, for real: MiniLM embeddings, shipped checkpoints, real prompts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from routellm_plugins import Decision, UnknownModelError, load_router
from routellm_plugins.demo import sample_prompts
from routellm_plugins.evaluation import evaluate_scores
from routellm_plugins.features import text_features
from routellm_plugins.registry import bundled_checkpoint

HARD = ("A train leaves at 3:40 pm travelling 72 km/h; a second leaves the same station at 4:15 pm at 90 km/h on a "
        "parallel track. A third train... At what time, to the minute, does the second overtake the first, and how far "
        "from the station, if the first stops for 12 minutes at 5:00 pm?")
EASY = "hi"


@pytest.fixture(scope="module", params=["mf", "sw_ranking"])
def router(request):
    return load_router(request.param)


def test_scores_are_probabilities_in_batch_order(router):
    prompts = [EASY, HARD, "What is the capital of France?"]
    s = router.score(prompts)
    assert s.shape == (3,) and s.dtype == np.float64 and ((s >= 0) & (s <= 1)).all()
    assert np.allclose(router.score(prompts[::-1]), s[::-1])


def test_hard_prompt_scores_above_greeting():
    easy, hard = load_router("mf").score([EASY, HARD])
    assert hard > easy


def test_route_returns_a_frozen_decision(router):
    d = router.route(HARD, threshold=0.0)
    assert isinstance(d, Decision) and d.model == "strong" and d.router == router.name and d.latency_s > 0
    assert router.route(HARD, threshold=1.0).model == "weak" or router.score([HARD])[0] == 1.0
    with pytest.raises(Exception):
        d.model = "weak"  # frozen
    json.dumps(d.to_dict())


def test_bundled_default_threshold_and_calibration(router):
    assert router.threshold is not None and router.calibration["strong_share"] == 0.5
    t = router.threshold_for_share(0.3)
    prompts = [r["prompt"] for r in sample_prompts()][:200]
    share = (router.score(prompts) >= t).mean()
    assert 0.15 < share < 0.45  # calibrated on the 400-prompt sample; this is half of it


def test_beats_random_on_the_held_out_mmlu_sample(router):
    """sw_ranking is a nearest-neighbour method and does no better than chance out of domain (GSM8K), so MMLU rows only."""
    rows = [r for r in sample_prompts() if r["source"].startswith("mmlu")]
    s = router.score([r["prompt"] for r in rows])
    qs = np.array([r["strong_quality"] for r in rows], float)
    qw = np.array([r["weak_quality"] for r in rows], float)
    assert evaluate_scores(router.name, s, qs, qw).apgr > 0.55


def test_unknown_pair_lists_known_models_and_aliases_work():
    mf = load_router("mf")
    with pytest.raises(UnknownModelError, match="known models: .*gpt-4-1106-preview"):
        mf.with_pair("gpt-4o", "gpt-4o-mini")
    aliased = load_router("mf", model_aliases={"gpt-4o": "gpt-4-1106-preview", "gpt-4o-mini": "claude-instant-v1"})
    aliased = aliased.with_pair("gpt-4o", "gpt-4o-mini", calibrate=False)
    base = load_router("mf").with_pair("gpt-4-1106-preview", "claude-instant-v1", calibrate=False)
    assert np.allclose(aliased.score([HARD]), base.score([HARD]))


def test_any_known_pair_can_be_scored():
    mf = load_router("mf")
    strengths = mf.model_strengths([HARD, EASY])
    assert strengths.shape == (2, len(mf.models_)) and len(mf.models_) >= 15  # RouterBench, RouterDC and RouteLLM models


def test_mf_save_load_round_trip(tmp_path):
    mf = load_router("mf")
    mf.save(tmp_path / "copy")
    again = load_router("mf", checkpoint=tmp_path / "copy")
    assert np.allclose(again.score([HARD, EASY]), mf.score([HARD, EASY]))
    assert again.threshold == mf.threshold


def test_training_a_small_mf_learns_the_pair(tmp_path, shared_data):
    """Train a small mf on real MMLU rows (few epochs) and check it ranks held-out rows above chance."""
    from routellm_plugins.data.routellm_evals import load_mmlu
    from routellm_plugins.routers.mf import MatrixFactorizationRouter

    mmlu = load_mmlu(shared_data)
    rng = np.random.default_rng(0)
    idx = rng.choice(len(mmlu), 900, replace=False)
    train, test = mmlu.subset(idx[:700]), mmlu.subset(idx[700:])
    mf = MatrixFactorizationRouter(epochs=8, dim=8, hidden=0, seed=0).fit([train])
    assert len(mf.history_) == 8 and mf.history_[-1]["loss"] < mf.history_[0]["loss"]
    mf.threshold = 0.5
    mf.save(tmp_path / "small")
    loaded = load_router("mf", checkpoint=tmp_path / "small")
    s = loaded.score(test.prompts)
    assert np.allclose(s, mf.score(test.prompts))
    r = evaluate_scores("mf", s, test.column("gpt-4-1106-preview"), test.column("mixtral-8x7b-instruct"))
    assert r.apgr > 0.5


def test_random_router_is_seeded_and_uniform():
    a, b = load_router("random", seed=1), load_router("random", seed=1)
    sa, sb = a.score(["x"] * 2000), b.score(["x"] * 2000)
    assert np.array_equal(sa, sb) and abs(sa.mean() - 0.5) < 0.03


def test_checkpoints_are_small_safetensors_and_json():
    total = 0
    for name in ("mf", "sw_ranking"):
        folder = bundled_checkpoint(name)
        files = sorted(p.name for p in folder.iterdir())
        assert files == ["router.json", "weights.safetensors"], files
        total += sum(p.stat().st_size for p in folder.iterdir())
    assert total < 20 * 2**20


def test_length_feature_is_what_the_baseline_uses():
    f = text_features(["short", "a much longer prompt " * 20])
    assert f[1, 0] > f[0, 0]


def test_big_batches_are_scored_in_bounded_chunks_in_order(monkeypatch):
    """Issue 15 item 5: score() hands the router at most SCORE_CHUNK prompts at a time; results keep batch order."""
    from routellm_plugins.routers.base import SCORE_CHUNK

    router = load_router("random", seed=3)
    sizes: list[int] = []
    inner = router._score

    def spy(prompts):
        sizes.append(len(prompts))
        return inner(prompts)

    monkeypatch.setattr(router, "_score", spy)
    n = 2 * SCORE_CHUNK + 17
    scores = router.score([f"prompt {i}" for i in range(n)])
    assert sizes == [SCORE_CHUNK, SCORE_CHUNK, 17] and scores.shape == (n,)
    assert np.array_equal(scores, np.random.default_rng(3).random(n))  # the same as one unchunked draw
