"""The fleet's shared window of scores and its counters, synchronised off the request path.

A request only appends to in-memory buffers (microseconds). A background thread, every
``sync_every_s``, sends one pipelined round-trip per replica: the new scores (``RPUSH`` then
``LTRIM`` to ``window``), the counter increments (``HINCRBY``/``HINCRBYFLOAT``) and a read of
the whole window (``LRANGE``), from which it computes the fleet threshold. While Redis is
unreachable the buffers are kept (scores up to ``window``, counters in full) and sent when it
returns, and :class:`FleetThreshold` answers with the replica's own window.

Keys (``P`` = prefix, ``S`` = scope): ``P:S:scores`` (list), ``P:S:decisions`` (hash),
``P:S:sessions`` and ``P:S:s:<digest>`` (see :mod:`.sessions`), ``P:costs`` (hash, fleet-wide).
Nothing but scores, hashed session ids, decisions without their text and counters is stored.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections import Counter, deque
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from routellm_plugins.shared_state.config import SharedStateConfig
from routellm_plugins.shared_state.link import RedisLink, Unavailable
from routellm_plugins.thresholds import AdaptiveThreshold, threshold_for_share

#: Hash names (after the prefix) a replica may add counts to.
DECISIONS = "decisions"
COSTS = "costs"


def _sync_loop(ref: "weakref.ReferenceType[SharedState]", stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        state = ref()
        if state is None:
            return
        state.sync(idle_ok=False)
        del state


def _flush_at_exit(ref: "weakref.ReferenceType[SharedState]") -> None:
    state = ref()
    if state is not None:
        state.close()


class SharedState:
    """One replica's view of the fleet state of one routing policy (``prefix:scope``); thread-safe.

    ``window`` and ``strong_share`` (both or neither) turn on the shared adaptive window; the
    fleet threshold is used once it holds ``min_seen`` scores. Nothing connects until first use.
    """

    def __init__(self, config: SharedStateConfig, scope: str, *, window: int | None = None,
                 strong_share: float | None = None, min_seen: int = 50) -> None:
        self.config = config
        self.scope = config.scope or scope
        self.link = RedisLink(config)
        self.window = window
        self.strong_share = strong_share
        self.min_seen = min_seen
        base = f"{config.prefix}:{self.scope}"
        self.keys = {"scores": f"{base}:scores", DECISIONS: f"{base}:{DECISIONS}", "sessions": f"{base}:sessions",
                     "session": f"{base}:s:", COSTS: f"{config.prefix}:{COSTS}"}
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._scores: deque[float] = deque(maxlen=window or 1)
        self._ints: dict[str, Counter[str]] = {}
        self._floats: dict[str, Counter[str]] = {}
        self._active = False  # something happened since the last sync
        self._fleet_threshold: float | None = None
        self._fleet_size = 0
        self._syncs = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._closed = False

    # ---- request side (no I/O) -------------------------------------------------------------
    @property
    def available(self) -> bool:
        """False while Redis is unreachable (decisions then come from local state and say so)."""
        return self.link.available

    @property
    def fleet_threshold(self) -> float | None:
        """The threshold from the fleet's window at the last sync (None before ``min_seen`` scores or while unavailable)."""
        return self._fleet_threshold if self.link.available else None

    def push_scores(self, scores: Iterable[float]) -> None:
        """Queue scores of requests just routed for the fleet window."""
        if self.window is None:
            return
        with self._lock:
            self._scores.extend(float(x) for x in scores)
            self._active = True
        self.start()

    def count(self, name: str, ints: Mapping[str, int] | None = None, floats: Mapping[str, float] | None = None) -> None:
        """Queue increments of hash ``name`` (:data:`DECISIONS` or :data:`COSTS`)."""
        with self._lock:
            if ints:
                self._ints.setdefault(name, Counter()).update(ints)
            if floats:
                self._floats.setdefault(name, Counter()).update(floats)
            self._active = True
        self.start()

    # ---- the background sync ------------------------------------------------------------------
    def start(self) -> None:
        """Sync once now (a new replica gets the fleet threshold at once) and start the background thread; idempotent."""
        if self._thread is not None or self._closed:
            return
        with self._sync_lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=_sync_loop, args=(weakref.ref(self), self._stop, self.config.sync_every_s),
                                      name=f"routellm-shared-{self.scope}", daemon=True)
            self._thread = thread
        self.sync(idle_ok=True)
        thread.start()
        atexit.register(_flush_at_exit, weakref.ref(self))

    def sync(self, idle_ok: bool = True) -> bool:
        """Push queued scores and counters, re-read the fleet window; one round-trip. False when Redis is unreachable."""
        with self._sync_lock:
            with self._lock:
                if not (self._active or idle_ok):
                    return True
                scores = list(self._scores)
                ints, floats = self._ints, self._floats
                self._scores.clear()
                self._ints, self._floats, self._active = {}, {}, False
            if self.window is None and not ints and not floats:
                return True  # nothing to send or read: no round-trip
            try:
                window = self.link.call(lambda r: self._exchange(r, scores, ints, floats))
            except Unavailable:
                self._requeue(scores, ints, floats)
                return False
            self._syncs += 1
            if window is not None:
                self._fleet_size = len(window)
                if len(window) >= self.min_seen and self.strong_share is not None:
                    values = np.array([float(x) for x in window], dtype=np.float64)
                    self._fleet_threshold = threshold_for_share(values, self.strong_share)
            return True

    def _exchange(self, r: Any, scores: Sequence[float], ints: Mapping[str, Counter[str]], floats: Mapping[str, Counter[str]]) -> Any:
        pipe = r.pipeline(transaction=False)
        if self.window is not None:
            if scores:
                pipe.rpush(self.keys["scores"], *(repr(s) for s in scores))
                pipe.ltrim(self.keys["scores"], -self.window, -1)
            pipe.lrange(self.keys["scores"], 0, -1)
        for name, counts in ints.items():
            for field, n in counts.items():
                pipe.hincrby(self.keys[name], field, n)
        for name, counts in floats.items():
            for field, x in counts.items():
                pipe.hincrbyfloat(self.keys[name], field, x)
        out = pipe.execute()
        if self.window is None:
            return None
        return out[2] if scores else out[0]  # the LRANGE reply

    def _requeue(self, scores: Sequence[float], ints: Mapping[str, Counter[str]], floats: Mapping[str, Counter[str]]) -> None:
        """Put unsent work back in front of what arrived meanwhile (scores stay bounded by the window)."""
        with self._lock:
            if scores and self.window is not None:
                newer = list(self._scores)
                self._scores.clear()
                self._scores.extend(scores)
                self._scores.extend(newer)
            for target, source in ((self._ints, ints), (self._floats, floats)):
                for name, counts in source.items():
                    target.setdefault(name, Counter()).update(counts)
            self._active = True

    # ---- reads ------------------------------------------------------------------------------------
    def read_counts(self, name: str) -> dict[str, float] | None:
        """The fleet's totals in hash ``name`` (after sending this replica's queue), or None when Redis is unreachable."""
        self.sync()
        try:
            raw = self.link.call(lambda r: r.hgetall(self.keys[name]))
        except Unavailable:
            return None
        return decode_counts(raw)

    def stats(self) -> dict[str, Any]:
        """Round-trips, failures and syncs so far, whether Redis is reachable, and the fleet window's size and threshold."""
        with self._lock:
            queued = len(self._scores) if self.window is not None else 0
        return {**self.link.stats(), "syncs": self._syncs, "queued_scores": queued, "fleet_window": self._fleet_size,
                "fleet_threshold": self._fleet_threshold}

    def close(self) -> None:
        """Stop the background thread, send what is queued (if Redis answers) and close the connection."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and thread.is_alive():
            thread.join(timeout=max(1.0, 3 * self.config.timeout_s))
        self.sync(idle_ok=False)
        self.link.close()


def decode_counts(raw: Mapping[Any, Any]) -> dict[str, float]:
    """A Redis hash of counters as {field: number} (ints stay ints)."""
    out: dict[str, float] = {}
    for k, v in raw.items():
        key = k.decode() if isinstance(k, bytes) else str(k)
        text = v.decode() if isinstance(v, bytes) else str(v)
        try:
            out[key] = int(text)
        except ValueError:
            out[key] = float(text)
    return out


class FleetThreshold:
    """An adaptive threshold held by the whole fleet: the (1 - share) quantile of the fleet's last
    ``window`` scores, refreshed every ``sync_every_s``; the replica's own window while Redis is away.

    Same interface as :class:`~routellm_plugins.thresholds.AdaptiveThreshold` (``threshold``,
    ``observe``, ``strong_share``, ``window``).
    """

    def __init__(self, local: AdaptiveThreshold, state: SharedState) -> None:
        self.local = local
        self.state = state
        self.strong_share = local.strong_share
        self.window = local.window
        self.min_seen = local.min_seen

    @property
    def threshold(self) -> float:
        """The fleet threshold when known and Redis is reachable, else this replica's own."""
        fleet = self.state.fleet_threshold
        return self.local.threshold if fleet is None else fleet

    def observe(self, scores: Sequence[float] | np.ndarray) -> float:
        """Record scores locally and queue them for the fleet window; returns the threshold for the next request."""
        values = [float(x) for x in np.atleast_1d(scores)]
        self.local.observe(values)
        self.state.push_scores(values)
        return self.threshold
