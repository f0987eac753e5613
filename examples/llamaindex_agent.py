"""A LlamaIndex FunctionAgent whose LLM is RouteLLM: each user turn goes to a strong or a weak model,
and every step of that turn's tool loop stays on the same model.

Runs offline: the children are LlamaIndex mock function-calling LLMs scripted to call a calculator
tool, and the router is the bundled ``mf`` checkpoint (``random`` until one is bundled).

    python examples/llamaindex_agent.py
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any, Callable, Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from llama_index.core.agent.workflow import FunctionAgent  # noqa: E402
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock  # noqa: E402
from llama_index.core.llms import MockFunctionCallingLLM  # noqa: E402
from llama_index.core.tools import FunctionTool  # noqa: E402

from routellm_plugins.errors import CheckpointError  # noqa: E402
from routellm_plugins.registry import bundled_checkpoint  # noqa: E402
from llamaindex_adapter import RouteLLM, RoutingDecisionLog  # noqa: E402


def multiply(a: float, b: float) -> float:
    """Multiply two numbers."""
    return a * b


def scripted_model(name: str) -> Callable[..., ChatMessage]:
    """A fake model: calls ``multiply`` on the first two numbers of the question, then reports the result."""

    def respond(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        last = messages[-1]
        if last.role == MessageRole.TOOL:
            return ChatMessage(role=MessageRole.ASSISTANT, content=f"({name}) The result is {last.content}.")
        numbers = re.findall(r"-?\d+(?:\.\d+)?", last.content or "")
        if len(numbers) < 2:
            return ChatMessage(role=MessageRole.ASSISTANT, content=f"({name}) I need two numbers.")
        call = ToolCallBlock(tool_call_id=f"{name}-1", tool_name="multiply", tool_kwargs={"a": float(numbers[0]), "b": float(numbers[1])})
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=[call])

    return respond


def pick_router() -> str:
    """The bundled ``mf`` router when its checkpoint ships with the package, else ``random``."""
    try:
        bundled_checkpoint("mf")
        return "mf"
    except CheckpointError:
        return "random"


QUESTIONS = [
    "What is 6 times 7?",
    "A reactor's output is 1250 units per hour; prove how many units 24 hours give by multiplying 1250 and 24.",
]


async def main() -> None:
    router = pick_router()
    llm = RouteLLM(
        strong=MockFunctionCallingLLM(response_generator=scripted_model("big-model"), is_chat_model=True),
        weak=MockFunctionCallingLLM(response_generator=scripted_model("small-model"), is_chat_model=True),
        router=router,
        strong_share=0.5,
    )
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(fn=multiply)], llm=llm, system_prompt="Use the tools.")
    log = RoutingDecisionLog.attach()
    print(f"router: {router} (threshold {llm.controller.current_threshold:.3f})\n")
    try:
        for question in QUESTIONS:
            start = len(log.events)
            result = await agent.run(user_msg=question)
            steps = log.models[start:]
            print(f"Q: {question}\n   -> {len(steps)} LLM steps, served by: {', '.join(steps)}")
            print(f"   A: {result.response.content}\n")
    finally:
        log.detach()


if __name__ == "__main__":
    asyncio.run(main())
