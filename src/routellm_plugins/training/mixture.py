"""Training recipe of ``mixture``, the default router (see :mod:`routellm_plugins.routers.mixture`).

- **Exam expert**: the bundled ``mf`` checkpoint (or ``mf_checkpoint=``), unchanged; its recipe and
  splits are in :mod:`routellm_plugins.training`.
- **Chat expert**: ridge regression on [embedding, text features, task cues] (standardised) to a
  per-source standardised target. AlpacaEval: 1 - 2 x the mean win rate against GPT-4-turbo of
  every judged model except Mixtral (a denoised "how often does the strong model's answer win
  here"). arena_bench_v1: z(GPT-4-1106 score - Mixtral score) + z(1 - mean score of all 15
  models), re-standardised. Each source weighs the same in total.
- **Gate**: L2 logistic regression, chat prompts (label 1) against up to ``exam_per_source`` prompts
  of each exam training set (label 0), classes balanced.
- **Link**: sigmoid(scale * z + bias) fitted to soft outcomes 0.5 + (q_strong - q_weak) / 2 of the
  GPT-4/Mixtral pair on the exam training sets and the chat sets, each source weighing the same.

Hyper-parameters (``alpha``, ``arena_weight``) were chosen on cross-fitted AlpacaEval and
arena_bench_v1 folds and the MMLU validation fold, never on MMLU fold 0, GSM8K or RouterBench test.
``exclude=("alpaca_eval",)`` gives the permissive variant (no CC BY-NC data).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from routellm_plugins.data.graded import ROUTELLM_STRONG, ROUTELLM_WEAK, GradedSet, default_data_dir
from routellm_plugins.errors import ConfigError, DataFormatError

#: Open-chat sources the chat expert can learn from.
CHAT_SOURCES = ("alpaca_eval", "arena_bench_v1")
_ALPACA_WEAK = "Mixtral-8x7B-Instruct-v0.1"


@dataclass
class Source:
    """One training source: prompts, embeddings, and (where it has them) targets and pair outcomes."""

    name: str
    data: GradedSet
    emb: np.ndarray
    kind: str  # "chat" or "exam"
    target: np.ndarray | None = None  # chat expert target (standardised), chat sources only
    outcome: np.ndarray | None = None  # 0.5 + (q_strong - q_weak) / 2, NaN where ungraded

    def subset(self, keep: np.ndarray) -> "Source":
        pick = lambda a: None if a is None else a[keep]  # noqa: E731
        return Source(self.name, self.data.subset(keep), self.emb[keep], self.kind, pick(self.target), pick(self.outcome))


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(np.nanstd(x))
    return (x - np.nanmean(x)) / (sd if sd > 0 else 1.0)


def alpaca_target(data: GradedSet) -> np.ndarray:
    """1 - 2 x mean win rate of every judged model but Mixtral against the baseline (standardised)."""
    from routellm_plugins.data.graded import canonical_model

    weak = canonical_model(_ALPACA_WEAK)
    cols = [j for j, m in enumerate(data.models) if m not in (weak, ROUTELLM_STRONG)]
    return _z(1.0 - 2.0 * np.nanmean(data.scores[:, cols], axis=1))


def arena_target(data: GradedSet) -> np.ndarray:
    """z(strong - weak score) + z(1 - mean score of all models), re-standardised; missing gaps count as average."""
    gain = data.column(ROUTELLM_STRONG) - data.column(ROUTELLM_WEAK)
    gain = np.where(np.isnan(gain), np.nanmean(gain), gain)
    return _z(_z(gain) + _z(1.0 - np.nanmean(data.scores, axis=1)))


def pair_outcome(data: GradedSet) -> np.ndarray:
    """Soft outcome of the GPT-4/Mixtral pair per prompt (NaN where the set does not grade both)."""
    from routellm_plugins.data.chat import alpaca_pair

    if data.name == "alpaca_eval":
        pair = alpaca_pair(data, _ALPACA_WEAK)
        qs, qw = pair.scores[:, 0], pair.scores[:, 1]
    else:
        try:
            qs, qw = data.column(ROUTELLM_STRONG), data.column(ROUTELLM_WEAK)
        except Exception:  # noqa: BLE001 - a set without the pair has no outcome
            return np.full(len(data), np.nan)
    return 0.5 + (qs - qw) / 2.0


def load_sources(data_dir: str | os.PathLike[str] | None = None, *, exclude: Sequence[str] = (), progress: bool = False,
                 cache_dir: str | os.PathLike[str] | None = None, per_source: int | None = None, seed: int = 0,
                 embedder: Any = None) -> list[Source]:
    """The recipe's sources with cached embeddings: the exam training sets of ``mf`` and the chat sets.

    ``per_source`` keeps a seeded random sample of that many prompts per source (quick runs and tests);
    ``embedder`` (default: the process default) embeds them.
    """
    from routellm_plugins.data.chat import load_alpaca_eval, load_arena_bench
    from routellm_plugins.data.routellm_evals import load_mmlu
    from routellm_plugins.data.routerbench import load_routerbench
    from routellm_plugins.data.routerdc import load_routerdc
    from routellm_plugins.embedding_cache import embed_cached
    from routellm_plugins.training import N_FOLDS, ROUTERDC_TRAIN_FILES

    unknown = set(exclude) - set(CHAT_SOURCES)
    if unknown:
        raise ConfigError(f"exclude names unknown source(s) {sorted(unknown)}; the chat sources are {list(CHAT_SOURCES)}")
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if not root.is_dir():
        raise DataFormatError(f"training data folder {str(root)!r} does not exist (pass --data-dir)")
    mmlu = load_mmlu(root)
    exams = [("mmlu", mmlu.subset(mmlu.folds(N_FOLDS) >= 2)), ("routerbench", load_routerbench("train", root))]
    exams += [(f"routerdc/{f}", load_routerdc(f, root)) for f in ROUTERDC_TRAIN_FILES]
    chats = [(name, loader(root)) for name, loader in (("alpaca_eval", load_alpaca_eval), ("arena_bench_v1", load_arena_bench))
             if name not in exclude]
    if not chats:
        raise ConfigError("the mixture router needs at least one chat source; exclude only one of " + ", ".join(CHAT_SOURCES))
    rng = np.random.default_rng(seed)

    def sample(data: GradedSet) -> GradedSet:
        return data if per_source is None else data.subset(np.sort(rng.permutation(len(data))[:per_source]))

    out = []
    for name, data in exams:
        data = sample(data)
        emb = embed_cached(data.prompts, embedder, cache_dir=cache_dir, progress=progress)
        out.append(Source(name, data, emb, "exam", None, pair_outcome(data)))
    for name, data in chats:
        target = alpaca_target(data) if name == "alpaca_eval" else arena_target(data)  # on the whole set, then sampled
        keep = np.arange(len(data)) if per_source is None else np.sort(rng.permutation(len(data))[:per_source])
        data = data.subset(keep)
        emb = embed_cached(data.prompts, embedder, cache_dir=cache_dir, progress=progress)
        out.append(Source(name, data, emb, "chat", target[keep], pair_outcome(data)))
    return out


# ---- small solvers (numpy only) -------------------------------------------------------
def ridge(x: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Weighted ridge regression with an unpenalised intercept: (coef, intercept)."""
    w = w / w.sum()
    xm, ym = w @ x, float(w @ y)
    xc, yc = x - xm, y - ym
    a = (xc * w[:, None]).T @ xc * len(w) + alpha * np.eye(x.shape[1])
    coef = np.linalg.solve(a, (xc * w[:, None]).T @ yc * len(w))
    return coef, ym - float(xm @ coef)


def logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float, steps: int = 30) -> tuple[np.ndarray, float]:
    """Weighted L2 logistic regression with soft labels ``y`` in [0, 1] by Newton's method: (coef, intercept)."""
    n, d = x.shape
    xb = np.concatenate([x, np.ones((n, 1))], axis=1)
    w = w / w.sum() * n
    beta = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ beta, -40, 40)))
        grad = xb.T @ (w * (p - y)) + reg * beta
        hess = (xb * (w * p * (1 - p))[:, None]).T @ xb + np.diag(reg) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def _equal_source_weights(sizes: Sequence[int], totals: Sequence[float]) -> np.ndarray:
    return np.concatenate([np.full(n, t / max(n, 1)) for n, t in zip(sizes, totals)])


# ---- the recipe -----------------------------------------------------------------------
def fit_mixture(sources: Sequence[Source], *, mf_checkpoint: str | os.PathLike[str] | None = None, alpha: float = 300.0,
                arena_weight: float = 1.0, gate_l2: float = 1.0, exam_per_source: int = 600, seed: int = 0):
    """Fit the chat expert, gate and link of a :class:`MixtureRouter` on ``sources`` (see module docstring)."""
    from routellm_plugins.features import task_features, text_features
    from routellm_plugins.registry import load_router
    from routellm_plugins.routers.mixture import MixtureRouter

    rng = np.random.default_rng(seed)
    exam = load_router("mf", checkpoint=mf_checkpoint)
    chats = [s for s in sources if s.kind == "chat"]
    exams = [s for s in sources if s.kind == "exam"]
    if not chats or not exams:
        raise ConfigError(f"the mixture recipe needs chat and exam sources; got {[s.name for s in sources]}")
    exams = [s.subset(np.sort(rng.permutation(len(s.data))[:exam_per_source])) for s in exams]
    used = chats + exams

    def raw_inputs(s: Source) -> np.ndarray:
        return np.concatenate([s.emb.astype(np.float32), text_features(s.data.prompts), task_features(s.data.prompts)], axis=1)

    raw = {s.name: raw_inputs(s) for s in used}
    pooled = np.concatenate(list(raw.values()))
    in_mean, in_std = pooled.mean(0), pooled.std(0) + 1e-6
    x = {k: (v - in_mean) / in_std for k, v in raw.items()}

    # chat expert
    totals = [arena_weight if s.name == "arena_bench_v1" else 1.0 for s in chats]
    chat_w, chat_b = ridge(np.concatenate([x[s.name] for s in chats]), np.concatenate([_z(s.target) for s in chats]),
                           _equal_source_weights([len(s.data) for s in chats], totals), alpha)
    chat_pred = np.concatenate([x[s.name] @ chat_w + chat_b for s in chats])
    mu_c, sd_c = float(chat_pred.mean()), float(chat_pred.std() + 1e-9)

    # gate: chat (1) vs exam (0), each class weighing the same, each source equal within its class
    xg = np.concatenate([x[s.name] for s in used])
    yg = np.concatenate([np.full(len(s.data), 1.0 if s.kind == "chat" else 0.0) for s in used])
    wg = _equal_source_weights([len(s.data) for s in used], [1.0 / len(chats) if s.kind == "chat" else 1.0 / len(exams) for s in used])
    gate_w, gate_b = logistic(xg, yg, wg, gate_l2)

    # exam expert's logit statistics on the exam prompts
    def exam_logit(s: Source) -> np.ndarray:
        st = exam.model_strengths_from_features(exam.featurizer.combine(s.emb, s.data.prompts))
        a, b = exam.resolve_model(exam.strong_model), exam.resolve_model(exam.weak_model)
        return st[:, a] - st[:, b]

    exam_logits = np.concatenate([exam_logit(s) for s in exams])
    mu_e, sd_e = float(exam_logits.mean()), float(exam_logits.std() + 1e-9)

    router = MixtureRouter()
    router.exam = exam
    router.weights_ = {
        "in_mean": in_mean.astype(np.float32), "in_std": in_std.astype(np.float32),
        "chat_w": chat_w.astype(np.float32), "chat_b": np.array([chat_b], np.float32),
        "gate_w": gate_w.astype(np.float32), "gate_b": np.array([gate_b], np.float32),
        "z_stats": np.array([mu_e, sd_e, mu_c, sd_c], np.float32), "link": np.array([1.0, 0.0], np.float32),
    }

    # link: soft pair outcomes, each graded source weighing the same
    graded = [s for s in used if s.outcome is not None and np.isfinite(s.outcome).any()]
    zs, ys, sizes = [], [], []
    for s in graded:
        ok = np.isfinite(s.outcome)
        zs.append(router.parts_from_embeddings(s.emb[ok], [p for p, k in zip(s.data.prompts, ok) if k])["z"])
        ys.append(s.outcome[ok])
        sizes.append(int(ok.sum()))
    scale, bias = logistic(np.concatenate(zs)[:, None], np.concatenate(ys), _equal_source_weights(sizes, [1.0] * len(sizes)), 0.0)
    router.weights_["link"] = np.array([scale[0], bias], np.float32)
    router.provenance = provenance([s.name for s in used], mf_checkpoint, alpha=alpha, arena_weight=arena_weight,
                                   gate_l2=gate_l2, exam_per_source=exam_per_source, seed=seed)
    return router


#: Where each training source comes from, its licence, and the split used.
SOURCE_INFO = {
    "mmlu": ("RouteLLM evaluation data (lm-sys/RouteLLM), MMLU", "Apache-2.0", "folds 2-4 of sha1(prompt) mod 5 (fold 0 is the test fold, fold 1 validates)"),
    "routerbench": ("RouterBench (withmartian/routerbench), ARC-Challenge and MBPP", "MIT", "train split (the test split is never trained on)"),
    "routerdc": ("RouterDC 7-model files (shanghaiaiLab/RouterDC)", "as distributed with the RouterDC release (not stated in shared/data)",
                 "gsm8k-train, arc_challenge_train, humaneval_train, MATH_prealgebra, cmmlu_train"),
    "alpaca_eval": ("AlpacaEval 2 annotations (tatsu-lab/alpaca_eval)", "CC BY-NC 4.0 (non-commercial)", "all 803 instructions"),
    "arena_bench_v1": ("arena_bench_v1 (lm-sys/arena-hard-auto)", "Apache-2.0", "all prompts in shared/data (the rest of the set is held out elsewhere)"),
}


def provenance(used: Sequence[str], mf_checkpoint: Any, **params: Any) -> dict[str, Any]:
    """The checkpoint's record of training sources, licences, splits and settings."""
    names = sorted({n.split("/")[0] for n in used})
    return {
        "recipe": "routellm_plugins.training.mixture",
        "sources": [{"name": n, "from": SOURCE_INFO[n][0], "licence": SOURCE_INFO[n][1], "split": SOURCE_INFO[n][2]} for n in names],
        "exam_expert": str(mf_checkpoint) if mf_checkpoint is not None else "bundled mf checkpoint",
        "non_commercial": "alpaca_eval" in names,
        "params": params,
    }


def train_mixture(data_dir: str | os.PathLike[str] | None = None, *, seed: int = 0, progress: bool = False,
                  exclude: Sequence[str] = (), mf_checkpoint: str | os.PathLike[str] | None = None, **params: Any):
    """Train the mixture router from ``data_dir`` and calibrate it on the bundled sample (default threshold: 50 % strong)."""
    from routellm_plugins.demo import sample_prompts

    router = fit_mixture(load_sources(data_dir, exclude=exclude, progress=progress), mf_checkpoint=mf_checkpoint, seed=seed, **params)
    router.calibrate([r["prompt"] for r in sample_prompts()], 0.5)
    return router


def crossfit_mode(target: str, sources: Sequence[Source]) -> str:
    """How :func:`crossfit_scores` holds ``target`` out: "without" (one router trained without it: arena_bench_v1
    when another chat source remains) or "folds" (cross-fitted by prompt: AlpacaEval, or the only chat source)."""
    others = [s for s in sources if s.kind == "chat" and s.name != target]
    return "without" if target == "arena_bench_v1" and others else "folds"


def crossfit_scores(target: str, data_dir: str | os.PathLike[str] | None = None, *, exclude: Sequence[str] = (),
                    n_folds: int = 5, progress: bool = False, sources: Sequence[Source] | None = None,
                    score_emb: np.ndarray | None = None, **params: Any) -> np.ndarray:
    """Scores of the chat set ``target``'s prompts from routers that never saw them.

    ``alpaca_eval``: cross-fitted by prompt (fold = sha1(prompt) mod ``n_folds``); ``arena_bench_v1``:
    one router trained without it, or cross-fitted where it is the only chat source (see
    :func:`crossfit_mode`). Scores follow ``target``'s prompt order. ``sources`` (default:
    :func:`load_sources` of ``data_dir``) are the recipe's training sources; ``score_emb`` (default:
    the held-out source's own embeddings) are the rows the held-out prompts are scored from, e.g.
    another embedder tier's.
    """
    if target not in CHAT_SOURCES:
        raise ConfigError(f"crossfit_scores covers the chat sources {list(CHAT_SOURCES)}, not {target!r}")
    if sources is None:
        sources = load_sources(data_dir, exclude=tuple(exclude), progress=progress)
    held = next((s for s in sources if s.name == target), None)
    if held is None:
        raise ConfigError(f"{target!r} is excluded from the recipe, so nothing needs cross-fitting")
    out = np.full(len(held.data), np.nan)
    rows = held.emb if score_emb is None else np.asarray(score_emb, dtype=np.float32)
    if rows.shape != held.emb.shape:
        raise ConfigError(f"score_emb has shape {rows.shape}; {target!r} needs {held.emb.shape}")
    if crossfit_mode(target, sources) == "without":
        router = fit_mixture([s for s in sources if s.name != target], **params)
        return router.score_from_embeddings(rows, held.data.prompts)
    folds = held.data.folds(n_folds)
    for k in range(n_folds):
        train = [s.subset(folds != k) if s.name == target else s for s in sources]
        router = fit_mixture(train, **params)
        keep = folds == k
        out[keep] = router.score_from_embeddings(rows[keep], [p for p, m in zip(held.data.prompts, keep) if m])
    return out


__all__ = ["CHAT_SOURCES", "SOURCE_INFO", "Source", "crossfit_mode", "crossfit_scores", "fit_mixture", "load_sources", "train_mixture"]
