"""The main job on bundled defaults: route the bundled sample prompts and report cost and quality.

The sample (``assets/sample_prompts.jsonl``, built by ``scripts/make_sample.py``) holds 350 real
prompts with the recorded quality in [0, 1] of GPT-4-1106 (strong) and Mixtral-8x7B (weak):
150 open chat prompts (arena_bench_v1, Apache-2.0), 75 MMLU (held-out fold) and 75 GSM8K
prompts (RouteLLM, Apache-2.0), and 50 MBPP coding tasks (RouterBench test split, MIT).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import numpy as np

from routellm_plugins.decision import STRONG, WEAK, Decision, choose_strong

#: USD per call, the mean over RouterBench ARC-Challenge prompts (train split) for each model.
COST_PER_CALL = {"strong": 5.08e-3, "weak": 3.04e-4}
SAMPLE_FILE = "sample_prompts.jsonl"


@lru_cache(maxsize=1)
def _sample_rows() -> tuple[dict, ...]:
    text = resources.files("routellm_plugins").joinpath("assets", SAMPLE_FILE).read_text(encoding="utf-8")
    return tuple(json.loads(line) for line in text.splitlines() if line.strip())


def sample_prompts() -> list[dict]:
    """The bundled sample: dicts with prompt, source, licence, strong_quality, weak_quality."""
    return [dict(r) for r in _sample_rows()]


def _short(text: str, n: int = 60) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"


def run_demo(router_name: str | None = None, strong_share: float = 0.5, limit: int = 12, verbose: bool = True,
             progress: bool = False) -> int:
    """Route the sample with ``router_name`` (default: the default router) at the threshold giving ``strong_share``; print the outcome."""
    from routellm_plugins.progress import progress_bars
    from routellm_plugins.registry import DEFAULT_ROUTER, load_router
    from routellm_plugins.thresholds import threshold_for_share

    router_name = router_name or DEFAULT_ROUTER
    rows = sample_prompts()
    router = load_router(router_name, **({"seed": 0} if router_name == "random" else {}))
    prompts = [r["prompt"] for r in rows]
    with progress_bars(progress):
        scores = router.score(prompts)  # scored once: the threshold and the decisions come from the same scores
    threshold = threshold_for_share(scores, strong_share)
    chosen = choose_strong(scores, threshold)
    decisions = [Decision(STRONG if m else WEAK, float(s), threshold, router.name, 0.0) for s, m in zip(scores, chosen)]
    strong = np.array([d.model == "strong" for d in decisions])
    qs = np.array([r["strong_quality"] for r in rows], dtype=float)
    qw = np.array([r["weak_quality"] for r in rows], dtype=float)
    routed_q = np.where(strong, qs, qw)
    cost = np.where(strong, COST_PER_CALL["strong"], COST_PER_CALL["weak"]).sum()
    all_strong_cost = COST_PER_CALL["strong"] * len(rows)
    if verbose:
        print(f"router {router.name}: threshold {threshold:.4f} for a {strong_share:.0%} strong share on {len(rows)} sample prompts\n")
        print(f"{'source':<28} {'score':>6}  {'model':<6}  prompt")
        for r, d in list(zip(rows, decisions))[:limit]:
            print(f"{r['source'][:28]:<28} {d.score:6.3f}  {d.model:<6}  {_short(r['prompt'])}")
        print()
    for source in sorted({r["source"].split("/")[0] for r in rows}):
        m = np.array([r["source"].split("/")[0] == source for r in rows])
        print(f"{source:<15} n={m.sum():<4} strong calls {strong[m].mean():6.1%}  quality routed {routed_q[m].mean():.3f}"
              f"  (all-strong {qs[m].mean():.3f}, all-weak {qw[m].mean():.3f})")
    pgr = (routed_q.mean() - qw.mean()) / (qs.mean() - qw.mean())
    print(f"{'all':<15} n={len(rows):<4} strong calls {strong.mean():6.1%}  quality routed {routed_q.mean():.3f}"
          f"  (all-strong {qs.mean():.3f}, all-weak {qw.mean():.3f}); {pgr:.0%} of the quality gap recovered")
    print(f"{'cost':<15} routed ${cost:.3f} vs all-strong ${all_strong_cost:.3f}: {1 - cost / all_strong_cost:.0%} saved "
          f"(per-call prices: strong ${COST_PER_CALL['strong']}, weak ${COST_PER_CALL['weak']}; RouterBench means)")
    trained = {src.get("name") for src in (getattr(router, "provenance", {}) or {}).get("sources", [])}
    if "arena_bench_v1" in trained:
        print("note: this router was trained on the sample's arena_bench_v1 prompts; held-out figures: routellm-plugins evaluate --suite")
    return 0
