"""The ``shared_state`` setting: where the fleet's routing state lives and how long a replica waits for it.

A value is a Redis URL (``redis://host:port/db``, ``rediss://...``, ``unix:///path?db=0``), LiteLLM's
``os.environ/NAME`` form (the URL is read from that variable when the controller is built, so a
password stays out of config files), or a mapping with ``url`` and any of the options of
:class:`SharedStateConfig`. Errors name the bad value with any password hidden.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, replace
from typing import Any, Mapping

from routellm_plugins.errors import ConfigError, show_value

#: URL schemes redis-py connects with.
SCHEMES = ("redis://", "rediss://", "unix://")
#: LiteLLM's convention for a value read from the environment.
ENV_PREFIX = "os.environ/"
_KEY_PART = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_USERINFO = re.compile(r"^(?P<scheme>[a-z]+://)(?P<userinfo>[^@/]*)@")


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` part replaced by ``***@`` (for messages and logs)."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", url)


@dataclass(frozen=True)
class SharedStateConfig:
    """Where the shared routing state lives and the time budget for reaching it.

    ``prefix`` namespaces every key (several fleets can share one Redis); ``scope`` separates
    routing policies inside a fleet (default: the router's name; a LiteLLM route uses its route
    name). ``timeout_s`` bounds one Redis call (connect and reply). After a failure no call is
    tried for ``retry_after_s`` (local state answers at no cost), then the next one probes.
    ``sync_every_s`` is how often a replica pushes its new scores and counters and re-reads the
    fleet's window (one pipelined round-trip, off the request path).
    """

    url: str
    prefix: str = "routellm"
    scope: str | None = None
    timeout_s: float = 0.1
    retry_after_s: float = 2.0
    sync_every_s: float = 0.2

    @property
    def shown_url(self) -> str:
        """The URL without its password."""
        return redact_url(self.url)

    def __repr__(self) -> str:  # never show a password
        return (f"SharedStateConfig(url={self.shown_url!r}, prefix={self.prefix!r}, scope={self.scope!r}, "
                f"timeout_s={self.timeout_s}, retry_after_s={self.retry_after_s}, sync_every_s={self.sync_every_s})")


_OPTIONS = ("url", "prefix", "scope", "timeout_s", "retry_after_s", "sync_every_s")


def _show(value: Any) -> str:
    return show_value(redact_url(value) if isinstance(value, str) else value)


def _url(value: Any) -> str:
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        name = value[len(ENV_PREFIX):]
        resolved = os.environ.get(name)
        if not resolved:
            raise ConfigError(f"shared_state names the environment variable {name!r} ({value!r}), which is not set")
        value = resolved.strip()
    if not isinstance(value, str) or not value.startswith(SCHEMES):
        raise ConfigError(f"shared_state must be a Redis URL such as 'redis://host:6379/0' (schemes {', '.join(SCHEMES)}), "
                          f"an os.environ/NAME reference or a mapping with url:, got {_show(value)}")
    return value


def _seconds(value: Any, name: str, maximum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"shared_state.{name} must be a number of seconds, got {type(value).__name__} {_show(value)}")
    v = float(value)
    if math.isnan(v) or not 0 < v <= maximum:
        raise ConfigError(f"shared_state.{name} must be > 0 and <= {maximum:g} seconds, got {_show(value)}")
    return v


def _key_part(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _KEY_PART.match(value):
        raise ConfigError(f"shared_state.{name} must be 1 to 64 letters, digits or '_.-', got {_show(value)}")
    return value


def parse_shared_state(value: Any) -> SharedStateConfig | None:
    """The config for a ``shared_state`` setting (None: state stays in the process); ConfigError names a bad value."""
    if value is None:
        return None
    if isinstance(value, SharedStateConfig):
        return value
    if isinstance(value, str):
        return SharedStateConfig(_url(value))
    if not isinstance(value, Mapping):
        raise ConfigError(f"shared_state must be a Redis URL or a mapping with url:, got {type(value).__name__} {_show(value)}")
    unknown = sorted(str(k) for k in value if k not in _OPTIONS)
    if unknown:
        raise ConfigError(f"unknown shared_state option(s) {[show_value(k, limit=40) for k in unknown[:10]]}; known: {list(_OPTIONS)}")
    if "url" not in value:
        raise ConfigError("shared_state needs url: (e.g. 'redis://host:6379/0')")
    cfg = SharedStateConfig(_url(value["url"]))
    if value.get("prefix") is not None:
        cfg = replace(cfg, prefix=_key_part(value["prefix"], "prefix"))
    if value.get("scope") is not None:
        cfg = replace(cfg, scope=_key_part(value["scope"], "scope"))
    for name, maximum in (("timeout_s", 60.0), ("retry_after_s", 3600.0), ("sync_every_s", 60.0)):
        if value.get(name) is not None:
            cfg = replace(cfg, **{name: _seconds(value[name], name, maximum)})
    return cfg


def with_scope(value: Any, scope: str) -> Any:
    """``value`` (a shared_state setting) with ``scope`` filled in unless it names one; None stays None."""
    if value is None:
        return None
    scope = re.sub(r"[^A-Za-z0-9_.\-]", "_", scope)[:64] or "default"
    if isinstance(value, SharedStateConfig):
        return value if value.scope is not None else replace(value, scope=scope)
    if isinstance(value, Mapping):
        return value if value.get("scope") is not None else {**value, "scope": scope}
    return {"url": value, "scope": scope}
