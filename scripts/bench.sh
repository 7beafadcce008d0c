#!/usr/bin/env bash
# Builds and runs the benchmarks and rewrites the generated part of
# docs/PERFORMANCE.md (machine limits, results, roofline, targets).
# Extra arguments go to rwkv-bench (e.g. --benchmark_filter=Kernel).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/build.sh" rwkv-bench rwkvc
OUT="$BUILD_DIR/bench-results.json"
"$BUILD_DIR/bin/rwkv-bench" --benchmark_out="$OUT" --benchmark_out_format=json "$@"
python3 "$ROOT/bench/report.py" "$OUT" "$ROOT/specs/rwkv7-goose-0.1b.toml" \
  "$ROOT/docs/PERFORMANCE.md"
echo "wrote $ROOT/docs/PERFORMANCE.md"
