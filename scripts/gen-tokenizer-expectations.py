#!/usr/bin/env python3
"""Derives the expected values in test/unit/TokenizerTests.cpp.

This is an independent implementation of the RWKV World tokenizer (Python 3,
standard library only; it shares no code with runtime/src/Tokenizer.cpp):

  * the vocab file is parsed with ast.literal_eval (str literals are UTF-8
    encoded), as the reference rwkv_tokenizer.py does with eval;
  * encoding is greedy longest match with a dict bytes -> id, trying lengths
    from 128 (the longest token) down to 1 at each position;
  * the expected streaming output is bytes.decode('utf-8', errors='replace').

It prints C++ snippets (the test text, its ids, its decoded text, the UTF-8
replacement cases and the vocab checksum) that were pasted into the test, and
reports which vocab properties hold.

Usage: scripts/gen-tokenizer-expectations.py [path/to/rwkv_vocab_v20230424.txt]
"""

import ast
import os
import sys
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_VOCAB = os.path.join(ROOT, "..", "shared", "data", "rwkv-tokenizers",
                             "rwkv_vocab_v20230424.txt")
MAX_TOKEN_LEN = 128

# The test text, as pieces: valid UTF-8 pieces are printed as readable C++
# literals, the invalid ones as \x escapes in literals of their own.
TEST_TEXT = [
    "Hello, World! The quick brown fox.\tTabs\tand CRLF\r\n".encode(),
    "中文测试：你好，世界。\r\n".encode(),
    "日本語のテキストと한국어 텍스트.\n".encode(),
    # Skin-tone modifier, a four-person ZWJ family and a ZWJ flag (with VS16).
    "Emoji: 😀 👍🏽 👨\u200d👩\u200d👧\u200d👦 "
    "🏳\ufe0f\u200d🌈!\n".encode(),
    b"\tindented\t\tcode();\r\n",
    b"bad: ", b"\xff",               # never valid in UTF-8
    b" lone ", b"\x80",              # continuation byte without a lead
    b" cut3 ", b"\xe4\xb8", b"A",    # 3-byte sequence missing its last byte
    b" overlong ", b"\xc0\xaf",      # overlong encoding of '/'
    b" surrogate ", b"\xed\xa0\x80",  # U+D800
    b" big ", b"\xf4\x90\x80\x80",   # above U+10FFFF
    b" cut4 ", b"\xf0\x9f\x98",      # 4-byte sequence missing its last byte
    b" end ", b"\xe2\x82",           # truncated at the very end of the text
]

# Single byte strings whose errors='replace' decoding the UTF-8 stream test
# checks pushed whole, byte by byte and split at every point.
UTF8_CASES = [
    b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\x80", b"\xbf", b"\xc0\x80",
    b"\xc1\xbf", b"\xc2", b"\xc2A", b"\xc2\x80", b"\xdf\xbf", b"\xe0\x80\x80",
    b"\xe0\x9f\xbf", b"\xe0\xa0\x80", b"\xe2\x82", b"\xe2\x82A",
    b"\xed\x9f\xbf", b"\xed\xa0\x80", b"\xee\x80\x80", b"\xef\xbf\xbf",
    b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf", b"\xf0\x90\x80\x80",
    b"\xf0\x9f\x98", b"\xf0\x9f\x98A", b"\xf4\x8f\xbf\xbf",
    b"\xf4\x90\x80\x80",
    b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xfe\xff",
    b"A\xe2\x82\xe2\x82\xacB",
    b"\xe2\xe2\x82\xac", b"\xf0\x9f\xe2\x82\xac\x80",
]

# Vocab entries spot-checked byte for byte (escapes of every kind, both quote
# styles, bytes literals, the longest token).
SPOT_IDS = [1, 10, 11, 14, 93, 129, 256, 257, 2410, 2412, 9810, 10078, 65529]


def load_vocab(path):
    toks = {}
    with open(path, "r", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            first, last = line.index(" "), line.rindex(" ")
            value = ast.literal_eval(line[first + 1:last])
            if isinstance(value, str):
                value = value.encode("utf-8")
            assert isinstance(value, bytes)
            assert len(value) == int(line[last + 1:]), line
            idx = int(line[:first])
            assert idx not in toks, idx
            toks[idx] = value
    return toks


def encode(index, data):
    out, i = [], 0
    while i < len(data):
        for n in range(min(MAX_TOKEN_LEN, len(data) - i), 0, -1):
            idx = index.get(data[i:i + n])
            if idx is not None:
                out.append(idx)
                i += n
                break
        else:
            raise ValueError("no token for byte %r" % data[i:i + 1])
    return out


def fnv1a64(chunks):
    h = 0xCBF29CE484222325
    for chunk in chunks:
        for b in chunk:
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def vocab_checksum(toks):
    """FNV-1a 64 over (length as 4 bytes little endian, bytes) in id order."""
    chunks = []
    for idx in sorted(toks):
        chunks.append(len(toks[idx]).to_bytes(4, "little"))
        chunks.append(toks[idx])
    return fnv1a64(chunks)


# Categories printed as universal character names (besides ASCII controls):
# controls, format characters (ZWJ), combining marks (VS16), spaces, and
# private-use or unassigned code points.
INVISIBLE = ("Cc", "Cf", "Mn", "Zs", "Co", "Cn")


def cpp_text(s, ascii_only=False):
    """A C++ narrow string literal for a Python str (UTF-8 source); invisible
    and combining characters, or all non-ASCII ones if `ascii_only`, become
    universal character names."""
    out = []
    for ch in s:
        c = ord(ch)
        if ch == "\\" or ch == '"':
            out.append("\\" + ch)
        elif ch in "\t\r\n":
            out.append({"\t": "\\t", "\r": "\\r", "\n": "\\n"}[ch])
        elif c < 0x20 or c == 0x7F:
            out.append("\\%03o" % c)
        elif c >= 0x80 and ascii_only:
            out.append("\\u%04X" % c if c <= 0xFFFF else "\\U%08X" % c)
        elif c >= 0x80 and unicodedata.category(ch) in INVISIBLE:
            out.append("\\u%04X" % c if c <= 0xFFFF else "\\U%08X" % c)
        elif c == 0xFFFD:
            out.append("\\uFFFD")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def cpp_bytes(data):
    """C++ literal(s) for bytes: readable when valid UTF-8, else \\x escapes
    (in a literal of their own, so that no hex escape swallows a digit)."""
    try:
        return cpp_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        return '"' + "".join("\\x%02x" % b for b in data) + '"'


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_VOCAB
    toks = load_vocab(path)
    index = {}
    for idx, value in toks.items():
        index.setdefault(value, []).append(idx)
    dups = {v: ids for v, ids in index.items() if len(ids) > 1}
    index = {v: ids[-1] for v, ids in index.items()}
    print("// vocab: %d entries, ids %d..%d, longest %d bytes, %d duplicated "
          "byte strings" % (len(toks), min(toks), max(toks),
                            max(map(len, toks.values())), len(dups)))
    assert sorted(toks) == list(range(1, len(toks) + 1))
    assert all(toks[b + 1] == bytes([b]) for b in range(256))

    not_single = [idx for idx, value in toks.items()
                  if encode(index, value) != [idx]]
    print("// entries with encode(bytes(id)) != {id}: %d %s" %
          (len(not_single), not_single[:50]))
    print("constexpr uint64_t kVocabChecksum = 0x%016xull;" %
          vocab_checksum(toks))

    print("\n// Spot entries:")
    for idx in SPOT_IDS:
        print("    {%d, %s}," % (idx, cpp_bytes(toks[idx])))

    text = b"".join(TEST_TEXT)
    ids = encode(index, text)
    print("\n// Test text (%d bytes):" % len(text))
    print("\n".join("    " + cpp_bytes(p) for p in TEST_TEXT) + ";")
    print("\n// Expected ids (%d):" % len(ids))
    print("{" + ", ".join(map(str, ids)) + "}")

    # Token boundaries that fall inside a UTF-8 character (what makes the
    # streaming decoder hold bytes between pushes).
    pos, split = 0, 0
    for idx in ids:
        pos += len(toks[idx])
        head = text[:pos]
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as e:
            if e.reason == "unexpected end of data":
                split += 1
    print("// token boundaries inside a UTF-8 character: %d" % split)

    decoded = text.decode("utf-8", errors="replace")
    print("\n// Expected decode(errors='replace') (%d U+FFFD):" %
          decoded.count("\ufffd"))
    print("\n".join(cpp_text(line) for line in decoded.splitlines(True)))

    print("\n// UTF-8 replacement cases:")
    for case in UTF8_CASES:
        literal = '"' + "".join("\\x%02x" % b for b in case) + '"'
        expected = cpp_text(case.decode("utf-8", "replace"), ascii_only=True)
        print("    {%s, %s}," % (literal, expected))


if __name__ == "__main__":
    main()
