#!/usr/bin/env bash
# Quality of each weight precision on rwkv.cpp's tiny trained RWKV-7: the
# same model as f32, f16, bf16 and llama.cpp's Q8_0 / Q4_0 blocks (GGUF files
# written by test/unit/write-checkpoint.py in llama.cpp's layout; the
# quantizers round as ggml's reference ones), and with bf16 projection
# kernels (precision.weights = "bf16") and Q8_0 kernels
# (precision.weights = "q8_0", the Q8_0 file's blocks read in place).
# Prints perplexity and bits per byte
# of TEXT (default: README.md) for each, and the largest logit difference
# from f32 over the text, as a Markdown table (docs/PERFORMANCE.md).
# Usage: scripts/precision-quality.sh [TEXT]   (after scripts/build.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/build/bin"
DATA="$ROOT/../shared/data/rwkvcpp-tiny"
TEXT="${1:-$ROOT/README.md}"
PY=/usr/bin/python3
if [ ! -f "$DATA/tiny-rwkv-7v0-834K-FP32.bin" ]; then
  echo "precision-quality: $DATA is absent; nothing to measure" >&2
  exit 0
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# The tiny model's [model]..[channel_mix] with the GGUF spec's checkpoint
# table, and the same with bf16 projection weights.
$PY - "$ROOT" "$WORK" <<'PY'
import sys
root, work = sys.argv[1:]
tiny = open(root + "/specs/rwkvcpp-tiny-7v0.toml").read()
model = tiny[:tiny.find("\n[checkpoint]") + 1]
gguf = open(root + "/specs/rwkv7-goose-0.1b-gguf.toml").read()
table = gguf[gguf.find("\n[checkpoint]") + 1:]
open(work + "/f32.toml", "w").write(model + table)
bf16 = model.replace("[precision]\n", "[precision]\nweights = \"bf16\"\n", 1) \
    if "[precision]" in model else model + "\n[precision]\nweights = \"bf16\"\n"
open(work + "/bf16k.toml", "w").write(bf16.replace('weights = "f32"\n', '') + table)
open(work + "/q8k.toml", "w").write(
    bf16.replace('weights = "f32"\n', '').replace('"bf16"', '"q8_0"') + table)
PY
"$BIN/rwkvc" "$WORK/f32.toml" --all-logits -o "$WORK/f32" 2>/dev/null
"$BIN/rwkvc" "$WORK/bf16k.toml" --all-logits -o "$WORK/bf16k" 2>/dev/null
"$BIN/rwkvc" "$WORK/q8k.toml" --all-logits -o "$WORK/q8k" 2>/dev/null
W="$ROOT/test/unit/write-checkpoint.py"
SRC="$DATA/tiny-rwkv-7v0-834K-FP32.bin"
L="--layout=llamacpp --format=gguf"
$PY "$W" "$SRC" "$WORK/f32.gguf" $L
$PY "$W" "$SRC" "$WORK/f16.gguf" $L --dtype=f16
$PY "$W" "$SRC" "$WORK/bf16.gguf" $L --dtype=bf16
$PY "$W" "$SRC" "$WORK/q8_0.gguf" $L --quantize=q8_0
$PY "$W" "$SRC" "$WORK/q4_0.gguf" $L --quantize=q4_0
head -c 4096 "$TEXT" > "$WORK/text.txt"

TOKENS="$($PY -c "import sys; print(','.join(str(b) for b in open(sys.argv[1], 'rb').read()[:1024]))" "$WORK/text.txt")"
run() { # artifact weights name
  "$BIN/rwkv-run" --model "$WORK/$1" --weights "$WORK/$2" --vocab bytes \
    --perplexity "$WORK/text.txt" --json > "$WORK/$3.json"
  "$BIN/rwkv-run" --model "$WORK/$1" --weights "$WORK/$2" --tokens "$TOKENS" \
    --all-logits --logits-out "$WORK/$3.logits" > /dev/null
}
run f32 f32.gguf f32
run f32 f16.gguf f16
run f32 bf16.gguf bf16
run bf16k f32.gguf bf16-kernels
run f32 q8_0.gguf q8_0
run q8k q8_0.gguf q8_0-kernels
run f32 q4_0.gguf q4_0
$PY - "$WORK" <<'PY'
import json, sys, os, array
work = sys.argv[1]
rows = [("f32", "f32 GGUF (reference)"), ("f16", "f16 GGUF, widened at load"),
        ("bf16", "bf16 GGUF, widened at load"),
        ("bf16-kernels", "bf16 projection kernels (precision.weights = \"bf16\")"),
        ("q8_0", "Q8_0 GGUF (matrices), widened at load"),
        ("q8_0-kernels", "Q8_0 kernels (precision.weights = \"q8_0\"), Q8_0 GGUF in place"),
        ("q4_0", "Q4_0 GGUF (matrices), widened at load")]
ref = json.load(open(os.path.join(work, "f32.json")))["perplexity"]
def logits(name):
    p = os.path.join(work, name + ".logits")
    a = array.array("f")
    a.frombytes(open(p, "rb").read())
    return a
ref_logits = logits("f32")
print("| weights | perplexity | bits/byte | vs f32 | max logit diff (first 1024 bytes) |")
print("|---|---|---|---|---|")
for name, what in rows:
    r = json.load(open(os.path.join(work, name + ".json")))["perplexity"]
    l = logits(name)
    diff = max(abs(x - y) for x, y in zip(l, ref_logits))
    print("| %s | %.4f | %.4f | %+.3f%% | %.3g |" % (
        what, r["perplexity"], r["bits_per_byte"],
        100 * (r["perplexity"] / ref["perplexity"] - 1), diff))
PY
