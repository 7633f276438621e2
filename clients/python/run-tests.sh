#!/usr/bin/env bash
# Type-checks and tests the Python client against the real gateway binaries.
#
#   clients/python/run-tests.sh [pytest args...]
#
# Needs python3 (>= 3.10, with the venv module) and the binaries built beforehand:
#   swift build --product modelgate && swift build --product modelgate-fake-upstream
# They are found via $MODELGATE_BIN / $MODELGATE_FAKE_UPSTREAM_BIN, default <repo>/.build/debug/.
# Tests that need a missing binary fail (set MODELGATE_REQUIRE_SERVER=0 to skip them instead).
# The virtual environment lives in clients/python/.venv (override with $MODELGATE_PY_VENV).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${MODELGATE_PY_VENV:-$here/.venv}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" || {
        echo "run-tests.sh: cannot create a venv; on Debian: apt-get install python3-venv" >&2
        exit 1
    }
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# A regular (non-editable) install: the tests exercise the package as users get it.
"$venv/bin/python" -m pip install --quiet --upgrade "$here[test]"

echo "== mypy --strict (hand-written code)"
(cd "$here" && "$venv/bin/python" -m mypy --strict src/modelgate tests ../../bench/python/bench.py ../../examples/python/stream_chat.py)

echo "== pytest"
export MODELGATE_REQUIRE_SERVER=${MODELGATE_REQUIRE_SERVER:-1}
export MODELGATE_BIN=${MODELGATE_BIN:-$repo/.build/debug/modelgate}
export MODELGATE_FAKE_UPSTREAM_BIN=${MODELGATE_FAKE_UPSTREAM_BIN:-$repo/.build/debug/modelgate-fake-upstream}
cd "$here"
# Import the installed package, not src/ (rootdir conftest only adds tests/).
exec "$venv/bin/python" -m pytest -p no:cacheprovider "$@"
