"""Stress: 1,000 concurrent async requests through a routed litellm.Router whose weak child fails at random.

The children are in-process LiteLLM custom providers that echo the request's id, so a reply can be
checked against its caller; the weak one raises on a random share of calls. Failed calls go to the
strong model through LiteLLM's own ``fallbacks``; a share of requests carry no user text and go to the
route's fallback key. Run for three adapter paths: the SDK strategy (install_routing) over the route's
own deployments, the SDK strategy over two model groups (the weak group's own fallbacks apply), and
the proxy callback (RouteLLMProxyCallback inside deployment selection, as in the proxy). Prints the counts.

    python bench/bench_litellm_stress.py [--requests 1000] [--fail 0.2] [--no-text 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402
from litellm.llms.custom_llm import CustomLLM, CustomLLMError  # noqa: E402

from litellm_adapter import decision_of, install_routing  # noqa: E402
from litellm_adapter.proxy import RouteLLMProxyCallback  # noqa: E402


class Echo(CustomLLM):
    """Replies '<name>:<last message text>'; fails with probability ``fail``."""

    def __init__(self, name: str, fail: float, seed: int) -> None:
        super().__init__()
        self.name, self.fail, self.rng = name, fail, random.Random(seed)
        self.calls = self.failures = 0

    async def acompletion(self, *args, **kwargs):  # noqa: D102 - LiteLLM provider hook
        self.calls += 1
        await asyncio.sleep(0.001)
        if self.rng.random() < self.fail:
            self.failures += 1
            raise CustomLLMError(status_code=500, message=f"injected failure in {self.name}")
        text = kwargs["messages"][-1]["content"]
        return litellm.ModelResponse(model=self.name, choices=[{"message": {"role": "assistant", "content": f"{self.name}:{text}"}}])


def model_list() -> list[dict]:
    return [
        {"model_name": "chat", "litellm_params": {"model": "steady/strong"}, "model_info": {"routellm_model": "strong"}},
        {"model_name": "chat", "litellm_params": {"model": "flaky/weak"}, "model_info": {"routellm_model": "weak"}},
        {"model_name": "strong-only", "litellm_params": {"model": "steady/strong"}},
        {"model_name": "strong-g", "litellm_params": {"model": "steady/strong"}},
        {"model_name": "weak-g", "litellm_params": {"model": "flaky/weak"}},
    ]


PATHS = ("sdk strategy", "sdk strategy, groups", "proxy callback")


async def run(path: str, n: int, fail: float, no_text: float, seed: int) -> dict:
    strong, weak = Echo("strong", 0.0, seed), Echo("weak", fail, seed + 1)
    litellm.custom_provider_map = [{"provider": "steady", "custom_handler": strong}, {"provider": "flaky", "custom_handler": weak}]
    litellm.utils.custom_llm_setup()
    router = litellm.Router(model_list=model_list(), num_retries=0, fallbacks=[{"chat": ["strong-only"]}, {"weak-g": ["strong-only"]}],
                            allowed_fails=10**9)  # keep the flaky child out of cooldown: every request must still route
    spec = {"router": {"router": "random", "seed": seed}, "threshold": 0.5}
    callback = None
    if path == "sdk strategy":
        install_routing(router, {"chat": spec}, track_costs=False)
    elif path == "sdk strategy, groups":
        install_routing(router, {"smart": {**spec, "models": {"strong": "strong-g", "weak": "weak-g"}}}, track_costs=False)
    else:
        router.model_list[0]["model_info"]["routellm"] = spec
        callback = RouteLLMProxyCallback(router=router)
        litellm.callbacks.append(callback)
    rng = random.Random(seed)
    plan = [rng.random() < no_text for _ in range(n)]

    async def one(i: int):
        msgs = [{"role": "system", "content": f"req-{i}"}] if plan[i] else [{"role": "user", "content": f"req-{i}"}]
        try:
            return await router.acompletion(model="smart" if path.endswith("groups") else "chat", messages=msgs)
        except Exception as exc:  # noqa: BLE001 - counted as lost
            return exc

    start = time.perf_counter()
    results = await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - start
    if callback is not None:
        litellm.logging_callback_manager.remove_callback_from_all_lists(callback)
    lost = sum(isinstance(r, Exception) for r in results)
    wrong = sum(1 for i, r in enumerate(results) if not isinstance(r, Exception)
                and not r.choices[0].message.content.endswith(f":req-{i}"))
    served_strong = sum(1 for r in results if not isinstance(r, Exception) and r.choices[0].message.content.startswith("strong:"))
    decisions = [decision_of(r) for r in results if not isinstance(r, Exception)] if path.startswith("sdk") else []
    return {
        "path": path, "requests": n, "answered": n - lost, "lost": lost, "wrong_content": wrong,
        "injected_failures": weak.failures, "served_strong": served_strong, "served_weak": n - lost - served_strong,
        "no_text_requests": sum(plan), "router_fallbacks": sum(1 for d in decisions if d and d["fallback"]) if decisions else "n/a",
        "seconds": round(elapsed, 2),
    }


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--fail", type=float, default=0.2, help="failure probability of the weak child")
    ap.add_argument("--no-text", type=float, default=0.05, help="share of requests without user text")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for path in PATHS:
        r = await run(path, args.requests, args.fail, args.no_text, args.seed)
        print(" | ".join(f"{k}={v}" for k, v in r.items()))
        assert r["lost"] == 0 and r["wrong_content"] == 0, r


if __name__ == "__main__":
    asyncio.run(main())
