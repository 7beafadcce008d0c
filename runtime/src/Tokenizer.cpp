//===- Tokenizer.cpp - RWKV World and byte-level tokenizers ---------------===//
//
// The vocab is stored as one byte blob with per-id offsets, and encoding walks
// a byte trie whose nodes keep their children contiguous and sorted (about
// 116k nodes for World, a few MB in all); the root has a dense table.
//
//===----------------------------------------------------------------------===//

#include "Tokenizer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace rwkvrt {

namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD"; // U+FFFD

/// Length of the UTF-8 sequence that byte `b` starts (1 for ASCII), or 0 if
/// it cannot start one (a continuation byte, 0xC0, 0xC1, 0xF5..0xFF).
int sequenceLength(uint8_t b) {
  if (b < 0x80)
    return 1;
  if (b < 0xC2)
    return 0;
  if (b < 0xE0)
    return 2;
  if (b < 0xF0)
    return 3;
  if (b < 0xF5)
    return 4;
  return 0;
}

/// Whether `b` can be byte `k` (1..3) of a sequence led by `lead`. The second
/// byte's range is narrowed after E0 and F0 (overlong forms), ED (surrogates)
/// and F4 (above U+10FFFF).
bool continues(uint8_t lead, int k, uint8_t b) {
  uint8_t lo = 0x80, hi = 0xBF;
  if (k == 1) {
    if (lead == 0xE0)
      lo = 0xA0;
    else if (lead == 0xED)
      hi = 0x9F;
    else if (lead == 0xF0)
      lo = 0x90;
    else if (lead == 0xF4)
      hi = 0x8F;
  }
  return b >= lo && b <= hi;
}

/// Length of the well-formed UTF-8 character at s[i], or 0.
size_t validCharAt(std::string_view s, size_t i) {
  auto lead = static_cast<uint8_t>(s[i]);
  int n = sequenceLength(lead);
  if (n == 0 || i + n > s.size())
    return 0;
  for (int k = 1; k < n; ++k)
    if (!continues(lead, k, static_cast<uint8_t>(s[i + k])))
      return 0;
  return static_cast<size_t>(n);
}

void appendUtf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hexValue(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// Parses a Python str literal (whose bytes are its UTF-8 encoding) or bytes
/// literal, with an optional b/B or u/U prefix, either quote and Python's
/// escapes, into `out`. Returns what is wrong, or an empty string.
std::string parseLiteral(std::string_view lit, std::string &out) {
  size_t i = 0;
  bool isBytes = false;
  if (i < lit.size() && (lit[i] == 'b' || lit[i] == 'B')) {
    isBytes = true;
    ++i;
  } else if (i < lit.size() && (lit[i] == 'u' || lit[i] == 'U')) {
    ++i;
  }
  if (i >= lit.size() || (lit[i] != '\'' && lit[i] != '"'))
    return "it does not start with a quote (or b and a quote)";
  char quote = lit[i++];
  if (lit.size() < i + 1 || lit.back() != quote)
    return "it does not end with the opening quote";
  std::string_view body = lit.substr(i, lit.size() - 1 - i);

  // Appends an escaped code point (str) or byte value (bytes).
  auto emit = [&](uint32_t v) -> std::string {
    if (isBytes) {
      if (v > 0xFF)
        return "octal escape above \\377 in a bytes literal";
      out += static_cast<char>(v);
      return {};
    }
    if (v >= 0xD800 && v <= 0xDFFF)
      return "escaped surrogate code point, which has no UTF-8 encoding";
    if (v > 0x10FFFF)
      return "escaped code point above U+10FFFF";
    appendUtf8(out, v);
    return {};
  };

  for (size_t j = 0; j < body.size();) {
    auto c = static_cast<uint8_t>(body[j]);
    if (c == static_cast<uint8_t>(quote))
      return "unescaped quote inside the literal";
    if (c != '\\') {
      if (c < 0x80) {
        out += body[j++];
        continue;
      }
      if (isBytes)
        return "non-ASCII character in a bytes literal";
      size_t n = validCharAt(body, j);
      if (n == 0)
        return "invalid UTF-8 inside a str literal";
      out.append(body.substr(j, n));
      j += n;
      continue;
    }
    if (j + 1 >= body.size())
      return "backslash escapes the closing quote";
    char e = body[j + 1];
    j += 2;
    std::string err;
    switch (e) {
    case '\\':
    case '\'':
    case '"':
      out += e;
      break;
    case 'a':
      out += '\a';
      break;
    case 'b':
      out += '\b';
      break;
    case 'f':
      out += '\f';
      break;
    case 'n':
      out += '\n';
      break;
    case 'r':
      out += '\r';
      break;
    case 't':
      out += '\t';
      break;
    case 'v':
      out += '\v';
      break;
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7': {
      uint32_t v = static_cast<uint32_t>(e - '0');
      for (int k = 0;
           k < 2 && j < body.size() && body[j] >= '0' && body[j] <= '7'; ++k)
        v = v * 8 + static_cast<uint32_t>(body[j++] - '0');
      err = emit(v);
      break;
    }
    case 'x':
    case 'u':
    case 'U': {
      if (isBytes && e != 'x') { // not an escape in bytes: kept as is
        out += '\\';
        out += e;
        break;
      }
      int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
      uint32_t v = 0;
      for (int k = 0; k < digits; ++k, ++j) {
        int h = j < body.size() ? hexValue(body[j]) : -1;
        if (h < 0)
          return std::string("\\") + e + " needs " + std::to_string(digits) +
                 " hex digits";
        v = v * 16 + static_cast<uint32_t>(h);
      }
      err = emit(v);
      break;
    }
    case 'N':
      if (!isBytes)
        return "\\N{...} escapes are not supported";
      [[fallthrough]];
    default:
      // Python keeps an unrecognized escape as the backslash and the
      // character; the character is reread as ordinary text.
      out += '\\';
      --j;
      break;
    }
    if (!err.empty())
      return err;
  }
  return {};
}

/// Parses a non-empty string of decimal digits; values above `max` become
/// max + 1.
bool parseDecimal(std::string_view s, int64_t max, int64_t &value) {
  if (s.empty())
    return false;
  value = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    value = std::min(value * 10 + (c - '0'), max + 1);
  }
  return true;
}

std::string readFile(const std::string &path) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    fail(RWKV_ERROR_IO, path + ": cannot open: " + std::strerror(errno));
  std::string data;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0)
    data.append(buffer, n);
  bool error = std::ferror(f);
  int savedErrno = errno;
  std::fclose(f);
  if (error)
    fail(RWKV_ERROR_IO, path + ": read failed: " + std::strerror(savedErrno));
  return data;
}

} // namespace

std::unique_ptr<Tokenizer> Tokenizer::loadWorld(const std::string &path) {
  std::string data = readFile(path);
  std::unique_ptr<Tokenizer> tok(new Tokenizer());
  std::vector<int64_t> lineOf; // line defining each id, 0 if none
  std::string bytes;
  size_t lineNo = 0;

  for (size_t pos = 0; pos < data.size();) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos)
      nl = data.size();
    std::string_view line(data.data() + pos, nl - pos);
    pos = nl + 1;
    ++lineNo;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    auto bad = [&](const std::string &what) {
      fail(RWKV_ERROR_FORMAT,
           path + ":" + std::to_string(lineNo) + ": " + what);
    };

    size_t first = line.find(' '), last = line.rfind(' ');
    if (first == std::string_view::npos || first == last)
      bad("expected `<id> <literal> <byte length>`, got " +
          quotedName(line, 60));
    std::string_view idText = line.substr(0, first);
    std::string_view literal = line.substr(first + 1, last - first - 1);
    std::string_view lengthText = line.substr(last + 1);

    int64_t id, length;
    if (!parseDecimal(idText, kMaxId, id))
      bad("bad id " + quotedName(idText, 60) + " (expected a decimal integer)");
    if (id < 1 || id > kMaxId)
      bad("id " + std::string(idText) + " out of range (expected 1.." +
          std::to_string(kMaxId) + "; 0 is reserved for end of text)");
    if (!parseDecimal(lengthText, INT32_MAX, length))
      bad("bad byte length " + quotedName(lengthText, 60) +
          " (expected a decimal integer)");

    bytes.clear();
    std::string err = parseLiteral(literal, bytes);
    if (!err.empty())
      bad("cannot parse the literal " + quotedName(literal, 60) + ": " + err +
          " (expected a Python str or bytes literal such as 'ab' or "
          "b'\\xff')");
    if (static_cast<int64_t>(bytes.size()) != length)
      bad("byte length mismatch: the literal " + quotedName(literal, 60) +
          " has " + std::to_string(bytes.size()) + " bytes but the line says " +
          std::to_string(length));
    if (bytes.empty())
      bad("empty token (expected at least one byte)");

    if (id >= static_cast<int64_t>(lineOf.size())) {
      lineOf.resize(id + 1, 0);
      tok->offsets_.resize(id + 1, 0);
      tok->lengths_.resize(id + 1, -1);
    }
    if (lineOf[id] != 0)
      bad("duplicate id " + std::to_string(id) + " (first defined on line " +
          std::to_string(lineOf[id]) + ")");
    if (tok->blob_.size() + bytes.size() > UINT32_MAX)
      bad("the vocab is too large (over 4 GiB of token bytes)");
    lineOf[id] = static_cast<int64_t>(lineNo);
    tok->offsets_[id] = static_cast<uint32_t>(tok->blob_.size());
    tok->lengths_[id] = static_cast<int32_t>(bytes.size());
    tok->blob_ += bytes;
  }
  if (tok->offsets_.empty())
    fail(RWKV_ERROR_FORMAT, path + ": no tokens (expected lines `<id> "
                                   "<literal> <byte length>`)");
  tok->lengths_[0] = 0; // end of text

  std::vector<int32_t> sorted = tok->sortedIds();
  for (size_t i = 1; i < sorted.size(); ++i) {
    int32_t a = sorted[i - 1], b = sorted[i];
    if (tok->tokenBytes(a) == tok->tokenBytes(b)) {
      if (lineOf[a] > lineOf[b])
        std::swap(a, b);
      fail(RWKV_ERROR_FORMAT,
           path + ":" + std::to_string(lineOf[b]) + ": the bytes of id " +
               std::to_string(b) + " duplicate those of id " +
               std::to_string(a) + " on line " + std::to_string(lineOf[a]) +
               " (expected every token to be distinct)");
    }
  }
  tok->buildTrie(sorted);
  for (int b = 0; b < 256; ++b) {
    uint32_t node = tok->rootChild_[b];
    if (node == 0 || tok->nodes_[node].token < 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", b);
      fail(RWKV_ERROR_FORMAT, path + ": no token for byte " + hex +
                                  " (expected every single byte to be a "
                                  "token, so that any text encodes)");
    }
  }
  return tok;
}

std::unique_ptr<Tokenizer> Tokenizer::bytes(int32_t offset) {
  if (offset != 0 && offset != 1)
    fail(RWKV_ERROR_ARGUMENT,
         "byte tokenizer offset must be 0 or 1, got " + std::to_string(offset));
  std::unique_ptr<Tokenizer> tok(new Tokenizer());
  tok->offsets_.assign(256 + offset, 0);
  tok->lengths_.assign(256 + offset, 1);
  if (offset)
    tok->lengths_[0] = 0;
  for (int b = 0; b < 256; ++b) {
    tok->offsets_[b + offset] = static_cast<uint32_t>(b);
    tok->blob_ += static_cast<char>(b);
  }
  tok->buildTrie(tok->sortedIds());
  return tok;
}

std::vector<int32_t> Tokenizer::sortedIds() const {
  std::vector<int32_t> ids;
  for (size_t id = 0; id < lengths_.size(); ++id)
    if (lengths_[id] > 0)
      ids.push_back(static_cast<int32_t>(id));
  // string_view compares bytes as unsigned char, like the trie's edges.
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    return tokenBytes(a) < tokenBytes(b);
  });
  return ids;
}

void Tokenizer::buildTrie(const std::vector<int32_t> &sorted) {
  nodes_.assign(1, Node());
  edgeByte_.assign(1, 0);
  // Each step fills in one node from the run sorted[lo, hi) of tokens that
  // share its `depth`-byte prefix; a token equal to the prefix sorts first.
  struct Step {
    uint32_t node;
    size_t lo, hi, depth;
  };
  std::vector<Step> work{{0, 0, sorted.size(), 0}};
  while (!work.empty()) {
    Step s = work.back();
    work.pop_back();
    if (s.lo < s.hi && tokenBytes(sorted[s.lo]).size() == s.depth)
      nodes_[s.node].token = sorted[s.lo++];
    auto first = static_cast<uint32_t>(nodes_.size());
    for (size_t lo = s.lo; lo < s.hi;) {
      auto byte = static_cast<uint8_t>(tokenBytes(sorted[lo])[s.depth]);
      size_t hi = lo + 1;
      while (hi < s.hi &&
             static_cast<uint8_t>(tokenBytes(sorted[hi])[s.depth]) == byte)
        ++hi;
      work.push_back(
          {static_cast<uint32_t>(nodes_.size()), lo, hi, s.depth + 1});
      nodes_.emplace_back();
      edgeByte_.push_back(byte);
      lo = hi;
    }
    nodes_[s.node].first = first;
    nodes_[s.node].count = static_cast<uint32_t>(nodes_.size()) - first;
  }
  rootChild_.assign(256, 0);
  for (uint32_t c = nodes_[0].first; c < nodes_[0].first + nodes_[0].count; ++c)
    rootChild_[edgeByte_[c]] = c;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  const auto *p = reinterpret_cast<const uint8_t *>(text.data());
  size_t n = text.size();
  std::vector<int32_t> out;
  out.reserve(n / 3 + 1);
  for (size_t i = 0; i < n;) {
    int32_t best = -1;
    size_t bestEnd = i;
    uint32_t node = rootChild_[p[i]];
    for (size_t j = i + 1; node != 0; ++j) {
      const Node &nd = nodes_[node];
      if (nd.token >= 0) {
        best = nd.token;
        bestEnd = j;
      }
      if (j == n || nd.count == 0)
        break;
      const uint8_t *b = edgeByte_.data() + nd.first, *e = b + nd.count;
      const uint8_t *it = std::lower_bound(b, e, p[j]);
      node =
          it != e && *it == p[j] ? nd.first + static_cast<uint32_t>(it - b) : 0;
    }
    if (best < 0) // loadWorld and bytes() make every byte a token
      fail(RWKV_ERROR_INTERNAL,
           "tokenizer: no token for byte " + std::to_string(p[i]));
    out.push_back(best);
    i = bestEnd;
  }
  return out;
}

std::string_view Tokenizer::tokenBytes(int32_t id) const {
  if (id < 0 || id >= vocabSize() || lengths_[id] < 0)
    fail(RWKV_ERROR_ARGUMENT, "token id " + std::to_string(id) +
                                  " is not in the vocabulary (ids 0.." +
                                  std::to_string(vocabSize() - 1) + ")");
  return std::string_view(blob_.data() + offsets_[id],
                          static_cast<size_t>(lengths_[id]));
}

std::string Tokenizer::decode(const int32_t *ids, size_t n) const {
  size_t total = 0;
  for (size_t i = 0; i < n; ++i)
    total += tokenBytes(ids[i]).size();
  std::string out;
  out.reserve(total);
  for (size_t i = 0; i < n; ++i)
    out += tokenBytes(ids[i]);
  return out;
}

std::string Utf8Stream::push(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + held_);
  for (size_t i = 0; i < bytes.size();) {
    auto b = static_cast<uint8_t>(bytes[i]);
    if (held_ == 0) {
      ++i;
      int n = sequenceLength(b);
      if (n == 1) {
        out += static_cast<char>(b);
      } else if (n == 0) {
        out += kReplacement;
      } else {
        pending_[0] = static_cast<char>(b);
        held_ = 1;
        need_ = static_cast<uint8_t>(n);
      }
      continue;
    }
    if (!continues(static_cast<uint8_t>(pending_[0]), held_, b)) {
      // The held prefix is a maximal ill-formed subpart; `b` starts afresh.
      out += kReplacement;
      held_ = 0;
      continue;
    }
    pending_[held_++] = static_cast<char>(b);
    ++i;
    if (held_ == need_) {
      out.append(pending_, held_);
      held_ = 0;
    }
  }
  return out;
}

std::string Utf8Stream::finish() {
  if (held_ == 0)
    return {};
  held_ = 0;
  return kReplacement;
}

} // namespace rwkvrt
