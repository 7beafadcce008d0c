//===- Block.cpp - expressions and the fragment library -------------------===//

#include "importer/Block.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

using namespace mlir;
using namespace mlir::rwkv;

const char *const mlir::rwkv::kBlockNames[4] = {"embed", "time_mix",
                                                "channel_mix", "head"};

bool mlir::rwkv::isBlockName(StringRef name) {
  return llvm::is_contained(kBlockNames, name);
}

const ValueDef *BlockDef::find(StringRef name) const {
  for (const ValueDef &v : values)
    if (v.name == name)
      return &v;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Integer expressions
//===----------------------------------------------------------------------===//

namespace {

/// Recursive-descent evaluator; precedence from low to high:
/// ||, &&, comparisons, + -, * / %, unary - !.
class ExprParser {
public:
  ExprParser(StringRef text, const SizeEnv &env, std::string &why)
      : text(text), env(env), why(why) {}

  std::optional<int64_t> parse() {
    std::optional<int64_t> v = parseOr();
    skipSpace();
    if (v && pos != text.size())
      return fail("unexpected '" + text.substr(pos).str() + "'");
    return v;
  }

private:
  std::nullopt_t fail(const std::string &message) {
    if (why.empty())
      why = message;
    return std::nullopt;
  }
  void skipSpace() {
    while (pos < text.size() &&
           std::isspace(static_cast<unsigned char>(text[pos])))
      ++pos;
  }
  bool eat(StringRef token) {
    skipSpace();
    if (!text.substr(pos).starts_with(token))
      return false;
    pos += token.size();
    return true;
  }
  /// True when the next token is `token` and not the start of a longer
  /// operator (`<` is not `<=`).
  bool eatExact(StringRef token, StringRef notFollowedBy) {
    skipSpace();
    if (!text.substr(pos).starts_with(token))
      return false;
    if (pos + token.size() < text.size() &&
        notFollowedBy.contains(text[pos + token.size()]))
      return false;
    pos += token.size();
    return true;
  }

  std::optional<int64_t> parseOr() {
    std::optional<int64_t> lhs = parseAnd();
    while (lhs && eat("||")) {
      std::optional<int64_t> rhs = parseAnd();
      if (!rhs)
        return std::nullopt;
      lhs = (*lhs != 0 || *rhs != 0) ? 1 : 0;
    }
    return lhs;
  }
  std::optional<int64_t> parseAnd() {
    std::optional<int64_t> lhs = parseCompare();
    while (lhs && eat("&&")) {
      std::optional<int64_t> rhs = parseCompare();
      if (!rhs)
        return std::nullopt;
      lhs = (*lhs != 0 && *rhs != 0) ? 1 : 0;
    }
    return lhs;
  }
  std::optional<int64_t> parseCompare() {
    std::optional<int64_t> lhs = parseSum();
    if (!lhs)
      return std::nullopt;
    for (;;) {
      int which;
      if (eat("=="))
        which = 0;
      else if (eat("!="))
        which = 1;
      else if (eat("<="))
        which = 2;
      else if (eat(">="))
        which = 3;
      else if (eatExact("<", "="))
        which = 4;
      else if (eatExact(">", "="))
        which = 5;
      else
        return lhs;
      std::optional<int64_t> rhs = parseSum();
      if (!rhs)
        return std::nullopt;
      bool r = which == 0   ? *lhs == *rhs
               : which == 1 ? *lhs != *rhs
               : which == 2 ? *lhs <= *rhs
               : which == 3 ? *lhs >= *rhs
               : which == 4 ? *lhs < *rhs
                            : *lhs > *rhs;
      lhs = r ? 1 : 0;
    }
  }
  std::optional<int64_t> parseSum() {
    std::optional<int64_t> lhs = parseProduct();
    for (;;) {
      if (!lhs)
        return std::nullopt;
      bool plus;
      if (eat("+"))
        plus = true;
      else if (eat("-"))
        plus = false;
      else
        return lhs;
      std::optional<int64_t> rhs = parseProduct();
      if (!rhs)
        return std::nullopt;
      int64_t out;
      if (plus ? llvm::AddOverflow(*lhs, *rhs, out)
               : llvm::SubOverflow(*lhs, *rhs, out))
        return fail("the value overflows 64 bits");
      lhs = out;
    }
  }
  std::optional<int64_t> parseProduct() {
    std::optional<int64_t> lhs = parseUnary();
    for (;;) {
      if (!lhs)
        return std::nullopt;
      char op;
      if (eat("*"))
        op = '*';
      else if (eat("/"))
        op = '/';
      else if (eat("%"))
        op = '%';
      else
        return lhs;
      std::optional<int64_t> rhs = parseUnary();
      if (!rhs)
        return std::nullopt;
      if (op == '*') {
        int64_t out;
        if (llvm::MulOverflow(*lhs, *rhs, out))
          return fail("the value overflows 64 bits");
        lhs = out;
        continue;
      }
      if (*rhs == 0)
        return fail("division by zero");
      lhs = op == '/' ? *lhs / *rhs : *lhs % *rhs;
    }
  }
  std::optional<int64_t> parseUnary() {
    if (eat("-")) {
      std::optional<int64_t> v = parseUnary();
      if (!v)
        return std::nullopt;
      if (*v == INT64_MIN)
        return fail("the value overflows 64 bits");
      return -*v;
    }
    if (eatExact("!", "=")) {
      std::optional<int64_t> v = parseUnary();
      if (!v)
        return std::nullopt;
      return *v == 0 ? 1 : 0;
    }
    return parseAtom();
  }
  std::optional<int64_t> parseAtom() {
    skipSpace();
    if (pos >= text.size())
      return fail("expected a number, a size name or '('");
    if (eat("(")) {
      std::optional<int64_t> v = parseOr();
      if (!v)
        return std::nullopt;
      if (!eat(")"))
        return fail("expected ')'");
      return v;
    }
    char c = text[pos];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t start = pos;
      while (pos < text.size() &&
             std::isdigit(static_cast<unsigned char>(text[pos])))
        ++pos;
      uint64_t v;
      if (text.slice(start, pos).getAsInteger(10, v) || v > INT64_MAX)
        return fail("the number '" + text.slice(start, pos).str() +
                    "' does not fit in 64 bits");
      return static_cast<int64_t>(v);
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = pos;
      while (pos < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[pos])) ||
              text[pos] == '_' || text[pos] == '.'))
        ++pos;
      StringRef name = text.slice(start, pos);
      auto it = env.find(name);
      if (it == env.end()) {
        SmallVector<StringRef> names;
        for (const auto &entry : env)
          names.push_back(entry.getKey());
        llvm::sort(names);
        return fail("unknown size '" + name.str() +
                    "'; known sizes: " + llvm::join(names, ", "));
      }
      return it->second;
    }
    return fail(std::string("unexpected '") + c + "'");
  }

  StringRef text;
  const SizeEnv &env;
  std::string &why;
  size_t pos = 0;
};

} // namespace

std::optional<int64_t> mlir::rwkv::evalExpr(StringRef text, const SizeEnv &env,
                                            std::string &why) {
  why.clear();
  if (text.trim().empty()) {
    why = "the expression is empty";
    return std::nullopt;
  }
  return ExprParser(text, env, why).parse();
}

std::optional<std::string> mlir::rwkv::expandTemplate(StringRef tmpl,
                                                      const SizeEnv &env,
                                                      std::string &why) {
  std::string out;
  size_t pos = 0;
  while (pos < tmpl.size()) {
    size_t open = tmpl.find('{', pos);
    if (open == StringRef::npos) {
      out += tmpl.substr(pos).str();
      break;
    }
    out += tmpl.slice(pos, open).str();
    size_t close = tmpl.find('}', open);
    if (close == StringRef::npos) {
      why = "has an unterminated '{'";
      return std::nullopt;
    }
    StringRef field = tmpl.slice(open + 1, close);
    std::optional<int64_t> v = evalExpr(field, env, why);
    if (!v) {
      why = "{" + field.str() + "}: " + why;
      return std::nullopt;
    }
    if (*v < 0) {
      why = "{" + field.str() + "} is " + std::to_string(*v) +
            ", a negative index";
      return std::nullopt;
    }
    out += std::to_string(*v);
    pos = close + 1;
  }
  return out;
}

bool mlir::rwkv::templateUsesLayer(StringRef tmpl) {
  size_t pos = 0;
  while ((pos = tmpl.find('{', pos)) != StringRef::npos) {
    size_t close = tmpl.find('}', pos);
    if (close == StringRef::npos)
      return false;
    StringRef field = tmpl.slice(pos + 1, close);
    // `layer` as a whole word.
    for (size_t at = field.find("layer"); at != StringRef::npos;
         at = field.find("layer", at + 1)) {
      auto isWord = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      };
      bool before = at == 0 || !isWord(field[at - 1]);
      bool after = at + 5 >= field.size() || !isWord(field[at + 5]);
      if (before && after)
        return true;
    }
    pos = close + 1;
  }
  return false;
}

//===----------------------------------------------------------------------===//
// The fragment library (specs/library/*.toml, embedded at build time)
//===----------------------------------------------------------------------===//

namespace {
struct Fragment {
  const char *name;
  const char *text;
};
#include "importer/LibraryFragments.inc"
} // namespace

const char *mlir::rwkv::libraryFragment(StringRef name) {
  for (const Fragment &f : kFragments)
    if (name == f.name)
      return f.text;
  return nullptr;
}

std::vector<std::string> mlir::rwkv::libraryFragmentNames() {
  std::vector<std::string> names;
  for (const Fragment &f : kFragments)
    names.push_back(f.name);
  std::sort(names.begin(), names.end());
  return names;
}

//===----------------------------------------------------------------------===//
// Resolution of a block for one layer
//===----------------------------------------------------------------------===//

namespace {

class Resolver {
public:
  Resolver(const BlockDef &block, const SizeEnv &env,
           std::optional<int64_t> layer, ResolvedBlock &out,
           llvm::function_ref<InFlightDiagnostic(Location)> error)
      : block(block), env(env), layer(layer), out(out), error(error) {}

  LogicalResult run();

private:
  std::string inLayer() const {
    return layer ? " in layer " + std::to_string(*layer) : std::string();
  }
  /// Whether `v` is present in this layer.
  FailureOr<bool> present(const ValueDef &v);
  /// Resolves `name` as used by `user`.
  FailureOr<ValueRef> resolve(StringRef name, const ValueDef *user, Location at,
                              unsigned depth = 0);
  LogicalResult use(StringRef name, const ValueDef *user, Location at);

  const BlockDef &block;
  const SizeEnv &env;
  std::optional<int64_t> layer;
  ResolvedBlock &out;
  llvm::function_ref<InFlightDiagnostic(Location)> error;
  std::map<const ValueDef *, bool> presence;
  std::set<const ValueDef *> live;
  std::vector<const ValueDef *> worklist;
};

FailureOr<bool> Resolver::present(const ValueDef &v) {
  auto it = presence.find(&v);
  if (it != presence.end())
    return it->second;
  bool here = true;
  if (!v.when.empty()) {
    std::string why;
    std::optional<int64_t> c = evalExpr(v.when, env, why);
    if (!c) {
      error(v.loc) << "'when = \"" << v.when << "\"' of '" << v.name
                   << "': " << why << inLayer();
      return failure();
    }
    here = *c != 0;
  }
  presence[&v] = here;
  return here;
}

FailureOr<ValueRef> Resolver::resolve(StringRef name, const ValueDef *user,
                                      Location at, unsigned depth) {
  if (depth > 64) {
    error(at) << "'" << name << "': 'otherwise' aliases form a loop";
    return failure();
  }
  if (const ValueDef *v = block.find(name)) {
    FailureOr<bool> here = present(*v);
    if (failed(here))
      return failure();
    if (*here)
      return ValueRef{v, "", ""};
    if (!v->otherwise.empty())
      return resolve(v->otherwise, user, at, depth + 1);
    error(at) << "'" << (user ? user->name : std::string("the block"))
              << "' uses '" << name << "', which is absent" << inLayer()
              << " (when = \"" << v->when
              << "\"; give it an 'otherwise' or make the user absent too)";
    return failure();
  }
  if (name == "h" && block.name == "embed") {
    error(at) << "'" << (user ? user->name : std::string("the block"))
              << "' uses 'h', but block 'embed' makes the residual stream: "
                 "its input is 'tokens'";
    return failure();
  }
  if (name == "h" || name == "tokens")
    return ValueRef{nullptr, name.str(), ""};
  // `value.result` names one result of a multi-result op.
  auto [base, result] = name.rsplit('.');
  if (!result.empty() && !base.empty()) {
    if (const ValueDef *v = block.find(base)) {
      FailureOr<ValueRef> r = resolve(base, user, at, depth + 1);
      if (failed(r))
        return failure();
      if (!r->result.empty() || !r->def || r->def->kind != ValueKind::Op) {
        error(at) << "'" << name << "': '" << base
                  << "' is not an op with named results";
        return failure();
      }
      (void)v;
      r->result = result.str();
      return r;
    }
  }
  std::vector<std::string> names{"h", "tokens"};
  for (const ValueDef &v : block.values)
    names.push_back(v.name);
  error(at) << "'" << (user ? user->name : std::string("the block"))
            << "' uses '" << name << "', which is not defined in block '"
            << block.name << "'; its values are: " << llvm::join(names, ", ");
  return failure();
}

LogicalResult Resolver::use(StringRef name, const ValueDef *user, Location at) {
  FailureOr<ValueRef> r = resolve(name, user, at);
  if (failed(r))
    return failure();
  out.refs[name.str()] = *r;
  if (r->def) {
    if (live.insert(r->def).second)
      worklist.push_back(r->def);
  } else if (!llvm::is_contained(out.builtins, r->builtin)) {
    out.builtins.push_back(r->builtin);
  }
  return success();
}

LogicalResult Resolver::run() {
  // Roots: the outputs present in this layer.
  std::vector<std::pair<std::string, const ValueDef *>> outputs;
  for (const ValueDef &v : block.values) {
    if (v.output.empty())
      continue;
    FailureOr<bool> here = present(v);
    if (failed(here))
      return failure();
    // Where an output is absent, its `otherwise` value (if any) is returned
    // under its name: a layer-conditional last step (`when`) of the stream.
    if (!*here && v.otherwise.empty())
      continue;
    for (auto &[name, other] : outputs)
      if (name == v.output) {
        error(v.loc) << "'" << v.name << "' and '" << other->name
                     << "' are both output '" << name << "'" << inLayer();
        return failure();
      }
    outputs.emplace_back(v.output, &v);
    if (failed(use(v.name, nullptr, v.loc)))
      return failure();
  }
  // Everything they need, and the next value of every state that is used.
  while (!worklist.empty()) {
    const ValueDef *v = worklist.back();
    worklist.pop_back();
    if (v->kind == ValueKind::Op) {
      for (const std::string &arg : v->args)
        if (failed(use(arg, v, v->loc)))
          return failure();
    } else if (v->kind == ValueKind::State) {
      if (failed(use(v->next, v, v->loc)))
        return failure();
    }
  }
  // Outputs in a fixed order: the residual stream (or logits) first.
  llvm::stable_sort(outputs, [](auto &a, auto &b) {
    auto rank = [](const std::string &n) {
      return n == "h" || n == "logits" ? 0 : 1;
    };
    return rank(a.first) < rank(b.first);
  });
  for (auto &[name, v] : outputs)
    out.outputs.emplace_back(name, out.refs.at(v->name));

  // Topological order of the live ops; ties in declaration order. A state's
  // value is its input (the state before the block), so `next` adds no edge.
  std::vector<const ValueDef *> ops;
  for (const ValueDef &v : block.values) {
    if (!live.count(&v))
      continue;
    out.live.push_back(&v);
    switch (v.kind) {
    case ValueKind::Op:
      ops.push_back(&v);
      break;
    case ValueKind::Param:
      out.params.push_back(&v);
      break;
    case ValueKind::State:
      out.states.push_back(&v);
      break;
    case ValueKind::Input:
      out.inputs.push_back(&v);
      break;
    }
  }
  std::set<const ValueDef *> done;
  while (out.ops.size() < ops.size()) {
    bool progress = false;
    for (const ValueDef *v : ops) {
      if (done.count(v))
        continue;
      bool ready = llvm::all_of(v->args, [&](const std::string &arg) {
        const ValueRef &r = out.refs.at(arg);
        return !r.def || r.def->kind != ValueKind::Op || done.count(r.def);
      });
      if (!ready)
        continue;
      done.insert(v);
      out.ops.push_back(v);
      progress = true;
      break; // restart: the earliest-declared ready value goes first
    }
    if (!progress) {
      std::vector<std::string> cycle;
      for (const ValueDef *v : ops)
        if (!done.count(v))
          cycle.push_back(v->name);
      const ValueDef *first = nullptr;
      for (const ValueDef *v : ops)
        if (!done.count(v)) {
          first = v;
          break;
        }
      error(first->loc) << "the values " << llvm::join(cycle, ", ")
                        << " depend on each other in a cycle" << inLayer()
                        << " (a value cannot use itself; recurrences go "
                           "through a state)";
      return failure();
    }
  }
  return success();
}

} // namespace

LogicalResult mlir::rwkv::resolveBlock(
    const BlockDef &block, const SizeEnv &env, std::optional<int64_t> layer,
    ResolvedBlock &out,
    llvm::function_ref<InFlightDiagnostic(Location)> error) {
  out = ResolvedBlock();
  return Resolver(block, env, layer, out, error).run();
}
