"""Clear answers from the proxy to malformed and unauthenticated requests (400 / 401, never 500).

LiteLLM 1.108's key check reads the JSON body as a mapping before any hook runs, so a body of
``[]``, ``"x"`` or ``null`` fails inside it with HTTP 500. :func:`install_request_guard` puts a
check in front of that dependency (FastAPI's ``dependency_overrides``): a JSON body that is not
an object gets HTTP 400 naming its type; everything else goes on to LiteLLM's own check
unchanged. The routing callback installs it when the proxy loads the callback from
``config.yaml``, so the example config needs no further setting.

A key that is not the master key on a proxy without a key database is answered 401 by
:func:`auth_error_for` (LiteLLM reports it as 400 "No connected db").
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger("litellm_adapter")

_GUARDED = "__routellm_request_guard__"


def body_problem(body: Any) -> str | None:
    """Why a parsed request body cannot be served (it is not a JSON object), or None when it can."""
    if isinstance(body, dict):
        return None
    kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    kind = "null" if body is None else kinds.get(type(body), f"a {type(body).__name__}")
    return f"request body must be a JSON object, got {kind}"


def install_request_guard(app: Any) -> bool:
    """Answer 400 to non-object JSON bodies on every route of LiteLLM's proxy ``app``; True when installed (idempotent)."""
    try:
        from litellm.proxy._types import ProxyException
        from litellm.proxy.auth.user_api_key_auth import user_api_key_auth
        from litellm.proxy.common_utils.http_parsing_utils import _read_request_body
    except ImportError:  # pragma: no cover - another LiteLLM layout: leave the proxy as it is
        log.warning("routellm request guard not installed: this LiteLLM version has no user_api_key_auth dependency")
        return False
    overrides = getattr(app, "dependency_overrides", None)
    if not isinstance(overrides, dict):
        return False
    if getattr(overrides.get(user_api_key_auth), _GUARDED, False):
        return True

    @functools.wraps(user_api_key_auth)
    async def guarded_auth(request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                body = await _read_request_body(request=request)  # parsed once; LiteLLM reuses the cached result
            except Exception:  # noqa: BLE001 - unparseable JSON: LiteLLM's own check answers it (400)
                body = {}
            problem = body_problem(body)
            if problem is not None:  # LiteLLM's own error shape: {"error": {"message", "type", "param", "code"}}
                raise ProxyException(message=problem, type="invalid_request_error", param="request_body", code=400)
        return await user_api_key_auth(request, *args, **kwargs)

    setattr(guarded_auth, _GUARDED, True)
    overrides[user_api_key_auth] = guarded_auth
    return True


def auth_error_for(exc: BaseException) -> Any:
    """An HTTP 401 for LiteLLM's "no connected db" key-check failure (a key that is not the master key), else None."""
    kind = getattr(exc, "type", None)
    kind = getattr(kind, "value", kind)
    if kind != "no_db_connection":
        return None
    from fastapi import HTTPException

    return HTTPException(status_code=401, detail="Authentication Error: invalid API key (this proxy has no key database; only the master key is accepted)")
