"""Prompt-based routing on the LiteLLM SDK (litellm.Router), offline with mock responses.

    python examples/litellm_router.py

Two ways to set it up: build a Router from the proxy's config.yaml (the same routes the proxy
serves), or put routing on a Router you built yourself with install_routing().
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # use LiteLLM's bundled price map, offline

import litellm  # noqa: E402

from litellm_adapter import decision_of, format_summary, install_routing, router_from_config, summary  # noqa: E402

CONFIG = Path(__file__).with_name("litellm_config.yaml")
PROMPTS = [
    "What is 2 + 2?",
    "Write a Python function that merges two sorted lists in linear time and explain its complexity.",
    "Say hello in French.",
    "Implement a lock-free concurrent hash map in C++ with proper memory ordering.",
]


def show(label: str, response) -> None:
    d = decision_of(response)
    score = "n/a" if d["score"] is None else f"{d['score']:.3f}"
    print(f"  {label:<22} -> {d['model']:<6} score={score} threshold={d['threshold']:.4f} served by {response.model}"
          + (f"  (fallback: {d['reason']})" if d["fallback"] else ""))


def from_proxy_config() -> None:
    print(f"1) Router built from {CONFIG.name} (route 'routellm'):")
    router = router_from_config(CONFIG)
    for prompt in PROMPTS:
        show(prompt[:22], router.completion(model="routellm", messages=[{"role": "user", "content": prompt}]))
    show("system-only request", router.completion(model="routellm", messages=[{"role": "system", "content": "Be brief."}]))
    demo = router.completion(model="routellm-fallback-demo", messages=[{"role": "user", "content": "hi"}])
    print(f"  weak deployment failed -> LiteLLM fallbacks served it: {demo.choices[0].message.content!r}")


async def own_router() -> None:
    print("2) Your own Router, routing between two model groups (async + streaming):")
    router = litellm.Router(model_list=[
        {"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "api_key": "mock", "mock_response": "strong answer"}},
        {"model_name": "gpt-4o-mini", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "mock", "mock_response": "weak answer"}},
    ], fallbacks=[{"smart": ["gpt-4o", "gpt-4o-mini"]}])
    # "smart" is the name callers use; strong_share=0.3 picks the mf threshold that sent 30% of the
    # calibration prompts to the strong model (or give threshold=...)
    install_routing(router, {"smart": {"router": "mf", "strong_share": 0.3,
                                       "models": {"strong": "gpt-4o", "weak": "gpt-4o-mini"}}})
    for prompt in PROMPTS:
        show(prompt[:22], await router.acompletion(model="smart", messages=[{"role": "user", "content": prompt}]))
    stream = await router.acompletion(model="smart", messages=[{"role": "user", "content": PROMPTS[1]}], stream=True)
    text = "".join([(c.choices[0].delta.content or "") async for c in stream])
    print(f"  streamed {text!r} from the {decision_of(stream)['model']} model")


if __name__ == "__main__":
    from_proxy_config()
    asyncio.run(own_router())
    time.sleep(1.0)  # LiteLLM logs successes (and so the cost tracker) in the background
    print("3) Cost saved against sending everything to the strong model:")
    print("  " + format_summary(summary()).replace("\n", "\n  "))
