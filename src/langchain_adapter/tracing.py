"""The router's own run in LangChain tracing: a chat-model run named ``ChatRouteLLM`` (or the
config's ``run_name``) with the decision in its metadata and outputs; the chosen child's run
nests under it.

Conventions kept so that nothing is counted or streamed twice:

- tokens stream on the child's run only (the router's run emits no ``on_llm_new_token``, and
  :func:`tokens_once` drops the copies the event stream makes of a root run's output);
- the router's ``on_llm_end`` carries the reply with ``response_metadata["routellm"]`` but
  without ``usage_metadata``: token usage is reported once, on the child's run, where it was spent;
- the router's run is opened only when some handler listens (the child then gets no callbacks
  the router run would have passed on, so the result is the same).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, NamedTuple

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.runnables import RunnableConfig

from langchain_adapter.context import METADATA_KEY, TAG
from routellm_plugins.errors import is_secret_key

#: Call kwargs that are never shown in a trace's invocation params (large or internal).
_UNTRACED_KWARGS = ("tools", "functions", "messages", "response_format")


def traced_params(identity: Mapping[str, Any], stop: Sequence[str] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Invocation params for the router's run: its identity, ``stop``, and the call kwargs that
    are plain settings (no secret-like keys, no tools, nothing private to the adapter)."""
    params = {"_type": "routellm", **identity, "stop": list(stop) if stop else None}
    for key, value in kwargs.items():
        if key in _UNTRACED_KWARGS or key.startswith("routellm") or is_secret_key(key):
            continue
        params[key] = value
    return params


def for_trace(message: Any) -> Any:
    """``message`` as the router's run reports it: without ``usage_metadata`` (counted on the child's run)."""
    if isinstance(message, BaseMessage) and getattr(message, "usage_metadata", None):
        return message.model_copy(update={"usage_metadata": None})
    return message


def _result(message: Any) -> LLMResult:
    return LLMResult(generations=[[ChatGeneration(message=for_trace(message))]])


class RunDescription(NamedTuple):
    """What the router's run shows: its serialized form and name, the decision ``meta``, the
    input ``messages``, the LangSmith ``ls_params`` and the invocation ``params``."""

    serialized: dict[str, Any]
    name: str
    meta: dict[str, Any]
    messages: list[BaseMessage]
    ls_params: Mapping[str, Any]
    params: dict[str, Any]


def _annotate(manager: Any, d: RunDescription, config: RunnableConfig) -> dict[str, Any]:
    """Put the router run's own tags and metadata on ``manager`` (not inherited: the child gets
    its attempt's decision from its config) and return the ``on_chat_model_start`` kwargs."""
    manager.add_tags([TAG, f"{TAG}:{d.meta['served_by']}"], inherit=False)
    manager.add_metadata({**d.ls_params, METADATA_KEY: d.meta}, inherit=False)
    return {
        "serialized": d.serialized,
        "messages": [d.messages],
        "invocation_params": d.params,
        "options": {"stop": d.params.get("stop")},
        "name": config.get("run_name") or d.name,
        "run_id": config.get("run_id"),
        "batch_size": 1,
    }


class RouterRun:
    """The router's open run (sync); ``child_config`` is the config the chosen child runs with."""

    __slots__ = ("manager", "child_config")

    def __init__(self, manager: CallbackManagerForLLMRun | None, child_config: RunnableConfig) -> None:
        self.manager = manager
        self.child_config = child_config

    @classmethod
    def open(cls, config: RunnableConfig, describe: Callable[[], RunDescription], *, verbose: bool = False) -> "RouterRun":
        """Start the router's run when some handler listens; ``describe`` (called only then)
        gives the decision metadata, the input messages and the tracing params."""
        manager = CallbackManager.configure(
            config.get("callbacks"), None, verbose, config.get("tags"), None, config.get("metadata"), None
        )
        child = _strip_run_fields(config)
        if not manager.handlers:
            return cls(None, child)
        run_kwargs = _annotate(manager, describe(), config)
        (run,) = manager.on_chat_model_start(**run_kwargs)
        child["callbacks"] = _nested(CallbackManager, run)
        return cls(run, child)

    def end(self, message: Any) -> None:
        """Close the run with the tagged reply (usage left to the child's run)."""
        if self.manager is not None:
            self.manager.on_llm_end(_result(message))

    def error(self, exc: BaseException) -> None:
        """Close the run as failed."""
        if self.manager is not None:
            self.manager.on_llm_error(exc, response=LLMResult(generations=[]))


class AsyncRouterRun:
    """Async :class:`RouterRun`."""

    __slots__ = ("manager", "child_config")

    def __init__(self, manager: AsyncCallbackManagerForLLMRun | None, child_config: RunnableConfig) -> None:
        self.manager = manager
        self.child_config = child_config

    @classmethod
    async def open(cls, config: RunnableConfig, describe: Callable[[], RunDescription], *, verbose: bool = False) -> "AsyncRouterRun":
        """Async :meth:`RouterRun.open`."""
        manager = AsyncCallbackManager.configure(
            config.get("callbacks"), None, verbose, config.get("tags"), None, config.get("metadata"), None
        )
        child = _strip_run_fields(config)
        if not manager.handlers:
            return cls(None, child)
        run_kwargs = _annotate(manager, describe(), config)
        (run,) = await manager.on_chat_model_start(**run_kwargs)
        child["callbacks"] = _nested(AsyncCallbackManager, run)
        return cls(run, child)

    async def end(self, message: Any) -> None:
        """Close the run with the tagged reply (usage left to the child's run)."""
        if self.manager is not None:
            await self.manager.on_llm_end(_result(message))

    async def error(self, exc: BaseException) -> None:
        """Close the run as failed."""
        if self.manager is not None:
            await self.manager.on_llm_error(exc, response=LLMResult(generations=[]))


def _nested(kind: type, run: Any) -> Any:
    """A callback manager for runs nested under ``run``: its inheritable handlers, tags and metadata."""
    manager = kind(handlers=[], parent_run_id=run.run_id)
    manager.set_handlers(run.inheritable_handlers)
    manager.add_tags(run.inheritable_tags)
    manager.add_metadata(run.inheritable_metadata)
    return manager


def _strip_run_fields(config: RunnableConfig) -> RunnableConfig:
    """``config`` for the child: the router's run took its ``run_id`` and ``run_name``."""
    out: dict[str, Any] = dict(config)
    out.pop("run_id", None)
    out.pop("run_name", None)
    return out  # type: ignore[return-value]


async def tokens_once(events: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """``events`` without the root run's ``on_chat_model_stream`` copies of tokens that a nested
    chat-model run (the child) already reported; a child that streamed nothing keeps the root's."""
    root: Any = None
    child_streamed = False
    try:
        async for event in events:
            if root is None:
                root = event.get("run_id")
            if event.get("event") == "on_chat_model_stream":
                if event.get("run_id") != root:
                    child_streamed = True
                elif child_streamed:
                    continue
            yield event
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
