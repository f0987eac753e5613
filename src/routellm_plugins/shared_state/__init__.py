"""Routing state shared by a fleet of replicas through Redis (the ``shared_state`` setting).

With ``shared_state="redis://host:port/db"`` a :class:`~routellm_plugins.RoutingController`
keeps its serving policy in Redis: the adaptive threshold is the quantile of the fleet's recent
scores (:class:`FleetThreshold`), sticky sessions are visible to every replica
(:class:`SharedSessions`), and decision and cost counters add up across the fleet. Requests
never wait for the shared window or the counters (a background thread syncs them); sticky
sessions cost one or two round-trips per turn. When Redis is down or slow, each request is
answered from local state within ``timeout_s`` and its decision says so
(:data:`UNAVAILABLE_NOTE` in ``reason``); a circuit breaker stops trying for ``retry_after_s``.
The client library is redis-py (``pip install 'routellm-plugins[redis]'``).
"""

from routellm_plugins.shared_state.config import SharedStateConfig, parse_shared_state, redact_url, with_scope
from routellm_plugins.shared_state.fleet import COSTS, DECISIONS, FleetThreshold, SharedState, decode_counts
from routellm_plugins.shared_state.link import RedisLink, Unavailable
from routellm_plugins.shared_state.sessions import SharedSessions

#: Added to a decision's ``reason`` while Redis is unreachable (the decision came from this replica's own state).
UNAVAILABLE_NOTE = "shared_state unavailable: decided from this replica's local state"

__all__ = ["COSTS", "DECISIONS", "UNAVAILABLE_NOTE", "FleetThreshold", "RedisLink", "SharedSessions", "SharedState", "SharedStateConfig",
           "Unavailable", "decode_counts", "parse_shared_state", "redact_url", "with_scope"]
