"""Error types raised by routellm_plugins. Every error names the offending value."""

from __future__ import annotations


class RouteLLMError(Exception):
    """Base class of every error this package raises on purpose."""


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
