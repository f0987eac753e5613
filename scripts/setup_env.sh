#!/usr/bin/env bash
# Create or reuse .venv and install the project with the given extras (torch==2.13.0 first: the CPU wheel).
# Usage: bash scripts/setup_env.sh [EXTRAS]   e.g. bash scripts/setup_env.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
venv="${VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
stamp="$venv/.routellm-installed-${extras:-core}"
want="$(sha1sum pyproject.toml | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
"$py" -m pip install -q --upgrade pip
"$py" -m pip install -q "torch==2.13.0"
if [ -n "$extras" ]; then
  "$py" -m pip install -q -e ".[$extras]"
else
  "$py" -m pip install -q -e ".[plot]"
fi
echo "$want" > "$stamp"
