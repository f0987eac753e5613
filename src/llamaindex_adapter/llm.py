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
from routellm_plugins.errors import ConfigError, describe_error, show_value
from routellm_plugins.settings import ADAPTER_SETTINGS, BY_NAME, CONTROLLER_SETTINGS, split_settings
from llamaindex_adapter import responses
from llamaindex_adapter import routing_text as rt
from llamaindex_adapter.config import build_llm
from llamaindex_adapter.construction import build_controller, check_query_vars, collect_children
from llamaindex_adapter.delegate import arelay, relay
from llamaindex_adapter.events import RoutingDecisionEvent, has_listeners
from llamaindex_adapter.metadata import combined_metadata
from llamaindex_adapter.sessions import TurnMemory, current_session, session
from llamaindex_adapter.tags import decision_dict, decision_of, tagger
from llamaindex_adapter.tools import HANDED_OVER, ToolRouting

log = logging.getLogger("llamaindex_adapter")
dispatcher = get_dispatcher(__name__)

R = TypeVar("R")
#: Keys of RouteLLM.from_config besides the shared settings: the children and the template variables.
_OWN_CONFIG_KEYS = ("models", "strong", "weak", "query_template_vars")
#: Template variables that hold the user's question: a query engine's query, a chat engine's follow-up.
DEFAULT_QUERY_VARS = ("query_str", "question")


@dataclasses.dataclass(frozen=True)
class _Input:
    """What one call is routed on: the text, where it came from, the session, and the agent turn it belongs to."""

    text: Optional[str]
    source: str
    session: Optional[str] = None
    turn: Optional[str] = None
    continuation: bool = False


@dataclasses.dataclass(frozen=True)
class _Routed:
    """One call's routing: the decision, where it was made, what text it used, the turn, and the response tag."""

    decision: Decision
    entry: str
    source: str
    tag: Dict[str, Any]
    turn: Optional[str] = None


class RouteLLM(ToolRouting, FunctionCallingLLM):
    """Routes every LlamaIndex LLM call to one child LLM chosen by a ``routellm_plugins.RoutingController``.

    Children: ``strong=``/``weak=`` or ``models={key: llm}`` (keys = ``controller.keys``). Routing: the
    shared settings of :mod:`routellm_plugins.settings` (``router``, ``threshold`` or ``strong_share``,
    ``adaptive``, ``window``, ``fallback``, ``timeout_s``, ``sticky_sessions``, ``max_sessions``,
    ``checkpoint``, ``embedder``, pool settings...), handed to the controller unchanged, with the
    same defaults; or a whole ``controller=`` (RoutingController, config dict or YAML path). The call
    (messages, tools, kwargs, streaming, async) goes to the chosen child unchanged; the decision is on
    the result (:meth:`decision_of`) and dispatched as a :class:`RoutingDecisionEvent`. RouteLLM emits
    no LLM events of its own: the child's are the only ones.

    Routed text (``route_on``): the last user message (``"last_user"``), the whole ``"conversation"``,
    or ``route_on(messages)``; template calls (query engines, chat engines' condense steps) route on
    the ``query_template_vars`` (``query_str``, ``question``), never on retrieved context or history.
    Text the router cannot score is answered by the fallback model, flagged. ``failover=True`` retries a
    failed call (before any streamed chunk) once on another model, flagged.

    One agent turn is one decision: later steps of a tool loop (messages after the last user
    question) reuse the turn's first decision, marked ``sticky: true``. ``sticky_sessions`` policies
    act across turns of a conversation named with :meth:`session`.
    Prompt settings (``system_prompt``, ``output_parser``...) belong on the children.
    """

    failover: bool = Field(default=BY_NAME["failover"].default, description=BY_NAME["failover"].meaning)
    route_on: Any = Field(default=BY_NAME["route_on"].default, exclude=True, description=BY_NAME["route_on"].meaning)
    query_template_vars: Tuple[str, ...] = Field(
        default=DEFAULT_QUERY_VARS, description="Template variables holding the user's question in template calls."
    )

    _controller: RoutingController = PrivateAttr()
    _children: Dict[str, LLM] = PrivateAttr()
    _turns: TurnMemory = PrivateAttr(default_factory=TurnMemory)
    _warned_no_session: bool = PrivateAttr(default=False)

    #: ``with RouteLLM.session("conversation-id"): ...``: the calls inside belong to that conversation.
    session = staticmethod(session)
    #: The routing decision (a dict) a RouteLLM result carries, or None (see :func:`llamaindex_adapter.tags.decision_of`).
    decision_of = staticmethod(decision_of)

    def __init__(
        self,
        *,
        strong: Optional[LLM] = None,
        weak: Optional[LLM] = None,
        models: Optional[Mapping[str, LLM]] = None,
        controller: Any = None,
        router: Any = None,
        threshold: Optional[float] = None,
        strong_share: Optional[float] = None,
        adaptive: Optional[bool] = None,
        window: Optional[int] = None,
        fallback: Optional[str] = None,
        timeout_s: Optional[float] = None,
        sticky_sessions: Optional[Union[str, bool]] = None,
        max_sessions: Optional[int] = None,
        checkpoint: Any = None,
        embedder: Any = None,
        failover: bool = BY_NAME["failover"].default,
        route_on: Any = BY_NAME["route_on"].default,
        query_template_vars: Sequence[str] = DEFAULT_QUERY_VARS,
        callback_manager: Optional[CallbackManager] = None,
        **kwargs: Any,
    ) -> None:
        more = {k: kwargs.pop(k) for k in list(kwargs) if k in CONTROLLER_SETTINGS}
        unsupported = sorted(k for k, v in kwargs.items() if v is not None and k != "class_name")
        if unsupported:
            raise ConfigError(
                f"RouteLLM does not take {[show_value(k, limit=40) for k in unsupported[:10]]}: the routing settings are "
                f"{sorted(CONTROLLER_SETTINGS + ADAPTER_SETTINGS)}; prompt settings (system_prompt, output_parser, ...) "
                "belong on the child LLMs"
            )
        if not isinstance(failover, bool):
            raise ConfigError(f"failover must be True or False, got {show_value(failover)}")
        routing = dict(
            router=router, threshold=threshold, strong_share=strong_share, adaptive=adaptive, window=window, fallback=fallback,
            timeout_s=timeout_s, sticky_sessions=sticky_sessions, max_sessions=max_sessions, checkpoint=checkpoint,
            embedder=embedder, **more,
        )
        ctrl = build_controller(controller, routing)
        children = collect_children(strong, weak, models, ctrl)
        super().__init__(
            failover=failover,
            route_on=rt.check_route_on(route_on),
            query_template_vars=check_query_vars(query_template_vars),
            callback_manager=callback_manager or CallbackManager([]),
        )
        self._controller = ctrl
        self._children = children
        self._share_callback_manager(previous=None)
        responses.install()

    @classmethod
    def from_config(cls, config: Union[Mapping[str, Any], str, "os.PathLike[str]"], **overrides: Any) -> "RouteLLM":
        """Build from a dict or YAML/JSON file.

        Keys: the shared settings (:mod:`routellm_plugins.settings`: ``router``, ``threshold``/``strong_share``,
        ``adaptive``, ``window``, ``fallback``, ``timeout_s``, ``sticky_sessions``, ``max_sessions``,
        ``checkpoint``, ``embedder``, ``failover``, ``route_on``...), ``query_template_vars``, and the children:
        ``strong``/``weak`` or ``models: {key: spec}`` where a spec is
        ``{"class": "llama_index.core.llms.MockLLM", "kwargs": {...}}`` (or an LLM instance).
        ``overrides`` are passed to ``__init__`` and win over the file (e.g. ``route_on=callable``, ``callback_manager=``).
        """
        cfg = read_config(config)
        controller_cfg, adapter_cfg, rest = split_settings(cfg)
        unknown = sorted(str(k) for k in rest if k not in _OWN_CONFIG_KEYS)
        if unknown:
            raise ConfigError(
                f"unknown RouteLLM config keys {[show_value(k, limit=40) for k in unknown[:10]]}; known: "
                f"{sorted(CONTROLLER_SETTINGS + ADAPTER_SETTINGS + _OWN_CONFIG_KEYS)}"
            )
        models = rest.get("models")
        if models is not None and not isinstance(models, Mapping):
            raise ConfigError(f"'models' must map model keys to LLM specs, got {type(models).__name__}")
        built_models = None if models is None else {k: build_llm(v, k) for k, v in models.items()}
        built = {k: build_llm(rest[k], k) for k in ("strong", "weak") if k in rest}
        own = {"query_template_vars": rest["query_template_vars"]} if "query_template_vars" in rest else {}
        return cls(**{"models": built_models, **built, **controller_cfg, **adapter_cfg, **own, **overrides})

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

    # ---- what a call is routed on ------------------------------------------------------
    def _custom_text(self, messages: Sequence[ChatMessage]) -> Tuple[Optional[str], str]:
        try:
            text = self.route_on(messages)
        except Exception as exc:  # noqa: BLE001 - a broken extractor must not fail the call
            return None, f"route_on raised {type(exc).__name__}"
        return (text if isinstance(text, str) else None), "route_on"

    def _session(self) -> Optional[str]:
        sid = current_session()
        if sid is None and self._controller.sticky_sessions and not self._warned_no_session:
            self._warned_no_session = True
            log.warning(
                "sticky_sessions=%r applies to calls made inside `with RouteLLM.session(conversation_id):`; "
                "calls outside one are routed on their own", self._controller.sticky_policy,
            )
        return sid

    def _chat_input(self, messages: Sequence[ChatMessage]) -> _Input:
        sid = self._session()
        if callable(self.route_on):
            text, source = self._custom_text(messages)
        else:
            text, source = rt.from_messages(messages, self.route_on)
        return _Input(text, source, sid, rt.turn_key(messages, sid), rt.is_continuation(messages))

    def _prompt_input(self, prompt: str) -> _Input:
        sid = self._session()
        if callable(self.route_on):
            return _Input(*self._custom_text([ChatMessage(role=MessageRole.USER, content=prompt)]), sid)
        text, source = rt.text_for_routing(prompt if isinstance(prompt, str) else None)
        return _Input(text, "prompt" if source == "message" else source, sid)

    def _template_input(self, prompt: BasePromptTemplate, args: Mapping[str, Any]) -> _Input:
        sid = self._session()
        if callable(self.route_on):
            try:
                messages = prompt.format_messages(llm=self, **args)
            except Exception as exc:  # noqa: BLE001 - the child will report a bad template itself
                return _Input(None, f"template formatting raised {type(exc).__name__}", sid)
            return _Input(*self._custom_text(messages), sid)
        text, source = rt.from_template(prompt, args, self.query_template_vars)
        if text is None:
            try:
                formatted: Optional[str] = prompt.format(llm=self, **args)
            except Exception:  # noqa: BLE001 - the child will report a bad template itself
                formatted = None
            text, source = rt.text_for_routing(formatted)
            source = "template_text" if source == "message" else source
        return _Input(text, source, sid)

    # ---- deciding --------------------------------------------------------------------
    def _checked(self, decision: Decision) -> Decision:
        if decision.model in self._children:
            return decision
        return dataclasses.replace(
            decision,
            model=self._controller.fallback,
            fallback=True,
            reason=f"router chose model {show_value(decision.model)}, which is not among {list(self._children)}",
        )

    def _routed(
        self, decision: Decision, entry: str, source: str, turn: Optional[str] = None, failover_from: Optional[str] = None
    ) -> _Routed:
        """Dispatch the decision event (if anyone listens), record it for the query response, and bundle its tag."""
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
        tag = {**as_dict, "routing_text_source": source}
        responses.record(tag)
        return _Routed(decision, entry, source, tag, turn)

    def _reused_turn(self, entry: str, inp: _Input) -> Optional[_Routed]:
        """A later step of an agent turn: the turn's decision, marked sticky (no new score is taken)."""
        if inp.turn is None or not inp.continuation:
            return None
        prior = self._turns.get(inp.turn)
        if prior is None:
            return None
        return self._routed(dataclasses.replace(prior, sticky=True, latency_s=0.0), entry, "turn", inp.turn)

    def _remember(self, entry: str, inp: _Input, decision: Decision) -> _Routed:
        if inp.turn is not None:
            self._turns.put(inp.turn, decision)
        return self._routed(decision, entry, inp.source, inp.turn)

    def _decide(self, entry: str, inp: _Input) -> _Routed:
        reused = self._reused_turn(entry, inp)
        if reused is not None:
            return reused
        return self._remember(entry, inp, self._checked(self._controller.decide(inp.text, inp.session)))

    async def _adecide(self, entry: str, inp: _Input) -> _Routed:
        reused = self._reused_turn(entry, inp)
        if reused is not None:
            return reused
        return self._remember(entry, inp, self._checked(await self._controller.adecide(inp.text, inp.session)))

    @staticmethod
    def _handed_over(kwargs: Dict[str, Any]) -> Optional[_Routed]:
        """The decision handed over by _prepare_chat_with_tools, if this call follows one."""
        handed = kwargs.pop(HANDED_OVER, None)
        return handed if isinstance(handed, _Routed) else None

    # ---- delegating ------------------------------------------------------------------
    def _failover(self, routed: _Routed, exc: Exception) -> _Routed:
        """Switch to another model after ``exc``; the reason and the log name the error's type and status only."""
        failed = routed.decision.model
        others = [k for k in self._children if k != failed]
        alternate = self._controller.fallback if self._controller.fallback != failed else others[0]
        error = describe_error(exc)
        log.warning("model %r failed (%s); failing over to %r", failed, error, alternate)
        switched = dataclasses.replace(routed.decision, model=alternate, fallback=True, reason=f"model {failed!r} failed: {error}")
        if routed.turn is not None:
            self._turns.put(routed.turn, switched)  # the rest of the agent turn stays on the model that answered
        return self._routed(switched, routed.entry, routed.source, routed.turn, failover_from=failed)

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
