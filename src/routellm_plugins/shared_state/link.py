"""The connection to Redis, behind a circuit breaker, so a dead or slow Redis never holds a request up.

Every call runs under the socket timeout of the config (connect and reply). After a failure the
breaker opens: for ``retry_after_s`` no call is made (callers fall back to local state at no
cost), then the next call probes; success closes it again and redis-py reconnects by itself.
Failures are logged at most once per :data:`LOG_EVERY_S` with the count since the last line,
naming the error type only (never the server's text) and the URL without its password.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Callable, TypeVar

from routellm_plugins.errors import ConfigError, RouteLLMError
from routellm_plugins.shared_state.config import SharedStateConfig

log = logging.getLogger("routellm_plugins")

#: Seconds between two "shared_state unavailable" warnings.
LOG_EVERY_S = 10.0
T = TypeVar("T")


class Unavailable(RouteLLMError):
    """Redis could not be reached in time (or the breaker is open): use local state."""


def _redis_module() -> Any:
    try:
        import redis
    except ImportError:  # pragma: no cover - the extra installs it
        raise ConfigError("shared_state needs the redis client library: pip install 'routellm-plugins[redis]'") from None
    return redis


class RedisLink:
    """One Redis client for one controller, with a circuit breaker and round-trip counters; thread-safe."""

    def __init__(self, config: SharedStateConfig) -> None:
        self.config = config
        self._redis = _redis_module()  # fail at build time when the library is missing
        self._client: Any = None
        self._lock = threading.Lock()
        self._open_until = -math.inf
        self._down_since: float | None = None
        self._last_error: str | None = None
        self._last_log = -math.inf
        self._failed_since_log = 0
        self.counters = {"round_trips": 0, "failures": 0, "skipped": 0, "reconnects": 0}

    # ---- the client ------------------------------------------------------------------------
    def client(self) -> Any:
        """The redis-py client (created on first use; it connects lazily and reconnects on its own)."""
        with self._lock:
            if self._client is None:
                redis = self._redis
                from redis.backoff import NoBackoff
                from redis.retry import Retry

                # One immediate retry on a dropped connection (a pooled socket that died with a restarted
                # server); none on a timeout, so a slow server costs at most about two timeouts.
                retry = Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,))
                self._client = redis.Redis.from_url(
                    self.config.url, socket_timeout=self.config.timeout_s, socket_connect_timeout=self.config.timeout_s,
                    retry=retry, retry_on_timeout=False, health_check_interval=0, client_name="routellm",
                )
            return self._client

    @property
    def available(self) -> bool:
        """False from a failed call until the next successful one."""
        return self._down_since is None

    @property
    def last_error(self) -> str | None:
        """Type name of the last failure while unavailable (never its text)."""
        return self._last_error if self._down_since is not None else None

    # ---- calls -------------------------------------------------------------------------------
    def call(self, fn: Callable[[Any], T]) -> T:
        """``fn(client)``, counted as one round-trip; raises :class:`Unavailable` when the breaker is open or the call fails."""
        now = time.monotonic()
        if now < self._open_until:
            with self._lock:
                self.counters["skipped"] += 1
            raise Unavailable(f"shared_state unavailable ({self._last_error})")
        redis = self._redis
        try:
            result = fn(self.client())
        except (redis.exceptions.RedisError, OSError) as exc:
            self._failed(exc)
            raise Unavailable(f"shared_state unavailable ({type(exc).__name__})") from None
        with self._lock:
            self.counters["round_trips"] += 1
            down_since, self._down_since = self._down_since, None
            if down_since is not None:
                self.counters["reconnects"] += 1
        if down_since is not None:
            log.warning("shared_state %s is back after %.1f s: fleet state resumed", self.config.shown_url, time.monotonic() - down_since)
        return result

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self.counters["failures"] += 1
            self._failed_since_log += 1
            self._open_until = now + self.config.retry_after_s
            self._last_error = type(exc).__name__
            if self._down_since is None:
                self._down_since = now
            client = self._client
            due = now - self._last_log >= LOG_EVERY_S
            if due:
                count, self._failed_since_log, self._last_log = self._failed_since_log, 0, now
        if client is not None:
            try:  # drop every pooled socket: after a restart they are all dead
                client.connection_pool.disconnect()
            except Exception:  # noqa: BLE001 - best effort
                pass
        if due:
            log.warning("shared_state %s unavailable (%s): routing from local state, next try in %g s (%d failed calls since the last such warning)",
                        self.config.shown_url, type(exc).__name__, self.config.retry_after_s, count)

    def stats(self) -> dict[str, Any]:
        """Counters (round_trips, failures, skipped, reconnects) and whether Redis is reachable now."""
        with self._lock:
            return {**self.counters, "available": self._down_since is None}

    def close(self) -> None:
        """Close the client's sockets (a later call reconnects)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - best effort
                pass
