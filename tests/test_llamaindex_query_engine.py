"""In a query engine RouteLLM routes on the user's query, never on the retrieved context."""

from __future__ import annotations

from typing import List, Optional, Sequence

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.prompts.chat_prompts import CHAT_REFINE_PROMPT, CHAT_TEXT_QA_PROMPT
from llama_index.core.prompts.default_prompts import DEFAULT_REFINE_PROMPT, DEFAULT_TEXT_QA_PROMPT

from llamaindex_adapter import DECISION_KEY, RoutingDecisionLog, extract_query
from test_llamaindex_fakes import KeywordRouter, echo_pair, make_route_llm, user

# Every document holds a "hard" word, so routing on the context would always pick the strong model.
DOCS = [
    "Euclid's theorem: there are infinitely many primes; we prove it by contradiction.",
    "To derive the quadratic formula, complete the square.",
    "The sky looks blue because of Rayleigh scattering.",
]
EASY = "What colour is the sky?"
HARD = "Prove that the square root of two is irrational."


@pytest.fixture(scope="module")
def index() -> VectorStoreIndex:
    return VectorStoreIndex.from_documents([Document(text=t) for t in DOCS], embed_model=MockEmbedding(embed_dim=8))


@pytest.fixture()
def decisions():
    log = RoutingDecisionLog.attach()
    yield log
    log.detach()


@pytest.mark.parametrize("chat_model", [False, True])
@pytest.mark.parametrize("question,expected", [(EASY, "weak"), (HARD, "strong")])
def test_query_engine_routes_on_the_query(index, decisions, chat_model: bool, question: str, expected: str) -> None:
    router = KeywordRouter()
    strong, weak = echo_pair(chat_model=chat_model)
    llm = make_route_llm(strong, weak, router=router)
    engine = index.as_query_engine(llm=llm, similarity_top_k=3)
    response = engine.query(question)
    assert str(response).startswith(f"[{expected}]")
    assert "theorem" in str(response)  # the child did receive the retrieved context
    assert set(router.seen) == {question}  # only the query was scored, never the context
    assert decisions.models and set(decisions.models) == {expected}
    assert {e.routing_text_source for e in decisions.events} == {"template:query_str"}


@pytest.mark.parametrize("mode", ["tree_summarize", "refine"])
def test_other_synthesizers_route_on_the_query_too(index, mode: str) -> None:
    router = KeywordRouter()
    llm = make_route_llm(router=router)
    engine = index.as_query_engine(llm=llm, similarity_top_k=3, response_mode=mode)
    assert str(engine.query(EASY)).startswith("[weak]")
    assert router.seen and set(router.seen) == {EASY}


async def test_streaming_and_async_query_engines_route_on_the_query(index) -> None:
    router = KeywordRouter()
    llm = make_route_llm(router=router)
    streamed = index.as_query_engine(llm=llm, streaming=True).query(HARD)
    assert "".join(streamed.response_gen).startswith("[strong]")
    answer = await index.as_query_engine(llm=llm).aquery(EASY)
    assert str(answer).startswith("[weak]")
    assert set(router.seen) == {HARD, EASY}


# ---- the same rule when a templated prompt reaches chat()/complete() directly --------------
def _formatted_prompts(query: str) -> List[str]:
    ctx = "A theorem about primes; we derive and prove things here."
    return [
        DEFAULT_TEXT_QA_PROMPT.format(context_str=ctx, query_str=query),
        DEFAULT_REFINE_PROMPT.format(context_msg=ctx, query_str=query, existing_answer="maybe"),
        CHAT_TEXT_QA_PROMPT.format_messages(context_str=ctx, query_str=query)[-1].content,
        CHAT_REFINE_PROMPT.format_messages(context_msg=ctx, query_str=query, existing_answer="maybe")[-1].content,
    ]


@pytest.mark.parametrize("which", range(4))
def test_llamaindex_qa_and_refine_prompts_are_cut_to_their_query(which: int) -> None:
    prompt = _formatted_prompts(EASY)[which]
    assert extract_query(prompt) == EASY
    router = KeywordRouter()
    llm = make_route_llm(router=router)
    assert llm.complete(prompt).additional_kwargs[DECISION_KEY]["routing_text_source"] == "qa_template"
    assert llm.chat(user(prompt)).additional_kwargs[DECISION_KEY]["model"] == "weak"
    assert router.seen == [EASY, EASY]


@pytest.mark.parametrize(
    "text",
    [
        "Query: how do I prove this?",  # no Answer: cue at the end
        "Answer: 42",
        "Please answer.\nQuery: \nAnswer:",  # empty query
        "plain question",
    ],
)
def test_ordinary_text_is_not_mistaken_for_a_qa_prompt(text: str) -> None:
    assert extract_query(text) is None


def test_a_route_on_callable_overrides_the_default_extraction() -> None:
    seen: List[Sequence[ChatMessage]] = []

    def first_user_message(messages: Sequence[ChatMessage]) -> Optional[str]:
        seen.append(messages)
        return next(m.content for m in messages if m.role == MessageRole.USER)

    router = KeywordRouter()
    llm = make_route_llm(router=router, route_on=first_user_message)
    msgs = [ChatMessage(role=MessageRole.USER, content=HARD), ChatMessage(role=MessageRole.USER, content=EASY)]
    resp = llm.chat(msgs)
    assert resp.additional_kwargs[DECISION_KEY]["model"] == "strong"
    assert resp.additional_kwargs[DECISION_KEY]["routing_text_source"] == "route_on"
    assert llm.complete(EASY).additional_kwargs[DECISION_KEY]["model"] == "weak"
    assert router.seen == [HARD, EASY] and len(seen) == 2


def test_a_failing_route_on_callable_falls_back_instead_of_failing_the_call() -> None:
    def broken(messages: Sequence[ChatMessage]) -> str:
        raise KeyError("oops")

    llm = make_route_llm(route_on=broken, fallback="weak")
    tag = llm.chat(user(HARD)).additional_kwargs[DECISION_KEY]
    assert tag["model"] == "weak" and tag["fallback"] is True
    assert tag["routing_text_source"] == "route_on raised KeyError"


def test_templates_without_a_query_variable_route_on_the_formatted_text() -> None:
    from llama_index.core.prompts import PromptTemplate

    router = KeywordRouter()
    llm = make_route_llm(router=router)
    out = llm.predict(PromptTemplate("Summarise: {text}"), text="derive the formula")
    assert out.startswith("[strong]")
    assert router.seen == ["Summarise: derive the formula"]


def test_custom_query_variable_names_are_honoured() -> None:
    from llama_index.core.prompts import PromptTemplate

    router = KeywordRouter()
    llm = make_route_llm(router=router, query_template_vars=("question", "query_str"))
    llm.predict(PromptTemplate("{context}\n{question}"), context="prove it", question=EASY)
    assert router.seen == [EASY]


def test_settings_llm_and_callback_manager_work_with_routellm(index) -> None:
    from llama_index.core import Settings
    from llama_index.core.callbacks import CallbackManager, CBEventType, LlamaDebugHandler

    saved_llm, saved_cb = Settings._llm, Settings._callback_manager
    debug = LlamaDebugHandler()
    try:
        llm = make_route_llm()
        Settings.llm = llm
        Settings.callback_manager = CallbackManager([debug])
        answer = index.as_query_engine(similarity_top_k=1).query(EASY)
        assert str(answer).startswith("[weak]")
        assert len(debug.get_event_pairs(CBEventType.LLM)) == 1  # the child's LLM event, seen once
    finally:
        Settings._llm, Settings._callback_manager = saved_llm, saved_cb
