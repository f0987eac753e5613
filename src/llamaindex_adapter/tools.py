"""RouteLLM's function-calling entry points: the chosen child formats tools, calls, and parses its own tool calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Union

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, ChatResponseAsyncGen, ChatResponseGen
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.llms import LLM
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection

from llamaindex_adapter import routing_text as rt

if TYPE_CHECKING:
    from llama_index.core.chat_engine.types import AgentChatResponse
    from llama_index.core.tools.types import BaseTool

dispatcher = get_dispatcher(__name__)

#: kwargs key by which _prepare_chat_with_tools hands its decision to the chat call that follows.
HANDED_OVER = "_routellm_decision"


class ToolRouting:
    """Mixin for RouteLLM (uses its ``_children``, ``_decide``/``_adecide``, ``_call``/``_stream`` and friends)."""

    def _function_calling_child(self, llm: LLM) -> FunctionCallingLLM:
        if not isinstance(llm, FunctionCallingLLM):
            key = next((k for k, v in self._children.items() if v is llm), "?")  # type: ignore[attr-defined]
            raise NotImplementedError(
                f"model {key!r} ({llm.class_name()}) is not a FunctionCallingLLM; tool calls need every child to be one"
            )
        return llm

    def _require_function_calling(self) -> None:
        for llm in self._children.values():  # type: ignore[attr-defined]
            self._function_calling_child(llm)

    def _tool_call(self, entry: str, user_msg: Any, chat_history: Optional[List[ChatMessage]], **call: Any) -> Any:
        """Check the children, decide on the conversation, and return (routed, kwargs for the child)."""
        self._require_function_calling()
        routed = self._decide(entry, self._chat_input(rt.as_messages(user_msg, chat_history)))  # type: ignore[attr-defined]
        return routed, dict(user_msg=user_msg, chat_history=chat_history, **call)

    async def _atool_call(self, entry: str, user_msg: Any, chat_history: Optional[List[ChatMessage]], **call: Any) -> Any:
        self._require_function_calling()
        routed = await self._adecide(entry, self._chat_input(rt.as_messages(user_msg, chat_history)))  # type: ignore[attr-defined]
        return routed, dict(user_msg=user_msg, chat_history=chat_history, **call)

    def chat_with_tools(
        self,
        tools: Sequence["BaseTool"],
        user_msg: Optional[Union[str, ChatMessage]] = None,
        chat_history: Optional[List[ChatMessage]] = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """The chosen child's ``chat_with_tools`` (its own tool formatting and validation)."""
        routed, call = self._tool_call(
            "chat_with_tools", user_msg, chat_history, verbose=verbose,
            allow_parallel_tool_calls=allow_parallel_tool_calls, tool_required=tool_required, **kwargs,
        )
        return self._call(routed, lambda llm: self._function_calling_child(llm).chat_with_tools(tools, **call))  # type: ignore[attr-defined]

    async def achat_with_tools(
        self,
        tools: Sequence["BaseTool"],
        user_msg: Optional[Union[str, ChatMessage]] = None,
        chat_history: Optional[List[ChatMessage]] = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """Async :meth:`chat_with_tools` (what ``FunctionAgent`` calls when not streaming)."""
        routed, call = await self._atool_call(
            "achat_with_tools", user_msg, chat_history, verbose=verbose,
            allow_parallel_tool_calls=allow_parallel_tool_calls, tool_required=tool_required, **kwargs,
        )
        return await self._acall(routed, lambda llm: self._function_calling_child(llm).achat_with_tools(tools, **call))  # type: ignore[attr-defined]

    def stream_chat_with_tools(
        self,
        tools: Sequence["BaseTool"],
        user_msg: Optional[Union[str, ChatMessage]] = None,
        chat_history: Optional[List[ChatMessage]] = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> ChatResponseGen:
        """The chosen child's ``stream_chat_with_tools``; every chunk carries the decision."""
        routed, call = self._tool_call(
            "stream_chat_with_tools", user_msg, chat_history, verbose=verbose,
            allow_parallel_tool_calls=allow_parallel_tool_calls, tool_required=tool_required, **kwargs,
        )
        return self._stream(routed, lambda llm: self._function_calling_child(llm).stream_chat_with_tools(tools, **call))  # type: ignore[attr-defined]

    async def astream_chat_with_tools(
        self,
        tools: Sequence["BaseTool"],
        user_msg: Optional[Union[str, ChatMessage]] = None,
        chat_history: Optional[List[ChatMessage]] = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> ChatResponseAsyncGen:
        """Async :meth:`stream_chat_with_tools` (what ``FunctionAgent`` calls when streaming)."""
        routed, call = await self._atool_call(
            "astream_chat_with_tools", user_msg, chat_history, verbose=verbose,
            allow_parallel_tool_calls=allow_parallel_tool_calls, tool_required=tool_required, **kwargs,
        )
        return await self._astream(  # type: ignore[attr-defined]
            routed, lambda llm: self._function_calling_child(llm).astream_chat_with_tools(tools, **call)
        )

    def _prepare_chat_with_tools(
        self,
        tools: Sequence["BaseTool"],
        user_msg: Optional[Union[str, ChatMessage]] = None,
        chat_history: Optional[List[ChatMessage]] = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        """Decide now and let the chosen child prepare its own tool kwargs; the chat call that follows reuses the decision."""
        routed, call = self._tool_call(
            "prepare_chat_with_tools", user_msg, chat_history, verbose=verbose,
            allow_parallel_tool_calls=allow_parallel_tool_calls, tool_required=tool_required, **kwargs,
        )
        child = self._function_calling_child(self._children[routed.decision.model])  # type: ignore[attr-defined]
        return {**child._prepare_chat_with_tools_compat(tools, **call), HANDED_OVER: routed}

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> List[ToolSelection]:
        """Tool calls parsed by the child that produced ``response`` (read from its routing tag).

        An untagged response is offered to each child in turn; the first that finds tool calls wins.
        """
        tag = self.decision_of(response)  # type: ignore[attr-defined]
        key = tag.get("model") if tag else None
        children = self._children  # type: ignore[attr-defined]
        if key in children:
            child = self._function_calling_child(children[key])
            return child.get_tool_calls_from_response(response, error_on_no_tool_call=error_on_no_tool_call, **kwargs)
        for llm in children.values():
            try:
                calls = self._function_calling_child(llm).get_tool_calls_from_response(
                    response, error_on_no_tool_call=False, **kwargs
                )
            except Exception:  # noqa: BLE001 - another child may understand this response
                continue
            if calls:
                return calls
        if error_on_no_tool_call:
            raise ValueError(f"no tool call found in the response by any of the models {list(children)}")
        return []

    @dispatcher.span
    def predict_and_call(
        self,
        tools: Sequence["BaseTool"],
        user_msg: Optional[Union[str, ChatMessage]] = None,
        chat_history: Optional[List[ChatMessage]] = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        error_on_no_tool_call: bool = True,
        error_on_tool_error: bool = False,
        **kwargs: Any,
    ) -> "AgentChatResponse":
        """The chosen child's ``predict_and_call``; its ``metadata`` carries the decision. No failover: tools may have run."""
        routed = self._decide("predict_and_call", self._chat_input(rt.as_messages(user_msg, chat_history)))  # type: ignore[attr-defined]
        call = dict(user_msg=user_msg, chat_history=chat_history, verbose=verbose, allow_parallel_tool_calls=allow_parallel_tool_calls,
                    error_on_no_tool_call=error_on_no_tool_call, error_on_tool_error=error_on_tool_error, **kwargs)
        return self._call(routed, lambda llm: llm.predict_and_call(tools, **call), failover=False)  # type: ignore[attr-defined]

    @dispatcher.span
    async def apredict_and_call(
        self,
        tools: Sequence["BaseTool"],
        user_msg: Optional[Union[str, ChatMessage]] = None,
        chat_history: Optional[List[ChatMessage]] = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        error_on_no_tool_call: bool = True,
        error_on_tool_error: bool = False,
        **kwargs: Any,
    ) -> "AgentChatResponse":
        """Async :meth:`predict_and_call`."""
        routed = await self._adecide("apredict_and_call", self._chat_input(rt.as_messages(user_msg, chat_history)))  # type: ignore[attr-defined]
        call = dict(user_msg=user_msg, chat_history=chat_history, verbose=verbose, allow_parallel_tool_calls=allow_parallel_tool_calls,
                    error_on_no_tool_call=error_on_no_tool_call, error_on_tool_error=error_on_tool_error, **kwargs)
        return await self._acall(routed, lambda llm: llm.apredict_and_call(tools, **call), failover=False)  # type: ignore[attr-defined]
