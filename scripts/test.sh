#!/usr/bin/env bash
# Builds everything and runs every test (lit + GoogleTest) through ctest.
# Tests that need ../shared/data report UNSUPPORTED/skipped when it is absent.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

"$ROOT/scripts/build.sh"
cd "$BUILD_DIR"
ctest --output-on-failure -j"${JOBS:-$(nproc)}"
