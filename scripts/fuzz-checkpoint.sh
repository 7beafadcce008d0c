#!/usr/bin/env bash
# Fuzzes the weight-file readers (test/fuzz/checkpoint-fuzzer.cpp) with
# libFuzzer + AddressSanitizer + UndefinedBehaviorSanitizer for SECONDS
# (default 300), from seeds written by test/unit/write-checkpoint.py and a
# few hand-made files. Needs a clang whose compiler-rt has libFuzzer: $CXX,
# else clang++-14 (Debian's LLVM 22 packages ship none).
# Usage: scripts/fuzz-checkpoint.sh [SECONDS] [WORKDIR]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECONDS_TO_RUN="${1:-300}"
WORK="${2:-/tmp/rwkv-checkpoint-fuzz}"
CXX="${CXX:-clang++-14}"
PYTHON="${PYTHON:-/usr/bin/python3}"
mkdir -p "$WORK/corpus"
"$CXX" -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined \
  -I"$ROOT/runtime/src" -I"$ROOT/runtime/include" \
  "$ROOT/test/fuzz/checkpoint-fuzzer.cpp" "$ROOT/runtime/src/Checkpoint.cpp" \
  "$ROOT/runtime/src/Safetensors.cpp" "$ROOT/runtime/src/TorchZip.cpp" \
  -o "$WORK/checkpoint-fuzzer"
for kind in global opcode storage numel shape broadcast; do
  "$PYTHON" "$ROOT/test/unit/write-checkpoint.py" "$WORK/corpus/evil-$kind.pth" \
    --evil="$kind"
done
"$PYTHON" - "$WORK/corpus" <<'PY'
import json, struct, sys
out = sys.argv[1]
h = json.dumps({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                "b": {"dtype": "BF16", "shape": [2, 2],
                      "data_offsets": [16, 24]},
                "__metadata__": {"format": "pt"}}).encode()
open(out + "/seed.safetensors", "wb").write(
    struct.pack("<Q", len(h)) + h + bytes(range(24)))
d = struct.pack("<6i", 0x67676d66, 101, 256, 32, 1, 0)
for dtype, name, size in [(0, "a", 16), (2, "q", 18), (8, "r", 24)]:
    d += struct.pack("<3i", 1, len(name), dtype)
    d += struct.pack("<i", 32 if dtype else 4) + name.encode() + bytes(size)
open(out + "/seed.bin", "wb").write(d)
PY
cd "$WORK"
exec ./checkpoint-fuzzer -max_total_time="$SECONDS_TO_RUN" -max_len=4096 \
  -timeout=10 -rss_limit_mb=2048 corpus
