"""Bad embedder settings fail when a router is built; the embedder's memory stays bounded on big calls."""

from __future__ import annotations

import numpy as np
import pytest

from routellm_plugins import RoutingController, embedding, load_router
from routellm_plugins.embedding import check_embedder_spec, get_embedder
from routellm_plugins.embedding_onnx import OnnxEncoder
from routellm_plugins.errors import ConfigError


@pytest.mark.parametrize("spec, named", [
    (["all-MiniLM-L6-v2"], r"list \['all-MiniLM-L6-v2'\]"),
    (42, "int 42"),
    ("/no/such/encoder/folder", "'/no/such/encoder/folder' is not a local folder"),
])
def test_bad_spec_fails_when_the_router_is_built(spec, named):
    with pytest.raises(ConfigError, match=named):
        load_router("mf", embedder=spec)
    with pytest.raises(ConfigError, match=named):
        RoutingController("mf", strong_share=0.5, embedder=spec)
    with pytest.raises(ConfigError, match=named):
        load_router("sw_ranking", embedder=spec)


def test_folder_that_is_not_an_encoder(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ConfigError, match="is not a Hugging Face encoder: it has no config.json"):
        load_router("mf", embedder=str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(ConfigError, match="no \\*.safetensors weights"):
        check_embedder_spec(tmp_path)


@pytest.mark.parametrize("var, value", [("ROUTELLM_EMBEDDER_BACKEND", "tensorflow"), ("ROUTELLM_EMBEDDER_PRECISION", "fp4")])
def test_bad_environment_fails_at_construction(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=f"{var}.*'{value}'"):
        load_router("mf")


def test_good_specs_pass_and_long_values_are_cut():
    check_embedder_spec(None)
    check_embedder_spec("all-MiniLM-L6-v2")
    check_embedder_spec(embedding.bundled_minilm_path())
    check_embedder_spec(lambda texts: np.ones((len(texts), 4)))
    with pytest.raises(ConfigError) as info:
        check_embedder_spec("/x" * 5000)
    assert len(str(info.value)) < 400


def test_cache_rows_are_copies_and_big_calls_run_in_chunks(monkeypatch):
    """Issue 15 item 5: cached rows never pin a batch array, and a large call is encoded chunk by chunk."""
    monkeypatch.setattr(embedding, "CHUNK_PROMPTS", 16)
    enc = OnnxEncoder(precision="fp32", cache_size=64, micro_batch=False)
    sizes: list[int] = []
    forward = enc._forward
    monkeypatch.setattr(enc, "_forward", lambda seqs: sizes.append(len(seqs)) or forward(seqs))
    prompts = [f"Question {i}: what is {i} times {i + 3}?" for i in range(40)]
    out = enc(prompts + prompts[:5])  # repeats within one call are encoded once
    assert out.shape == (45, 384) and np.array_equal(out[40:], out[:5])
    assert sum(sizes) == 40 and max(sizes) <= 16
    rows = list(enc._cache._data.values())
    assert len(rows) == 40 and all(r.base is None and r.flags.owndata for r in rows)
    assert np.array_equal(enc(prompts[:3]), out[:3])  # served from the cache


def test_default_embedder_is_shared_and_default_precision_is_fp32():
    e = get_embedder()
    assert isinstance(e, OnnxEncoder) and e.precision == "fp32" and get_embedder(precision="auto") is e
