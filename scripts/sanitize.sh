#!/usr/bin/env bash
# The sanitizer build: every target of the project and the libFuzzer
# harnesses (test/fuzz) with AddressSanitizer + UndefinedBehaviorSanitizer
# into $BUILD_DIR (default build-sanitize/), then ctest there: the test suite
# under the sanitizers and each fuzzer for RWKV_FUZZ_SECONDS (default 20)
# from its seeds. Any sanitizer report fails the test that hit it.
# Usage: scripts/sanitize.sh [ctest arguments...]   (e.g. -L fuzz, -R lit)
#        scripts/sanitize.sh --build-only [ninja targets...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-sanitize}"

"$ROOT/scripts/install-deps.sh"

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -G Ninja -S "$ROOT" -B "$BUILD_DIR" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DCMAKE_C_COMPILER=/usr/lib/llvm-22/bin/clang \
    -DCMAKE_CXX_COMPILER=/usr/lib/llvm-22/bin/clang++ \
    -DLLVM_USE_LINKER=lld \
    -DRWKV_SANITIZE=ON -DRWKV_FUZZERS=ON \
    -DRWKV_FUZZ_SECONDS="${RWKV_FUZZ_SECONDS:-20}"
fi
if [ "${1:-}" = "--build-only" ]; then
  shift
  exec ninja -C "$BUILD_DIR" -j"${JOBS:-$(nproc)}" "$@"
fi
ninja -C "$BUILD_DIR" -j"${JOBS:-$(nproc)}"
# Leaks are reported by the fuzzers (libFuzzer's -detect_leaks) and in the
# runtime; LLVM's and MLIR's process-lifetime allocations are not leaks.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/test/fuzz/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd "$BUILD_DIR"
ctest --output-on-failure -j"${JOBS:-$(nproc)}" "$@"
