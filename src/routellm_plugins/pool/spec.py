"""Pools as data: ``{key: cost}`` (or ``{key: {"cost": c, "profile": name}}``, or a list of keys) -> :class:`PoolSpec`.

Each key (or its ``profile``) is resolved to a profiled model by
:func:`~routellm_plugins.pool.names.profiled_name`: explicit ``aliases``, the exact name, then
provider prefixes and common spellings (``openai/gpt-4-1106-preview`` -> ``gpt-4-1106-preview``).

Costs are in one unit for the whole pool: all given in the config (any unit you like); else the
costs stored with the profiles when every key is a profiled model's own name and all are known;
else, model by model, LiteLLM's price map (:data:`LITELLM_COST_UNIT`: input + output price per
token) for the key, then for its profiled name, then the stored cost when the pool stores
LiteLLM prices. A mix of given and missing costs is refused: their units could differ.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from routellm_plugins.errors import ConfigError
from routellm_plugins.pool.names import profiled_name
from routellm_plugins.pool.profiles import LLMProfiles
from routellm_plugins.validation import check_non_negative


#: Cost unit of :func:`litellm_cost` (and of pools that store LiteLLM prices).
LITELLM_COST_UNIT = "USD/token (input + output, LiteLLM price map)"


@dataclass(frozen=True)
class PoolSpec:
    """The models a decision may pick: deployment ``keys``, the ``profiles`` behind them, and their ``costs``."""

    keys: tuple[str, ...]
    profiles: tuple[str, ...]
    costs: np.ndarray
    cost_source: str

    def __len__(self) -> int:
        return len(self.keys)


def litellm_cost(model: str) -> float | None:
    """Input + output price per token of ``model`` in LiteLLM's local price map, or None (no litellm / unknown model)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except Exception:  # noqa: BLE001 - litellm is optional; any import failure means "no price map"
        return None
    table = getattr(litellm, "model_cost", None) or {}
    for name in (model, model.split("/", 1)[-1]):
        entry = table.get(name)
        if isinstance(entry, Mapping):
            inp, out = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
            if isinstance(inp, (int, float)) and isinstance(out, (int, float)):
                return float(inp) + float(out)
    return None


def _entries(pool: Any, profiles: LLMProfiles) -> list[tuple[str, str, Any]]:
    if pool is None:
        return [(m, m, None) for m in profiles.models]
    if isinstance(pool, Mapping):
        out = []
        for key, value in pool.items():
            if not isinstance(key, str) or not key.strip():
                raise ConfigError(f"pool keys must be non-empty model names, got {key!r}")
            if isinstance(value, Mapping):
                extra = set(value) - {"cost", "profile"}
                if extra:
                    raise ConfigError(f"pool entry {key!r} has unknown keys {sorted(extra)}; known: cost, profile")
                out.append((key, str(value.get("profile") or key), value.get("cost")))
            else:
                out.append((key, key, value))
        return out
    if isinstance(pool, (str, bytes)) or not isinstance(pool, Sequence):
        raise ConfigError(f"pool must be a mapping {{name: cost}} or a list of names, got {type(pool).__name__}: {pool!r:.80}")
    for key in pool:
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"pool names must be non-empty strings, got {key!r}")
    return [(k, k, None) for k in pool]


def resolve_pool(pool: Mapping[str, Any] | Sequence[str] | None, profiles: LLMProfiles,
                 aliases: Mapping[str, str] | None = None) -> PoolSpec:
    """Validate a pool against the profiled models (resolving names, see module doc) and fix every member's cost."""
    entries = [(k, profiled_name(p, profiles.models, aliases), c) for k, p, c in _entries(pool, profiles)]
    keys = [k for k, _, _ in entries]
    if len(keys) < 2:
        raise ConfigError(f"a pool needs at least two models to route between, got {len(keys)}: {keys}")
    if len(set(keys)) != len(keys):
        raise ConfigError(f"pool names must be unique, got {keys}")
    given = [(k, c) for k, _, c in entries if c is not None]
    if given and len(given) != len(entries):
        missing = [k for k, _, c in entries if c is None]
        raise ConfigError(f"costs missing for pool models {missing}: give a cost for every model, or for none (then stored or LiteLLM prices are used)")
    if given:
        costs = [check_non_negative(c, f"cost of pool model {k!r}") for k, c in given]
        source = "config"
    else:
        stored = [profiles.costs[profiles.column(p)] if k == p else math.nan for k, p, _ in entries]
        if all(math.isfinite(c) for c in stored):
            costs, source = [float(c) for c in stored], f"profiles ({profiles.cost_unit})"
        else:
            stored_ok = profiles.cost_unit == LITELLM_COST_UNIT
            priced = []
            for k, p, _ in entries:
                c = litellm_cost(k)
                c = litellm_cost(p) if c is None else c
                if c is None and stored_ok and math.isfinite(profiles.costs[profiles.column(p)]):
                    c = float(profiles.costs[profiles.column(p)])
                priced.append(c)
            missing = [k for k, c in zip(keys, priced) if c is None]
            if missing:
                raise ConfigError(
                    f"costs missing for pool models {missing}: no stored cost and no LiteLLM price; give pool={{name: cost}}"
                )
            costs, source = [float(c) for c in priced], "litellm (USD/token, input + output)"
    return PoolSpec(tuple(keys), tuple(p for _, p, _ in entries), np.asarray(costs, dtype=np.float64), source)
