"""Checks on user input shared by the core, the CLI and the adapters."""

from __future__ import annotations

import math
from typing import Any, Sequence

from routellm_plugins.errors import InvalidPromptError, InvalidThresholdError

#: Characters of a prompt kept before tokenising: the head (instructions) and the tail
#: (where few-shot prompts put the actual question). The embedder truncates further by tokens.
MAX_PROMPT_CHARS_HEAD = 2_000
MAX_PROMPT_CHARS_TAIL = 8_000


def _preview(text: str, n: int = 40) -> str:
    return repr(text[:n] + ("…" if len(text) > n else ""))


def _show(value: Any, n: int = 60) -> str:
    """A short repr of ``value`` that cannot itself fail (huge ints refuse str conversion)."""
    try:
        return f"{value!r:.{n}}"
    except Exception:  # noqa: BLE001 - only a label for an error message
        return f"<{type(value).__name__}>"


def clean_prompt(prompt: Any, index: int | None = None) -> str:
    """Return ``prompt`` as a str safe to tokenise, or raise InvalidPromptError.

    Refuses non-str values (bytes included) and empty/whitespace-only text. Lone
    surrogates (text decoded badly upstream) are replaced, and very long text is cut to
    its head and tail, so a 1 MB prompt costs no more than a 10 kB one.
    """
    where = "" if index is None else f" at index {index}"
    if isinstance(prompt, (bytes, bytearray)):
        raise InvalidPromptError(f"prompt{where} is bytes, not str: decode it first (e.g. .decode('utf-8'))")
    if not isinstance(prompt, str):
        raise InvalidPromptError(f"prompt{where} must be a str, got {type(prompt).__name__}: {_show(prompt)}")
    if not prompt.strip():
        raise InvalidPromptError(f"prompt{where} is empty or whitespace only: {_preview(prompt)}")
    if len(prompt) > MAX_PROMPT_CHARS_HEAD + MAX_PROMPT_CHARS_TAIL:
        prompt = prompt[:MAX_PROMPT_CHARS_HEAD] + "\n…\n" + prompt[-MAX_PROMPT_CHARS_TAIL:]
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError:
        prompt = prompt.encode("utf-8", "replace").decode("utf-8")
    return prompt


def clean_prompts(prompts: Any) -> list[str]:
    """Validate a batch of prompts (a non-str sequence of str) and return them cleaned."""
    if isinstance(prompts, (str, bytes, bytearray)):
        raise InvalidPromptError(
            f"expected a sequence of prompts, got a single {type(prompts).__name__}: "
            "wrap it in a list, or use route() for one prompt"
        )
    if not isinstance(prompts, Sequence):
        try:
            prompts = list(prompts)
        except TypeError:
            raise InvalidPromptError(f"expected a sequence of prompts, got {type(prompts).__name__}") from None
    return [clean_prompt(p, i) for i, p in enumerate(prompts)]


def check_unit_interval(value: Any, name: str) -> float:
    """Return ``value`` as a float in [0, 1], or raise InvalidThresholdError naming it."""
    if isinstance(value, bool):
        raise InvalidThresholdError(f"{name} must be a number in [0, 1], got the bool {value!r}")
    try:
        value = float(value)  # ints, numpy scalars, numeric strings from configs
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float
        raise InvalidThresholdError(f"{name} must be a number in [0, 1], got {_show(value)}") from None
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise InvalidThresholdError(f"{name} must be in [0, 1], got {value!r}")
    return value


def check_threshold(value: Any) -> float:
    """A routing threshold: a probability in [0, 1]."""
    return check_unit_interval(value, "threshold")


def check_share(value: Any) -> float:
    """A target share of strong calls in [0, 1]."""
    return check_unit_interval(value, "strong_share")


def check_non_negative(value: Any, name: str) -> float:
    """A finite number >= 0 (costs, lambda), or raise InvalidThresholdError naming it."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidThresholdError(f"{name} must be a number >= 0, got {_show(value)}") from None
    if isinstance(value, bool) or math.isnan(v) or math.isinf(v) or v < 0:
        raise InvalidThresholdError(f"{name} must be a finite number >= 0, got {value!r}")
    return v
