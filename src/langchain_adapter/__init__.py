"""LangChain adapter for routellm_plugins: ``ChatRouteLLM`` routes each chat call to a strong
or weak child model (or a named pool), ``RouterRunnable`` routes between whole chains.

Importing this package loads no router, reads no key and touches no network.
"""

from langchain_adapter.chat_model import ChatRouteLLM, served_model_name
from langchain_adapter.context import DEFAULT_SESSION_KEYS, METADATA_KEY, session_id
from langchain_adapter.runnable import RouterRunnable
from langchain_adapter.text import CONVERSATION, LAST_HUMAN, LAST_USER, content_text, input_text, routing_text

__all__ = [
    "CONVERSATION",
    "DEFAULT_SESSION_KEYS",
    "LAST_HUMAN",
    "LAST_USER",
    "METADATA_KEY",
    "ChatRouteLLM",
    "RouterRunnable",
    "content_text",
    "input_text",
    "routing_text",
    "served_model_name",
    "session_id",
]
