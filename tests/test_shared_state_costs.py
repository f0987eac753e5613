"""The fleet's cost summary (issue 16): routes with shared_state add every cost row to counters in a real redis-server,
and ``python -m litellm_adapter costs --shared-state URL`` prints the totals of every replica.

Two litellm.Routers (mock_response deployments, the bundled default router) stand for two replicas;
each route has its own controller and shared state, and both count into one fleet.
"""

from __future__ import annotations

import time
import uuid

import litellm
import pytest
from redis_server import RedisServer, free_port

from litellm_adapter import CostTracker, install_routing, track_costs, untrack_costs
from litellm_adapter.__main__ import main
from litellm_adapter.costs import fleet_summary
from routellm_plugins.demo import sample_prompts


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield srv
    srv.stop()


def _router() -> litellm.Router:
    return litellm.Router(model_list=[
        {"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "api_key": "mock-key", "mock_response": "answer from gpt-4o"}},
        {"model_name": "gpt-4o-mini", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "mock-key", "mock_response": "answer from gpt-4o-mini"}},
    ])


def test_the_fleet_summary_adds_up_the_rows_of_every_replica(server, capsys):
    prefix = f"costs{uuid.uuid4().hex[:8]}"
    shared = {"url": server.url, "prefix": prefix, "sync_every_s": 0.05}
    tracker = track_costs(CostTracker())
    replicas = []
    try:
        for name in ("smart-1", "smart-2"):
            router = _router()
            strategy = install_routing(router, {name: {"strong_share": 0.5, "models": {"strong": "gpt-4o", "weak": "gpt-4o-mini"},
                                                       "shared_state": shared}}, track_costs=False)
            tracker.watch_routes(strategy.routes)
            replicas.append((name, router, strategy.routes[name].controller))
        prompts = [r["prompt"] for r in sample_prompts()[:16]]
        for i, text in enumerate(prompts):
            name, router, _ = replicas[i % 2]
            router.completion(model=name, messages=[{"role": "user", "content": text}])
        deadline = time.monotonic() + 10
        while (len(tracker.rows) < 16 or fleet_summary(shared)["requests"] < 16) and time.monotonic() < deadline:
            time.sleep(0.1)
        local, fleet = tracker.summary(), fleet_summary(shared)
        assert fleet["requests"] == local["requests"] == 16
        assert fleet["by_route"] == {"smart-1": 8, "smart-2": 8}
        assert fleet["by_decision"] == local["by_decision"] and set(fleet["by_decision"]) == {"strong", "weak"}
        assert fleet["by_served"] == local["by_served"]
        assert (fleet["fallbacks"], fleet["rerouted"], fleet["unpriced"]) == (local["fallbacks"], local["rerouted"], local["unpriced"]) == (0, 0, 0)
        assert fleet["cost"] == pytest.approx(local["cost"]) and fleet["baseline_cost"] == pytest.approx(local["baseline_cost"])
        assert fleet["saved"] == pytest.approx(local["saved"]) and fleet["saved"] > 0
        # each route's decisions are counted under its own scope
        counts = replicas[0][2].fleet_stats()["decisions"]
        assert counts["requests"] == 8

        assert main(["costs", "--shared-state", server.url, "--prefix", prefix]) == 0
        printed = capsys.readouterr().out
        assert "routed requests: 16 (routes: smart-1: 8, smart-2: 8)" in printed and f"({fleet['saved_pct']:.1f}%)" in printed
    finally:
        untrack_costs(tracker)
        for _, _, controller in replicas:
            controller.close()


def test_the_costs_command_says_what_is_wrong_without_a_password(capsys):
    with pytest.raises(SystemExit) as info:
        main(["costs"])
    assert info.value.code == 2 and "one of them" in capsys.readouterr().err
    dead = f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0"
    assert main(["costs", "--shared-state", dead]) == 1
    err = capsys.readouterr().err
    assert "unavailable" in err and "***@127.0.0.1" in err and "s3cret" not in err
    assert main(["costs", "--shared-state", "http://nope"]) == 1
    assert "'http://nope'" in capsys.readouterr().err
