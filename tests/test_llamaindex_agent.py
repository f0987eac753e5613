"""A FunctionAgent with tools runs through RouteLLM: one model per turn, tool calls parsed by their producer."""

from __future__ import annotations

from typing import List

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.tools import FunctionTool

from llamaindex_adapter import RouteLLM, RoutingDecisionLog
from test_llamaindex_fakes import KeywordRouter, ScriptedToolLLM

HARD = "Prove by computation what 6 times 7 plus 1 is."
EASY = "What is 2 plus 2?"


def _tools(calls: List[str]) -> List[FunctionTool]:
    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        calls.append(f"multiply({a},{b})")
        return a * b

    def add(a: int, b: int) -> int:
        """Add two integers."""
        calls.append(f"add({a},{b})")
        return a + b

    return [FunctionTool.from_defaults(fn=multiply), FunctionTool.from_defaults(fn=add)]


def _children() -> tuple[ScriptedToolLLM, ScriptedToolLLM]:
    strong = ScriptedToolLLM(
        name="strong",
        style="kwargs",
        script=[
            {"tool": "multiply", "args": {"a": 6, "b": 7}},
            {"tool": "add", "args": {"a": 42, "b": 1}},
            {"text": "The answer is 43."},
        ],
    )
    weak = ScriptedToolLLM(
        name="weak",
        style="blocks",
        script=[{"tool": "add", "args": {"a": 2, "b": 2}}, {"text": "It is 4."}],
    )
    return strong, weak


@pytest.fixture()
def decisions():
    log = RoutingDecisionLog.attach()
    yield log
    log.detach()


@pytest.mark.parametrize("streaming", [True, False])
@pytest.mark.parametrize(
    "question,expected,answer,tool_calls",
    [
        (HARD, "strong", "The answer is 43.", ["multiply(6,7)", "add(42,1)"]),
        (EASY, "weak", "It is 4.", ["add(2,2)"]),
    ],
)
async def test_function_agent_tool_loop_runs_on_one_child(
    decisions, streaming: bool, question: str, expected: str, answer: str, tool_calls: List[str]
) -> None:
    strong, weak = _children()
    router = KeywordRouter()
    llm = RouteLLM(strong=strong, weak=weak, router=router)
    calls: List[str] = []
    agent = FunctionAgent(tools=_tools(calls), llm=llm, streaming=streaming)
    result = await agent.run(user_msg=question)
    assert str(result.response.content) == answer
    assert calls == tool_calls  # each child's own tool-call format was parsed by that child
    steps = len(tool_calls) + 1
    assert llm.models[expected].steps_taken == steps
    assert llm.models["weak" if expected == "strong" else "strong"].steps_taken == 0
    assert decisions.models == [expected] * steps
    # later steps see the tool results, and still route on the user's question
    assert set(router.seen) <= {question}
    last_input = llm.models[expected].seen[-1]
    assert [m.role.value for m in last_input][-1] == "tool"


@pytest.mark.parametrize("streaming", [True, False])
async def test_one_agent_turn_is_one_decision_even_with_a_flipping_router(decisions, streaming: bool) -> None:
    strong, weak = _children()
    router = KeywordRouter(alternate=True)  # would answer strong, weak, strong... call by call
    llm = RouteLLM(strong=strong, weak=weak, router=router)  # sticky_sessions: the shared default ("off")
    assert llm.controller.sticky_policy == "off"
    calls: List[str] = []
    result = await FunctionAgent(tools=_tools(calls), llm=llm, streaming=streaming).run(user_msg=EASY)
    assert str(result.response.content) == "The answer is 43."
    assert decisions.models == ["strong"] * 3
    assert len(router.seen) == 1  # later steps reused the turn's decision: scored once
    assert [e.decision["sticky"] for e in decisions.events] == [False, True, True]
    assert [e.routing_text_source for e in decisions.events][1:] == ["turn", "turn"]
    # the agent's result carries the decision that produced it (issue 14: was None)
    tag = RouteLLM.decision_of(result.response)
    assert tag is not None and tag["model"] == "strong" and tag["sticky"] is True
    assert RouteLLM.decision_of(result)["model"] == "strong"


async def test_agent_workflow_result_carries_the_decision(decisions) -> None:
    from llama_index.core.agent.workflow import AgentWorkflow

    strong, weak = _children()
    llm = RouteLLM(strong=strong, weak=weak, router=KeywordRouter())
    workflow = AgentWorkflow(agents=[FunctionAgent(name="calc", description="calculator", tools=_tools([]), llm=llm)])
    result = await workflow.run(user_msg=EASY)
    assert str(result.response.content) == "It is 4."
    assert RouteLLM.decision_of(result.response)["model"] == "weak"
    assert decisions.models == ["weak", "weak"]


async def test_the_decision_never_travels_back_to_a_provider_with_the_history() -> None:
    """The tag on an agent's message is not a pydantic field: replaying the message as history sends no routing data."""
    strong, weak = _children()
    llm = RouteLLM(strong=strong, weak=weak, router=KeywordRouter())
    result = await FunctionAgent(tools=_tools([]), llm=llm).run(user_msg=EASY)
    message = result.response
    assert RouteLLM.decision_of(message) is not None
    assert "routellm" not in message.additional_kwargs
    assert "routellm" not in message.model_dump_json() and "routellm" not in repr(message.model_dump())
    replayed = weak.seen[-1]  # the second step saw the first step's tagged assistant message
    assert all("routellm" not in m.model_dump_json() for m in replayed)


async def test_a_new_user_turn_gets_a_new_decision(decisions) -> None:
    strong, weak = _children()
    llm = RouteLLM(strong=strong, weak=weak, router=KeywordRouter())
    agent = FunctionAgent(tools=_tools([]), llm=llm)
    from llama_index.core.workflow import Context

    ctx = Context(agent)
    await agent.run(user_msg=EASY, ctx=ctx)
    await agent.run(user_msg=HARD, ctx=ctx)
    assert decisions.models[0] == "weak" and decisions.models[-1] == "strong"


def test_agents_refuse_a_router_whose_children_cannot_call_functions() -> None:
    from test_llamaindex_fakes import echo_pair

    strong, weak = echo_pair()
    llm = RouteLLM(strong=strong, weak=weak, router=KeywordRouter())
    assert llm.metadata.is_function_calling_model is False


async def test_react_agent_routes_on_the_question_not_on_its_observations(decisions) -> None:
    from llama_index.core.agent.workflow import ReActAgent

    react_script = [
        {"text": 'Thought: I need a tool.\nAction: add\nAction Input: {"a": 2, "b": 2}'},
        {"text": "Thought: I can answer without using any more tools.\nAnswer: It is 4."},
    ]
    strong = ScriptedToolLLM(name="strong", script=list(react_script))
    weak = ScriptedToolLLM(name="weak", script=list(react_script))
    router = KeywordRouter(alternate=True)
    llm = RouteLLM(strong=strong, weak=weak, router=router)
    calls: List[str] = []
    result = await ReActAgent(tools=_tools(calls), llm=llm).run(user_msg=EASY)
    assert "It is 4." in str(result.response.content) and calls == ["add(2,2)"]
    assert router.seen == [EASY]  # the "Observation: 4" user message was not routed on
    assert decisions.models == ["strong", "strong"] and weak.steps_taken == 0
    assert strong.seen[-1][-1].content.startswith("Observation:")
