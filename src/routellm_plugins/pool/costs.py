"""Prices of profiled models from LiteLLM's local price map (USD per token, input + output).

Profiled names are the data sets' names (``meta/llama-2-70b-chat``); LiteLLM prices a model
under a provider's name (``anyscale/meta-llama/Llama-2-70b-chat-hf``). :data:`PRICE_NAMES` says
which price-map entry stands for a profiled model that LiteLLM does not price under its own name
(the same model at one provider, or the list price of the same tier for retired snapshots).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from routellm_plugins.pool.spec import litellm_cost

#: Profiled name -> LiteLLM price-map entry used for its price.
PRICE_NAMES = {
    "gpt-4-0314": "gpt-4",  # same list price as gpt-4 (0613)
    "claude-v1": "anthropic.claude-v1",
    "claude-v2": "anthropic.claude-v2:1",  # Claude 2.0 and 2.1 had the same list price
    "claude-2.1": "anthropic.claude-v2:1",
    "claude-instant-v1": "anthropic.claude-instant-v1",
    "mixtral-8x7b-instruct": "anyscale/mistralai/Mixtral-8x7B-Instruct-v0.1",
    "meta/llama-2-70b-chat": "anyscale/meta-llama/Llama-2-70b-chat-hf",
    "mistralai/mistral-7b-chat": "anyscale/mistralai/Mistral-7B-Instruct-v0.1",
    "Mistral-7B-Instruct-v0.2": "mistral.mistral-7b-instruct-v0:2",
    "zero-one-ai/Yi-34B-Chat": "fireworks_ai/accounts/fireworks/models/yi-34b-chat",
    "meta/code-llama-instruct-34b-chat": "anyscale/codellama/CodeLlama-34b-Instruct-hf",
    "gemma-7b-it": "anyscale/google/gemma-7b-it",
}


def model_price(name: str) -> float | None:
    """USD per token (input + output) of a profiled model: LiteLLM's price of its name, else of :data:`PRICE_NAMES`; None if unknown."""
    price = litellm_cost(name)
    if price is None and name in PRICE_NAMES:
        price = litellm_cost(PRICE_NAMES[name])
    return price


def model_prices(names: Sequence[str]) -> np.ndarray:
    """:func:`model_price` of each name, NaN where unknown."""
    return np.array([np.nan if (p := model_price(n)) is None else p for n in names], dtype=np.float64)
