"""Two real LiteLLM proxy replicas sharing one real redis-server (issue 16): one routing policy for the fleet.

Both replicas run examples/deploy/litellm_replicas.yaml (mock_response deployments) with three
settings changed for speed: window 120 (one cycle of the test's prompts), sync_every_s 0.05
(so each replica's share of the window stays within a request or two of half) and
retry_after_s 0.5.
Shows: a sticky conversation keeps its model on the other replica; with adaptive strong_share
0.3, a replica fed hard prompts and one fed easy prompts together hold 0.30 while the hard one
sends far more to the strong model; the fleet's cost summary counts both replicas; Redis killed
mid-run loses no request, flags the decisions made meanwhile, and the fleet state resumes.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import yaml
from redis_server import RedisServer, free_port

from litellm_adapter.costs import fleet_summary
from routellm_plugins.demo import sample_prompts
from routellm_plugins.shared_state import UNAVAILABLE_NOTE

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "deploy" / "litellm_replicas.yaml"
MASTER_KEY = "sk-routellm-replicas-test"
START_TIMEOUT_S = 180
N = 60  # hard prompts for replica A, and as many easy ones for replica B
UNAVAILABLE = UNAVAILABLE_NOTE.split(":")[0]  # "shared_state unavailable", as it shows in x-routellm-reason


class Replica:
    """One proxy process and a client for it."""

    def __init__(self, name: str, port: int, proc: subprocess.Popen, log: Path) -> None:
        self.name, self.port, self.proc, self.log = name, port, proc, log
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)

    def chat(self, text: str, session: str | None = None) -> dict[str, str]:
        """The x-routellm-* headers of one routed chat completion (asserting it was answered)."""
        headers = {"Authorization": f"Bearer {MASTER_KEY}"}
        if session is not None:
            headers["x-litellm-session-id"] = session
        r = self.client.post("/v1/chat/completions", json={"model": "routellm", "messages": [{"role": "user", "content": text}]}, headers=headers)
        assert r.status_code == 200, (self.name, r.status_code, r.text[:300])
        reply = r.json()["choices"][0]["message"]["content"]
        assert reply in ("answer from gpt-4o", "answer from gpt-4o-mini"), reply
        out = {k[len("x-routellm-"):]: v for k, v in r.headers.items() if k.startswith("x-routellm-")}
        assert (out["choice"] == "strong") == (reply == "answer from gpt-4o")
        return out


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    srv = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def fleet(redis, tmp_path_factory):
    """Two proxy replicas on free ports, started together, sharing ``redis``."""
    tmp = tmp_path_factory.mktemp("replicas")
    config = yaml.safe_load(EXAMPLE.read_text())
    route = next(d for d in config["model_list"] if d["model_name"] == "routellm")["model_info"]["routellm"]
    route["window"] = 2 * N
    route["shared_state"]["retry_after_s"] = 0.5
    route["shared_state"]["sync_every_s"] = 0.05
    path = tmp / "replicas.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1",
           "ROUTELLM_REDIS_URL": redis.url, "NO_PROXY": "127.0.0.1,localhost"}
    litellm_bin = Path(sys.executable).with_name("litellm")
    replicas = []
    for name in ("A", "B"):
        port, log = free_port(), tmp / f"proxy-{name}.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen([str(litellm_bin), "--config", str(path), "--host", "127.0.0.1", "--port", str(port)],
                                    cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
        replicas.append(Replica(name, port, proc, log))
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        waiting = list(replicas)
        while waiting:
            for rep in list(waiting):
                if rep.proc.poll() is not None:
                    pytest.fail(f"proxy {rep.name} exited with {rep.proc.returncode}:\n{rep.log.read_text(errors='replace')[-3000:]}")
                try:
                    if httpx.get(f"http://127.0.0.1:{rep.port}/health/readiness", timeout=2).status_code == 200:
                        waiting.remove(rep)
                except httpx.HTTPError:
                    pass
            if waiting and time.monotonic() > deadline:
                pytest.fail(f"proxy not ready after {START_TIMEOUT_S}s:\n{waiting[0].log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield replicas
    finally:
        for rep in replicas:
            rep.client.close()
            rep.proc.terminate()
        for rep in replicas:
            try:
                rep.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                rep.proc.kill()
                rep.proc.wait(timeout=5)


def in_lockstep(jobs: list, steps: int) -> list[list]:
    """Run ``jobs[k](i)`` for i in range(steps), one thread per job, all jobs at step i together (equal rates)."""
    out: list[list] = [[None] * steps for _ in jobs]
    gate = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            for i in range(steps):
                gate.wait(timeout=120)
                out[k][i] = jobs[k](i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)
            gate.abort()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    if errors:
        raise errors[0]
    return out


@pytest.fixture(scope="module")
def split(fleet):
    """The test's 2N distinct real prompts, scored by the replicas themselves: (hard half, easy half), each shuffled.

    This first pass also fills the fleet's window (2N scores) with each prompt once. The halves are
    shuffled so that the window's edges (which move with the sync timing) are not score-ordered.
    """
    a, b = fleet
    prompts = list(dict.fromkeys(r["prompt"] for r in sample_prompts()))[: 2 * N]
    got = in_lockstep([lambda i: a.chat(prompts[i]), lambda i: b.chat(prompts[N + i])], N)
    scores = [float(h["score"]) for h in got[0] + got[1]]
    ranked = [p for _, p in sorted(zip(scores, prompts), reverse=True)]
    hard, easy = ranked[:N], ranked[N:]
    random.Random(0).shuffle(hard)
    random.Random(1).shuffle(easy)
    return hard, easy, ranked


def test_a_sticky_conversation_keeps_its_model_on_the_other_replica(fleet, split):
    a, b = fleet
    hard, easy, ranked = split
    conv = f"conv-{uuid.uuid4().hex}"
    first = a.chat(ranked[0], session=conv)
    assert (first["choice"], first["sticky"]) == ("strong", "false")
    later = [b.chat(ranked[-1], session=conv), a.chat(ranked[-2], session=conv), b.chat(ranked[-3], session=conv)]
    assert all((h["choice"], h["sticky"]) == ("strong", "true") for h in later), later
    assert b.chat(ranked[-1])["choice"] == "weak"  # the same prompt outside the conversation
    assert b.chat(ranked[-1], session=f"other-{conv}")["choice"] == "weak"


def test_the_fleet_holds_the_strong_share_while_each_replica_gets_its_own_mix(fleet, split, redis, capsys):
    a, b = fleet
    hard, easy, ranked = split
    time.sleep(0.6)  # earlier requests' counts reach Redis
    before = fleet_summary(redis.url)["requests"]
    steps = 2 * N  # two cycles: A gets each hard prompt twice, B each easy one
    got = in_lockstep([lambda i: a.chat(hard[i % N]), lambda i: b.chat(easy[i % N])], steps)
    strong_a = sum(h["choice"] == "strong" for h in got[0]) / steps
    strong_b = sum(h["choice"] == "strong" for h in got[1]) / steps
    fleet_share = (strong_a + strong_b) / 2
    assert fleet_share == pytest.approx(0.30, abs=0.03), (fleet_share, strong_a, strong_b)
    assert strong_a - strong_b >= 0.4, (strong_a, strong_b)  # in-process state would give each replica 0.30
    assert not any(UNAVAILABLE in h.get("reason", "") for h in got[0] + got[1])

    # one threshold: once both have re-read the fleet window, both apply the same one. An unscorable
    # request is answered by the fallback, reports the current threshold and adds no score to the window.
    for rep in (a, b):
        assert rep.chat("\u200b")["fallback"] == "true"
    time.sleep(0.8)
    ta, tb = float(a.chat("\u200b")["threshold"]), float(b.chat("\u200b")["threshold"])
    assert ta == tb

    # the fleet's cost summary counts every routed request of both replicas
    from litellm_adapter.__main__ import main

    sent = 2 * steps + 4
    deadline = time.monotonic() + 10
    while fleet_summary(redis.url)["requests"] - before < sent and time.monotonic() < deadline:
        time.sleep(0.3)
    assert fleet_summary(redis.url)["requests"] - before == sent
    assert main(["costs", "--shared-state", redis.url]) == 0
    printed = capsys.readouterr().out
    total = before + sent
    assert f"routed requests: {total} (routes: routellm: {total})" in printed, printed
    assert "saved: $" in printed and "strong: " in printed and "weak: " in printed


def test_redis_killed_mid_run_loses_no_request_and_state_resumes(fleet, split, redis):
    a, b = fleet
    hard, easy, ranked = split
    r = redis.client()
    events: dict[str, float] = {}

    def traffic(replica: Replica, prompts: list[str]):
        def step(i: int) -> tuple[float, dict[str, str]]:
            if replica is a and i == 20:
                redis.kill()
                events["killed"] = time.monotonic()
            if replica is a and i == 60:
                redis.start()  # same port, empty: a restart
                events["restarted"] = time.monotonic()
            h = replica.chat(prompts[i % len(prompts)], session=f"kill-{replica.name}-{i % 7}")
            return time.monotonic(), h

        return step

    steps = 120
    got = in_lockstep([traffic(a, hard), traffic(b, easy)], steps)
    answered = [h for side in got for _, h in side]
    assert len(answered) == 2 * steps  # 0 lost: every request got a 200 with a model's answer (checked in chat())
    flagged = [(t, h) for side in got for t, h in side if UNAVAILABLE in h.get("reason", "")]
    assert flagged and all(events["killed"] <= t for t, _ in flagged)
    assert any(events["killed"] + 0.5 < t < events["restarted"] for t, _ in flagged)  # decided locally while Redis was away
    assert all(UNAVAILABLE not in h.get("reason", "") for side in got for _, h in side[-10:])  # resumed on both replicas

    # the fleet state resumes in the restarted (empty) Redis: window, counters, shared sessions
    conv = f"after-{uuid.uuid4().hex}"
    assert a.chat(ranked[0], session=conv)["choice"] == "strong"
    seen = b.chat(ranked[-1], session=conv)
    assert (seen["choice"], seen["sticky"]) == ("strong", "true") and UNAVAILABLE not in seen.get("reason", "")
    time.sleep(0.6)
    assert r.llen("routellm:routellm:scores") > 0
    decisions = {k.decode(): int(v) for k, v in r.hgetall("routellm:routellm:decisions").items()}
    assert decisions["shared_state_unavailable"] == len(flagged)  # queued in the replicas during the outage, none lost
