"""Sticky sessions: what a conversation remembers between turns, under the ``sticky_sessions`` policy.

Policies (see :data:`routellm_plugins.settings.STICKY_POLICIES`): ``"off"`` keeps nothing;
``"escalate"`` scores every turn and never serves a conversation a model ranked below one it
already used (strong stays strong; in a pool, rank = the model's profiled quality);
``"first"`` reuses the first scored turn's decision. A decision served from memory has
``sticky=True``. Memory is bounded: at most ``max_sessions`` conversations (least recently used
dropped), optional expiry after ``ttl_s`` idle seconds, and ids longer than
:data:`MAX_ID_CHARS` are stored as a fixed-size digest.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from typing import Any, Callable, Mapping

from routellm_plugins.decision import Decision
from routellm_plugins.errors import ConfigError, show_value
from routellm_plugins.settings import STICKY_ESCALATE, STICKY_FIRST, STICKY_OFF, STICKY_POLICIES

#: Longest session id kept as given; longer ids are stored as their SHA-256 digest.
MAX_ID_CHARS = 128
#: Largest accepted ``max_sessions``.
MAX_SESSIONS_LIMIT = 1_000_000


def sticky_policy(value: Any) -> str:
    """The policy name for a ``sticky_sessions`` setting: a policy name, True (= "escalate") or False (= "off")."""
    if value is True:
        return STICKY_ESCALATE
    if value is False or value is None:
        return STICKY_OFF
    if isinstance(value, str) and value.strip().lower() in STICKY_POLICIES:
        return value.strip().lower()
    raise ConfigError(f"sticky_sessions must be one of {', '.join(map(repr, STICKY_POLICIES))} (or true/false), got {show_value(value)}")


def session_key(session_id: Any) -> tuple[str | None, str | None]:
    """(key to store, note) for a session id: short str ids as given, long ones digested, others refused with a note."""
    if session_id is None:
        return None, None
    if not isinstance(session_id, str):
        return None, f"session_id ignored: got {type(session_id).__name__}, not str"
    if not session_id:
        return None, None
    if len(session_id) <= MAX_ID_CHARS:
        return session_id, None
    return "sha256:" + hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest(), None


class SessionMemory:
    """Per-conversation memory for one controller; thread-safe.

    ``rank(model_key)`` orders the models for ``"escalate"`` (higher = stronger).
    """

    def __init__(self, policy: str, max_sessions: int, ttl_s: float | None, rank: Mapping[str, float] | Callable[[str], float]) -> None:
        self.policy = policy
        self.max_sessions = max_sessions
        self.ttl_s = ttl_s
        self._rank = rank.get if isinstance(rank, Mapping) else rank
        self._entries: OrderedDict[str, tuple[float, Decision]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def rank(self, model_key: str) -> float | None:
        """The model's rank for "escalate" (higher = stronger), None for a key without one."""
        return self._rank(model_key)

    def _get(self, key: str) -> Decision | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = time.monotonic()
        if self.ttl_s is not None and now - entry[0] > self.ttl_s:
            del self._entries[key]
            return None
        self._entries[key] = (now, entry[1])  # idle time restarts
        self._entries.move_to_end(key)
        return entry[1]

    def _put(self, key: str, decision: Decision) -> None:
        self._entries[key] = (time.monotonic(), decision)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_sessions:
            self._entries.popitem(last=False)

    def reuse(self, key: str) -> Decision | None:
        """Policy "first": the conversation's remembered decision, or None before its first scored turn."""
        if self.policy != STICKY_FIRST:
            return None
        with self._lock:
            return self._get(key)

    def remembered(self, key: str) -> Decision | None:
        """The decision remembered for ``key`` (any policy), or None; restarts its idle time."""
        with self._lock:
            return self._get(key)

    def remember(self, key: str, decision: Decision) -> None:
        """Store ``decision`` for ``key`` (a cache of what the fleet agreed on, under shared state)."""
        with self._lock:
            self._put(key, decision)

    def settle(self, key: str, decision: Decision) -> Decision:
        """The decision to serve for this turn, given this turn's own ``decision``; updates the memory.

        "first": the first scored decision stored wins (concurrent first turns agree).
        "escalate": the remembered strongest model when this turn chose a weaker one.
        Fallback decisions are never remembered, but "escalate" still lifts them to the floor.
        """
        if self.policy == STICKY_OFF:
            return decision
        with self._lock:
            served, store = resolve(self.policy, self._rank, self._get(key), decision)
            if store:
                self._put(key, decision)
            return served


def resolve(policy: str, rank: Callable[[str], float | None], prior: Decision | None, decision: Decision) -> tuple[Decision, bool]:
    """(decision to serve, whether to remember this turn's ``decision``) under ``policy``, given the remembered ``prior``.

    The one rule shared by the in-process memory and the fleet's (``routellm_plugins.shared_state``).
    """
    if policy == STICKY_OFF:
        return decision, False
    if policy == STICKY_FIRST:
        if prior is None:
            return decision, not decision.fallback
        return replace(prior, sticky=True, latency_s=decision.latency_s), False
    # escalate
    this = rank(decision.model)
    floor = None if prior is None else rank(prior.model)
    if prior is not None and floor is not None and this is not None and this < floor:
        note = f"escalate: kept {prior.model!r} from an earlier turn (this turn chose {decision.model!r})"
        reason = note if decision.reason is None else f"{decision.reason}; {note}"
        return replace(decision, model=prior.model, sticky=True, reason=reason), False
    return decision, not decision.fallback and (floor is None or (this is not None and this > floor))


def outranks(rank: Callable[[str], float | None], a: Decision | None, b: Decision | None) -> bool:
    """True when remembered decision ``a`` ranks above ``b`` (a missing one ranks lowest)."""
    if a is None:
        return False
    if b is None:
        return True
    ra, rb = rank(a.model), rank(b.model)
    return ra is not None and (rb is None or ra > rb)
