"""RouteLLM as the LLM of a LlamaIndex FunctionAgent: each user turn goes to a strong or a weak model,
every step of that turn's tool loop stays on the same model, and the agent's result says which
model served it.

Runs offline: the bundled default router and its encoder, and LlamaIndex's mock function-calling
LLMs scripted to call a calculator tool, standing in for paid APIs. The threshold is calibrated on
this example's own question mix: halfway between the scores of its easier and its harder half
(with real traffic, set ``strong_share=`` or calibrate on your own logs). The second part shows the ``sticky_sessions="escalate"`` policy over one conversation.

    python examples/llamaindex_agent.py
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Callable, Sequence

from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.llms import MockFunctionCallingLLM
from llama_index.core.tools import FunctionTool

from llamaindex_adapter import RouteLLM, RoutingDecisionLog
from routellm_plugins import load_router

QUESTIONS = [
    "What is 6 times 7?",
    "Quick one: 12 times 12?",
    "Natalia sold clips to 48 of her friends in April and 3 times as many in May. Work out how many clips she sold in May, "
    "then check the result step by step without a calculator.",
    "Write a Python function that multiplies 37 by 91 without using the * operator, explain its time complexity, "
    "and prove that it is correct.",
]


def multiply(a: float, b: float) -> float:
    """Multiply two numbers."""
    return a * b


def scripted_model(name: str) -> Callable[..., ChatMessage]:
    """A stand-in for a paid model: calls ``multiply`` on the first two numbers of the question, then reports the result."""

    def respond(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        last = messages[-1]
        if last.role == MessageRole.TOOL:
            return ChatMessage(role=MessageRole.ASSISTANT, content=f"({name}) The result is {last.content}.")
        numbers = re.findall(r"-?\d+(?:\.\d+)?", last.content or "")
        if len(numbers) < 2:
            return ChatMessage(role=MessageRole.ASSISTANT, content=f"({name}) Happy to help.")
        call = ToolCallBlock(tool_call_id=f"{name}-1", tool_name="multiply", tool_kwargs={"a": float(numbers[0]), "b": float(numbers[1])})
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=[call])

    return respond


def split_threshold(router: Any, prompts: Sequence[str]) -> float:
    """A threshold halfway between the scores of the easier and the harder half of ``prompts``."""
    scores = sorted(float(s) for s in router.score(list(prompts)))
    half = len(scores) // 2
    return (scores[half - 1] + scores[half]) / 2


def route_llm(router: Any, threshold: float, **settings: Any) -> RouteLLM:
    return RouteLLM(
        strong=MockFunctionCallingLLM(response_generator=scripted_model("big-model"), is_chat_model=True),
        weak=MockFunctionCallingLLM(response_generator=scripted_model("small-model"), is_chat_model=True),
        router=router,
        threshold=threshold,
        **settings,
    )


async def main() -> None:
    router = load_router()  # the bundled default router
    threshold = split_threshold(router, QUESTIONS)
    tools = [FunctionTool.from_defaults(fn=multiply)]
    log = RoutingDecisionLog.attach()
    print(f"router: {router.name}, threshold {threshold:.4f} (half of these questions score above it)\n")
    try:
        agent = FunctionAgent(tools=tools, llm=route_llm(router, threshold), system_prompt="Use the tools.")
        for question in QUESTIONS:
            start = len(log.events)
            result = await agent.run(user_msg=question)
            tag = RouteLLM.decision_of(result.response)
            steps = ", ".join(e.model + (" (same turn)" if e.decision["sticky"] else "") for e in log.events[start:])
            print(f"{tag['model']:>6} (score {tag['score']:.4f}): {question[:70]}")
            print(f"        {len(log.events) - start} LLM steps: {steps}\n        {result.response.content}")

        print("\n== one conversation, sticky_sessions='escalate': once strong, it stays strong ==")
        llm = route_llm(router, threshold, sticky_sessions="escalate")
        agent = FunctionAgent(tools=tools, llm=llm, system_prompt="Use the tools.")
        history: list = []
        with RouteLLM.session("conversation-1"):
            ranked = sorted(QUESTIONS, key=lambda q: float(router.score([q])[0]))
            for question in (ranked[0], ranked[-1], ranked[1]):  # easy, hard, then easy again
                result = await agent.run(user_msg=question, chat_history=list(history))
                history += [ChatMessage(role=MessageRole.USER, content=question), result.response]
                tag = RouteLLM.decision_of(result.response)
                kept = " (kept by the policy)" if tag["reason"] and "escalate" in tag["reason"] else ""
                print(f"{tag['model']:>6}{kept}: {question[:70]}")
    finally:
        log.detach()


if __name__ == "__main__":
    asyncio.run(main())
