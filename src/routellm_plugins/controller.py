"""The serving-side policy shared by every adapter: threshold choice, fallback, timeout, sticky sessions.

Adapters call :meth:`RoutingController.decide` with the text to route on; it never raises
for a request the router cannot score: it returns a fallback decision that says why. A reason
names the cause and the exception type (and status code), never an exception's text, which
may quote the prompt or a key.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
from dataclasses import replace
from typing import Any, Mapping

from routellm_plugins.config_io import read_config
from routellm_plugins.decision import STRONG, WEAK, Decision
from routellm_plugins.errors import CheckpointError, ConfigError, InvalidPromptError, describe_error, show_value
from routellm_plugins.registry import DEFAULT_ROUTER, load_router
from routellm_plugins.routers.base import Router
from routellm_plugins.sessions import MAX_SESSIONS_LIMIT, SessionMemory, session_key, sticky_policy
from routellm_plugins.settings import CONTROLLER_SETTINGS, STICKY_OFF
from routellm_plugins.shedding import Overloaded, SheddingPool
from routellm_plugins.thresholds import MAX_WINDOW, AdaptiveThreshold
from routellm_plugins.validation import check_path, check_positive_int, check_seconds, check_share, check_threshold, clean_prompt

__all__ = ["RoutingController", "read_config"]

log = logging.getLogger("routellm_plugins")

#: Seconds between two "overloaded" warnings (the count of shed requests is logged with each).
OVERLOAD_LOG_EVERY_S = 10.0
#: Settings ``RoutingController`` (and ``from_config``) accept: the controller settings of :mod:`routellm_plugins.settings`.
_CONFIG_KEYS = frozenset(CONTROLLER_SETTINGS)


def _invalid_text_reason(text: Any) -> str:
    """Why ``text`` (refused by ``clean_prompt``) cannot be routed, without quoting it."""
    if not isinstance(text, str):
        return f"invalid routing text: got {type(text).__name__}, not str"
    return "invalid routing text: empty or only invisible characters"


def _fallback_reason(exc: BaseException) -> str:
    """The cause of a scoring failure in a few words: never the exception's text, never the prompt."""
    if isinstance(exc, Overloaded):
        return "overloaded: routing queue full or too slow for timeout_s, answered without scoring"
    if isinstance(exc, TimeoutError):
        return f"timeout ({type(exc).__name__}): scoring took longer than timeout_s"
    if isinstance(exc, (ConfigError, CheckpointError)):
        return f"router misconfigured: {describe_error(exc)}"
    return f"scoring failed: {describe_error(exc)}"


class _Unroutable(Exception):
    """Internal: the routing text itself cannot be scored; the message is the (prompt-free) reason."""


class RoutingController:
    """Decides, per request, which model key serves it.

    Threshold policy (first that applies): ``threshold``; ``strong_share`` with
    ``adaptive=True`` (rolling quantile over the last ``window`` live scores); ``strong_share``
    on the router's stored calibration scores; the router's own default threshold.
    ``fallback`` ("strong" or "weak") is the key used when scoring fails; with ``timeout_s``
    scoring runs on a few worker threads with a short queue: a request that would wait past
    ``timeout_s`` is answered by the fallback at once ("overloaded") and abandoned work is
    dropped. ``sticky_sessions`` is the per-conversation policy ("off", "escalate", "first";
    True means "escalate"), keyed by the ``session_id`` given to :meth:`decide`.

    ``shared_state`` (a Redis URL or a mapping, see :mod:`routellm_plugins.shared_state`) shares the
    adaptive window, sticky sessions and decision counters with every replica using the same
    Redis, prefix and scope; while Redis is unreachable decisions come from local state and say so
    in ``reason``. Call :meth:`close` to flush them when done.

    Pool routing (UniRoute): give ``pool`` (``{name: cost}``, ``{name: {"cost": c, "profile": p}}`` or
    a list of names priced from the stored profiles or LiteLLM) and one of ``lam`` (cost weight),
    ``target_cost`` (average cost per request) or ``quality_floor`` (average predicted quality).
    ``router`` then defaults to ``"uniroute"``; ``keys`` are the pool names and each decision lists
    every candidate's predicted quality and cost. ``fallback="strong"`` means the pool model of
    highest profiled quality.

    Every setting is one of :data:`routellm_plugins.settings.SETTINGS` (scope "controller").
    """

    def __init__(
        self,
        router: Router | str | Mapping[str, Any] | None = None,
        *,
        threshold: float | None = None,
        strong_share: float | None = None,
        adaptive: bool = False,
        window: int = 1000,
        fallback: str = STRONG,
        timeout_s: float | None = None,
        sticky_sessions: str | bool = STICKY_OFF,
        max_sessions: int = 10_000,
        session_ttl_s: float | None = None,
        shared_state: str | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        embedder: Any = None,
        pool: Mapping[str, Any] | list[str] | None = None,
        lam: float | None = None,
        target_cost: float | None = None,
        quality_floor: float | None = None,
    ) -> None:
        # Cheap checks first: a bad setting fails before any model loads.
        if not isinstance(adaptive, bool):  # a config string such as "false" must not read as true
            raise ConfigError(f"adaptive must be true or false, got {show_value(adaptive)}")
        policy = sticky_policy(sticky_sessions)
        max_sessions = check_positive_int(max_sessions, "max_sessions", maximum=MAX_SESSIONS_LIMIT)
        window = check_positive_int(window, "window", maximum=MAX_WINDOW)
        self.timeout_s = None if timeout_s is None else check_seconds(timeout_s, "timeout_s")
        ttl = None if session_ttl_s is None else check_seconds(session_ttl_s, "session_ttl_s")
        shared_config = None
        if shared_state is not None:
            from routellm_plugins.shared_state import parse_shared_state

            shared_config = parse_shared_state(shared_state)
        if checkpoint is not None:
            check_path(checkpoint, "checkpoint")
        if embedder is not None and not (isinstance(embedder, (str, os.PathLike)) or callable(embedder)):
            raise ConfigError(f"embedder must be a local folder path or a callable, got {type(embedder).__name__} {show_value(embedder)}")
        if not isinstance(fallback, str) or not fallback:
            raise ConfigError(f"fallback must be a model key such as 'strong' or 'weak', got {show_value(fallback)}")
        pool_mode = pool is not None or lam is not None or target_cost is not None or quality_floor is not None
        if not pool_mode and fallback not in (STRONG, WEAK):
            raise ConfigError(f"fallback must be 'strong' or 'weak' when routing between two models, got {show_value(fallback)}")
        if router is None:
            router = "uniroute" if pool_mode else DEFAULT_ROUTER
        extra = {"embedder": embedder} if embedder is not None else {}
        self.router = load_router(router, checkpoint=checkpoint, **extra)
        self.policy: Any = None
        self.fallback = fallback
        self.sticky_policy = policy
        self.max_sessions = max_sessions
        self.adaptive: Any = None  # AdaptiveThreshold, or FleetThreshold under shared_state
        self.shared: Any = None  # routellm_plugins.shared_state.SharedState under shared_state
        self._workers: SheddingPool | None = None
        self._log_lock = threading.Lock()
        self._last_overload_log = -math.inf
        self._shed_since_log = 0
        if pool_mode:
            self._init_pool(pool, lam, target_cost, quality_floor, threshold, strong_share, adaptive, fallback)
        else:
            self._init_two_model(threshold, strong_share, adaptive, window)
        self.sessions: Any = SessionMemory(policy, max_sessions, ttl, self._model_ranks())
        if shared_config is not None:
            self._init_shared(shared_config)

    def _init_shared(self, config: Any) -> None:
        """Keep the adaptive window, sticky sessions and counters in Redis (nothing connects until the first request)."""
        from routellm_plugins.shared_state import FleetThreshold, SharedSessions, SharedState

        local = self.adaptive
        self.shared = SharedState(config, self.router.name, window=None if local is None else local.window,
                                  strong_share=None if local is None else local.strong_share,
                                  min_seen=50 if local is None else local.min_seen)
        if local is not None:
            self.adaptive = FleetThreshold(local, self.shared)
        if self.sticky_policy != STICKY_OFF:
            self.sessions = SharedSessions(self.sessions, self.shared)

    def _init_two_model(self, threshold: Any, strong_share: Any, adaptive: bool, window: int) -> None:
        if threshold is not None and strong_share is not None:
            raise ConfigError(f"give threshold ({show_value(threshold)}) or strong_share ({show_value(strong_share)}), not both")
        if threshold is not None:
            self.threshold = check_threshold(threshold)
        elif strong_share is not None:
            share = check_share(strong_share)
            start = self._calibrated_or_default(share)
            self.threshold = start
            if adaptive:
                self.adaptive = AdaptiveThreshold(share, window=window, initial=start)
        elif self.router.threshold is not None:
            self.threshold = self.router.threshold
        else:
            raise ConfigError(f"router {self.router.name!r} has no default threshold: give threshold= or strong_share=")
        if adaptive and self.adaptive is None:
            raise ConfigError("adaptive=True needs strong_share= (the share to hold)")

    def _init_pool(self, pool: Any, lam: Any, target_cost: Any, quality_floor: Any, threshold: Any, strong_share: Any,
                   adaptive: bool, fallback: Any) -> None:
        """Pool mode: fix the operating point once (lam, or lam calibrated to a target cost / quality floor)."""
        from routellm_plugins.pool.routers import PoolRouter

        if not isinstance(self.router, PoolRouter):
            raise ConfigError(f"pool routing needs a pool router such as 'uniroute'; router {self.router.name!r} routes between two models only")
        two_model = [n for n, v in (("threshold", threshold), ("strong_share", strong_share)) if v is not None] + (["adaptive"] if adaptive else [])
        if two_model:
            raise ConfigError(f"{', '.join(two_model)} apply to two-model routing; with a pool give lam=, target_cost= or quality_floor=")
        if lam is None and target_cost is None and quality_floor is None:
            raise ConfigError("pool routing needs one of lam= (cost weight), target_cost= or quality_floor=")
        self.policy = self.router.policy(pool, lam=lam, target_cost=target_cost, quality_floor=quality_floor)
        self.threshold = self.policy.lam
        keys = self.policy.keys
        if fallback == STRONG and STRONG not in keys:
            quality = self.router.profiles.mean_quality()
            fallback = max(zip(keys, self.policy.cols), key=lambda kc: quality[kc[1]])[0]
        if not isinstance(fallback, str) or fallback not in keys:
            raise ConfigError(f"fallback {show_value(fallback)} is not a model of the pool {list(keys)}")
        self.fallback = fallback

    def _model_ranks(self) -> dict[str, float]:
        """Rank of each model key for the "escalate" policy: strong above weak; in a pool, profiled quality."""
        if self.policy is None:
            return {WEAK: 0.0, STRONG: 1.0}
        quality = self.router.profiles.mean_quality()
        return {k: float(quality[c]) for k, c in zip(self.policy.keys, self.policy.cols)}

    def _calibrated_or_default(self, share: float) -> float:
        if self.router.calibration_scores is not None:
            return self.router.threshold_for_share(share)
        if self.router.name == "random":  # uniform scores: the quantile is known exactly
            return 1.0 - share
        raise ConfigError(f"router {self.router.name!r} carries no calibration scores; give threshold= instead of strong_share=")

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | str | os.PathLike[str]) -> "RoutingController":
        """Build from a dict or YAML/JSON file whose keys are controller settings (``router`` may be a model string)."""
        cfg = read_config(config)
        unknown = sorted(str(k) for k in set(cfg) - _CONFIG_KEYS)
        if unknown:
            raise ConfigError(f"unknown routing config keys {[show_value(k, limit=40) for k in unknown[:10]]}; known: {sorted(_CONFIG_KEYS)}")
        return cls(**cfg)

    @property
    def sticky_sessions(self) -> bool:
        """True when the sticky-session policy is not "off" (the policy name is :attr:`sticky_policy`)."""
        return self.sticky_policy != STICKY_OFF

    @property
    def current_threshold(self) -> float:
        return self.adaptive.threshold if self.adaptive is not None else self.threshold

    @property
    def keys(self) -> tuple[str, ...]:
        """Model keys this controller may return."""
        if self.policy is not None:
            return tuple(self.policy.keys)
        return (STRONG, WEAK)

    # ---- decisions -----------------------------------------------------------------
    def _route(self, text: str) -> Decision:
        if self.policy is not None:
            return self.router.route_pool(text, self.policy)
        return self.router.route(text, threshold=self.current_threshold)

    def _route_in_time(self, text: str) -> Decision:
        """Score ``text``, on the bounded worker pool when ``timeout_s`` is set."""
        if self.timeout_s is None:
            return self._route(text)
        if self._workers is None:
            self._workers = SheddingPool()
        return self._workers.run(self._route, text, self.timeout_s)

    def _log_overload(self, reason: str) -> None:
        """One WARNING per :data:`OVERLOAD_LOG_EVERY_S` while shedding (a line per shed request would add to the load)."""
        now = time.monotonic()
        with self._log_lock:
            self._shed_since_log += 1
            if now - self._last_overload_log < OVERLOAD_LOG_EVERY_S:
                return
            count, self._shed_since_log, self._last_overload_log = self._shed_since_log, 0, now
        log.warning("routing fell back to %r: %s (%d requests shed since the last such warning)", self.fallback, reason, count)

    def load_stats(self) -> dict[str, float]:
        """Counters of the timeout worker pool (submitted, shed, timed_out, dropped_unstarted, ...); empty without ``timeout_s``."""
        return {} if self._workers is None else self._workers.stats()

    def fallback_decision(self, reason: str, started: float | None = None) -> Decision:
        """The decision used when routing fails: the fallback key, flagged, with the reason."""
        latency = 0.0 if started is None else time.perf_counter() - started
        return Decision(self.fallback, None, self.current_threshold, self.router.name, latency, fallback=True, reason=reason)

    def decide(self, text: Any, session_id: str | None = None) -> Decision:
        """The model key for a request whose routing text is ``text``; never raises for bad text or a bad session id."""
        started = time.perf_counter()
        if self.shared is not None:
            self.shared.start()  # first request: one round-trip, so a new replica starts from the fleet's threshold
        key, note = session_key(session_id) if self.sticky_policy != STICKY_OFF else (None, None)
        if key is not None:
            prior = self.sessions.reuse(key)
            if prior is not None:
                return self._shared_note(Decision(prior.model, prior.score, prior.threshold, prior.router, time.perf_counter() - started,
                                                  fallback=prior.fallback, reason=prior.reason, candidates=prior.candidates, sticky=True))
        try:
            try:
                cleaned = clean_prompt(text)
            except InvalidPromptError:
                raise _Unroutable(_invalid_text_reason(text)) from None
            decision = self._route_in_time(cleaned)
        except Exception as exc:  # noqa: BLE001 - every failure must still be answered
            reason = str(exc) if isinstance(exc, _Unroutable) else _fallback_reason(exc)
            # The reason names the cause and the exception type, never its text (which may quote the prompt or a key).
            if isinstance(exc, Overloaded):
                self._log_overload(reason)
            else:
                log.warning("routing fell back to %r: %s", self.fallback, reason)
            decision = self.fallback_decision(reason, started)
        else:
            if self.adaptive is not None and decision.score is not None and math.isfinite(decision.score):
                self.adaptive.observe([decision.score])
        if key is not None:
            decision = self.sessions.settle(key, decision)
        elif note is not None:
            reason = note if decision.reason is None else f"{decision.reason}; {note}"
            decision = Decision(decision.model, decision.score, decision.threshold, decision.router, decision.latency_s,
                                fallback=decision.fallback, reason=reason, candidates=decision.candidates)
        return self._shared_note(decision)

    def _shared_note(self, decision: Decision) -> Decision:
        """Under shared_state: count the decision for the fleet, and flag it when Redis was unreachable."""
        shared = self.shared
        if shared is None:
            return decision
        from routellm_plugins.shared_state import DECISIONS, UNAVAILABLE_NOTE

        down = not shared.available
        counts = {"requests": 1, f"model:{decision.model}": 1}
        for name, flag in (("fallback", decision.fallback), ("sticky", decision.sticky), ("shared_state_unavailable", down)):
            if flag:
                counts[name] = 1
        shared.count(DECISIONS, counts)
        if not down:
            return decision
        return replace(decision, reason=UNAVAILABLE_NOTE if decision.reason is None else f"{decision.reason}; {UNAVAILABLE_NOTE}")

    def fleet_stats(self) -> dict[str, Any]:
        """Under shared_state: the fleet's decision counters (None while Redis is unreachable) and this replica's link counters."""
        if self.shared is None:
            return {}
        from routellm_plugins.shared_state import DECISIONS

        return {"decisions": self.shared.read_counts(DECISIONS), **self.shared.stats()}

    def close(self) -> None:
        """Release shared state: send what is queued to Redis and stop its sync thread (no-op without shared_state)."""
        if self.shared is not None:
            self.shared.close()

    async def adecide(self, text: Any, session_id: str | None = None) -> Decision:
        """Async :meth:`decide`: scoring runs in a worker thread so the event loop keeps serving."""
        return await asyncio.get_running_loop().run_in_executor(None, self.decide, text, session_id)

    def __repr__(self) -> str:
        if self.policy is not None:
            return f"RoutingController(router={self.router.name!r}, pool={list(self.keys)}, lam={self.threshold:.6g}, fallback={self.fallback!r})"
        return f"RoutingController(router={self.router.name!r}, threshold={self.current_threshold:.4f}, fallback={self.fallback!r})"
