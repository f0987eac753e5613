"""Error types raised by routellm_plugins. Every error names the offending value."""

from __future__ import annotations


class RouteLLMError(Exception):
    """Base class of every error this package raises on purpose."""

    #: A short description holding no user text and no secret, safe for logs and decision reasons.
    public_detail: str | None = None


class InvalidPromptError(RouteLLMError, ValueError):
    """A prompt is not a non-empty string (or a sequence of them)."""


class InvalidThresholdError(RouteLLMError, ValueError):
    """A threshold, share or cost parameter is NaN, negative or out of range."""


class UnknownRouterError(RouteLLMError, ValueError):
    """A router name (or model string) does not name a known router."""


class UnknownModelError(RouteLLMError, KeyError):
    """A model name is not among the models a router was trained on."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class CheckpointError(RouteLLMError, ValueError):
    """A checkpoint is missing, corrupt, or in a format we refuse to load (pickle)."""


class ConfigError(RouteLLMError, ValueError):
    """A router or adapter configuration is malformed."""


class DataFormatError(RouteLLMError, ValueError):
    """An input data file lacks a required column or has unreadable rows."""


class ScoringError(RouteLLMError, RuntimeError):
    """A router could not score a prompt (embedder failure, timeout, bad output)."""


class NotFittedError(RouteLLMError, RuntimeError):
    """A router was used before ``fit`` or ``load`` gave it learned state."""


# ---- formatting errors and values for messages, logs and response metadata --------------------
#: Substrings of setting names whose values are never shown in a message (API keys, tokens...).
SECRET_KEY_PARTS = ("key", "token", "secret", "password", "passwd", "authorization", "auth", "credential", "cookie", "signature")
#: Attributes under which exceptions of HTTP clients and SDKs carry a status code.
_STATUS_ATTRS = ("status_code", "status", "http_status", "code")


def is_secret_key(name: object) -> bool:
    """True when a setting called ``name`` may hold a secret (``api_key``, ``token``, ``Authorization``...)."""
    if not isinstance(name, str):
        return False
    lowered = name.lower().replace("-", "_")
    return any(part in lowered for part in SECRET_KEY_PARTS)


def show_value(value: object, *, key: object = None, limit: int = 60) -> str:
    """A bounded repr of ``value`` for an error message; ``<redacted>`` when ``key`` names a secret.

    Never builds the full repr (a config can hold a structure with millions of leaves) and
    cannot itself fail.
    """
    if is_secret_key(key):
        return f"<redacted {type(value).__name__}>"
    import reprlib

    short = reprlib.Repr()
    short.maxstring = short.maxother = short.maxlong = limit
    short.maxlevel, short.maxlist, short.maxtuple, short.maxdict, short.maxset = 2, 4, 4, 4, 4
    try:
        text = short.repr(value)
    except Exception:  # noqa: BLE001 - only a label for an error message
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_code_of(exc: BaseException) -> int | None:
    """The HTTP-like status code an exception carries (``exc.status_code``, ``exc.response.status_code``...), or None."""
    for holder in (exc, getattr(exc, "response", None)):
        for attr in _STATUS_ATTRS:
            try:
                value = getattr(holder, attr, None)
            except Exception:  # noqa: BLE001 - a property that raises carries no status
                continue
            if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
                return value
    return None


def describe_error(exc: BaseException) -> str:
    """An exception as its type name and status code, never its text: ``"RateLimitError (status 429)"``.

    Provider and library messages can quote the prompt or an API key, so they never reach a log
    line, a decision's ``reason`` or response metadata. A wrapped cause is named too
    (``"ScoringError from RateLimitError (status 429)"``). A :class:`RouteLLMError` raised with a
    ``public_detail`` (text written by this package that holds no user data) adds it after a colon.
    """
    chain: list[BaseException] = [exc]
    while len(chain) < 3 and chain[-1].__cause__ is not None and chain[-1].__cause__ not in chain:
        chain.append(chain[-1].__cause__)
    text = " from ".join(type(e).__name__ for e in chain)
    status = next((code for code in map(status_code_of, chain) if code is not None), None)
    if status is not None:
        text += f" (status {status})"
    detail = getattr(exc, "public_detail", None) if isinstance(exc, RouteLLMError) else None
    if isinstance(detail, str) and detail:
        text += f": {detail[:200]}"
    return text


def with_public_detail(exc: RouteLLMError, detail: str) -> RouteLLMError:
    """Attach ``detail`` (no user text, no secret) that :func:`describe_error` may show; returns ``exc``."""
    exc.public_detail = detail
    return exc
