"""Checks on user input shared by the core, the CLI and the adapters."""

from __future__ import annotations

import math
import os
import unicodedata
from typing import Any, Sequence

from routellm_plugins.errors import ConfigError, InvalidPromptError, InvalidThresholdError, show_value

#: Characters of a prompt kept before tokenising: the head (instructions) and the tail
#: (where few-shot prompts put the actual question). The embedder truncates further by tokens.
MAX_PROMPT_CHARS_HEAD = 2_000
MAX_PROMPT_CHARS_TAIL = 8_000


def _preview(text: str, n: int = 40) -> str:
    return repr(text[:n] + ("…" if len(text) > n else ""))


def _show(value: Any, n: int = 60) -> str:
    """A short repr of ``value`` that cannot itself fail (huge ints refuse str conversion)."""
    return show_value(value, limit=n)


#: Letters that render as blank although Unicode files them as letters or symbols (Hangul fillers, braille blank).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _visible(char: str) -> bool:
    """False for whitespace, control and format characters (zero-width spaces, NUL, BOM...), separators and surrogates."""
    if char.isspace() or char in _BLANK_LETTERS:
        return False
    category = unicodedata.category(char)
    return not (category[0] == "Z" or category in ("Cc", "Cf", "Cs"))


def has_visible_text(text: str) -> bool:
    """True when ``text`` holds at least one character that renders (O(1) for ordinary text)."""
    return any(map(_visible, text))


def clean_prompt(prompt: Any, index: int | None = None) -> str:
    """Return ``prompt`` as a str safe to tokenise, or raise InvalidPromptError.

    Refuses non-str values (bytes included) and text with nothing visible in it (whitespace,
    zero-width and other format characters, NUL and other control characters). Lone
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
        head, tail = prompt[:MAX_PROMPT_CHARS_HEAD], prompt[-MAX_PROMPT_CHARS_TAIL:]
        if not (has_visible_text(head) or has_visible_text(tail)):  # what the encoder would see is blank
            raise InvalidPromptError(f"prompt{where} is empty: only invisible characters in its first and last {MAX_PROMPT_CHARS_HEAD + MAX_PROMPT_CHARS_TAIL:,}")
        prompt = head + "\n…\n" + tail
    elif not has_visible_text(prompt):
        raise InvalidPromptError(f"prompt{where} is empty: only invisible characters ({len(prompt)} zero-width, control or format characters)")
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


def check_positive_int(value: Any, name: str, *, maximum: int | None = None) -> int:
    """An int >= 1 (and <= ``maximum``), or ConfigError naming it; bools and numeric strings are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer >= 1, got {type(value).__name__} {_show(value)}")
    if value < 1 or (maximum is not None and value > maximum):
        bound = "" if maximum is None else f" and <= {maximum:,}"
        raise ConfigError(f"{name} must be an integer >= 1{bound}, got {_show(value)}")
    return value


def check_seconds(value: Any, name: str) -> float:
    """A finite number of seconds > 0 (ints and floats only), or ConfigError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number of seconds > 0, got {type(value).__name__} {_show(value)}")
    try:
        v = float(value)
    except OverflowError:
        raise ConfigError(f"{name} must be a finite number of seconds > 0, got {_show(value)}") from None
    if math.isnan(v) or math.isinf(v) or v <= 0:
        raise ConfigError(f"{name} must be a finite number of seconds > 0, got {_show(value)}")
    return v


def check_path(value: Any, name: str) -> str | os.PathLike[str]:
    """A str or os.PathLike naming a file or folder, or ConfigError naming the value."""
    if isinstance(value, os.PathLike) or (isinstance(value, str) and value.strip()):
        return value
    raise ConfigError(f"{name} must be a folder path (str), got {type(value).__name__} {_show(value)}")
