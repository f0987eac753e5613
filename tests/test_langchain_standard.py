"""LangChain's standard unit-test suite (langchain-tests ChatModelUnitTests) against ChatRouteLLM."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_adapter import ChatRouteLLM
from langchain_adapter.testing import ScriptedChatModel

# Not run (each is skipped by the suite itself, not by us):
# - test_init_from_env: ChatRouteLLM reads no environment variables (it holds no provider
#   credentials; its children carry their own), so there is nothing to initialise from env.
# - test_serdes: ChatRouteLLM is not LangChain-serializable: its children are arbitrary chat
#   models and its router is a live object (config files go through from_config instead).


class TestChatRouteLLMStandard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatRouteLLM]:
        return ChatRouteLLM

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "strong": ScriptedChatModel(model="strong-model", replies=["strong"]),
            "weak": ScriptedChatModel(model="weak-model", replies=["weak"], tool_format="named"),
            "router": {"router": "random", "seed": 0},
            "threshold": 0.5,
        }

    @property
    def standard_chat_model_params(self) -> dict[str, Any]:
        # The suite adds api_key="test"; a router has no API key of its own (its children
        # hold theirs), and ChatRouteLLM rejects unknown settings instead of ignoring them.
        # temperature, max_tokens, timeout, stop, max_retries and streaming stay.
        params = dict(super().standard_chat_model_params)
        params.pop("api_key")
        return params
