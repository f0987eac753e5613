"""Test doubles for the LlamaIndex adapter tests (echo LLM, scripted function-calling LLM, keyword router),
and checks that the doubles behave as the other tests assume."""

from __future__ import annotations

import itertools
from collections import Counter
from contextlib import contextmanager
from typing import Any, AsyncGenerator, Dict, Generator, Iterator, List, Optional, Sequence

import numpy as np
import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    LLMMetadata,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection

from routellm_plugins import Router
from llamaindex_adapter import RouteLLM

HARD_WORDS = ("prove", "derive", "theorem")


class EchoLLM(CustomLLM):
    """Answers ``[name] <prompt>``; streams ``[name]`` then one chunk per word. Can be told to fail."""

    name: str = "echo"
    chat_model: bool = False
    window: int = 4096
    outputs: int = 256
    #: None, "call" (raise when called), "first" (stream raises before its first chunk), "middle" (after it).
    fail: Optional[str] = None
    calls: List[Dict[str, Any]] = Field(default_factory=list)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.name, is_chat_model=self.chat_model, context_window=self.window, num_output=self.outputs)

    def _record(self, prompt: str, kwargs: Dict[str, Any]) -> None:
        self.calls.append({"prompt": prompt, **kwargs})
        if self.fail == "call":
            raise RuntimeError(f"{self.name} is down")

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self._record(prompt, {"formatted": formatted, **kwargs})
        if self.fail == "first":
            raise RuntimeError(f"{self.name} is down")
        return CompletionResponse(text=f"[{self.name}] {prompt}")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Generator[CompletionResponse, None, None]:
        self._record(prompt, {"formatted": formatted, **kwargs})
        pieces = [f"[{self.name}]"] + [f" {w}" for w in prompt.split()]
        fail = self.fail

        def gen() -> Iterator[CompletionResponse]:
            text = ""
            for i, piece in enumerate(pieces):
                if fail == "first" and i == 0 or fail == "middle" and i == 1:
                    raise RuntimeError(f"{self.name} broke mid-stream")
                text += piece
                yield CompletionResponse(text=text, delta=piece)

        return gen()


class ScriptedToolLLM(FunctionCallingLLM):
    """A function-calling LLM that replays a script: ``{"tool": name, "args": {...}}`` or ``{"text": ...}``.

    ``style="kwargs"`` puts tool calls in ``message.additional_kwargs["<name>_calls"]``; ``style="blocks"``
    uses ToolCallBlocks. Each model parses only its own style, so a response parsed by the wrong model
    yields no tool calls.
    """

    name: str = "scripted"
    style: str = "kwargs"
    script: List[Dict[str, Any]] = Field(default_factory=list)
    seen: List[List[ChatMessage]] = Field(default_factory=list)
    seen_kwargs: List[Dict[str, Any]] = Field(default_factory=list)
    _step: Any = PrivateAttr(default=None)

    def model_post_init(self, __context: Any) -> None:
        self._step = itertools.count()

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.name, is_chat_model=True, is_function_calling_model=True, context_window=8192)

    @property
    def steps_taken(self) -> int:
        return len(self.seen)

    def _reply(self, messages: Sequence[ChatMessage], kwargs: Dict[str, Any]) -> ChatMessage:
        self.seen.append(list(messages))
        self.seen_kwargs.append(dict(kwargs))
        i = next(self._step)
        step = self.script[i] if i < len(self.script) else {"text": f"[{self.name}] done"}
        if "text" in step:
            return ChatMessage(role=MessageRole.ASSISTANT, content=step["text"])
        call_id = f"{self.name}-call-{i}"
        if self.style == "kwargs":
            calls = [{"id": call_id, "name": step["tool"], "args": step["args"]}]
            return ChatMessage(role=MessageRole.ASSISTANT, content="", additional_kwargs={f"{self.name}_calls": calls})
        block = ToolCallBlock(tool_call_id=call_id, tool_name=step["tool"], tool_kwargs=step["args"])
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=[block])

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        msg = self._reply(messages, kwargs)
        return ChatResponse(message=msg, delta=msg.content or "")

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self.chat(messages, **kwargs)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Generator[ChatResponse, None, None]:
        msg = self._reply(messages, kwargs)

        def gen() -> Iterator[ChatResponse]:
            yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=""), delta="")
            yield ChatResponse(message=msg, delta=msg.content or "")

        return gen()

    @llm_chat_callback()
    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> AsyncGenerator[ChatResponse, None]:
        msg = self._reply(messages, kwargs)

        async def gen() -> AsyncGenerator[ChatResponse, None]:
            yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=""), delta="")
            yield ChatResponse(message=msg, delta=msg.content or "")

        return gen()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=f"[{self.name}] {prompt}")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Generator[CompletionResponse, None, None]:
        def gen() -> Iterator[CompletionResponse]:
            yield CompletionResponse(text=f"[{self.name}] {prompt}", delta=f"[{self.name}] {prompt}")

        return gen()

    @llm_completion_callback()
    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return self.complete(prompt, formatted=formatted, **kwargs)

    @llm_completion_callback()
    async def astream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> AsyncGenerator[CompletionResponse, None]:
        async def gen() -> AsyncGenerator[CompletionResponse, None]:
            yield CompletionResponse(text=f"[{self.name}] {prompt}", delta=f"[{self.name}] {prompt}")

        return gen()

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[Any],
        user_msg: Any = None,
        chat_history: Optional[List[ChatMessage]] = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            messages.append(ChatMessage(role=MessageRole.USER, content=user_msg))
        elif user_msg is not None:
            messages.append(user_msg)
        return {"messages": messages, "tools": [t.metadata.name for t in tools], "tool_format": self.name, **kwargs}

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> List[ToolSelection]:
        if self.style == "kwargs":
            raw = response.message.additional_kwargs.get(f"{self.name}_calls", [])
            calls = [ToolSelection(tool_id=c["id"], tool_name=c["name"], tool_kwargs=c["args"]) for c in raw]
        else:
            calls = [
                ToolSelection(tool_id=b.tool_call_id or "", tool_name=b.tool_name, tool_kwargs=dict(b.tool_kwargs))
                for b in response.message.blocks
                if isinstance(b, ToolCallBlock)
            ]
        if not calls and error_on_no_tool_call:
            raise ValueError(f"{self.name}: no tool call in response")
        return calls


class KeywordRouter(Router):
    """Scores 1.0 when the prompt holds a hard word (prove, derive, theorem), else 0.0; keeps every prompt it saw.

    ``explode_on`` makes scoring raise for prompts containing that word; ``alternate`` ignores the
    text and alternates 1, 0, 1, ... (to show what sticky sessions prevent).
    """

    name = "keyword"

    def __init__(self, *, threshold: float = 0.5, explode_on: Optional[str] = None, alternate: bool = False) -> None:
        super().__init__(threshold=threshold)
        self.seen: List[str] = []
        self.explode_on = explode_on
        self.alternate = alternate
        self._flip = itertools.cycle([1.0, 0.0])

    def _score(self, prompts: List[str]) -> np.ndarray:
        self.seen.extend(prompts)
        if self.explode_on and any(self.explode_on in p for p in prompts):
            raise RuntimeError("scorer exploded")
        if self.alternate:
            return np.array([next(self._flip) for _ in prompts])
        return np.array([1.0 if any(w in p.lower() for w in HARD_WORDS) else 0.0 for p in prompts])


class EventCounter(BaseEventHandler):
    """Counts instrumentation events by class name; keeps the events."""

    counts: Counter = Field(default_factory=Counter)
    events: List[Any] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "EventCounter"

    def handle(self, event: Any, **kwargs: Any) -> None:
        self.counts[event.class_name()] += 1
        self.events.append(event)


@contextmanager
def counting_events() -> Iterator[EventCounter]:
    """An EventCounter attached to LlamaIndex's root dispatcher for the duration of the block."""
    counter = EventCounter()
    root = get_dispatcher()
    root.add_event_handler(counter)
    try:
        yield counter
    finally:
        root.event_handlers = [h for h in root.event_handlers if h is not counter]


def echo_pair(**kwargs: Any) -> tuple[EchoLLM, EchoLLM]:
    """Two EchoLLMs named strong and weak (kwargs apply to both)."""
    return EchoLLM(name="strong", **kwargs), EchoLLM(name="weak", **kwargs)


def make_route_llm(strong: Any = None, weak: Any = None, **kwargs: Any) -> RouteLLM:
    """RouteLLM over two EchoLLMs with the keyword router unless told otherwise."""
    if strong is None and weak is None:
        strong, weak = echo_pair()
    kwargs.setdefault("router", KeywordRouter())
    return RouteLLM(strong=strong, weak=weak, **kwargs)


def user(text: str) -> List[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, content=text)]


# ---- checks on the doubles themselves --------------------------------------------------
def test_keyword_router_scores_hard_words_high() -> None:
    router = KeywordRouter()
    assert list(router.score(["Prove it", "hello"])) == [1.0, 0.0]
    assert router.seen == ["Prove it", "hello"]


def test_scripted_llm_parses_only_its_own_tool_call_style() -> None:
    kw = ScriptedToolLLM(name="a", style="kwargs", script=[{"tool": "add", "args": {"x": 1}}])
    blocks = ScriptedToolLLM(name="b", style="blocks", script=[{"tool": "add", "args": {"x": 1}}])
    r_kw, r_blocks = kw.chat(user("go")), blocks.chat(user("go"))
    assert kw.get_tool_calls_from_response(r_kw)[0].tool_kwargs == {"x": 1}
    assert blocks.get_tool_calls_from_response(r_blocks)[0].tool_name == "add"
    assert blocks.get_tool_calls_from_response(r_kw, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError):
        kw.get_tool_calls_from_response(r_blocks)


def test_echo_llm_streams_name_then_words_and_fails_on_request() -> None:
    llm = EchoLLM(name="x")
    assert [c.delta for c in llm.stream_complete("a b")] == ["[x]", " a", " b"]
    broken = EchoLLM(name="y", fail="middle")
    gen = broken.stream_complete("a b")
    assert next(gen).delta == "[y]"
    with pytest.raises(RuntimeError):
        next(gen)
