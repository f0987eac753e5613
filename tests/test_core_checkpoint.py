"""Checkpoints are safetensors + JSON only; pickle and corrupt files are refused clearly."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from routellm_plugins import CheckpointError, load_router
from routellm_plugins.checkpoint import load_checkpoint, save_checkpoint


class Payload:
    def __reduce__(self):  # would run code if anything unpickled it
        return (exec, ("raise SystemExit('pickle was executed')",))


def test_pickle_file_is_refused(tmp_path):
    path = tmp_path / "router.pt"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(CheckpointError, match="pickle"):
        load_router("mf", checkpoint=path)


def test_pickle_disguised_as_safetensors_is_refused(tmp_path):
    save_checkpoint(tmp_path, "mf", {"strong_model": "a"}, {})
    (tmp_path / "weights.safetensors").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        load_checkpoint(tmp_path)


def test_corrupt_json_and_wrong_kind(tmp_path):
    (tmp_path / "router.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(tmp_path)
    save_checkpoint(tmp_path, "sw_ranking", {}, {"x": np.zeros(2, dtype=np.float32)})
    with pytest.raises(CheckpointError, match="holds a 'sw_ranking' router, not 'mf'"):
        load_router("mf", checkpoint=tmp_path)


def test_nan_weights_are_refused(tmp_path):
    save_checkpoint(tmp_path, "mf", {}, {"v": np.array([np.nan], dtype=np.float32)})
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(tmp_path)


def test_round_trip(tmp_path):
    save_checkpoint(tmp_path, "random", {"seed": 3}, {"a": np.arange(4, dtype=np.float32)})
    cfg, tensors = load_checkpoint(tmp_path, kind="random")
    assert cfg == {"seed": 3} and np.array_equal(tensors["a"], np.arange(4))
    assert json.loads((tmp_path / "router.json").read_text())["format_version"] == 1
