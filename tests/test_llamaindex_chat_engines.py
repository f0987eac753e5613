"""Every built-in chat-engine mode routes each turn on that turn's own question (issue 14).

A condense step (``condense_question``, ``condense_plus_context``) sends the LLM the history plus
the follow-up; it must be routed on the follow-up, not on the history before it. The index is in
memory with LlamaIndex's MockEmbedding (no network); the children are mock LLMs.
"""

from __future__ import annotations

import re
from typing import Any, List

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.llms.types import CompletionResponse
from llama_index.core.chat_engine.types import ChatMode
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.llms.callbacks import llm_completion_callback

from llamaindex_adapter import RouteLLM, RoutingDecisionLog, extract_query
from test_llamaindex_fakes import EchoLLM, KeywordRouter

DOCS = [
    "The sky looks blue because of Rayleigh scattering.",
    "Paris is the capital of France.",
    "Water boils at 100 degrees Celsius at sea level.",
]
# Turn 1 is hard; the follow-up is easy. The condense prompt of turn 2 holds turn 1 (and its answer),
# so routing on that prompt would pick the strong model for an easy follow-up.
HARD = "Prove that there are infinitely many primes."
FOLLOW_UP = "What colour is the sky?"

_FOLLOW_UP_IN_PROMPT = (
    re.compile(r"<Follow Up Message>\n(.*?)\n\n<Standalone question>", re.S),
    re.compile(r"Follow Up Input: (.*?)\n\s*Standalone question:", re.S),
)


class CondensingLLM(EchoLLM):
    """EchoLLM that, asked to condense a conversation, answers with the follow-up question (a perfect
    condenser for a follow-up that already stands alone); everything else is echoed."""

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        for pattern in _FOLLOW_UP_IN_PROMPT:
            found = pattern.search(prompt)
            if found:
                self.calls.append({"prompt": prompt, "condense": True})
                return CompletionResponse(text=found.group(1).strip())
        return super().complete(prompt, formatted=formatted, **kwargs)


@pytest.fixture(scope="module")
def index() -> VectorStoreIndex:
    return VectorStoreIndex.from_documents([Document(text=t) for t in DOCS], embed_model=MockEmbedding(embed_dim=8))


@pytest.fixture()
def decisions():
    log = RoutingDecisionLog.attach()
    yield log
    log.detach()


def _llm(router: Any) -> RouteLLM:
    return RouteLLM(strong=CondensingLLM(name="strong"), weak=CondensingLLM(name="weak"), router=router)


async def _turn(engine: Any, message: str, call: str) -> str:
    if call == "chat":
        return str(engine.chat(message))
    if call == "stream_chat":
        return "".join(engine.stream_chat(message).response_gen)
    if call == "achat":
        return str(await engine.achat(message))
    stream = await engine.astream_chat(message)
    return "".join([t async for t in stream.async_response_gen()])


MODES = [ChatMode.SIMPLE, ChatMode.CONDENSE_QUESTION, ChatMode.CONTEXT, ChatMode.CONDENSE_PLUS_CONTEXT, ChatMode.BEST]


@pytest.mark.parametrize("call", ["chat", "stream_chat", "achat", "astream_chat"])
@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
async def test_every_chat_engine_routes_each_turn_on_its_own_question(index, decisions, mode: ChatMode, call: str) -> None:
    router = KeywordRouter()
    llm = _llm(router)
    engine = index.as_chat_engine(chat_mode=mode, llm=llm, similarity_top_k=1)
    first = await _turn(engine, HARD, call)
    assert first.startswith("[strong]")
    turn_one = len(decisions.events)
    router.seen.clear()
    second = await _turn(engine, FOLLOW_UP, call)
    assert second.startswith("[weak]"), second
    assert router.seen and set(router.seen) == {FOLLOW_UP}  # never the history or the retrieved context
    # the decision is visible: one event per LLM call of the turn, every one for the weak model
    turn_two = decisions.events[turn_one:]
    assert turn_two and {e.model for e in turn_two} == {"weak"}
    assert all(e.decision["score"] == 0.0 and not e.decision["fallback"] for e in turn_two)
    if mode in (ChatMode.CONDENSE_QUESTION, ChatMode.CONDENSE_PLUS_CONTEXT, ChatMode.BEST):
        condensed = [c for c in llm.models["weak"].calls if c.get("condense")]
        assert len(condensed) == 1 and HARD in condensed[0]["prompt"]  # the condense step saw the history...
        assert any(e.routing_text_source in ("template:question", "condense_template") for e in turn_two)  # ...but was routed on the follow-up


def test_condense_question_answer_carries_the_decision(index) -> None:
    engine = index.as_chat_engine(chat_mode="condense_question", llm=_llm(KeywordRouter()), similarity_top_k=1)
    engine.chat(HARD)
    answer = engine.chat(FOLLOW_UP)
    tag = RouteLLM.decision_of(answer)  # read from the query-engine response among the answer's sources
    assert tag is not None and tag["model"] == "weak" and tag["routing_text_source"] == "template:query_str"


def test_condense_prompts_are_cut_to_the_follow_up_question() -> None:
    from llama_index.core.chat_engine.condense_plus_context import DEFAULT_CONDENSE_PROMPT_TEMPLATE
    from llama_index.core.chat_engine.condense_question import DEFAULT_PROMPT

    history = "user: Prove the theorem.\nassistant: Here is a proof...\nQuery: x\nAnswer: y"
    for formatted in (
        DEFAULT_PROMPT.format(chat_history=history, question=FOLLOW_UP),
        DEFAULT_CONDENSE_PROMPT_TEMPLATE.format(chat_history=history, question=FOLLOW_UP),
    ):
        assert extract_query(formatted) == FOLLOW_UP
    multi_line = DEFAULT_PROMPT.format(chat_history=history, question="Line one?\nLine two?")
    assert extract_query(multi_line) == "Line one?\nLine two?"


def test_a_custom_condense_template_is_routed_on_its_question_variable() -> None:
    from llama_index.core.prompts import PromptTemplate

    router = KeywordRouter()
    llm = _llm(router)
    custom = PromptTemplate("History (prove everything!):\n{chat_history}\nRewrite: {question}")
    assert llm.predict(custom, chat_history=HARD, question=FOLLOW_UP).startswith("[weak]")
    assert router.seen == [FOLLOW_UP]


def test_the_bundled_default_router_scores_the_follow_up_alone(index, decisions) -> None:
    """With the real router: each decision of the follow-up turn has the follow-up's own score."""
    llm = RouteLLM(strong=CondensingLLM(name="strong"), weak=CondensingLLM(name="weak"), strong_share=0.5)
    engine = index.as_chat_engine(chat_mode="condense_plus_context", llm=llm, similarity_top_k=1)
    engine.chat(HARD)
    start = len(decisions.events)
    engine.chat(FOLLOW_UP)
    expected = float(llm.controller.router.score([FOLLOW_UP])[0])
    turn_two = decisions.events[start:]
    assert len(turn_two) == 2  # the condense step and the answer
    assert all(e.decision["score"] == pytest.approx(expected, abs=1e-6) for e in turn_two)
    (condense_prompt,) = [c["prompt"] for m in llm.models.values() for c in m.calls if c.get("condense")]
    history_score = float(llm.controller.router.score([condense_prompt])[0])
    assert history_score != pytest.approx(expected, abs=1e-6)  # the condense prompt would have scored differently


@pytest.mark.parametrize("mode", [ChatMode.REACT, ChatMode.OPENAI], ids=["react", "openai"])
def test_agent_chat_modes_are_removed_in_the_installed_llama_index(index, mode: ChatMode) -> None:
    with pytest.raises(ValueError, match="ReActAgent or FunctionAgent"):
        index.as_chat_engine(chat_mode=mode, llm=_llm(KeywordRouter()))


async def test_their_replacement_a_react_agent_over_a_query_engine_tool_routes_on_the_question(index, decisions) -> None:
    from llama_index.core.agent.workflow import ReActAgent
    from llama_index.core.tools import QueryEngineTool

    from test_llamaindex_fakes import ScriptedToolLLM

    script = [
        {"text": f'Thought: I should look it up.\nAction: docs\nAction Input: {{"input": "{FOLLOW_UP}"}}'},
        {"text": "Thought: I can answer without using any more tools.\nAnswer: Blue."},
    ]
    router = KeywordRouter()
    agent_llm = RouteLLM(
        strong=ScriptedToolLLM(name="strong", script=list(script)), weak=ScriptedToolLLM(name="weak", script=list(script)), router=router
    )
    tool = QueryEngineTool.from_defaults(
        index.as_query_engine(llm=_llm(router), similarity_top_k=1), name="docs", description="facts about the world"
    )
    history: List[Any] = []
    result = await ReActAgent(tools=[tool], llm=agent_llm).run(user_msg=FOLLOW_UP, chat_history=history)
    assert "Blue." in str(result.response.content)
    assert set(router.seen) == {FOLLOW_UP}
    assert decisions.models == ["weak", "weak", "weak"]  # agent step, the tool's query engine, agent step
    assert RouteLLM.decision_of(result.response)["model"] == "weak"
