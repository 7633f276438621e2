#!/usr/bin/env bash
# Checks the Go client offline, against the real gateway:
#   gofmt, go vet and `go test -race` in clients/go (protocol vectors, then the
#   integration tests, which start the gateway and the fake upstream), go vet of
#   bench/go and examples/go, and the benchmark's -smoke run.
#
# Needs the apt packages golang-go golang-google-protobuf-dev (offline.sh serves
# the protobuf module from them) and the binaries from
#   swift build --product modelgate && swift build --product modelgate-fake-upstream
# found through MODELGATE_BIN / MODELGATE_FAKE_UPSTREAM_BIN (default .build/debug/).
# Without the gateway (or fake upstream) binary the integration tests fail here; set
# MODELGATE_REQUIRE_GATEWAY=0 (MODELGATE_REQUIRE_FAKE_UPSTREAM=0) to skip them instead.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
export MODELGATE_BIN=${MODELGATE_BIN:-$root/.build/debug/modelgate}
export MODELGATE_FAKE_UPSTREAM_BIN=${MODELGATE_FAKE_UPSTREAM_BIN:-$root/.build/debug/modelgate-fake-upstream}
export MODELGATE_REQUIRE_GATEWAY=${MODELGATE_REQUIRE_GATEWAY:-1}
export MODELGATE_REQUIRE_FAKE_UPSTREAM=${MODELGATE_REQUIRE_FAKE_UPSTREAM:-1}
offline=$here/offline.sh

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l "$here" "$root/bench/go" "$root/examples/go")
if [ -n "$unformatted" ]; then
    echo "not gofmt-formatted:" >&2
    echo "$unformatted" >&2
    exit 1
fi

step "go vet (clients/go, bench/go, examples/go)"
"$offline" "$here" go vet ./...
"$offline" "$root/bench/go" go vet ./...
"$offline" "$root/examples/go" go vet ./...

step "go test -race (clients/go)"
"$offline" "$here" go test -race -count=1 -timeout 15m ./... "$@"

if [ -x "$MODELGATE_BIN" ]; then
    step "benchmark smoke run (bench/go)"
    "$offline" "$root/bench/go" go run . -smoke
else
    echo "skipping the benchmark smoke run: no gateway binary at $MODELGATE_BIN"
fi
echo
echo "Go client: all checks passed"
