"""Deployment names -> profiled model names (``openai/gpt-4-1106-preview`` -> ``gpt-4-1106-preview``).

A pool is often written with the names a LiteLLM config uses: provider prefixes
(``openai/``, ``together_ai/meta-llama/``, ``bedrock/anthropic.``), Hugging Face spellings
(``Llama-2-70b-chat-hf``) or version tags (``claude-2.1``). :func:`profiled_name` resolves one
such name, in this order:

1. an explicit alias (``aliases={"my-deployment": "claude-2.1"}``);
2. the exact profiled name;
3. the same :func:`name_key` (provider and organisation path, vendor prefix, ``-hf`` and case dropped;
   ``_`` and ``.`` read as ``-``, ``:`` version tags as ``-``), or a known spelling of
   :data:`SPELLINGS`, when exactly one profiled model matches.

A name that resolves to nothing raises :class:`UnknownModelError`, which says how to profile the model.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

from routellm_plugins.errors import ConfigError, UnknownModelError

#: Vendor prefixes Bedrock puts before the model (``anthropic.claude-v2``).
_VENDOR_DOT = re.compile(r"^(anthropic|meta|mistral|cohere|amazon|ai21)\.")
#: Other spellings of profiled models (name keys on the left, profiled names on the right).
SPELLINGS = {
    "gpt-4-turbo-preview": "gpt-4-1106-preview",
    "gpt-4-1106": "gpt-4-1106-preview",
    "mixtral-8x7b-instruct-v0-1": "mixtral-8x7b-instruct",
    "mixtral-8x7b-chat": "mixtral-8x7b-instruct",
    "open-mixtral-8x7b": "mixtral-8x7b-instruct",
    "llama-2-70b-chat": "meta/llama-2-70b-chat",
    "llama2-70b-chat": "meta/llama-2-70b-chat",
    "mistral-7b-instruct-v0-1": "mistralai/mistral-7b-chat",
    "claude-1": "claude-v1",
    "claude-2": "claude-v2",
    "claude-2-0": "claude-v2",
    "claude-v2-1": "claude-2.1",
    "claude-2-1": "claude-2.1",
    "claude-instant-v1": "claude-instant-v1",
    "yi-34b-chat": "zero-one-ai/Yi-34B-Chat",
    "wizardlm-13b-v1-2": "WizardLM/WizardLM-13B-V1.2",
    "codellama-34b-instruct": "meta/code-llama-instruct-34b-chat",
    "code-llama-34b-instruct": "meta/code-llama-instruct-34b-chat",
    "gemini-1-0-pro": "gemini-pro",
    "tulu-2-dpo-70b": "tulu-2-dpo-70b",
}


def name_key(name: str) -> str:
    """A spelling-insensitive key: the last path part (provider and organisation dropped) without a Bedrock vendor
    prefix, lower case, ``_ . :`` as ``-``, ``-hf`` dropped."""
    parts = [p for p in str(name).strip().split("/") if p]
    base = parts[-1] if parts else ""
    key = _VENDOR_DOT.sub("", base.lower())
    key = re.sub(r"[\s_.:]+", "-", key)
    key = re.sub(r"-hf$", "", key)
    return key.strip("-")


def listing(names: Iterable[str], limit: int = 20) -> str:
    """``names`` comma-separated, cut after ``limit`` with the number left out."""
    names = list(names)
    head = ", ".join(names[:limit]) or "none"
    return head + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def profile_hint(model: str) -> str:
    """How to give ``model`` a profile (for error messages)."""
    return (f"profile it with `routellm-plugins profile --model {model} --out POOL_DIR` (sends the pool's profiling prompts "
            f"to it through LiteLLM and grades the answers), or map it to a profiled model with aliases={{{model!r}: '<profiled name>'}}")


def profiled_name(name: str, profiled: Iterable[str], aliases: Mapping[str, str] | None = None) -> str:
    """The profiled model that ``name`` denotes (see module doc); UnknownModelError names the choices and how to profile."""
    known = list(profiled)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"model name must be a non-empty string, got {name!r}")
    if aliases:
        if name in aliases:
            target = aliases[name]
            if target not in known:
                raise UnknownModelError(f"alias {name!r} -> {target!r}: {target!r} has no profile in this pool; profiled models: {listing(known)}")
            return target
    if name in known:
        return name
    key = name_key(name)
    hits = [m for m in known if name_key(m) == key]
    if not hits and key in SPELLINGS and SPELLINGS[key] in known:
        hits = [SPELLINGS[key]]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise ConfigError(f"model {name!r} matches several profiled models {hits}; say which with aliases={{{name!r}: ...}}")
    close = [m for m in known if key and (key in name_key(m) or name_key(m) in key)][:5]
    near = f" (similar: {', '.join(close)})" if close else ""
    raise UnknownModelError(f"model {name!r} has no profile in this pool{near}; {profile_hint(name)}. "
                            f"Profiled models: {listing(known)}")
