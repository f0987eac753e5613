"""The evaluation suite: every router and baseline on exams and open chat, in one run.

Sets (GPT-4-1106 strong vs Mixtral-8x7B weak; no router is ever scored on a prompt it trained on):
- ``mmlu``: held-out fold 0; ``gsm8k``: all of RouteLLM's GSM8K file (never trained on);
- ``routerbench``: its test split (never trained on; ``mf``, ``bert`` and the mixture's exam
  expert use it for early stopping, so for them it is a validation set);
- ``alpaca_eval``: all 803 instructions; a router trained on them is cross-fitted by prompt;
- ``arena_bench_v1``: the 158 prompts graded for both models; a router trained on them is
  replaced by one trained without them.

Scores are cached on disk per router checkpoint and set, so a rerun takes seconds.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from routellm_plugins.evaluation.curves import RouterReport, evaluate_scores

SUITE_SETS = ("mmlu", "gsm8k", "routerbench", "alpaca_eval", "arena_bench_v1")
BASELINE_NAMES = ("length", "litellm_complexity")
_SET_NOTES = {
    "mmlu": "held-out fold 0",
    "gsm8k": "never trained on",
    "routerbench": "test split (validation for mf, bert, mixture)",
    "alpaca_eval": "cross-fitted by prompt where trained on",
    "arena_bench_v1": "router trained without it where trained on",
}


def default_suite_routers() -> tuple[str, ...]:
    """The default router, the other two-model routers users pick today, and the two baselines."""
    from routellm_plugins.registry import DEFAULT_ROUTER

    names = [DEFAULT_ROUTER, "mixture_permissive", "mf", "sw_ranking", "bert", "random"]
    return tuple(dict.fromkeys(names)) + BASELINE_NAMES


@dataclass(frozen=True)
class SuiteSet:
    """One evaluation set: prompts with the strong and weak model's per-prompt quality."""

    name: str
    prompts: list[str]
    strong: np.ndarray
    weak: np.ndarray
    note: str


@dataclass
class SuiteResult:
    """Reports per (set, router), the realised strong share at each router's default threshold, and notes."""

    sets: list[SuiteSet]
    reports: dict[tuple[str, str], RouterReport] = field(default_factory=dict)
    shares: dict[tuple[str, str], float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    routers: list[str] = field(default_factory=list)

    def macro(self, router: str) -> float:
        """Mean APGR of ``router`` over the sets it was evaluated on (NaN if none)."""
        vals = [self.reports[(s.name, router)].apgr for s in self.sets if (s.name, router) in self.reports]
        return float(np.mean(vals)) if vals else float("nan")


def load_suite_set(name: str, data_dir: str | os.PathLike[str] | None = None, limit: int | None = None) -> SuiteSet:
    """One of :data:`SUITE_SETS`, restricted to prompts graded for both models (the first ``limit`` of them if given)."""
    from routellm_plugins.evaluation.benchmarks import load_named_benchmark, strong_weak_columns
    from routellm_plugins.data.chat import alpaca_pair, load_alpaca_eval, load_arena_bench
    from routellm_plugins.errors import DataFormatError

    if name == "alpaca_eval":
        pair = alpaca_pair(load_alpaca_eval(data_dir), "Mixtral-8x7B-Instruct-v0.1")
        prompts, qs, qw = pair.prompts, pair.scores[:, 0], pair.scores[:, 1]
    elif name == "arena_bench_v1":
        data = load_arena_bench(data_dir)
        prompts, (qs, qw, _, _) = data.prompts, strong_weak_columns(data, None, None)
    elif name in ("mmlu", "gsm8k", "routerbench"):
        data = load_named_benchmark(name, data_dir)
        prompts, (qs, qw, _, _) = data.prompts, strong_weak_columns(data, None, None)
    else:
        raise DataFormatError(f"unknown suite set {name!r}; the suite has {', '.join(SUITE_SETS)}")
    keep = np.flatnonzero(~(np.isnan(qs) | np.isnan(qw)))[:limit]
    note = _SET_NOTES[name] + (f"; first {len(keep)} only" if limit else "")
    return SuiteSet(name, [prompts[i] for i in keep], qs[keep], qw[keep], note)


def _trained_on(router: Any) -> set[str]:
    """Names of the suite sets a router's checkpoint says it trained on."""
    prov = getattr(router, "provenance", None) or {}
    return {s.get("name") for s in prov.get("sources", []) if isinstance(s, dict)} & {"alpaca_eval", "arena_bench_v1"}


def _checkpoint_key(router: Any) -> str:
    path = getattr(router, "checkpoint_path", None)
    h = hashlib.sha1(type(router).__name__.encode())
    if path is not None:
        for f in sorted(Path(path).glob("*")):
            if f.is_file():
                st = f.stat()
                h.update(f"{f.name}|{st.st_size}|{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def _cached(cache_dir: Path | None, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    if cache_dir is None:
        return compute()
    path = cache_dir / "suite" / f"{key}.npy"
    if path.is_file():
        return np.load(path, allow_pickle=False)
    out = np.asarray(compute(), dtype=np.float64)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, out, allow_pickle=False)
    os.replace(tmp, path)
    return out


def _embedder_tag() -> str:
    """"" on the default embedder path (onnx or torch, fp32); else the tier, so tiers never share cached scores."""
    from routellm_plugins.embedding import resolve_backend

    backend = resolve_backend(None)
    if backend == "onnx":
        from routellm_plugins.embedding_onnx import resolve_precision

        precision = resolve_precision(None)
        return "" if precision == "fp32" else f"-{precision}"
    return "" if backend == "torch" else f"-{backend}"


def _training_embedder() -> Any:
    """The fp32 MiniLM the bundled heads were trained on (onnx when available, else torch)."""
    from routellm_plugins.embedding import get_embedder, onnx_available

    return get_embedder(backend="onnx", precision="fp32") if onnx_available() else get_embedder(backend="torch")


def _score_key(name: str, router: Any, ss: SuiteSet) -> str:
    prompts_key = hashlib.sha1("\x00".join(ss.prompts).encode("utf-8", "replace")).hexdigest()[:16]
    seeded = f"-seed{router.seed}-per-set" if name == "random" else ""  # the random baseline restarts its stream per set
    return f"{name}-{_checkpoint_key(router)}-{ss.name}-{prompts_key}{seeded}{_embedder_tag()}"


def _direct_scores(name: str, router: Any, ss: SuiteSet, cache_dir: Path | None) -> np.ndarray:
    """The router's own scores of the set's prompts (cached)."""
    return _cached(cache_dir, _score_key(name, router, ss), lambda: router.score(ss.prompts))


def _router_scores(name: str, router: Any, ss: SuiteSet, data_dir: Any, cache_dir: Path | None) -> tuple[np.ndarray, str | None]:
    """(scores, note): cross-fitted by the router's recipe where the router trained on the set."""
    base = _score_key(name, router, ss)
    if ss.name in _trained_on(router):
        from routellm_plugins.training.mixture import crossfit_mode, crossfit_scores, load_sources

        params = dict((getattr(router, "provenance", {}) or {}).get("params", {}))
        exclude = tuple(n for n in ("alpaca_eval", "arena_bench_v1")
                        if n not in {s.get("name") for s in router.provenance.get("sources", [])})
        # Heads are always trained on the embeddings the shipped router was trained on; another tier
        # (int8, static) only changes the rows the held-out prompts are scored from, as it does when serving.
        other_tier = bool(_embedder_tag())
        sources = load_sources(data_dir, exclude=exclude, embedder=_training_embedder() if other_tier else None)
        mode = crossfit_mode(ss.name, sources)

        def aligned() -> np.ndarray:
            from routellm_plugins.embedding_cache import embed_cached

            held = next(src for src in sources if src.name == ss.name)
            score_emb = embed_cached(held.data.prompts) if other_tier else None
            full = crossfit_scores(ss.name, sources=sources, score_emb=score_emb, **params)
            by_prompt = dict(zip(held.data.prompts, full))
            return np.array([by_prompt[p] for p in ss.prompts])

        scores = _cached(cache_dir, f"{base}-{mode}", aligned)
        note = "retrained without it" if mode == "without" else "cross-fitted by prompt (5 folds)"
        return scores, note
    return _direct_scores(name, router, ss, cache_dir), None


def run_suite(routers: Sequence[str] | None = None, *, data_dir: str | os.PathLike[str] | None = None,
              sets: Sequence[str] = SUITE_SETS, cache_dir: str | os.PathLike[str] | None = None,
              progress: bool = False, limit: int | None = None) -> SuiteResult:
    """APGR, CPT(50%), CPT(80%) and the realised strong share at the default threshold, per set and router."""
    from routellm_plugins.embedding_cache import default_cache_dir
    from routellm_plugins.evaluation.baselines import BASELINES, complexity_available
    from routellm_plugins.registry import load_router

    names = list(routers) if routers else list(default_suite_routers())
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    result = SuiteResult([load_suite_set(s, data_dir, limit) for s in sets], routers=names)
    if _embedder_tag():
        result.notes["embedder"] = (f"tier '{_embedder_tag()[1:]}' (routers' heads as trained on fp32 MiniLM; "
                                    "cross-fitted heads too, scoring from this tier's rows)")
    loaded: dict[str, Any] = {}
    for name in names:
        if name in BASELINES:
            if name == "litellm_complexity":
                why = complexity_available()
                if why:
                    result.notes[name] = f"not run: {why}"
            continue
        try:
            loaded[name] = load_router(name, **({"seed": 0} if name == "random" else {}))
        except Exception as exc:  # noqa: BLE001 - a router that cannot load is reported, the rest still run
            from routellm_plugins.errors import describe_error

            result.notes[name] = f"not run: {describe_error(exc)}"
    tasks = [(ss, name) for ss in result.sets for name in names if name in loaded or (name in BASELINES and name not in result.notes)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), desc="suite", unit="run")
    for ss, name in tasks:
        if bar is not None:
            bar.set_postfix_str(f"{name} on {ss.name}")
        if name in BASELINES:
            scores, note = BASELINES[name](ss.prompts), None
        else:
            if name == "random":  # a fresh seed-0 stream per set: its figures do not depend on what was cached
                loaded[name] = load_router("random", seed=0)
            scores, note = _router_scores(name, loaded[name], ss, data_dir, cache)
            threshold = loaded[name].threshold
            if threshold is not None:  # what users get: the shipped router's own scores, even where APGR is cross-fitted
                own = scores if note is None else _direct_scores(name, loaded[name], ss, cache)
                result.shares[(ss.name, name)] = float(np.mean(own >= threshold))
        if note:
            result.notes[f"{name}/{ss.name}"] = note
        result.reports[(ss.name, name)] = evaluate_scores(name, scores, ss.strong, ss.weak)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return result


def format_suite(result: SuiteResult) -> str:
    """The suite as text: an APGR matrix with the macro average, then CPT(50%)/CPT(80%) and realised shares."""
    names = [n for n in result.routers if any((s.name, n) in result.reports for s in result.sets)]
    cols = [s.name for s in result.sets]
    w = max(len(n) for n in names + ["router"]) + 2

    def table(title: str, cell: Callable[[str, str], str], macro: bool = False) -> list[str]:
        head = "router".ljust(w) + "".join(c[:14].rjust(15) for c in cols) + ("macro".rjust(9) if macro else "")
        lines = [title, head, "-" * len(head)]
        for n in names:
            row = n.ljust(w) + "".join(cell(c, n).rjust(15) for c in cols)
            if macro:
                row += f"{result.macro(n):9.3f}"
            lines.append(row)
        return lines

    def rep(c: str, n: str) -> RouterReport | None:
        return result.reports.get((c, n))

    out = table("APGR (0.5 = random; higher is better)", lambda c, n: f"{rep(c, n).apgr:.3f}" if rep(c, n) else "–", macro=True)
    out += [""] + table("CPT(50%) / CPT(80%): strong share needed to recover 50 % / 80 % of the gap (lower is better)",
                        lambda c, n: f"{rep(c, n).cpt50:.2f}/{rep(c, n).cpt80:.2f}" if rep(c, n) else "–")
    learned = [n for n in names if any((c, n) in result.shares for c in cols)]
    if learned:
        out += ["", "strong share of the shipped router at its default threshold (set for 50 % on the bundled calibration sample)",
                "router".ljust(w) + "".join(c[:14].rjust(15) for c in cols)]
        out += [n.ljust(w) + "".join((f"{result.shares[(c, n)]:.0%}" if (c, n) in result.shares else "–").rjust(15) for c in cols)
                for n in learned]
    out += ["", "sets: " + "; ".join(f"{s.name} ({len(s.prompts)} prompts, {s.note})" for s in result.sets)]
    if result.notes:
        out += ["notes: " + "; ".join(f"{k}: {v}" for k, v in sorted(result.notes.items()))]
    return "\n".join(out)


def plot_suite(result: SuiteResult, path: str | os.PathLike[str]) -> str:
    """One PNG: a panel per set with each router's performance-gap-recovered curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(result.sets)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.9 * rows + 0.9), dpi=110, squeeze=False)
    names = [r for r in result.routers if any((s.name, r) in result.reports for s in result.sets)]
    colours = {name: plt.get_cmap("tab10")(i % 10) for i, name in enumerate(names)}
    for ax, ss in zip(axes.flat, result.sets):
        for name in names:
            rep = result.reports.get((ss.name, name))
            if rep is not None:
                ax.plot(rep.curve.share * 100, rep.curve.pgr, color=colours[name], lw=1.3, label=name)
        ax.plot([0, 100], [0, 1], color="gray", ls=":", lw=1)
        ax.set_title(f"{ss.name} ({len(ss.prompts)})", fontsize=10)
        ax.set_xlabel("strong-model calls (%)", fontsize=9)
        ax.set_ylabel("gap recovered", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    spare = list(axes.flat)[n:]
    for ax in spare:
        ax.axis("off")
    handles = [plt.Line2D([0], [0], color=colours[nm], lw=2) for nm in names]
    labels = [f"{nm} ({result.macro(nm):.3f})" for nm in names]
    if spare:  # the legend fills the first empty panel
        spare[0].legend(handles, labels, loc="center", fontsize=9, frameon=False, title="router (mean APGR over the sets)")
        bottom = 0.0
    else:
        fig.legend(handles, labels, loc="lower center", ncol=min(4, len(names)), fontsize=8, frameon=False)
        bottom = 0.1 if len(names) > 4 else 0.06
    fig.suptitle("Routers on exams and open chat: GPT-4-1106 vs Mixtral-8x7B", fontsize=11)
    fig.tight_layout(rect=(0, bottom, 1, 0.96))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return str(path)
