"""Shared routing state in a real redis-server (issue 16): settings, the fleet window, sessions, counters, outages.

Each "replica" is a RoutingController of its own over the bundled default router and encoder (one
router object, loaded once); they meet only through Redis. Background syncs are slowed to 60 s
where a test calls ``sync()`` itself, so the windows it checks are exact.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

import numpy as np
import pytest
from redis_server import RedisServer, free_port

from routellm_plugins import STRONG, WEAK, ConfigError, RoutingController, load_router
from routellm_plugins.demo import sample_prompts
from routellm_plugins.registry import DEFAULT_ROUTER
from routellm_plugins.shared_state import UNAVAILABLE_NOTE, parse_shared_state
from routellm_plugins.shared_state.sessions import digest
from routellm_plugins.thresholds import threshold_for_share

EASY = "hi there"
HARD = ("Prove that for every prime p > 3, p^2 - 1 is divisible by 24, then derive a closed form for the sum of the "
        "first n cubes and prove it by induction, showing every step.")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def router():
    return load_router(DEFAULT_ROUTER)


@pytest.fixture(scope="module")
def cut(router) -> float:
    easy, hard = router.score([EASY, HARD])
    assert hard > easy
    return float((easy + hard) / 2)


@pytest.fixture
def replicas(router):
    """make(url, **settings) -> a controller; every one is closed after the test."""
    made: list[RoutingController] = []

    def make(url: str, scope: str, prefix: str = "t", sync_every_s: float = 60.0, retry_after_s: float = 0.3, **kw) -> RoutingController:
        shared = {"url": url, "scope": scope, "prefix": prefix, "sync_every_s": sync_every_s, "retry_after_s": retry_after_s, "timeout_s": 0.2}
        ctl = RoutingController(router, shared_state=shared, **kw)
        made.append(ctl)
        return ctl

    yield make
    for ctl in made:
        ctl.close()


def scope() -> str:
    return uuid.uuid4().hex[:12]


# ---- the setting ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("bad", "named"), [
    ("http://cache:6379/0", "'http://cache:6379/0'"),
    ("redis://:hunter2-secret@cache:6379/0?", None),  # valid URL: accepted, but never shown with its password
    ({"url": "redis://h:1/0", "ttl": 5}, "'ttl'"),
    ({"url": "redis://h:1/0", "timeout_s": 0}, "0"),
    ({"url": "redis://h:1/0", "timeout_s": "0.1"}, "'0.1'"),
    ({"url": "redis://h:1/0", "prefix": "a b"}, "'a b'"),
    ({"prefix": "x"}, "url:"),
    ("os.environ/ROUTELLM_TEST_UNSET_VAR", "ROUTELLM_TEST_UNSET_VAR"),
    (["redis://h:1/0"], "list"),
])
def test_shared_state_settings_are_checked_naming_the_value_never_a_password(bad, named, monkeypatch):
    monkeypatch.delenv("ROUTELLM_TEST_UNSET_VAR", raising=False)
    if named is None:
        cfg = parse_shared_state(bad)
        assert "hunter2" not in repr(cfg) and "hunter2" not in cfg.shown_url and cfg.url == bad
        with pytest.raises(ConfigError) as info:
            parse_shared_state({"url": bad, "timeout_s": -1})
        assert "hunter2" not in str(info.value)
        with pytest.raises(ConfigError) as info:
            parse_shared_state(bad.replace("redis://", "tcp://"))
        assert "hunter2" not in str(info.value) and "***" in str(info.value)
        return
    with pytest.raises(ConfigError) as info:
        RoutingController.from_config({"router": "random", "threshold": 0.5, "shared_state": bad})
    assert named in str(info.value)


def test_the_url_can_come_from_the_environment_and_nothing_connects_when_built(monkeypatch, router):
    port = free_port()  # nobody listens: building must still work
    monkeypatch.setenv("ROUTELLM_TEST_REDIS", f"redis://127.0.0.1:{port}/0")
    ctl = RoutingController(router, threshold=0.5, shared_state="os.environ/ROUTELLM_TEST_REDIS")
    try:
        assert ctl.shared.config.url.endswith(f":{port}/0") and ctl.shared.stats()["round_trips"] == 0
        assert ctl.shared.scope == router.name  # default scope: the router's name
    finally:
        ctl.close()


# ---- one threshold for the fleet ---------------------------------------------------------------------
def test_two_replicas_hold_one_threshold_and_the_fleet_share(server, replicas, router):
    prompts = [r["prompt"] for r in sample_prompts()[:60]]
    scores = router.score(prompts)
    order = np.argsort(scores)
    easy, hard = [prompts[i] for i in order[:30]], [prompts[i] for i in order[30:]]
    name = scope()
    a = replicas(server.url, name, strong_share=0.3, adaptive=True, window=60)
    b = replicas(server.url, name, strong_share=0.3, adaptive=True, window=60)
    for _ in range(2):  # warm-up: the fleet window ends with each prompt once, interleaved as live traffic would be
        for h, e in zip(hard, easy):
            a.decide(h)
            b.decide(e)
            a.shared.sync(), b.shared.sync()
    a.shared.sync()
    expected = threshold_for_share(scores, 0.3)
    assert a.current_threshold == pytest.approx(expected) and b.current_threshold == pytest.approx(expected)
    # in-process state alone would give each replica its own threshold (its own 30 % of its own traffic)
    assert a.adaptive.local.threshold > expected > b.adaptive.local.threshold
    got = {"a": [], "b": []}
    for h, e in zip(hard, easy):
        got["a"].append(a.decide(h).model)
        got["b"].append(b.decide(e).model)
        a.shared.sync(), b.shared.sync(), a.shared.sync()
    fleet = (got["a"] + got["b"]).count(STRONG) / 60
    share_a, share_b = got["a"].count(STRONG) / 30, got["b"].count(STRONG) / 30
    assert fleet == pytest.approx(0.30, abs=0.03), (fleet, share_a, share_b)
    assert share_a - share_b >= 0.4
    assert server.client().llen(f"t:{name}:scores") == 60


# ---- sticky sessions across replicas ---------------------------------------------------------------------
def test_escalate_keeps_the_strong_model_on_another_replica(server, replicas, cut):
    name = scope()
    a = replicas(server.url, name, threshold=cut, sticky_sessions="escalate")
    b = replicas(server.url, name, threshold=cut, sticky_sessions="escalate")
    assert b.decide(EASY, "conv").model == WEAK
    up = a.decide(HARD, "conv")
    kept = b.decide(EASY, "conv")
    assert up.model == STRONG and not up.sticky
    assert kept.model == STRONG and kept.sticky and "escalate" in kept.reason
    assert b.decide(EASY, "other").model == WEAK
    assert UNAVAILABLE_NOTE not in (kept.reason or "")


def test_concurrent_first_turns_on_different_replicas_agree(server, replicas, cut):
    name = scope()
    fleet = [replicas(server.url, name, threshold=cut, sticky_sessions="first") for _ in range(2)]
    for round_ in range(5):
        got, lock, gate = [], threading.Lock(), threading.Barrier(6)

        def turn(k: int) -> None:
            gate.wait()
            d = fleet[k % 2].decide(HARD if k % 2 else EASY, f"new-{round_}")  # replica 1 alone would say strong, replica 0 weak
            with lock:
                got.append(d)

        threads = [threading.Thread(target=turn, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(got) == 6 and len({d.model for d in got}) == 1, [d.model for d in got]
        assert sum(not d.sticky for d in got) >= 1
        assert fleet[0].decide(HARD, f"new-{round_}").model == got[0].model  # later turns too


def test_sessions_are_bounded_and_expire_fleet_wide(server, replicas, cut):
    name = scope()
    a = replicas(server.url, name, threshold=cut, sticky_sessions="first", max_sessions=5, session_ttl_s=1)
    b = replicas(server.url, name, threshold=cut, sticky_sessions="first", max_sessions=5, session_ttl_s=1)
    for i in range(8):
        (a if i % 2 else b).decide(EASY, f"s{i}")
    r = server.client()
    stored = r.keys(f"t:{name}:s:*")
    assert r.zcard(f"t:{name}:sessions") == 5 and len(stored) == 5
    assert all(0 < r.pttl(k) <= 1000 for k in stored)
    assert b.decide(HARD, "s7").sticky  # the most recent ones are kept
    time.sleep(1.3)
    assert r.keys(f"t:{name}:s:*") == []
    fresh_a = replicas(server.url, name, threshold=cut, sticky_sessions="first")  # no local cache: only Redis could remember
    assert fresh_a.decide(HARD, "s7").sticky is False


def test_no_prompt_or_raw_session_id_reaches_redis_and_prefixes_keep_fleets_apart(server, replicas, cut):
    canary, sid = f"CANARY-{uuid.uuid4().hex} {HARD}", f"SID-{uuid.uuid4().hex}"
    name = scope()
    a = replicas(server.url, name, prefix="fleetA", threshold=cut, sticky_sessions="first")
    other = replicas(server.url, name, prefix="fleetB", threshold=cut, sticky_sessions="first")
    assert not a.decide(canary, sid).sticky and a.decide(EASY, sid).sticky
    assert not other.decide(EASY, sid).sticky  # same scope and session id, other prefix: not shared
    a.shared.sync(), other.shared.sync()
    r = server.client()
    dump = []
    for key in r.scan_iter("fleet*"):
        kind = r.type(key)
        value = {b"string": r.get, b"list": lambda k: r.lrange(k, 0, -1), b"hash": r.hgetall,
                 b"zset": lambda k: r.zrange(k, 0, -1)}[kind](key)
        dump.append(repr(key) + repr(value))
    text = "\n".join(dump)
    assert f"fleetA:{name}:decisions" in text and f"fleetB:{name}:decisions" in text
    assert "CANARY" not in text and sid not in text and sid[4:] not in text


def test_decision_counters_add_up_across_replicas(server, replicas, cut):
    name = scope()
    a = replicas(server.url, name, threshold=cut)
    b = replicas(server.url, name, threshold=cut)
    for _ in range(3):
        a.decide(HARD), b.decide(EASY), b.decide("")
    b.shared.sync()
    counts = a.fleet_stats()["decisions"]
    assert counts == {"requests": 9, "model:strong": 6, "model:weak": 3, "fallback": 3}


# ---- Redis away ------------------------------------------------------------------------------------------
def test_a_dead_redis_costs_nothing_per_request_after_the_first_failure(replicas, cut, caplog):
    ctl = replicas(f"redis://127.0.0.1:{free_port()}/0", scope(), threshold=cut, sticky_sessions="escalate", retry_after_s=30)
    with caplog.at_level(logging.WARNING, logger="routellm_plugins"):
        got = [ctl.decide(HARD if i % 2 else EASY, f"c{i % 3}") for i in range(30)]
    assert [d.model for d in got[:2]] == [WEAK, STRONG]
    assert all(UNAVAILABLE_NOTE in d.reason and not d.fallback for d in got)
    kept = ctl.decide(EASY, "c1")  # c1 reached the strong model earlier
    assert kept.model == STRONG and kept.sticky and UNAVAILABLE_NOTE in kept.reason  # local sessions still apply
    stats = ctl.shared.stats()
    assert stats["failures"] <= 2 and stats["skipped"] >= 29 and stats["round_trips"] == 0
    lines = [r.getMessage() for r in caplog.records if "shared_state" in r.getMessage()]
    assert len(lines) == 1 and "ConnectionError" in lines[0] and "next try in 30 s" in lines[0]


def test_a_hung_redis_costs_at_most_the_time_budget_then_state_resumes(tmp_path, replicas, cut):
    srv = RedisServer(tmp_path).start()
    try:
        ctl = replicas(srv.url, scope(), threshold=cut, sticky_sessions="first", retry_after_s=0.5)
        assert UNAVAILABLE_NOTE not in (ctl.decide(EASY, "before").reason or "")
        srv.pause()
        took = []
        for i in range(5):
            t = time.perf_counter()
            d = ctl.decide(HARD, f"during-{i}")
            took.append(time.perf_counter() - t)
            assert UNAVAILABLE_NOTE in d.reason
        assert took[0] < 2 * 0.2 + 1.0, took  # at most two socket timeouts (+ scoring) for the request that found it hung
        stats = ctl.shared.stats()
        assert stats["failures"] == 1 and stats["skipped"] >= 9  # breaker open: the other calls did not wait
        srv.resume()
        time.sleep(0.6)
        d = ctl.decide(HARD, "during-0")  # decided locally while Redis hung: published now, and kept
        assert UNAVAILABLE_NOTE not in (d.reason or "") and d.sticky and d.model == STRONG
        assert srv.client().exists(ctl.shared.keys["session"] + digest("during-0"))
    finally:
        srv.stop()


def test_a_restarted_redis_gets_the_outage_counts_and_sessions_back(tmp_path, replicas, cut):
    srv = RedisServer(tmp_path).start()
    try:
        name = scope()
        a = replicas(srv.url, name, threshold=cut, sticky_sessions="first", retry_after_s=0.3)
        b = replicas(srv.url, name, threshold=cut, sticky_sessions="first", retry_after_s=0.3)
        a.decide(EASY, "x"), b.decide(EASY, "y")
        srv.kill()
        down = [a.decide(HARD, "outage"), a.decide(EASY, "outage"), b.decide(EASY, "z")]
        assert all(UNAVAILABLE_NOTE in d.reason for d in down) and down[1].model == STRONG
        srv.start()  # same port, empty
        time.sleep(0.4)
        assert UNAVAILABLE_NOTE not in (a.decide(EASY, "outage").reason or "")  # a publishes its outage decision
        seen_by_b = b.decide(EASY, "outage")
        assert (seen_by_b.model, seen_by_b.sticky) == (STRONG, True)
        assert UNAVAILABLE_NOTE not in (seen_by_b.reason or "")
        a.shared.sync(), b.shared.sync()
        counts = a.fleet_stats()["decisions"]
        assert counts["shared_state_unavailable"] == 3  # decided during the outage, counted once Redis was back
        assert counts["requests"] == 7  # none lost: counts queue in the replica until Redis takes them
        assert a.shared.stats()["reconnects"] >= 1
    finally:
        srv.stop()


# ---- the adapters ----------------------------------------------------------------------------------------
def test_the_adapters_share_conversations_and_show_the_flag_in_their_metadata(server, router, cut):
    from langchain_core.language_models import GenericFakeChatModel
    from llama_index.core.base.llms.types import ChatMessage
    from llama_index.core.llms import MockLLM

    from langchain_adapter import ChatRouteLLM
    from llamaindex_adapter import RouteLLM

    def lc_model(url: str) -> ChatRouteLLM:
        return ChatRouteLLM(strong=GenericFakeChatModel(messages=iter(["strong answer"] * 5)),
                            weak=GenericFakeChatModel(messages=iter(["weak answer"] * 5)), router=router, threshold=cut,
                            sticky_sessions="escalate", shared_state={"url": url, "scope": name, "retry_after_s": 30})

    name = scope()
    lc = lc_model(server.url)
    li = RouteLLM(strong=MockLLM(), weak=MockLLM(), router=router, threshold=cut, sticky_sessions="escalate",
                  shared_state={"url": server.url, "scope": name})
    dead = lc_model(f"redis://127.0.0.1:{free_port()}/0")
    try:
        first = lc.invoke(HARD, config={"configurable": {"thread_id": "chat-1"}}).response_metadata["routellm"]
        with RouteLLM.session("chat-1"):  # the same conversation, continued by a LlamaIndex app of the fleet
            later = RouteLLM.decision_of(li.chat([ChatMessage(role="user", content=EASY)]))
        assert (first["model"], first["sticky"]) == (STRONG, False)
        assert (later["model"], later["sticky"]) == (STRONG, True)
        alone = dead.invoke(EASY, config={"configurable": {"thread_id": "chat-1"}}).response_metadata["routellm"]
        assert alone["model"] == WEAK and UNAVAILABLE_NOTE in alone["reason"]
    finally:
        for ctl in (lc.routing_controller, li.controller, dead.routing_controller):
            ctl.close()
