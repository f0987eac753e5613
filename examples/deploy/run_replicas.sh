#!/usr/bin/env bash
# Plain-process recipe (no containers): one redis-server and REPLICAS LiteLLM proxy replicas on this
# machine, all running examples/deploy/litellm_replicas.yaml, then a conversation that hops between
# replicas and the fleet's cost summary. Put any HTTP load balancer in front of the ports in production.
#
#   bash examples/deploy/run_replicas.sh            # start, demo, stop
#   KEEP=1 bash examples/deploy/run_replicas.sh     # start, demo, keep serving until Ctrl-C
#
# Settings (environment): REPLICAS (2), BASE_PORT (4001), REDIS_PORT (6390), LITELLM_MASTER_KEY.
# Needs: redis-server on PATH (Debian: apt-get install -y redis-server) and the project's .venv with
# the litellm and redis extras (bash scripts/setup_env.sh test, or pip install 'routellm-plugins[litellm,redis]').
set -euo pipefail
cd "$(dirname "$0")/../.."
replicas=${REPLICAS:-2}
base_port=${BASE_PORT:-4001}
redis_port=${REDIS_PORT:-6390}
venv_bin="${VENV:-.venv}/bin"
logs=$(mktemp -d -t routellm-replicas-XXXX)
export ROUTELLM_REDIS_URL="redis://127.0.0.1:${redis_port}/0"
export LITELLM_MASTER_KEY="${LITELLM_MASTER_KEY:-sk-local-test}" LITELLM_LOCAL_MODEL_COST_MAP=True HF_HUB_OFFLINE=1
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$logs" >"$logs/redis.log" 2>&1 &
pids+=($!)
for i in $(seq 0 $((replicas - 1))); do
  "$venv_bin/litellm" --config examples/deploy/litellm_replicas.yaml --host 127.0.0.1 --port $((base_port + i)) >"$logs/proxy-$i.log" 2>&1 &
  pids+=($!)
done
echo "redis on $redis_port, $replicas replicas on ports $base_port..$((base_port + replicas - 1)); logs in $logs"
for i in $(seq 0 $((replicas - 1))); do
  until curl -sf "http://127.0.0.1:$((base_port + i))/health/readiness" >/dev/null; do sleep 1; done
done
echo "all replicas ready"

ask() {  # ask PORT SESSION TEXT: one routed request, print the routing headers
  curl -s -D - -o /dev/null "http://127.0.0.1:$1/v1/chat/completions" \
    -H "Authorization: Bearer $LITELLM_MASTER_KEY" -H "Content-Type: application/json" -H "x-litellm-session-id: $2" \
    -d "{\"model\": \"routellm\", \"messages\": [{\"role\": \"user\", \"content\": \"$3\"}]}" \
    | tr -d '\r' | grep -iE '^x-routellm-(choice|score|threshold|sticky|reason)' | paste -sd ' ' | sed "s/^/  port $1: /"
}
echo "one conversation, each turn on another replica (sticky_sessions: escalate):"
ask "$base_port" demo-1 "Write a Python function that merges two sorted lists in linear time and prove it correct."
ask $((base_port + replicas - 1)) demo-1 "thanks!"
ask "$base_port" demo-1 "And what is 2 + 2?"
echo "the fleet's cost summary (every replica's requests):"
sleep 1
"$venv_bin/python" -m litellm_adapter costs --shared-state os.environ/ROUTELLM_REDIS_URL
if [ -n "${KEEP:-}" ]; then echo "serving; Ctrl-C stops everything"; wait; fi
