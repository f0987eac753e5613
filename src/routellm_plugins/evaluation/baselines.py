"""Reference scorers users would pick instead of a learned router: prompt length and LiteLLM's rule-based
complexity router. Each maps prompts to scores where higher means "send to the strong model"."""

from __future__ import annotations

import math
import threading
from typing import Callable, Sequence

import numpy as np

from routellm_plugins.features import text_features

#: LiteLLM complexity tiers, cheapest first.
COMPLEXITY_TIERS = ("SIMPLE", "MEDIUM", "COMPLEX", "REASONING")

_lock = threading.Lock()
_classifier: Callable[[str], tuple] | None = None


def length_scores(prompts: Sequence[str]) -> np.ndarray:
    """log(1 + characters): longer prompts first."""
    return text_features(list(prompts))[:, 0].astype(np.float64)


def _complexity_classifier() -> Callable[[str], tuple]:
    """LiteLLM's ComplexityRouter.classify with every tier pointing at one placeholder model (never called)."""
    global _classifier
    with _lock:
        if _classifier is None:
            import litellm
            from litellm.router_strategy.complexity_router.complexity_router import ComplexityRouter

            placeholder = [{"model_name": "placeholder", "litellm_params": {"model": "openai/placeholder", "api_key": "unused"}}]
            router = litellm.Router(model_list=placeholder)
            tiers = {tier: "placeholder" for tier in COMPLEXITY_TIERS}
            _classifier = ComplexityRouter("routellm-baseline", router, {"tiers": tiers}).classify
        return _classifier


def complexity_available() -> str | None:
    """None when LiteLLM's complexity router can be built here, else the reason it cannot."""
    try:
        _complexity_classifier()
    except Exception as exc:  # noqa: BLE001 - optional dependency; the reason is reported, not raised
        return f"{type(exc).__name__} building LiteLLM's ComplexityRouter"
    return None


def complexity_scores(prompts: Sequence[str]) -> np.ndarray:
    """LiteLLM's complexity tier (0..3) plus its raw weighted score squashed into (0, 1) to order prompts within a tier."""
    classify = _complexity_classifier()
    out = np.empty(len(prompts), dtype=np.float64)
    for i, prompt in enumerate(prompts):
        tier, raw, _signals = classify(prompt)
        name = getattr(tier, "value", str(tier))
        rank = COMPLEXITY_TIERS.index(name) if name in COMPLEXITY_TIERS else 0
        out[i] = rank + 1.0 / (1.0 + math.exp(-float(raw)))
    return out


#: name -> scorer, in the order the suite prints them.
BASELINES: dict[str, Callable[[Sequence[str]], np.ndarray]] = {
    "length": length_scores,
    "litellm_complexity": complexity_scores,
}
