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


# ---- issue 15 item 7: wrongly shaped mf weights fail at load, naming the tensor and shapes ----------
@pytest.fixture(scope="module")
def mf_copy(tmp_path_factory):
    """The bundled mf checkpoint, saved to a scratch folder (router.json + weights.safetensors)."""
    folder = tmp_path_factory.mktemp("mf") / "ck"
    load_router("mf").save(folder)
    return folder


def _rewrite(src, dst, change_tensors=None, change_config=None):
    from safetensors.numpy import load_file, save_file

    dst.mkdir(parents=True, exist_ok=True)
    meta = json.loads((src / "router.json").read_text())
    if change_config:
        change_config(meta["config"])
    (dst / "router.json").write_text(json.dumps(meta))
    tensors = load_file(str(src / "weights.safetensors"))
    if change_tensors:
        change_tensors(tensors)
    save_file(tensors, str(dst / "weights.safetensors"))
    return dst


@pytest.mark.parametrize(("tensor", "reshape"), [("w2", lambda a: np.ascontiguousarray(a.T)), ("v", lambda a: a[:, :-1].copy()),
                                                 ("feat_mean", lambda a: a[:-2].copy())])
def test_mf_checkpoint_with_wrongly_shaped_weights_fails_at_load_naming_tensor_and_shapes(mf_copy, tmp_path, tensor, reshape):
    def change(t):
        t[tensor] = reshape(t[tensor])

    bad = _rewrite(mf_copy, tmp_path / "bad", change_tensors=change)
    with pytest.raises(CheckpointError) as info:
        load_router("mf", checkpoint=bad)
    msg = str(info.value)
    assert f"tensor {tensor!r} has shape" in msg and "expected" in msg and str(bad) in msg


# ---- issue 15 item 8: paths in router.json stay inside the checkpoint; paths given in code are taken as given ----
def _encoder_folder(path):
    """A folder shaped like a local HF encoder (config + safetensors): enough for the spec checks; never loaded here."""
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    (path / "model.safetensors").write_bytes(b"")
    return path


def test_relative_embedder_in_router_json_resolves_against_the_checkpoint_folder(mf_copy, tmp_path, monkeypatch):
    ck = _rewrite(mf_copy, tmp_path / "ck", change_config=lambda c: c.__setitem__("embedder", "encoder"))
    _encoder_folder(ck / "encoder")
    monkeypatch.chdir(tmp_path)
    _encoder_folder(tmp_path / "encoder")  # a same-named folder in the working directory must not be picked
    router = load_router("mf", checkpoint=ck)
    assert router.featurizer.embedder_spec == str((ck / "encoder").resolve())
    cfg, _ = load_checkpoint(ck)
    assert cfg["embedder"] == str((ck / "encoder").resolve())


@pytest.mark.parametrize("escape", ["../outside", "encoder/../../outside", "./../ck-sibling"])
def test_a_relative_path_in_router_json_leading_outside_the_checkpoint_is_refused(mf_copy, tmp_path, escape):
    ck = _rewrite(mf_copy, tmp_path / "ck", change_config=lambda c: c.__setitem__("embedder", escape))
    (tmp_path / "outside").mkdir()
    with pytest.raises(CheckpointError, match="points outside the checkpoint folder"):
        load_router("mf", checkpoint=ck)


def test_a_symlink_inside_the_checkpoint_pointing_out_is_refused(mf_copy, tmp_path):
    ck = _rewrite(mf_copy, tmp_path / "ck", change_config=lambda c: c.__setitem__("embedder", "encoder"))
    (tmp_path / "elsewhere").mkdir()
    (ck / "encoder").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(CheckpointError, match="outside"):
        load_router("mf", checkpoint=ck)


def test_an_absolute_path_in_router_json_is_used_as_written(mf_copy, tmp_path):
    """What save() writes for an encoder or backbone passed in code: it must load back."""
    encoder = _encoder_folder(tmp_path / "elsewhere" / "encoder")
    ck = _rewrite(mf_copy, tmp_path / "ck", change_config=lambda c: c.__setitem__("embedder", str(encoder)))
    assert load_router("mf", checkpoint=ck).featurizer.embedder_spec == str(encoder)


def test_an_embedder_path_given_in_code_is_taken_as_given(mf_copy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _encoder_folder(tmp_path / "some" / "relative" / "encoder")
    router = load_router("mf", checkpoint=mf_copy, embedder="some/relative/encoder")
    assert router.featurizer.embedder_spec == "some/relative/encoder"


def test_packaged_model_names_in_router_json_are_not_paths(mf_copy, tmp_path):
    ck = _rewrite(mf_copy, tmp_path / "ck", change_config=lambda c: c.__setitem__("embedder", "all-MiniLM-L6-v2"))
    assert load_router("mf", checkpoint=ck).featurizer.embedder_spec == "all-MiniLM-L6-v2"


def test_causal_llm_backbone_loads_safetensors_only_so_no_pickle_reaches_torch_load(tmp_path):
    """A backbone folder whose weights are a pickle (pytorch_model.bin) is refused before anything unpickles it."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, PreTrainedTokenizerFast

    from routellm_plugins import ConfigError
    from routellm_plugins.routers.causal_llm import CausalLLMRouter

    folder = tmp_path / "backbone"
    folder.mkdir()
    vocab = {"[UNK]": 0, **{f"[[{d}]]": d for d in range(1, 6)}, "hi": 6}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(str(folder))
    LlamaConfig(vocab_size=7, hidden_size=8, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2,
                num_key_value_heads=2).save_pretrained(str(folder))
    marker = tmp_path / "pickle-ran"

    class Plant:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Plant()))
    router = CausalLLMRouter(backbone=str(folder))
    with pytest.raises(ConfigError) as info:
        router._backbone()
    assert "safetensors" in str(info.value)
    assert not marker.exists()


# ---- issue 15 item 9: a deeply nested router.json is a CheckpointError, not a RecursionError ----------------
def test_deeply_nested_router_json_is_a_clear_checkpoint_error(tmp_path):
    (tmp_path / "router.json").write_text('{"kind": "mf", "config": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}")
    with pytest.raises(CheckpointError, match="nests deeper than"):
        load_checkpoint(tmp_path)


def test_checkpoint_of_the_wrong_type_is_a_clear_error():
    with pytest.raises(CheckpointError, match="must be a folder path, got int"):
        load_checkpoint(123)
