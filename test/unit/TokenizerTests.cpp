//===- TokenizerTests.cpp - World and byte tokenizers, UTF-8 streaming ----===//
//
// The expected values below (the World vocab checksum and spot entries, the
// ids of the test text, and every decoded UTF-8 string) are literals derived
// with scripts/gen-tokenizer-expectations.py, an independent Python
// implementation: the vocab parsed with ast.literal_eval, encoding by a dict
// bytes -> id trying lengths 128 down to 1 at each position, and the
// streaming output as bytes.decode('utf-8', errors='replace'). The script
// also checked that encode(tokenBytes(id)) == {id} holds for all 65529 World
// entries (the vocab has no duplicated byte strings), so it is asserted for
// every entry without exceptions.
//
// Tests that need ../shared/data/rwkv-tokenizers/rwkv_vocab_v20230424.txt
// skip when it is absent; the rest use small vocab files written to a
// temporary directory.
//
//===----------------------------------------------------------------------===//

#include "Tokenizer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#ifndef RWKV_SHARED_DATA
#error "RWKV_SHARED_DATA must name the shared data folder"
#endif

namespace fs = std::filesystem;
using namespace std::literals;
using rwkvrt::Tokenizer;
using rwkvrt::Utf8Stream;

namespace {

const std::string kWorldVocab =
    RWKV_SHARED_DATA "/rwkv-tokenizers/rwkv_vocab_v20230424.txt";

/// The World tokenizer, loaded once; null when the vocab file is absent.
const Tokenizer *world() {
  static std::unique_ptr<Tokenizer> tok = [] {
    std::unique_ptr<Tokenizer> t;
    if (fs::exists(kWorldVocab))
      t = Tokenizer::loadWorld(kWorldVocab);
    return t;
  }();
  return tok.get();
}

#define REQUIRE_WORLD()                                                        \
  const Tokenizer *tok = world();                                              \
  if (!tok)                                                                    \
    GTEST_SKIP() << "World vocab not found at " << kWorldVocab;

/// Strict UTF-8 check, written out separately from Tokenizer.cpp: every
/// sequence complete, no overlong forms, surrogates or values past U+10FFFF.
bool isValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<uint8_t>(s[i]);
    size_t n;
    uint32_t cp;
    if (b < 0x80) {
      n = 1;
      cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      n = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 4;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n > s.size())
      return false;
    for (size_t k = 1; k < n; ++k) {
      auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n;
  }
  return true;
}

/// Deterministic pseudo-random numbers (64-bit LCG, high bits).
struct Lcg {
  uint64_t state;
  uint32_t next() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 33);
  }
};

uint64_t fnv1a64(uint64_t h, std::string_view bytes) {
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001B3ull;
  }
  return h;
}

/// The test text: ASCII with tabs and CRLF, CJK, emoji (a skin-tone
/// modifier, a four-person ZWJ family, a ZWJ flag with VS16) and ill-formed
/// UTF-8 (0xFF, a lone continuation byte, truncated 3- and 4-byte sequences,
/// an overlong form, an encoded surrogate, a value above U+10FFFF, and a
/// truncated sequence at the very end).
const std::string_view kText =
    "Hello, World! The quick brown fox.\tTabs\tand CRLF\r\n"
    "中文测试：你好，世界。\r\n"
    "日本語のテキストと한국어 텍스트.\n"
    "Emoji: 😀 👍🏽 👨\u200D👩\u200D👧\u200D👦 "
    "🏳\uFE0F\u200D🌈!\n"
    "\tindented\t\tcode();\r\n"
    "bad: "
    "\xff"
    " lone "
    "\x80"
    " cut3 "
    "\xe4\xb8"
    "A"
    " overlong "
    "\xc0\xaf"
    " surrogate "
    "\xed\xa0\x80"
    " big "
    "\xf4\x90\x80\x80"
    " cut4 "
    "\xf0\x9f\x98"
    " end "
    "\xe2\x82"sv;

/// Its World ids (greedy longest match, from the Python script). 18 token
/// boundaries fall inside a UTF-8 character.
const std::vector<int32_t> kTextIds = {
    33155, 45,    37576, 34,    20996, 39418, 37917, 21704, 47,    10,    24222,
    10,    7005,  3698,  1201,  263,   10285, 13012, 13827, 16707, 19151, 10464,
    11685, 19137, 10267, 14610, 10080, 263,   13053, 13205, 16592, 10138, 10199,
    10177, 43480, 10133, 43875, 18830, 33,    238,   134,   142,   43717, 47,
    11,    995,   2094,  106,   59,    33,    3319,  153,   129,   33,    28333,
    3319,  144,   190,   33,    3319,  146,   169,   9810,  3319,  146,   170,
    9810,  3319,  146,   168,   9810,  3319,  146,   167,   33,    3319,  144,
    180,   19103, 9810,  3319,  141,   137,   34,    260,   41621, 1843,  257,
    25036, 5269,  263,   7116,  59,    33,    256,   31322, 33,    129,   21484,
    52,    33,    3025,  66,    39202, 8367,  33,    193,   176,   60604, 33,
    238,   161,   129,   21357, 33,    245,   145,   129,   129,   21484, 53,
    33,    3319,  153,   21616, 33,    3008};

/// Python's kText.decode('utf-8', errors='replace'), re-encoded as UTF-8.
const std::string_view kTextDecoded =
    "Hello, World! The quick brown fox.\tTabs\tand CRLF\r\n"
    "中文测试：你好，世界。\r\n"
    "日本語のテキストと한국어 텍스트.\n"
    "Emoji: 😀 👍🏽 👨\u200D👩\u200D👧\u200D👦 "
    "🏳\uFE0F\u200D🌈!\n"
    "\tindented\t\tcode();\r\n"
    "bad: \uFFFD lone \uFFFD cut3 \uFFFDA overlong \uFFFD\uFFFD surrogate "
    "\uFFFD\uFFFD\uFFFD big \uFFFD\uFFFD\uFFFD\uFFFD cut4 \uFFFD end \uFFFD"sv;

/// Byte strings and their decode('utf-8', errors='replace') in Python.
const std::pair<std::string_view, std::string_view> kUtf8Cases[] = {
    {"\xe2\x82\xac"sv, "\u20AC"sv},
    {"\xf0\x9f\x98\x80"sv, "\U0001F600"sv},
    {"\x80"sv, "\uFFFD"sv},
    {"\xbf"sv, "\uFFFD"sv},
    {"\xc0\x80"sv, "\uFFFD\uFFFD"sv},
    {"\xc1\xbf"sv, "\uFFFD\uFFFD"sv},
    {"\xc2"sv, "\uFFFD"sv},
    {"\xc2\x41"sv, "\uFFFDA"sv},
    {"\xc2\x80"sv, "\u0080"sv},
    {"\xdf\xbf"sv, "\u07FF"sv},
    {"\xe0\x80\x80"sv, "\uFFFD\uFFFD\uFFFD"sv},
    {"\xe0\x9f\xbf"sv, "\uFFFD\uFFFD\uFFFD"sv},
    {"\xe0\xa0\x80"sv, "\u0800"sv},
    {"\xe2\x82"sv, "\uFFFD"sv},
    {"\xe2\x82\x41"sv, "\uFFFDA"sv},
    {"\xed\x9f\xbf"sv, "\uD7FF"sv},
    {"\xed\xa0\x80"sv, "\uFFFD\uFFFD\uFFFD"sv},
    {"\xee\x80\x80"sv, "\uE000"sv},
    {"\xef\xbf\xbf"sv, "\uFFFF"sv},
    {"\xf0\x80\x80\x80"sv, "\uFFFD\uFFFD\uFFFD\uFFFD"sv},
    {"\xf0\x8f\xbf\xbf"sv, "\uFFFD\uFFFD\uFFFD\uFFFD"sv},
    {"\xf0\x90\x80\x80"sv, "\U00010000"sv},
    {"\xf0\x9f\x98"sv, "\uFFFD"sv},
    {"\xf0\x9f\x98\x41"sv, "\uFFFDA"sv},
    {"\xf4\x8f\xbf\xbf"sv, "\U0010FFFF"sv},
    {"\xf4\x90\x80\x80"sv, "\uFFFD\uFFFD\uFFFD\uFFFD"sv},
    {"\xf5\x80\x80\x80"sv, "\uFFFD\uFFFD\uFFFD\uFFFD"sv},
    {"\xf8\x88\x80\x80\x80"sv, "\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD"sv},
    {"\xfe\xff"sv, "\uFFFD\uFFFD"sv},
    {"\x41\xe2\x82\xe2\x82\xac\x42"sv, "A\uFFFD\u20ACB"sv},
    {"\xe2\xe2\x82\xac"sv, "\uFFFD\u20AC"sv},
    {"\xf0\x9f\xe2\x82\xac\x80"sv, "\uFFFD\u20AC\uFFFD"sv},
};

/// Runs a Utf8Stream over `pieces`, checking that every push returns valid
/// UTF-8; returns the concatenated output including finish().
std::string stream(const std::vector<std::string_view> &pieces) {
  Utf8Stream s;
  std::string out;
  for (std::string_view piece : pieces) {
    std::string got = s.push(piece);
    EXPECT_TRUE(isValidUtf8(got)) << "push returned ill-formed UTF-8";
    out += got;
  }
  std::string last = s.finish();
  EXPECT_TRUE(last.empty() || last == "\uFFFD");
  return out + last;
}

std::vector<std::string_view> bytewise(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size(); ++i)
    out.push_back(s.substr(i, 1));
  return out;
}

/// Writes vocab files into a per-process temporary directory.
class VocabFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("rwkv-tokenizer-tests-" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string write(const std::string &name, std::string_view contents) {
    std::string path = (dir / name).string();
    std::ofstream out(path, std::ios::binary);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    return path;
  }

  /// Loads `contents`; returns the error's message after checking its status
  /// and that it names the file (and line `line` when positive).
  std::string loadError(std::string_view contents, int line,
                        rwkv_status status = RWKV_ERROR_FORMAT) {
    std::string path = write("vocab.txt", contents);
    try {
      Tokenizer::loadWorld(path);
    } catch (const rwkvrt::Error &e) {
      std::string msg = e.what();
      EXPECT_EQ(e.status(), status) << msg;
      std::string where =
          line > 0 ? path + ":" + std::to_string(line) + ": " : path + ": ";
      EXPECT_EQ(msg.rfind(where, 0), 0u) << msg;
      return msg;
    }
    ADD_FAILURE() << "loading did not fail: " << contents;
    return "";
  }

  /// Lines for the 256 single bytes, id = byte + 1, as bytes literals.
  static std::string byteLines(const char *eol = "\n") {
    std::string s;
    for (int b = 0; b < 256; ++b) {
      char line[32];
      std::snprintf(line, sizeof line, "%d b'\\x%02x' 1%s", b + 1, b, eol);
      s += line;
    }
    return s;
  }

  fs::path dir;
};

bool contains(const std::string &s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

} // namespace

//===----------------------------------------------------------------------===//
// Byte-level tokenizer
//===----------------------------------------------------------------------===//

TEST(ByteTokenizer, RoundTripsArbitraryBytes) {
  for (int32_t offset : {0, 1}) {
    auto tok = Tokenizer::bytes(offset);
    EXPECT_EQ(tok->vocabSize(), 256 + offset);
    EXPECT_EQ(tok->tokenBytes(0), offset ? ""sv : "\0"sv);
    EXPECT_TRUE(tok->encode("").empty());

    std::string all;
    for (int b = 0; b < 256; ++b)
      all += static_cast<char>(b);
    Lcg rng{42};
    std::string random;
    for (int i = 0; i < 100000; ++i)
      random += static_cast<char>(rng.next() & 0xFF);

    for (const std::string &data : {all, random, std::string(kText)}) {
      std::vector<int32_t> ids = tok->encode(data);
      ASSERT_EQ(ids.size(), data.size());
      for (size_t i = 0; i < data.size(); ++i) {
        ASSERT_EQ(ids[i], static_cast<uint8_t>(data[i]) + offset) << "at " << i;
        ASSERT_EQ(tok->tokenBytes(ids[i]), data.substr(i, 1));
      }
      EXPECT_EQ(tok->decode(ids), data);
    }
  }
}

TEST(ByteTokenizer, RejectsUnknownIds) {
  auto tok = Tokenizer::bytes(1);
  for (int32_t id : {-1, 257, 65529}) {
    try {
      tok->tokenBytes(id);
      ADD_FAILURE() << "id " << id << " accepted";
    } catch (const rwkvrt::Error &e) {
      EXPECT_EQ(e.status(), RWKV_ERROR_ARGUMENT);
      EXPECT_TRUE(contains(e.what(), std::to_string(id))) << e.what();
    }
  }
  int32_t ids[] = {1, 300};
  EXPECT_THROW(tok->decode(ids, 2), rwkvrt::Error);
}

//===----------------------------------------------------------------------===//
// Vocab files
//===----------------------------------------------------------------------===//

TEST_F(VocabFileTest, GreedyLongestMatchOnASmallVocab) {
  // CRLF line endings, no final newline, literals with spaces, both quote
  // styles, str escapes (UTF-8 encoded) and a gap in the ids. Ids worked out
  // by hand: bytes are b + 1 ('a' = 98, ' ' = 33).
  std::string vocab = byteLines("\r\n") + "257 'ab' 2\r\n"
                                          "258 'abcd' 4\r\n"
                                          "259 'bc' 2\r\n"
                                          "260 'a b' 3\r\n"
                                          "261 'é' 2\r\n"
                                          "262 '\\xe9t' 3\r\n"
                                          "263 \"it's\" 4\r\n"
                                          "264 '\\t\\\\\\'' 3\r\n"
                                          "300 '\\U0001F600\\101\\q' 7";
  auto tok = Tokenizer::loadWorld(write("small.txt", vocab));
  EXPECT_EQ(tok->vocabSize(), 301);
  EXPECT_EQ(tok->tokenBytes(0), ""sv);
  EXPECT_EQ(tok->tokenBytes(1), "\0"sv);
  EXPECT_EQ(tok->tokenBytes(256), "\xff"sv);
  EXPECT_EQ(tok->tokenBytes(260), "a b"sv);
  EXPECT_EQ(tok->tokenBytes(261), "\xc3\xa9"sv);
  EXPECT_EQ(tok->tokenBytes(262), "\xc3\xa9t"sv);
  EXPECT_EQ(tok->tokenBytes(263), "it's"sv);
  EXPECT_EQ(tok->tokenBytes(264), "\t\\'"sv);
  EXPECT_EQ(tok->tokenBytes(300), "\xf0\x9f\x98\x80"
                                  "A\\q"sv);
  EXPECT_THROW(tok->tokenBytes(280), rwkvrt::Error);

  // Greedy, not optimal: "abc" takes 'ab' then 'c' although 'a' + 'bc' is
  // also two tokens.
  EXPECT_EQ(tok->encode("abcd abc bcd a b"),
            (std::vector<int32_t>{258, 33, 257, 100, 33, 259, 101, 33, 260}));
  EXPECT_EQ(tok->encode("\xc3\xa9t\xc3\xa9\xc3"),
            (std::vector<int32_t>{262, 261, 196}));
  EXPECT_EQ(tok->encode("abab"), (std::vector<int32_t>{257, 257}));
}

TEST_F(VocabFileTest, BadLiteral) {
  std::string msg = loadError("1 'a' 1\n2 'b 1\n", 2);
  EXPECT_TRUE(contains(msg, "literal")) << msg;
  msg = loadError("1 abc 3\n", 1);
  EXPECT_TRUE(contains(msg, "literal 'abc'")) << msg;
  msg = loadError("1 'a' 1\n2 b'\xc3\xa9' 2\n", 2);
  EXPECT_TRUE(contains(msg, "non-ASCII")) << msg;
  msg = loadError("1 '\\x4' 1\n", 1);
  EXPECT_TRUE(contains(msg, "hex digits")) << msg;
  msg = loadError("1 '\\ud800' 3\n", 1);
  EXPECT_TRUE(contains(msg, "surrogate")) << msg;
  msg = loadError("1 'it's' 4\n", 1);
  EXPECT_TRUE(contains(msg, "quote")) << msg;
  msg = loadError("1 'a\\' 2\n", 1);
  EXPECT_TRUE(contains(msg, "closing quote")) << msg;
}

TEST_F(VocabFileTest, LengthMismatch) {
  std::string msg = loadError("1 'a' 1\r\n2 'ab' 3\r\n", 2);
  EXPECT_TRUE(contains(msg, "byte length mismatch")) << msg;
  EXPECT_TRUE(contains(msg, "has 2 bytes but the line says 3")) << msg;
  msg = loadError("1 '\\xe9' 1\n", 1); // a str: U+00E9 is 2 bytes
  EXPECT_TRUE(contains(msg, "has 2 bytes")) << msg;
}

TEST_F(VocabFileTest, DuplicateId) {
  std::string msg = loadError("1 'a' 1\n2 'b' 1\n1 'c' 1\n", 3);
  EXPECT_TRUE(contains(msg, "duplicate id 1 (first defined on line 1)")) << msg;
}

TEST_F(VocabFileTest, DuplicateBytes) {
  std::string msg = loadError("1 'a' 1\n2 'b' 1\n3 b'a' 1\n", 3);
  EXPECT_TRUE(contains(msg, "id 3 duplicate those of id 1 on line 1")) << msg;
}

TEST_F(VocabFileTest, OtherErrors) {
  std::string msg = loadError("0 'a' 1\n", 1);
  EXPECT_TRUE(contains(msg, "out of range")) << msg;
  msg = loadError("1 'a' 1\n99999999999 'b' 1\n", 2);
  EXPECT_TRUE(contains(msg, "out of range")) << msg;
  msg = loadError("x1 'a' 1\n", 1);
  EXPECT_TRUE(contains(msg, "bad id")) << msg;
  msg = loadError("1 'a'\n", 1);
  EXPECT_TRUE(contains(msg, "expected `<id> <literal> <byte length>`")) << msg;
  msg = loadError("1 'a' 1\n\n2 'b' 1\n", 2);
  EXPECT_TRUE(contains(msg, "expected `<id>")) << msg;
  msg = loadError("1 'a' one\n", 1);
  EXPECT_TRUE(contains(msg, "bad byte length")) << msg;
  msg = loadError("1 '' 0\n", 1);
  EXPECT_TRUE(contains(msg, "empty token")) << msg;
  msg = loadError("", 0);
  EXPECT_TRUE(contains(msg, "no tokens")) << msg;
  // Every byte needs a token; here 0x41 ('A', id 66) is missing.
  std::string lines = byteLines();
  size_t at = lines.find("66 b'\\x41' 1\n");
  ASSERT_NE(at, std::string::npos);
  lines.erase(at, std::strlen("66 b'\\x41' 1\n"));
  msg = loadError(lines, 0);
  EXPECT_TRUE(contains(msg, "no token for byte 0x41")) << msg;
}

TEST_F(VocabFileTest, UnreadableFile) {
  std::string path = (dir / "missing.txt").string();
  try {
    Tokenizer::loadWorld(path);
    ADD_FAILURE() << "loading a missing file did not fail";
  } catch (const rwkvrt::Error &e) {
    EXPECT_EQ(e.status(), RWKV_ERROR_IO);
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
}

//===----------------------------------------------------------------------===//
// The World vocab
//===----------------------------------------------------------------------===//

TEST(WorldTokenizer, EntriesMatchTheFile) {
  REQUIRE_WORLD();
  EXPECT_EQ(tok->vocabSize(), 65530);
  EXPECT_EQ(tok->tokenBytes(0), ""sv);

  // FNV-1a 64 over (length as 4 bytes little endian, bytes) for ids
  // 1..65529, as computed by the Python script from the file.
  constexpr uint64_t kVocabChecksum = 0x5aaacb726cd5b15full;
  uint64_t h = 0xCBF29CE484222325ull;
  for (int32_t id = 1; id < 65530; ++id) {
    std::string_view bytes = tok->tokenBytes(id);
    auto n = static_cast<uint32_t>(bytes.size());
    char len[4] = {static_cast<char>(n), static_cast<char>(n >> 8),
                   static_cast<char>(n >> 16), static_cast<char>(n >> 24)};
    h = fnv1a64(fnv1a64(h, std::string_view(len, 4)), bytes);
  }
  EXPECT_EQ(h, kVocabChecksum);

  const std::pair<int32_t, std::string_view> spots[] = {
      {1, "\0"sv},
      {10, "\t"sv},
      {11, "\n"sv},
      {14, "\r"sv},
      {93, "\\"sv},
      {129, "\x80"sv},
      {256, "\xff"sv},
      {257, "\t\t"sv},
      {2410, "~\\"sv},
      {2412, "\x82\xac"sv},
      {9810, "\u200D"sv},
      {10078, "\u3000"sv},
      {65529, std::string_view("                                "
                               "                                "
                               "                                "
                               "                                ")},
  };
  for (const auto &[id, bytes] : spots)
    EXPECT_EQ(tok->tokenBytes(id), bytes) << "id " << id;
  for (int b = 0; b < 256; ++b)
    EXPECT_EQ(tok->tokenBytes(b + 1), std::string(1, static_cast<char>(b)));
}

TEST(WorldTokenizer, EveryEntryEncodesToItself) {
  REQUIRE_WORLD();
  size_t failures = 0;
  for (int32_t id = 1; id < tok->vocabSize() && failures < 10; ++id) {
    std::string_view bytes = tok->tokenBytes(id);
    std::vector<int32_t> ids = tok->encode(bytes);
    EXPECT_EQ(tok->decode(ids), bytes) << "id " << id;
    if (ids != std::vector<int32_t>{id}) {
      ADD_FAILURE() << "encode(tokenBytes(" << id << ")) is not {" << id << "}";
      ++failures;
    }
  }
}

TEST(WorldTokenizer, EncodesTheTestText) {
  REQUIRE_WORLD();
  EXPECT_EQ(tok->encode(kText), kTextIds);
  EXPECT_EQ(tok->decode(kTextIds), kText);
  EXPECT_TRUE(tok->encode("").empty());
  int32_t eot[] = {0, 33155, 0};
  EXPECT_EQ(tok->decode(eot, 3), "Hello"sv);
}

TEST(WorldTokenizer, RoundTripsMegabytes) {
  REQUIRE_WORLD();
  // About 4 MB of random vocab entries (so long tokens occur), random bytes
  // and copies of the test text.
  Lcg rng{7};
  std::string text;
  while (text.size() < (4u << 20)) {
    uint32_t r = rng.next();
    if (r % 16 == 0)
      text += kText;
    else if (r % 16 == 1)
      text += static_cast<char>(rng.next() & 0xFF);
    else
      text += tok->tokenBytes(1 + static_cast<int32_t>(rng.next() % 65529));
  }
  std::vector<int32_t> ids = tok->encode(text);
  EXPECT_LT(ids.size(), text.size());
  EXPECT_EQ(tok->decode(ids), text);
}

//===----------------------------------------------------------------------===//
// UTF-8 streaming
//===----------------------------------------------------------------------===//

TEST(Utf8Stream, ReplacesLikePython) {
  for (const auto &[bytes, expected] : kUtf8Cases) {
    SCOPED_TRACE(::testing::PrintToString(std::string(bytes)));
    EXPECT_EQ(stream({bytes}), expected);
    EXPECT_EQ(stream(bytewise(bytes)), expected);
    for (size_t i = 0; i <= bytes.size(); ++i)
      for (size_t j = i; j <= bytes.size(); ++j)
        EXPECT_EQ(stream({bytes.substr(0, i), bytes.substr(i, j - i),
                          bytes.substr(j)}),
                  expected)
            << "split at " << i << ", " << j;
  }
}

TEST(Utf8Stream, HoldsIncompleteSequences) {
  Utf8Stream s;
  EXPECT_EQ(s.push("a\xe2"), "a");
  EXPECT_EQ(s.push("\x82"), "");
  EXPECT_EQ(s.push("\xac"
                   "b"),
            "\u20AC"
            "b");
  EXPECT_EQ(s.push("\xf0\x9f"), "");
  EXPECT_EQ(s.finish(), "\uFFFD");
  EXPECT_EQ(s.finish(), "");
  EXPECT_EQ(s.push("c"), "c"); // usable again after finish()
}

TEST(Utf8Stream, TestTextMatchesPython) {
  EXPECT_TRUE(isValidUtf8(kTextDecoded));
  EXPECT_EQ(stream({kText}), kTextDecoded);
  EXPECT_EQ(stream(bytewise(kText)), kTextDecoded);
}

TEST(WorldTokenizer, StreamsTheTestTextTokenByToken) {
  REQUIRE_WORLD();
  std::vector<std::string_view> pieces;
  for (int32_t id : tok->encode(kText))
    pieces.push_back(tok->tokenBytes(id));
  EXPECT_EQ(stream(pieces), kTextDecoded);
}
