"""Cost–quality curves of two-model routers: APGR, CPT(x%), and the strong/weak/oracle references.

Definitions (RouteLLM's, computed exactly): sort prompts by score, descending; sending the
top k to the strong model gives quality(k) = mean(strong on top k, weak on the rest).
PGR(k) = (quality(k) - weak) / (strong - weak). APGR is the area under PGR over the
strong-call share in [0, 1] (trapezoids). Tied scores are taken as a random order among
themselves (the curve is linear across a tie). CPT(x) is the least strong-call share whose
PGR reaches x (linear interpolation); NaN if the curve never reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from routellm_plugins.errors import DataFormatError


@dataclass(frozen=True)
class Curve:
    """Points of a router's cost–quality curve (strong share ascending)."""

    share: np.ndarray
    quality: np.ndarray
    pgr: np.ndarray


@dataclass(frozen=True)
class RouterReport:
    """Evaluation figures of one router on one benchmark."""

    router: str
    n_prompts: int
    apgr: float
    cpt50: float
    cpt80: float
    strong_quality: float
    weak_quality: float
    oracle_quality: float
    curve: Curve

    def row(self) -> dict[str, float | str | int]:
        return {"router": self.router, "n": self.n_prompts, "APGR": round(self.apgr, 4),
                "CPT(50%)": round(self.cpt50, 4), "CPT(80%)": round(self.cpt80, 4)}


def cost_quality_curve(scores: Sequence[float] | np.ndarray, strong: np.ndarray, weak: np.ndarray) -> Curve:
    """The exact curve of routing by ``scores`` (higher = strong) between per-prompt qualities."""
    s = np.asarray(scores, dtype=np.float64)
    qs = np.asarray(strong, dtype=np.float64)
    qw = np.asarray(weak, dtype=np.float64)
    if not (s.shape == qs.shape == qw.shape) or s.ndim != 1 or s.size == 0:
        raise DataFormatError(f"scores, strong and weak must be 1-D of equal non-zero length; got {s.shape}, {qs.shape}, {qw.shape}")
    if not (np.isfinite(s).all() and np.isfinite(qs).all() and np.isfinite(qw).all()):
        raise DataFormatError("scores and qualities must be finite (drop ungraded prompts first)")
    n = s.size
    order = np.argsort(-s, kind="stable")
    gain = (qs - qw)[order]
    cum = np.concatenate([[0.0], np.cumsum(gain)])
    # Curve points only at the ends of runs of tied scores: linear in between.
    ss = s[order]
    ends = np.flatnonzero(np.diff(ss) != 0) + 1
    ks = np.concatenate([[0], ends, [n]])
    base = qw.mean()
    quality = base + cum[ks] / n
    span = qs.mean() - base
    pgr = (quality - base) / span if span != 0 else np.full(ks.shape, np.nan)
    return Curve(ks / n, quality, pgr)


def apgr(curve: Curve) -> float:
    """Area under PGR over the strong-call share (0.5 for a random router)."""
    return float(np.trapezoid(curve.pgr, curve.share))


def cpt(curve: Curve, target: float) -> float:
    """Least strong-call share reaching PGR >= ``target`` (interpolated); NaN if never reached."""
    p, x = curve.pgr, curve.share
    hit = np.flatnonzero(p >= target - 1e-12)
    if hit.size == 0:
        return float("nan")
    i = int(hit[0])
    if i == 0:
        return float(x[0])
    p0, p1, x0, x1 = p[i - 1], p[i], x[i - 1], x[i]
    return float(x0 + (target - p0) * (x1 - x0) / (p1 - p0)) if p1 != p0 else float(x1)


def evaluate_scores(router: str, scores: np.ndarray, strong: np.ndarray, weak: np.ndarray) -> RouterReport:
    """APGR, CPT(50%), CPT(80%) and references for one router's scores."""
    c = cost_quality_curve(scores, strong, weak)
    qs, qw = np.asarray(strong, float), np.asarray(weak, float)
    return RouterReport(router, int(qs.size), apgr(c), cpt(c, 0.5), cpt(c, 0.8), float(qs.mean()), float(qw.mean()),
                        float(np.maximum(qs, qw).mean()), c)


def format_table(reports: Sequence[RouterReport], extra: Mapping[str, Mapping[str, float]] | None = None) -> str:
    """A plain-text table of reports (one row per router) with the references underneath."""
    extra = extra or {}
    cols = ["router", "n", "APGR", "CPT(50%)", "CPT(80%)"] + sorted({k for v in extra.values() for k in v})
    rows = [[*map(str, r.row().values()), *[f"{extra.get(r.router, {}).get(k, float('nan')):.4g}" for k in cols[5:]]] for r in reports]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in rows]
    if reports:
        r = reports[0]
        lines.append(f"references: strong={r.strong_quality:.4f} weak={r.weak_quality:.4f} oracle={r.oracle_quality:.4f} "
                     f"(random router APGR = 0.5 in expectation)")
    return "\n".join(lines)


def plot_curves(reports: Sequence[RouterReport], path: str, title: str = "") -> str:
    """Write a PNG of quality vs strong-call share for each router, with strong/weak/random lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for r in reports:
        ax.plot(r.curve.share * 100, r.curve.quality, label=f"{r.router} (APGR {r.apgr:.3f})")
    if reports:
        r = reports[0]
        ax.axhline(r.strong_quality, color="k", ls="--", lw=1, label="strong only")
        ax.axhline(r.weak_quality, color="gray", ls="--", lw=1, label="weak only")
        ax.plot([0, 100], [r.weak_quality, r.strong_quality], color="gray", ls=":", lw=1, label="random")
    ax.set_xlabel("strong-model calls (%)")
    ax.set_ylabel("quality (mean score)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
