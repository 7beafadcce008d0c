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
#include <toml++/toml.h>

#include <algorithm>
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
