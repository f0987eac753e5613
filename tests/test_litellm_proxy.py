"""A real LiteLLM proxy on 127.0.0.1 serving examples/litellm_config.yaml (one process for the module).

Covers: routes that name existing model groups (strong/weak and a pool), the groups' own
fallbacks, the Responses API, the older model-string route, the cost log, 401/400 answers, and
an adversarial client: forged decision records, forged tokens and call ids, canary prompts and a
fake key, none of which may change the route, the headers or the cost log, or reach a log.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from litellm_adapter.costs import read_log, summarize
from routellm_plugins.registry import DEFAULT_ROUTER

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "examples" / "litellm_config.yaml"
MASTER_KEY = "sk-routellm-test-key"
START_TIMEOUT_S = 120
CLIENT_TIMEOUT_S = 60  # the first routed request loads the routers and the embedder
STRONG_TEXT, WEAK_TEXT = "answer from gpt-4o", "answer from gpt-4o-mini"
EASY = "What is 2 + 2?"
HARD = "Write a Python function that merges two sorted lists in linear time and explain its complexity."
POOL_GROUPS = {"gpt-4-turbo": "openai/gpt-4-1106-preview", "gpt-3.5-turbo": "openai/gpt-3.5-turbo-1106",
               "mixtral": "together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1"}
CANARY = f"CANARY-{uuid.uuid4().hex}"
FAKE_KEY = f"sk-fake-{uuid.uuid4().hex}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proxy:
    """The running proxy: its URL, logs, and every response this module saw (for the leak check)."""

    def __init__(self, base: str, cost_log: Path, out_log: Path) -> None:
        self.base, self.cost_log, self.out_log = base, cost_log, out_log
        self.client = httpx.Client(base_url=base, timeout=CLIENT_TIMEOUT_S)
        self.seen: list[str] = []  # headers and bodies of every response

    def post(self, path: str, body, key: str | None = MASTER_KEY, headers: dict | None = None, content: bytes | None = None) -> httpx.Response:
        h = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            h["Authorization"] = f"Bearer {key}"
        r = self.client.post(path, content=content if content is not None else json.dumps(body).encode(), headers=h)
        self.seen.append(json.dumps(dict(r.headers)) + "\n" + r.text)
        return r

    def chat(self, model: str, text: str | None = None, messages=None, stream: bool = False, **extra) -> tuple[dict, str, str]:
        """(x-routellm-* and x-litellm-* headers, reply text, call id) of one chat completion."""
        body = {"model": model, "messages": messages or [{"role": "user", "content": text}], "stream": stream, **extra}
        r = self.post("/v1/chat/completions", body)
        assert r.status_code == 200, r.text
        if stream:
            parts = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
            reply = "".join((p["choices"][0]["delta"].get("content") or "") for p in parts if p.get("choices"))
        else:
            reply = r.json()["choices"][0]["message"]["content"]
        return headers_of(r), reply, r.headers["x-litellm-call-id"]

    def cost_rows(self, call_ids: list[str], timeout: float = 20.0) -> dict[str, list[dict]]:
        """Cost-log rows of these call ids, once all landed (plus a grace period to catch a duplicate)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            rows = read_log(self.cost_log) if self.cost_log.exists() else []
            if set(call_ids) <= {r["call_id"] for r in rows}:
                break
            time.sleep(0.2)
        time.sleep(0.5)
        rows = read_log(self.cost_log) if self.cost_log.exists() else []
        return {cid: [r for r in rows if r["call_id"] == cid] for cid in call_ids}


def headers_of(r: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in r.headers.items() if k.startswith("x-routellm-") or k in ("x-litellm-model-group", "x-litellm-call-id")}


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    """Start the proxy (the venv's own litellm), wait until it answers, yield it, stop it."""
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
                pytest.fail(f"proxy exited with {proc.returncode}:\n{out_log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"{base}/health/readiness", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"proxy not ready after {START_TIMEOUT_S}s:\n{out_log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        p = Proxy(base, cost_log, out_log)
        yield p
        p.client.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def check_costs(h: dict) -> None:
    if "x-routellm-cost" in h:
        assert float(h["x-routellm-baseline-cost"]) >= float(h["x-routellm-cost"]) > 0


# ---- routes to existing model groups --------------------------------------------------------------
def test_group_route_sends_easy_and_hard_prompts_to_the_named_groups(proxy):
    seen = {}
    for prompt in (EASY, HARD):
        for stream in (False, True):
            h, text, _ = proxy.chat("routellm", prompt, stream=stream)
            choice = h["x-routellm-choice"]
            group = {"strong": "gpt-4o", "weak": "gpt-4o-mini"}[choice]
            assert h["x-routellm-route"] == "routellm" and h["x-routellm-router"] == DEFAULT_ROUTER and h["x-routellm-fallback"] == "false"
            assert h["x-litellm-model-group"] == group and h["x-routellm-model"] == f"openai/{group}"  # the group served it
            assert text == (STRONG_TEXT if choice == "strong" else WEAK_TEXT)
            assert (float(h["x-routellm-score"]) >= float(h["x-routellm-threshold"])) == (choice == "strong")
            check_costs(h)
            seen.setdefault(prompt, set()).add(choice)
    assert seen == {EASY: {"weak"}, HARD: {"strong"}}


def test_the_target_groups_own_fallbacks_serve_a_failing_pick(proxy):
    for stream in (False, True):
        h, text, _ = proxy.chat("routellm-fallback-demo", "hi", stream=stream)
        assert h["x-routellm-choice"] == "weak"  # the router's pick: the gpt-4o-mini-down group ...
        assert h["x-routellm-model"] == "openai/gpt-4o" and text == STRONG_TEXT  # ... whose fallbacks served it


def test_pool_route_sends_each_request_to_one_of_its_groups(proxy):
    prompts = [EASY, HARD, "Say hello in French.", "Prove that there are infinitely many primes.", "Implement a lock-free hash map in C++."]
    for prompt in prompts:
        h, text, _ = proxy.chat("routellm-pool", prompt)
        group = h["x-routellm-choice"]
        assert group in POOL_GROUPS and h["x-litellm-model-group"] == group and h["x-routellm-model"] == POOL_GROUPS[group]
        assert text == f"answer from {group}" and h["x-routellm-router"].startswith("uniroute")
        check_costs(h)


def test_model_string_route_over_its_own_deployments_still_works(proxy):
    for stream in (False, True):
        h, text, _ = proxy.chat("router-mf-0.57", HARD, stream=stream)
        assert h["x-routellm-route"] == "router-mf-0.57" and h["x-routellm-threshold"] == "0.57" and h["x-litellm-model-group"] == "router-mf-0.57"
        assert text == (STRONG_TEXT if h["x-routellm-choice"] == "strong" else WEAK_TEXT)


def test_unscorable_request_goes_to_fallback_and_says_so(proxy):
    image_only = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]
    h, text, _ = proxy.chat("routellm", messages=image_only)
    assert h["x-routellm-fallback"] == "true" and "no user text" in h["x-routellm-reason"]
    assert h["x-routellm-choice"] == "strong" and text == STRONG_TEXT


def test_unrouted_model_has_no_routing_headers(proxy):
    h, text, _ = proxy.chat("gpt-4o-mini", EASY)
    assert text == WEAK_TEXT and not any(k.startswith("x-routellm-") for k in h)


# ---- Responses API ---------------------------------------------------------------------------------
def test_responses_api_is_routed_and_in_the_cost_log(proxy):
    calls = {}
    for name, inp in [("string", HARD), ("items", [{"role": "user", "content": "old"}, {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
                                                  {"type": "message", "role": "user", "content": [{"type": "input_text", "text": EASY}]}])]:
        r = proxy.post("/v1/responses", {"model": "routellm", "input": inp})
        assert r.status_code == 200, r.text
        h = headers_of(r)
        out = "".join(part["text"] for item in r.json()["output"] for part in item.get("content") or [] if "text" in part)
        assert h["x-routellm-route"] == "routellm" and h["x-routellm-fallback"] == "false"
        assert out == (STRONG_TEXT if h["x-routellm-choice"] == "strong" else WEAK_TEXT)
        calls[name] = (h["x-litellm-call-id"], h["x-routellm-choice"])
    assert calls["string"][1] == "strong" and calls["items"][1] == "weak"  # routed on the string, then on the last user item
    rows = proxy.cost_rows([cid for cid, _ in calls.values()])
    for cid, choice in calls.values():
        [row] = rows[cid]
        assert row["route"] == "routellm" and row["model"] == choice and row["prompt_tokens"] > 0 and row["baseline_cost"] > 0


# ---- 401 / 400 -------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", [None, "sk-wrong-key"], ids=["no-key", "wrong-key"])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses"])
def test_missing_or_wrong_master_key_gets_401(proxy, key, path):
    r = proxy.post(path, {"model": "routellm", "messages": [{"role": "user", "content": EASY}], "input": EASY}, key=key)
    assert r.status_code == 401 and "answer from" not in r.text
    assert r.json()["error"]["code"] == "401"


@pytest.mark.parametrize("body", [b"[]", b'"x"', b"null", b"42"], ids=["list", "string", "null", "number"])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses"])
def test_a_body_that_is_not_a_json_object_gets_400(proxy, body, path):
    r = proxy.post(path, None, content=body)
    assert r.status_code == 400 and "must be a JSON object" in r.json()["error"]["message"]


# ---- an adversarial client --------------------------------------------------------------------------
FORGED_RECORD = {"route": "routellm", "model": "strong", "target": "gpt-4o", "served": "openai/gpt-4o", "router": "FORGED",
                 "score": 0.99, "threshold": 0.0, "fallback": False, "cost_per_token": [0, 0], "baseline_cost_per_token": [1000, 1000]}


def test_forged_decision_records_tokens_and_call_ids_change_nothing(proxy):
    # the server's own answer for each prompt, from a clean request
    clean = {p: proxy.chat("routellm", p) for p in (EASY, HARD)}
    forged_metadata = [
        {"routellm": FORGED_RECORD},
        {"routellm": {**FORGED_RECORD, "cost_per_token": ["abc", None], "baseline_cost_per_token": ["x", {}], "score": "NaN"}},
        {"routellm_request": "forged-token", "routellm": {**FORGED_RECORD, "model": "weak", "served": "openai/gpt-4o-mini"}},
    ]
    ids = []
    for prompt, (h0, text0, cid0) in clean.items():
        for md in forged_metadata:
            for bucket in ("metadata", "litellm_metadata"):
                # also reuse the clean request's call id: a client-chosen id must not find the server's record either
                r = proxy.post("/v1/chat/completions", {"model": "routellm", "messages": [{"role": "user", "content": prompt}], bucket: md},
                               headers={"x-litellm-call-id": f"forged-{uuid.uuid4().hex}"})
                assert r.status_code == 200, r.text
                h = headers_of(r)
                assert h["x-routellm-choice"] == h0["x-routellm-choice"] and h["x-routellm-router"] == DEFAULT_ROUTER
                assert h["x-routellm-model"] == h0["x-routellm-model"] and r.json()["choices"][0]["message"]["content"] == text0
                assert h.get("x-routellm-cost") == h0.get("x-routellm-cost") and h.get("x-routellm-baseline-cost") == h0.get("x-routellm-baseline-cost")
                ids.append((h["x-litellm-call-id"], h0["x-routellm-choice"]))
        # a client reusing a routed request's call id for an unrouted request gets no routing headers and no cost row
        r = proxy.post("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}], "metadata": FORGED_RECORD},
                       headers={"x-litellm-call-id": cid0})
        assert r.status_code == 200 and not any(k.startswith("x-routellm-") for k in r.headers)
    rows = proxy.cost_rows([cid for cid, _ in ids])
    price = {"strong": (2.5e-06, 1e-05), "weak": (1.5e-07, 6e-07)}
    for cid, choice in ids:
        [row] = rows[cid]
        assert row["model"] == choice and row["route"] == "routellm"
        assert row["cost"] == pytest.approx(row["prompt_tokens"] * price[choice][0] + row["completion_tokens"] * price[choice][1])
        assert row["baseline_cost"] == pytest.approx(row["prompt_tokens"] * 2.5e-06 + row["completion_tokens"] * 1e-05)
    unrouted = proxy.cost_rows([cid for _, _, cid in clean.values()])
    assert all(len(v) == 1 for v in unrouted.values())  # the reused call ids added no row


def test_canary_prompts_and_a_fake_key_reach_no_log_header_body_or_cost_line(proxy):
    secret_text = f"My account is {CANARY} and my key is {FAKE_KEY}; please summarise."
    ids = []
    for model in ("routellm", "routellm-pool", "routellm-fallback-demo"):
        _, _, cid = proxy.chat(model, secret_text, metadata={"api_key": FAKE_KEY, "note": CANARY})
        ids.append(cid)
    r = proxy.post("/v1/responses", {"model": "routellm", "input": secret_text})
    ids.append(r.headers["x-litellm-call-id"])
    bad_key = proxy.post("/v1/chat/completions", {"model": "routellm", "messages": [{"role": "user", "content": secret_text}]}, key=FAKE_KEY)
    assert bad_key.status_code == 401
    proxy.cost_rows(ids)
    time.sleep(1.0)  # let the proxy flush its log
    logs = proxy.out_log.read_text(errors="replace") + proxy.cost_log.read_text()
    for secret in (CANARY, FAKE_KEY):
        assert secret not in logs, "a canary reached the proxy or cost log"
        assert not [s for s in proxy.seen if secret in s], "a canary reached a response header or body"


# ---- the cost log ------------------------------------------------------------------------------------
def test_cost_log_has_one_row_per_routed_request_counted_by_served_model(proxy):
    ids = [proxy.chat(m, p)[2] for m, p in [("routellm", EASY), ("routellm", HARD), ("routellm-fallback-demo", "hi"), ("routellm-pool", EASY)]]
    plain = proxy.chat("gpt-4o", EASY)[2]
    rows = proxy.cost_rows(ids + [plain])
    assert all(len(rows[c]) == 1 for c in ids) and rows[plain] == []
    picked = [rows[c][0] for c in ids]
    s = summarize(picked)
    assert s["requests"] == 4 and s["unpriced"] == 0 and s["rerouted"] == 1  # the fallback demo: decided weak, served by gpt-4o
    assert s["by_decision"]["weak"] >= 2 and s["by_served"]["openai/gpt-4o"] >= 2
    demo = picked[2]
    assert demo["model"] == "weak" and demo["served"] == "openai/gpt-4o" and demo["saved"] == pytest.approx(0)
    assert 0 < s["cost"] < s["baseline_cost"] and s["saved"] > 0
    whole = summarize(read_log(proxy.cost_log))
    assert whole["requests"] == len({r["call_id"] for r in read_log(proxy.cost_log)})  # never a row twice


# ---- sticky sessions: LiteLLM's own session id, scoped by key -----------------------------------------
@pytest.mark.parametrize("how", ["header", "metadata"])
def test_escalate_keeps_a_conversation_on_the_strong_model_and_says_so(proxy, how):
    sid = f"conv-{uuid.uuid4().hex[:8]}"
    extra = {"headers": {"x-litellm-session-id": sid}} if how == "header" else {"metadata": {"session_id": sid}}

    def turn(text):
        body = {"model": "routellm", "messages": [{"role": "user", "content": text}], **({"metadata": extra["metadata"]} if "metadata" in extra else {})}
        r = proxy.post("/v1/chat/completions", body, headers=extra.get("headers"))
        assert r.status_code == 200, r.text
        return headers_of(r)

    first, later = turn(HARD), turn(EASY)
    assert first["x-routellm-choice"] == "strong" and first["x-routellm-sticky"] == "false"
    assert later["x-routellm-choice"] == "strong" and later["x-routellm-sticky"] == "true" and later["x-litellm-model-group"] == "gpt-4o"
    alone = proxy.chat("routellm", EASY)[0]
    assert alone["x-routellm-choice"] == "weak" and alone["x-routellm-sticky"] == "false"
