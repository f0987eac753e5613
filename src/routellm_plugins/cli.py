"""``routellm-plugins`` command line: demo, route, score, calibrate, evaluate, train (and pool commands)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Sequence

from routellm_plugins.errors import ConfigError, InvalidPromptError, RouteLLMError
from routellm_plugins.registry import DEFAULT_ROUTER, available_routers


#: Below this many prompts a calibrated threshold is noisy: the CLI warns.
MIN_CALIBRATION_PROMPTS = 200


def _router(name: str, checkpoint: str | None = None, threshold: float | None = None):
    from routellm_plugins.registry import load_router

    kwargs = {"seed": 0} if name == "random" and checkpoint is None else {}
    return load_router(name, checkpoint=checkpoint, threshold=threshold, **kwargs)


def _show_progress(args: argparse.Namespace) -> bool:
    """Progress bars on stderr: only on a terminal and without --quiet."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def cmd_route(args: argparse.Namespace) -> int:
    router = _router(args.router, args.checkpoint)
    threshold = args.threshold
    if threshold is None and args.strong_share is not None:
        threshold = router.threshold_for_share(args.strong_share)
    print(json.dumps(router.route(args.prompt, threshold=threshold).to_dict(), indent=2))
    return 0


def _count_lines(path: str) -> int | None:
    """Lines in a JSONL file (for the progress bar's total), None for other formats."""
    if not path.lower().endswith((".jsonl", ".ndjson", ".json")):
        return None
    n = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            n += block.count(b"\n")
    return n


def cmd_score(args: argparse.Namespace) -> int:
    """Stream prompts from the input file in chunks; write one JSON line per prompt (its id, if any, and score)."""
    from itertools import islice

    from routellm_plugins.data.files import iter_prompt_rows
    from routellm_plugins.progress import bar, progress_bars
    from routellm_plugins.routers.base import SCORE_CHUNK
    from routellm_plugins.validation import clean_prompt

    router = _router(args.router, args.checkpoint)
    rows = iter_prompt_rows(args.input, args.field)
    out = open(args.output, "w", encoding="utf-8") if args.output != "-" else sys.stdout
    n = 0
    try:
        with progress_bars(_show_progress(args)), bar(_count_lines(args.input), f"scoring ({router.name})") as progress:
            while chunk := list(islice(rows, SCORE_CHUNK)):
                prompts = [clean_prompt(r[args.field], n + i) for i, r in enumerate(chunk)]
                with progress_bars(False):
                    scores = router.score(prompts)
                for row, s in zip(chunk, scores):
                    rec = {args.id_field: row[args.id_field]} if args.id_field in row else {}
                    rec["score"] = round(float(s), 6)
                    out.write(json.dumps(rec) + "\n")
                n += len(chunk)
                progress.update(len(chunk))
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"scored {n} prompts with {router.name} -> {args.output}", file=sys.stderr)
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from routellm_plugins.data.files import read_prompts
    from routellm_plugins.demo import sample_prompts
    from routellm_plugins.progress import progress_bars

    router = _router(args.router, args.checkpoint)
    prompts = read_prompts(args.input, args.field) if args.input else [r["prompt"] for r in sample_prompts()]
    source = args.input or "the bundled sample prompts"
    if not prompts:
        raise InvalidPromptError(f"{source!r} holds no prompts to calibrate on")
    if len(prompts) < MIN_CALIBRATION_PROMPTS:
        print(f"warning: calibrating on only {len(prompts)} prompts; a threshold from fewer than "
              f"{MIN_CALIBRATION_PROMPTS} prompts is noisy", file=sys.stderr)
    with progress_bars(_show_progress(args)):
        t = router.calibrate(prompts, args.strong_share)
    print(f"threshold {t:.5f} sends {args.strong_share:.0%} of {len(prompts)} prompts ({source}) to the strong model")
    print(f"model string: router-{router.name}-{t:.5f}")
    if args.save:
        router.save(args.save)
        print(f"saved calibrated router to {args.save}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from routellm_plugins.evaluation.benchmarks import evaluate_benchmark

    from routellm_plugins.progress import progress_bars

    if args.suite:
        return _evaluate_suite(args)
    if not args.benchmark:
        raise ConfigError("evaluate needs --benchmark NAME|PATH, or --suite for every set at once")
    default = ",".join(dict.fromkeys([DEFAULT_ROUTER, "mf", "sw_ranking", "random"]))
    names = [n.strip() for n in (args.routers or default).split(",") if n.strip()]
    bad = [kv for kv in args.checkpoint or [] if "=" not in kv]
    if bad:
        raise InvalidPromptError(f"--checkpoint takes NAME=PATH, got {bad[0]!r}")
    checkpoints = dict(kv.split("=", 1) for kv in args.checkpoint or [])
    with progress_bars(_show_progress(args)):
        table, path = evaluate_benchmark(args.benchmark, names, data_dir=args.data_dir, checkpoints=checkpoints,
                                         judgements=args.judgements, strong_model=args.strong_model, weak_model=args.weak_model,
                                         plot=args.plot, limit=args.limit)
    print(table)
    if path:
        print(f"plot written to {path}")
    return 0


def _evaluate_suite(args: argparse.Namespace) -> int:
    from routellm_plugins.evaluation.suite import SUITE_SETS, format_suite, plot_suite, run_suite

    names = [n.strip() for n in args.routers.split(",") if n.strip()] if args.routers else None
    sets = [n.strip() for n in args.sets.split(",") if n.strip()] if args.sets else list(SUITE_SETS)
    result = run_suite(names, data_dir=args.data_dir, sets=sets, progress=_show_progress(args), limit=args.limit)
    print(format_suite(result))
    if args.plot:
        print(f"plot written to {plot_suite(result, args.plot)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from routellm_plugins.training import RECIPES, load_training_data, train_router, train_with_recipe

    from routellm_plugins.config_io import loads_json

    params = loads_json(args.params, "--params")
    if not isinstance(params, dict):
        raise ConfigError(f"--params must be a JSON object of hyper-parameters, got {type(params).__name__}")
    if args.exclude and args.router != "mixture":
        raise ConfigError(f"--exclude applies to the mixture router's chat sources, not to {args.router!r}")
    if args.exclude:
        params["exclude"] = [x.strip() for x in args.exclude.split(",") if x.strip()]
    if args.router in RECIPES:
        router = train_with_recipe(args.router, args.data_dir, seed=args.seed, progress=True, **params)
    else:
        data = load_training_data(args.data_dir, progress=True)
        router = train_router(args.router, data, seed=args.seed, progress=True, **params)
    from routellm_plugins.demo import sample_prompts

    router.calibrate([r["prompt"] for r in sample_prompts()], args.strong_share)
    out = router.save(args.out)
    print(f"trained {args.router} (seed {args.seed}); default threshold {router.threshold:.5f} "
          f"(strong share {args.strong_share:.0%} on the bundled sample); saved to {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from routellm_plugins.demo import run_demo

    return run_demo(router_name=args.router, strong_share=args.strong_share, limit=args.limit, verbose=not args.quiet,
                    progress=not args.quiet and sys.stderr.isatty())


def _add_router(parser: argparse.ArgumentParser, required: bool = False) -> None:
    names = ", ".join(available_routers())
    parser.add_argument("--router", default=None if required else DEFAULT_ROUTER, required=required,
                        help=f"router name or model string 'router-<name>-<threshold>' (one of: {names}; default: %(default)s)")
    parser.add_argument("--checkpoint", help="folder of a trained checkpoint to load instead of the bundled one")


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bar (bars show only on a terminal, after about a second)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="routellm-plugins", description="Cost-saving LLM routing (RouteLLM / UniRoute), offline by default.")
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="route the bundled sample prompts and print where each went and the cost/quality outcome")
    d.add_argument("--router", default=DEFAULT_ROUTER, help=f"router name (one of: {', '.join(available_routers())}; default: %(default)s)")
    d.add_argument("--strong-share", type=float, default=0.5, help="target share of strong calls, calibrated on the sample (default: %(default)s)")
    d.add_argument("--limit", type=int, default=12, help="prompts to print one by one; the summary uses all (default: %(default)s)")
    d.add_argument("--quiet", action="store_true", help="print only the summary, no per-prompt lines and no progress bar")
    d.set_defaults(func=cmd_demo)

    r = sub.add_parser("route", help="route one prompt and print the decision as JSON")
    r.add_argument("prompt", help="the prompt text to route")
    _add_router(r)
    g = r.add_mutually_exclusive_group()
    g.add_argument("--threshold", type=float, help="score cut in [0, 1]: strong iff score >= threshold (default: the router's)")
    g.add_argument("--strong-share", type=float, help="target share of strong calls, on the router's stored calibration scores")
    r.set_defaults(func=cmd_route)

    s = sub.add_parser("score", help="score prompts from a JSONL/CSV file, streamed; one JSON line per prompt, same order")
    _add_router(s)
    s.add_argument("--input", required=True, help="JSONL (one object per line) or CSV file of prompts")
    s.add_argument("--output", default="-", help="JSONL file to write, '-' for stdout (default: %(default)s)")
    s.add_argument("--field", default="prompt", help="field/column holding the prompt text (default: %(default)s)")
    s.add_argument("--id-field", default="id", help="field/column copied to each output line when present (default: %(default)s)")
    _add_quiet(s)
    s.set_defaults(func=cmd_score)

    c = sub.add_parser("calibrate", help="threshold that sends a share of prompts to the strong model")
    _add_router(c)
    c.add_argument("--strong-share", type=float, required=True, help="target share of strong calls in [0, 1]")
    c.add_argument("--input", help="JSONL/CSV of prompts like your traffic (default: the bundled sample); 200+ prompts recommended")
    c.add_argument("--field", default="prompt", help="field/column holding the prompt text (default: %(default)s)")
    c.add_argument("--save", help="write the calibrated router (with its scores) to this folder")
    _add_quiet(c)
    c.set_defaults(func=cmd_calibrate)

    e = sub.add_parser("evaluate", help="APGR / CPT on held-out benchmark prompts, and a cost-quality plot")
    e.add_argument("--benchmark", help="gsm8k | mmlu | routerbench | PATH (RouteLLM CSV or MT-Bench question.jsonl)")
    e.add_argument("--suite", action="store_true", help="every set (MMLU, GSM8K, RouterBench, AlpacaEval, arena_bench_v1) "
                                                        "for every router and baseline in one run, with a macro average")
    e.add_argument("--sets", help="with --suite: comma-separated subset of the suite's sets")
    e.add_argument("--routers", help=f"comma-separated router names (of: {', '.join(available_routers())}), with --suite "
                                     "also 'length' and 'litellm_complexity' (default: the default router, mf, sw_ranking, random; "
                                     "with --suite also mixture_permissive, bert and both baselines)")
    e.add_argument("--checkpoint", action="append", metavar="NAME=PATH", help="use PATH for router NAME (repeatable)")
    e.add_argument("--judgements", help="MT-Bench single-judgement JSONL (with PATH = question.jsonl)")
    e.add_argument("--strong-model", help="column/model to treat as strong (default: the better of two)")
    e.add_argument("--weak-model", help="column/model to treat as weak (default: the worse of two)")
    e.add_argument("--data-dir", help="folder of the shared data (default: $ROUTELLM_DATA or ../shared/data)")
    e.add_argument("--plot", default="out/cost_quality.png", help="PNG path ('' for none; default: %(default)s; the suite writes one panel per set)")
    e.add_argument("--limit", type=int, help="evaluate only the first N graded prompts (quick checks)")
    _add_quiet(e)
    e.set_defaults(func=cmd_evaluate)

    t = sub.add_parser("train", help="train a router with the bundled recipe (see routellm_plugins.training)")
    t.add_argument("--router", required=True, choices=["mixture", "mf", "sw_ranking", "bert", "causal_llm"], help="router to train")
    t.add_argument("--exclude", default="", help="mixture only: comma-separated chat sources to leave out, e.g. alpaca_eval "
                                                 "for a checkpoint free of CC BY-NC data")
    t.add_argument("--data-dir", help="folder of the shared data (default: $ROUTELLM_DATA or ../shared/data)")
    t.add_argument("--out", required=True, help="folder to write the checkpoint to")
    t.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    t.add_argument("--strong-share", type=float, default=0.5, help="share used to set the saved default threshold (default: %(default)s)")
    t.add_argument("--params", default="{}", help="JSON of router hyper-parameters, e.g. '{\"epochs\": 10}'")
    t.set_defaults(func=cmd_train)

    try:
        from routellm_plugins.cli_pool import add_pool_commands
    except ImportError:
        pass
    else:
        add_pool_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``routellm-plugins`` console script; returns the exit status."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except RouteLLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as exc:
        print(f"error: --params is not valid JSON: {exc}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:  # an input file that is not UTF-8 text
        files = [v for a in ("input", "benchmark", "judgements", "answers") if isinstance(v := getattr(args, a, None), str) and os.path.isfile(v)]
        named = " or ".join(repr(f) for f in files) or "an input file"
        print(f"error: {named} is not UTF-8 text ({exc.reason} at byte {exc.start}); re-save it as UTF-8", file=sys.stderr)
        return 2
    except OSError as exc:  # unreadable input, unwritable output (missing folder, permissions)
        print(f"error: {exc.strerror or exc}: {exc.filename!r}" if exc.filename else f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
