"""The default router (``mixture``): the bundled checkpoints, their provenance, and its training recipe on real data."""

from __future__ import annotations

import numpy as np
import pytest

from routellm_plugins import ConfigError, load_router
from routellm_plugins.demo import sample_prompts
from routellm_plugins.registry import DEFAULT_ROUTER

CHAT = "Write a short poem about autumn leaves for my grandmother's birthday card."
EXAM = ("Which of the following is a prime number?\nA. 21\nB. 27\nC. 29\nD. 33\nAnswer:")


@pytest.fixture(scope="module")
def mixture():
    return load_router()


def test_the_default_router_is_the_mixture(mixture):
    assert DEFAULT_ROUTER == "mixture" and mixture.name == "mixture"


def test_scores_are_probabilities_and_batching_does_not_change_them(mixture):
    batch = mixture.score([CHAT, EXAM, "hi"])
    assert batch.shape == (3,) and np.all((batch > 0) & (batch < 1))
    assert np.allclose([mixture.score([p])[0] for p in (CHAT, EXAM, "hi")], batch, atol=1e-5)


def test_the_gate_tells_chat_requests_from_exam_questions(mixture):
    parts = mixture.explain([CHAT, EXAM])
    assert parts["gate"][0] > 0.5 > parts["gate"][1]
    assert np.allclose(parts["score"], mixture.score([CHAT, EXAM]), atol=1e-6)


def test_default_threshold_gives_about_half_strong_on_each_kind_of_sample_prompt(mixture):
    rows = sample_prompts()
    scores = mixture.score([r["prompt"] for r in rows])
    chat = np.array([r["source"].startswith("arena") for r in rows])
    strong = scores >= mixture.threshold
    assert abs(strong.mean() - 0.5) < 0.02
    assert 0.3 < strong[chat].mean() < 0.7 and 0.3 < strong[~chat].mean() < 0.7


def test_provenance_names_sources_licences_and_the_non_commercial_data(mixture):
    sources = {s["name"]: s for s in mixture.provenance["sources"]}
    assert "CC BY-NC" in sources["alpaca_eval"]["licence"] and mixture.provenance["non_commercial"] is True
    permissive = load_router("mixture_permissive")
    names = {s["name"] for s in permissive.provenance["sources"]}
    assert permissive.name == "mixture_permissive" and "alpaca_eval" not in names and "arena_bench_v1" in names
    assert permissive.provenance["non_commercial"] is False
    for name in ("mf", "sw_ranking"):
        assert {s["name"] for s in load_router(name).provenance["sources"]} == {"mmlu", "routerbench", "routerdc"}


def test_with_pair_is_refused_with_a_pointer_to_mf(mixture):
    with pytest.raises(ConfigError, match="mf"):
        mixture.with_pair("claude-v2", "gpt-3.5-turbo-1106")


def test_save_and_load_round_trip(mixture, tmp_path):
    mixture.save(tmp_path / "copy")
    again = load_router("mixture", checkpoint=tmp_path / "copy")
    assert np.allclose(again.score([CHAT, EXAM]), mixture.score([CHAT, EXAM]))
    assert again.threshold == mixture.threshold and again.provenance == mixture.provenance


@pytest.fixture(scope="module")
def small_sources(shared_data):
    """40 real prompts of every recipe source, embedded with the real encoder."""
    from routellm_plugins.training.mixture import load_sources

    return load_sources(shared_data, per_source=40)


def test_recipe_on_real_slices_learns_a_gate_a_chat_head_and_records_its_sources(small_sources):
    """fit_mixture on real slices of every source (real embeddings, the bundled mf as exam expert)."""
    from routellm_plugins.training.mixture import crossfit_scores, fit_mixture

    router = fit_mixture(small_sources, exam_per_source=40)
    chat = [s for s in small_sources if s.kind == "chat"]
    exam = [s for s in small_sources if s.kind == "exam"]
    gate = lambda s: router.parts_from_embeddings(s.emb, s.data.prompts)["gate"].mean()  # noqa: E731
    assert np.mean([gate(s) for s in chat]) > 0.7 and np.mean([gate(s) for s in exam]) < 0.3
    for s in chat:  # the chat head fits its own (standardised) training target
        z = router.parts_from_embeddings(s.emb, s.data.prompts)["z_chat"]
        assert np.corrcoef(z, s.target)[0, 1] > 0.3
    assert router.weights_["link"][0] > 0  # a higher z means a likelier strong win
    assert {s["name"] for s in router.provenance["sources"]} >= {"alpaca_eval", "arena_bench_v1", "mmlu"}
    held = crossfit_scores("arena_bench_v1", sources=small_sources, exam_per_source=40)
    assert held.shape == (len(chat[1].data),) and np.isfinite(held).all()
    # Another tier's rows (here: the same rows, then a perturbed copy) only change what held-out prompts are scored from.
    same = crossfit_scores("arena_bench_v1", sources=small_sources, exam_per_source=40, score_emb=chat[1].emb)
    assert np.allclose(same, held)
    other = chat[1].emb[::-1].copy()
    moved = crossfit_scores("arena_bench_v1", sources=small_sources, exam_per_source=40, score_emb=other)
    assert not np.allclose(moved, held)
    with pytest.raises(ConfigError, match="score_emb has shape"):
        crossfit_scores("arena_bench_v1", sources=small_sources, score_emb=chat[1].emb[:3])


def test_excluding_alpaca_gives_a_permissive_recipe(small_sources):
    from routellm_plugins.training.mixture import fit_mixture

    router = fit_mixture([s for s in small_sources if s.name != "alpaca_eval"], exam_per_source=40)
    assert "alpaca_eval" not in {s["name"] for s in router.provenance["sources"]}
    assert router.provenance["non_commercial"] is False


def test_unknown_or_all_chat_sources_excluded_are_refused(shared_data):
    from routellm_plugins.training.mixture import load_sources

    with pytest.raises(ConfigError, match="unknown source"):
        load_sources(shared_data, exclude=("alpaca",))
    with pytest.raises(ConfigError, match="at least one chat source"):
        load_sources(shared_data, exclude=("alpaca_eval", "arena_bench_v1"), per_source=5)
