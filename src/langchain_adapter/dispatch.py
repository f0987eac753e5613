"""One routed call: ask the controller, then hand the whole call to the chosen runnable.

Shared by :class:`ChatRouteLLM` and :class:`RouterRunnable`, so session ids, failover and
the metadata are one piece of code. Tracing runs are the callers' business: the config
given here is the one the chosen child runs with.

A failing child is recorded by its exception type and status code only: provider messages
can quote the prompt or an API key, so they never reach a log or the response metadata.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from langchain_adapter.context import DEFAULT_SESSION_KEYS, child_config, decision_dict, session_id, tag_output
from routellm_plugins import ConfigError, Decision, RoutingController
from routellm_plugins.errors import describe_error, status_code_of

log = logging.getLogger("langchain_adapter")


def error_record(key: str, exc: BaseException) -> dict[str, Any]:
    """What the metadata keeps of a failed attempt: the child's key, the exception type and its
    status code (None when it has none), never the exception's text."""
    return {"model": key, "error": type(exc).__name__, "status_code": status_code_of(exc)}


class Dispatcher:
    """Decides per call (session id from the run config) and runs the chosen route, with
    optional retries and a failover to another route when the chosen one raises."""

    def __init__(
        self,
        controller: RoutingController,
        *,
        routes: Mapping[str, Runnable] | None = None,
        names: Mapping[str, str] | None = None,
        session_keys: Sequence[str] = DEFAULT_SESSION_KEYS,
        failover: bool = False,
        max_retries: int = 0,
    ) -> None:
        self.controller = controller
        #: The default routes (the children); a call may pass others (e.g. tool-bound children).
        self.routes: dict[str, Runnable] = dict(routes or {})
        self.names = dict(names or {})
        self.session_keys = tuple(session_keys)
        self.failover = bool(failover)
        self.max_retries = int(max_retries)

    # ---- decisions -----------------------------------------------------------------
    def _session(self, config: Mapping[str, Any]) -> str | None:
        """The session id of the call; the controller's sticky policy decides what it means."""
        return session_id(config, self.session_keys)

    def _text(self, text_of: Callable[[], str | None]) -> tuple[str, str | None]:
        """(text, None), or ("", reason) when a user ``route_on`` callable raised."""
        try:
            return text_of() or "", None
        except Exception as exc:  # noqa: BLE001 - a routing bug must not fail the request
            return "", f"route_on raised {describe_error(exc)}"

    def decide(self, text_of: Callable[[], str | None], config: Mapping[str, Any]) -> Decision:
        """The decision for one call; ``text_of`` computes the routing text (may raise)."""
        text, error = self._text(text_of)
        if error is not None:
            log.warning("routing fell back to %r: %s", self.controller.fallback, error)
            return self.controller.fallback_decision(error)
        return self.controller.decide(text, self._session(config))

    async def adecide(self, text_of: Callable[[], str | None], config: Mapping[str, Any]) -> Decision:
        """Async :meth:`decide` (scoring runs off the event loop)."""
        text, error = self._text(text_of)
        if error is not None:
            log.warning("routing fell back to %r: %s", self.controller.fallback, error)
            return self.controller.fallback_decision(error)
        return await self.controller.adecide(text, self._session(config))

    # ---- plans and metadata --------------------------------------------------------
    def plan(self, decision: Decision, routes: Mapping[str, Any]) -> list[str]:
        """Keys to try in order: the chosen one (1 + max_retries times), then the alternative."""
        key = decision.model
        if key not in routes:
            raise ConfigError(f"router chose {key!r}, which is not among the children {list(routes)}")
        attempts = [key] * (1 + self.max_retries)
        if self.failover:
            alt = self.alternative(key, routes)
            if alt is not None:
                attempts.append(alt)
        return attempts

    def alternative(self, key: str, routes: Mapping[str, Any]) -> str | None:
        """The route that serves when ``key`` fails: the controller's fallback, else the next child."""
        fallback = self.controller.fallback
        if fallback != key and fallback in routes:
            return fallback
        return next((k for k in routes if k != key), None)

    def first(self, decision: Decision, routes: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The first key of the plan and its metadata (for calls that get one attempt)."""
        key = self.plan(decision, routes)[0]
        return key, self.meta(decision_dict(decision), key, [])

    def meta(self, base: dict[str, Any], key: str, errors: list[dict[str, Any]]) -> dict[str, Any]:
        """Decision dict plus who served: ``served_by`` (key), ``model_name``, ``child_fallback``
        (served by another child after a failure) and ``errors`` (see :func:`error_record`)."""
        return {
            **base,
            "served_by": key,
            "model_name": self.names.get(key, key),
            "child_fallback": key != base["model"],
            "errors": list(errors),
        }

    @staticmethod
    def _record(key: str, exc: Exception, errors: list[dict[str, Any]]) -> None:
        errors.append(error_record(key, exc))
        log.warning("routed child %r failed (%s); trying the next route", key, describe_error(exc))

    # ---- calls ---------------------------------------------------------------------
    def run(
        self,
        routes: Mapping[str, Runnable],
        decision: Decision,
        value: Any,
        config: RunnableConfig,
        kwargs: Mapping[str, Any],
    ) -> Any:
        """Invoke the chosen route (retry / fall back per plan); the output carries the decision."""
        plan = self.plan(decision, routes)
        base, errors = decision_dict(decision), []
        for i, key in enumerate(plan):
            meta = self.meta(base, key, errors)
            try:
                out = routes[key].invoke(value, child_config(config, meta, keep_run_id=i == 0), **kwargs)
            except Exception as exc:  # noqa: BLE001 - re-raised on the last attempt
                if i == len(plan) - 1:
                    raise
                self._record(key, exc, errors)
                continue
            return tag_output(out, meta)
        raise AssertionError("unreachable: a plan has at least one attempt")

    async def arun(
        self,
        routes: Mapping[str, Runnable],
        decision: Decision,
        value: Any,
        config: RunnableConfig,
        kwargs: Mapping[str, Any],
    ) -> Any:
        """Async :meth:`run`."""
        plan = self.plan(decision, routes)
        base, errors = decision_dict(decision), []
        for i, key in enumerate(plan):
            meta = self.meta(base, key, errors)
            try:
                out = await routes[key].ainvoke(value, child_config(config, meta, keep_run_id=i == 0), **kwargs)
            except Exception as exc:  # noqa: BLE001 - re-raised on the last attempt
                if i == len(plan) - 1:
                    raise
                self._record(key, exc, errors)
                continue
            return tag_output(out, meta)
        raise AssertionError("unreachable: a plan has at least one attempt")

    def stream(
        self,
        routes: Mapping[str, Runnable],
        decision: Decision,
        value: Any,
        config: RunnableConfig,
        kwargs: Mapping[str, Any],
    ) -> Iterator[Any]:
        """Stream the chosen route chunk by chunk; the first chunk carries the decision.

        A failing route is retried / replaced only while it has yielded nothing.
        """
        plan = self.plan(decision, routes)
        base, errors = decision_dict(decision), []
        for i, key in enumerate(plan):
            meta = self.meta(base, key, errors)
            chunks = iter(routes[key].stream(value, child_config(config, meta, keep_run_id=i == 0), **kwargs))
            yielded = False
            try:
                for chunk in chunks:
                    yield chunk if yielded else tag_output(chunk, meta)
                    yielded = True
            except Exception as exc:  # noqa: BLE001 - re-raised once output has started or on the last attempt
                if yielded or i == len(plan) - 1:
                    raise
                self._record(key, exc, errors)
                continue
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            return

    async def astream(
        self,
        routes: Mapping[str, Runnable],
        decision: Decision,
        value: Any,
        config: RunnableConfig,
        kwargs: Mapping[str, Any],
    ) -> AsyncIterator[Any]:
        """Async :meth:`stream`."""
        plan = self.plan(decision, routes)
        base, errors = decision_dict(decision), []
        for i, key in enumerate(plan):
            meta = self.meta(base, key, errors)
            chunks = routes[key].astream(value, child_config(config, meta, keep_run_id=i == 0), **kwargs)
            yielded = False
            try:
                async for chunk in chunks:
                    yield chunk if yielded else tag_output(chunk, meta)
                    yielded = True
            except Exception as exc:  # noqa: BLE001 - re-raised once output has started or on the last attempt
                if yielded or i == len(plan) - 1:
                    raise
                self._record(key, exc, errors)
                continue
            finally:
                aclose = getattr(chunks, "aclose", None)
                if aclose is not None:
                    await aclose()
            return
