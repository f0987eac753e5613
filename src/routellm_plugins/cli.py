"""``routellm-plugins`` command line: demo, route, score, calibrate, evaluate, train (and pool commands)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

from routellm_plugins.errors import RouteLLMError


def _router(name: str, checkpoint: str | None = None, threshold: float | None = None):
    from routellm_plugins.registry import load_router

    kwargs = {"seed": 0} if name == "random" and checkpoint is None else {}
    return load_router(name, checkpoint=checkpoint, threshold=threshold, **kwargs)


def cmd_route(args: argparse.Namespace) -> int:
    router = _router(args.router, args.checkpoint)
    threshold = args.threshold
    if threshold is None and args.strong_share is not None:
        threshold = router.threshold_for_share(args.strong_share)
    print(json.dumps(router.route(args.prompt, threshold=threshold).to_dict(), indent=2))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from routellm_plugins.data.files import read_prompts

    prompts = read_prompts(args.input, args.field)
    router = _router(args.router, args.checkpoint)
    scores = router.score(prompts) if prompts else []
    out = open(args.output, "w", encoding="utf-8") if args.output != "-" else sys.stdout
    try:
        for s in scores:
            out.write(json.dumps({"score": round(float(s), 6)}) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"scored {len(prompts)} prompts with {router.name} -> {args.output}", file=sys.stderr)
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from routellm_plugins.data.files import read_prompts
    from routellm_plugins.demo import sample_prompts

    router = _router(args.router, args.checkpoint)
    prompts = read_prompts(args.input, args.field) if args.input else [r["prompt"] for r in sample_prompts()]
    t = router.calibrate(prompts, args.strong_share)
    source = args.input or "the bundled sample prompts"
    print(f"threshold {t:.5f} sends {args.strong_share:.0%} of {len(prompts)} prompts ({source}) to the strong model")
    print(f"model string: router-{router.name}-{t:.5f}")
    if args.save:
        router.save(args.save)
        print(f"saved calibrated router to {args.save}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from routellm_plugins.benchmarks import evaluate_benchmark

    names = [n.strip() for n in args.routers.split(",") if n.strip()]
    checkpoints = dict(kv.split("=", 1) for kv in args.checkpoint or [])
    table, path = evaluate_benchmark(args.benchmark, names, data_dir=args.data_dir, checkpoints=checkpoints,
                                     judgements=args.judgements, strong_model=args.strong_model, weak_model=args.weak_model,
                                     plot=args.plot, limit=args.limit)
    print(table)
    if path:
        print(f"plot written to {path}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from routellm_plugins.training import TEXT_TRAINED, load_training_data, train_router, train_text_router

    params = json.loads(args.params)
    if args.router in TEXT_TRAINED:
        router = train_text_router(args.router, args.data_dir, seed=args.seed, progress=True, **params)
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

    return run_demo(router_name=args.router, strong_share=args.strong_share, limit=args.limit, verbose=not args.quiet)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="routellm-plugins", description="Cost-saving LLM routing (RouteLLM / UniRoute), offline by default.")
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="route the bundled sample prompts and print where each went and the cost/quality outcome")
    d.add_argument("--router", default="mf")
    d.add_argument("--strong-share", type=float, default=0.5, help="target share of strong calls (calibrated on the sample)")
    d.add_argument("--limit", type=int, default=12, help="prompts to print one by one (the summary uses all)")
    d.add_argument("--quiet", action="store_true")
    d.set_defaults(func=cmd_demo)

    r = sub.add_parser("route", help="route one prompt and print the decision as JSON")
    r.add_argument("prompt")
    r.add_argument("--router", default="mf")
    r.add_argument("--checkpoint")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--threshold", type=float)
    g.add_argument("--strong-share", type=float)
    r.set_defaults(func=cmd_route)

    s = sub.add_parser("score", help="score prompts from a JSONL/CSV file; one JSON score per line, same order")
    s.add_argument("--router", required=True)
    s.add_argument("--checkpoint")
    s.add_argument("--input", required=True)
    s.add_argument("--output", default="-")
    s.add_argument("--field", default="prompt")
    s.set_defaults(func=cmd_score)

    c = sub.add_parser("calibrate", help="threshold that sends a share of prompts to the strong model")
    c.add_argument("--router", default="mf")
    c.add_argument("--checkpoint")
    c.add_argument("--strong-share", type=float, required=True)
    c.add_argument("--input", help="JSONL/CSV of prompts like your traffic (default: the bundled sample)")
    c.add_argument("--field", default="prompt")
    c.add_argument("--save", help="write the calibrated router (with its scores) to this folder")
    c.set_defaults(func=cmd_calibrate)

    e = sub.add_parser("evaluate", help="APGR / CPT on held-out benchmark prompts, and a cost-quality plot")
    e.add_argument("--benchmark", required=True, help="gsm8k | mmlu | routerbench | PATH (RouteLLM CSV or MT-Bench question.jsonl)")
    e.add_argument("--routers", default="mf,sw_ranking,random")
    e.add_argument("--checkpoint", action="append", metavar="NAME=PATH", help="use PATH for router NAME")
    e.add_argument("--judgements", help="MT-Bench single-judgement JSONL (with PATH = question.jsonl)")
    e.add_argument("--strong-model", help="column/model to treat as strong (default: the better of two)")
    e.add_argument("--weak-model")
    e.add_argument("--data-dir", help="folder of the shared data (default: $ROUTELLM_DATA or ../shared/data)")
    e.add_argument("--plot", default="out/cost_quality.png", help="PNG path ('' for none)")
    e.add_argument("--limit", type=int, help="evaluate only the first N graded prompts (quick checks)")
    e.set_defaults(func=cmd_evaluate)

    t = sub.add_parser("train", help="train a router with the bundled recipe (see routellm_plugins.training)")
    t.add_argument("--router", required=True, choices=["mf", "sw_ranking", "bert", "causal_llm"])
    t.add_argument("--data-dir")
    t.add_argument("--out", required=True)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--strong-share", type=float, default=0.5, help="share used to set the saved default threshold")
    t.add_argument("--params", default="{}", help="JSON of router hyper-parameters")
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
