"""A real LiteLLM proxy on 127.0.0.1 serving examples/litellm_config.yaml, called with the OpenAI client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from litellm_adapter.costs import read_log, summarize

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "examples" / "litellm_config.yaml"
MASTER_KEY = "sk-routellm-test-key"
START_TIMEOUT_S = 90
STRONG_TEXT, WEAK_TEXT = "answer from gpt-4o", "answer from gpt-4o-mini"
USER = [{"role": "user", "content": "Explain the proof that sqrt(2) is irrational."}]
CLIENT_TIMEOUT_S = 60  # the first request to an mf route loads the router and embedder


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    """Start the proxy (the venv's own litellm), wait until it answers, yield (base_url, cost_log), stop it."""
    tmp = tmp_path_factory.mktemp("proxy")
    cost_log, out_log = tmp / "costs.jsonl", tmp / "proxy.log"
    port = _free_port()
    litellm_bin = Path(sys.executable).with_name("litellm")
    env = {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "ROUTELLM_COST_LOG": str(cost_log), "HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost"}
    with open(out_log, "wb") as fh:
        proc = subprocess.Popen([str(litellm_bin), "--config", str(CONFIG), "--host", "127.0.0.1", "--port", str(port)],
                                cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"proxy exited with {proc.returncode}:\n{out_log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/health/readiness", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"proxy not ready after {START_TIMEOUT_S}s:\n{out_log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, cost_log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def client(proxy):
    return openai.OpenAI(base_url=proxy[0], api_key=MASTER_KEY, max_retries=0, timeout=CLIENT_TIMEOUT_S)


def call(client, model, stream=False, messages=USER):
    """(routellm headers + served model name, reply text) of one chat completion."""
    raw = client.chat.completions.with_raw_response.create(model=model, messages=messages, stream=stream)
    headers = {k: v for k, v in raw.headers.items() if k.startswith("x-routellm-") or k in ("x-litellm-model-name", "x-litellm-attempted-fallbacks")}
    parsed = raw.parse()
    if stream:
        text = "".join((c.choices[0].delta.content or "") for c in parsed if c.choices)
    else:
        text = parsed.choices[0].message.content
    return headers, text


SERVED = {"strong": ("openai/gpt-4o", STRONG_TEXT), "weak": ("openai/gpt-4o-mini", WEAK_TEXT)}


EASY = "What is 2 + 2?"
HARD = "Write a Python function that merges two sorted lists in linear time and explain its complexity."


def test_mf_routes_easy_to_weak_and_hard_to_strong(client):
    # route "routellm": the bundled mf router at the threshold calibrated for a 50% strong share
    for prompt, choice in [(EASY, "weak"), (HARD, "strong")]:
        for stream in (False, True):
            headers, text = call(client, "routellm", stream=stream, messages=[{"role": "user", "content": prompt}])
            assert headers["x-routellm-choice"] == choice and headers["x-routellm-route"] == "routellm"
            assert headers["x-routellm-router"] == "mf" and headers["x-routellm-fallback"] == "false"
            score, threshold = float(headers["x-routellm-score"]), float(headers["x-routellm-threshold"])
            assert (score >= threshold) == (choice == "strong")
            assert headers["x-routellm-model"] == headers["x-litellm-model-name"] == SERVED[choice][0]
            assert text == SERVED[choice][1]
            if not stream:  # costs are known once the reply is complete
                assert float(headers["x-routellm-baseline-cost"]) >= float(headers["x-routellm-cost"]) > 0


def test_model_string_route(client):
    for stream in (False, True):
        headers, text = call(client, "router-mf-0.57", stream=stream)
        assert headers["x-routellm-route"] == "router-mf-0.57" and headers["x-routellm-threshold"] == "0.57"
        assert text == SERVED[headers["x-routellm-choice"]][1]


def test_failed_deployment_falls_back_through_litellm(client):
    for stream in (False, True):
        headers, text = call(client, "routellm-fallback-demo", stream=stream)
        assert headers["x-routellm-choice"] == "weak"  # the router's pick, whose deployment fails
        assert headers["x-litellm-attempted-fallbacks"] == "1"
        assert headers["x-routellm-model"] == "openai/gpt-4o" and text == STRONG_TEXT


def test_unscorable_request_goes_to_fallback_and_says_so(client):
    image_only = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]
    headers, text = call(client, "routellm", messages=image_only)
    assert headers["x-routellm-fallback"] == "true" and "no user text" in headers["x-routellm-reason"]
    assert headers["x-routellm-choice"] == "strong" and text == STRONG_TEXT


def test_unrouted_model_has_no_routing_headers(client):
    headers, text = call(client, "gpt-4o-mini")
    assert text == WEAK_TEXT and not any(k.startswith("x-routellm-") for k in headers)


@pytest.mark.parametrize("auth", [None, "Bearer sk-wrong-key"], ids=["no-key", "wrong-key"])
def test_master_key_is_required(proxy, auth):
    # LiteLLM 1.106 answers 500 (no key) / 400 (unknown key, no DB) rather than 401; either way nothing is served
    headers = {"Authorization": auth} if auth else {}
    r = httpx.post(f"{proxy[0]}/chat/completions", json={"model": "routellm", "messages": USER}, headers=headers, timeout=10)
    assert r.status_code >= 400 and "answer from" not in r.text


def test_cost_log_has_one_row_per_routed_request(proxy):
    # earlier tests in this module sent 4 + 2 + 2 + 1 routed requests that succeeded
    cost_log = proxy[1]
    deadline = time.monotonic() + 15
    rows = []
    while time.monotonic() < deadline:
        rows = read_log(cost_log) if cost_log.exists() else []
        if len(rows) >= 9:
            break
        time.sleep(0.2)
    time.sleep(0.5)
    rows = read_log(cost_log)
    assert len(rows) == 9 and len({r["call_id"] for r in rows}) == 9
    s = summarize(rows)
    assert s["requests"] == 9 and s["fallbacks"] == 1 and s["unpriced"] == 0
    assert 0 < s["cost"] < s["baseline_cost"] and s["saved"] > 0
    for r in rows:  # cost is the served model's; the weak->fallback rows were served (and billed) by gpt-4o
        rate = (2.5e-06, 1e-05) if "gpt-4o-mini" not in r["served"] else (1.5e-07, 6e-07)
        assert r["cost"] == pytest.approx(r["prompt_tokens"] * rate[0] + r["completion_tokens"] * rate[1])
