"""Shared pieces of the LangChain adapter tests: deterministic test routers (for policy logic
only; routing quality is tested with the bundled routers), LangChain fake chat models, and
failing children. Holds no tests of its own."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel, GenericFakeChatModel
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from langchain_adapter import ChatRouteLLM
from routellm_plugins import Router

HARD = "Prove that there are infinitely many primes."
EASY = "hi there"


class KeywordRouter(Router):
    """Deterministic test router: 0.9 for prompts with a hard keyword, else 0.1."""

    name = "keyword"

    def __init__(self, threshold: float | None = 0.5) -> None:
        super().__init__(threshold=threshold)

    def _score(self, prompts: list[str]) -> np.ndarray:
        return np.array([0.9 if ("prove" in p.lower() or "derive" in p.lower()) else 0.1 for p in prompts])


class BrokenRouter(Router):
    name = "broken"

    def _score(self, prompts: list[str]) -> np.ndarray:
        raise RuntimeError("embedder exploded")


class SlowRouter(KeywordRouter):
    name = "slow"

    def _score(self, prompts: list[str]) -> np.ndarray:
        time.sleep(0.3)
        return super()._score(prompts)


def fake(text: str) -> GenericFakeChatModel:
    """LangChain's fake chat model answering ``text`` forever (streams it word by word)."""
    return GenericFakeChatModel(messages=itertools.cycle([text]))


def routed(**kwargs: Any) -> ChatRouteLLM:
    params: dict[str, Any] = {"strong": fake("strong answer"), "weak": fake("weak answer"), "router": KeywordRouter()}
    params.update(kwargs)
    return ChatRouteLLM(**params)


class ProviderError(Exception):
    """Shaped like an SDK's HTTP error: a status code, and a message that may quote anything."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class Failing(BaseChatModel):
    """Raises on every call (counts them); ``message`` and ``status_code`` shape the error."""

    calls: int = 0
    message: str = "provider is down"
    status_code: int | None = None

    @property
    def _llm_type(self) -> str:
        return "failing"

    def _error(self) -> Exception:
        self.calls += 1
        if self.status_code is None:
            return RuntimeError(self.message)
        return ProviderError(self.message, self.status_code)

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        raise self._error()

    def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        raise self._error()


class Quoting(Failing):
    """A provider that fails with an error quoting the prompt and its API key, verbatim, upper-cased
    and JSON-escaped (as careless SDKs and proxies do)."""

    api_key: str = ""

    def _fail(self, messages: Any) -> Exception:
        self.calls += 1
        prompt = str(messages[-1].content)
        body = json.dumps({"error": {"message": f"bad request for {prompt!r}", "key": self.api_key}})
        text = f"{prompt} | {prompt.upper()} | {body} | Authorization: Bearer {self.api_key.upper()}"
        return ProviderError(text, 400)

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        raise self._fail(messages)

    def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        raise self._fail(messages)


class FlakyOnce(FakeMessagesListChatModel):
    """Fails the first call, then replies."""

    failures_left: int = 1

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        if self.failures_left:
            self.failures_left -= 1
            raise RuntimeError("transient")
        return super()._generate(messages, stop, run_manager, **kwargs)


class Recorder(BaseCallbackHandler):
    """Records chat-model starts/ends and tokens with their run ids."""

    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []
        self.ends: list[dict[str, Any]] = []
        self.tokens: list[tuple[str, Any]] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: Any, parent_run_id: Any = None,
                            tags: Any = None, metadata: Any = None, **kwargs: Any) -> None:
        self.starts.append({"run_id": run_id, "parent_run_id": parent_run_id, "tags": list(tags or []),
                            "metadata": dict(metadata or {}), "name": kwargs.get("name"),
                            "params": kwargs.get("invocation_params") or {}})

    def on_llm_end(self, response: Any, *, run_id: Any, parent_run_id: Any = None, **kwargs: Any) -> None:
        self.ends.append({"run_id": run_id, "parent_run_id": parent_run_id, "message": response.generations[0][0].message})

    def on_llm_new_token(self, token: str, *, run_id: Any = None, **kwargs: Any) -> None:
        self.tokens.append((token, run_id))
