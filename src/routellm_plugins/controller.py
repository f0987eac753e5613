"""The serving-side policy shared by every adapter: threshold choice, fallback, timeout, sticky sessions.

Adapters call :meth:`RoutingController.decide` with the text to route on; it never raises
for a request the router cannot score: it returns a fallback decision that says why.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping

from routellm_plugins.decision import STRONG, WEAK, Decision
from routellm_plugins.errors import ConfigError, RouteLLMError
from routellm_plugins.registry import DEFAULT_ROUTER, load_router
from routellm_plugins.routers.base import Router
from routellm_plugins.thresholds import AdaptiveThreshold
from routellm_plugins.validation import check_non_negative, check_share, check_threshold, clean_prompt

log = logging.getLogger("routellm_plugins")

_CONFIG_KEYS = {"router", "checkpoint", "threshold", "strong_share", "adaptive", "window", "fallback", "timeout_s", "sticky_sessions", "embedder",
                "pool", "lam", "target_cost", "quality_floor"}


def read_config(config: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    """A config as a dict: a mapping passes through; a path is read as YAML or JSON."""
    if isinstance(config, Mapping):
        return dict(config)
    if not isinstance(config, (str, os.PathLike)):
        raise ConfigError(f"config must be a dict or a YAML/JSON file path, got {type(config).__name__}")
    path = Path(config)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML/JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping, got {type(data).__name__}")
    return data


#: An error message sharing a run of this many characters with the prompt is withheld (it quotes the prompt).
_QUOTE_CHARS = 12
_MAX_REASON_CHARS = 300


def _without_prompt(message: str, text: Any) -> str:
    """``message`` (cut to 300 chars), or a placeholder when it quotes ``text``: an embedder error may echo the prompt."""
    message = message[:_MAX_REASON_CHARS]
    if not isinstance(text, str):
        return message
    n = min(_QUOTE_CHARS, len(text.strip()))
    if n < 6:  # too short to tell a quote from a coincidence
        return message
    probe = text if len(text) <= 20_000 else text[:10_000] + text[-10_000:]  # what the embedder could have seen
    if any(message[i:i + n] in probe for i in range(len(message) - n + 1) if message[i:i + n].strip()):
        return f"(error message withheld: it quotes the prompt; {len(message)} chars)"
    return message


class RoutingController:
    """Decides, per request, which model key serves it.

    Threshold policy (first that applies): ``threshold``; ``strong_share`` with
    ``adaptive=True`` (rolling quantile over the last ``window`` live scores); ``strong_share``
    on the router's stored calibration scores; the router's own default threshold.
    ``fallback`` is the key used when scoring fails or exceeds ``timeout_s``.
    ``sticky_sessions`` keeps the first decision of a session id for its later turns.

    Pool routing (UniRoute): give ``pool`` (``{name: cost}``, ``{name: {"cost": c, "profile": p}}`` or
    a list of names priced from the stored profiles or LiteLLM) and one of ``lam`` (cost weight),
    ``target_cost`` (average cost per request) or ``quality_floor`` (average predicted quality).
    ``router`` then defaults to ``"uniroute"``; ``keys`` are the pool names and each decision lists
    every candidate's predicted quality and cost. ``fallback="strong"`` means the pool model of
    highest profiled quality.
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
        sticky_sessions: bool = False,
        max_sessions: int = 10_000,
        checkpoint: str | os.PathLike[str] | None = None,
        embedder: Any = None,
        pool: Mapping[str, Any] | list[str] | None = None,
        lam: float | None = None,
        target_cost: float | None = None,
        quality_floor: float | None = None,
    ) -> None:
        for flag, value in (("adaptive", adaptive), ("sticky_sessions", sticky_sessions)):
            if not isinstance(value, bool):  # a config string such as "false" must not read as true
                raise ConfigError(f"{flag} must be true or false, got {value!r:.60}")
        if isinstance(max_sessions, bool) or not isinstance(max_sessions, int) or max_sessions < 1:
            raise ConfigError(f"max_sessions must be an integer >= 1, got {max_sessions!r:.60}")
        pool_mode = pool is not None or lam is not None or target_cost is not None or quality_floor is not None
        if router is None:
            router = "uniroute" if pool_mode else DEFAULT_ROUTER
        extra = {"embedder": embedder} if embedder is not None else {}
        self.router = load_router(router, checkpoint=checkpoint, **extra)
        self.policy: Any = None
        self.fallback = fallback
        self.timeout_s = None if timeout_s is None else check_non_negative(timeout_s, "timeout_s")
        self.sticky_sessions = sticky_sessions
        self._sessions: OrderedDict[str, Decision] = OrderedDict()
        self._max_sessions = max_sessions
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.adaptive: AdaptiveThreshold | None = None
        if pool_mode:
            self._init_pool(pool, lam, target_cost, quality_floor, threshold, strong_share, adaptive, fallback)
            return
        if threshold is not None and strong_share is not None:
            raise ConfigError(f"give threshold ({threshold!r}) or strong_share ({strong_share!r}), not both")
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
        if not isinstance(fallback, str) or not fallback:
            raise ConfigError(f"fallback must be a model key such as 'strong', got {fallback!r}")

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
            raise ConfigError(f"fallback {fallback!r} is not a model of the pool {list(keys)}")
        self.fallback = fallback

    def _calibrated_or_default(self, share: float) -> float:
        if self.router.calibration_scores is not None:
            return self.router.threshold_for_share(share)
        if self.router.name == "random":  # uniform scores: the quantile is known exactly
            return 1.0 - share
        raise ConfigError(f"router {self.router.name!r} carries no calibration scores; give threshold= instead of strong_share=")

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | str | os.PathLike[str]) -> "RoutingController":
        """Build from a dict or YAML/JSON file with the keys of ``__init__`` (``router`` may be a model string)."""
        cfg = read_config(config)
        unknown = set(cfg) - _CONFIG_KEYS
        if unknown:
            raise ConfigError(f"unknown routing config keys {sorted(unknown)}; known: {sorted(_CONFIG_KEYS)}")
        return cls(**cfg)

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

    def _route_with_timeout(self, text: str) -> Decision:
        if self.timeout_s is None:
            return self._route(text)
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="routellm")
        future = self._pool.submit(self._route, text)
        try:
            return future.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"routing took longer than timeout_s={self.timeout_s}") from None

    def fallback_decision(self, reason: str, started: float | None = None) -> Decision:
        """The decision used when routing fails: the fallback key, flagged, with the reason."""
        latency = 0.0 if started is None else time.perf_counter() - started
        return Decision(self.fallback, None, self.current_threshold, self.router.name, latency, fallback=True, reason=reason)

    def decide(self, text: Any, session_id: str | None = None) -> Decision:
        """The model key for a request whose routing text is ``text``; never raises for bad text."""
        if self.sticky_sessions and session_id is not None:
            with self._lock:
                prior = self._sessions.get(session_id)
                if prior is not None:
                    self._sessions.move_to_end(session_id)
                    return prior
        started = time.perf_counter()
        try:
            decision = self._route_with_timeout(clean_prompt(text))
        except Exception as exc:  # noqa: BLE001 - every failure must still be answered
            kind = "invalid routing text" if isinstance(exc, RouteLLMError) else type(exc).__name__
            reason = f"{kind}: {_without_prompt(str(exc), text)}"
            # The reason names the problem, never the prompt (no user text in logs at default level).
            log.warning("routing fell back to %r: %s", self.fallback, reason[:300])
            decision = self.fallback_decision(reason, started)
        else:
            if self.adaptive is not None and decision.score is not None:
                self.adaptive.observe([decision.score])
        if self.sticky_sessions and session_id is not None and not decision.fallback:
            with self._lock:
                self._sessions[session_id] = decision
                while len(self._sessions) > self._max_sessions:
                    self._sessions.popitem(last=False)
        return decision

    async def adecide(self, text: Any, session_id: str | None = None) -> Decision:
        """Async :meth:`decide`: scoring runs in a worker thread so the event loop keeps serving."""
        return await asyncio.get_running_loop().run_in_executor(None, self.decide, text, session_id)

    def __repr__(self) -> str:
        if self.policy is not None:
            return f"RoutingController(router={self.router.name!r}, pool={list(self.keys)}, lam={self.threshold:.6g}, fallback={self.fallback!r})"
        return f"RoutingController(router={self.router.name!r}, threshold={self.current_threshold:.4f}, fallback={self.fallback!r})"
