"""``RouteLLM``: a LlamaIndex FunctionCallingLLM that sends each call to one of its child LLMs."""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import (
    Any,
    AsyncGenerator,
    Awaitable,
    Callable,
    Dict,
    Generator,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks import CallbackManager
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.llms import LLM
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.prompts import BasePromptTemplate
from llama_index.core.types import TokenAsyncGen, TokenGen

from routellm_plugins import Decision, RoutingController
from routellm_plugins.controller import read_config
from routellm_plugins.errors import ConfigError
from llamaindex_adapter import routing_text as rt
from llamaindex_adapter.config import build_llm
from llamaindex_adapter.construction import build_controller, check_query_vars, collect_children
from llamaindex_adapter.delegate import DECISION_KEY, arelay, decision_dict, relay, tagger
from llamaindex_adapter.events import RoutingDecisionEvent, has_listeners
from llamaindex_adapter.metadata import combined_metadata
from llamaindex_adapter.tools import HANDED_OVER, ToolRouting

log = logging.getLogger("llamaindex_adapter")
dispatcher = get_dispatcher(__name__)

R = TypeVar("R")
#: Adapter-level keys of RouteLLM.from_config; every other key configures the RoutingController.
_ADAPTER_KEYS = ("failover", "query_template_vars")


@dataclasses.dataclass(frozen=True)
class _Routed:
    """One call's routing: the decision, where it was made, what text it used, and the response tag."""

    decision: Decision
    entry: str
    source: str
    tag: Dict[str, Any]


class RouteLLM(ToolRouting, FunctionCallingLLM):
    """Routes every LlamaIndex LLM call to one child LLM chosen by a ``routellm_plugins.RoutingController``.

    Give the children as ``strong=``/``weak=`` or ``models={key: llm}`` (keys = ``controller.keys``) and the
    routing as ``router=`` (name, model string ``router-mf-0.116``, config dict or Router) with
    ``threshold=`` or ``strong_share=``, ``fallback=``, ``timeout_s=``; or a whole ``controller=``
    (RoutingController, config dict or YAML path). The call (messages, tools, kwargs, streaming, async)
    goes to the chosen child unchanged; responses carry the decision in ``additional_kwargs["routellm"]``
    and every decision is dispatched as a :class:`RoutingDecisionEvent`. RouteLLM emits no LLM events of
    its own: the child's LLMChatStart/End (and callback-manager) events are the only ones.

    Routed text: ``routing_text_fn(messages)`` if given; for template calls (``predict``, ``stream``,
    ``structured_predict`` and their async forms, as query engines make them) the ``query_str`` template
    variable; otherwise the last user message, cut to its ``Query:`` line when it is a LlamaIndex QA or
    refine prompt. Text the router cannot score is answered by the fallback model, flagged.
    ``failover=True`` retries a failed call (before any streamed chunk) once on another model, flagged.
    ``sticky_sessions=True`` (default) keeps every step of one conversation turn, e.g. an agent's tool
    loop, on one model. Prompt settings (``system_prompt``, ``output_parser``...) belong on the children.
    """

    failover: bool = Field(default=False, description="Retry a failed call once on another model (flagged).")
    query_template_vars: Tuple[str, ...] = Field(
        default=("query_str",), description="Template variables holding the user's query in template calls."
    )
    routing_text_fn: Optional[Callable[[Sequence[ChatMessage]], Optional[str]]] = Field(
        default=None, exclude=True, description="Custom routed-text extractor: messages -> text."
    )

    _controller: RoutingController = PrivateAttr()
    _children: Dict[str, LLM] = PrivateAttr()

    def __init__(
        self,
        *,
        strong: Optional[LLM] = None,
        weak: Optional[LLM] = None,
        models: Optional[Mapping[str, LLM]] = None,
        router: Any = None,
        controller: Any = None,
        threshold: Optional[float] = None,
        strong_share: Optional[float] = None,
        fallback: Optional[str] = None,
        timeout_s: Optional[float] = None,
        sticky_sessions: bool = True,
        failover: bool = False,
        routing_text_fn: Optional[Callable[[Sequence[ChatMessage]], Optional[str]]] = None,
        query_template_vars: Sequence[str] = ("query_str",),
        callback_manager: Optional[CallbackManager] = None,
        **kwargs: Any,
    ) -> None:
        unsupported = sorted(k for k, v in kwargs.items() if v is not None and k != "class_name")
        if unsupported:
            raise ConfigError(
                f"RouteLLM does not take {unsupported}: prompt settings (system_prompt, output_parser, ...) "
                "belong on the child LLMs"
            )
        if not isinstance(failover, bool):
            raise ConfigError(f"failover must be True or False, got {failover!r}")
        if routing_text_fn is not None and not callable(routing_text_fn):
            raise ConfigError(f"routing_text_fn must be callable, got {routing_text_fn!r:.60}")
        routing = {"threshold": threshold, "strong_share": strong_share, "fallback": fallback, "timeout_s": timeout_s}
        ctrl = build_controller(router, controller, routing, sticky_sessions)
        children = collect_children(strong, weak, models, ctrl)
        super().__init__(
            failover=failover,
            query_template_vars=check_query_vars(query_template_vars),
            routing_text_fn=routing_text_fn,
            callback_manager=callback_manager or CallbackManager([]),
        )
        self._controller = ctrl
        self._children = children
        self._share_callback_manager(previous=None)

    @classmethod
    def from_config(cls, config: Union[Mapping[str, Any], str, "os.PathLike[str]"], **overrides: Any) -> "RouteLLM":
        """Build from a dict or YAML/JSON file.

        Children: ``strong``/``weak`` or ``models: {key: spec}`` where a spec is
        ``{"class": "llama_index.core.llms.MockLLM", "kwargs": {...}}`` (or an LLM instance);
        adapter keys ``failover``, ``query_template_vars``; every other key is RoutingController config
        (``router``, ``threshold``/``strong_share``, ``fallback``, ``timeout_s``, ``sticky_sessions``...).
        ``overrides`` are passed to ``__init__`` (e.g. ``routing_text_fn=``, ``callback_manager=``).
        """
        cfg = read_config(config)
        models = cfg.pop("models", None)
        singles = {k: cfg.pop(k) for k in ("strong", "weak") if k in cfg}
        adapter = {k: cfg.pop(k) for k in _ADAPTER_KEYS if k in cfg}
        sticky = cfg.pop("sticky_sessions", True)
        if models is not None and not isinstance(models, Mapping):
            raise ConfigError(f"'models' must map model keys to LLM specs, got {type(models).__name__}")
        built_models = None if models is None else {k: build_llm(v, k) for k, v in models.items()}
        built = {k: build_llm(v, k) for k, v in singles.items()}
        return cls(models=built_models, controller=cfg, sticky_sessions=sticky, **built, **adapter, **overrides)

    # ---- introspection ---------------------------------------------------------------
    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "RouteLLM"

    @property
    def controller(self) -> RoutingController:
        """The RoutingController that makes every decision."""
        return self._controller

    @property
    def models(self) -> Dict[str, LLM]:
        """{model key: child LLM} (a copy)."""
        return dict(self._children)

    @property
    def metadata(self) -> LLMMetadata:
        """What every child supports: smallest window, function calling only if all children have it."""
        return combined_metadata(self._children, self._controller.router.name)

    def to_payload(self) -> Dict[str, Any]:
        """Instrumentation payload: metadata plus the router name and model keys (no credentials)."""
        return {**super().to_payload(), "router": self._controller.router.name, "models": list(self._children)}

    @staticmethod
    def decision_of(response: Any) -> Optional[Dict[str, Any]]:
        """The routing decision dict a RouteLLM response carries, or None."""
        extra = getattr(response, "additional_kwargs", None)
        if isinstance(extra, dict) and isinstance(extra.get(DECISION_KEY), dict):
            return extra[DECISION_KEY]
        meta = getattr(response, "metadata", None)
        if isinstance(meta, dict) and isinstance(meta.get(DECISION_KEY), dict):
            return meta[DECISION_KEY]
        return None

    # ---- callback manager: children share RouteLLM's ---------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        previous = self.__dict__.get("callback_manager") if name == "callback_manager" else None
        super().__setattr__(name, value)
        if name == "callback_manager":
            self._share_callback_manager(previous)

    def _share_callback_manager(self, previous: Optional[CallbackManager]) -> None:
        """Give children without handlers of their own (or with the one RouteLLM had) RouteLLM's manager."""
        private = getattr(self, "__pydantic_private__", None) or {}
        children = private.get("_children")
        manager = self.__dict__.get("callback_manager")
        if not children or manager is None:
            return
        for child in children.values():
            own = getattr(child, "callback_manager", None)
            if own is None or own is previous or not own.handlers:
                child.callback_manager = manager

    # ---- deciding --------------------------------------------------------------------
    def _user_text(self, messages: Sequence[ChatMessage]) -> Tuple[Optional[str], str]:
        assert self.routing_text_fn is not None
        try:
            return self.routing_text_fn(messages), "routing_text_fn"
        except Exception as exc:  # noqa: BLE001 - a broken extractor must not fail the call
            return None, f"routing_text_fn raised {type(exc).__name__}"

    def _chat_input(self, messages: Sequence[ChatMessage]) -> Tuple[Optional[str], str, Optional[str]]:
        session = rt.conversation_key(messages) if self._controller.sticky_sessions else None
        if self.routing_text_fn is not None:
            text, source = self._user_text(messages)
            return text, source, session
        text, source = rt.from_messages(messages)
        return text, source, session

    def _prompt_input(self, prompt: str) -> Tuple[Optional[str], str, Optional[str]]:
        if self.routing_text_fn is not None:
            return (*self._user_text([ChatMessage(role=MessageRole.USER, content=prompt)]), None)
        text, source = rt.text_for_routing(prompt if isinstance(prompt, str) else None)
        return text, ("prompt" if source == "message" else source), None

    def _template_input(self, prompt: BasePromptTemplate, args: Mapping[str, Any]) -> Tuple[Optional[str], str, Optional[str]]:
        if self.routing_text_fn is not None:
            try:
                messages = prompt.format_messages(llm=self, **args)
            except Exception as exc:  # noqa: BLE001 - the child will report a bad template itself
                return None, f"template formatting raised {type(exc).__name__}", None
            return (*self._user_text(messages), None)
        text, source = rt.from_template(prompt, args, self.query_template_vars)
        if text is None:
            try:
                formatted: Optional[str] = prompt.format(llm=self, **args)
            except Exception:  # noqa: BLE001 - the child will report a bad template itself
                formatted = None
            text, source = rt.text_for_routing(formatted)
            source = "template_text" if source == "message" else source
        return text, source, None

    def _checked(self, decision: Decision) -> Decision:
        if decision.model in self._children:
            return decision
        return dataclasses.replace(
            decision,
            model=self._controller.fallback,
            fallback=True,
            reason=f"router chose model {decision.model!r}, which is not among {list(self._children)}",
        )

    def _routed(self, decision: Decision, entry: str, source: str, failover_from: Optional[str] = None) -> _Routed:
        """Dispatch the decision event (if anyone listens) and bundle the decision with its response tag."""
        as_dict = decision_dict(decision)
        if has_listeners(dispatcher):
            dispatcher.event(
                RoutingDecisionEvent(
                    decision=as_dict,
                    model=decision.model,
                    entry_point=entry,
                    routing_text_source=source,
                    failover_from=failover_from,
                )
            )
        return _Routed(decision, entry, source, {**as_dict, "routing_text_source": source})

    def _decide(self, entry: str, routed: Tuple[Optional[str], str, Optional[str]]) -> _Routed:
        text, source, session = routed
        return self._routed(self._checked(self._controller.decide(text, session)), entry, source)

    async def _adecide(self, entry: str, routed: Tuple[Optional[str], str, Optional[str]]) -> _Routed:
        text, source, session = routed
        return self._routed(self._checked(await self._controller.adecide(text, session)), entry, source)

    @staticmethod
    def _handed_over(kwargs: Dict[str, Any]) -> Optional[_Routed]:
        """The decision handed over by _prepare_chat_with_tools, if this call follows one."""
        handed = kwargs.pop(HANDED_OVER, None)
        return handed if isinstance(handed, _Routed) else None

    # ---- delegating ------------------------------------------------------------------
    def _failover(self, routed: _Routed, exc: Exception) -> _Routed:
        failed = routed.decision.model
        others = [k for k in self._children if k != failed]
        alternate = self._controller.fallback if self._controller.fallback != failed else others[0]
        log.warning("model %r failed (%s); failing over to %r", failed, type(exc).__name__, alternate)
        switched = dataclasses.replace(
            routed.decision,
            model=alternate,
            fallback=True,
            reason=f"model {failed!r} failed: {type(exc).__name__}: {exc}"[:300],
        )
        return self._routed(switched, routed.entry, routed.source, failover_from=failed)

    def _call(self, routed: _Routed, fn: Callable[[LLM], R], tag: bool = True, failover: bool = True) -> R:
        try:
            out = fn(self._children[routed.decision.model])
        except Exception as exc:
            if not (self.failover and failover):
                raise
            routed = self._failover(routed, exc)
            out = fn(self._children[routed.decision.model])
        return tagger(routed.tag if tag else None)(out)

    async def _acall(self, routed: _Routed, fn: Callable[[LLM], Awaitable[R]], tag: bool = True, failover: bool = True) -> R:
        try:
            out = await fn(self._children[routed.decision.model])
        except Exception as exc:
            if not (self.failover and failover):
                raise
            routed = self._failover(routed, exc)
            out = await fn(self._children[routed.decision.model])
        return tagger(routed.tag if tag else None)(out)

    def _stream(self, routed: _Routed, open_fn: Callable[[LLM], Any], tag: bool = True) -> Generator[Any, None, None]:
        def reopen(exc: Exception) -> Tuple[Any, Callable[[Any], Any]]:
            switched = self._failover(routed, exc)
            return open_fn(self._children[switched.decision.model]), tagger(switched.tag if tag else None)

        try:
            inner = open_fn(self._children[routed.decision.model])
        except Exception as exc:
            if not self.failover:
                raise
            inner, tag_fn = reopen(exc)
            return relay(inner, tag_fn)
        return relay(inner, tagger(routed.tag if tag else None), reopen if self.failover else None)

    async def _astream(self, routed: _Routed, open_fn: Callable[[LLM], Awaitable[Any]], tag: bool = True) -> AsyncGenerator[Any, None]:
        async def reopen(exc: Exception) -> Tuple[Any, Callable[[Any], Any]]:
            switched = self._failover(routed, exc)
            return await open_fn(self._children[switched.decision.model]), tagger(switched.tag if tag else None)

        try:
            inner = await open_fn(self._children[routed.decision.model])
        except Exception as exc:
            if not self.failover:
                raise
            inner, tag_fn = await reopen(exc)
            return arelay(inner, tag_fn)
        return arelay(inner, tagger(routed.tag if tag else None), reopen if self.failover else None)

    # ---- chat and completion -----------------------------------------------------------
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Chat with the chosen child."""
        messages = list(messages)
        decided = self._handed_over(kwargs) or self._decide("chat", self._chat_input(messages))
        return self._call(decided, lambda llm: llm.chat(messages, **kwargs))

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream a chat from the chosen child; every chunk carries the decision."""
        messages = list(messages)
        decided = self._handed_over(kwargs) or self._decide("stream_chat", self._chat_input(messages))
        return self._stream(decided, lambda llm: llm.stream_chat(messages, **kwargs))

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Complete with the chosen child."""
        decided = self._decide("complete", self._prompt_input(prompt))
        return self._call(decided, lambda llm: llm.complete(prompt, formatted=formatted, **kwargs))

    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        """Stream a completion from the chosen child."""
        decided = self._decide("stream_complete", self._prompt_input(prompt))
        return self._stream(decided, lambda llm: llm.stream_complete(prompt, formatted=formatted, **kwargs))

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async chat with the chosen child."""
        messages = list(messages)
        decided = self._handed_over(kwargs) or await self._adecide("achat", self._chat_input(messages))
        return await self._acall(decided, lambda llm: llm.achat(messages, **kwargs))

    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        """Async stream a chat from the chosen child."""
        messages = list(messages)
        decided = self._handed_over(kwargs) or await self._adecide("astream_chat", self._chat_input(messages))
        return await self._astream(decided, lambda llm: llm.astream_chat(messages, **kwargs))

    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Async complete with the chosen child."""
        decided = await self._adecide("acomplete", self._prompt_input(prompt))
        return await self._acall(decided, lambda llm: llm.acomplete(prompt, formatted=formatted, **kwargs))

    async def astream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseAsyncGen:
        """Async stream a completion from the chosen child."""
        decided = await self._adecide("astream_complete", self._prompt_input(prompt))
        return await self._astream(decided, lambda llm: llm.astream_complete(prompt, formatted=formatted, **kwargs)
        )

    # ---- template calls (query engines): routed on the query variable ------------------------
    def predict(self, prompt: BasePromptTemplate, **prompt_args: Any) -> str:
        """The chosen child's ``predict``, routed on the template's query variable."""
        decided = self._decide("predict", self._template_input(prompt, prompt_args))
        return self._call(decided, lambda llm: llm.predict(prompt, **prompt_args), tag=False)

    def stream(self, prompt: BasePromptTemplate, **prompt_args: Any) -> TokenGen:
        """The chosen child's ``stream`` (tokens), routed on the template's query variable."""
        decided = self._decide("stream", self._template_input(prompt, prompt_args))
        return self._stream(decided, lambda llm: llm.stream(prompt, **prompt_args), tag=False)

    async def apredict(self, prompt: BasePromptTemplate, **prompt_args: Any) -> str:
        """Async :meth:`predict`."""
        decided = await self._adecide("apredict", self._template_input(prompt, prompt_args))
        return await self._acall(decided, lambda llm: llm.apredict(prompt, **prompt_args), tag=False)

    async def astream(self, prompt: BasePromptTemplate, **prompt_args: Any) -> TokenAsyncGen:
        """Async :meth:`stream`."""
        decided = await self._adecide("astream", self._template_input(prompt, prompt_args))
        return await self._astream(decided, lambda llm: llm.astream(prompt, **prompt_args), tag=False)

    def structured_predict(
        self, output_cls: Type[Any], prompt: BasePromptTemplate, llm_kwargs: Optional[Dict[str, Any]] = None, **prompt_args: Any
    ) -> Any:
        """The chosen child's ``structured_predict``, routed on the template's query variable."""
        decided = self._decide("structured_predict", self._template_input(prompt, prompt_args))
        return self._call(
            decided,
            lambda llm: llm.structured_predict(output_cls, prompt, llm_kwargs=llm_kwargs, **prompt_args),
            tag=False,
        )

    async def astructured_predict(
        self, output_cls: Type[Any], prompt: BasePromptTemplate, llm_kwargs: Optional[Dict[str, Any]] = None, **prompt_args: Any
    ) -> Any:
        """Async :meth:`structured_predict`."""
        decided = await self._adecide("astructured_predict", self._template_input(prompt, prompt_args))
        return await self._acall(
            decided,
            lambda llm: llm.astructured_predict(output_cls, prompt, llm_kwargs=llm_kwargs, **prompt_args),
            tag=False,
        )

    def stream_structured_predict(
        self, output_cls: Type[Any], prompt: BasePromptTemplate, llm_kwargs: Optional[Dict[str, Any]] = None, **prompt_args: Any
    ) -> Generator[Any, None, None]:
        """The chosen child's ``stream_structured_predict``."""
        decided = self._decide("stream_structured_predict", self._template_input(prompt, prompt_args))
        return self._stream(
            decided,
            lambda llm: llm.stream_structured_predict(output_cls, prompt, llm_kwargs=llm_kwargs, **prompt_args),
            tag=False,
        )

    async def astream_structured_predict(
        self, output_cls: Type[Any], prompt: BasePromptTemplate, llm_kwargs: Optional[Dict[str, Any]] = None, **prompt_args: Any
    ) -> AsyncGenerator[Any, None]:
        """Async :meth:`stream_structured_predict`."""
        decided = await self._adecide("astream_structured_predict", self._template_input(prompt, prompt_args))
        return await self._astream(
            decided,
            lambda llm: llm.astream_structured_predict(output_cls, prompt, llm_kwargs=llm_kwargs, **prompt_args),
            tag=False,
        )

    def __repr__(self) -> str:
        return f"RouteLLM(router={self._controller.router.name!r}, models={list(self._children)}, failover={self.failover})"
