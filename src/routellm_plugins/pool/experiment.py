"""The ``evaluate-pool`` experiment: held-out LLMs, lam sweeps, area / QNC / cost@95% per router.

Protocol: fit clusters on the train split's prompts and the learned map on the *training*
LLMs' train-split scores; every model (held-out ones included) joins by its profile on the
representative prompts (train split); evaluate on the test split. Held-out LLMs are drawn
per seed. Nothing is tuned on the test split: settings come from :data:`DEFAULTS` (chosen by
cross-validation on the train split, see :func:`tune`) or from ``--tune`` (CV per seed,
training LLMs only).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from routellm_plugins.data.graded import GradedSet, concat
from routellm_plugins.errors import ConfigError
from routellm_plugins.pool.evaluation import Curve, Summary, plot_curves, router_curve, summarise
from routellm_plugins.pool.routers import PoolRouter
from routellm_plugins.pool.training import PoolSettings, cross_validate, fit_pool, merge_duplicate_ids

ROUTER_ORDER = ("uniroute_kmeans", "uniroute_map", "pool_knn", "pool_zero")
LABELS = {"uniroute_kmeans": "UniRoute-KMeans", "uniroute_map": "UniRoute-LearnedMap", "pool_knn": "K-NN", "pool_zero": "ZeroRouter"}

#: RouterDC cost proxies. "params": parameter count in billions (Mistral-7B family 7.24, Llama-3-8B family 8.03);
#: zephyr-7b-beta is a Mistral-7B fine-tune. "uniform": 1 each (routing for quality only).
PARAMS_B = {"mistral": 7.24, "zephyr-7b": 7.24, "llama-3-8b": 8.03, "llama3-8b": 8.03}
ROUTERDC_TRAIN = ("mmlu_train", "gsm8k-train", "arc_challenge_train", "humaneval_train", "cmmlu_train")
ROUTERDC_TEST = ("mmlu_test", "gsm8k-test", "arc_challenge_test", "humaneval_test", "cmmlu_test")

#: Settings chosen by :func:`tune` (3-fold CV, two inner held-out draws, all models of the train split;
#: ``routellm-plugins train-pool --data NAME --tune``); K-NN's k tuned the same way on its own area.
#: (Chosen before the tuning score also covered the inner unseen pool and before prior="auto" was a
#: candidate; ``--tune`` re-chooses per seed with the current objective.)
DEFAULTS: dict[str, PoolSettings] = {
    "routerbench": PoolSettings(k=16, prior=20.0, knn_k=100, temperature=10.0, n_representative=None),
    "routerdc": PoolSettings(k=64, prior=20.0, knn_k=100, temperature=10.0, n_representative=None),
    # Fixed, not tuned: the bundled multi-source pool and the leave-one-task-out runs (see the README).
    "bundled": PoolSettings(k=32, prior="auto", knn_k=100, temperature=10.0, n_clusterings=5),
    "heldout_tasks": PoolSettings(k=32, prior="auto", knn_k=100, temperature=10.0, n_clusterings=5),
}
#: CV grids for ``--tune`` (kept small: the box is shared). UniRoute's clusters/map and K-NN's k are tuned separately.
TUNE_GRID: dict[str, Sequence[Any]] = {"k": (16, 32, 64), "prior": ("auto", 20.0), "n_clusterings": (1, 5)}
#: Candidates for K-NN's own k.
KNN_GRID: dict[str, Sequence[Any]] = {"knn_k": (10, 25, 50, 100, 200, 400)}


def param_proxy(model: str) -> float:
    """Parameter count (billions) of a RouterDC model from its name."""
    low = model.lower()
    for key, value in PARAMS_B.items():
        if key in low:
            return value
    raise ConfigError(f"no parameter-count proxy for model {model!r}; known families: {sorted(PARAMS_B)}")


@dataclass
class Dataset:
    """Train and test splits plus how to cost a decision (decision costs) and realise it (true costs)."""

    name: str
    train: GradedSet
    test: GradedSet
    train_emb: np.ndarray
    test_emb: np.ndarray
    decision_costs: np.ndarray
    test_costs: np.ndarray
    cost_note: str


def load_dataset(name: str, data_dir: str | Path | None = None, cost_proxy: str = "params", embed: Callable | None = None) -> Dataset:
    """RouterBench (per-prompt USD costs) or RouterDC (cost proxy), embedded with the cached bundled embedder."""
    from routellm_plugins.embedding_cache import embed_cached
    from routellm_plugins.pool.sources import embed_by_group

    embed = embed or embed_cached
    if name == "routerbench":
        from routellm_plugins.data.routerbench import load_routerbench

        train = merge_duplicate_ids(load_routerbench("train", data_dir))
        test = merge_duplicate_ids(load_routerbench("test", data_dir))
        keep = ~(np.isnan(test.scores).any(1) | np.isnan(test.costs).any(1))  # type: ignore[union-attr]
        test_emb = embed_by_group(test, embed)[keep]  # embedded before the subset: the cache is keyed per group of the split
        test = test.subset(keep)
        with np.errstate(invalid="ignore"):
            dcost = np.nanmean(train.costs, axis=0)  # type: ignore[arg-type]
        return Dataset(name, train, test, embed_by_group(train, embed), test_emb, dcost, np.asarray(test.costs),
                       "USD per prompt (RouterBench); decisions use each model's mean train cost")
    if name == "routerdc":
        from routellm_plugins.data.routerdc import load_routerdc

        parts_tr = [load_routerdc(s, data_dir) for s in ROUTERDC_TRAIN]
        parts_te = [load_routerdc(s, data_dir) for s in ROUTERDC_TEST]
        train, test = concat(parts_tr, "routerdc-train"), concat(parts_te, "routerdc-test")
        # Embed file by file: the on-disk cache is keyed per prompt list, so other runs' caches are reused.
        train_emb = np.concatenate([embed(p.prompts) for p in parts_tr])
        test_emb = np.concatenate([embed(p.prompts) for p in parts_te])
        keep = ~np.isnan(test.scores).any(1)
        test, test_emb = test.subset(keep), test_emb[keep]
        if cost_proxy == "params":
            c = np.array([param_proxy(m) for m in train.models])
            note = "parameter count (billions) as cost proxy"
        elif cost_proxy == "uniform":
            c = np.ones(len(train.models))
            note = "uniform cost 1 (quality-only routing)"
        else:
            raise ConfigError(f"cost_proxy must be 'params' or 'uniform', got {cost_proxy!r}")
        return Dataset(name, train, test, train_emb, test_emb, c, np.tile(c, (len(test), 1)), note)
    raise ConfigError(f"unknown pool data set {name!r}; known: routerbench, routerdc")


def held_out_models(models: Sequence[str], n: int, seed: int) -> list[str]:
    """``n`` models drawn without replacement with ``seed`` (the held-out, never-trained-on LLMs)."""
    if not 1 <= n <= len(models) - 1:
        raise ConfigError(f"n_held_out must be in [1, {len(models) - 1}], got {n}")
    rng = np.random.default_rng(seed)
    return [str(m) for m in rng.choice(list(models), size=n, replace=False)]


def evaluate_routers(routers: dict[str, PoolRouter], emb: np.ndarray, test: GradedSet, models: Sequence[str],
                     decision_costs: np.ndarray, test_costs: np.ndarray) -> tuple[list[Curve], list[Summary]]:
    """Curves and summaries of every router on the test pool ``models``."""
    cols = [test.models.index(m) for m in models]
    dcost = np.asarray(decision_costs)[cols]
    scores, costs = test.scores[:, cols], np.asarray(test_costs)[:, cols]
    curves, sums = [], []
    for name in ROUTER_ORDER:
        if name not in routers:
            continue
        q = routers[name].predict_embedded(emb, list(models))
        cv = router_curve(LABELS[name], q, dcost, scores, costs)
        curves.append(cv)
        sums.append(summarise(cv, scores, costs))
    return curves, sums


def _cv_score(dcost_all: np.ndarray, models_all: Sequence[str]):
    """Per router: mean area over the inner 'all' pool and the inner 'unseen' pool (held-out training LLMs);
    ``uniroute``: the mean of the two UniRoute variants (they share clusters and LLM vectors)."""
    def score(routers, dte, ete, held, _costs):
        keep = ~np.isnan(dte.scores).any(1)
        if dte.costs is not None:
            keep &= ~np.isnan(dte.costs).any(1)
        dte, ete = dte.subset(keep), ete[keep]
        true_costs = dte.costs if dte.costs is not None else np.tile(dcost_all, (len(dte), 1))
        per: dict[str, list[float]] = {}
        for members in (list(dte.models), list(held)):
            if len(members) < 2:
                continue
            _, sums = evaluate_routers(routers, ete, dte, members, dcost_all, true_costs)
            for n, s in zip([n for n in ROUTER_ORDER if n in routers], sums):
                per.setdefault(n, []).append(s.area)
        out = {n: float(np.mean(v)) for n, v in per.items()}
        if "uniroute_kmeans" in out and "uniroute_map" in out:
            out["uniroute"] = 0.5 * (out["uniroute_kmeans"] + out["uniroute_map"])
        return out
    return score


def tune(ds: Dataset, train_models: Sequence[str], base: PoolSettings, grid: dict[str, Sequence[Any]] | None = None,
         knn_grid: dict[str, Sequence[Any]] | None = None, n_folds: int = 3, seed: int = 0, max_prompts: int | None = 2500,
         ) -> tuple[PoolSettings, list]:
    """CV on the train split using only ``train_models`` (two inner held-out draws among them).

    Each inner draw holds out a third of ``train_models`` (at least two), so the score covers both the
    inner full pool and the inner pool of those LLMs (see :func:`_cv_score`). The clusters and LLM
    vectors (k, prior, n_clusterings) are chosen on UniRoute-KMeans' score (the learned map shares
    them, and training it inside the grid costs too much on a small box); K-NN's k maximises K-NN's
    own score. At most ``max_prompts`` train prompts (seeded draw) are used, to keep tuning cheap.
    The test split is never read.
    """
    cols = [ds.train.models.index(m) for m in train_models]
    sub = ds.train.select_models(list(train_models))
    emb = ds.train_emb
    if max_prompts is not None and len(sub) > max_prompts:
        pick = np.sort(np.random.default_rng(seed).choice(len(sub), size=max_prompts, replace=False))
        sub, emb = sub.subset(pick), emb[pick]
    dcost = np.asarray(ds.decision_costs)[cols]
    n_inner = min(len(train_models) - 1, max(2, len(train_models) // 3))
    inner = [held_out_models(train_models, n_inner, 1000 + seed + i) for i in range(2)]
    kw = dict(score_fn=_cv_score(dcost, train_models), n_folds=n_folds, held_out_sets=inner, costs=dcost)
    res = cross_validate(sub, emb, grid or TUNE_GRID, base=base, variants=("uniroute_kmeans",), **kw)
    chosen = PoolSettings(**{**base.as_dict(), **res.best("uniroute_kmeans")})
    res_knn = cross_validate(sub, emb, knn_grid or KNN_GRID, base=chosen, variants=("pool_knn",), **kw)
    chosen.knn_k = int(res_knn.best("pool_knn")["knn_k"])
    return chosen, res.scores + res_knn.scores


@dataclass
class Report:
    """All numbers of one evaluate-pool run."""

    dataset: str
    cost_note: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    panels: list = field(default_factory=list)

    def table(self) -> str:
        """Mean (± std over seeds) per pool kind and router."""
        lines = [f"# {self.dataset}: {self.cost_note}",
                 f"{'pool':<8} {'router':<20} {'area':>15} {'QNC':>15} {'cost@95%':>15} {'beats':>6}"]
        for pool in ("all", "unseen"):
            rows = [r for r in self.rows if r["pool"] == pool]
            if not rows:
                continue
            for name in ROUTER_ORDER:
                rr = [r for r in rows if r["router"] == LABELS[name]]
                lines.append(f"{pool:<8} {LABELS[name]:<20} {_ms([r['area'] for r in rr]):>15} {_ms([r['qnc'] for r in rr]):>15} "
                             f"{_ms([r['cost@95%'] for r in rr]):>15} {_wins(rows, name):>6}")
        return "\n".join(lines)


def _ms(vals: list[Any]) -> str:
    got = [v for v in vals if v is not None]
    if not got:
        return "n/a"
    tail = "" if len(got) == len(vals) else f" ({len(got)}/{len(vals)})"
    return f"{np.mean(got):.4f}±{np.std(got):.4f}{tail}"


def _wins(rows: list[dict[str, Any]], name: str) -> str:
    """Seeds where this router's area beats both K-NN and ZeroRouter (UniRoute rows only)."""
    if not name.startswith("uniroute"):
        return ""
    seeds = sorted({r["seed"] for r in rows})
    won = 0
    for s in seeds:
        a = {r["router"]: r["area"] for r in rows if r["seed"] == s}
        won += a[LABELS[name]] > max(a[LABELS["pool_knn"]], a[LABELS["pool_zero"]])
    return f"{won}/{len(seeds)}"


def run(ds: Dataset, *, seeds: Sequence[int] = (0, 1, 2, 3, 4), n_held_out: int = 4, settings: PoolSettings | None = None,
        tune_each: bool = False, log: Callable[[str], None] = print) -> Report:
    """Held-out-LLM evaluation over ``seeds``; pools 'all' (seen + held-out) and 'unseen' (held-out only)."""
    base = settings or DEFAULTS.get(ds.name, PoolSettings())
    report = Report(ds.name, ds.cost_note)
    models = list(ds.train.models)
    for seed in seeds:
        held = held_out_models(models, n_held_out, seed)
        train_models = [m for m in models if m not in held]
        s = PoolSettings(**{**base.as_dict(), "seed": seed})
        t0 = time.perf_counter()
        if tune_each:
            s, _ = tune(ds, train_models, s, seed=seed)
        routers = fit_pool(ds.train, ds.train_emb, s, train_models=train_models, costs=ds.decision_costs)
        log(f"[{ds.name}] seed {seed}: held out {held}; settings k={s.k} prior={s.prior} B={s.n_clusterings} T={s.temperature} knn_k={s.knn_k} ({time.perf_counter() - t0:.1f}s)")
        for pool, members in (("all", models), ("unseen", held)):
            if len(members) < 2:
                continue
            curves, sums = evaluate_routers(routers, ds.test_emb, ds.test, members, ds.decision_costs, ds.test_costs)
            for sm in sums:
                report.rows.append({"dataset": ds.name, "seed": seed, "pool": pool, "held_out": held, **sm.row()})
            if seed == seeds[0]:
                cols = [ds.test.models.index(m) for m in members]
                report.panels.append((f"{ds.name}, pool={pool} ({len(members)} LLMs, {len(held)} unseen), seed {seed}", curves,
                                      np.asarray(ds.test_costs)[:, cols].mean(0), ds.test.scores[:, cols].mean(0), list(members)))
    return report


def write_plot(reports: Sequence[Report], path: str | Path) -> Path:
    """One PNG with every report's first-seed panels."""
    panels = [p for r in reports for p in r.panels]
    if not panels:
        raise ConfigError("nothing to plot")
    return plot_curves(panels, path)

