"""An offline chat model for tests, examples and benchmarks (no network, no keys).

LangChain's own fake chat models cannot bind tools; :class:`ScriptedChatModel` can, in one
of two formats, so a router over two of them shows each child formatting tools its own way.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr

Reply = str | AIMessage | Callable[[list[BaseMessage]], "str | AIMessage"]


class ScriptedChatModel(BaseChatModel):
    """Replies from ``replies`` in turn (cycling): a str, an AIMessage (tool calls included), or
    ``callable(messages)`` returning one. Streams word by word; records every call in ``calls``.

    ``bind_tools`` formats tools as OpenAI function tools (``tool_format="openai"``) or as
    ``{"name", "description", "input_schema"}`` (``"named"``), and binds them as ``tools=``.
    """

    model: str = "scripted-model"
    replies: list[Any] = Field(default_factory=lambda: ["ok"])
    tool_format: Literal["openai", "named"] = "openai"
    calls: list[dict[str, Any]] = Field(default_factory=list, exclude=True)
    _index: int = PrivateAttr(default=0)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _next_reply(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> AIMessage:
        with self._lock:
            self.calls.append({"messages": list(messages), "stop": stop, "kwargs": dict(kwargs)})
            reply = self.replies[self._index % len(self.replies)]
            self._index += 1
        if callable(reply) and not isinstance(reply, AIMessage):
            reply = reply(list(messages))
        return AIMessage(content=reply) if isinstance(reply, str) else reply.model_copy()

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next_reply(messages, stop, kwargs))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._next_reply(messages, stop, kwargs)
        text = reply.content if isinstance(reply.content, str) else ""
        for token in (t for t in re.split(r"(\s+)", text) if t):
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        for i, call in enumerate(reply.tool_calls):
            chunk = tool_call_chunk(name=call["name"], args=json.dumps(call["args"]), id=call.get("id"), index=i)
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[chunk]))

    def format_tool(self, tool: Any) -> dict[str, Any]:
        """One tool in this model's own format."""
        spec = convert_to_openai_tool(tool)
        if self.tool_format == "openai":
            return spec
        fn = spec["function"]
        return {"name": fn["name"], "description": fn.get("description", ""), "input_schema": fn.get("parameters", {})}

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind ``tools`` (in this model's format) and ``tool_choice`` as call kwargs."""
        extra = {"tool_choice": tool_choice} if tool_choice is not None else {}
        return self.bind(tools=[self.format_tool(t) for t in tools], **extra, **kwargs)
