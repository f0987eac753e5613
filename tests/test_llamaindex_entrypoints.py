"""Every RouteLLM entry point reaches the chosen child with the call unchanged, and says which child answered."""

from __future__ import annotations

from typing import Any, List

import pytest
from llama_index.core.base.llms.types import ChatMessage, LLMMetadata, MessageRole
from llama_index.core.bridge.pydantic import BaseModel
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool

from llamaindex_adapter import DECISION_KEY, RouteLLM
from test_llamaindex_fakes import EchoLLM, KeywordRouter, ScriptedToolLLM, echo_pair, make_route_llm, user

HARD = "Prove that there are infinitely many primes."
EASY = "What colour is the sky?"
CASES = [(HARD, "strong"), (EASY, "weak")]


def _answer_text(resp: Any) -> str:
    return resp.message.content if hasattr(resp, "message") else resp.text


@pytest.mark.parametrize("question,expected", CASES)
@pytest.mark.parametrize("entry", ["chat", "complete"])
def test_sync_calls_go_to_the_chosen_child_and_are_tagged(entry: str, question: str, expected: str) -> None:
    llm = make_route_llm()
    resp = llm.chat(user(question)) if entry == "chat" else llm.complete(question)
    assert _answer_text(resp).startswith(f"[{expected}]")
    assert resp.additional_kwargs[DECISION_KEY]["model"] == expected
    assert RouteLLM.decision_of(resp)["router"] == "keyword"
    assert len(llm.models[expected].calls) == 1
    assert llm.models["weak" if expected == "strong" else "strong"].calls == []


@pytest.mark.parametrize("question,expected", CASES)
@pytest.mark.parametrize("entry", ["achat", "acomplete"])
async def test_async_calls_go_to_the_chosen_child(entry: str, question: str, expected: str) -> None:
    llm = make_route_llm()
    resp = await (llm.achat(user(question)) if entry == "achat" else llm.acomplete(question))
    assert _answer_text(resp).startswith(f"[{expected}]")
    assert resp.additional_kwargs[DECISION_KEY]["model"] == expected


@pytest.mark.parametrize("question,expected", CASES)
def test_stream_chat_and_complete_keep_the_childs_chunk_order(question: str, expected: str) -> None:
    llm = make_route_llm()
    child = llm.models[expected]
    pairs = [
        (llm.stream_chat(user(question)), child.stream_chat(user(question))),
        (llm.stream_complete(question), child.stream_complete(question)),
    ]
    for stream, direct_stream in pairs:
        chunks, direct = list(stream), [c.delta for c in direct_stream]
        assert [c.delta for c in chunks] == direct and len(direct) > 3
        assert all(c.additional_kwargs[DECISION_KEY]["model"] == expected for c in chunks)


@pytest.mark.parametrize("question,expected", CASES)
async def test_async_streams_keep_the_childs_chunk_order(question: str, expected: str) -> None:
    llm = make_route_llm()
    child = llm.models[expected]
    pairs = [
        (llm.astream_chat(user(question)), child.astream_chat(user(question))),
        (llm.astream_complete(question), child.astream_complete(question)),
    ]
    for opener, direct_opener in pairs:
        chunks = [c async for c in await opener]
        direct = [c.delta async for c in await direct_opener]
        assert [c.delta for c in chunks] == direct and len(direct) > 3
        assert {c.additional_kwargs[DECISION_KEY]["model"] for c in chunks} == {expected}


def test_call_kwargs_and_formatted_flag_reach_the_child_unchanged() -> None:
    llm = make_route_llm()
    llm.complete(EASY, formatted=True, temperature=0.1)
    assert llm.models["weak"].calls[-1] == {"prompt": EASY, "formatted": True, "temperature": 0.1}


def test_decision_is_made_once_per_call_and_routes_on_the_last_user_message() -> None:
    router = KeywordRouter()
    llm = make_route_llm(router=router)
    history = [
        ChatMessage(role=MessageRole.SYSTEM, content="You are helpful."),
        ChatMessage(role=MessageRole.USER, content=HARD),
        ChatMessage(role=MessageRole.ASSISTANT, content="Euclid did."),
        ChatMessage(role=MessageRole.USER, content=EASY),
    ]
    resp = llm.chat(history)
    assert router.seen == [EASY]
    assert resp.additional_kwargs[DECISION_KEY]["model"] == "weak"


# ---- template calls (what query engines use) ------------------------------------------------
QA = PromptTemplate("Context: {context_str}\nQuery: {query_str}\nAnswer: ")


@pytest.mark.parametrize("mode", ["predict", "stream", "apredict", "astream"])
async def test_template_calls_route_on_the_query_variable_not_the_context(mode: str) -> None:
    router = KeywordRouter()
    llm = make_route_llm(router=router)
    args = {"context_str": "A theorem is proved by derivation.", "query_str": EASY}
    if mode == "predict":
        out = llm.predict(QA, **args)
    elif mode == "stream":
        out = "".join(llm.stream(QA, **args))
    elif mode == "apredict":
        out = await llm.apredict(QA, **args)
    else:
        out = "".join([t async for t in await llm.astream(QA, **args)])
    assert out.startswith("[weak]") and "theorem" in out  # the child got the whole templated prompt
    assert router.seen == [EASY]


def test_template_query_given_by_partial_format_is_found() -> None:
    router = KeywordRouter()
    llm = make_route_llm(router=router)
    out = llm.predict(QA.partial_format(query_str=HARD), context_str="sky facts")
    assert out.startswith("[strong]") and router.seen == [HARD]


class Answer(BaseModel):
    """An answer."""

    text: str


class JsonLLM(EchoLLM):
    """Answers every prompt with ``{"text": "<name>"}``."""

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
        from llama_index.core.base.llms.types import CompletionResponse

        self.calls.append({"prompt": prompt})
        return CompletionResponse(text='{"text": "%s"}' % self.name)


@pytest.mark.parametrize("question,expected", CASES)
async def test_structured_predict_is_delegated_to_the_chosen_child(question: str, expected: str) -> None:
    router = KeywordRouter()
    llm = RouteLLM(strong=JsonLLM(name="strong"), weak=JsonLLM(name="weak"), router=router)
    prompt = PromptTemplate("Context: {context_str}\nQuestion: {query_str}")
    assert llm.structured_predict(Answer, prompt, context_str="a theorem", query_str=question) == Answer(text=expected)
    assert (await llm.astructured_predict(Answer, prompt, context_str="x", query_str=question)).text == expected
    assert router.seen == [question, question]


# ---- function calling ------------------------------------------------------------------
def _tools() -> List[FunctionTool]:
    def add(x: int, y: int) -> int:
        """Add two integers."""
        return x + y

    return [FunctionTool.from_defaults(fn=add)]


def _tool_pair() -> tuple[ScriptedToolLLM, ScriptedToolLLM]:
    strong = ScriptedToolLLM(name="strong", style="kwargs", script=[{"tool": "add", "args": {"x": 2, "y": 3}}])
    weak = ScriptedToolLLM(name="weak", style="blocks", script=[{"tool": "add", "args": {"x": 1, "y": 1}}])
    return strong, weak


@pytest.mark.parametrize("question,expected,args", [(HARD, "strong", {"x": 2, "y": 3}), (EASY, "weak", {"x": 1, "y": 1})])
async def test_chat_with_tools_and_tool_parsing_use_the_producing_child(question: str, expected: str, args: dict) -> None:
    for mode in ("sync", "async", "stream", "astream"):
        strong, weak = _tool_pair()
        llm = RouteLLM(strong=strong, weak=weak, router=KeywordRouter())
        if mode == "sync":
            resp = llm.chat_with_tools(_tools(), user_msg=question)
        elif mode == "async":
            resp = await llm.achat_with_tools(_tools(), user_msg=question)
        elif mode == "stream":
            resp = list(llm.stream_chat_with_tools(_tools(), user_msg=question))[-1]
        else:
            resp = [c async for c in await llm.astream_chat_with_tools(_tools(), user_msg=question)][-1]
        child = llm.models[expected]
        assert child.seen_kwargs[-1]["tool_format"] == expected  # the child formatted its own tools
        calls = llm.get_tool_calls_from_response(resp)
        assert [(c.tool_name, c.tool_kwargs) for c in calls] == [("add", args)], mode


def test_untagged_responses_are_parsed_by_whichever_child_understands_them() -> None:
    strong, weak = _tool_pair()
    llm = RouteLLM(strong=strong, weak=weak, router=KeywordRouter())
    raw = weak.chat(user("x"))  # not through RouteLLM: no tag
    assert DECISION_KEY not in raw.additional_kwargs
    assert llm.get_tool_calls_from_response(raw)[0].tool_kwargs == {"x": 1, "y": 1}
    plain = strong.complete("no tools")
    plain_chat = ScriptedToolLLM(name="z", script=[{"text": "hi"}]).chat(user("x"))
    assert llm.get_tool_calls_from_response(plain_chat, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="no tool call"):
        llm.get_tool_calls_from_response(plain_chat)
    assert plain.text.startswith("[strong]")


@pytest.mark.parametrize("question,expected,total", [(HARD, "strong", "5"), (EASY, "weak", "2")])
async def test_predict_and_call_runs_the_tool_through_the_chosen_child(question: str, expected: str, total: str) -> None:
    strong, weak = _tool_pair()
    llm = RouteLLM(strong=strong, weak=weak, router=KeywordRouter())
    out = llm.predict_and_call(_tools(), user_msg=question)
    assert out.response == total
    assert out.metadata[DECISION_KEY]["model"] == expected
    strong2, weak2 = _tool_pair()
    llm2 = RouteLLM(strong=strong2, weak=weak2, router=KeywordRouter())
    out2 = await llm2.apredict_and_call(_tools(), user_msg=question)
    assert out2.response == total and llm2.models[expected].steps_taken == 1


def test_base_class_tool_flow_reuses_the_decision_made_while_preparing() -> None:
    strong, weak = _tool_pair()
    router = KeywordRouter()
    llm = RouteLLM(strong=strong, weak=weak, router=router)
    # FunctionCallingLLM's generic implementation: _prepare_chat_with_tools, then chat(**prepared).
    resp = FunctionCallingLLM.chat_with_tools(llm, _tools(), user_msg=HARD)
    assert router.seen == [HARD]  # decided once
    assert resp.additional_kwargs[DECISION_KEY]["model"] == "strong"
    assert llm.get_tool_calls_from_response(resp)[0].tool_kwargs == {"x": 2, "y": 3}


def test_tool_calls_need_function_calling_children() -> None:
    llm = make_route_llm()
    with pytest.raises(NotImplementedError, match="not a FunctionCallingLLM"):
        llm.chat_with_tools(_tools(), user_msg=HARD)


# ---- metadata ------------------------------------------------------------------------------
def test_metadata_is_what_every_child_supports() -> None:
    strong, weak = _tool_pair()
    both = RouteLLM(strong=strong, weak=weak, router=KeywordRouter()).metadata
    assert both.is_function_calling_model and both.is_chat_model
    assert both.context_window == 8192 and both.model_name == "routellm-keyword[strong=strong,weak=weak]"

    mixed = RouteLLM(strong=strong, weak=EchoLLM(name="weak", window=2048, outputs=64), router=KeywordRouter()).metadata
    assert isinstance(mixed, LLMMetadata)
    assert mixed.context_window == 2048 and mixed.num_output == 64
    assert not mixed.is_function_calling_model and not mixed.is_chat_model

    s, w = echo_pair(chat_model=True)
    assert RouteLLM(strong=s, weak=w, router=KeywordRouter()).metadata.is_chat_model


def test_payload_names_router_and_models_without_children_config() -> None:
    llm = make_route_llm()
    payload = llm.to_payload()
    assert payload["router"] == "keyword" and payload["models"] == ["strong", "weak"]
    assert payload["class_name"] == "RouteLLM"


def _routers_to_check() -> List[str]:
    """The keyword stub always; the bundled ``mf`` router as soon as its checkpoint ships."""
    from routellm_plugins.registry import CHECKPOINT_DIR

    return ["keyword"] + (["mf"] if (CHECKPOINT_DIR / "mf" / "router.json").is_file() else [])


@pytest.mark.parametrize("router_name", _routers_to_check())
def test_a_hard_and_an_easy_prompt_are_served_by_different_children(router_name: str) -> None:
    routing: dict = {"router": KeywordRouter(), "threshold": 0.5} if router_name == "keyword" else {"router": "mf", "strong_share": 0.5}
    strong, weak = echo_pair()
    llm = RouteLLM(strong=strong, weak=weak, **routing)
    hard = (
        "Prove that for every integer n >= 1 the sum of the first n odd numbers equals n^2, "
        "then derive a closed form for the sum of the first n cubes and prove it by induction."
    )
    easy = "Say hello to my friend Sam."
    hard_tag = llm.chat(user(hard)).additional_kwargs[DECISION_KEY]
    easy_tag = llm.chat(user(easy)).additional_kwargs[DECISION_KEY]
    assert (hard_tag["model"], easy_tag["model"]) == ("strong", "weak")
    assert hard_tag["score"] > easy_tag["score"] and hard_tag["router"] == router_name
