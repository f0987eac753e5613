"""An LCEL chain whose chat model is ChatRouteLLM: hard prompts go to the strong model, easy ones
to the weak one. Runs offline: the children replay answers that GPT-4 (strong) and Mixtral-8x7B
(weak) really gave to GSM8K questions (from ../shared/data, when present) and canned text for
everything else. Also shows RouterRunnable routing between two whole chains.

    python examples/langchain_chain.py            # offline, bundled "mf" router
    python examples/langchain_chain.py --live     # real models via init_chat_model (needs API keys)
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from langchain_adapter import ChatRouteLLM, RouterRunnable, routing_text
from langchain_adapter.testing import ScriptedChatModel
from routellm_plugins import CheckpointError
from routellm_plugins.registry import bundled_checkpoint

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
GSM8K = Path(os.environ.get("ROUTELLM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "routellm_evals" / "gsm8k" / "gsm8k_responses.csv"
EASY_PROMPTS = ["Say hello in French.", "What is the capital of Italy?", "Give me a synonym for 'happy'."]
CANNED = {"Say hello in French.": "Bonjour !", "What is the capital of Italy?": "Rome.", "Give me a synonym for 'happy'.": "Joyful."}


class RouteSeen(BaseCallbackHandler):
    """Remembers which route served a RouterRunnable call (the chosen chain's run carries the decision)."""

    served_by: str | None = None

    def on_chain_start(self, serialized: Any, inputs: Any, *, metadata: Any = None, parent_run_id: Any = None, **kwargs: Any) -> None:
        if parent_run_id is None and metadata and "routellm" in metadata:
            self.served_by = metadata["routellm"]["served_by"]


def router_settings() -> dict[str, Any]:
    """The bundled 'mf' router at a 50 % strong share; the seeded random router if mf is not bundled yet."""
    try:
        bundled_checkpoint("mf")
    except CheckpointError:
        print("(bundled 'mf' checkpoint not found: using the seeded random router instead)\n")
        return {"router": {"router": "random", "seed": 0}, "threshold": 0.5}
    return {"router": "mf", "strong_share": 0.5}


def recorded_answers(n: int = 4) -> dict[str, dict[str, str]]:
    """{prompt: {model: recorded answer}} for the first ``n`` GSM8K questions (empty without the data)."""
    if not GSM8K.is_file():
        return {}
    csv.field_size_limit(sys.maxsize)
    with GSM8K.open(encoding="utf-8", newline="") as fh:
        rows = [row for _, row in zip(range(n), csv.DictReader(fh))]
    return {r["prompt"]: {STRONG: r[f"{STRONG}_response"].strip(), WEAK: r[f"{WEAK}_response"].strip()} for r in rows}


def replay(model: str, recordings: dict[str, dict[str, str]]) -> ScriptedChatModel:
    """A child that answers a recorded question with ``model``'s real answer, else with canned text."""

    def answer(messages: list[BaseMessage]) -> str:
        question = routing_text(messages) or ""
        if question in recordings:
            return recordings[question][model]
        return f"[{model.split('/')[-1]}] {CANNED.get(question, 'I have no recorded answer for that.')}"

    return ScriptedChatModel(model=model, replies=[answer])


def build_router(live: bool) -> ChatRouteLLM:
    if live:  # needs langchain-openai / langchain-mistralai and their API keys
        return ChatRouteLLM.from_config({"strong": "openai:gpt-4o", "weak": "mistralai:open-mixtral-8x7b", **router_settings()})
    recordings = recorded_answers()
    return ChatRouteLLM(strong=replay(STRONG, recordings), weak=replay(WEAK, recordings), **router_settings())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ChatRouteLLM in an LCEL chain")
    parser.add_argument("--live", action="store_true", help="use real providers (API keys needed)")
    args = parser.parse_args(argv)
    router = build_router(args.live)
    prompts = [*recorded_answers(), *EASY_PROMPTS] if not args.live else EASY_PROMPTS + ["Prove that sqrt(2) is irrational."]

    # 1. ChatRouteLLM as the chat model of an ordinary LCEL chain.
    prompt = ChatPromptTemplate.from_messages([("system", "You are a concise assistant."), ("human", "{question}")])
    chain = prompt | router
    print("== ChatRouteLLM inside prompt | model ==")
    for question in prompts:
        reply = chain.invoke({"question": question})
        d = reply.response_metadata["routellm"]
        score = "n/a" if d["score"] is None else f"{d['score']:.3f}"
        print(f"- {question[:70]!r}\n    -> {d['served_by']:<6} ({d['model_name']}), score {score} vs threshold {d['threshold']:.3f}")
        print(f"    answer: {reply.content[:110].replace(chr(10), ' ')!r}")

    # 2. RouterRunnable: route between two whole chains, streaming the chosen one.
    think = ChatPromptTemplate.from_messages([("system", "Think step by step."), ("human", "{question}")])
    brief = ChatPromptTemplate.from_messages([("system", "Answer in one line."), ("human", "{question}")])
    routes = RouterRunnable(
        strong=think | router.children["strong"] | StrOutputParser(),
        weak=brief | router.children["weak"] | StrOutputParser(),
        controller=router.routing_controller,
        input_key="question",
    )
    print("\n== RouterRunnable between two chains (streamed) ==")
    for question in prompts[:1] + prompts[-1:]:
        seen = RouteSeen()
        streamed = "".join(routes.stream({"question": question}, config={"callbacks": [seen]}))
        print(f"- {question[:70]!r} -> {seen.served_by} chain: {streamed[:80].replace(chr(10), ' ')!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
