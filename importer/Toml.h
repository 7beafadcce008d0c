//===- Toml.h - toml++ with the project's configuration ---------*- C++ -*-===//
//
// Every translation unit that parses TOML includes toml++ through this
// header, so all of them agree on its configuration (header-only, no
// exceptions, no formatters).
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_IMPORTER_TOML_H
#define RWKV_IMPORTER_TOML_H

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#define TOML_ENABLE_FORMATTERS 0
// toml++ turns its internal assertions into __builtin_assume in release
// builds, and one of them is false on hostile input (a table header such as
// `[, x]` reaches the key parser with ','; found by test/fuzz/spec-fuzzer):
// the optimizer may then drop the code that reports the error. Its
// assertions become no-ops instead, so the parser's own error paths stay.
#include <toml++/impl/preprocessor.h>
#undef TOML_ASSUME
#define TOML_ASSUME(...) static_cast<void>(0)
#include <toml++/toml.h>

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

namespace mlir {
namespace rwkv {

/// "a table", "an integer", ...: what a TOML node is, for messages.
inline const char *tomlTypeName(const toml::node &node) {
  switch (node.type()) {
  case toml::node_type::table:
    return "a table";
  case toml::node_type::array:
    return "an array";
  case toml::node_type::string:
    return "a string";
  case toml::node_type::integer:
    return "an integer";
  case toml::node_type::floating_point:
    return "a float";
  case toml::node_type::boolean:
    return "a boolean";
  default:
    return "a date/time";
  }
}

/// Where a TOML text has a byte >= 0x80 outside strings and comments (line
/// and column from 1), or {0, 0}. TOML 1.0 allows non-ASCII characters only
/// there, and toml++ 3.3 reaches __builtin_unreachable() on some of them in
/// whitespace positions (test/fuzz/spec-fuzzer found U+00A1 after `{`), so
/// such text is refused before toml++ sees it.
inline std::pair<unsigned, unsigned>
findNonAsciiOutsideStrings(std::string_view text) {
  unsigned line = 1, column = 1;
  size_t i = 0;
  auto advance = [&] {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    ++i;
  };
  auto at = [&](std::string_view s) { return text.substr(i, s.size()) == s; };
  while (i < text.size()) {
    char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80)
      return {line, column};
    if (c == '#') {
      while (i < text.size() && text[i] != '\n')
        advance();
    } else if (at("\"\"\"") || at("'''")) {
      std::string_view close = text.substr(i, 3);
      for (int k = 0; k < 3; ++k)
        advance();
      while (i < text.size() && !at(close)) {
        if (close[0] == '"' && text[i] == '\\' && i + 1 < text.size())
          advance();
        advance();
      }
      for (int k = 0; k < 3 && i < text.size(); ++k)
        advance();
    } else if (c == '"' || c == '\'') {
      advance();
      while (i < text.size() && text[i] != c && text[i] != '\n') {
        if (c == '"' && text[i] == '\\' && i + 1 < text.size())
          advance();
        advance();
      }
      if (i < text.size() && text[i] == c)
        advance();
    } else {
      advance();
    }
  }
  return {0, 0};
}

/// The entries of `table` in the order they are written in the file
/// (toml++ keeps keys sorted by name).
inline std::vector<std::pair<const toml::key *, const toml::node *>>
inSourceOrder(const toml::table &table) {
  std::vector<std::pair<const toml::key *, const toml::node *>> entries;
  for (auto &&[key, node] : table)
    entries.emplace_back(&key, &node);
  std::stable_sort(entries.begin(), entries.end(), [](auto &a, auto &b) {
    const auto &x = a.first->source().begin, &y = b.first->source().begin;
    return x.line != y.line ? x.line < y.line : x.column < y.column;
  });
  return entries;
}

} // namespace rwkv
} // namespace mlir

#endif // RWKV_IMPORTER_TOML_H
