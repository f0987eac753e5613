"""Stress over HTTP, small: 50 concurrent requests through a real LiteLLM proxy with failing deployments.

Uses bench/bench_proxy_stress.py (the 1,000-request run): a proxy on 127.0.0.1 with the routing
callback, the bundled mf router, an always-failing mock_response deployment and an echo deployment
that fails for some markers, and LiteLLM fallbacks to the strong model.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import bench_proxy_stress as stress  # noqa: E402


def test_every_request_answered_once_with_its_own_marker_and_failures_served_by_fallback(tmp_path):
    # the route names model groups; a failing weak pick is served through the weak group's own fallbacks
    s = stress.run(n=50, concurrency=25, fail=0.5, no_text=0.1, seed=1, workdir=tmp_path, form="groups")
    assert s["problems"] == [], (s["problems"][:10], s.get("proxy_log_tail", ""))
    assert s["requests"] == s["answered"] == 50 and s["lost"] == 0 and s["wrong"] == 0 and s["answered_twice"] == 0
    assert s["master_key_required"] is True
    # both failure sources fired, and every failed attempt was served by the strong fallback
    assert s["echo_failures"] > 0 and s["mock_failures"] > 0
    assert s["served_by_fallback"] == s["failures_injected"] == s["echo_failures"] + s["mock_failures"]
    # the router really routed: both keys chosen; only the no-text requests fell back
    assert s["choice_strong"] > 0 and s["choice_weak"] > 0
    assert s["router_fallbacks"] == s["no_text"] > 0
    assert s["served_weak"] == s["choice_weak"] - s["failures_injected"]


def test_marker_failure_share_is_fixed_by_the_marker():
    markers = [f"[req {i}-{i:012x}]" for i in range(2000)]
    share = sum(stress.marker_fails(m, 0.2) for m in markers) / len(markers)
    assert 0.15 < share < 0.25
    assert all(stress.marker_fails(m, 0.2) == stress.marker_fails(m, 0.2) for m in markers[:50])
    assert not any(stress.marker_fails(m, 0.0) for m in markers)


def test_example_config_requires_a_master_key_and_nothing_binds_beyond_localhost():
    import yaml

    repo = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((repo / "examples" / "litellm_config.yaml").read_text())
    assert cfg["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    for form in stress.FORMS:
        assert stress.proxy_config(form=form)["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    files = [p for d in ("examples", "tests", "bench", "scripts") for p in (repo / d).rglob("*") if p.suffix in (".py", ".yaml", ".sh", ".md")]
    assert files
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        if p.name == Path(__file__).name:
            continue
        if p.name == "compose.yaml":  # inside a container the proxy must listen on the container network...
            ports = yaml.safe_load(text)["services"]["lb"]["ports"]
            assert ports == ["127.0.0.1:4000:4000"]  # ...and only the load balancer is published, on loopback
            assert all("ports" not in svc for name, svc in yaml.safe_load(text)["services"].items() if name != "lb")
            continue
        assert "0.0.0.0" not in text, p
        for line in text.splitlines():  # every proxy start names the loopback host
            if ("litellm --config" in line or '"--config"' in line) and "litellm" in line:
                assert "127.0.0.1" in line, f"{p}: {line.strip()}"
