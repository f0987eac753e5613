#!/usr/bin/env bash
# The main job on bundled defaults: set up .venv (core + adapters), then route the bundled sample prompts offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh all   # the core plus the three adapters, so every script in examples/ runs afterwards
bash scripts/ensure_redis.sh || echo "note: without redis-server, examples/deploy/run_replicas.sh cannot run (everything else can)" >&2
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec .venv/bin/routellm-plugins demo "$@"
