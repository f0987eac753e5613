"""Stress over HTTP: 1,000 concurrent requests through a real LiteLLM proxy routed by our callback.

The proxy runs on 127.0.0.1 (a free port, master key required) with a generated config.yaml:
``litellm_settings.callbacks: ["litellm_adapter.proxy.callback"]`` routes the model name ``chat``
with the bundled mf router between a strong and a weak model. ``--form groups`` (default): ``chat``
is a ``routellm/router`` entry naming the model groups ``strong`` and ``weak``; ``--form
deployments``: the older form, ``chat`` holds the deployments itself. Failures are injected two ways:

* the weak model has two deployments and LiteLLM picks one at random per request; one of them is
  ``mock_response: "litellm.RateLimitError"`` and always fails;
* the other weak deployment is an echo provider (this file's :data:`echo`) that fails for a fixed,
  hash-chosen share of request markers.

``router_settings.fallbacks`` sends a failed request to ``strong-only`` (from the ``weak`` group's
own fallbacks, or from ``chat``'s in the older form). Each request carries a unique marker that the
echo provider returns (``<model>:<marker>``), so every reply can be matched to its caller; a share
of requests has no user text and goes to the route's fallback key. Checks: every request answered
exactly once (client side, and the provider's own log), the right marker to the right caller,
every failure served by the fallback, and 401 for a missing or wrong master key.

    python bench/bench_proxy_stress.py [--requests 1000] [--concurrency 100] [--fail 0.2] [--no-text 0.05] [--form groups]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # a bench run stays offline

from litellm.llms.custom_llm import CustomLLM, CustomLLMError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MASTER_KEY = "sk-routellm-stress-key"
MARKER = re.compile(r"\[req (\d+)-([0-9a-f]{12})\]")
ECHO_LOG_ENV = "ROUTELLM_ECHO_LOG"
ECHO_FAIL_ENV = "ROUTELLM_ECHO_FAIL"


def marker_fails(marker: str, share: float) -> bool:
    """Whether the echo provider's weak model fails for this marker (a fixed, hash-chosen share)."""
    h = int(hashlib.sha256(marker.encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < share


class Echo(CustomLLM):
    """LiteLLM custom provider: replies ``<model>:<marker>``; model ``weak`` fails for some markers.

    Each call appends ``<model> <marker> ok|fail`` to the file named by ``ROUTELLM_ECHO_LOG``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._log: Any = None

    def _record(self, model: str, marker: str, outcome: str) -> None:
        path = os.environ.get(ECHO_LOG_ENV)
        if not path:
            return
        if self._log is None:
            self._log = open(path, "a", encoding="utf-8", buffering=1)
        self._log.write(f"{model} {marker} {outcome}\n")

    async def acompletion(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102 - LiteLLM provider hook
        import litellm

        model = str(kwargs.get("model"))
        texts = [m.get("content") for m in kwargs.get("messages") or [] if isinstance(m.get("content"), str)]
        found = next((MARKER.search(t) for t in reversed(texts) if MARKER.search(t)), None)
        marker = found.group(0) if found else "none"
        await asyncio.sleep(0.002)
        if model == "weak" and marker_fails(marker, float(os.environ.get(ECHO_FAIL_ENV, "0"))):
            self._record(model, marker, "fail")
            raise CustomLLMError(status_code=500, message="injected failure in echo/weak")
        self._record(model, marker, "ok")
        return litellm.ModelResponse(model=model, choices=[{"message": {"role": "assistant", "content": f"{model}:{marker}"}}],
                                     usage={"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13})


#: ``litellm_settings.custom_provider_map: [{provider: echo, custom_handler: bench_proxy_stress.echo}]``
echo = Echo()

PRICE = {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}
CHEAP = {"input_cost_per_token": 1e-07, "output_cost_per_token": 2e-07}


FORMS = ("groups", "deployments")


def proxy_config(router: str = "mf", strong_share: float = 0.5, form: str = "groups") -> dict[str, Any]:
    """The proxy config: route ``chat`` (strong echo; weak echo + always-failing mock), fallback ``strong-only``."""
    if form == "groups":
        return {
            "model_list": [
                {"model_name": "strong", "litellm_params": {"model": "echo/strong", "api_key": "mock-key", **PRICE}},
                {"model_name": "weak", "litellm_params": {"model": "echo/weak", "api_key": "mock-key", **CHEAP}},
                {"model_name": "weak", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "mock-key",
                                                          "mock_response": "litellm.RateLimitError"}},
                {"model_name": "strong-only", "litellm_params": {"model": "echo/strong", "api_key": "mock-key", **PRICE}},
                {"model_name": "chat", "litellm_params": {"model": "routellm/router"},
                 "model_info": {"routellm": {"router": router, "strong_share": strong_share, "models": {"strong": "strong", "weak": "weak"}}}},
            ],
            "router_settings": {"num_retries": 0, "disable_cooldowns": True, "fallbacks": [{"weak": ["strong-only"]}]},
            "litellm_settings": {"callbacks": ["litellm_adapter.proxy.callback"],
                                 "custom_provider_map": [{"provider": "echo", "custom_handler": "bench_proxy_stress.echo"},
                                                         {"provider": "routellm", "custom_handler": "litellm_adapter.marker.handler"}]},
            "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
        }
    if form != "deployments":
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    return {
        "model_list": [
            {"model_name": "chat", "litellm_params": {"model": "echo/strong", "api_key": "mock-key", **PRICE},
             "model_info": {"routellm_model": "strong", "routellm": {"router": router, "strong_share": strong_share}}},
            {"model_name": "chat", "litellm_params": {"model": "echo/weak", "api_key": "mock-key", **CHEAP},
             "model_info": {"routellm_model": "weak"}},
            {"model_name": "chat", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "mock-key",
                                                      "mock_response": "litellm.RateLimitError"},
             "model_info": {"routellm_model": "weak"}},
            {"model_name": "strong-only", "litellm_params": {"model": "echo/strong", "api_key": "mock-key", **PRICE}},
        ],
        "router_settings": {"num_retries": 0, "disable_cooldowns": True, "fallbacks": [{"chat": ["strong-only"]}]},
        "litellm_settings": {"callbacks": ["litellm_adapter.proxy.callback"],
                             "custom_provider_map": [{"provider": "echo", "custom_handler": "bench_proxy_stress.echo"}]},
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
    }


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proxy:
    """A LiteLLM proxy subprocess on 127.0.0.1 serving :func:`proxy_config`; a context manager."""

    def __init__(self, workdir: Path, fail: float, router: str = "mf", start_timeout_s: float = 120, form: str = "groups") -> None:
        self.workdir, self.fail, self.router, self.start_timeout_s, self.form = Path(workdir), fail, router, start_timeout_s, form
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.echo_log = self.workdir / "echo.log"
        self.cost_log = self.workdir / "costs.jsonl"
        self.out_log = self.workdir / "proxy.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Proxy":
        import httpx

        cfg = self.workdir / "config.yaml"
        cfg.write_text(json.dumps(proxy_config(self.router, form=self.form), indent=1), encoding="utf-8")  # JSON is YAML
        env = {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1",
               "ROUTELLM_COST_LOG": str(self.cost_log), ECHO_LOG_ENV: str(self.echo_log), ECHO_FAIL_ENV: str(self.fail),
               "PYTHONPATH": os.pathsep.join([str(REPO / "bench"), os.environ.get("PYTHONPATH", "")]),
               "NO_PROXY": "127.0.0.1,localhost", "TOKENIZERS_PARALLELISM": "false"}
        litellm_bin = Path(sys.executable).with_name("litellm")
        with open(self.out_log, "wb") as fh:
            self.proc = subprocess.Popen([str(litellm_bin), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(self.port)],
                                         cwd=self.workdir, env=env, stdout=fh, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"proxy exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base}/health/readiness", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"proxy not ready after {self.start_timeout_s}s:\n{self.log_tail()}")
            time.sleep(0.5)

    def log_tail(self, n: int = 3000) -> str:
        return self.out_log.read_text(errors="replace")[-n:] if self.out_log.exists() else ""

    def __exit__(self, *exc: Any) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def plan_requests(n: int, no_text: float, seed: int) -> list[dict[str, Any]]:
    """n requests, each with a unique marker; a ``no_text`` share carries no user text (system message only)."""
    import random

    from routellm_plugins.demo import sample_prompts

    rng = random.Random(seed)
    prompts = [r["prompt"] for r in sample_prompts()]
    out = []
    for i in range(n):
        marker = f"[req {i}-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}]"
        prompt = f"{marker} {prompts[i % len(prompts)]}"
        no_user = rng.random() < no_text
        messages = [{"role": "system", "content": prompt}] if no_user else [{"role": "user", "content": prompt}]
        out.append({"i": i, "marker": marker, "messages": messages, "no_text": no_user})
    return out


async def fire(base: str, plan: list[dict[str, Any]], concurrency: int, timeout_s: float = 300) -> list[dict[str, Any]]:
    """POST every planned request (bounded concurrency); one result dict per request, in plan order."""
    import httpx

    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout_s, headers=headers) as client:

        async def one(req: dict[str, Any]) -> dict[str, Any]:
            async with sem:
                try:
                    r = await client.post("/chat/completions", json={"model": "chat", "messages": req["messages"]})
                except httpx.HTTPError as exc:
                    return {"status": None, "error": type(exc).__name__}
            out = {"status": r.status_code, "headers": {k.lower(): v for k, v in r.headers.items()}}
            if r.status_code == 200:
                out["content"] = r.json()["choices"][0]["message"]["content"]
            else:
                out["error"] = r.text[:300]
            return out

        return list(await asyncio.gather(*(one(req) for req in plan)))


def check(plan: list[dict[str, Any]], results: list[dict[str, Any]], echo_log: Path, fail: float) -> dict[str, Any]:
    """Counts over the run; ``problems`` lists every request that broke a rule (empty when all held)."""
    problems: list[str] = []
    answered = wrong = lost = fallback_served = failed_attempts = router_fallbacks = 0
    choices: Counter[str] = Counter()
    served: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for req, res in zip(plan, results):
        i, marker = req["i"], req["marker"]
        if res.get("status") != 200:
            lost += 1
            problems.append(f"req {i}: status {res.get('status')} {res.get('error')}")
            continue
        answered += 1
        h, content = res["headers"], res.get("content") or ""
        model, _, echoed = content.partition(":")
        if echoed != marker or model not in ("strong", "weak"):
            wrong += 1
            problems.append(f"req {i}: got {content[:60]!r}, expected <model>:{marker}")
            continue
        choice = h.get("x-routellm-choice")
        choices[str(choice)] += 1
        served[model] += 1
        attempted = int(h.get("x-litellm-attempted-fallbacks") or 0)
        if h.get("x-routellm-fallback") == "true":
            router_fallbacks += 1
            reasons[str(h.get("x-routellm-reason"))[:80]] += 1
            if not req["no_text"]:
                problems.append(f"req {i}: has user text but the router fell back: {h.get('x-routellm-reason')}")
        if req["no_text"] and not (h.get("x-routellm-fallback") == "true" and choice == "strong"):
            problems.append(f"req {i}: no user text but choice={choice} fallback={h.get('x-routellm-fallback')}")
        if attempted:
            failed_attempts += 1
            if model == "strong":
                fallback_served += 1
            else:
                problems.append(f"req {i}: a failed attempt was not served by the strong fallback ({content!r})")
        if choice == "strong" and (model != "strong" or attempted):
            problems.append(f"req {i}: routed strong but served {model} after {attempted} fallback(s)")
        if choice == "weak" and model == "strong" and not attempted:
            problems.append(f"req {i}: routed weak, served strong without a fallback")
        if choice == "weak" and model == "weak" and marker_fails(marker, fail):
            problems.append(f"req {i}: weak echo answered a marker that must fail")
    # the provider's own log: each marker answered exactly once, echo failures only on the weak model
    ok: Counter[str] = Counter()
    echo_failures = 0
    if echo_log.exists():
        for line in echo_log.read_text(encoding="utf-8").splitlines():
            m, _, rest = line.partition(" ")
            mk, _, outcome = rest.rpartition(" ")
            if outcome == "ok":
                ok[mk] += 1
            else:
                echo_failures += 1
    twice = [mk for mk, c in ok.items() if c > 1]
    never = [r["marker"] for r in plan if ok[r["marker"]] == 0]
    if twice:
        problems.append(f"{len(twice)} marker(s) answered more than once by the provider, e.g. {twice[:3]}")
    if never and answered == len(plan):
        problems.append(f"{len(never)} marker(s) never answered by the provider, e.g. {never[:3]}")
    return {
        "requests": len(plan), "answered": answered, "lost": lost, "wrong": wrong,
        "failures_injected": failed_attempts, "echo_failures": echo_failures,
        "mock_failures": failed_attempts - echo_failures, "served_by_fallback": fallback_served,
        "choice_strong": choices["strong"], "choice_weak": choices["weak"],
        "served_strong": served["strong"], "served_weak": served["weak"],
        "no_text": sum(r["no_text"] for r in plan), "router_fallbacks": router_fallbacks,
        "answered_twice": len(twice), "fallback_reasons": dict(reasons), "problems": problems,
    }


async def refused_without_key(base: str) -> bool:
    """True when the proxy answers 401, and serves nothing, to a request with no / a wrong master key."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        body = {"model": "chat", "messages": [{"role": "user", "content": "[req 0-000000000000] hi"}]}
        for headers in ({}, {"Authorization": "Bearer sk-wrong"}):
            r = await client.post("/chat/completions", json=body, headers=headers)
            if r.status_code != 401 or ":[req" in r.text:
                return False
    return True


def run(n: int = 1000, concurrency: int = 100, fail: float = 0.2, no_text: float = 0.05, seed: int = 0,
        router: str = "mf", workdir: Path | None = None, form: str = "groups") -> dict[str, Any]:
    """Start the proxy, fire the requests, stop it; the counts of :func:`check` plus timings."""
    with tempfile.TemporaryDirectory(prefix="proxy-stress-") as tmp:
        wd = Path(workdir or tmp)
        wd.mkdir(parents=True, exist_ok=True)
        plan = plan_requests(n, no_text, seed)
        started = time.perf_counter()
        with Proxy(wd, fail, router=router, form=form) as proxy:
            ready = time.perf_counter() - started
            key_required = asyncio.run(refused_without_key(proxy.base))
            t0 = time.perf_counter()
            results = asyncio.run(fire(proxy.base, plan, concurrency))
            elapsed = time.perf_counter() - t0
            time.sleep(0.5)  # let the provider's log lines land
            summary = check(plan, results, proxy.echo_log, fail)
            if summary["lost"] or summary["problems"]:
                summary["proxy_log_tail"] = proxy.log_tail(1500)
    summary.update(master_key_required=key_required, startup_s=round(ready, 1), seconds=round(elapsed, 1),
                   rps=round(n / elapsed, 1), concurrency=concurrency, form=form)
    return summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=100)
    ap.add_argument("--fail", type=float, default=0.2, help="share of markers the weak echo deployment fails on")
    ap.add_argument("--no-text", type=float, default=0.05, help="share of requests without user text")
    ap.add_argument("--router", default="mf")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--form", choices=FORMS, default="groups", help="route entry naming model groups (default) or the older own-deployments form")
    args = ap.parse_args()
    s = run(args.requests, args.concurrency, args.fail, args.no_text, args.seed, args.router, form=args.form)
    problems = s.pop("problems")
    tail = s.pop("proxy_log_tail", "")
    for p in problems[:20]:
        print("PROBLEM", p)
    if tail:
        print(tail)
    print("proxy stress: " + " | ".join(f"{k}={v}" for k, v in s.items()) + f" | problems={len(problems)}")
    ok = not problems and s["lost"] == 0 and s["wrong"] == 0 and s["master_key_required"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
