#!/usr/bin/env bash
# Generates every language's code from proto/modelgate/v1/*.proto:
#   C (protobuf-c)  -> Sources/CModelGateProto
#   Python          -> clients/python/src/modelgate/v1
#   Go              -> clients/go/modelgatev1
# The generators are pinned to Debian bookworm's packages; the output is committed.
# `proto/generate.sh --check` regenerates into a temporary tree and fails on any difference.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

want_protoc="libprotoc 3.21.12"
want_protoc_c="protobuf-c 1.4.1"
want_protoc_gen_go="protoc-gen-go v1.28.1"

have() { command -v "$1" >/dev/null 2>&1; }
for tool in protoc protoc-gen-c protoc-gen-go; do
    have "$tool" || { echo "generate.sh: $tool is missing (apt-get install protobuf-compiler protobuf-c-compiler protoc-gen-go)" >&2; exit 1; }
done
[ "$(protoc --version)" = "$want_protoc" ] || { echo "generate.sh: need $want_protoc, have $(protoc --version)" >&2; exit 1; }
[ "$(protoc-c --version 2>/dev/null | head -1)" = "$want_protoc_c" ] || { echo "generate.sh: need $want_protoc_c" >&2; exit 1; }
[ "$(protoc-gen-go --version)" = "$want_protoc_gen_go" ] || { echo "generate.sh: need $want_protoc_gen_go" >&2; exit 1; }

protos=(modelgate/v1/gateway.proto modelgate/v1/wire.proto)

generate_into() {
    local out=$1
    local c_dir="$out/Sources/CModelGateProto"
    local py_dir="$out/clients/python/src"
    local go_dir="$out/clients/go"
    mkdir -p "$c_dir/include" "$py_dir" "$go_dir"
    local tmp_c
    tmp_c=$(mktemp -d)
    (cd proto && protoc -I. --c_out="$tmp_c" \
        --python_out="$py_dir" --pyi_out="$py_dir" \
        --go_out="$go_dir" --go_opt=module=github.com/modelgate/modelgate/clients/go \
        "${protos[@]}")
    # protoc-c writes foo.pb-c.c and foo.pb-c.h side by side; SwiftPM wants headers under include/.
    mkdir -p "$c_dir/modelgate/v1" "$c_dir/include/modelgate/v1"
    for p in "${protos[@]}"; do
        local base=${p%.proto}
        mv "$tmp_c/$base.pb-c.c" "$c_dir/$base.pb-c.c"
        mv "$tmp_c/$base.pb-c.h" "$c_dir/include/$base.pb-c.h"
    done
    rm -rf "$tmp_c"
}

if [ "${1:-}" = "--check" ]; then
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    generate_into "$scratch"
    status=0
    for rel in Sources/CModelGateProto/modelgate Sources/CModelGateProto/include/modelgate \
               clients/python/src/modelgate/v1 clients/go/modelgatev1; do
        # Compare only generated files; hand-written neighbours (e.g. __init__.py) are ignored.
        while IFS= read -r -d '' f; do
            rel_f=${f#"$scratch/"}
            if ! cmp -s "$f" "$root/$rel_f"; then
                echo "generated file differs: $rel_f" >&2
                status=1
            fi
        done < <(find "$scratch/$rel" -type f -print0)
    done
    if [ $status -ne 0 ]; then
        echo "generate.sh --check: generated code is stale; run proto/generate.sh and commit" >&2
        exit 1
    fi
    echo "generated code is up to date"
    exit 0
fi

generate_into "$root"
echo "generated C, Python and Go code from ${protos[*]}"
