#!/usr/bin/env bash
# The main job on bundled defaults: set up .venv, then route the bundled sample prompts offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec .venv/bin/routellm-plugins demo "$@"
