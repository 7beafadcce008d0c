#!/usr/bin/env bash
# The main job: compile specs/rwkv7-goose-0.1b.toml to a shared library,
# run it on deterministic synthetic weights, print the top next tokens and
# the decode speed. Pass another spec (and rwkv-run flags) to override:
#   scripts/run-default.sh specs/rwkvcpp-tiny-7v0.toml --weights FILE
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

SPEC="${1:-$ROOT/specs/rwkv7-goose-0.1b.toml}"
shift || true

"$ROOT/scripts/build.sh" rwkvc rwkv-run
OUT="$BUILD_DIR/artifacts/$(basename "$SPEC" .toml)"
echo "== rwkvc $SPEC -> $OUT"
time "$BUILD_DIR/bin/rwkvc" "$SPEC" -o "$OUT"
echo "== rwkv-run"
"$BUILD_DIR/bin/rwkv-run" --model "$OUT" --tokens 0,510,2047 --bench 32 "$@"
