"""The ONNX MiniLM is built from the pinned weights at first use, into a verified user cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from routellm_plugins import embedding_build as eb
from routellm_plugins.embedding_onnx import OnnxEncoder
from routellm_plugins.errors import ConfigError

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "routellm_plugins" / "assets" / "sample_prompts.jsonl"


def sample_prompts(n: int = 60) -> list[str]:
    rows = [json.loads(line)["prompt"] for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows[:: max(1, len(rows) // n)][:n]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A cache folder holding the fp32 model, built once for this module."""
    cache = tmp_path_factory.mktemp("cache")
    eb.cached_model("fp32", cache_dir=cache)
    return cache


def test_first_use_writes_model_and_verified_manifest(built):
    models, manifests = list(built.glob("minilm-fp32-*.onnx")), list(built.glob("minilm-fp32-*.json"))
    assert len(models) == 1 and len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    data = models[0].read_bytes()
    assert manifest["sha256"] == eb._sha256(data) and manifest["bytes"] == len(data)
    assert manifest["source_sha256"] == eb.SOURCE_SHA256  # built from the weights the routers were trained on
    assert not list(built.glob("*.tmp"))
    before = models[0].stat().st_mtime_ns
    assert eb.cached_model("fp32", cache_dir=built) == data  # read back, not rebuilt
    assert models[0].stat().st_mtime_ns == before


def test_build_is_deterministic(built):
    cached = next(built.glob("minilm-fp32-*.onnx")).read_bytes()
    assert eb.build_variant("fp32") == cached


def test_corrupt_cache_entry_is_rebuilt(built):
    model = next(built.glob("minilm-fp32-*.onnx"))
    good = model.read_bytes()
    model.write_bytes(good[: len(good) // 2])  # a truncated file (e.g. a killed copy)
    assert eb.cached_model("fp32", cache_dir=built) == good
    assert model.read_bytes() == good


def test_unwritable_cache_builds_in_memory(tmp_path, caplog):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with caplog.at_level("WARNING"):
        data = eb.cached_model("int8", cache_dir=not_a_dir / "sub")
    assert data[:2] and "not writable" in caplog.text
    assert not (not_a_dir / "sub").exists()


def test_concurrent_first_use_in_several_processes(tmp_path):
    """Three processes start on an empty cache at once: one builds, all get the same rows, one file results."""
    code = ("import json, routellm_plugins.embedding as e; "
            "print(json.dumps(e.get_embedder(precision='int8')(['What is 2 + 2?'])[0][:8].tolist()))")
    env = {**os.environ, "ROUTELLM_CACHE": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-400:] for _, err in outs]
    rows = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert rows[0] == rows[1] == rows[2]
    folder = tmp_path / "embedder"
    assert len(list(folder.glob("minilm-int8-*.onnx"))) == 1 and len(list(folder.glob("minilm-int8-*.json"))) == 1
    assert not list(folder.glob("*.tmp"))


def test_int8_tier_is_close_and_independent_of_its_batch():
    prompts = sample_prompts()
    fp32 = OnnxEncoder(precision="fp32", cache_size=0, micro_batch=False)(prompts)
    enc = OnnxEncoder(precision="int8", cache_size=0, micro_batch=False)
    int8 = enc(prompts)
    cos = (fp32 * int8).sum(1)
    assert cos.min() > 0.995 and cos.mean() > 0.998, (cos.min(), cos.mean())
    alone = np.concatenate([enc([p]) for p in prompts[:6]])  # per-row scales: a row never depends on its batch
    assert np.allclose(alone, int8[:6], atol=2e-5)


def test_missing_calibration_and_bad_variant_are_named(monkeypatch, tmp_path):
    with pytest.raises(ConfigError, match="unknown embedder variant 'fp8'"):
        eb.cached_model("fp8", cache_dir=tmp_path)
    monkeypatch.setattr(eb, "PARAMS_FILE", tmp_path / "gone.safetensors")
    with pytest.raises(ConfigError, match="int8 embedder calibration.*gone.safetensors.*missing"):
        eb.cached_model("int8", cache_dir=tmp_path)


def test_graph_matches_a_numpy_forward_pass():
    """The built graph computes the same embedding as plain numpy over the pinned weights."""
    cfg, t = eb.load_source(eb_folder())
    enc = OnnxEncoder(precision="fp32", cache_size=0, micro_batch=False)
    ids = enc.token_ids(["Natalia sold clips to 48 of her friends in April."])[0]
    want = eb.reference_forward(cfg, t, ids)
    got = enc._forward([ids])[0]
    assert float(got @ want) > 0.99999


def eb_folder() -> Path:
    from routellm_plugins.embedding import bundled_minilm_path

    return bundled_minilm_path()
