#!/usr/bin/env bash
# Runs a go command for one of this repository's Go modules without any network.
#
#   clients/go/offline.sh MODULE_DIR go test ./...
#
# The dependencies come from Debian's golang-*-dev packages (/usr/share/gocode/src,
# e.g. golang-google-protobuf-dev). This script serves them to the go command
# through a file:// module proxy that it builds once in a cache directory, so the
# module stays a normal module: its committed go.mod and go.sum (which hold the
# upstream checksums that an online `go get` verifies) are never modified. The go
# command works on a scratch copy of go.mod (-modfile) whose go.sum records the
# checksums of the local zips, and uses its own module cache so the rebuilt zips
# never mix with a user's regular module cache.
#
# Environment:
#   MODELGATE_GOCODE            Debian Go sources (default /usr/share/gocode/src)
#   MODELGATE_GO_OFFLINE_DIR    cache directory (default ${TMPDIR:-/tmp}/modelgate-go-offline-$UID)
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 MODULE_DIR COMMAND [ARGS...]" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
moddir=$(cd "$1" && pwd)
shift
gocode=${MODELGATE_GOCODE:-/usr/share/gocode/src}
command -v go >/dev/null || { echo "offline.sh: go is missing (apt-get install golang-go)" >&2; exit 1; }
[ -f "$moddir/go.mod" ] || { echo "offline.sh: no go.mod in $moddir" >&2; exit 1; }

# The cache is keyed by the Debian sources' file list, sizes and times, so an upgraded
# package gets a fresh proxy and module cache instead of a checksum mismatch.
fingerprint=$( { go version; find "$gocode" -type f -printf '%P %s %T@\n' 2>/dev/null | sort; } | md5sum | cut -c1-12)
state=${MODELGATE_GO_OFFLINE_DIR:-${TMPDIR:-/tmp}/modelgate-go-offline-$(id -u)}/$fingerprint
proxy=$state/proxy
mkdir -p "$proxy"

# requirements FILE: prints "path version" for every require line of a go.mod.
requirements() {
    awk '
        /^require[ \t]*\($/ { block = 1; next }
        block && /^\)/       { block = 0; next }
        block && NF >= 2     { print $1, $2; next }
        /^require[ \t]+[^(]/ { print $2, $3 }
    ' "$1"
}

# The modules to serve: the requirements of this module and of the local modules it
# replaces (bench/go and examples/go replace the client module with ../../clients/go).
gomods=("$moddir/go.mod")
while read -r target; do
    [ -f "$moddir/$target/go.mod" ] && gomods+=("$moddir/$target/go.mod")
done < <(awk '/=>[ \t]*\.\.?\// { print $NF }' "$moddir/go.mod")

for gomod in "${gomods[@]}"; do
    while read -r path version; do
        src=$gocode/$path
        [ -f "$src/go.mod" ] || continue  # not a Debian-packaged module (e.g. the client itself)
        dir=$proxy/$path/@v
        [ -f "$dir/$version.zip" ] && continue
        mkdir -p "$dir"
        cp "$src/go.mod" "$dir/$version.mod"
        printf '{"Version":"%s","Time":"2000-01-01T00:00:00Z"}\n' "$version" >"$dir/$version.info"
        GO111MODULE=off GOFLAGS= go run "$here/internal/offline/mkmodzip.go" "$path@$version" "$src" "$dir/$version.zip"
        ls "$dir" | sed -n 's/\.zip$//p' >"$dir/list"
    done < <(requirements "$gomod")
done

# A scratch go.mod next to a scratch go.sum. Relative replace targets are made
# absolute because the scratch file lives elsewhere.
scratch=$state/modfile/$(printf '%s' "$moddir" | md5sum | cut -c1-12)
mkdir -p "$scratch"
awk -v base="$moddir" '
    /=>[ \t]*\.\.?\// { $NF = base "/" $NF }
    { print }
' "$moddir/go.mod" >"$scratch/go.mod"
touch "$scratch/go.sum"

export GO111MODULE=on
export GOPROXY=file://$proxy
export GOSUMDB=off
export GOMODCACHE=$state/modcache
export GOFLAGS="-modfile=$scratch/go.mod -mod=mod${GOFLAGS:+ $GOFLAGS}"
cd "$moddir"
exec "$@"
