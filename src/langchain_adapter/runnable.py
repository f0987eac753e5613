"""``RouterRunnable``: route each input between whole chains (or any runnables) in LCEL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig, ensure_config

from langchain_adapter.config import (
    build_controller,
    check_flag,
    check_keys,
    check_max_retries,
    check_runnable,
    check_session_keys,
    controller_settings,
    normalize_settings,
    resolve_children,
)
from langchain_adapter.context import DEFAULT_SESSION_KEYS
from langchain_adapter.dispatch import Dispatcher
from langchain_adapter.text import LAST_USER, check_route_on, input_text
from routellm_plugins import ConfigError, Decision, RoutingController
from routellm_plugins.settings import ADAPTER_SETTINGS, CONTROLLER_SETTINGS


class RouterRunnable(Runnable[Any, Any]):
    """A Runnable that sends each input to one of its routes (``strong``/``weak`` or named),
    as chosen by a RouteLLM router; the chosen route gets the whole call (config, kwargs,
    streaming, async) and its run carries the decision in ``metadata["routellm"]``.

    Routing text comes from the input: a str; a PromptValue or messages (last user
    message, or the whole conversation with ``route_on="conversation"``); a dict's
    ``input_key`` (default: its ``"messages"``, else its str values); or ``route_on(input)``.
    ``settings`` are the shared vocabulary of :mod:`routellm_plugins.settings`, as for
    :class:`ChatRouteLLM` (``router``, ``threshold`` or ``strong_share``, ``fallback``,
    ``timeout_s``, ``sticky_sessions``, pool settings, ``failover``, ``route_on``...), or give
    a ready ``controller``.
    """

    def __init__(
        self,
        routes: Mapping[str, Runnable | Callable[..., Any]] | None = None,
        *,
        strong: Runnable | Callable[..., Any] | None = None,
        weak: Runnable | Callable[..., Any] | None = None,
        controller: RoutingController | None = None,
        input_key: str | None = None,
        session_keys: Sequence[str] = DEFAULT_SESSION_KEYS,
        max_retries: int = 0,
        name: str | None = None,
        **settings: Any,
    ) -> None:
        settings = normalize_settings(settings, owner="RouterRunnable")
        unknown = sorted(str(k)[:40] for k in set(settings) - set(CONTROLLER_SETTINGS) - set(ADAPTER_SETTINGS))
        if unknown:
            raise ConfigError(f"unknown RouterRunnable settings {unknown}; known: {sorted({*CONTROLLER_SETTINGS, *ADAPTER_SETTINGS})}")
        self.routes: dict[str, Runnable] = resolve_children(strong, weak, routes, check_runnable, models_name="routes")
        self.controller = build_controller(controller, controller_settings(settings))
        check_keys(self.controller, self.routes)
        self.route_on = check_route_on(settings.get("route_on", LAST_USER))
        self.input_key = input_key
        self.name = name
        self._dispatcher = Dispatcher(
            self.controller,
            names={k: r.get_name() for k, r in self.routes.items()},
            session_keys=check_session_keys(session_keys),
            failover=check_flag("failover", settings.get("failover", False)),
            max_retries=check_max_retries(max_retries),
        )
        self._text_of: Callable[[Any], str | None] = lambda value: input_text(value, self.route_on, self.input_key)
        self._prepare: Callable[[RunnableConfig | None], RunnableConfig] = ensure_config

    @classmethod
    def _sharing(
        cls,
        routes: Mapping[str, Runnable],
        dispatcher: Dispatcher,
        text_of: Callable[[Any], str | None],
        prepare: Callable[[RunnableConfig | None], RunnableConfig],
        name: str,
    ) -> "RouterRunnable":
        """A router over ``routes`` that shares an existing dispatcher (used by ChatRouteLLM)."""
        self = cls.__new__(cls)
        self.routes = dict(routes)
        self.controller = dispatcher.controller
        self.route_on = LAST_USER
        self.input_key = None
        self.name = name
        self._dispatcher = dispatcher
        self._text_of = text_of
        self._prepare = prepare
        return self

    @property
    def InputType(self) -> Any:  # noqa: N802 - LangChain's name
        return Any

    @property
    def OutputType(self) -> Any:  # noqa: N802 - LangChain's name
        return Any

    def decide(self, input: Any, config: RunnableConfig | None = None) -> Decision:
        """The decision :meth:`invoke` would act on for ``input`` (it counts as a routed call for
        sticky sessions and adaptive thresholds)."""
        config = self._prepare(config)
        return self._dispatcher.decide(lambda: self._text_of(input), config)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Run the chosen route on ``input``; a message output carries the decision."""
        config = self._prepare(config)
        decision = self._dispatcher.decide(lambda: self._text_of(input), config)
        return self._dispatcher.run(self.routes, decision, input, config, kwargs)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Async :meth:`invoke`; the decision is made off the event loop."""
        config = self._prepare(config)
        decision = await self._dispatcher.adecide(lambda: self._text_of(input), config)
        return await self._dispatcher.arun(self.routes, decision, input, config, kwargs)

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:
        """Stream the chosen route's output as it produces it."""
        config = self._prepare(config)
        decision = self._dispatcher.decide(lambda: self._text_of(input), config)
        yield from self._dispatcher.stream(self.routes, decision, input, config, kwargs)

    async def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        """Async :meth:`stream`."""
        config = self._prepare(config)
        decision = await self._dispatcher.adecide(lambda: self._text_of(input), config)
        async for chunk in self._dispatcher.astream(self.routes, decision, input, config, kwargs):
            yield chunk

    def __repr__(self) -> str:
        return f"RouterRunnable(routes={list(self.routes)}, controller={self.controller!r})"
