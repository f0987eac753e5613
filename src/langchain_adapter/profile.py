"""The capability profile of a router: what every child can do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def merge_profiles(profiles: Sequence[Any]) -> dict[str, Any] | None:
    """Intersect child profiles: a flag holds if it holds for all, a limit is the smallest, other
    fields are kept only where all children agree. None if any child has no profile."""
    if not profiles or any(not isinstance(p, dict) for p in profiles):
        return None
    out: dict[str, Any] = {}
    for key in set.intersection(*(set(p) for p in profiles)):
        values = [p[key] for p in profiles]
        if all(isinstance(v, bool) for v in values):
            out[key] = all(values)
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            out[key] = min(values)
        elif all(v == values[0] for v in values[1:]):
            out[key] = values[0]
    return out
