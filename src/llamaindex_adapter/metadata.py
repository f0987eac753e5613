"""LLMMetadata for a router over several child LLMs: what every child can do, no more."""

from __future__ import annotations

from typing import Mapping

from llama_index.core.base.llms.types import LLMMetadata, MessageRole
from llama_index.core.llms import LLM


def combined_metadata(children: Mapping[str, LLM], router_name: str) -> LLMMetadata:
    """Smallest context window and output budget, chat/function calling only if all children have it."""
    metas = {key: llm.metadata for key, llm in children.items()}
    roles = {m.system_role for m in metas.values()}
    names = ",".join(f"{key}={m.model_name}" for key, m in metas.items())
    outputs = [m.num_output for m in metas.values()]
    # num_output <= 0 means "unknown/unbounded" in LlamaIndex (MockLLM uses -1): prefer known budgets.
    known = [n for n in outputs if n > 0]
    return LLMMetadata(
        context_window=min(m.context_window for m in metas.values()),
        num_output=min(known) if known else max(outputs),
        is_chat_model=all(m.is_chat_model for m in metas.values()),
        is_function_calling_model=all(m.is_function_calling_model for m in metas.values()),
        model_name=f"routellm-{router_name}[{names}]",
        system_role=roles.pop() if len(roles) == 1 else MessageRole.SYSTEM,
    )
