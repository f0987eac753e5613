"""RouterRunnable: routing whole LCEL chains (and plain callables) per input."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda

from langchain_adapter import RouterRunnable
from routellm_plugins import ConfigError, Router

HARD = "Derive the closed form of the Fibonacci numbers."
EASY = "Say hello."


class KeywordRouter(Router):
    """Deterministic test router: 0.9 for prompts with 'derive', else 0.1."""

    name = "keyword"

    def __init__(self, threshold: float | None = 0.5) -> None:
        super().__init__(threshold=threshold)

    def _score(self, prompts: list[str]) -> np.ndarray:
        return np.array([0.9 if "derive" in p.lower() else 0.1 for p in prompts])


def chain(reply: str) -> Any:
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{question}")])
    return prompt | GenericFakeChatModel(messages=itertools.cycle([reply])) | StrOutputParser()


class ChainStarts(BaseCallbackHandler):
    def __init__(self) -> None:
        self.metadata: list[dict[str, Any]] = []

    def on_chain_start(self, serialized: Any, inputs: Any, *, metadata: Any = None, parent_run_id: Any = None, **kwargs: Any) -> None:
        if parent_run_id is None:
            self.metadata.append(dict(metadata or {}))


def test_routes_between_whole_chains_on_a_dict_input_key() -> None:
    router = RouterRunnable(strong=chain("a long derivation"), weak=chain("hello!"), router=KeywordRouter(), input_key="question")
    assert router.invoke({"question": HARD}) == "a long derivation"
    assert router.invoke({"question": EASY}) == "hello!"
    assert router.batch([{"question": EASY}, {"question": HARD}]) == ["hello!", "a long derivation"]


def test_the_chosen_chains_run_carries_the_decision() -> None:
    starts = ChainStarts()
    router = RouterRunnable(strong=chain("s"), weak=chain("w"), router=KeywordRouter(), input_key="question")
    router.invoke({"question": HARD}, config={"callbacks": [starts]})
    (meta,) = starts.metadata
    assert meta["routellm"]["served_by"] == "strong" and meta["routellm"]["router"] == "keyword"


def test_streams_inside_an_lcel_pipeline() -> None:
    upstream = RunnableLambda(lambda q: {"question": q})
    router = RouterRunnable(strong=chain("one two three"), weak=chain("w"), router=KeywordRouter(), input_key="question")
    pipeline = upstream | router | RunnableLambda(lambda s: s.upper())
    assert pipeline.invoke(HARD) == "ONE TWO THREE"
    assert list(router.stream({"question": HARD})) == ["one", " ", "two", " ", "three"]


async def test_async_invoke_and_stream() -> None:
    router = RouterRunnable(strong=chain("deep answer"), weak=chain("quick"), router=KeywordRouter(), input_key="question")
    assert await router.ainvoke({"question": EASY}) == "quick"
    assert [c async for c in router.astream({"question": HARD})] == ["deep", " ", "answer"]


def test_named_routes_callables_and_default_text_extraction() -> None:
    router = RouterRunnable({"strong": lambda x: "S", "weak": lambda x: "W"}, router=KeywordRouter())
    assert router.invoke(HARD) == "S"  # a str input is its own routing text
    assert router.invoke({"topic": "math", "task": HARD}) == "S"  # dict: its str values
    assert router.invoke({"messages": [("user", HARD), ("ai", "ok"), ("user", EASY)]}) == "W"  # last human message
    assert router.decide(HARD).model == "strong"


def test_no_routing_text_goes_to_the_fallback_route() -> None:
    router = RouterRunnable(strong=lambda x: "S", weak=lambda x: "W", router=KeywordRouter(), fallback="weak")
    assert router.invoke(12345) == "W"


def test_failing_route_falls_back_when_asked() -> None:
    def boom(x: Any) -> str:
        raise ValueError("chain broke")

    with pytest.raises(ValueError, match="chain broke"):
        RouterRunnable(strong=boom, weak=lambda x: "W", router=KeywordRouter()).invoke(HARD)
    assert RouterRunnable(strong=boom, weak=lambda x: "W", router=KeywordRouter(), failover=True).invoke(HARD) == "W"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strong": "not a runnable", "weak": lambda x: x}, "route 'strong' must be a Runnable"),
        ({"strong": lambda x: x}, r"missing child model\(s\) \['weak'\]"),
        ({"routes": {"strong": lambda x: x, "weak": lambda x: x}, "strong": lambda x: x}, "routes=, not both"),
        ({"strong": lambda x: x, "weak": lambda x: x, "route_on": 3}, "route_on"),
    ],
)
def test_bad_router_runnable_configuration(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        RouterRunnable(router=KeywordRouter(), **kwargs)
