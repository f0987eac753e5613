"""LLM profiles: each model's graded answers on a fixed set of representative prompts.

A model joins a pool by its scores on the representative prompts (prompt id -> score in
[0, 1]); nothing is retrained. Its feature vector is its per-cluster mean quality
(:meth:`LLMProfiles.cluster_quality`), shrunk toward its overall mean on small clusters
(a fixed number of pseudo-prompts, or ``prior="auto"``: the model's own empirical-Bayes weight).

Graded-answer files (``routellm-plugins profile --answers FILE``) are CSV with columns
``id,score`` or JSONL with ``{"id": ..., "score": ...}`` per line. ``score`` is 1/0,
true/false, or a number in [0, 1]. To produce one for a new model: export the prompts
(``routellm-plugins profile --export-prompts prompts.jsonl``), send each ``prompt`` to the
model (e.g. ``litellm.completion(model=..., messages=[{"role": "user", "content": prompt}])``),
and grade the reply against ``answer`` with :func:`exact_match` (multiple-choice letters,
numbers). Prompts without an ``answer`` (code tasks) need a task-specific grader (run the
tests) or can be left out: a profile may cover part of the prompts (``min_coverage``).
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from routellm_plugins.errors import ConfigError, DataFormatError, UnknownModelError
from routellm_plugins.validation import check_non_negative

#: Column / key names accepted for the prompt id and the score in graded-answer files.
ID_KEYS = ("id", "prompt_id", "sample_id")
SCORE_KEYS = ("score", "correct", "grade")
#: Default least share of representative prompts a new model's profile must cover.
DEFAULT_MIN_COVERAGE = 0.5
#: ``prior`` value asking for per-model empirical-Bayes shrinkage (:func:`eb_prior`).
AUTO_PRIOR = "auto"
#: Candidate prior weights (pseudo-prompts) searched by :func:`eb_prior`.
EB_GRID = np.geomspace(0.5, 2000.0, 48)


def check_prior(prior: Any) -> float | str:
    """``"auto"`` or a finite number >= 0 (pseudo-prompts of shrinkage), else ConfigError naming it."""
    if prior == AUTO_PRIOR:
        return AUTO_PRIOR
    try:
        return check_non_negative(prior, "prior")
    except Exception:
        raise ConfigError(f"prior (shrinkage weight) must be {AUTO_PRIOR!r} or a finite number >= 0, got {prior!r}") from None


def _lgamma(x: np.ndarray) -> np.ndarray:
    """log Gamma(x) for x > 0, vectorised: Stirling's series at x + 8, shifted back by the recurrence (error < 1e-10)."""
    x = np.asarray(x, dtype=np.float64)
    shift = np.zeros_like(x)
    z = x.copy()
    for _ in range(8):
        shift += np.log(z)
        z += 1.0
    inv, inv2 = 1.0 / z, 1.0 / (z * z)
    series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))
    return (z - 0.5) * np.log(z) - z + 0.5 * math.log(2 * math.pi) + series - shift


def _betaln(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _lgamma(a) + _lgamma(b) - _lgamma(a + b)


def eb_prior(sums: np.ndarray, counts: np.ndarray, target: np.ndarray, grid: np.ndarray = EB_GRID) -> np.ndarray:
    """Per-model prior weight (m,) maximising the beta-binomial marginal likelihood of its per-cluster scores.

    Cluster c of model j has quality ~ Beta(w * t, w * (1 - t)) around ``target[c, j]``; ``sums`` and
    ``counts`` (k, m) are its graded score sums and counts. Only the model's own profile is used.
    """
    mu = np.clip(np.asarray(target, dtype=np.float64), 1e-3, 1 - 1e-3)
    out = np.empty(sums.shape[1])
    for j in range(sums.shape[1]):
        s, n, t = sums[:, j], counts[:, j], mu[:, j]
        used = n > 0
        if not used.any():
            out[j] = float(grid[len(grid) // 2])
            continue
        s, n, t = s[used], n[used], t[used]
        a, b = grid[:, None] * t[None, :], grid[:, None] * (1 - t[None, :])
        ll = (_betaln(s[None, :] + a, (n - s)[None, :] + b) - _betaln(a, b)).sum(axis=1)
        out[j] = float(grid[int(np.argmax(ll))])
    return out


def _half(values: Any) -> np.ndarray:
    """``values`` as float64 rounded to float16 precision (NaN kept): the precision scores are stored in."""
    return np.asarray(values, dtype=np.float64).astype(np.float16).astype(np.float64)


def additive_fit(sums: np.ndarray, counts: np.ndarray, cell_source: np.ndarray | None = None,
                 iters: int = 100, *, levels: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Fitted mean quality (cells, m): quality of model j in cell c ~ a[c] + level of j in source(c).

    The model's level in a source it was graded on is its own (weighted) mean deviation there; in a
    source it was not graded on, g[source] * b[j], shrunk toward 0 by how well b[j] predicts the
    sources of models graded on several (empirical Bayes); for a model graded on one source only,
    never above the best model graded on that source. ``a`` is the cell's level, ``b`` the
    model's overall level and ``g`` how widely the source spreads models apart, fitted by weighted
    alternating least squares (one source: plain a[c] + b[j]). This is what puts sources with
    different scales (exam accuracy, win rate against a baseline, judge scores) side by side, and
    what fills the cells a model was not graded in. Clipped to [0, 1]. ``levels=True`` also returns ``a``.
    """
    counts = np.asarray(counts, dtype=np.float64)
    n_cells, m = counts.shape
    src = np.zeros(n_cells, dtype=int) if cell_source is None else np.asarray(cell_source, dtype=int)
    n_src = int(src.max()) + 1 if n_cells else 1
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(counts > 0, sums / np.maximum(counts, 1e-12), 0.0)
    row, col = counts.sum(1), counts.sum(0)
    b, g = np.zeros(m), np.ones(n_src)
    a = np.where(row > 0, (counts * y).sum(1) / np.maximum(row, 1e-12), 0.0)
    for _ in range(iters):
        gc = g[src][:, None]
        a = np.where(row > 0, (counts * (y - gc * b[None, :])).sum(1) / np.maximum(row, 1e-12), 0.0)
        r = y - a[:, None]
        b_new = np.where(col > 0, (counts * gc * r).sum(0) / np.maximum((counts * gc * gc).sum(0), 1e-12), 0.0)
        b_new = np.where(col > 0, b_new - (col * b_new).sum() / max(col.sum(), 1e-12), 0.0)
        if n_src > 1:
            num = np.bincount(src, (counts * b_new[None, :] * r).sum(1), minlength=n_src)
            den = np.bincount(src, (counts * b_new[None, :] ** 2).sum(1), minlength=n_src)
            g_new = np.where(den > 1e-12, num / np.maximum(den, 1e-12), 1.0)
            g_new = np.maximum(g_new, 0.05)
            weight = np.bincount(src, row, minlength=n_src)
            scale = (weight * g_new).sum() / max(weight.sum(), 1e-12)
            g_new, b_new = g_new / scale, b_new * scale
        else:
            g_new = g
        done = float(np.abs(b_new - b).max(initial=0.0)) < 1e-6 and float(np.abs(g_new - g).max(initial=0.0)) < 1e-6
        b, g = b_new, g_new
        if done:
            break
    a = np.where(row > 0, (counts * (y - g[src][:, None] * b[None, :])).sum(1) / np.maximum(row, 1e-12), np.nan)
    if np.isnan(a).any():  # cells nobody was graded in: the mean level of the cells of that source, else of all
        for c in np.flatnonzero(np.isnan(a)):
            same = ~np.isnan(a) & (src == src[c])
            a[c] = a[same].mean() if same.any() else (np.nanmean(a) if (~np.isnan(a)).any() else 0.5)
    if n_src == 1:
        fit = np.clip(a[:, None] + b[None, :], 0.0, 1.0)
        return (fit, a) if levels else fit
    # Per model and source: its own level d where graded; elsewhere the shrunk prediction g * b * shrink,
    # shrink = tau2 / (tau2 + sigma2 / sources graded): a model seen on one source says little about others.
    n_s = np.zeros((n_src, m))
    np.add.at(n_s, src, counts)
    dev = np.zeros((n_src, m))
    np.add.at(dev, src, counts * (y - a[:, None]))
    seen = n_s > 0
    d = np.where(seen, dev / np.maximum(n_s, 1e-12), 0.0)
    pred = g[:, None] * b[None, :]
    n_seen = seen.sum(0)
    multi = seen & (n_seen >= 2)[None, :]
    sigma2 = float(((d - pred)[multi] ** 2).mean()) if multi.any() else 0.0
    tau2 = float((col * b * b).sum() / max(col.sum(), 1e-12))
    shrink = np.where(n_seen > 0, tau2 / np.maximum(tau2 + sigma2 / np.maximum(n_seen, 1), 1e-12), 0.0)
    guess = pred * shrink[None, :]
    # ... and, for a model graded on one source only, never above the best model graded on that source.
    hi = np.where(seen, d, -np.inf).max(1, keepdims=True)
    guess = np.where(np.isfinite(hi) & (n_seen < 2)[None, :], np.minimum(guess, hi), guess)
    level = np.where(seen, d, guess)
    fit = np.clip(a[:, None] + level[src], 0.0, 1.0)
    return (fit, a) if levels else fit


def parse_score(value: Any, where: str) -> float:
    """A graded score as a float in [0, 1] (accepts 1/0, true/false, numeric strings)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("true", "yes", "correct"):
            return 1.0
        if v in ("false", "no", "incorrect", "wrong"):
            return 0.0
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise DataFormatError(f"{where}: score {value!r} is not a number in [0, 1] or true/false") from None
    if math.isnan(f) or not 0.0 <= f <= 1.0:
        raise DataFormatError(f"{where}: score {value!r} is outside [0, 1]")
    return f


def _pick(keys: Sequence[str], options: Sequence[str], what: str, where: str) -> str:
    for k in options:
        if k in keys:
            return k
    raise DataFormatError(f"{where} has no {what} column/key (looked for {', '.join(options)}; found {', '.join(map(str, keys)) or 'none'})")


def read_graded_answers(path: str | os.PathLike[str]) -> dict[str, float]:
    """Read a CSV (``id,score``) or JSONL (``{"id", "score"}``) file of graded answers -> {id: score}."""
    p = Path(path)
    if not p.is_file():
        raise DataFormatError(f"graded-answer file {str(p)!r} does not exist")
    out: dict[str, float] = {}

    def put(pid: Any, score: Any, where: str) -> None:
        key = str(pid).strip()
        if not key:
            raise DataFormatError(f"{where}: empty prompt id")
        if key in out:
            raise DataFormatError(f"{where}: prompt id {key!r} appears twice")
        out[key] = parse_score(score, where)

    if p.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        with p.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{p.name} line {n}"
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataFormatError(f"{where} is not valid JSON: {exc}") from exc
                if not isinstance(rec, dict):
                    raise DataFormatError(f"{where} must be a JSON object with 'id' and 'score'")
                put(rec[_pick(list(rec), ID_KEYS, "id", where)], rec[_pick(list(rec), SCORE_KEYS, "score", where)], where)
    else:
        with p.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            id_col = _pick(header, ID_KEYS, "id", str(p))
            score_col = _pick(header, SCORE_KEYS, "score", str(p))
            for n, rec in enumerate(reader, 2):
                put(rec[id_col], rec[score_col], f"{p.name} line {n}")
    if not out:
        raise DataFormatError(f"graded-answer file {str(p)!r} holds no rows")
    return out


_LETTER = re.compile(r"\b([A-J])\b")
_NUMBER = re.compile(r"-?\d[\d,]*\.?\d*")


def exact_match(response: str, answer: str) -> float:
    """1.0 if ``response`` gives ``answer``: the first choice letter for a letter answer, the last number for a numeric one, else the whole stripped text (case-insensitive)."""
    resp, ans = str(response).strip(), str(answer).strip()
    if re.fullmatch(r"[A-Ja-j]", ans):
        m = _LETTER.search(resp.upper())
        return float(m is not None and m.group(1) == ans.upper())
    if _NUMBER.fullmatch(ans):
        nums = _NUMBER.findall(resp)
        if not nums:
            return 0.0
        try:
            return float(abs(float(nums[-1].replace(",", "")) - float(ans.replace(",", ""))) < 1e-6)
        except ValueError:
            return 0.0
    return float(resp.lower() == ans.lower())


@dataclass
class LLMProfiles:
    """Representative prompts (ids, texts, embeddings) and every pool model's scores on them.

    ``scores[i, j]`` is model j's graded score on prompt i (NaN = not graded). ``costs[j]``
    is the model's default cost (NaN = unknown) in ``cost_unit``.
    """

    ids: list[str]
    prompts: list[str]
    embeddings: np.ndarray
    models: list[str] = field(default_factory=list)
    scores: np.ndarray | None = None
    costs: np.ndarray | None = None
    groups: list[str] = field(default_factory=list)
    answers: list[str | None] = field(default_factory=list)
    cost_unit: str = "USD/request"
    #: How a new model's answer to each prompt is graded when profiling it through LiteLLM
    #: ("exact", "reference", "check", "scale"; None = not a profiling prompt), see :mod:`routellm_plugins.pool.profiling`.
    grading: list[str | None] = field(default_factory=list)
    #: Reference answers for "reference" grading (None elsewhere).
    references: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.ids)
        # Stored as float16 in checkpoints; round here too so a saved pool routes exactly like the live one.
        self.embeddings = np.asarray(self.embeddings, dtype=np.float16).astype(np.float32)
        if len(self.prompts) != n or self.embeddings.ndim != 2 or self.embeddings.shape[0] != n:
            raise ConfigError(f"representative set: {n} ids, {len(self.prompts)} prompts, embeddings {self.embeddings.shape} do not match")
        if len(set(self.ids)) != n:
            raise ConfigError("representative prompt ids must be unique")
        m = len(self.models)
        # Stored as float16 too: scores are rounded here so that a saved pool routes exactly like the live one.
        self.scores = np.full((n, 0), np.nan) if self.scores is None else _half(self.scores)
        self.costs = np.full(m, np.nan) if self.costs is None else np.asarray(self.costs, dtype=np.float64)
        if self.scores.shape != (n, m) or self.costs.shape != (m,):
            raise ConfigError(f"scores {self.scores.shape} / costs {self.costs.shape} do not fit {n} prompts x {m} models")
        if len(set(self.models)) != m:
            raise ConfigError(f"model names must be unique, got {self.models}")
        self.groups = list(self.groups) or [""] * n
        self.answers = list(self.answers) or [None] * n
        self.grading = list(self.grading) or [None] * n
        self.references = list(self.references) or [None] * n
        if not len(self.groups) == len(self.answers) == len(self.grading) == len(self.references) == n:
            raise ConfigError(f"representative set: groups, answers, grading and references must have {n} entries each")
        self._index = {pid: i for i, pid in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    # ---- models --------------------------------------------------------------------
    def column(self, model: str) -> int:
        """Column of ``model``; UnknownModelError names the profiled models otherwise."""
        if model not in self.models:
            from routellm_plugins.pool.names import listing, profile_hint

            raise UnknownModelError(f"model {model!r} has no profile in this pool; {profile_hint(model)}. "
                                    f"Profiled models: {listing(self.models)}")
        return self.models.index(model)

    def add_model(self, name: str, scores: Mapping[str, Any] | np.ndarray, cost: float | None = None, *,
                  min_coverage: float = DEFAULT_MIN_COVERAGE, replace: bool = False) -> None:
        """Add (or with ``replace`` overwrite) a model from its scores: {prompt id: score} or a full column."""
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"model name must be a non-empty str, got {name!r}")
        if name in self.models and not replace:
            raise ConfigError(f"model {name!r} is already in the pool; pass replace=True (CLI: --replace) to overwrite its profile")
        if isinstance(scores, Mapping):
            unknown = [k for k in scores if str(k) not in self._index]
            if unknown:
                shown = ", ".join(repr(str(u)) for u in unknown[:5])
                raise DataFormatError(
                    f"profile for {name!r} has {len(unknown)} prompt ids that are not representative prompts of this pool "
                    f"(e.g. {shown}); ids look like {self.ids[0]!r}"
                )
            col = np.full(len(self), np.nan)
            for k, v in scores.items():
                col[self._index[str(k)]] = parse_score(v, f"profile of {name!r}, id {k!r}")
        else:
            col = np.asarray(scores, dtype=np.float64).reshape(-1)
            if col.shape != (len(self),):
                raise DataFormatError(f"profile for {name!r} has {col.size} scores; the pool has {len(self)} representative prompts")
            bad = ~np.isnan(col) & ((col < 0) | (col > 1))
            if bad.any():
                raise DataFormatError(f"profile for {name!r} has scores outside [0, 1] (e.g. {col[bad][0]!r})")
        base = self.profiling_mask()
        covered, total = int((~np.isnan(col[base])).sum()), int(base.sum())
        if int((~np.isnan(col)).sum()) == 0 or covered < min_coverage * total:
            what = "profiling" if total < len(self) else "representative"
            raise DataFormatError(
                f"profile for {name!r} covers {covered} of {total} {what} prompts; need at least "
                f"{math.ceil(min_coverage * total)} (min_coverage={min_coverage})"
            )
        c = np.nan if cost is None else check_non_negative(cost, f"cost of {name!r}")
        col = _half(col)
        if name in self.models:
            j = self.models.index(name)
            self.scores[:, j] = col
            self.costs[j] = c
        else:
            self.models.append(name)
            self.scores = np.concatenate([self.scores, col[:, None]], axis=1)
            self.costs = np.append(self.costs, c)

    def remove_model(self, name: str) -> None:
        """Drop a model from the pool (its profile is forgotten)."""
        j = self.column(name)
        self.models.pop(j)
        self.scores = np.delete(self.scores, j, axis=1)
        self.costs = np.delete(self.costs, j)

    def copy(self, models: Sequence[str] | None = None) -> "LLMProfiles":
        """A copy, optionally restricted to ``models`` (in that order)."""
        cols = [self.column(m) for m in (self.models if models is None else models)]
        return LLMProfiles(list(self.ids), list(self.prompts), self.embeddings.copy(), [self.models[j] for j in cols],
                           self.scores[:, cols].copy(), self.costs[cols].copy(), list(self.groups), list(self.answers), self.cost_unit,
                           list(self.grading), list(self.references))

    def profiling_mask(self) -> np.ndarray:
        """Boolean (n,): the prompts a new model answers when profiled through LiteLLM (all of them when none is marked)."""
        mask = np.array([g is not None for g in self.grading], dtype=bool)
        return mask if mask.any() else np.ones(len(self), dtype=bool)

    # ---- feature vectors -----------------------------------------------------------
    @property
    def sources(self) -> np.ndarray:
        """Source of each representative prompt (the part of its group before ``/``), shape (n,)."""
        return np.array([str(g).split("/", 1)[0] for g in self.groups])

    def _cells(self, labels: np.ndarray, k: int) -> tuple[np.ndarray, int, int]:
        """(cell index per prompt, number of cells, number of sources): one cell per (cluster, source)."""
        names, src = np.unique(self.sources, return_inverse=True)
        return np.asarray(labels, dtype=int) * len(names) + src, int(k) * len(names), len(names)

    def _sums(self, cell: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
        graded = ~np.isnan(self.scores)
        onehot = np.zeros((len(self), n_cells))
        onehot[np.arange(len(self)), cell] = 1.0
        return onehot.T @ np.where(graded, self.scores, 0.0), onehot.T @ graded.astype(np.float64)

    def mean_quality(self) -> np.ndarray:
        """Each model's mean quality over all representative prompts, shape (m,).

        One source: the mean over the prompts it was graded on. Several sources: prompts of a source
        the model was not graded on count at the model's additive estimate there (:func:`additive_fit`),
        so models graded on different sources are comparable.
        """
        if not self.scores.size:
            return np.zeros(len(self.models))
        cell, n_cells, n_src = self._cells(np.zeros(len(self), dtype=int), 1)
        if n_src == 1:
            with np.errstate(invalid="ignore"):
                return np.nan_to_num(np.nanmean(self.scores, axis=0), nan=0.5)
        sums, counts = self._sums(cell, n_cells)
        fit = additive_fit(sums, counts, np.arange(n_cells))
        with np.errstate(invalid="ignore", divide="ignore"):
            filled = np.where(counts > 0, sums / np.maximum(counts, 1e-12), fit)
        share = np.bincount(cell, minlength=n_cells) / len(self)
        return share @ filled

    def cluster_quality(self, labels: np.ndarray, k: int, prior: float | str = 1.0, parents: np.ndarray | None = None) -> np.ndarray:
        """Per-cluster quality (k, m) over graded prompts, shrunk with weight ``prior``.

        One source: (sum + prior * target) / (count + prior), where the target is the model's mean,
        or with ``parents`` (k,) grouping the clusters, its parent group's (shrunk) mean, so a small
        cluster borrows from similar prompts rather than from the whole pool.
        Several sources: the same per (cluster, source) cell, toward the additive estimate
        level(cell) + level(model in that source) (:func:`additive_fit`; it fills cells a model was not
        graded in). A cluster's quality is then its level (the cell levels averaged by their share of its
        prompts) plus the model's deviation from the cell levels, averaged over the cells weighted by the
        model's graded prompts there plus one pseudo-prompt spread by share: a model profiled on some
        sources only is judged by what it was graded on.
        ``prior="auto"``: each model's own prior weight by empirical Bayes (:func:`eb_prior`), so a
        model whose quality varies a lot across clusters is shrunk less (no tuning, no retraining).
        """
        labels = np.asarray(labels, dtype=int)
        cell, n_cells, n_src = self._cells(labels, k)
        if n_src > 1:
            sums, counts = self._sums(cell, n_cells)
            target, level = additive_fit(sums, counts, np.arange(n_cells) % n_src, levels=True)
            weight = eb_prior(sums, counts, target)[None, :] if prior == AUTO_PRIOR else float(prior)
            q_cell = (sums + weight * target) / np.maximum(counts + weight, 1e-12)
            share = np.bincount(cell, minlength=n_cells).reshape(k, n_src).astype(np.float64)
            empty = share.sum(1) == 0
            share[empty] = np.bincount(cell % n_src, minlength=n_src)  # an empty cluster: the overall source mix
            share /= share.sum(1, keepdims=True)
            base = (share * level.reshape(k, n_src)).sum(1)
            dev = (q_cell - level[:, None]).reshape(k, n_src, -1)
            w = counts.reshape(k, n_src, -1) + share[:, :, None]
            return np.clip(base[:, None] + (w * dev).sum(1) / w.sum(1), 0.0, 1.0)
        sums, counts = self._sums(labels, k)
        if parents is None:
            target = np.broadcast_to(self.mean_quality()[None, :], sums.shape)
        else:
            parents = np.asarray(parents, dtype=int)
            target = self.cluster_quality(parents[labels], int(parents.max()) + 1, prior)[parents]
        weight = eb_prior(sums, counts, target)[None, :] if prior == AUTO_PRIOR else float(prior)
        return (sums + weight * target) / np.maximum(counts + weight, 1e-12)

    def prompt_records(self) -> list[dict[str, Any]]:
        """The representative prompts as JSON-ready records (id, group, prompt, answer; grading and reference when set)."""
        out = []
        for i, g, p, a, gr, ref in zip(self.ids, self.groups, self.prompts, self.answers, self.grading, self.references):
            rec: dict[str, Any] = {"id": i, "group": g, "prompt": p, "answer": a}
            if gr is not None:
                rec["grading"] = gr
            if ref is not None:
                rec["reference"] = ref
            out.append(rec)
        return out


def write_prompts_jsonl(profiles: LLMProfiles, path: str | os.PathLike[str]) -> Path:
    """Write the representative prompts as JSONL (gzip-compressed, with no timestamp, if the name ends in .gz)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in profiles.prompt_records()).encode("utf-8")
    if out.suffix == ".gz":
        with out.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as fh:
            fh.write(text)
    else:
        out.write_bytes(text)
    return out


def read_prompts_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read representative prompt records written by :func:`write_prompts_jsonl` (.jsonl or .jsonl.gz)."""
    p = Path(path)
    if not p.is_file():
        raise DataFormatError(f"representative prompt file {str(p)!r} does not exist")
    recs = []
    with (gzip.open(p, "rt", encoding="utf-8") if p.suffix == ".gz" else p.open(encoding="utf-8")) as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataFormatError(f"{p.name} line {n} is not valid JSON: {exc}") from exc
                if not isinstance(rec, dict) or "id" not in rec or "prompt" not in rec:
                    raise DataFormatError(f"{p.name} line {n} lacks 'id' or 'prompt'")
                recs.append(rec)
    return recs
