"""Pools named the way LiteLLM configs name models: aliasing, LiteLLM prices, and the unprofiled-model error."""

from __future__ import annotations

import numpy as np
import pytest

from routellm_plugins import ConfigError, UnknownModelError
from routellm_plugins.data.graded import canonical_model
from routellm_plugins.pool.costs import model_price
from routellm_plugins.pool.names import name_key, profiled_name
from routellm_plugins.pool.profiles import LLMProfiles
from routellm_plugins.pool.spec import LITELLM_COST_UNIT, litellm_cost, resolve_pool

PROFILED = ["gpt-4-1106-preview", "mixtral-8x7b-instruct", "meta/llama-2-70b-chat", "claude-2.1", "claude-v2",
            "mistralai/mistral-7b-chat", "Mistral-7B-Instruct-v0.2", "gpt-3.5-turbo-1106"]


def _profiles(models=PROFILED, costs=None, unit="USD/request") -> LLMProfiles:
    n = 6
    rng = np.random.default_rng(0)
    return LLMProfiles([f"p{i}" for i in range(n)], ["x"] * n, rng.normal(size=(n, 4)).astype(np.float32), list(models),
                       rng.random((n, len(models))), costs, cost_unit=unit)


@pytest.mark.parametrize("name, want", [
    ("openai/gpt-4-1106-preview", "gpt-4-1106-preview"),
    ("azure/gpt-4-1106-preview", "gpt-4-1106-preview"),
    ("gpt-4-turbo-preview", "gpt-4-1106-preview"),
    ("together_ai/mistralai/Mixtral-8x7B-Instruct-v0.1", "mixtral-8x7b-instruct"),
    ("bedrock/mistral.mixtral-8x7b-instruct-v0:1", "mixtral-8x7b-instruct"),
    ("anyscale/meta-llama/Llama-2-70b-chat-hf", "meta/llama-2-70b-chat"),
    ("anthropic/claude-2.1", "claude-2.1"),
    ("bedrock/anthropic.claude-v2:1", "claude-2.1"),
    ("anthropic.claude-v2", "claude-v2"),
    ("anyscale/mistralai/Mistral-7B-Instruct-v0.1", "mistralai/mistral-7b-chat"),
    ("bedrock/mistral.mistral-7b-instruct-v0:2", "Mistral-7B-Instruct-v0.2"),
])
def test_deployment_names_resolve_to_profiled_models(name, want):
    assert profiled_name(name, PROFILED) == want


def test_explicit_aliases_win_and_must_name_a_profiled_model():
    assert profiled_name("my-cheap-deployment", PROFILED, {"my-cheap-deployment": "claude-v2"}) == "claude-v2"
    assert profiled_name("openai/gpt-4-1106-preview", PROFILED, {"openai/gpt-4-1106-preview": "claude-2.1"}) == "claude-2.1"
    with pytest.raises(UnknownModelError, match="'gpt-5-nano' has no profile"):
        profiled_name("fast", PROFILED, {"fast": "gpt-5-nano"})


def test_unprofiled_model_error_says_how_to_profile_it():
    with pytest.raises(UnknownModelError) as err:
        profiled_name("openai/gpt-4o", PROFILED)
    text = str(err.value)
    assert "'openai/gpt-4o' has no profile" in text
    assert "routellm-plugins profile --model openai/gpt-4o" in text and "aliases=" in text
    # Different versions are different models: v0.3 is not v0.1 or v0.2.
    with pytest.raises(UnknownModelError, match="v0.3"):
        profiled_name("mistral/Mistral-7B-Instruct-v0.3", PROFILED)
    with pytest.raises(ConfigError, match="non-empty"):
        profiled_name("  ", PROFILED)


def test_name_key_is_spelling_insensitive():
    assert name_key("together_ai/meta-llama/Llama-2-70b-chat-hf") == name_key("meta/llama-2-70b-chat") == "llama-2-70b-chat"
    assert name_key("fireworks_ai/accounts/fireworks/models/yi-34b-chat") == "yi-34b-chat"


def test_chat_set_names_are_unified_with_routerbench_names():
    assert canonical_model("Llama-2-70b-chat") == canonical_model("llama-2-70b-chat-hf") == "meta/llama-2-70b-chat"
    assert canonical_model("claude") == canonical_model("claude-1") == "claude-v1"
    assert canonical_model("gpt4_1106_preview") == "gpt-4-1106-preview"


def test_pool_costs_come_from_litellm_for_aliased_names():
    prof = _profiles()
    spec = resolve_pool(["openai/gpt-4-1106-preview", "anyscale/mistralai/Mixtral-8x7B-Instruct-v0.1"], prof)
    assert spec.profiles == ("gpt-4-1106-preview", "mixtral-8x7b-instruct")
    assert spec.keys == ("openai/gpt-4-1106-preview", "anyscale/mistralai/Mixtral-8x7B-Instruct-v0.1")
    assert np.isclose(spec.costs[0], 1e-05 + 3e-05) and np.isclose(spec.costs[1], 3e-07)
    assert spec.cost_source.startswith("litellm")
    # Explicit costs are used as given; a mix of given and missing costs is refused (units could differ).
    spec = resolve_pool({"openai/gpt-4-1106-preview": 10.0, "claude-v2": {"cost": 8.0}}, prof)
    assert list(spec.costs) == [10.0, 8.0] and spec.cost_source == "config"
    with pytest.raises(ConfigError, match=r"costs missing for pool models \['claude-v2'\]"):
        resolve_pool({"openai/gpt-4-1106-preview": 10.0, "claude-v2": None}, prof)


def test_stored_litellm_prices_fill_models_litellm_does_not_price_by_that_name():
    costs = np.full(len(PROFILED), np.nan)
    costs[PROFILED.index("meta/llama-2-70b-chat")] = 2e-6
    prof = _profiles(costs=costs, unit=LITELLM_COST_UNIT)
    assert litellm_cost("meta/llama-2-70b-chat") is None
    spec = resolve_pool(["gpt-4-1106-preview", "together_ai/meta-llama/Llama-2-70b-chat-hf"], prof)
    assert np.allclose(spec.costs, [4e-05, 2e-6])
    with pytest.raises(ConfigError, match="no stored cost and no LiteLLM price"):
        resolve_pool(["gpt-4-1106-preview", "Mistral-7B-Instruct-v0.2"], _profiles())
    assert model_price("meta/llama-2-70b-chat") == pytest.approx(2e-6)  # via its anyscale price-map entry
