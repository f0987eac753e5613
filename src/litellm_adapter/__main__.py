"""``python -m litellm_adapter check CONFIG.yaml`` | ``python -m litellm_adapter costs LOG.jsonl``."""

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
    sub.add_parser("costs", help="print the cost-saved summary of a ROUTELLM_COST_LOG file").add_argument("log")
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
    from litellm_adapter.costs import format_summary, read_log, summarize

    try:
        rows = read_log(args.log)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_summary(summarize(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
