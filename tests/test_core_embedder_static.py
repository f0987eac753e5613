"""The opt-in static embedder tier: a token table read off the real MiniLM plus the shipped map."""

from __future__ import annotations

import json

import numpy as np
import pytest

from routellm_plugins import ConfigError, load_router
from routellm_plugins import embedding_static as es
from routellm_plugins.demo import sample_prompts
from routellm_plugins.embedding import get_embedder, resolve_backend
from routellm_plugins.embedding_onnx import OnnxEncoder
from routellm_plugins.evaluation import evaluate_scores


@pytest.fixture(scope="module")
def rows():
    return sample_prompts()


@pytest.fixture(scope="module")
def static():
    return get_embedder(backend="static")


@pytest.fixture(scope="module")
def reference(rows):
    return OnnxEncoder(precision="fp32", cache_size=0)([r["prompt"] for r in rows])


def test_rows_follow_the_embedder_contract_and_stay_close_to_minilm(static, rows, reference):
    texts = [r["prompt"] for r in rows]
    emb = static(texts)
    assert isinstance(static, es.StaticEncoder) and static.backend == "static" and static.dim == 384
    assert emb.dtype == np.float32 and emb.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(static(texts[:3]), emb[:3])  # deterministic, and the cache returns the same rows
    cos = (emb * reference).sum(1)
    assert cos.mean() > 0.7 and cos.min() > 0.3  # about 0.8 on average: close, not equal (it trades quality)
    # It keeps MiniLM's geometry: each prompt is nearer its own MiniLM row than a random other prompt's.
    other = np.roll(reference, 7, axis=0)
    assert ((emb * reference).sum(1) > (emb * other).sum(1)).mean() > 0.9


def test_routers_on_the_static_tier_still_rank_hard_prompts_first(monkeypatch, rows, reference):
    """mf with the static tier on the bundled sample's real outcomes: above chance, near the fp32 path (0.57 vs 0.54 here)."""
    monkeypatch.setenv("ROUTELLM_EMBEDDER_BACKEND", "static")
    assert resolve_backend(None) == "static"
    texts = [r["prompt"] for r in rows]
    qs = np.array([r["strong_quality"] for r in rows])
    qw = np.array([r["weak_quality"] for r in rows])
    fast = load_router("mf").score(texts)
    lookup = {t: reference[i] for i, t in enumerate(texts)}
    exact = load_router("mf", embedder=lambda ts: np.stack([lookup[t] for t in ts])).score(texts)
    a_fast, a_exact = evaluate_scores("mf", fast, qs, qw).apgr, evaluate_scores("mf", exact, qs, qw).apgr
    assert a_fast > 0.55 and abs(a_fast - a_exact) < 0.08, (a_fast, a_exact)
    assert np.corrcoef(fast, exact)[0, 1] > 0.75
    d = load_router("mf").route(texts[0])
    assert d.model in ("strong", "weak")


def test_static_is_opt_in_and_only_for_the_bundled_minilm(tmp_path, monkeypatch):
    monkeypatch.delenv("ROUTELLM_EMBEDDER_BACKEND", raising=False)
    assert resolve_backend(None) != "static"
    with pytest.raises(ConfigError, match="static embedder tier exists only for the bundled MiniLM"):
        resolve_backend("static", str(tmp_path))
    with pytest.raises(ConfigError, match="static embedder tier exists only for the bundled MiniLM"):
        es.StaticEncoder(tmp_path)
    with pytest.raises(ConfigError, match="static"):  # the error lists the backends, static among them
        resolve_backend("statik")
    with pytest.raises(ConfigError, match="takes no micro_batch, precision setting"):
        es.StaticEncoder(precision="int8", micro_batch=True)


def test_a_missing_or_malformed_map_is_a_clear_error(tmp_path):
    from safetensors.numpy import save_file

    with pytest.raises(ConfigError, match="is missing"):
        es.load_map(tmp_path / "nope.safetensors")
    bad = tmp_path / "bad.safetensors"
    save_file({"weight": np.ones((3, 4), np.float32), "bias": np.ones(4, np.float32), "token_weight": np.ones(5, np.float32)}, str(bad))
    with pytest.raises(ConfigError, match="malformed"):
        es.load_map(bad)
    with pytest.raises(ConfigError, match="does not fit the token table"):  # right form, wrong vocabulary size
        small = tmp_path / "small.safetensors"
        save_file({"weight": np.eye(384, dtype=np.float32), "bias": np.zeros(384, np.float32),
                   "token_weight": np.ones(10, np.float32)}, str(small))
        es.StaticEncoder(map_file=small)(["hello"])


def test_the_shipped_map_records_its_sources_and_carries_no_alpaca_eval():
    tensors, meta = es.load_map()
    assert tensors["weight"].shape == (384, 384) and tensors["token_weight"].shape[0] > 30000
    sources = json.loads(meta["sources"])
    assert "alpaca_eval" not in sources and meta["non_commercial"] == "false"
    assert {"mmlu", "routerbench", "routerdc", "arena_bench_v1"} <= set(sources)
    assert all(v["licence"] for v in sources.values())
    report = json.loads(meta["report"])
    assert report["validation_cosine"] > 0.75 and report["prompts"] > 10000


def test_the_token_table_is_built_once_verified_and_rebuilt_when_corrupt(tmp_path, monkeypatch):
    first = es.cached_table(cache_dir=tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".npy")
    assert first.shape[1] == 384 and np.isfinite(first).all()
    calls = []
    monkeypatch.setattr(es, "build_table", lambda folder=None: calls.append(1) or first)
    assert np.array_equal(es.cached_table(cache_dir=tmp_path), first) and not calls  # read back, verified
    npy = next(tmp_path.glob("*.npy"))
    npy.write_bytes(npy.read_bytes()[:-10] + b"0123456789")
    assert np.array_equal(es.cached_table(cache_dir=tmp_path), first) and calls == [1]  # sha256 mismatch: rebuilt


def test_the_recipe_fits_a_map_on_real_prompts(rows, reference):
    from routellm_plugins.training.static_embedder import fit_static_map

    texts = [r["prompt"] for r in rows]
    seqs = OnnxEncoder(precision="fp32").token_ids(texts)
    tensors, report = fit_static_map(seqs, reference, es.cached_table(), a_grid=(1e-2,), lam_grid=(1e-2, 1.0))
    assert tensors["weight"].shape == (384, 384) and tensors["bias"].shape == (384,)
    assert tensors["token_weight"].shape[0] == es.cached_table().shape[0] and (tensors["token_weight"] > 0).all()
    assert set(report["grid"]) == {"a=0.01,lam=0.01", "a=0.01,lam=1"} and 0.3 < report["validation_cosine"] < 1.0
    with pytest.raises(ValueError, match="both sides"):
        fit_static_map(seqs[:1], reference[:1], es.cached_table())
