"""Micro-batching in the embedder: concurrent callers share encoder calls and each gets exactly its own rows."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from routellm_plugins.embedding import microbatch_settings
from routellm_plugins.embedding_microbatch import MicroBatcher
from routellm_plugins.embedding_onnx import OnnxEncoder
from routellm_plugins.errors import ConfigError, ScoringError


def prompts_for(caller: int, n: int = 2) -> list[str]:
    """Distinct, real-looking prompts of one caller."""
    topics = ["a binary search in Python", "the causes of the French revolution", "photosynthesis", "a haiku about rain",
              "the derivative of x^3", "how a heat pump works", "the plot of Hamlet", "a SQL join"]
    return [f"Caller {caller}, request {j}: explain {topics[(caller + j) % len(topics)]} in {caller + 2} sentences."
            for j in range(n)]


@pytest.fixture(scope="module")
def enc():
    e = OnnxEncoder(precision="fp32", cache_size=0, micro_batch=True)  # no cache: every call encodes
    e(["load the model"])
    return e


@pytest.fixture(scope="module")
def reference():
    e = OnnxEncoder(precision="fp32", cache_size=0, micro_batch=False)
    return {p: row for c in range(32) for p, row in zip(prompts_for(c), e(prompts_for(c)))}


def test_32_threads_each_get_exactly_their_own_rows(enc, reference):
    results: dict[int, np.ndarray] = {}
    start = threading.Barrier(32)

    def caller(c: int) -> None:
        start.wait()
        results[c] = enc(prompts_for(c))

    calls0, jobs0 = enc._batcher.calls, enc._batcher.jobs
    threads = [threading.Thread(target=caller, args=(c,)) for c in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 32
    all_ref = np.stack([reference[p] for c in range(32) for p in prompts_for(c)])
    for c, rows in results.items():
        want = np.stack([reference[p] for p in prompts_for(c)])
        assert np.allclose(rows, want, atol=1e-4), c
        nearest = (rows @ all_ref.T).argmax(1)  # each row is closest to its own prompt among all 64
        assert list(nearest) == [2 * c, 2 * c + 1]
    calls, jobs = enc._batcher.calls - calls0, enc._batcher.jobs - jobs0
    assert jobs == 32 and calls < 32  # callers were coalesced into fewer encoder calls


def test_asyncio_callers_via_threads(enc, reference):
    async def main() -> list[np.ndarray]:
        return await asyncio.gather(*(asyncio.to_thread(enc, prompts_for(c)) for c in range(16)))

    for c, rows in enumerate(asyncio.run(main())):
        assert np.allclose(rows, np.stack([reference[p] for p in prompts_for(c)]), atol=1e-4)


def _queue_while_busy(batcher: MicroBatcher, jobs: list[list], results: dict, errors: dict) -> list[threading.Thread]:
    """Start one thread per job while the batcher is held busy, in order, each queued before the next starts."""
    with batcher._cond:
        batcher._busy = True  # as if another batch were running

    def run(i: int, items: list) -> None:
        try:
            results[i] = batcher(items)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            errors[i] = exc

    threads = []
    for i, items in enumerate(jobs):
        t = threading.Thread(target=run, args=(i, items))
        t.start()
        threads.append(t)
        deadline = time.monotonic() + 10
        while len(batcher._queue) < i + 1 and time.monotonic() < deadline:
            time.sleep(0.001)
    return threads


def test_a_failing_batch_fails_only_its_own_callers(enc):
    """A token id outside the vocabulary makes onnxruntime fail that batch; the next batch is unaffected."""
    seqs = enc.token_ids(["first", "second", "third", "fourth", "fifth", "sixth"])
    poison = [101, 10**7, 102]
    batcher = MicroBatcher(enc._encode_ids, max_wait_s=0, max_rows=3)
    jobs = [[seqs[0]], [poison], [seqs[1]], [seqs[2]], [seqs[3]], [seqs[4]]]
    results: dict = {}
    errors: dict = {}
    threads = _queue_while_busy(batcher, jobs, results, errors)
    with batcher._cond:
        batcher._busy = False
        batcher._cond.notify_all()
    for t in threads:
        t.join(timeout=60)
    assert sorted(errors) == [0, 1, 2]  # the first batch (3 rows) held the poison
    assert sorted(results) == [3, 4, 5]
    for i in (3, 4, 5):
        assert np.allclose(results[i], enc._encode_ids(jobs[i]), atol=1e-5)
    assert batcher.calls == 2 and batcher.jobs == 6


def test_encoder_error_is_a_scoring_error_without_text(enc, monkeypatch):
    def broken(seqs):
        raise RuntimeError("provider said: secret prompt text")

    monkeypatch.setattr(enc._batcher, "fn", broken)
    with pytest.raises(ScoringError) as info:
        enc(["a prompt that will fail"])
    assert "secret" not in str(info.value) and "RuntimeError" in str(info.value)


def test_close_serves_queued_callers_then_runs_direct(enc):
    seqs = enc.token_ids(["alpha", "beta", "gamma"])
    batcher = MicroBatcher(enc._encode_ids, max_wait_s=0.002)
    results: dict = {}
    errors: dict = {}
    threads = _queue_while_busy(batcher, [[s] for s in seqs], results, errors)
    batcher.close()
    with batcher._cond:
        batcher._busy = False
        batcher._cond.notify_all()
    for t in threads:
        t.join(timeout=60)
    assert not errors and sorted(results) == [0, 1, 2]
    calls = batcher.calls
    out = batcher([seqs[0]])  # after close: encoded directly, not through a batch
    assert np.allclose(out, results[0], atol=1e-5) and batcher.calls == calls
    assert not any(t.is_alive() for t in threads)


def test_wait_is_bounded_and_switchable(monkeypatch):
    with pytest.raises(ConfigError, match="max_wait_s.*0.01"):
        MicroBatcher(lambda x: np.zeros((len(x), 1)), max_wait_s=0.01)
    with pytest.raises(ConfigError, match="max_wait_s"):
        microbatch_settings(None, 1.0)
    assert microbatch_settings(None, None)[0] is False  # off unless asked for
    monkeypatch.setenv("ROUTELLM_EMBEDDER_MICROBATCH", "on")
    assert OnnxEncoder(precision="fp32", cache_size=0).micro_batch is True
    monkeypatch.setenv("ROUTELLM_EMBEDDER_MICROBATCH", "off")
    assert microbatch_settings(None, None)[0] is False
    assert OnnxEncoder(precision="fp32", cache_size=0, micro_batch=True).micro_batch is True  # the argument wins
    monkeypatch.setenv("ROUTELLM_EMBEDDER_MICROBATCH", "1.5")
    assert microbatch_settings(None, None) == (True, 0.0015)
    monkeypatch.setenv("ROUTELLM_EMBEDDER_MICROBATCH", "50")
    with pytest.raises(ConfigError, match="ROUTELLM_EMBEDDER_MICROBATCH.*'50'"):
        microbatch_settings(None, None)
