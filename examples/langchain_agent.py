"""A tool-using LangChain agent (``create_agent``) whose model is ChatRouteLLM.

Every turn is scored; with ``sticky_sessions="escalate"`` a conversation (the LangGraph
``thread_id``) never drops back to the weak model once it reached the strong one, and a turn kept
up that way says ``sticky``. A turn's tool loop stays on one model. Runs offline with the bundled
default router; two scripted children play a strong and a weak model, both able to call the
calculator tool, each formatting tools its own way (OpenAI-style function tools vs
name/input_schema tools). The threshold is calibrated on the conversations' opening turns for a
50 % strong share (with real traffic, calibrate on your own logs).

    python examples/langchain_agent.py
"""

from __future__ import annotations

import ast
import operator
import re
import sys
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from langchain_adapter import ChatRouteLLM, routing_text
from langchain_adapter.testing import ScriptedChatModel
from routellm_plugins import load_router

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.Pow: operator.pow, ast.USub: operator.neg}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.operand))
    raise ValueError(f"unsupported expression element {ast.dump(node)[:40]}")


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression such as '12 * (3 + 4)'."""
    value = _evaluate(ast.parse(expression, mode="eval").body)
    return str(int(value) if float(value).is_integer() else round(value, 6))


def scripted_agent(voice: str) -> Any:
    """A scripted policy: compute arithmetic in the question with the calculator, else just reply."""

    def reply(messages: list[BaseMessage]) -> AIMessage:
        if isinstance(messages[-1], ToolMessage):
            return AIMessage(content=f"{voice} The answer is {messages[-1].content}.")
        question = routing_text(messages) or ""
        candidates = re.findall(r"[\d(][\d\s+\-*/().^]*[\d)]", question)
        expression = next((c for c in candidates if any(op in c for op in "+-*/^")), None)
        if expression:
            args = {"expression": expression.replace("^", "**").strip()}
            return AIMessage(content="", tool_calls=[{"name": "calculator", "args": args, "id": f"call-{len(messages)}"}])
        return AIMessage(content=f"{voice} Happy to help with: {question[:60]}")

    return reply


CONVERSATIONS = {
    "thread-1": ["Hi there!", "Prove that the sum of the first n odd numbers is n^2, then check it for n = 12 * 12.",
                 "Thanks! And what is 2 + 2?"],
    "thread-2": ["A train covers 372 km in 4 hours; what is (372 / 4) * 7 in km?", "Great, thanks."],
    "thread-3": ["Can you recommend a good book?", "What is 15 * 15?"],
    "thread-4": ["Write a Python function that checks whether a string is a palindrome, ignoring punctuation and case."],
}


def main() -> int:
    router = load_router()
    threshold = router.calibrate([turns[0] for turns in CONVERSATIONS.values()], strong_share=0.5)
    strong = ScriptedChatModel(model="strong-model", replies=[scripted_agent("[strong]")], tool_format="openai")
    weak = ScriptedChatModel(model="weak-model", replies=[scripted_agent("[weak]")], tool_format="named")
    model = ChatRouteLLM(strong=strong, weak=weak, router=router, threshold=threshold, sticky_sessions="escalate", failover=True)
    agent = create_agent(model, tools=[calculator], checkpointer=InMemorySaver(),
                         system_prompt="Use the calculator for any arithmetic.")
    print(f"router {router.name!r}, threshold {threshold:.4f}, sticky_sessions='escalate'\n")

    for thread, turns in CONVERSATIONS.items():
        print(f"== {thread} ==")
        config = {"configurable": {"thread_id": thread}}
        for question in turns:
            before = len(agent.get_state(config).values.get("messages", []))
            messages = agent.invoke({"messages": [("user", question)]}, config)["messages"][before:]
            ai = [m for m in messages if isinstance(m, AIMessage)]
            route = ai[-1].response_metadata["routellm"]
            tools = [f"{c['name']}({c['args']['expression']})" for m in ai for c in m.tool_calls]
            score = "n/a" if route["score"] is None else f"{route['score']:.4f}"
            kept = ", sticky (kept from an earlier turn)" if route["sticky"] else ""
            print(f"user: {question}")
            print(f"  served by {route['served_by']} ({route['model_name']}), score {score}{kept}, {len(ai)} model call(s)"
                  + (f", tools: {', '.join(tools)}" if tools else ""))
            print(f"  {ai[-1].content}")
    print(f"\nmodel calls: strong={len(strong.calls)}, weak={len(weak.calls)}; "
          f"tool formats: strong={sorted(strong.calls[0]['kwargs']['tools'][0]) if strong.calls else '-'}, "
          f"weak={sorted(weak.calls[0]['kwargs']['tools'][0]) if weak.calls else '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
