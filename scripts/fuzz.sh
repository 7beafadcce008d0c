#!/usr/bin/env bash
# Long fuzzing runs: builds the sanitizer build (scripts/sanitize.sh's
# configuration, $BUILD_DIR default build-sanitize/) and runs each libFuzzer
# harness of test/fuzz for SECONDS (default 600) from its seeds, JOBS at a
# time. Each run's log, corpus and any crash-*/leak-*/timeout-*/oom-* input
# land in $WORK/<name> (default /tmp/rwkv-fuzz). Exits non-zero if any run
# found something.
# Usage: scripts/fuzz.sh [SECONDS] [FUZZER...]   (fuzzers: checkpoint
#        manifest state vocab spec; default all)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-sanitize}"
WORK="${WORK:-/tmp/rwkv-fuzz}"
SECONDS_TO_RUN="${1:-600}"
shift || true
FUZZERS=("$@")
[ ${#FUZZERS[@]} -gt 0 ] || FUZZERS=(checkpoint manifest state vocab spec)

# Builds only what the fuzzers need.
targets=()
for f in "${FUZZERS[@]}"; do targets+=("$f-fuzzer"); done
BUILD_DIR="$BUILD_DIR" "$ROOT/scripts/sanitize.sh" --build-only "${targets[@]}"

export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/test/fuzz/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
running=0
for f in "${FUZZERS[@]}"; do
  mkdir -p "$WORK"
  max_len=8192 # as test/fuzz/CMakeLists.txt's MAX_LEN
  [ "$f" != manifest ] || max_len=16384
  (
    "$ROOT/test/fuzz/run-fuzzer.sh" "$BUILD_DIR/bin/$f-fuzzer" \
      "$ROOT/test/fuzz/corpus/$f" "$WORK/$f" "$SECONDS_TO_RUN" "$max_len" \
      > "$WORK/$f.log" 2>&1 && echo "$f: ok ($(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$WORK/$f.log"))" ||
      { echo "$f: FAILED (see $WORK/$f.log)"; exit 1; }
  ) &
  running=$((running + 1))
  if [ "$running" -ge "${JOBS:-$(nproc)}" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
exit "$status"
