"""Sticky sessions every replica sees: one Redis key per conversation, with the in-process memory as cache and fallback.

A conversation's key is ``P:S:s:<digest>`` (the SHA-256 of its id, cut to 128 bits: no id is
stored as given) and holds the remembered decision without latency (model, score, threshold,
router, reason, candidates). ``session_ttl_s`` is its idle expiry (each turn restarts it); the
sorted set ``P:S:sessions`` (digest -> last use) keeps the fleet within ``max_sessions``, the
least recently used dropped. "first": the first scored turn is stored with ``SET NX`` in a
transaction with the read-back, so concurrent first turns on different replicas all serve the
one decision that was stored. "escalate": a turn that ranks higher overwrites the key.
Round-trips per turn: one, two when the remembered decision changes (a conversation's first
scored turn, or an "escalate" climb), plus two when the fleet exceeds ``max_sessions``.

While Redis is unreachable the replica's own memory answers (and later publishes what it
decided meanwhile, so the conversation resumes fleet-wide).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from routellm_plugins.decision import Candidate, Decision
from routellm_plugins.sessions import SessionMemory, outranks, resolve
from routellm_plugins.settings import STICKY_ESCALATE, STICKY_FIRST, STICKY_OFF
from routellm_plugins.shared_state.fleet import SharedState
from routellm_plugins.shared_state.link import Unavailable


def encode(decision: Decision) -> str:
    """A remembered decision as compact JSON (no latency, no sticky flag, no text of any request)."""
    return json.dumps([decision.model, decision.score, decision.threshold, decision.router, decision.fallback, decision.reason,
                       [[c.model, c.quality, c.cost] for c in decision.candidates]], separators=(",", ":"))


def decode(raw: Any) -> Decision | None:
    """The decision stored by :func:`encode`, or None for a missing or unreadable value."""
    if raw is None:
        return None
    try:
        model, score, threshold, router, fallback, reason, cands = json.loads(raw)
        return Decision(str(model), score, threshold, str(router), 0.0, fallback=bool(fallback), reason=reason,
                        candidates=tuple(Candidate(str(m), float(q), float(c)) for m, q, c in cands))
    except (ValueError, TypeError):
        return None


def digest(key: str) -> str:
    """The id a conversation is stored under: 128 bits of the SHA-256 of its session key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class SharedSessions:
    """Same interface as :class:`~routellm_plugins.sessions.SessionMemory` (``reuse``, ``settle``), fleet-wide."""

    def __init__(self, local: SessionMemory, state: SharedState) -> None:
        self.local = local
        self.state = state
        self.policy = local.policy
        self.max_sessions = local.max_sessions
        self.ttl_s = local.ttl_s
        self._ttl_ms = None if local.ttl_s is None else max(1, int(local.ttl_s * 1000))

    def __len__(self) -> int:
        """Conversations in this replica's cache."""
        return len(self.local)

    # ---- Redis operations (each one round-trip) ----------------------------------------------
    def _names(self, key: str) -> tuple[str, str]:
        d = digest(key)
        return d, self.state.keys["session"] + d

    def _index(self, pipe: Any, member: str) -> None:
        index = self.state.keys["sessions"]
        now = time.time()
        pipe.zadd(index, {member: now})
        if self.ttl_s is not None:
            pipe.zremrangebyscore(index, "-inf", now - self.ttl_s)
        pipe.zcard(index)

    def _read(self, key: str) -> Decision | None:
        member, name = self._names(key)

        def run(r: Any) -> Any:
            pipe = r.pipeline(transaction=False)
            if self._ttl_ms is None:
                pipe.get(name)
            else:
                pipe.getex(name, px=self._ttl_ms)
            pipe.zadd(self.state.keys["sessions"], {member: time.time()}, xx=True)
            return pipe.execute()[0]

        return decode(self.state.link.call(run))

    def _write(self, key: str, decision: Decision, *, first: bool) -> Decision:
        """Store ``decision`` (``first``: only if none is stored) and return the stored one."""
        member, name = self._names(key)
        value = encode(decision)

        def run(r: Any) -> Any:
            pipe = r.pipeline(transaction=first)
            pipe.set(name, value, nx=first, px=self._ttl_ms)
            pipe.get(name)
            self._index(pipe, member)
            return pipe.execute()

        out = self.state.link.call(run)
        stored, size = out[1], out[-1]
        if isinstance(size, int) and size > self.max_sessions:
            self._evict(size - self.max_sessions)
        if stored is None or (stored.decode() if isinstance(stored, bytes) else stored) == value:
            return decision
        return decode(stored) or decision

    def _evict(self, n: int) -> None:
        """Drop the ``n`` least recently used conversations of the fleet."""
        try:
            popped = self.state.link.call(lambda r: r.zpopmin(self.state.keys["sessions"], n))
            names = [self.state.keys["session"] + (m.decode() if isinstance(m, bytes) else str(m)) for m, _ in popped]
            if names:
                self.state.link.call(lambda r: r.delete(*names))
        except Unavailable:
            pass

    # ---- the policy ---------------------------------------------------------------------------
    def reuse(self, key: str) -> Decision | None:
        """Policy "first": the conversation's decision as the fleet remembers it, or None before its first scored turn."""
        if self.policy != STICKY_FIRST:
            return None
        try:
            shared = self._read(key)
        except Unavailable:
            return self.local.reuse(key)
        if shared is not None:
            self.local.remember(key, shared)
            return shared
        mine = self.local.remembered(key)  # decided here while Redis was away: publish it (first writer wins)
        if mine is None:
            return None
        try:
            winner = self._write(key, mine, first=True)
        except Unavailable:
            return mine
        self.local.remember(key, winner)
        return winner

    def settle(self, key: str, decision: Decision) -> Decision:
        """The decision to serve for this turn (see :func:`routellm_plugins.sessions.resolve`), agreed with the fleet."""
        if self.policy == STICKY_OFF:
            return decision
        if self.policy == STICKY_FIRST:
            if decision.fallback:
                return decision
            try:
                winner = self._write(key, decision, first=True)
            except Unavailable:
                return self.local.settle(key, decision)
            self.local.remember(key, winner)
            if winner is decision:
                return decision
            served, _ = resolve(STICKY_FIRST, self.local.rank, winner, decision)
            return served
        assert self.policy == STICKY_ESCALATE
        try:
            shared = self._read(key)
        except Unavailable:
            return self.local.settle(key, decision)
        mine = self.local.remembered(key)
        prior = mine if outranks(self.local.rank, mine, shared) else shared
        served, store = resolve(STICKY_ESCALATE, self.local.rank, prior, decision)
        best = decision if store else prior
        if best is not None:
            if outranks(self.local.rank, best, shared):
                try:
                    self._write(key, best, first=False)
                except Unavailable:
                    pass
            self.local.remember(key, best)
        return served
