#!/usr/bin/env bash
# Python client benchmark, called by bench/run.sh.
#   bench/python/run.sh           release gateway, full run -> bench/results/python.md
#   bench/python/run.sh --smoke   debug gateway, a few seconds (keeps the script from rotting)
# Uses clients/python/.venv (created by clients/python/run-tests.sh; created here if missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

venv=${MODELGATE_PY_VENV:-$root/clients/python/.venv}
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "$root/clients/python"
fi

if [ "${1:-}" = "--smoke" ]; then
    "$venv/bin/python" bench/python/bench.py --smoke --gateway "${MODELGATE_BIN:-.build/debug/modelgate}" >/dev/null
    echo "bench/python smoke: ok"
    exit 0
fi

mkdir -p bench/results
"$venv/bin/python" bench/python/bench.py --gateway "${MODELGATE_BIN:-.build/release/modelgate}" "$@" \
    --write bench/results/python.md
