"""Stress: 1,000 concurrent async requests through the LangChain and LlamaIndex adapters, children failing at random.

Each request carries a unique id; the fake children answer ``<child>:<id>``, so every reply is checked
against its caller. A seeded share of requests (``--fail``) has its first child call raise; the adapter's
own recovery (LangChain ``fallback_on_error=True``, LlamaIndex ``failover=True``) must let the other child
serve it. A share (``--no-text``) carries no user text (system message only) and must be served by the
routing fallback. Prints, per adapter: requests, failures injected, answered, served by fallback, lost,
wrong content. Exits 1 if anything is lost or wrong. (LiteLLM has its own: bench/bench_litellm_stress.py.)

    python bench/bench_stress_adapters.py [--requests 1000] [--fail 0.2] [--no-text 0.05] [--router random|mf]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from routellm_plugins import RoutingController, load_router

ID = re.compile(r"\[req-(\d+)\]")


@dataclass
class Faults:
    """Which request ids fail on their first child call (seeded), and a thread-safe tally of what happened."""

    doomed: set[int]
    injected: int = 0
    calls: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, child: str, text: str) -> str:
        """The fake child's reply for a call whose messages read ``text``; raises on a doomed first call."""
        found = ID.findall(text)
        if len(found) != 1:
            raise AssertionError(f"child {child} saw {len(found)} request ids in one call")
        rid = int(found[0])
        with self.lock:
            n = self.calls.get(rid, 0)
            self.calls[rid] = n + 1
            fail = n == 0 and rid in self.doomed
            if fail:
                self.injected += 1
        if fail:
            raise RuntimeError(f"injected failure in {child} for request {rid}")
        return f"{child}:{rid}"


@dataclass
class Tally:
    requests: int = 0
    injected: int = 0
    answered: int = 0
    routing_fallback: int = 0
    child_fallback: int = 0
    lost: int = 0
    wrong: int = 0
    seconds: float = 0.0

    def line(self, name: str) -> str:
        return (f"{name:10s} requests={self.requests} failures_injected={self.injected} answered={self.answered} "
                f"served_by_fallback={self.routing_fallback + self.child_fallback} "
                f"(no-text routing fallback={self.routing_fallback}, child failover={self.child_fallback}) "
                f"lost={self.lost} wrong_content={self.wrong} time={self.seconds:.2f}s")


def plan(n: int, fail: float, no_text: float, seed: int) -> tuple[set[int], set[int]]:
    rng = random.Random(seed)
    doomed = {i for i in range(n) if rng.random() < fail}
    silent = {i for i in range(n) if rng.random() < no_text}
    return doomed, silent


def prompt_of(i: int) -> str:
    topics = ["What is 2+2?", "Prove that sqrt(2) is irrational.", "Name a colour.", "Derive Bayes' theorem from the product rule."]
    return f"{topics[i % len(topics)]} [req-{i}]"


def controller(router: str) -> RoutingController:
    if router == "random":
        return RoutingController(load_router("random", seed=0), threshold=0.5)
    return RoutingController(router, strong_share=0.5)


# ---- LangChain ---------------------------------------------------------------------------
async def run_langchain(n: int, fail: float, no_text: float, seed: int, router: str) -> Tally:
    from langchain_core.messages import HumanMessage, SystemMessage

    from langchain_adapter import ChatRouteLLM
    from langchain_adapter.testing import ScriptedChatModel

    doomed, silent = plan(n, fail, no_text, seed)
    faults = Faults(doomed)

    def child(name: str) -> ScriptedChatModel:
        def reply(messages: list) -> str:
            return faults.answer(name, "\n".join(str(m.content) for m in messages))
        return ScriptedChatModel(model=name, replies=[reply])

    llm = ChatRouteLLM(strong=child("strong"), weak=child("weak"), controller=controller(router), fallback_on_error=True)

    async def one(i: int) -> tuple[int, Any, Any]:
        if i in silent:
            messages = [SystemMessage(content=f"You are terse. [req-{i}]")]
        else:
            messages = [SystemMessage(content="You are terse."), HumanMessage(content=prompt_of(i))]
        try:
            out = await llm.ainvoke(messages)
        except Exception as exc:  # noqa: BLE001 - a lost request, counted below
            return i, None, exc
        return i, out, None

    started = time.perf_counter()
    results = await asyncio.gather(*(one(i) for i in range(n)))
    t = Tally(requests=n, seconds=time.perf_counter() - started)
    seen: dict[int, int] = {}
    for i, out, exc in results:
        if out is None:
            t.lost += 1
            print(f"  langchain request {i} lost: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        t.answered += 1
        meta = out.response_metadata.get("routellm")
        _check_one(t, i, out.content, meta, doomed, silent, seen, served_key="served_by",
                   failed_over=lambda m: bool(m.get("child_fallback")))
    t.injected = faults.injected
    t.lost += n - len(seen)
    return t


# ---- LlamaIndex --------------------------------------------------------------------------
async def run_llamaindex(n: int, fail: float, no_text: float, seed: int, router: str) -> Tally:
    from llama_index.core.base.llms.types import ChatMessage, CompletionResponse, LLMMetadata, MessageRole
    from llama_index.core.llms import CustomLLM
    from llama_index.core.llms.callbacks import llm_completion_callback

    from llamaindex_adapter import RouteLLM

    doomed, silent = plan(n, fail, no_text, seed)
    faults = Faults(doomed)

    class Child(CustomLLM):
        """Answers ``<name>:<request id>`` for a prompt that names one id."""

        name: str = "child"

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(model_name=self.name)

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            return CompletionResponse(text=faults.answer(self.name, prompt))

        @llm_completion_callback()
        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any):
            raise NotImplementedError("not used by this bench")

    llm = RouteLLM(strong=Child(name="strong"), weak=Child(name="weak"), controller=controller(router), failover=True)

    async def one(i: int) -> tuple[int, Any, Any]:
        if i in silent:
            messages = [ChatMessage(role=MessageRole.SYSTEM, content=f"You are terse. [req-{i}]")]
        else:
            messages = [ChatMessage(role=MessageRole.SYSTEM, content="You are terse."),
                        ChatMessage(role=MessageRole.USER, content=prompt_of(i))]
        try:
            out = await llm.achat(messages)
        except Exception as exc:  # noqa: BLE001 - a lost request, counted below
            return i, None, exc
        return i, out, None

    started = time.perf_counter()
    results = await asyncio.gather(*(one(i) for i in range(n)))
    t = Tally(requests=n, seconds=time.perf_counter() - started)
    seen: dict[int, int] = {}
    for i, out, exc in results:
        if out is None:
            t.lost += 1
            print(f"  llamaindex request {i} lost: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        t.answered += 1
        meta = out.additional_kwargs.get("routellm") if out.additional_kwargs else None
        _check_one(t, i, out.message.content, meta, doomed, silent, seen, served_key="model",
                   failed_over=lambda m: "failed" in str(m.get("reason") or ""))
    t.injected = faults.injected
    t.lost += n - len(seen)
    return t


def _check_one(t: Tally, i: int, content: Any, meta: dict[str, Any] | None, doomed: set[int], silent: set[int],
               seen: dict[int, int], served_key: str, failed_over: Any) -> None:
    """One reply for request ``i``: its own id back, the metadata naming who served, fallbacks flagged."""
    seen[i] = seen.get(i, 0) + 1
    m = re.fullmatch(r"(strong|weak):(\d+)", str(content).strip())
    if seen[i] > 1 or m is None or int(m[2]) != i or not isinstance(meta, dict) or meta.get(served_key) != m[1]:
        t.wrong += 1
        return
    ok = True
    if i in silent:  # no user text: the routing fallback (strong) serves, flagged
        t.routing_fallback += 1
        ok = meta.get("fallback") is True and (m[1] == "strong" or i in doomed)
    if i in doomed:  # the first child raised: the other one served, flagged
        t.child_fallback += 1
        ok = ok and failed_over(meta)
    elif i not in silent:
        ok = not meta.get("fallback") and not failed_over(meta)
    if not ok:
        t.wrong += 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--fail", type=float, default=0.2, help="share of requests whose first child call raises")
    ap.add_argument("--no-text", type=float, default=0.05, help="share of requests with no user text")
    ap.add_argument("--router", default="random", help="'random' (seed 0, threshold 0.5) or a trained router such as 'mf'")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # one warning per injected failure would drown the counts
    bad = 0
    for name, fn in (("langchain", run_langchain), ("llamaindex", run_llamaindex)):
        t = asyncio.run(fn(args.requests, args.fail, args.no_text, args.seed, args.router))
        print(t.line(name), flush=True)
        bad += t.lost + t.wrong + (t.answered != t.requests)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
