"""The one vocabulary of routing settings shared by the core and all three adapters.

Every adapter (LangChain ``ChatRouteLLM``, LlamaIndex ``RouteLLM``, LiteLLM routes) accepts the
names below with the same meaning and default, in its constructor and in its config files.
Controller settings are handed to :class:`routellm_plugins.RoutingController` unchanged;
adapter settings are applied by the adapter around the provider call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

#: Sticky-session policies (``sticky_sessions``): see :data:`STICKY_POLICIES`.
STICKY_OFF = "off"
STICKY_ESCALATE = "escalate"
STICKY_FIRST = "first"
#: policy -> what it does with a conversation's later turns.
STICKY_POLICIES = {
    STICKY_OFF: "every turn is scored on its own (the share you set is the share you get)",
    STICKY_ESCALATE: "every turn is scored; once a conversation reached a model it never drops to a cheaper one",
    STICKY_FIRST: "the first turn's decision is reused for the whole conversation",
}
#: Route-text choices (``route_on``).
ROUTE_ON_LAST_USER = "last_user"
ROUTE_ON_CONVERSATION = "conversation"


@dataclass(frozen=True)
class Setting:
    """One routing setting: its name, default, where it applies, and what it means."""

    name: str
    default: Any
    scope: str  # "controller" (RoutingController) or "adapter" (applied around the provider call)
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting("router", None, "controller", "router name ('mixture', 'mf', 'sw_ranking', ...), model string 'router-<name>-<threshold>' or a config dict; default: the bundled default router, 'mixture'"),
    Setting("checkpoint", None, "controller", "folder of a trained checkpoint to load instead of the bundled one"),
    Setting("embedder", None, "controller", "prompt encoder: a local Hugging Face folder or a callable; default: the bundled MiniLM"),
    Setting("threshold", None, "controller", "score cut: strong iff score >= threshold"),
    Setting("strong_share", None, "controller", "target share of strong calls, calibrated on the bundled mixed chat/exam sample (instead of threshold)"),
    Setting("adaptive", False, "controller", "hold strong_share on live traffic with a rolling quantile of recent scores"),
    Setting("window", 1000, "controller", "number of recent scores the adaptive threshold uses (an integer, 1 to 1,000,000)"),
    Setting("fallback", "strong", "controller", "model key that answers when a request cannot be scored (flagged, with the reason): 'strong' or 'weak', or a pool model"),
    Setting("timeout_s", None, "controller", "seconds routing may take before the fallback answers; excess load is shed at once ('overloaded'), not queued"),
    Setting("sticky_sessions", STICKY_OFF, "controller", "per-conversation policy: 'off', 'escalate' or 'first' (see STICKY_POLICIES); true means 'escalate'"),
    Setting("max_sessions", 10_000, "controller", "conversations remembered for sticky sessions, 1 to 1,000,000 (least recently used dropped)"),
    Setting("session_ttl_s", None, "controller", "seconds a conversation may stay idle before sticky sessions forget it; default: kept until evicted"),
    Setting("shared_state", None, "controller", "'redis://host:port/db' (or os.environ/NAME, or {url, prefix, scope, timeout_s, retry_after_s, sync_every_s}): one adaptive threshold, sticky sessions and counters for every replica using that Redis; while it is unreachable each replica decides from its own state and says so; default: state kept in the process"),
    Setting("pool", None, "controller", "pool routing (UniRoute): {name: cost} or names of profiled models"),
    Setting("lam", None, "controller", "pool routing: weight of cost against predicted quality"),
    Setting("target_cost", None, "controller", "pool routing: average cost per request to hold (instead of lam)"),
    Setting("quality_floor", None, "controller", "pool routing: average predicted quality to hold (instead of lam)"),
    Setting("failover", False, "adapter", "when the chosen model's call fails before any output, retry once on the other model (flagged)"),
    Setting("route_on", ROUTE_ON_LAST_USER, "adapter", "text the router reads: 'last_user' message or the whole 'conversation'"),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
CONTROLLER_SETTINGS: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.scope == "controller")
ADAPTER_SETTINGS: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.scope == "adapter")


def split_settings(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``config`` split into (controller settings, shared adapter settings, everything else)."""
    controller = {k: v for k, v in config.items() if k in CONTROLLER_SETTINGS}
    adapter = {k: v for k, v in config.items() if k in ADAPTER_SETTINGS}
    rest = {k: v for k, v in config.items() if k not in BY_NAME}
    return controller, adapter, rest


def settings_table() -> str:
    """The settings as a Markdown table (the README's settings table is this text)."""
    rows = ["| setting | default | applies in | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = "–" if s.default is None else f"`{s.default!r}`"
        rows.append(f"| `{s.name}` | {default} | {s.scope} | {s.meaning} |")
    return "\n".join(rows)
