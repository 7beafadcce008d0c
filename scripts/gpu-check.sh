#!/usr/bin/env bash
# Every GPU check of rwkv-mlir in one run, for a machine with an NVIDIA GPU,
# the CUDA toolkit and this project's build dependencies. Writes
# $OUT (default gpu-results/): results.md (the table for
# docs/PERFORMANCE.md), the logs and the per-kernel profiles.
#
#   1. GPU tests: every tiny model of ../shared/data/rwkvcpp-tiny, compiled
#      for this GPU, agrees with the CPU artifact within 1e-4 in the
#      recurrent and the parallel form, for a batch and a ragged batch
#      (rwkv-runtime-tests, GpuModels.*). A skip counts as a failure here.
#   2. WKV7, B = 8, H = 32, N = 64, T = 4096, fp32 state: the hand-written
#      kernel of the official design (bench/gpu/wkv7-reference.cu, built with
#      nvcc) against the generated kernel (one block of bench/gpu/wkv7-h32.toml,
#      timed by the runtime's kernel profile, RWKV_GPU_PROFILE).
#   3. rwkv7-goose-0.1b (synthetic weights): decode at B = 1 and B = 64,
#      prefill of 4096 tokens, with per-kernel profiles.
#
# Usage: scripts/gpu-check.sh        (SKIP_BUILD=1 to use an existing build;
#                                      BUILD_DIR, CUDA_HOME, OUT as usual)
# The checks take about 2-3 minutes on one H200 after the build.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
OUT="${OUT:-$ROOT/gpu-results}"
BIN="$BUILD_DIR/bin"
mkdir -p "$OUT"
export CUDA_HOME

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  "$ROOT/scripts/build.sh" rwkvc rwkv-run rwkv-runtime-tests
fi

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: no NVIDIA GPU (nvidia-smi finds none); nothing to check" >&2
  exit 2
fi
GPU="$(nvidia-smi --query-gpu=name,driver_version,memory.total \
  --format=csv,noheader | head -1)"
CAP="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1)"
CHIP="sm_${CAP/./}"
echo "gpu-check: $GPU ($CHIP)"
RESULTS="$OUT/results.md"
{
  echo "# GPU check, $(date -u +%Y-%m-%d)"
  echo
  echo "GPU: $GPU, $CHIP; commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
} >"$RESULTS"
status=0

# 1. Tiny models, GPU against CPU.
echo "gpu-check: 1/3 tiny models on the GPU against the CPU"
if "$BIN/rwkv-runtime-tests" --gtest_filter='TinyModels/GpuModels.*' \
  >"$OUT/gpu-tests.log" 2>&1 && ! grep -q '\[  SKIPPED \]' "$OUT/gpu-tests.log"; then
  verdict="passed"
else
  verdict="FAILED (see gpu-tests.log)"
  status=1
fi
passed="$(grep -c '^\[       OK \]' "$OUT/gpu-tests.log" || true)"
echo "- GPU tests (tiny models vs CPU, 1e-4, both forms, batch and ragged): $verdict, $passed tests" >>"$RESULTS"

# The line of kernel $2 in profile $1: calls, total ms.
kernel_ms() { awk -F'\t' -v k="$2" '$1 == k { print $3 }' "$1"; }

# 2. WKV7 kernel: hand-written baseline and generated kernel.
echo "gpu-check: 2/3 WKV7 B=8 H=32 N=64 T=4096"
"$CUDA_HOME/bin/nvcc" -O3 -arch="$CHIP" -o "$OUT/wkv7-reference" \
  "$ROOT/bench/gpu/wkv7-reference.cu"
"$OUT/wkv7-reference" 8 4096 32 10 >"$OUT/wkv7-reference.json"
ref_ms="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ms"])' \
  "$OUT/wkv7-reference.json")"
rm -rf "$OUT/wkv7-h32"
"$BIN/rwkvc" "$ROOT/bench/gpu/wkv7-h32.toml" --target="$CHIP" \
  --cuda-path="$CUDA_HOME" -o "$OUT/wkv7-h32"
# Warm-up run, then the profiled one (one parallel call of 4096 tokens).
"$BIN/rwkv-run" --model "$OUT/wkv7-h32" --batch 8 --prefill 4096 --chunk 4096 \
  --mode parallel --tokens 1 >/dev/null
RWKV_GPU_PROFILE="$OUT/wkv7-h32.profile.tsv" "$BIN/rwkv-run" \
  --model "$OUT/wkv7-h32" --batch 8 --prefill 4096 --chunk 4096 \
  --mode parallel --tokens 1 >"$OUT/wkv7-h32.log"
gen_ms="$(kernel_ms "$OUT/wkv7-h32.profile.tsv" time_mix_0_parallel_wkv7)"
{
  echo "- WKV7 B=8 H=32 N=64 T=4096 fp32 state: hand-written reference ${ref_ms} ms," \
    "generated kernel ${gen_ms:-?} ms (profile: wkv7-h32.profile.tsv)"
} >>"$RESULTS"

# 3. The 0.1B model.
echo "gpu-check: 3/3 rwkv7-goose-0.1b decode and prefill"
rm -rf "$OUT/rwkv7-0.1b"
"$BIN/rwkvc" "$ROOT/specs/rwkv7-goose-0.1b.toml" --target="$CHIP" \
  --cuda-path="$CUDA_HOME" -o "$OUT/rwkv7-0.1b"
M="$OUT/rwkv7-0.1b"
"$BIN/rwkv-run" --model "$M" --tokens 1 --bench 20 >/dev/null # warm-up
"$BIN/rwkv-run" --model "$M" --tokens 1 --bench 500 | tee "$OUT/decode-b1.log"
"$BIN/rwkv-run" --model "$M" --tokens 1 --batch 64 --bench 100 |
  tee "$OUT/decode-b64.log"
"$BIN/rwkv-run" --model "$M" --tokens 1 --prefill 4096 --chunk 4096 \
  --mode parallel | tee "$OUT/prefill-4096.log"
RWKV_GPU_PROFILE="$OUT/decode-b1.profile.tsv" "$BIN/rwkv-run" --model "$M" \
  --tokens 1 --bench 100 >/dev/null
RWKV_GPU_PROFILE="$OUT/prefill-4096.profile.tsv" "$BIN/rwkv-run" --model "$M" \
  --tokens 1 --prefill 4096 --chunk 4096 --mode parallel >/dev/null
{
  echo "- rwkv7-goose-0.1b decode, B=1: $(grep '^decode' "$OUT/decode-b1.log")"
  echo "- rwkv7-goose-0.1b decode, B=64: $(grep '^decode' "$OUT/decode-b64.log")"
  echo "- rwkv7-goose-0.1b prefill: $(grep '^prefill' "$OUT/prefill-4096.log")"
  echo
  echo "Top kernels of a 4096-token prefill (prefill-4096.profile.tsv):"
  echo
  echo '```'
  head -8 "$OUT/prefill-4096.profile.tsv"
  echo '```'
} >>"$RESULTS"

cat "$RESULTS"
exit $status
