#!/usr/bin/env bash
# The benchmark suite: ModelGate beside LiteLLM's proxy and a direct call, same fake upstream.
#
#   bench/run.sh           (make bench) release build, LiteLLM's proxy in bench/.venv-litellm
#                          (installed if missing), the full interleaved run (~25 min): tables into
#                          docs/benchmarks.md, plot docs/benchmarks.svg, raw figures
#                          bench/results/suite.json; then the client micro-benchmarks
#                          (bench/results/). Extra arguments go to bench/suite/suite.py,
#                          e.g. --reps 5 or --only unary.
#   bench/run.sh --smoke   (make test) debug build, every generator and the orchestration for a
#                          moment, LiteLLM not installed; nothing is written.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# 10,000 paced streams need that many sockets in the generator, the gateway and the upstream.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# The Python client's venv runs the orchestrator (it probes the gateway with the client).
pyvenv=${MODELGATE_PY_VENV:-$root/clients/python/.venv}
if [ ! -x "$pyvenv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$pyvenv"
    "$pyvenv/bin/python" -m pip install --quiet --upgrade pip
    "$pyvenv/bin/python" -m pip install --quiet "$root/clients/python"
fi

# The Go load generator, once the Go client is in the tree.
goload=()
if [ -f clients/go/go.mod ] && command -v go >/dev/null; then
    mkdir -p .build
    clients/go/offline.sh bench/suite/goload go build -o "$root/.build/goload" .
    goload=(--goload "$root/.build/goload")
fi

if [ "${1:-}" = "--smoke" ]; then
    swift build --product modelgate-bench >/dev/null
    swift build --product modelgate >/dev/null
    swift build --product modelgate-fake-upstream >/dev/null
    ./.build/debug/modelgate-bench --smoke >/dev/null
    for script in bench/python/run.sh bench/go/run.sh; do
        [ -x "$script" ] && "$script" --smoke
    done
    log=$(mktemp)
    if ! "$pyvenv/bin/python" bench/suite/suite.py --smoke --bins .build/debug "${goload[@]}" >/dev/null 2>"$log"; then
        cat "$log" >&2
        rm -f "$log"
        exit 1
    fi
    rm -f "$log"
    echo "bench smoke: ok"
    exit 0
fi

swift build -c release
venv=$root/bench/.venv-litellm
if [ ! -x "$venv/bin/litellm" ]; then
    echo "installing LiteLLM's proxy into $venv (about 2 minutes)"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r bench/litellm-requirements.txt
fi
mkdir -p bench/results
"$pyvenv/bin/python" bench/suite/suite.py --bins .build/release --litellm-venv "$venv" "${goload[@]}" \
    --output docs/benchmarks.md --plot docs/benchmarks.svg --json bench/results/suite.json \
    --command "make bench (bench/run.sh${*:+ $*})" "$@"
for script in bench/python/run.sh bench/go/run.sh; do
    [ -x "$script" ] && "$script"
done
echo "results: docs/benchmarks.md, docs/benchmarks.svg, bench/results/"
