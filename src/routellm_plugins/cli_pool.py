"""CLI for pool routing (UniRoute): ``evaluate-pool``, ``profile`` and ``train-pool``.

``add_pool_commands(subparsers)`` registers the three sub-commands on an argparse
sub-parsers object; each sets ``func`` (called as ``func(args) -> int``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from routellm_plugins.errors import ConfigError, RouteLLMError

PROFILE_HELP = """\
Add a model to a saved pool from its graded answers on the pool's representative prompts.

Producing the graded-answer file for a new model:
  1. routellm-plugins profile --export-prompts prompts.jsonl       (id, group, prompt, answer per line)
  2. send each prompt to the model, e.g. with LiteLLM:
       r = litellm.completion(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": rec["prompt"]}])
  3. grade the reply against rec["answer"] by exact match (multiple-choice letter, or the last number):
       from routellm_plugins.pool.profiles import exact_match
       score = exact_match(r.choices[0].message.content, rec["answer"])
     Prompts whose answer is null (code tasks) need a task grader (run the tests) or may be skipped.
  4. write one row per graded prompt: CSV "id,score" or JSONL {"id": ..., "score": ...}
Then: routellm-plugins profile --model my-model --answers graded.csv --cost 0.0004 --out my_pool/
"""


def _guard(fn):
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except RouteLLMError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return run


def _prior(text: str) -> float | str:
    """``auto`` or a number >= 0 (the shrinkage pseudo-prompts per cluster)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"prior must be 'auto' or a number >= 0, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"prior must be 'auto' or a number >= 0, got {text!r}")
    return value


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be comma-separated integers, got {text!r}") from None


# ---- evaluate-pool -----------------------------------------------------------------------
def cmd_evaluate_pool(args: argparse.Namespace) -> int:
    """Held-out-LLM evaluation on RouterBench and/or RouterDC; prints the table, writes the PNG (and JSON)."""
    from routellm_plugins.pool.experiment import DEFAULTS, load_dataset, run, write_plot
    from routellm_plugins.pool.training import PoolSettings

    names = ["routerbench", "routerdc"] if args.data == "all" else [args.data]
    reports = []
    for name in names:
        ds = load_dataset(name, args.data_dir, cost_proxy=args.cost_proxy)
        base = DEFAULTS.get(name, PoolSettings())
        over = {k: v for k, v in (("k", args.k), ("prior", args.prior), ("n_representative", args.n_representative)) if v is not None}
        settings = PoolSettings(**{**base.as_dict(), **over})
        held = args.held_out if args.held_out is not None else (4 if name == "routerbench" else 3)
        rep = run(ds, seeds=args.seeds, n_held_out=held, settings=settings, tune_each=args.tune,
                  log=lambda m: print(m, file=sys.stderr))
        reports.append(rep)
        print(rep.table())
        print()
    if args.plot:
        print(f"wrote {write_plot(reports, args.plot)}")
    if args.json:
        Path(args.json).write_text(json.dumps([r for rep in reports for r in rep.rows], indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


# ---- profile -------------------------------------------------------------------------------
def cmd_profile(args: argparse.Namespace) -> int:
    """Show a pool, export its representative prompts, or add a model from graded answers."""
    from routellm_plugins.pool.profiles import read_graded_answers, write_prompts_jsonl
    from routellm_plugins.pool.routers import describe, load_pool

    router = load_pool(args.pool)
    assert router.profiles is not None
    if args.export_prompts:
        out = write_prompts_jsonl(router.profiles, args.export_prompts)
        print(f"wrote {len(router.profiles)} representative prompts to {out}")
        return 0
    if not args.model and not args.remove:
        print(describe(router))
        return 0
    if not args.out:
        raise ConfigError("--out DIR is required when changing a pool (the bundled pool is never modified in place)")
    if args.remove:
        router.remove_model(args.remove)
    if args.model:
        if not args.answers:
            raise ConfigError(f"--answers FILE is required to profile model {args.model!r}")
        scores = read_graded_answers(args.answers)
        router.add_model(args.model, scores, args.cost, min_coverage=args.min_coverage, replace=args.replace)
        col = router.profiles.column(args.model)
        import numpy as np

        graded = ~np.isnan(router.profiles.scores[:, col])
        print(f"profiled {args.model!r}: {int(graded.sum())}/{len(router.profiles)} prompts, "
              f"mean score {float(np.nanmean(router.profiles.scores[:, col])):.4f}")
    out = router.save(args.out)
    print(f"saved pool with {len(router.profiles.models)} models to {out}")
    return 0


# ---- train-pool ----------------------------------------------------------------------------
def cmd_train_pool(args: argparse.Namespace) -> int:
    """Build a pool (clusters, profiles, learned map) from a train split and save it."""
    from routellm_plugins.pool.experiment import DEFAULTS, load_dataset, tune
    from routellm_plugins.pool.training import PoolSettings, fit_pool, routerbench_answers

    ds = load_dataset(args.data, args.data_dir, cost_proxy=args.cost_proxy)
    base = DEFAULTS.get(args.data, PoolSettings())
    over = {k: v for k, v in (("k", args.k), ("prior", args.prior), ("n_representative", args.n_representative), ("seed", args.seed))
            if v is not None}
    settings = PoolSettings(**{**base.as_dict(), **over})
    models = list(ds.train.models)
    if args.tune:
        settings, table = tune(ds, models, settings, seed=settings.seed)
        print(f"CV-chosen settings: {settings.as_dict()}", file=sys.stderr)
    answers = routerbench_answers("train", args.data_dir) if args.data == "routerbench" else None
    unit = "USD/request (RouterBench mean)" if args.data == "routerbench" else ds.cost_note
    routers = fit_pool(ds.train, ds.train_emb, settings, costs=ds.decision_costs, answers=answers, cost_unit=unit)
    router = routers[args.variant]
    strong = args.strong or ("gpt-4-1106-preview" if "gpt-4-1106-preview" in models else None)
    weak = args.weak or ("mixtral-8x7b-instruct" if "mixtral-8x7b-instruct" in models else None)
    router.strong_model, router.weak_model = strong, weak
    assert router.profiles is not None
    router.calibrate_representative(args.strong_share)
    router.info = {
        **router.info, "data": args.data, "source": _SOURCES.get(args.data, ""), "cost_note": ds.cost_note,
        "n_train_prompts": len(ds.train),
        "command": f"routellm-plugins train-pool --data {args.data} --variant {args.variant} --strong-share {args.strong_share}"
                   + "".join(f" --{k.replace('_', '-')} {v}" for k, v in over.items()) + (" --tune" if args.tune else ""),
    }
    out = router.save(args.out)
    size = sum(f.stat().st_size for f in Path(out).iterdir()) / 1e6
    print(f"saved {router.name} pool ({len(router.profiles.models)} models, k={router.k}, "
          f"{len(router.profiles)} representative prompts, {size:.2f} MB) to {out}; "
          f"two-model pair {router.pair()}, threshold {router.threshold:.4f} (strong share {args.strong_share} on the representative prompts)")
    return 0


_SOURCES = {
    "routerbench": "RouterBench zero-shot subset (ARC-Challenge, MBPP), MIT licence; train split in ../shared/data/routerbench",
    "routerdc": "RouterDC 7-model data (train files) in ../shared/data/routerdc_7models",
}


def add_pool_commands(subparsers: Any) -> None:
    """Register ``evaluate-pool``, ``profile`` and ``train-pool`` on an argparse sub-parsers object."""
    p = subparsers.add_parser("evaluate-pool", help="evaluate pool routers (UniRoute, K-NN, ZeroRouter) with held-out LLMs",
                              description=cmd_evaluate_pool.__doc__)
    p.add_argument("--data", choices=["routerbench", "routerdc", "all"], default="all")
    p.add_argument("--data-dir", default=None, help="folder holding routerbench/ and routerdc_7models/ (default ../shared/data)")
    p.add_argument("--seeds", type=_seeds, default=[0, 1, 2, 3, 4], help="comma-separated seeds; each draws its own held-out LLMs")
    p.add_argument("--held-out", type=int, default=None, help="LLMs held out of training per seed (default 4 RouterBench, 3 RouterDC)")
    p.add_argument("--k", type=int, default=None, help="number of clusters (default: CV-chosen)")
    p.add_argument("--prior", type=_prior, default=None, help="cluster shrinkage: pseudo-prompts, or 'auto' (per-model empirical Bayes)")
    p.add_argument("--n-representative", type=int, default=None, help="representative prompts drawn from the train split")
    p.add_argument("--cost-proxy", choices=["params", "uniform"], default="params", help="RouterDC cost proxy (it has no costs)")
    p.add_argument("--tune", action="store_true", help="re-run the CV grid per seed (training LLMs and train split only)")
    p.add_argument("--plot", default="out/pool_curves.png", help="PNG of the deferral curves ('' to skip)")
    p.add_argument("--json", default=None, help="write every row (seed, pool, router, metrics) as JSON")
    p.set_defaults(func=_guard(cmd_evaluate_pool))

    p = subparsers.add_parser("profile", help="add a model to a saved pool from graded answers", description=PROFILE_HELP,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pool", default=None, help="pool folder (default: the bundled RouterBench pool)")
    p.add_argument("--model", default=None, help="name of the model to add")
    p.add_argument("--answers", default=None, help="CSV (id,score) or JSONL ({id, score}) of graded answers")
    p.add_argument("--cost", type=float, default=None, help="the model's cost, in the pool's cost unit")
    p.add_argument("--out", default=None, help="folder to save the updated pool to")
    p.add_argument("--replace", action="store_true", help="overwrite an existing profile of --model")
    p.add_argument("--remove", default=None, help="drop this model from the pool")
    p.add_argument("--min-coverage", type=float, default=0.5, help="least share of representative prompts the answers must cover")
    p.add_argument("--export-prompts", default=None, help="write the representative prompts (id, group, prompt, answer) as JSONL")
    p.set_defaults(func=_guard(cmd_profile))

    p = subparsers.add_parser("train-pool", help="build a pool (clusters, profiles, learned map) from a train split",
                              description=cmd_train_pool.__doc__)
    p.add_argument("--data", choices=["routerbench", "routerdc"], default="routerbench")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", required=True, help="folder to write the pool checkpoint to")
    p.add_argument("--variant", choices=["uniroute_map", "uniroute_kmeans", "pool_knn", "pool_zero"], default="uniroute_map",
                   help="variant that 'uniroute' loads by default")
    p.add_argument("--k", type=int, default=None)
    p.add_argument("--prior", type=_prior, default=None, help="cluster shrinkage: pseudo-prompts, or 'auto' (per-model empirical Bayes)")
    p.add_argument("--n-representative", type=int, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--cost-proxy", choices=["params", "uniform"], default="params")
    p.add_argument("--strong", default=None, help="strong model of the two-model score() contract")
    p.add_argument("--weak", default=None, help="weak model of the two-model score() contract")
    p.add_argument("--strong-share", type=float, default=0.5, help="share of representative prompts the default threshold sends to --strong")
    p.add_argument("--tune", action="store_true", help="choose settings by CV on the train split first")
    p.set_defaults(func=_guard(cmd_train_pool))
