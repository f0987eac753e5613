#!/usr/bin/env bash
# Make sure a redis-server binary exists (Debian's redis-server package), installing it when missing.
# Nothing is started here: the shared-state tests and examples/deploy/run_replicas.sh start their own.
# Exit status 1 (with a message) when it is missing and cannot be installed.
set -euo pipefail
command -v redis-server >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else sudo=missing; fi
if [ "$sudo" = missing ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "redis-server is missing and cannot be installed here: install the redis-server package" >&2
  exit 1
fi
# try without a package-list refresh first (quick when the lists are fresh), then with one
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server >/dev/null 2>&1 \
  || { $sudo apt-get update -q >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server >/dev/null; }
command -v redis-server >/dev/null 2>&1 || { echo "installing redis-server failed" >&2; exit 1; }
