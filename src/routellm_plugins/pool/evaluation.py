"""Deferral curves (quality vs average cost over a lam sweep) and their summaries.

Conventions (used by ``routellm-plugins evaluate-pool``):

- A curve's points are (average cost, average score) of a router on the test prompts, one
  per lam. Points are joined by straight lines, which is what a random mix of two
  neighbouring operating points achieves (ZeroRouter's curve is exactly that), and the curve
  is made non-decreasing (a larger budget can always run the cheaper policy).
- **area**: mean quality of that curve over costs from the cheapest to the most expensive
  single pool model's average cost (flat beyond the curve's last point). Units: accuracy.
- **QNC**: least cost at which the curve reaches the best single model's accuracy, relative
  to that model's cost (None when it never does).
- **cost@95%**: least cost at which the curve reaches 95 % of the best single model's
  accuracy, relative to that model's cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from routellm_plugins.decision import choose
from routellm_plugins.pool.routers import lambda_grid


@dataclass
class Curve:
    """Operating points of one router: ``costs`` and ``quality`` per lam."""

    name: str
    costs: np.ndarray
    quality: np.ndarray

    def envelope(self) -> tuple[np.ndarray, np.ndarray]:
        """Cost-sorted points with quality made non-decreasing (dominated points dropped)."""
        order = np.lexsort((-self.quality, self.costs))
        c, q = self.costs[order], self.quality[order]
        keep_c, keep_q = [c[0]], [q[0]]
        for ci, qi in zip(c[1:], q[1:]):
            if qi > keep_q[-1] + 1e-12:
                if ci <= keep_c[-1] + 1e-15:
                    keep_q[-1] = qi
                else:
                    keep_c.append(ci)
                    keep_q.append(qi)
        return np.array(keep_c), np.array(keep_q)

    def quality_at(self, cost: np.ndarray | float) -> np.ndarray:
        """Curve quality at the given budgets (NaN below the cheapest point)."""
        c, q = self.envelope()
        x = np.atleast_1d(np.asarray(cost, dtype=np.float64))
        out = np.interp(x, c, q, left=np.nan, right=q[-1])
        return out

    def cost_for(self, quality: float) -> float | None:
        """Least cost at which the curve reaches ``quality`` (None if never)."""
        c, q = self.envelope()
        if q[-1] < quality - 1e-12:
            return None
        i = int(np.argmax(q >= quality - 1e-12))
        if i == 0:
            return float(c[0])
        return float(c[i - 1] + (quality - q[i - 1]) * (c[i] - c[i - 1]) / (q[i] - q[i - 1]))


def area(curve: Curve, lo: float, hi: float, n: int = 2001) -> float:
    """Mean curve quality over budgets in [lo, hi] (budgets below the curve's cheapest point count as its first quality)."""
    if hi <= lo:
        return float(curve.quality_at(hi)[0])
    x = np.linspace(lo, hi, n)
    c, q = curve.envelope()
    y = np.interp(x, c, q, left=q[0], right=q[-1])
    return float(np.trapezoid(y, x) / (hi - lo)) if hasattr(np, "trapezoid") else float(np.trapz(y, x) / (hi - lo))


def router_curve(name: str, predicted: np.ndarray, decision_costs: np.ndarray, true_scores: np.ndarray, true_costs: np.ndarray,
                 lams: np.ndarray | None = None) -> Curve:
    """Sweep lam over :func:`choose` on predicted quality; realise average true score and true cost on the test prompts."""
    lams = lambda_grid(decision_costs, 300) if lams is None else lams
    rows = np.arange(len(predicted))
    cs, qs = [], []
    for lam in lams:
        idx = choose(predicted, decision_costs, lam)
        cs.append(true_costs[rows, idx].mean())
        qs.append(true_scores[rows, idx].mean())
    return Curve(name, np.array(cs), np.array(qs))


@dataclass
class Summary:
    """One router's numbers on one test pool."""

    name: str
    area: float
    qnc: float | None
    cost95: float | None
    best_quality: float

    def row(self) -> dict[str, object]:
        return {"router": self.name, "area": round(self.area, 4), "qnc": None if self.qnc is None else round(self.qnc, 4),
                "cost@95%": None if self.cost95 is None else round(self.cost95, 4), "max_quality": round(self.best_quality, 4)}


def summarise(curve: Curve, true_scores: np.ndarray, true_costs: np.ndarray) -> Summary:
    """Area, QNC and cost@95% of ``curve`` against the single models of the test pool."""
    single_q = true_scores.mean(0)
    single_c = true_costs.mean(0)
    best = int(np.argmax(single_q))
    lo, hi = float(single_c.min()), float(single_c.max())
    c_best, q_best = float(single_c[best]), float(single_q[best])
    qnc = curve.cost_for(q_best)
    c95 = curve.cost_for(0.95 * q_best)
    return Summary(curve.name, area(curve, lo, hi), None if qnc is None else qnc / c_best, None if c95 is None else c95 / c_best,
                   float(curve.envelope()[1][-1]))


def plot_curves(panels: Sequence[tuple[str, Sequence[Curve], np.ndarray, np.ndarray, Sequence[str]]], path: str | Path) -> Path:
    """Write a PNG: one panel per (title, curves, single-model costs, single-model quality, model names)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.6), squeeze=False)
    for ax, (title, curves, sc, sq, names) in zip(axes[0], panels):
        hi = float(np.max(sc))
        for cv in curves:
            c, q = cv.envelope()
            if c[-1] < hi:  # a larger budget can always run the last policy: the curve stays flat
                c, q = np.append(c, hi), np.append(q, q[-1])
            ax.plot(c, q, label=cv.name, lw=1.6)
        ax.scatter(sc, sq, c="k", s=14, zorder=5, label="single models")
        for x, y, n in zip(sc, sq, names):
            ax.annotate(n.split("/")[-1][:18], (x, y), fontsize=6, xytext=(2, 2), textcoords="offset points")
        if np.max(sc) > 3 * max(np.min(sc), 1e-300):
            ax.set_xscale("log")
        ax.set_xlabel("average cost per prompt")
        ax.set_ylabel("average quality")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
