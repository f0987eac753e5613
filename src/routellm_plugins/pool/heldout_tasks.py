"""Leave-one-task-out evaluation: does the pool router use the prompt on a task it never saw?

For each benchmark T (:data:`~routellm_plugins.pool.sources.TASKS`): clusters, the learned map
and every profile are built from the *train* splits of the other tasks only; then the routers
route all prompts of T (every split: none was trained on) among the models graded on T that have
a profile from the other tasks and a cost. Per source that holds T, one test pool:

- RouterBench: its 11 LLMs, real per-prompt USD costs (decisions use each model's mean cost on
  the training prompts);
- RouterDC: its 7 LLMs, parameter count as the cost proxy;
- AlpacaEval, arena_bench_v1: the graded models with a LiteLLM price
  (:func:`~routellm_plugins.pool.costs.model_price`, USD per token, input + output).

Each router is compared with **the prompt-independent policy made from its own mean
predictions** on T (same model quality estimates, prompt ignored): ``gain`` = area(router) -
area(that policy). ``gain > 0`` means the router's per-prompt choices beat what its estimates
of the models' average quality alone would give.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from routellm_plugins.errors import ConfigError
from routellm_plugins.pool.costs import model_prices
from routellm_plugins.pool.evaluation import router_curve, summarise
from routellm_plugins.pool.experiment import LABELS, ROUTER_ORDER, param_proxy
from routellm_plugins.pool.sources import TASKS, PoolData
from routellm_plugins.pool.training import PoolSettings, fit_pool

#: Least graded representative prompts a model needs (outside the held-out task) to join a test pool.
MIN_PROFILE = 20


@dataclass
class TestPool:
    """The prompts of one held-out task in one source, the models routed among, and their costs."""

    task: str
    source: str
    rows: np.ndarray
    models: list[str]
    decision_costs: np.ndarray
    true_costs: np.ndarray  # (n, m)


def test_pools(full: PoolData, train_rows: np.ndarray, task: str, profiled: Sequence[str]) -> list[TestPool]:
    """The test pools of held-out ``task`` (see module doc); ``profiled`` = models with a profile from the other tasks."""
    data = full.data
    tasks, sources = full.tasks, full.sources
    out = []
    for source in sorted(set(sources[tasks == task])):
        rows = np.flatnonzero((tasks == task) & (sources == source))
        graded = ~np.isnan(data.scores[rows])
        cand = [m for j, m in enumerate(data.models) if graded[:, j].mean() >= 0.9 and m in profiled]
        if source == "routerbench":
            cols = [data.models.index(m) for m in cand]
            tr = np.intersect1d(train_rows, np.flatnonzero(sources == "routerbench"))
            with np.errstate(invalid="ignore"):
                dcost = np.nanmean(data.costs[np.ix_(tr, cols)], axis=0)  # type: ignore[index]
            true = data.costs[np.ix_(rows, cols)]  # type: ignore[index]
        elif source == "routerdc":
            dcost = np.array([param_proxy(m) for m in cand])
            true = np.tile(dcost, (len(rows), 1))
        else:
            prices = model_prices(cand)
            cand = [m for m, p in zip(cand, prices) if np.isfinite(p)]
            dcost = prices[np.isfinite(prices)]
            true = np.tile(dcost, (len(rows), 1))
        if len(cand) < 2:
            continue
        cols = [data.models.index(m) for m in cand]
        ok = ~np.isnan(data.scores[np.ix_(rows, cols)]).any(1) & ~np.isnan(true).any(1)
        out.append(TestPool(task, source, rows[ok], cand, np.asarray(dcost, dtype=np.float64), np.asarray(true)[ok]))
    return out


@dataclass
class HeldOutReport:
    """Rows of one leave-one-task-out run (one per task x source x router)."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def table(self) -> str:
        """Area, the prompt-independent area from the router's own mean predictions, gain and QNC per test pool."""
        head = f"{'task':<15} {'source':<15} {'LLMs':>4} {'prompts':>7} {'router':<20} {'area':>7} {'own-mean':>8} {'gain':>7} {'QNC':>7}"
        lines = [head]
        for r in self.rows:
            qnc = "n/a" if r["qnc"] is None else f"{r['qnc']:.3f}"
            lines.append(f"{r['task']:<15} {r['source']:<15} {r['n_models']:>4} {r['n_prompts']:>7} {r['router']:<20} "
                         f"{r['area']:>7.4f} {r['own_mean_area']:>8.4f} {r['gain']:>+7.4f} {qnc:>7}")
        for name in ROUTER_ORDER:
            rr = [r for r in self.rows if r["router"] == LABELS[name]]
            if rr:
                g = np.array([r["gain"] for r in rr])
                hit = sum(r["gain"] >= 0.02 and r["qnc"] is not None and r["qnc"] < 1 for r in rr)
                lines.append(f"{LABELS[name]:<20} mean gain {g.mean():+.4f} (min {g.min():+.4f}); gain >= 0.02 and QNC < 1 "
                             f"on {hit}/{len(rr)} test pools")
        return "\n".join(lines)


def leave_one_task_out(train: PoolData, train_emb: np.ndarray, full: PoolData, full_emb: np.ndarray, settings: PoolSettings, *,
                       tasks: Sequence[str] = TASKS, log: Callable[[str], None] = print) -> HeldOutReport:
    """Run the protocol of the module doc for every task in ``tasks``."""
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise ConfigError(f"unknown tasks {unknown}; known: {', '.join(TASKS)}")
    report = HeldOutReport()
    train_tasks = train.tasks
    for task in tasks:
        t0 = time.perf_counter()
        keep = np.flatnonzero(train_tasks != task)
        sub = train.data.subset(keep)
        routers = fit_pool(sub, train_emb[keep], settings)
        prof = routers["uniroute_kmeans"].profiles
        assert prof is not None
        graded = (~np.isnan(prof.scores)).sum(0)
        profiled = [m for m, g in zip(prof.models, graded) if g >= MIN_PROFILE]
        # Rows of ``full`` that are training rows of other tasks: matched by prompt id.
        train_ids = set(sub.ids)
        train_rows = np.array([i for i, pid in enumerate(full.data.ids) if pid in train_ids], dtype=int)
        pools = test_pools(full, train_rows, task, profiled)
        for tp in pools:
            emb = full_emb[tp.rows]
            cols = [full.data.models.index(m) for m in tp.models]
            scores = full.data.scores[np.ix_(tp.rows, cols)]
            for name in ROUTER_ORDER:
                q = routers[name].predict_embedded(emb, tp.models)
                s = summarise(router_curve(LABELS[name], q, tp.decision_costs, scores, tp.true_costs), scores, tp.true_costs)
                const = np.repeat(q.mean(0, keepdims=True), len(q), axis=0)
                s0 = summarise(router_curve("own mean", const, tp.decision_costs, scores, tp.true_costs), scores, tp.true_costs)
                report.rows.append({"task": task, "source": tp.source, "n_models": len(tp.models), "n_prompts": len(tp.rows),
                                    "models": tp.models, **s.row(), "own_mean_area": round(s0.area, 4),
                                    "gain": round(s.area - s0.area, 4)})
        log(f"[held-out {task}] {len(pools)} test pools, {len(sub)} training prompts ({time.perf_counter() - t0:.1f}s)")
    return report
