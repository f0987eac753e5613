"""Prompt-based routing on the LiteLLM SDK (litellm.Router), offline with mock responses.

    python examples/litellm_router.py

Two ways to set it up: build a Router from the proxy's config.yaml (the same routes the proxy
serves), or put routing on a Router you built yourself with install_routing(). Each line prints
the decision and the model that served the request.
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
    "Give me a synonym for 'happy'.",
    "Prove that the square root of 2 is irrational.",
    "Which of these is a mammal? A) shark B) whale C) trout D) eel",
]


def show(label: str, response) -> None:
    d = decision_of(response)
    score = "n/a" if d["score"] is None else f"{d['score']:.3f}"
    extra = f"  (router fallback: {d['reason']})" if d["fallback"] else ""
    if d["served"] not in d["target_models"]:
        extra += f"  (LiteLLM fallback: decided {d['target']}, served by {d['served']})"
    print(f"  {label[:34]:<34} -> {d['model']:<13} score={score:<6} served by {d['served']}{extra}")


def from_proxy_config() -> None:
    router = router_from_config(CONFIG)
    print(f"1) Router built from {CONFIG.name}, route 'routellm' (strong/weak between two model groups):")
    for prompt in PROMPTS:
        show(prompt, router.completion(model="routellm", messages=[{"role": "user", "content": prompt}]))
    show("(system message only)", router.completion(model="routellm", messages=[{"role": "system", "content": "Be brief."}]))
    show("(Responses API) " + PROMPTS[3], router.responses(model="routellm", input=PROMPTS[3]))
    print("   route 'routellm-pool' (UniRoute over three model groups, priced by LiteLLM):")
    for prompt in PROMPTS:
        show(prompt, router.completion(model="routellm-pool", messages=[{"role": "user", "content": prompt}]))
    print("   route 'routellm-fallback-demo' (the weak group is down; its own fallbacks serve the request):")
    show("hi", router.completion(model="routellm-fallback-demo", messages=[{"role": "user", "content": "hi"}]))


async def own_router() -> None:
    print("2) Your own Router, routing between two model groups (async + streaming):")
    router = litellm.Router(model_list=[
        {"model_name": "gpt-4o", "litellm_params": {"model": "openai/gpt-4o", "api_key": "mock", "mock_response": "strong answer"}},
        {"model_name": "gpt-4o-mini", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "mock", "mock_response": "weak answer"}},
    ], fallbacks=[{"gpt-4o-mini": ["gpt-4o"]}])
    # "smart" is the name callers use; strong_share=0.3 picks the threshold that sent 30% of the
    # calibration prompts to the strong model (or give threshold=...); the router is the default one
    install_routing(router, {"smart": {"strong_share": 0.3, "models": {"strong": "gpt-4o", "weak": "gpt-4o-mini"}}})
    for prompt in PROMPTS:
        show(prompt, await router.acompletion(model="smart", messages=[{"role": "user", "content": prompt}]))
    stream = await router.acompletion(model="smart", messages=[{"role": "user", "content": PROMPTS[1]}], stream=True)
    async for chunk in stream:  # every chunk carries the decision
        print(f"  streamed chunk {chunk.choices[0].delta.content or ''!r:<16} from the {decision_of(chunk)['model']} model")
        break
    async for _ in stream:
        pass


if __name__ == "__main__":
    from_proxy_config()
    asyncio.run(own_router())
    time.sleep(1.5)  # LiteLLM logs successes (and so the cost tracker) in the background
    print("3) Cost saved against sending everything to the strong (or dearest pool) model:")
    print("  " + format_summary(summary()).replace("\n", "\n  "))
