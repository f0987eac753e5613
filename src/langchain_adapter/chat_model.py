"""``ChatRouteLLM``: a LangChain chat model that routes every call to one of its child chat models."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, BaseMessage, BaseMessageChunk, message_chunk_to_message
from langchain_core.outputs import ChatGeneration, ChatResult, LLMResult
from langchain_core.prompt_values import StringPromptValue
from langchain_core.runnables import Runnable, RunnableConfig, ensure_config
from pydantic import Field

from langchain_adapter.config import (
    build_controller,
    check_flag,
    check_keys,
    check_max_retries,
    check_session_keys,
    controller_settings,
    normalize_settings,
    parse_config,
    resolve_children,
    shown,
)
from langchain_adapter.context import DEFAULT_SESSION_KEYS, add_callbacks, child_config
from langchain_adapter.dispatch import Dispatcher
from langchain_adapter.profile import merge_profiles
from langchain_adapter.runnable import RouterRunnable
from langchain_adapter.tracing import AsyncRouterRun, RouterRun, RunDescription, tokens_once, traced_params
from langchain_adapter.text import LAST_USER, check_route_on, routing_text, usable
from routellm_plugins import ConfigError, Decision, RoutingController
from routellm_plugins.settings import BY_NAME

#: Call kwarg that carries children with tools (or other settings) bound by :meth:`ChatRouteLLM.bind_tools`.
BOUND_KWARG = "routellm_bound"


class BoundChildren:
    """The children as bound by ``bind_tools`` (one binding per child, built once, reused per call)."""

    __slots__ = ("routes", "has_tools")

    def __init__(self, routes: Mapping[str, Runnable], has_tools: bool) -> None:
        self.routes = dict(routes)
        self.has_tools = has_tools

    def __repr__(self) -> str:
        return f"BoundChildren({list(self.routes)})"


def _default(name: str) -> Any:
    """The shared default of setting ``name`` (``routellm_plugins.settings``)."""
    return BY_NAME[name].default


def served_model_name(model: Any) -> str:
    """The name a chat model reports to tracing (``ls_model_name``), else its model attribute or class."""
    try:
        name = model._get_ls_params().get("ls_model_name")
    except Exception:  # noqa: BLE001 - a child's tracing hook must not break construction
        name = None
    if isinstance(name, str) and name:
        return name
    for attr in ("model_name", "model", "model_id", "deployment_name"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


class ChatRouteLLM(BaseChatModel):
    """A chat model that sends each call to ``strong`` or ``weak`` (or a named ``models`` pool)
    as decided by a RouteLLM router, and delegates the whole call to that child.

    Every ``invoke``/``ainvoke``/``batch``/``stream``/``astream``/``astream_events`` call
    takes the routing text (the last user message by default; ``route_on="conversation"``
    for the whole dialogue, or a callable), asks the :class:`~routellm_plugins.RoutingController`
    for a decision, and runs the chosen child with the same input, stop, kwargs and config.

    Settings are the shared vocabulary of :mod:`routellm_plugins.settings` (same names,
    meanings and defaults in every adapter); ``timeout`` and ``fallback_on_error`` are
    deprecated names of ``timeout_s`` and ``failover``.

    Tracing: each call is a chat-model run named ``ChatRouteLLM`` (or the config's
    ``run_name``) whose metadata and outputs carry the decision under ``"routellm"``; the
    child's run nests under it and streams the tokens and reports the token usage. The reply
    carries the decision in ``response_metadata["routellm"]``.

    Settings on this model that apply to every child: ``temperature``/``max_tokens``/``stop``
    are forwarded as call kwargs when set; ``streaming=True`` makes ``invoke`` stream from
    the child; ``callbacks``/``tags``/``metadata``/``rate_limiter`` apply to each call.
    Caching belongs on the children.

    Raises :class:`~routellm_plugins.ConfigError` (naming the setting, never showing a
    secret) for missing or non-chat-model children, unknown settings, and keys the router
    cannot reach; the core raises its own errors for an unknown router, a bad threshold or
    a missing checkpoint.
    """

    strong: BaseChatModel | None = None
    """Child that serves prompts the router scores as hard."""
    weak: BaseChatModel | None = None
    """Child that serves the rest."""
    models: dict[str, BaseChatModel] | None = None
    """Named children for a pool router (keys must cover the controller's ``keys``); instead of strong/weak."""
    # ---- routing settings: the shared vocabulary (routellm_plugins.settings), passed to the controller
    router: Any = _default("router")
    """Router name, model string (``"router-mf-0.116"``), Router, or ``load_router`` dict; default: the bundled default router."""
    checkpoint: Any = _default("checkpoint")
    """Folder of a trained checkpoint to load instead of the bundled one."""
    embedder: Any = Field(default=_default("embedder"), exclude=True)
    """Prompt encoder: a local Hugging Face folder or a callable; default: the bundled MiniLM."""
    threshold: float | None = _default("threshold")
    """Score cut: strong iff score >= threshold (default: the router's calibrated threshold)."""
    strong_share: float | None = _default("strong_share")
    """Target share of calls sent to ``strong`` (instead of ``threshold``)."""
    adaptive: bool = _default("adaptive")
    """Hold ``strong_share`` on live traffic with a rolling threshold."""
    window: int = _default("window")
    """Number of recent scores the adaptive threshold uses."""
    fallback: str = _default("fallback")
    """Child key used when the router cannot decide (flagged, with the reason)."""
    timeout_s: float | None = _default("timeout_s")
    """Seconds the routing decision may take before the fallback child serves (children keep their own timeouts)."""
    sticky_sessions: Any = _default("sticky_sessions")
    """Per-conversation policy ``"off"``, ``"escalate"`` or ``"first"`` (see ``settings.STICKY_POLICIES``); id from ``session_keys``."""
    max_sessions: int = _default("max_sessions")
    """Conversations remembered for sticky sessions (least recently used dropped)."""
    session_ttl_s: float | None = _default("session_ttl_s")
    """Seconds a conversation may stay idle before sticky sessions forget it."""
    shared_state: str | dict[str, Any] | None = _default("shared_state")
    """``"redis://host:port/db"`` (or a mapping with ``url`` and options) to share thresholds, sessions and counters across replicas."""
    pool: Any = _default("pool")
    """Pool routing (UniRoute): ``{name: cost}`` (or the core's other pool forms) for the ``models`` children."""
    lam: float | None = _default("lam")
    """Pool routing: weight of cost against predicted quality."""
    target_cost: float | None = _default("target_cost")
    """Pool routing: average cost per request to hold (instead of ``lam``)."""
    quality_floor: float | None = _default("quality_floor")
    """Pool routing: average predicted quality to hold (instead of ``lam``)."""
    failover: bool = _default("failover")
    """When the chosen child raises (before streaming any output), let the other child serve (flagged)."""
    route_on: Any = _default("route_on")
    """``"last_user"``, ``"conversation"``, or ``callable(messages) -> str | None``."""
    # ---- LangChain-only settings
    controller: RoutingController | None = Field(default=None, exclude=True)
    """A ready RoutingController (shared with other adapters) instead of the routing settings above."""
    session_keys: tuple[str, ...] = DEFAULT_SESSION_KEYS
    """Run-config keys (``configurable`` then ``metadata``) that hold the session id."""
    max_retries: int = 0
    """Extra attempts on the chosen child after an error (before ``failover``)."""
    streaming: bool = False
    """Make ``invoke``/``ainvoke`` call the child's stream and merge the chunks."""
    temperature: float | None = None
    """Forwarded to the chosen child as a call kwarg when set."""
    max_tokens: int | None = None
    """Forwarded to the chosen child as a call kwarg when set."""
    stop: list[str] | None = None
    """Default stop sequences for calls that give none."""

    # The per-call state lives in the instance __dict__ as ``_dispatcher`` (set in __init__ with
    # object.__setattr__): a plain attribute read, where a pydantic PrivateAttr costs ~2 µs per access.
    # It is deliberately not annotated, so pydantic does not manage it.

    def __init__(self, **data: Any) -> None:
        data = normalize_settings(data)
        unknown = sorted(str(k)[:40] for k in set(data) - set(type(self).model_fields))
        if unknown:
            raise ConfigError(f"unknown ChatRouteLLM settings {unknown}; known: {sorted(type(self).model_fields)}")
        children = resolve_children(data.get("strong"), data.get("weak"), data.get("models"))
        controller = build_controller(data.get("controller"), controller_settings(data))
        check_keys(controller, children)
        data["route_on"] = check_route_on(data.get("route_on", LAST_USER))
        failover = check_flag("failover", data.get("failover", False))
        session_keys = check_session_keys(data.get("session_keys", DEFAULT_SESSION_KEYS))
        max_retries = check_max_retries(data.get("max_retries", 0))
        if data.get("cache") not in (None, False):
            raise ConfigError(f"cache={shown(data['cache'])}: ChatRouteLLM does not cache; set the cache on the child models")
        super().__init__(**data)
        dispatcher = Dispatcher(
            controller,
            routes=children,
            names={k: served_model_name(m) for k, m in children.items()},
            session_keys=session_keys,
            failover=failover,
            max_retries=max_retries,
        )
        object.__setattr__(self, "_dispatcher", dispatcher)

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any] | str | os.PathLike[str],
        *,
        init_model: Callable[..., BaseChatModel] | None = None,
        **overrides: Any,
    ) -> "ChatRouteLLM":
        """Build from a dict or YAML/JSON file whose children are ``init_chat_model`` specs.

        Children: ``strong``/``weak`` or ``models: {name: spec}``, each a spec string
        (``"openai:gpt-4o"``) or a dict of ``init_chat_model`` kwargs. Every other key is a
        constructor setting, at top level or under ``routing:``: the shared vocabulary
        (``router``, ``checkpoint``, ``embedder``, ``threshold`` | ``strong_share``,
        ``adaptive``, ``window``, ``fallback``, ``timeout_s``, ``sticky_sessions``,
        ``max_sessions``, ``shared_state``, pool settings, ``failover``, ``route_on``) and
        ``session_keys``, ``max_retries``, ``streaming``, ``temperature``, ``max_tokens``,
        ``stop``. A relative ``checkpoint`` is read beside the config file. ``init_model``
        replaces ``init_chat_model``; ``overrides`` are extra ChatRouteLLM arguments.
        """
        return cls(**{**parse_config(config, init_model=init_model), **overrides})

    # ---- introspection ---------------------------------------------------------------
    @property
    def routing_controller(self) -> RoutingController:
        """The controller that makes every decision."""
        return self._dispatcher.controller

    @property
    def children(self) -> dict[str, BaseChatModel]:
        """The child chat models by key (a copy)."""
        return dict(self._dispatcher.routes)

    @property
    def _llm_type(self) -> str:
        return "routellm"

    @property
    def _model_string(self) -> str:
        return f"router-{self._dispatcher.controller.router.name}-{self._dispatcher.controller.current_threshold:g}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "router": self._dispatcher.controller.router.name,
            "threshold": self._dispatcher.controller.current_threshold,
            "models": dict(self._dispatcher.names),
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        """Tracing params of the router itself; each routed child run reports its own model."""
        model = kwargs.get("model")
        params = LangSmithParams(
            ls_provider="routellm",
            ls_model_name=model if isinstance(model, str) else self._model_string,
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if isinstance(temperature, (int, float)) and not isinstance(temperature, bool):
            params["ls_temperature"] = float(temperature)
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
            params["ls_max_tokens"] = max_tokens
        stop = stop if stop is not None else self.stop
        if stop:
            params["ls_stop"] = list(stop)
        return params

    def _resolve_model_profile(self) -> Any:
        children = self.models if self.models is not None else {"strong": self.strong, "weak": self.weak}
        return merge_profiles([getattr(m, "profile", None) for m in children.values()])

    # ---- per-call helpers ------------------------------------------------------------
    def _own_config(self, config: RunnableConfig | None) -> RunnableConfig:
        """``config`` with this model's own callbacks, tags and metadata folded in."""
        config = ensure_config(config)
        own = self.metadata
        if own and (len(own) > 1 or "lc_versions" not in own):
            config["metadata"] = {**{k: v for k, v in own.items() if k != "lc_versions"}, **config.get("metadata", {})}
        if self.tags:
            tags = list(config.get("tags") or [])
            config["tags"] = tags + [t for t in self.tags if t not in tags]
        if self.callbacks:
            config["callbacks"] = add_callbacks(config.get("callbacks"), self.callbacks)
        return config

    def _call_kwargs(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        stop = stop if stop is not None else self.stop
        if stop is not None:
            kwargs["stop"] = stop
        if self.temperature is not None:
            kwargs.setdefault("temperature", self.temperature)
        if self.max_tokens is not None:
            kwargs.setdefault("max_tokens", self.max_tokens)
        return kwargs

    def _read_input(self, input: LanguageModelInput) -> tuple[Any, Callable[[], str | None]]:
        """(what the child gets, a thunk giving the routing text). A str or a list of messages
        passes through as is (the child converts it); other inputs become a PromptValue here."""
        route_on = self.route_on
        if isinstance(input, str) and isinstance(route_on, str):
            return input, lambda: input if usable(input) else None  # one human message: its text
        if isinstance(input, list) and all(isinstance(m, BaseMessage) for m in input):
            return input, lambda: routing_text(input, route_on)
        prompt = self._convert_input(input)
        if isinstance(prompt, StringPromptValue) and isinstance(route_on, str):
            return prompt, lambda: prompt.text if usable(prompt.text) else None
        return prompt, lambda: routing_text(prompt.to_messages(), route_on)

    def _begin(
        self, input: LanguageModelInput, config: RunnableConfig | None, stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[Dispatcher, RunnableConfig, Mapping[str, Runnable], Any, Callable[[], str | None], dict[str, Any]]:
        """What every call needs: the dispatcher, the config, the routes (bound or plain), the
        child's input, the routing-text thunk, and the call kwargs."""
        dispatcher = self._dispatcher
        bound = kwargs.pop(BOUND_KWARG, None)
        if bound is None:
            routes: Mapping[str, Runnable] = dispatcher.routes
        elif isinstance(bound, BoundChildren):
            routes = bound.routes
        else:
            raise TypeError(f"{BOUND_KWARG} must be BoundChildren (set by bind_tools), got {type(bound).__name__}")
        value, text_of = self._read_input(input)
        return dispatcher, self._own_config(config), routes, value, text_of, self._call_kwargs(stop, kwargs)

    def _no_streaming(self, kwargs: Mapping[str, Any]) -> bool:
        if self.disable_streaming is True:
            return True
        if self.disable_streaming == "tool_calling":
            bound = kwargs.get(BOUND_KWARG)
            return bool(kwargs.get("tools")) or (isinstance(bound, BoundChildren) and bound.has_tools)
        return False

    def decide(self, input: LanguageModelInput, config: RunnableConfig | None = None) -> Decision:
        """The decision a call with ``input`` would act on (it counts as a routed call for
        sticky sessions and adaptive thresholds)."""
        return self._dispatcher.decide(self._read_input(input)[1], self._own_config(config))

    # ---- the Runnable surface ----------------------------------------------------------
    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Route ``input`` and return the chosen child's reply, tagged with the decision."""
        if self.streaming:
            return self._merge(list(self.stream(input, config, stop=stop, **kwargs)))
        return self._invoke_once(input, config, stop, kwargs)

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Async :meth:`invoke`: the decision runs off the event loop, the child via ``ainvoke``."""
        if self.streaming:
            return self._merge([c async for c in self.astream(input, config, stop=stop, **kwargs)])
        return await self._ainvoke_once(input, config, stop, kwargs)

    def _describe(
        self, value: Any, decision: Decision, routes: Mapping[str, Runnable], call_kwargs: Mapping[str, Any]
    ) -> Callable[[], RunDescription]:
        """A thunk describing this call's router run (only evaluated when a handler listens)."""

        def describe() -> RunDescription:
            kwargs = {k: v for k, v in call_kwargs.items() if k != "stop"}
            stop = call_kwargs.get("stop")
            return RunDescription(
                serialized=self._serialized,
                name=self.get_name(),
                meta=self._dispatcher.first(decision, routes)[1],
                messages=self._convert_input(value).to_messages(),
                ls_params=self._get_ls_params_with_defaults(stop=stop, **kwargs),
                params=traced_params(self._identifying_params, stop, kwargs),
            )

        return describe

    def to_json_not_implemented(self) -> Any:
        """What ``dumpd`` and tracers record for this (not serializable) model: its class path and a
        short description, never the children's repr (which could hold private provider settings)."""
        return {
            "lc": 1,
            "type": "not_implemented",
            "id": ["langchain_adapter", "chat_model", "ChatRouteLLM"],
            "name": self.get_name(),
            "repr": f"ChatRouteLLM(router={self._model_string!r}, models={dict(self._dispatcher.names)!r})",
        }

    def _invoke_once(self, input: Any, config: RunnableConfig | None, stop: list[str] | None, kwargs: dict[str, Any]) -> AIMessage:
        dispatcher, config, routes, value, text_of, call_kwargs = self._begin(input, config, stop, kwargs)
        decision = dispatcher.decide(text_of, config)
        run = RouterRun.open(config, self._describe(value, decision, routes, call_kwargs), verbose=self.verbose)
        try:
            if self.rate_limiter:
                self.rate_limiter.acquire(blocking=True)
            out = dispatcher.run(routes, decision, value, run.child_config, call_kwargs)
        except BaseException as exc:
            run.error(exc)
            raise
        run.end(out)
        return out

    async def _ainvoke_once(
        self, input: Any, config: RunnableConfig | None, stop: list[str] | None, kwargs: dict[str, Any]
    ) -> AIMessage:
        dispatcher, config, routes, value, text_of, call_kwargs = self._begin(input, config, stop, kwargs)
        decision = await dispatcher.adecide(text_of, config)
        run = await AsyncRouterRun.open(config, self._describe(value, decision, routes, call_kwargs), verbose=self.verbose)
        try:
            if self.rate_limiter:
                await self.rate_limiter.aacquire(blocking=True)
            out = await dispatcher.arun(routes, decision, value, run.child_config, call_kwargs)
        except BaseException as exc:
            await run.error(exc)
            raise
        await run.end(out)
        return out

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[BaseMessageChunk]:
        """Stream the chosen child's chunks as it yields them; the first carries the decision."""
        if self._no_streaming(kwargs):
            yield self._invoke_once(input, config, stop, kwargs)  # type: ignore[misc]
            return
        dispatcher, config, routes, value, text_of, call_kwargs = self._begin(input, config, stop, kwargs)
        decision = dispatcher.decide(text_of, config)
        run = RouterRun.open(config, self._describe(value, decision, routes, call_kwargs), verbose=self.verbose)
        traced: list[Any] = []
        try:
            if self.rate_limiter:
                self.rate_limiter.acquire(blocking=True)
            for chunk in dispatcher.stream(routes, decision, value, run.child_config, call_kwargs):
                if run.manager is not None:
                    traced.append(chunk)
                yield chunk
        except BaseException as exc:
            run.error(exc)
            raise
        run.end(self._merge(traced) if traced else AIMessage(content=""))

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[BaseMessageChunk]:
        """Async :meth:`stream`."""
        if self._no_streaming(kwargs):
            yield await self._ainvoke_once(input, config, stop, kwargs)  # type: ignore[misc]
            return
        dispatcher, config, routes, value, text_of, call_kwargs = self._begin(input, config, stop, kwargs)
        decision = await dispatcher.adecide(text_of, config)
        run = await AsyncRouterRun.open(config, self._describe(value, decision, routes, call_kwargs), verbose=self.verbose)
        traced: list[Any] = []
        try:
            if self.rate_limiter:
                await self.rate_limiter.aacquire(blocking=True)
            async for chunk in dispatcher.astream(routes, decision, value, run.child_config, call_kwargs):
                if run.manager is not None:
                    traced.append(chunk)
                yield chunk
        except BaseException as exc:
            await run.error(exc)
            raise
        await run.end(self._merge(traced) if traced else AIMessage(content=""))

    @staticmethod
    def _merge(chunks: Sequence[Any]) -> AIMessage:
        if not chunks:
            raise ValueError("the routed child streamed no chunks")
        merged = chunks[0]
        for chunk in chunks[1:]:
            merged = merged + chunk
        return message_chunk_to_message(merged)  # type: ignore[return-value]

    def stream_events(self, input: Any, config: RunnableConfig | None = None, *, version: str = "v2", stop: list[str] | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        """``version="v3"`` hands back the chosen child's ``ChatModelStream`` (its run carries the
        decision; no router run is opened); v1/v2 as in LangChain."""
        if version != "v3":
            return super().stream_events(input, config, version=version, stop=stop, **kwargs)  # type: ignore[call-overload]
        dispatcher, config, routes, prompt, text_of, call_kwargs = self._begin(input, config, stop, kwargs)
        decision = dispatcher.decide(text_of, config)
        key, meta = dispatcher.first(decision, routes)
        return routes[key].stream_events(prompt, child_config(config, meta, keep_run_id=True), version="v3", **call_kwargs)

    def astream_events(self, input: Any, config: RunnableConfig | None = None, *, version: str = "v2", stop: list[str] | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        """Async :meth:`stream_events`. In v1/v2 the tokens are reported once, as the child's
        ``on_chat_model_stream`` events (the router's run re-yields them, so its own copies are dropped)."""
        if version != "v3":
            events = super().astream_events(input, config, version=version, stop=stop, **kwargs)  # type: ignore[call-overload]
            return tokens_once(events)
        return self._astream_events_v3(input, config, stop, kwargs)

    async def _astream_events_v3(self, input: Any, config: RunnableConfig | None, stop: list[str] | None, kwargs: dict[str, Any]) -> Any:
        dispatcher, config, routes, prompt, text_of, call_kwargs = self._begin(input, config, stop, kwargs)
        decision = await dispatcher.adecide(text_of, config)
        key, meta = dispatcher.first(decision, routes)
        return await routes[key].astream_events(prompt, child_config(config, meta, keep_run_id=True), version="v3", **call_kwargs)

    # ---- the legacy generate() path ------------------------------------------------------
    def generate(
        self,
        messages: list[list[BaseMessage]],
        stop: list[str] | None = None,
        callbacks: Any = None,
        *,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        run_name: str | None = None,
        run_id: Any = None,
        **kwargs: Any,
    ) -> LLMResult:
        """Each message list routed on its own through :meth:`invoke` (one router run each)."""
        outs = [self.invoke(m, self._legacy_config(i, callbacks, tags, metadata, run_name, run_id), stop=stop, **kwargs)
                for i, m in enumerate(messages)]
        return LLMResult(generations=[[ChatGeneration(message=o)] for o in outs])

    async def agenerate(
        self,
        messages: list[list[BaseMessage]],
        stop: list[str] | None = None,
        callbacks: Any = None,
        *,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        run_name: str | None = None,
        run_id: Any = None,
        **kwargs: Any,
    ) -> LLMResult:
        """Async :meth:`generate` (the message lists run concurrently)."""
        outs = await asyncio.gather(*(
            self.ainvoke(m, self._legacy_config(i, callbacks, tags, metadata, run_name, run_id), stop=stop, **kwargs)
            for i, m in enumerate(messages)
        ))
        return LLMResult(generations=[[ChatGeneration(message=o)] for o in outs])

    @staticmethod
    def _legacy_config(i: int, callbacks: Any, tags: Any, metadata: Any, run_name: Any, run_id: Any) -> RunnableConfig:
        config: dict[str, Any] = {"callbacks": callbacks, "tags": list(tags or []), "metadata": dict(metadata or {})}
        if run_name is not None:
            config["run_name"] = run_name
        if run_id is not None and i == 0:  # as in LangChain: the run id names the first run
            config["run_id"] = run_id
        return config  # type: ignore[return-value]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """BaseChatModel's hook (not used by this class's entry points): route and delegate."""
        config: RunnableConfig = {"callbacks": run_manager.get_child()} if run_manager else {}
        dispatcher, _, routes, _, _, call_kwargs = self._begin(messages, config, stop, kwargs)
        decision = dispatcher.decide(lambda: routing_text(messages, self.route_on), {})
        out = dispatcher.run(routes, decision, messages, config, call_kwargs)
        return ChatResult(generations=[ChatGeneration(message=out)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """Async :meth:`_generate`."""
        config: RunnableConfig = {"callbacks": run_manager.get_child()} if run_manager else {}
        dispatcher, _, routes, _, _, call_kwargs = self._begin(messages, config, stop, kwargs)
        decision = await dispatcher.adecide(lambda: routing_text(messages, self.route_on), {})
        out = await dispatcher.arun(routes, decision, messages, config, call_kwargs)
        return ChatResult(generations=[ChatGeneration(message=out)])

    # ---- tools and structured output ----------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind ``tools`` to every child, each in its own format; calls still route per call.

        Raises NotImplementedError naming the child that cannot bind tools.
        """
        extra = dict(kwargs)
        if tool_choice is not None:
            extra["tool_choice"] = tool_choice
        routes: dict[str, Runnable] = {}
        for key, child in self._dispatcher.routes.items():
            try:
                routes[key] = child.bind_tools(tools, **extra)
            except NotImplementedError as exc:
                raise NotImplementedError(
                    f"child {key!r} ({type(child).__name__}) does not support bind_tools, so ChatRouteLLM cannot bind tools"
                ) from exc
        return self.bind(**{BOUND_KWARG: BoundChildren(routes, has_tools=bool(tools))})

    def with_structured_output(
        self,
        schema: Any,
        *,
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Structured output through the router: each child's own ``with_structured_output``
        (``method=``, ``strict=``... passed on), chosen per call. Raises what a child raises
        for an unsupported schema or method."""
        routes = {
            key: child.with_structured_output(schema, include_raw=include_raw, **kwargs)
            for key, child in self._dispatcher.routes.items()
        }
        return RouterRunnable._sharing(
            routes,
            self._dispatcher,
            text_of=lambda value: routing_text(self._convert_input(value).to_messages(), self.route_on),
            prepare=self._own_config,
            name="ChatRouteLLM.with_structured_output",
        )

