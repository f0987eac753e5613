"""Values shown in this adapter's error messages: bounded, and never a secret.

:func:`show` extends :func:`routellm_plugins.errors.show_value` to LiteLLM configs, where API keys
sit next to routing settings: a mapping or list is shown by its shape (keys and types, never its
values), and a string that looks like a credential (``sk-...``, a long token) is withheld.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from routellm_plugins.errors import is_secret_key, show_value

#: Strings shaped like API keys or tokens: a key prefix, or a long run without spaces.
_SECRET_SHAPE = re.compile(r"^(?:sk|pk|rk|ak|key|api|tok|token|bearer|ghp|xox[a-z])[-_ ]|^[A-Za-z0-9_\-+/=.]{24,}$", re.IGNORECASE)


def looks_secret(text: str) -> bool:
    """True for a string shaped like a credential (``sk-...``, ``Bearer ...``, 24+ characters of a token alphabet)."""
    return bool(_SECRET_SHAPE.match(text.strip()))


def show(value: Any, *, key: Any = None, limit: int = 60) -> str:
    """A short description of ``value`` for an error message that cannot leak a secret."""
    if is_secret_key(key):
        return f"<redacted {type(value).__name__}>"
    if isinstance(value, Mapping):
        keys = [str(k)[:30] for k in list(value)[:6]]
        return f"a {type(value).__name__} with keys {keys}" + (" ..." if len(value) > 6 else "")
    if isinstance(value, (list, tuple, set)):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    if isinstance(value, str) and looks_secret(value):
        return f"<redacted str of {len(value)} chars>"
    return show_value(value, limit=limit)
