"""Checks rwkv-run --perplexity --json against the same quantities computed
here from the logits of every position (rwkv-run --all-logits, float32
little-endian [tokens][vocab]) of a byte-level model (token id = byte).

usage: check_perplexity.py TEXT ALL_LOGITS VOCAB REPORT_JSON
Prints the numbers it compared; exits 1 when one differs by more than 1e-6
relative (the two sums run in double over the same float32 logits).
"""
import json
import math
import struct
import sys

text_path, logits_path, vocab, report_path = sys.argv[1:]
vocab = int(vocab)
ids = list(open(text_path, "rb").read())
raw = open(logits_path, "rb").read()
rows = len(raw) // (4 * vocab)
# --all-logits over every token but the last: row t predicts token t + 1.
if rows != len(ids) - 1:
    sys.exit(f"{logits_path}: {rows} rows of logits, expected {len(ids) - 1}")
nll = 0.0
for t in range(rows):
    row = struct.unpack_from(f"<{vocab}f", raw, 4 * vocab * t)
    peak = max(row)
    lse = peak + math.log(sum(math.exp(x - peak) for x in row))
    nll += lse - row[ids[t + 1]]
scored = len(ids) - 1
want = {
    "tokens": len(ids),
    "scored_tokens": scored,
    "scored_bytes": scored,  # one byte per token
    "nll_nats": nll,
    "nats_per_token": nll / scored,
    "perplexity": math.exp(nll / scored),
    "bits_per_byte": nll / math.log(2) / scored,
}
got = json.load(open(report_path))["perplexity"]
bad = 0
for key, value in want.items():
    ok = abs(got[key] - value) <= 1e-6 * max(1.0, abs(value))
    print(f"{key}: rwkv-run {got[key]} check {value} {'ok' if ok else 'DIFFERS'}")
    bad += not ok
sys.exit(1 if bad else 0)
