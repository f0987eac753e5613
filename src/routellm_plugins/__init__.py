"""routellm-plugins core: cost-saving LLM routing shared by the LangChain, LlamaIndex and LiteLLM adapters.

Importing this package loads no model, reads no key and touches no network.
"""

from routellm_plugins.controller import RoutingController
from routellm_plugins.decision import STRONG, WEAK, Candidate, Decision
from routellm_plugins.errors import (
    CheckpointError,
    ConfigError,
    DataFormatError,
    InvalidPromptError,
    InvalidThresholdError,
    NotFittedError,
    RouteLLMError,
    ScoringError,
    UnknownModelError,
    UnknownRouterError,
)
from routellm_plugins.registry import available_routers, load_router, parse_model_string
from routellm_plugins.routers.base import Router

__version__ = "0.1.0"

__all__ = [
    "STRONG",
    "WEAK",
    "Candidate",
    "CheckpointError",
    "ConfigError",
    "DataFormatError",
    "Decision",
    "InvalidPromptError",
    "InvalidThresholdError",
    "NotFittedError",
    "RouteLLMError",
    "Router",
    "RoutingController",
    "ScoringError",
    "UnknownModelError",
    "UnknownRouterError",
    "available_routers",
    "load_router",
    "parse_model_string",
]
