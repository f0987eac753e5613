"""ChatRouteLLM as the chat model of an LCEL chain: hard prompts go to the strong model, easy ones
to the weak one, and each reply says which model served it.

Runs offline with the bundled default router and its encoder; two scripted chat models stand in
for paid APIs. The threshold is calibrated on this example's own prompt mix at a 50 % strong
share (with real traffic, calibrate on your own logs). Also shows the trace of one call and
RouterRunnable routing between two whole chains.

    python examples/langchain_chain.py            # offline
    python examples/langchain_chain.py --live     # real models via init_chat_model (langchain-openai and OPENAI_API_KEY)
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tracers.context import collect_runs

from langchain_adapter import ChatRouteLLM, RouterRunnable, routing_text
from langchain_adapter.testing import ScriptedChatModel
from routellm_plugins import load_router

STRONG, WEAK = "gpt-4o", "gpt-4o-mini"
PROMPTS = [
    "Say hello in French.",
    "What is the capital of Italy?",
    "Give me a synonym for 'happy'.",
    "Write a haiku about autumn leaves.",
    "Write a Python function that returns the n-th Fibonacci number in O(log n) time, and explain why it is O(log n).",
    "A train leaves at 9:40 and covers 285 km at 95 km/h, then 120 km at 80 km/h. When does it arrive? Show each step.",
    "Prove that the square root of 2 is irrational.",
    "Extract every date and amount from this line as JSON: 'Paid 1,250.00 EUR on 2024-03-05; 310.40 EUR due 2024-04-01.'",
]


class RouteSeen(BaseCallbackHandler):
    """Remembers which route served a RouterRunnable call (the chosen chain's run carries the decision)."""

    served_by: str | None = None

    def on_chain_start(self, serialized: Any, inputs: Any, *, metadata: Any = None, parent_run_id: Any = None, **kwargs: Any) -> None:
        if parent_run_id is None and metadata and "routellm" in metadata:
            self.served_by = metadata["routellm"]["served_by"]


def scripted(model: str) -> ScriptedChatModel:
    """A stand-in for a paid chat model: it says who it is and what it was asked."""

    def answer(messages: list[BaseMessage]) -> str:
        return f"[{model}] answering: {(routing_text(messages) or '')[:48]}"

    return ScriptedChatModel(model=model, replies=[answer])


def build_router(live: bool) -> ChatRouteLLM:
    """ChatRouteLLM over the bundled default router, its threshold calibrated on PROMPTS (50 % strong)."""
    router = load_router()
    threshold = router.calibrate(PROMPTS, strong_share=0.5)
    if live:  # needs langchain-openai and OPENAI_API_KEY
        return ChatRouteLLM.from_config({"strong": f"openai:{STRONG}", "weak": f"openai:{WEAK}"}, router=router, threshold=threshold)
    return ChatRouteLLM(strong=scripted(STRONG), weak=scripted(WEAK), router=router, threshold=threshold)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ChatRouteLLM in an LCEL chain")
    parser.add_argument("--live", action="store_true", help="use real providers (API keys needed)")
    args = parser.parse_args(argv)
    llm = build_router(args.live)
    ctl = llm.routing_controller
    print(f"router {ctl.router.name!r}, threshold {ctl.threshold:.4f} (calibrated on these prompts for a 50 % strong share)\n")

    # 1. ChatRouteLLM as the chat model of an ordinary LCEL chain.
    prompt = ChatPromptTemplate.from_messages([("system", "You are a concise assistant."), ("human", "{question}")])
    chain = prompt | llm
    print("== ChatRouteLLM inside prompt | model ==")
    served: Counter[str] = Counter()
    for question in PROMPTS:
        reply = chain.invoke({"question": question})
        d = reply.response_metadata["routellm"]
        served[d["served_by"]] += 1
        score = "n/a" if d["score"] is None else f"{d['score']:.4f}"
        print(f"- {question[:72]!r}\n    -> {d['served_by']:<6} ({d['model_name']}), score {score}")
    print(f"served: strong {served['strong']}, weak {served['weak']}")

    # 2. What a tracer (LangSmith, or any callback handler) records: the router's run, the child's nested in it.
    with collect_runs() as runs:
        chain.invoke({"question": PROMPTS[-2]})
    (root,) = runs.traced_runs
    router_run = next(r for r in root.child_runs if r.name == "ChatRouteLLM")
    decision = router_run.extra["metadata"]["routellm"]
    print("\n== trace of one call ==")
    print(f"{root.name} > {router_run.name} [chose {decision['model']}, score {decision['score']:.4f}]"
          f" > {router_run.child_runs[0].name} ({router_run.child_runs[0].extra['metadata']['ls_model_name']})")

    # 3. RouterRunnable: route between two whole chains, streaming the chosen one.
    think = ChatPromptTemplate.from_messages([("system", "Think step by step."), ("human", "{question}")])
    brief = ChatPromptTemplate.from_messages([("system", "Answer in one line."), ("human", "{question}")])
    routes = RouterRunnable(
        strong=think | llm.children["strong"] | StrOutputParser(),
        weak=brief | llm.children["weak"] | StrOutputParser(),
        controller=ctl,
        input_key="question",
    )
    print("\n== RouterRunnable between two chains (streamed) ==")
    scores = ctl.router.score(PROMPTS)
    lowest, highest = PROMPTS[int(scores.argmin())], PROMPTS[int(scores.argmax())]
    for question in (lowest, highest):  # one prompt each side of the threshold
        seen = RouteSeen()
        streamed = "".join(routes.stream({"question": question}, config={"callbacks": [seen]}))
        print(f"- {question[:60]!r} -> {seen.served_by} chain: {streamed[:70]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
