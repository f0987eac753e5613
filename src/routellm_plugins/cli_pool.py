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
Add a model to a pool from its graded answers on the pool's profiling prompts.

Through LiteLLM (answers, grading and the profile in one command; resumable):
  routellm-plugins profile --model openai/gpt-4o-mini --judge gpt-4o-mini --out my_pool/
It prints the number of prompts, tokens, dollars (LiteLLM prices) and time it expects, and asks
before spending (--yes skips the question, --estimate-only stops there). Exact-answer prompts are
graded by rule; code prompts by the judge against a stored reference answer; open prompts by the
judge on a fixed 1-10 scale.

Or from your own graded answers:
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

    if args.heldout_tasks:
        return _evaluate_heldout_tasks(args)
    if args.clusters:
        return _evaluate_clusters(args)
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


def _evaluate_heldout_tasks(args: argparse.Namespace) -> int:
    """Leave-one-task-out over every benchmark of RouterBench, RouterDC and the chat sets."""
    from routellm_plugins.pool.experiment import DEFAULTS
    from routellm_plugins.pool.heldout_tasks import leave_one_task_out
    from routellm_plugins.pool.sources import TASKS, embedded_pool_data
    from routellm_plugins.pool.training import PoolSettings

    (train, train_emb), (full, full_emb) = embedded_pool_data("train", args.data_dir), embedded_pool_data("all", args.data_dir)
    base = DEFAULTS.get("heldout_tasks", PoolSettings())
    over = {k: v for k, v in (("k", args.k), ("prior", args.prior), ("n_representative", args.n_representative)) if v is not None}
    settings = PoolSettings(**{**base.as_dict(), **over})
    tasks = args.tasks or list(TASKS)
    report = leave_one_task_out(train, train_emb, full, full_emb, settings, tasks=tasks,
                                log=lambda m: print(m, file=sys.stderr))
    print(f"# leave-one-task-out; settings {settings.as_dict()}")
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.rows, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _evaluate_clusters(args: argparse.Namespace) -> int:
    """Task separation by a pool's clusters: held-out benchmark prompts, and chat requests by kind."""
    import numpy as np

    from routellm_plugins.pool.diagnostics import benchmark_separation, chat_separation
    from routellm_plugins.pool.routers import load_pool
    from routellm_plugins.pool.sources import embedded_pool_data

    router = load_pool(args.pool)
    if router.centroids is None:
        raise ConfigError(f"pool router {router.name!r} has no clusters")
    test, test_emb = embedded_pool_data("test", args.data_dir)
    bench = benchmark_separation(router, test.data.groups, test_emb)
    print(f"held-out (test split) prompts, {bench['prompts']} (at most 300 per task): clusters vs benchmark "
          f"NMI {bench['nmi']:.3f}, purity {bench['purity']:.3f} (mean over {router.n_clusterings} clusterings)")
    chat = np.array([s in ("alpaca_eval", "arena_bench_v1") for s in test.sources])
    train, train_emb = embedded_pool_data("train", args.data_dir)
    chat_tr = np.array([s in ("alpaca_eval", "arena_bench_v1") for s in train.sources])
    prompts = [p for p, c in zip(test.data.prompts, chat) if c] + [p for p, c in zip(train.data.prompts, chat_tr) if c]
    emb = np.concatenate([test_emb[chat], train_emb[chat_tr]])
    print("chat requests (AlpacaEval + arena_bench_v1, both splits) by keyword kind: mean share of code / maths / chat "
          "benchmark prompts in the clusters they land in")
    for kind, row in chat_separation(router, prompts, emb).items():
        print(f"  {kind:<8} {int(row['requests']):>4} requests: code {row['code']:.2f}  maths {row['maths']:.2f}  chat {row['chat']:.2f}")
    return 0


# ---- profile -------------------------------------------------------------------------------
def cmd_profile(args: argparse.Namespace) -> int:
    """Show a pool, export its representative prompts, or add a model: profiled through LiteLLM, or from graded answers."""
    import numpy as np

    from routellm_plugins.pool.profiles import read_graded_answers, write_prompts_jsonl
    from routellm_plugins.pool.routers import describe, load_pool
    from routellm_plugins.pool.spec import LITELLM_COST_UNIT, litellm_cost

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
        name = args.name or args.model
        if args.answers:
            scores = read_graded_answers(args.answers)
        else:
            got = _profile_with_litellm(args, router)
            if got is None:
                return 1
            scores = got
        cost = args.cost
        if cost is None and router.profiles.cost_unit == LITELLM_COST_UNIT:
            cost = litellm_cost(args.model)
        router.add_model(name, scores, cost, min_coverage=args.min_coverage, replace=args.replace)
        col = router.profiles.column(name)
        graded = ~np.isnan(router.profiles.scores[:, col])
        print(f"profiled {name!r}: {int(graded.sum())}/{len(router.profiles)} prompts, "
              f"mean score {float(np.nanmean(router.profiles.scores[:, col])):.4f}")
    out = router.save(args.out)
    print(f"saved pool with {len(router.profiles.models)} models to {out}")
    return 0


def _json_arg(text: str | None, flag: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{flag} must be a JSON object, got {text[:60]!r}: {exc.msg}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{flag} must be a JSON object, got {type(value).__name__}")
    return value


def _profile_with_litellm(args: argparse.Namespace, router: Any) -> dict[str, float] | None:
    """Run the pool's profiling prompts through ``args.model`` (estimate, confirm, run); None when the user declines."""
    import re

    from routellm_plugins.pool.profiling import estimate, profile_items, profile_model, read_progress
    from routellm_plugins.pool.sources import stratified_rows

    items = profile_items(router.profiles.prompt_records())
    if not items:
        raise ConfigError("this pool marks no profiling prompts; grade the representative prompts yourself and pass --answers FILE")
    if args.limit is not None:
        if args.limit < 1:
            raise ConfigError(f"--limit must be >= 1, got {args.limit}")
        groups = [it.group for it in items]
        per = max(1, args.limit // max(1, len(set(groups))))
        items = [items[i] for i in stratified_rows(groups, per, seed=0)][: args.limit]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", args.model)[:80]
    progress = Path(args.progress_file) if args.progress_file else Path(args.out) / f"profile-{safe}.jsonl"
    done = read_progress(progress)
    todo = [it for it in items if it.id not in done]
    est = estimate(todo, args.model, args.judge, concurrency=args.concurrency)
    print(f"{len(items)} profiling prompts, {len(items) - len(todo)} already done in {progress}")
    if todo:
        print(est.text())
        if args.estimate_only:
            return None
        if not args.yes:
            if not sys.stdin.isatty():
                print("not confirmed: re-run with --yes to spend (stdin is not a terminal)", file=sys.stderr)
                return None
            if input("Proceed? [y/N] ").strip().lower() not in ("y", "yes"):
                print("nothing spent")
                return None
    res = profile_model(items, args.model, progress, judge=args.judge, concurrency=args.concurrency, retries=args.retries,
                        timeout_s=args.timeout, completion_kwargs=_json_arg(args.completion_kwargs, "--completion-kwargs"),
                        judge_kwargs=_json_arg(args.judge_kwargs, "--judge-kwargs"), progress=not args.quiet)
    print(f"graded {len(res.scores)}/{len(items)} profiling prompts ({res.failed} failed, {res.ungradable} without a judge verdict; "
          f"re-run the same command to retry them; progress in {progress})")
    return res.scores


# ---- train-pool ----------------------------------------------------------------------------
def cmd_train_pool(args: argparse.Namespace) -> int:
    """Build a pool (clusters, profiles, learned map) from a train split and save it."""
    from routellm_plugins.pool.experiment import DEFAULTS, load_dataset, tune
    from routellm_plugins.pool.training import PoolSettings, fit_pool, routerbench_answers

    if args.data == "bundled":
        return _train_bundled_pool(args)
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


def _train_bundled_pool(args: argparse.Namespace) -> int:
    """The bundled pool: every source's train split, profiling prompts, LiteLLM prices (``routellm_plugins.training.pool``)."""
    from routellm_plugins.pool.costs import model_prices
    from routellm_plugins.pool.experiment import DEFAULTS
    from routellm_plugins.pool.sources import embed_by_group
    from routellm_plugins.pool.spec import LITELLM_COST_UNIT
    from routellm_plugins.pool.training import PoolSettings, fit_pool
    from routellm_plugins.training.pool import bundled_pool_data, provenance

    over = {k: v for k, v in (("k", args.k), ("prior", args.prior), ("seed", args.seed), ("n_clusterings", args.n_clusterings))
            if v is not None}
    settings = PoolSettings(**{**DEFAULTS["bundled"].as_dict(), **over})
    built = bundled_pool_data(args.data_dir, seed=settings.seed)
    data = built["data"]
    emb = embed_by_group(data)
    routers = fit_pool(data, emb, settings, rep_index=built["rep_index"], costs=model_prices(data.models), answers=built["answers"],
                       cost_unit=LITELLM_COST_UNIT, grading=built["grading"], references=built["references"])
    router = routers[args.variant]
    router.strong_model, router.weak_model = args.strong or "gpt-4-1106-preview", args.weak or "mixtral-8x7b-instruct"
    assert router.profiles is not None
    router.calibrate_representative(args.strong_share)
    router.info = {
        **router.info, "data": "bundled", "sources": provenance(data, built["rep_index"], built["grading"]),
        "n_train_prompts": len(data), "cost_note": "LiteLLM prices (USD per token, input + output); null where LiteLLM has none",
        "command": f"routellm-plugins train-pool --data bundled --variant {args.variant} --strong-share {args.strong_share}"
                   + "".join(f" --{k.replace('_', '-')} {v}" for k, v in over.items()),
    }
    out = router.save(args.out)
    size = sum(f.stat().st_size for f in Path(out).iterdir()) / 1e6
    n_prof = int(router.profiles.profiling_mask().sum())
    print(f"saved {router.name} pool ({len(router.profiles.models)} models, {router.n_clusterings} x k={router.k} clusters, "
          f"{len(router.profiles)} representative prompts of which {n_prof} profiling prompts, {size:.2f} MB) to {out}; "
          f"two-model pair {router.pair()}, threshold {router.threshold:.4f}")
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
    p.add_argument("--heldout-tasks", action="store_true",
                   help="leave-one-task-out over RouterBench, RouterDC and the chat sets: gain over each router's prompt-independent policy")
    p.add_argument("--tasks", type=lambda t: [x for x in t.split(",") if x], default=None, help="comma-separated tasks for --heldout-tasks")
    p.add_argument("--clusters", action="store_true", help="how well a pool's clusters separate task types (default pool: the bundled one)")
    p.add_argument("--pool", default=None, help="pool folder for --clusters")
    p.set_defaults(func=_guard(cmd_evaluate_pool))

    p = subparsers.add_parser("profile", help="add a model to a pool: profile it through LiteLLM, or from graded answers",
                              description=PROFILE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pool", default=None, help="pool folder (default: the bundled pool)")
    p.add_argument("--model", default=None, help="LiteLLM model to profile (e.g. openai/gpt-4o-mini), or the name for --answers")
    p.add_argument("--name", default=None, help="profile name to store (default: --model)")
    p.add_argument("--answers", default=None, help="CSV (id,score) or JSONL ({id, score}) of graded answers, instead of running the model")
    p.add_argument("--judge", default="gpt-4o-mini", help="LiteLLM model that grades open and code answers (default gpt-4o-mini)")
    p.add_argument("--concurrency", type=int, default=8, help="parallel calls (default 8)")
    p.add_argument("--retries", type=int, default=3, help="retries per call, with exponential back-off (default 3)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per call (default 120)")
    p.add_argument("--progress-file", default=None, help="JSONL of finished prompts; a re-run resumes from it (default OUT/profile-MODEL.jsonl)")
    p.add_argument("--limit", type=int, default=None, help="profile only this many prompts (stratified by task)")
    p.add_argument("--yes", action="store_true", help="do not ask before spending")
    p.add_argument("--estimate-only", action="store_true", help="print the cost and time estimate and stop")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--completion-kwargs", default=None, help="JSON object passed to the model's litellm.acompletion calls (api_base, ...)")
    p.add_argument("--judge-kwargs", default=None, help="JSON object passed to the judge's litellm.acompletion calls")
    p.add_argument("--cost", type=float, default=None, help="the model's cost, in the pool's cost unit (default: its LiteLLM price)")
    p.add_argument("--out", default=None, help="folder to save the updated pool to")
    p.add_argument("--replace", action="store_true", help="overwrite an existing profile of --model")
    p.add_argument("--remove", default=None, help="drop this model from the pool")
    p.add_argument("--min-coverage", type=float, default=0.5, help="least share of representative prompts the answers must cover")
    p.add_argument("--export-prompts", default=None, help="write the representative prompts (id, group, prompt, answer) as JSONL")
    p.set_defaults(func=_guard(cmd_profile))

    p = subparsers.add_parser("train-pool", help="build a pool (clusters, profiles, learned map) from a train split",
                              description=cmd_train_pool.__doc__)
    p.add_argument("--data", choices=["bundled", "routerbench", "routerdc"], default="bundled",
                   help="bundled: every source (exam and chat sets) as in the shipped pool; or one data set")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", required=True, help="folder to write the pool checkpoint to")
    p.add_argument("--n-clusterings", type=int, default=None, help="K-means runs averaged (default: the data set's setting)")
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
