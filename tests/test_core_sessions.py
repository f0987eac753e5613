"""Sticky sessions (issue 14 "All three", issue 15 item 4): the three policies, marked reuse, bounded ids and memory.

The real mf router with the bundled encoder; the threshold is set between the scores of an easy and
a hard prompt, so the easy one goes weak and the hard one strong on their own.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import pytest

from routellm_plugins import STRONG, WEAK, ConfigError, Decision, RoutingController, load_router
from routellm_plugins.sessions import MAX_ID_CHARS, SessionMemory, session_key

EASY = "hi there"
HARD = ("Prove that for every prime p > 3, p^2 - 1 is divisible by 24, then derive a closed form for the sum of the "
        "first n cubes and prove it by induction, showing every step.")


@pytest.fixture(scope="module")
def mf():
    return load_router("mf")


@pytest.fixture(scope="module")
def cut(mf) -> float:
    easy, hard = mf.score([EASY, HARD])
    assert hard > easy
    return float((easy + hard) / 2)


def controller(mf, cut, **kw) -> RoutingController:
    return RoutingController(mf, threshold=cut, **kw)


def test_default_policy_is_off_every_turn_scored_on_its_own(mf, cut):
    ctl = controller(mf, cut)
    assert ctl.sticky_policy == "off" and ctl.sticky_sessions is False
    a, b = ctl.decide(HARD, "s"), ctl.decide(EASY, "s")
    assert (a.model, b.model) == (STRONG, WEAK) and not a.sticky and not b.sticky
    assert len(ctl.sessions) == 0


def test_escalate_never_drops_to_the_weak_model_within_a_conversation(mf, cut):
    ctl = controller(mf, cut, sticky_sessions="escalate")
    first = ctl.decide(EASY, "c1")
    up = ctl.decide(HARD, "c1")
    kept = ctl.decide(EASY, "c1")
    assert (first.model, first.sticky) == (WEAK, False)  # a conversation that opens with "hi" can still escalate
    assert (up.model, up.sticky) == (STRONG, False)
    assert kept.model == STRONG and kept.sticky is True and not kept.fallback
    assert kept.score < kept.threshold  # this turn's own score is kept: the model came from memory
    assert "escalate" in kept.reason
    assert json.loads(json.dumps(kept.to_dict()))["sticky"] is True
    assert ctl.decide(EASY, "c2").model == WEAK  # other conversations are not affected


def test_true_means_escalate_and_false_means_off(mf, cut):
    assert controller(mf, cut, sticky_sessions=True).sticky_policy == "escalate"
    assert controller(mf, cut, sticky_sessions=False).sticky_policy == "off"


@pytest.mark.parametrize("bad", ["yes", "sticky", 1, 0.5, ["first"]])
def test_unknown_policies_are_refused_naming_the_value(mf, cut, bad):
    with pytest.raises(ConfigError) as info:
        controller(mf, cut, sticky_sessions=bad)
    assert repr(bad)[:5] in str(info.value) and "escalate" in str(info.value)


def test_first_reuses_the_first_scored_decision_marked_sticky(mf, cut):
    ctl = controller(mf, cut, sticky_sessions="first")
    assert ctl.decide("", "f").fallback  # an unscorable first turn is not remembered
    first = ctl.decide(EASY, "f")
    again = ctl.decide(HARD, "f")
    blank = ctl.decide("\u200b", "f")
    assert first.model == WEAK and not first.sticky
    assert again.model == WEAK and again.sticky and again.score == first.score
    assert blank.model == WEAK and blank.sticky and not blank.fallback


def test_concurrent_first_turns_of_one_session_agree(mf, cut):
    ctl = controller(mf, cut, sticky_sessions="first")
    for round_ in range(6):
        got: list[Decision] = []
        lock = threading.Lock()
        gate = threading.Barrier(8)

        def turn(k: int) -> None:
            gate.wait()
            d = ctl.decide(HARD if k % 2 else EASY, f"new-{round_}")
            with lock:
                got.append(d)

        threads = [threading.Thread(target=turn, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(got) == 8 and len({d.model for d in got}) == 1, [d.model for d in got]
        assert sum(not d.sticky for d in got) >= 1


@pytest.mark.parametrize("bad_id", [["a", "b"], {"thread": 1}, 42, b"bytes", 3.5])
def test_a_non_str_session_id_is_routed_without_the_session_and_noted(mf, cut, bad_id):
    ctl = controller(mf, cut, sticky_sessions="escalate")
    d = ctl.decide(HARD, bad_id)
    assert d.model == STRONG and not d.fallback and not d.sticky
    assert d.reason.startswith("session_id ignored: got") and type(bad_id).__name__ in d.reason
    assert len(ctl.sessions) == 0
    assert ctl.decide(EASY, bad_id).model == WEAK  # nothing was remembered under it


def test_long_ids_are_kept_as_a_fixed_size_digest():
    short, note = session_key("x" * MAX_ID_CHARS)
    long_a, _ = session_key("x" * 1_000_000 + "a")
    long_b, _ = session_key("x" * 1_000_000 + "b")
    assert short == "x" * MAX_ID_CHARS and note is None
    assert long_a != long_b and len(long_a) == len(long_b) < 80


def _rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_150_requests_with_1mb_session_ids_do_not_grow_memory(mf, cut):
    ctl = controller(mf, cut, sticky_sessions="escalate")
    for i in range(5):  # warm up: encoder buffers, caches
        ctl.decide(HARD if i % 2 else EASY, f"warm-{i}" + "w" * 1_000_000)
    before = _rss_bytes()
    for i in range(150):
        ctl.decide(HARD if i % 2 else EASY, f"{i}-" + "z" * 1_000_000)
    grown = _rss_bytes() - before
    assert len(ctl.sessions) == 155
    assert grown < 8 * 2**20, f"RSS grew by {grown / 2**20:.1f} MB"


def test_max_sessions_is_bounded_and_least_recent_dropped(mf, cut):
    with pytest.raises(ConfigError, match="1,000,000"):
        controller(mf, cut, max_sessions=10**15)
    for bad in (0, -1, "10", True, 2.0):
        with pytest.raises(ConfigError, match="max_sessions"):
            controller(mf, cut, max_sessions=bad)
    ctl = controller(mf, cut, sticky_sessions="first", max_sessions=2)
    ctl.decide(EASY, "a")
    ctl.decide(EASY, "b")
    ctl.decide(EASY, "c")  # evicts "a", the least recently used
    assert len(ctl.sessions) == 2
    assert ctl.decide(HARD, "a").model == STRONG and ctl.decide(HARD, "c").model == WEAK


def test_sessions_expire_after_session_ttl_s(mf, cut):
    ctl = controller(mf, cut, sticky_sessions="first", session_ttl_s=0.2)
    assert ctl.decide(EASY, "t").model == WEAK
    assert ctl.decide(HARD, "t").sticky
    time.sleep(0.3)
    fresh = ctl.decide(HARD, "t")
    assert fresh.model == STRONG and not fresh.sticky


def test_escalate_in_a_pool_never_serves_a_model_of_lower_profiled_quality():
    pool = {"gpt-4-1106-preview": 6.0e-3, "gpt-3.5-turbo-1106": 4.7e-4, "zero-one-ai/Yi-34B-Chat": 3.6e-4}
    ctl = RoutingController(pool=pool, lam=2.0, sticky_sessions="escalate")
    ranks = ctl.sessions._rank
    order = sorted(pool, key=ranks)
    low, mid, high = order
    assert ranks(high) > ranks(mid) > ranks(low)
    # the policy itself, on decisions of this pool
    memory = SessionMemory("escalate", 10, None, ranks)
    base = Decision(mid, 0.5, 2.0, "uniroute", 0.0)
    assert memory.settle("s", base).model == mid
    assert memory.settle("s", replace(base, model=low)).model == mid
    assert memory.settle("s", replace(base, model=high)).model == high
    lifted = memory.settle("s", replace(base, model=mid))
    assert lifted.model == high and lifted.sticky
    # and end to end with the bundled pool router: served quality never falls within a conversation
    prompts = ["hi", "Write a Python function that merges two sorted lists in O(n).", "What is 2+2?",
               "Which gas do plants take in during photosynthesis? A. oxygen B. carbon dioxide C. nitrogen D. helium", "thanks!"]
    served = [ctl.decide(p, "pool-chat").model for p in prompts]
    assert all(ranks(b) >= ranks(a) for a, b in zip(served, served[1:])), served
