#!/usr/bin/env python3
"""Turns rwkv-bench's JSON output into the generated part of
docs/PERFORMANCE.md: machine description, measured limits, results, the
roofline for the RWKV-7 0.1B model and the targets of the performance issue.

Usage: report.py BENCH.json SPEC.toml PERFORMANCE.md
Only the text between the BEGIN/END GENERATED markers is replaced.
"""
import datetime
import json
import platform
import re
import subprocess
import sys
import tomllib

BEGIN = "<!-- BEGIN GENERATED (scripts/bench.sh) -->"
END = "<!-- END GENERATED -->"


def machine():
    model, cores = platform.processor() or "unknown", "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                model = value.strip()
            if key.strip() == "CPU(s)":
                cores = value.strip()
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
            mem = f"{kb / 2**20:.0f} GiB"
    except (OSError, AttributeError):
        pass
    return f"{model}, {cores} logical CPUs, {mem} RAM"


def chunk_rates(runs, prefix):
    """chunk length -> tok/s of the runs named <prefix>.../chunk:<L> (0 =
    per-token scan); with --benchmark_repetitions, the medians."""
    rates = {}
    for name, b in runs.items():
        m = re.fullmatch(re.escape(prefix) + r".*/chunk:(\d+)(_median)?", name)
        if m and (m.group(2) or b.get("run_type") != "aggregate"):
            rates[int(m.group(1))] = b["tok"]
    return rates


def main():
    bench_json, spec_path, doc_path = sys.argv[1:4]
    with open(bench_json) as f:
        runs = {b["name"]: b for b in json.load(f)["benchmarks"]}
    with open(spec_path, "rb") as f:
        spec = tomllib.load(f)["model"]

    def find(prefix):
        for name, b in runs.items():
            if name.startswith(prefix):
                return b
        raise KeyError(prefix)

    bw1 = find("Machine/ReadBandwidth/threads:1")["bytes_per_second"]
    bw2 = find("Machine/ReadBandwidth/threads:2")["bytes_per_second"]
    peak = find("Machine/PeakFma")["FLOP"]
    isa = find("Machine/PeakFma").get("label", "")
    wkv7 = chunk_rates(runs, "Kernel/Wkv7/")
    wkv = wkv7[0]
    decode = find("Model/rwkv7-0.1b/Decode/threads:1")
    decode2 = find("Model/rwkv7-0.1b/Decode/threads:2")["tok"]
    bf16 = find("Model/rwkv7-0.1b-bf16/Decode/threads:1")
    bf16_2 = find("Model/rwkv7-0.1b-bf16/Decode/threads:2")["tok"]
    prefill = find("Model/rwkv7-0.1b/Prefill/tokens:512/threads:1")["tok"]
    prefill2 = find("Model/rwkv7-0.1b/Prefill/tokens:512/threads:2")["tok"]
    compile_s = find("Compile/rwkv7-0.1b")["real_time"]
    linear = [(n, b["FLOP"]) for n, b in runs.items() if n.startswith("Kernel/Linear")]
    # chunk length -> tok/s of the WKV5 kernel (0 = per-token scan)
    wkv5 = chunk_rates(runs, "Kernel/Wkv5/")
    blas = {n.split("/", 2)[2]: b["FLOP"] for n, b in runs.items()
            if n.startswith("Blas/Sgemm")}

    v, c = spec["vocab_size"], spec["d_model"]
    total_bytes = decode["weight_bytes_per_tok"]
    # A token reads one embedding row, not the table.
    bytes_tok = total_bytes - (v - 1) * c * 4
    params = total_bytes / 4
    nonemb = params - 2 * v * c  # without emb and head
    flops_decode = 2 * (nonemb + v * c)  # every matrix once, head included
    flops_prefill = 2 * nonemb  # head only for the last token
    # bf16 projections; the embedding table stays f32 (one row read).
    bytes_bf16 = bf16["weight_bytes_per_tok"] - (v - 1) * c * 4
    bf16_limit = bw1 / bytes_bf16
    bf16_tok = bf16["tok"]
    bw_limit = bw1 / bytes_tok
    bw2_limit = bw2 / bytes_tok
    decode_tok = decode["tok"]

    def row(what, value, target, ok):
        return f"| {what} | {value} | {target} | {'met' if ok else '**missed**'} |"

    lines = [
        BEGIN,
        "",
        f"Measured {datetime.date.today().isoformat()} by `scripts/bench.sh` "
        f"(bench/RwkvBench.cpp) on: {machine()}.",
        "",
        "### Machine limits (same run)",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| streaming read bandwidth, 1 thread | {bw1 / 1e9:.1f} GB/s |",
        f"| streaming read bandwidth, 2 threads | {bw2 / 1e9:.1f} GB/s |",
        f"| peak f32 FMA rate, 1 core ({isa}) | {peak / 1e9:.0f} GFLOP/s |",
        "",
        "### RWKV-7 0.1B (L12 D768, f32 weights, batch 1)",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| weight bytes read per decoded token | {bytes_tok / 1e6:.0f} MB "
        f"(all weights but the embedding table) |",
        f"| FLOPs per decoded token / per prefill token | "
        f"{flops_decode / 1e6:.0f} M / {flops_prefill / 1e6:.0f} M |",
        f"| decode bandwidth limit, 1 thread / 2 threads | {bw_limit:.1f} / "
        f"{bw2_limit:.1f} tok/s |",
        f"| prefill compute limit (1 core at peak FMA) | "
        f"{peak / flops_prefill:.0f} tok/s |",
        f"| **decode, 1 thread** | **{decode_tok:.1f} tok/s** = {decode_tok / bw_limit * 100:.0f}% "
        f"of the 1-thread bandwidth limit ({decode_tok * bytes_tok / 1e9:.1f} GB/s) |",
        f"| **decode, 2 threads** | **{decode2:.1f} tok/s** = {decode2 / bw2_limit * 100:.0f}% "
        f"of the 2-thread bandwidth limit ({decode2 * bytes_tok / 1e9:.1f} GB/s) |",
        f"| **decode, bf16 weights, 1 thread** | **{bf16_tok:.1f} tok/s** = "
        f"{bf16_tok / bf16_limit * 100:.0f}% of its bandwidth limit "
        f"({bytes_bf16 / 1e6:.0f} MB/token, {bf16_limit:.1f} tok/s) |",
        f"| **decode, bf16 weights, 2 threads** | **{bf16_2:.1f} tok/s** = "
        f"{bf16_2 / (bw2 / bytes_bf16) * 100:.0f}% of the 2-thread limit |",
        f"| **prefill, 512 tokens, 1 thread** | **{prefill:.0f} tok/s** = "
        f"{prefill * flops_prefill / 1e9:.0f} GFLOP/s, "
        f"{prefill * flops_prefill / peak * 100:.0f}% of peak FMA |",
        f"| **prefill, 512 tokens, 2 threads** | **{prefill2:.0f} tok/s** = "
        f"{prefill2 / prefill:.2f}x the 1-thread figure |",
        f"| WKV7 kernel alone (H=12, N=64, T=512) | {wkv / 1e3:.0f}k tok/s |",
    ]
    forms7 = ", ".join(f"chunk {c}: {t / 1e3:.0f}k ({t / wkv:.2f}x)"
                       for c, t in sorted(wkv7.items()) if c)
    if forms7:
        lines.append(f"| WKV7 DPLR chunk form alone (same shapes) | {forms7} |")
    if 0 in wkv5:
        forms = ", ".join(f"chunk {c}: {t / 1e3:.0f}k ({t / wkv5[0]:.2f}x)"
                          for c, t in sorted(wkv5.items()) if c)
        lines.append(f"| WKV5/6 kernel alone (H=12, N=64, T=512) | scan: "
                     f"{wkv5[0] / 1e3:.0f}k tok/s; {forms} |")
    for name, flop in linear:
        shape = name.split("/", 2)[2]
        text = (f"| linear kernel {shape} | {flop / 1e9:.0f} GFLOP/s "
                f"({flop / peak * 100:.0f}% of peak)")
        if shape in blas:
            text += (f"; OpenBLAS sgemm, 1 thread: {blas[shape] / 1e9:.0f} "
                     f"GFLOP/s (ours: {flop / blas[shape]:.2f}x of it)")
        lines.append(text + " |")
    lines += [
        f"| rwkvc on specs/rwkv7-goose-0.1b.toml (both forms) | {compile_s:.1f} s |",
        "",
        "### Targets",
        "",
        "| target | measured | required | status |",
        "|---|---|---|---|",
        row("decode, 1 thread, f32", f"{decode_tok / bw_limit * 100:.0f}% of "
            f"bandwidth limit", ">= 90%", decode_tok >= 0.9 * bw_limit),
        row("decode, 1 thread, bf16", f"{bf16_tok / bf16_limit * 100:.0f}% of "
            f"bandwidth limit", ">= 90%", bf16_tok >= 0.9 * bf16_limit),
        row("prefill 512 tokens, 1 thread, f32", f"{prefill:.0f} tok/s",
            ">= 480 tok/s", prefill >= 480),
        row("prefill, 2 threads vs 1", f"{prefill2 / prefill:.2f}x",
            ">= 1.6x", prefill2 >= 1.6 * prefill),
        row("WKV7 kernel alone", f"{wkv / 1e3:.0f}k tok/s", ">= 220k tok/s",
            wkv >= 220e3),
        row("compile the 0.1B spec", f"{compile_s:.1f} s", "< 30 s",
            compile_s < 30),
        "",
        END,
    ]
    generated = "\n".join(lines)
    try:
        with open(doc_path) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = f"# Performance\n\n{BEGIN}\n{END}\n"
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        doc = head + generated + tail
    else:
        doc = doc.rstrip() + "\n\n" + generated + "\n"
    with open(doc_path, "w") as f:
        f.write(doc)


if __name__ == "__main__":
    main()
