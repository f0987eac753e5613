"""The ``bert`` router: real (tiny) training on real prompts, checkpoint round trip and refusals, bundled checkpoint."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest

from routellm_plugins import load_router
from routellm_plugins.checkpoint import WEIGHTS_FILE, load_checkpoint
from routellm_plugins.data.graded import ROUTELLM_STRONG, ROUTELLM_WEAK
from routellm_plugins.errors import CheckpointError, ConfigError, NotFittedError
from routellm_plugins.registry import bundled_checkpoint
from routellm_plugins.routers.bert import SCORE_MODES, BertRouter

PROMPTS = [
    "What is 2 + 2?",
    "Translate 'good morning' into French.",
    "Prove that every finite integral domain is a field, then generalise the argument to Artinian rings.",
    "Write a Python function that returns the n-th Fibonacci number using memoisation.",
]


@pytest.fixture(scope="module")
def tiny(shared_data):
    """A BertRouter trained for real: 1 top layer, 1 epoch, 160 RouterBench prompts."""
    from routellm_plugins.data.routerbench import load_routerbench
    from routellm_plugins.training.bert import fit_bert

    rng = np.random.default_rng(0)
    train = load_routerbench("train", shared_data).select_models([ROUTELLM_STRONG, ROUTELLM_WEAK])
    val = load_routerbench("test", shared_data).select_models([ROUTELLM_STRONG, ROUTELLM_WEAK])
    train = train.subset(np.sort(rng.choice(len(train), 160, replace=False)))
    val = val.subset(np.sort(rng.choice(len(val), 60, replace=False)))
    router = BertRouter(trained_layers=1, max_tokens=48, batch_size=32)
    return fit_bert(router, [train], [val], epochs=1, epoch_size=160, seed=0)


def test_tiny_training_updates_only_the_top_layer_and_scores(tiny):
    assert len(tiny.history) == 1 and np.isfinite(tiny.history[0]["loss"])
    assert tiny.score_mode in SCORE_MODES
    assert set(tiny.trained_) == {k for k in tiny.trained_ if k.startswith(("layer.5.", "head."))}
    # Training moved the top layer away from the backbone's own weights.
    _, backbone = tiny.build_backbone()
    original = backbone.encoder.layer[5].attention.self.query.weight.detach().numpy()
    assert not np.allclose(tiny.trained_["layer.5.attention.self.query.weight"], original, atol=1e-4)
    scores = tiny.score(PROMPTS)
    assert scores.shape == (4,) and ((scores >= 0) & (scores <= 1)).all()
    probs = tiny.class_probs(PROMPTS)
    assert np.allclose(probs.sum(1), 1.0, atol=1e-6)


def test_save_load_round_trip_gives_identical_scores(tiny, tmp_path):
    tiny.calibrate(PROMPTS, 0.5)
    tiny.save(tmp_path / "ck")
    config, tensors = load_checkpoint(tmp_path / "ck", kind="bert")
    assert config["backbone"] == "bundled" and config["trained_layers"] == 1
    assert all(v.dtype == np.float16 for k, v in tensors.items() if k != "calibration_scores")
    assert (tmp_path / "ck" / WEIGHTS_FILE).stat().st_size < 4_000_000  # one fp16 layer + head (3.5 MB), not the 45 MB encoder
    again = BertRouter.load(tmp_path / "ck")
    assert again._model is None  # lazy: nothing loaded until the first score
    assert again.threshold == tiny.threshold and again.score_mode == tiny.score_mode
    np.testing.assert_array_equal(again.score(PROMPTS), tiny.score(PROMPTS))


def test_concurrent_first_scores_load_once_and_agree(tiny, tmp_path):
    tiny.save(tmp_path / "ck")
    fresh = BertRouter.load(tmp_path / "ck")
    expected = tiny.score(PROMPTS)
    results: list[np.ndarray] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        results.append(fresh.score(PROMPTS))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-6)


@pytest.fixture(scope="module")
def bundled():
    return load_router("bert")


def test_bundled_checkpoint_scores_real_prompts_in_line_with_mf(bundled, shared_data):
    from routellm_plugins.data.routellm_evals import load_mmlu
    from routellm_plugins.training import MMLU_TEST_FOLD, N_FOLDS

    mmlu = load_mmlu(shared_data)
    test = [p for p, f in zip(mmlu.prompts, mmlu.folds(N_FOLDS)) if f == MMLU_TEST_FOLD]
    prompts = [test[i] for i in np.random.default_rng(1).choice(len(test), 200, replace=False)]
    scores = bundled.score(prompts)
    assert scores.shape == (200,) and ((scores >= 0) & (scores <= 1)).all()
    assert scores.std() > 1e-3  # not a constant router
    assert bundled.threshold is not None and bundled.calibration_scores is not None
    mf_scores = load_router("mf").score(prompts)
    rho = np.corrcoef(np.argsort(np.argsort(scores)), np.argsort(np.argsort(mf_scores)))[0, 1]  # Spearman
    assert rho > 0.1, rho


def test_bundled_checkpoint_ships_only_the_trained_layers():
    config, tensors = load_checkpoint(bundled_checkpoint("bert"), kind="bert")
    layers = {k.split(".")[1] for k in tensors if k.startswith("layer.")}
    assert len(layers) == config["trained_layers"] and "head.weight" in tensors
    assert (bundled_checkpoint("bert") / WEIGHTS_FILE).stat().st_size < 8_000_000


def _rewrite(folder, change):
    from safetensors.numpy import save_file

    _, tensors = load_checkpoint(folder)
    change(tensors)
    save_file(tensors, str(folder / WEIGHTS_FILE))


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda t: t.__setitem__("head.weight", np.zeros((3, 100), np.float16)), "head.weight"),
        (lambda t: t.__setitem__("layer.5.output.dense.weight", np.zeros((384, 384), np.float16)), "layer.5.output.dense.weight"),
        (lambda t: t.pop("layer.5.attention.self.key.bias"), "layer.5.attention.self.key.bias"),
        (lambda t: t.__setitem__("layer.2.output.dense.bias", np.zeros(384, np.float16)), "layer.2.output.dense.bias"),
    ],
)
def test_checkpoint_that_does_not_fit_is_refused(tmp_path, change, needle):
    folder = tmp_path / "bad"
    shutil.copytree(bundled_checkpoint("bert"), folder)
    _rewrite(folder, change)
    with pytest.raises(CheckpointError, match=needle.replace(".", r"\.")):
        BertRouter.load(folder)


def test_bad_backbone_path_is_a_config_error_naming_it(tmp_path):
    missing = tmp_path / "no-such-encoder"
    with pytest.raises(ConfigError, match="no-such-encoder"):
        BertRouter(backbone=str(missing))
    with pytest.raises(ConfigError, match="no-such-encoder"):
        load_router("bert", backbone=str(missing))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="empty"):
        BertRouter(backbone=str(empty))


def test_bad_settings_and_unfitted_router_are_refused():
    with pytest.raises(ConfigError, match="score_mode"):
        BertRouter(score_mode="best")
    with pytest.raises(ConfigError, match="trained_layers"):
        BertRouter(trained_layers=7)
    with pytest.raises(NotFittedError):
        BertRouter().score(["hello"])
