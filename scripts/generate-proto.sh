#!/usr/bin/env bash
# Regenerates everything derived from proto/: the protoc-c C code in Sources/CCoopProto, the Swift value
# types in Sources/CoopWire/Generated and the descriptor registry. The output is committed.
#
#   scripts/generate-proto.sh            regenerate in place
#   scripts/generate-proto.sh --check    exit 1 when the committed output is stale, 2 when a tool is missing
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "error: $1 not found; install the Debian package $2 (apt-get install $2)" >&2
        exit 2
    fi
}
need protoc protobuf-compiler
need protoc-c protobuf-c-compiler
need python3 python3
if ! python3 -c 'import google.protobuf' 2>/dev/null; then
    echo "error: Python's protobuf package is missing (pip install protobuf)" >&2
    exit 2
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
proto_c="$out/Sources/CCoopProto"
swift_dir="$out/Sources/CoopWire/Generated"
services_dir="$out/Sources/CoopServices/Generated"
mkdir -p "$out/c" "$proto_c/include/coop/v1" "$proto_c/coop/v1" "$swift_dir" "$services_dir"

protos=(proto/coop/v1/*.proto)
protoc-c --proto_path=proto --c_out="$out/c" "${protos[@]}"
mv "$out"/c/coop/v1/*.pb-c.h "$proto_c/include/coop/v1/"
mv "$out"/c/coop/v1/*.pb-c.c "$proto_c/coop/v1/"
protoc --proto_path=proto --include_imports --include_source_info \
    --descriptor_set_out="$out/full.pb" "${protos[@]}"
protoc --proto_path=proto --include_imports --descriptor_set_out="$out/served.pb" "${protos[@]}"
python3 scripts/gen_swift.py "$out/full.pb" "$swift_dir" "$proto_c" "$out/served.pb" "$services_dir"
swift format format --configuration .swift-format -i "$swift_dir"/*.swift "$services_dir"/*.swift

generated=(
    Sources/CCoopProto/coop
    Sources/CCoopProto/include/coop
    Sources/CCoopProto/coop_registry.c
    Sources/CCoopProto/include/coop_registry.h
    Sources/CoopWire/Generated
    Sources/CoopServices/Generated
)

if [[ "${1:-}" == "--check" ]]; then
    stale=0
    for path in "${generated[@]}"; do
        if ! diff -r "$out/$path" "$path" >"$out/diff.txt" 2>&1; then
            echo "stale: $path differs from what proto/ generates:" >&2
            head -20 "$out/diff.txt" >&2
            stale=1
        fi
    done
    if [[ $stale -ne 0 ]]; then
        echo "generated code is stale: run scripts/generate-proto.sh and commit the result" >&2
        exit 1
    fi
    echo "generated code is current"
    exit 0
fi

for path in "${generated[@]}"; do
    rm -rf "$path"
    mkdir -p "$(dirname "$path")"
    cp -R "$out/$path" "$path"
done
echo "regenerated: ${generated[*]}"
