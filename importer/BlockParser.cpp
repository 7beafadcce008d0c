//===- BlockParser.cpp - TOML tables of the block language ----------------===//

#include "importer/BlockParser.h"
#include "importer/Spec.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/YAMLParser.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::rwkv;

namespace {

/// How TOML writes a non-finite float.
const char *nonFinite(double x) {
  return std::isnan(x) ? "nan" : x > 0 ? "inf" : "-inf";
}

class ValueParser {
public:
  ValueParser(StringRef tableName, StringRef path,
              std::optional<Location> useLoc, MLIRContext *ctx)
      : tableName(tableName), path(path), useLoc(useLoc), ctx(ctx) {}

  bool failed = false;

  Location at(const toml::source_region &region) {
    if (useLoc)
      return *useLoc;
    return FileLineColLoc::get(ctx, path, region.begin.line,
                               region.begin.column);
  }
  InFlightDiagnostic error(const toml::source_region &region) {
    failed = true;
    return emitError(at(region));
  }

  std::optional<std::string> string(const toml::node &node, StringRef what) {
    if (auto s = node.as_string())
      return s->get();
    error(node.source()) << what << " must be a string, got "
                         << tomlTypeName(node);
    return std::nullopt;
  }
  std::optional<std::vector<std::string>>
  strings(const toml::node &node, StringRef what, bool integers = true) {
    const toml::array *array = node.as_array();
    if (!array) {
      error(node.source()) << what << " must be an array of strings, got "
                           << tomlTypeName(node);
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (const toml::node &item : *array) {
      if (auto s = item.as_string()) {
        out.push_back(s->get());
      } else if (auto i = item.as_integer(); i && integers) {
        out.push_back(std::to_string(i->get()));
      } else {
        error(item.source())
            << what << " must hold "
            << (integers ? "strings (or integers)" : "value names (strings)")
            << ", got " << tomlTypeName(item);
        return std::nullopt;
      }
    }
    return out;
  }
  std::optional<double> number(const toml::node &node, StringRef what) {
    if (auto f = node.as_floating_point()) {
      if (std::isfinite(f->get()))
        return f->get();
      error(node.source()) << what << " must be a finite number, got "
                           << nonFinite(f->get());
      return std::nullopt;
    }
    if (auto i = node.as_integer())
      return static_cast<double>(i->get());
    error(node.source()) << what << " must be a number, got "
                         << tomlTypeName(node);
    return std::nullopt;
  }
  std::optional<bool> boolean(const toml::node &node, StringRef what) {
    if (auto b = node.as_boolean())
      return b->get();
    error(node.source()) << what << " must be a boolean, got "
                         << tomlTypeName(node);
    return std::nullopt;
  }
  std::optional<AttrScalar> scalar(const toml::node &node, StringRef what) {
    if (auto i = node.as_integer())
      return AttrScalar(i->get());
    if (auto f = node.as_floating_point()) {
      if (std::isfinite(f->get()))
        return AttrScalar(f->get());
      error(node.source()) << what << " must be a finite number, got "
                           << nonFinite(f->get());
      return std::nullopt;
    }
    if (auto b = node.as_boolean())
      return AttrScalar(b->get());
    if (auto s = node.as_string())
      return AttrScalar(s->get());
    error(node.source()) << what << " must be a number, boolean or string, got "
                         << tomlTypeName(node);
    return std::nullopt;
  }

  std::optional<ValueDef> value(StringRef name, const toml::node &node,
                                const toml::source_region &keyRegion);

private:
  StringRef tableName, path;
  std::optional<Location> useLoc;
  MLIRContext *ctx;
};

std::optional<ValueDef> ValueParser::value(StringRef name,
                                           const toml::node &node,
                                           const toml::source_region &region) {
  std::string where = "'" + tableName.str() + "." + name.str() + "'";
  const toml::table *t = node.as_table();
  if (t && !t->empty() &&
      std::all_of(t->begin(), t->end(),
                  [](auto &&entry) { return entry.second.is_table(); }) &&
      !t->contains("op") && !t->contains("param")) {
    error(region) << where
                  << " is a table of tables; a value name with a dot must be "
                     "quoted (\""
                  << name << ".…\" = { ... })";
    return std::nullopt;
  }
  if (!t) {
    error(region) << where
                  << " must be a table such as { op = \"...\", args = [...] }, "
                     "{ param = \"...\", shape = [...] }, { state = [...], "
                     "next = \"...\" } or { input = [...] }, got "
                  << tomlTypeName(node);
    return std::nullopt;
  }
  // Names are what args refer to: letters, digits, '_' and '.' (a dot
  // separates a library prefix or names an op's result).
  auto nameChar = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  };
  if (name.empty() || !llvm::all_of(name, nameChar) || name.front() == '.' ||
      name.back() == '.' || name.contains("..")) {
    error(region) << "value name \"" << llvm::yaml::escape(name) << "\" in '"
                  << tableName
                  << "' must be letters, digits, '_' and '.' (not first, "
                     "last or doubled)";
    return std::nullopt;
  }
  if (name == "h" || name == "tokens") {
    error(region) << where << ": '" << name
                  << "' is a built-in input of every block ("
                  << (name == "h" ? "the residual stream" : "the token ids")
                  << "); give the value another name";
    return std::nullopt;
  }
  ValueDef v;
  v.name = name.str();
  v.loc = NameLoc::get(StringAttr::get(ctx, name), at(region));
  int kinds = 0;
  for (auto [key, kind] :
       {std::pair<const char *, ValueKind>{"op", ValueKind::Op},
        {"param", ValueKind::Param},
        {"state", ValueKind::State},
        {"input", ValueKind::Input}})
    if (t->contains(key)) {
      v.kind = kind;
      ++kinds;
    }
  if (kinds != 1) {
    error(region) << where
                  << (kinds == 0 ? " needs one of the keys op, param, state or "
                                   "input"
                                 : " has more than one of the keys op, param, "
                                   "state and input");
    return std::nullopt;
  }
  static const std::vector<StringRef> common = {"when", "otherwise",
                                                "override"};
  std::vector<StringRef> allowed = common;
  switch (v.kind) {
  case ValueKind::Op:
    break; // other keys are the op's attributes
  case ValueKind::Param:
    allowed.insert(allowed.end(), {"param", "shape", "transpose", "index",
                                   "stored_as", "projection", "init"});
    break;
  case ValueKind::State:
    allowed.insert(allowed.end(), {"state", "next", "init", "max_tokens"});
    break;
  case ValueKind::Input:
    allowed.insert(allowed.end(), {"input"});
    break;
  }
  for (auto &&[k, item] : *t) {
    StringRef key = k.str();
    std::string what = where + "." + key.str();
    if (key == "when") {
      if (auto s = string(item, what))
        v.when = *s;
    } else if (key == "otherwise") {
      if (auto s = string(item, what))
        v.otherwise = *s;
    } else if (key == "override") {
      if (auto b = boolean(item, what))
        v.override = *b;
    } else if (v.kind == ValueKind::Op) {
      if (key == "op") {
        if (auto s = string(item, what))
          v.op = *s;
      } else if (key == "args") {
        if (auto s = strings(item, what, /*integers=*/false))
          v.args = *s;
      } else if (key == "output") {
        if (auto s = string(item, what))
          v.output = *s;
      } else {
        AttrValue attr;
        attr.loc = at(k.source());
        if (const toml::array *array = item.as_array()) {
          attr.isArray = true;
          for (const toml::node &e : *array)
            if (auto s = scalar(e, what))
              attr.items.push_back(*s);
        } else if (auto s = scalar(item, what)) {
          attr.items.push_back(*s);
        }
        v.attrs.emplace(key.str(), std::move(attr));
      }
    } else if (!llvm::is_contained(allowed, key)) {
      error(k.source()) << "unknown key '" << key << "' in " << where
                        << "; expected one of: " << llvm::join(allowed, ", ");
    } else if (key == "param") {
      if (auto s = string(item, what))
        v.bindingName = *s;
    } else if (key == "shape" || key == "state" || key == "input") {
      if (auto s = strings(item, what))
        v.shape = *s;
    } else if (key == "transpose") {
      if (auto b = boolean(item, what))
        v.transpose = *b;
    } else if (key == "projection") {
      if (auto b = item.as_boolean())
        v.projection = b->get() ? "linear" : "";
      else if (auto s = item.as_string();
               s && (s->get() == "lora" || s->get() == "head"))
        v.projection = s->get();
      else
        error(item.source()) << what
                             << " must be true, false, \"lora\" (a LoRA "
                                "factor, read in precision.lora) or \"head\" "
                                "(read in precision.head)";
    } else if (key == "index") {
      if (auto i = item.as_integer(); i && i->get() >= 0)
        v.index = i->get();
      else
        error(item.source()) << what << " must be an integer >= 0";
    } else if (key == "stored_as") {
      if (auto s = string(item, what)) {
        if (!storedAsNamed(*s))
          error(item.source()) << what << " = \"" << *s
                               << "\" is not one of raw, exp, neg_exp, "
                                  "exp_neg_exp";
        v.storedAs = *s;
      }
    } else if (key == "next") {
      if (auto s = string(item, what))
        v.next = *s;
    } else if (key == "max_tokens") {
      if (auto i = item.as_integer()) {
        if (i->get() <= 0 || i->get() > (int64_t{1} << 24))
          error(item.source())
              << what << " is " << i->get()
              << "; it must be in [1, 2^24] (the count is kept exactly in f32)";
        v.maxTokens = std::to_string(i->get());
      } else if (auto s = string(item, what))
        v.maxTokens = *s;
    } else if (key == "init" && v.kind == ValueKind::State) {
      if (auto d = number(item, what))
        v.stateInit = *d;
    } else if (key == "init") {
      if (auto s = item.as_string(); s && s->get() == "matrix") {
        v.init = {}; // the default for a matrix: ±1/sqrt(in)
      } else if (const toml::array *array = item.as_array();
                 array && (array->size() == 1 || array->size() == 2)) {
        for (const toml::node &e : *array)
          if (auto d = number(e, what))
            v.init.push_back(*d);
      } else {
        error(item.source())
            << what << " must be [lo, hi], [constant] or \"matrix\"";
      }
    }
  }
  if (!v.otherwise.empty() && v.when.empty())
    error(region) << where << " has 'otherwise = \"" << v.otherwise
                  << "\"' but no 'when'; 'otherwise' is what the name means "
                     "in the layers 'when' excludes";
  if (v.kind == ValueKind::Op && v.op.empty() && !failed)
    error(region) << where << ".op must name an op";
  if (v.kind == ValueKind::Param && !t->contains("shape"))
    error(region) << where << " declares a parameter without a shape";
  if (v.kind == ValueKind::Param && v.bindingName.empty() && !failed)
    error(region) << where
                  << " declares a parameter without a checkpoint binding: "
                     "param = \"<tensor name template>\" (e.g. "
                     "\"blocks.{layer}.att.key.weight\")";
  if (v.kind == ValueKind::State && v.next.empty())
    error(region) << where
                  << " declares a state without 'next' (the value it holds "
                     "after the block)";
  return v;
}

} // namespace

bool mlir::rwkv::parseBlockValues(const toml::table &table, StringRef tableName,
                                  StringRef path,
                                  std::optional<Location> useLoc,
                                  ArrayRef<StringRef> skip, MLIRContext *ctx,
                                  std::vector<ValueDef> &out, unsigned &order) {
  ValueParser parser(tableName, path, useLoc, ctx);
  // The declaration order is the source order.
  for (auto [key, node] : inSourceOrder(table))
    if (!llvm::is_contained(skip, StringRef(key->str())))
      if (std::optional<ValueDef> v =
              parser.value(key->str(), *node, key->source())) {
        v->order = order++;
        out.push_back(std::move(*v));
      }
  return !parser.failed;
}
