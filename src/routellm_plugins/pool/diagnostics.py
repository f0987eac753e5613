"""Do a pool's clusters separate task types? Two checks (``routellm-plugins evaluate-pool --clusters``).

- **Benchmarks**: how well the clusters of each clustering recover the benchmark of held-out
  prompts (normalised mutual information and purity; at most ``per_task`` prompts per task so
  that large benchmarks do not dominate).
- **Chat requests**: open requests are sorted by a crude keyword rule into code, maths, writing /
  role-play and other; for each kind, the share of code-benchmark, maths-benchmark and chat
  prompts in the clusters those requests are assigned to. Separation means code requests land
  in clusters with code benchmarks, and writing requests in clusters of chat prompts.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, Sequence

import numpy as np

from routellm_plugins.pool.clustering import assign_ensemble
from routellm_plugins.pool.sources import task_of

_CODE = re.compile(r"```|\b(code|python|function|javascript|typescript|sql|program|script|regex|c\+\+|java|html|css|bash|api)\b", re.I)
_MATH = re.compile(r"\b(solve|calculate|equation|integral|derivative|probability|how many|sum of)\b|\d+\s*[-+*/^]\s*\d+", re.I)
_WRITE = re.compile(r"\b(write|compose)\b.*\b(poem|story|song|essay|letter|blog|haiku|lyrics|speech)\b|\b(pretend|role-?play|act as|imagine you)\b", re.I)
#: Benchmarks counted as code / maths when describing a cluster.
CODE_TASKS, MATH_TASKS, CHAT_TASKS = ("mbpp", "humaneval"), ("gsm8k", "math"), ("alpaca_eval", "arena_bench_v1")


def request_kind(text: str) -> str:
    """"code", "maths", "writing" or "other" by keywords (a crude label, for this diagnostic only)."""
    if _CODE.search(text):
        return "code"
    if _MATH.search(text):
        return "maths"
    if _WRITE.search(text):
        return "writing"
    return "other"


def nmi(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Normalised mutual information (arithmetic mean of the entropies) of two labelings."""
    n = len(a)
    ca, cb, cab = Counter(a), Counter(b), Counter(zip(a, b))
    mi = sum(c / n * math.log(c * n / (ca[x] * cb[y])) for (x, y), c in cab.items())
    ha = -sum(c / n * math.log(c / n) for c in ca.values())
    hb = -sum(c / n * math.log(c / n) for c in cb.values())
    return 2 * mi / (ha + hb) if ha + hb > 0 else 1.0


def purity(labels: np.ndarray, truth: np.ndarray) -> float:
    """Share of prompts whose cluster's most common true label is their own."""
    return sum(Counter(truth[labels == c]).most_common(1)[0][1] for c in set(labels.tolist())) / len(labels)


def benchmark_separation(router: Any, groups: Sequence[str], emb: np.ndarray, per_task: int = 300, seed: int = 0) -> dict[str, Any]:
    """NMI and purity of every clustering of ``router`` against the benchmark of each prompt."""
    tasks = np.array([task_of(g) for g in groups])
    rng = np.random.default_rng(seed)
    keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(tasks == t))[:per_task] for t in sorted(set(tasks))]))
    labels = assign_ensemble(np.asarray(emb)[keep], router.centroids, router.n_clusterings)
    scores = [(nmi(lab.tolist(), tasks[keep].tolist()), purity(lab, tasks[keep])) for lab in labels]
    return {"prompts": int(len(keep)), "tasks": dict(Counter(tasks[keep].tolist())),
            "nmi": float(np.mean([s[0] for s in scores])), "purity": float(np.mean([s[1] for s in scores]))}


def chat_separation(router: Any, prompts: Sequence[str], emb: np.ndarray) -> dict[str, dict[str, float]]:
    """Per request kind: count, and the mean share of code / maths / chat benchmark prompts in its clusters."""
    p = router.profiles
    rep_tasks = np.array([task_of(g) for g in p.groups])
    labels = assign_ensemble(np.asarray(emb), router.centroids, router.n_clusterings)
    kinds = np.array([request_kind(t) for t in prompts])
    out: dict[str, dict[str, float]] = {}
    for kind in ("code", "maths", "writing", "other"):
        rows = np.flatnonzero(kinds == kind)
        if not len(rows):
            continue
        shares = {"code": [], "maths": [], "chat": []}
        for b, lab in enumerate(labels):
            members = np.asarray(router._rep_labels[b])
            for i in rows:
                t = rep_tasks[members == lab[i]]
                n = max(1, len(t))
                shares["code"].append(np.isin(t, CODE_TASKS).sum() / n)
                shares["maths"].append(np.isin(t, MATH_TASKS).sum() / n)
                shares["chat"].append(np.isin(t, CHAT_TASKS).sum() / n)
        out[kind] = {"requests": float(len(rows)), **{k: float(np.mean(v)) for k, v in shares.items()}}
    return out
