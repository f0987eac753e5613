"""``python -m litellm_adapter check CONFIG.yaml`` | ``python -m litellm_adapter costs LOG.jsonl`` |
``python -m litellm_adapter costs --shared-state redis://host:6379/0 [--prefix routellm]`` (the fleet's totals)."""

from __future__ import annotations

import argparse
import os
import sys

from routellm_plugins import RouteLLMError


def main(argv: list[str] | None = None) -> int:
    """Check a proxy config (print its routes) or summarise a cost log; 1 on a reported error."""
    parser = argparse.ArgumentParser(prog="python -m litellm_adapter", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate a LiteLLM proxy config.yaml and list its routes").add_argument("config")
    costs = sub.add_parser("costs", help="print the cost-saved summary of a ROUTELLM_COST_LOG file, or of the whole fleet from Redis")
    costs.add_argument("log", nargs="?", help="a ROUTELLM_COST_LOG file (this replica's rows)")
    costs.add_argument("--shared-state", metavar="URL", help="the routes' shared_state (redis://..., or os.environ/NAME): print the fleet's totals")
    costs.add_argument("--prefix", default=None, help="the shared_state prefix of the routes (default: routellm)")
    args = parser.parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    if args.command == "check":
        from litellm_adapter.config import check_proxy_config, describe

        try:
            routes = check_proxy_config(args.config)
        except RouteLLMError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(describe(routes))
        return 0
    from litellm_adapter.costs import fleet_summary, format_summary, read_log, summarize

    if (args.log is None) == (args.shared_state is None):
        parser.error("costs needs a LOG file or --shared-state URL (one of them)")
    if args.shared_state is not None:
        setting = {"url": args.shared_state, **({"prefix": args.prefix} if args.prefix else {})}
        try:
            print(format_summary(fleet_summary(setting)))
        except (RouteLLMError, ConnectionError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    try:
        rows = read_log(args.log)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_summary(summarize(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
