#!/usr/bin/env bash
# Runs one libFuzzer harness for SECONDS from the seeds in SEEDS, with a
# fresh work corpus in WORK. Any crash, leak, sanitizer report, timeout
# (10 s per input) or out-of-memory (2 GB) fails it; libFuzzer writes the
# input that did it (crash-*, leak-*, timeout-*, oom-*) into WORK.
# Usage: run-fuzzer.sh FUZZER SEEDS WORK SECONDS [MAX_LEN (bytes, 8192)]
set -euo pipefail
fuzzer="$1" seeds="$2" work="$3" seconds="$4" max_len="${5:-8192}"
rm -rf "$work" && mkdir -p "$work/corpus"
cd "$work"
# An empty seed directory (a file git did not carry) would make libFuzzer
# start from nothing and, for the manifest, never get past the JSON parser.
if [ -z "$(ls -A "$seeds")" ]; then
  echo "run-fuzzer.sh: no seed inputs in $seeds" >&2
  exit 1
fi
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len="$max_len" -print_final_stats=1 corpus "$seeds"
