#!/usr/bin/env bash
# The benchmark suite. `bench/run.sh` builds release binaries and measures; `--smoke` uses the
# debug build and runs every benchmark for a moment, so the scripts cannot rot (make test runs it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ "${1:-}" = "--smoke" ]; then
    swift build --product modelgate-bench >/dev/null
    swift build --product modelgate >/dev/null
    swift build --product modelgate-fake-upstream >/dev/null
    ./.build/debug/modelgate-bench --smoke >/dev/null
    for script in bench/python/run.sh bench/go/run.sh; do
        [ -x "$script" ] && "$script" --smoke
    done
    echo "bench smoke: ok"
    exit 0
fi

swift build -c release
mkdir -p bench/results
./.build/release/modelgate-bench "$@" --output bench/results/gateway.md
for script in bench/python/run.sh bench/go/run.sh; do
    [ -x "$script" ] && "$script"
done
echo "results in bench/results/"
