#!/usr/bin/env bash
# Go client benchmark, called by bench/run.sh.
#   bench/go/run.sh           release gateway, full run -> bench/results/go.md
#   bench/go/run.sh --smoke   debug gateway, a few seconds (keeps the benchmark from rotting)
# Builds offline with Debian's Go packages (clients/go/offline.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

absolute() { case "$1" in /*) echo "$1" ;; *) echo "$root/$1" ;; esac; }

if [ "${1:-}" = "--smoke" ]; then
    MODELGATE_BIN=$(absolute "${MODELGATE_BIN:-.build/debug/modelgate}") \
        clients/go/offline.sh bench/go go run . -smoke >/dev/null
    echo "bench/go smoke: ok"
    exit 0
fi

mkdir -p bench/results
MODELGATE_BIN=$(absolute "${MODELGATE_BIN:-.build/release/modelgate}") \
    clients/go/offline.sh bench/go go run . -reps 5 "$@" -write "$root/bench/results/go.md"
