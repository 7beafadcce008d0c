//===- Importer.cpp - build rwkv IR from a spec's blocks ------------------===//
//
// One path: every block of the spec (written in the block language, or
// chosen from the fragment library by the menu keys) is resolved per layer,
// layers that resolve alike share one function ("block kind"), and each
// value becomes the ops of its `op` in a topological order.
//
//===----------------------------------------------------------------------===//

#include "importer/Importer.h"

#include "dialect/RwkvDialect.h"
#include "dialect/RwkvOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <map>
#include <set>

using namespace mlir;
using namespace mlir::rwkv;

namespace {

/// What the importer knows about one op of the language: its operand count
/// (from `minArgs` to `maxArgs`; 64 means "at least minArgs"), its result
/// names (one unnamed result when empty) and its attributes.
struct OpInfo {
  const char *name;
  unsigned minArgs, maxArgs;
  std::vector<const char *> results;
  std::vector<const char *> attrs;
  const char *operands; ///< operand names, for messages
};

const std::vector<OpInfo> &opTable() {
  static const std::vector<OpInfo> table = {
      {"id", 1, 1, {}, {}, "x"},
      {"add", 2, 2, {}, {}, "a, b"},
      {"sub", 2, 2, {}, {}, "a, b"},
      {"mul", 2, 2, {}, {}, "a, b"},
      {"div", 2, 2, {}, {}, "a, b"},
      {"neg", 1, 1, {}, {}, "x"},
      {"exp", 1, 1, {}, {}, "x"},
      {"log", 1, 1, {}, {}, "x"},
      {"scale", 1, 1, {}, {"by"}, "x"},
      {"sigmoid", 1, 1, {}, {}, "x"},
      {"tanh", 1, 1, {}, {}, "x"},
      {"relu_square", 1, 1, {}, {}, "x"},
      {"silu", 1, 1, {}, {}, "x"},
      {"relu", 1, 1, {}, {}, "x"},
      {"softplus", 1, 1, {}, {}, "x"},
      {"mish", 1, 1, {}, {}, "x"},
      {"gelu", 1, 1, {}, {}, "x"},
      {"broadcast", 2, 2, {}, {}, "vector, like"},
      {"heads_to_channels", 1, 1, {}, {}, "per_head"},
      {"as_form", 1, 1, {}, {"form"}, "parameter"},
      {"last_token", 1, 1, {}, {}, "x"},
      {"embedding", 2, 2, {}, {}, "tokens, table"},
      {"lookup", 2, 2, {}, {}, "tokens, table"},
      {"layer_norm", 3, 3, {}, {"eps"}, "x, weight, bias"},
      {"rms_norm", 2, 2, {}, {"eps"}, "x, weight"},
      {"group_norm", 3, 3, {}, {"groups", "eps"}, "x, weight, bias"},
      {"l2_norm", 1, 1, {}, {"group", "eps"}, "x"},
      {"token_shift", 2, 2, {"shifted", "last"}, {}, "x, state"},
      {"lerp", 3, 3, {}, {}, "a, b, mu"},
      {"ddlerp", 6, 64, {}, {}, "x, shifted, mu_x, w1, w2, mu..."},
      {"linear", 2, 3, {}, {}, "x, weight[, bias]"},
      {"bias_add", 2, 2, {}, {}, "x, bias"},
      {"lora", 3, 4, {}, {"inner", "outer"}, "x, down, up[, bias]"},
      {"decay", 1, 1, {}, {"kind"}, "z"},
      {"wkv4", 7, 7, {"y", "a", "b", "p"}, {}, "k, v, w, u, a, b, p"},
      {"wkv5", 6, 6, {"y", "state"}, {}, "r, w, k, v, u, state"},
      {"wkv7", 7, 7, {"y", "state"}, {}, "r, w, k, v, a, b, state"},
      {"wkv7_bonus", 4, 4, {}, {}, "r, k, v, r_k"},
      {"reshape", 1, 1, {}, {"shape"}, "x"},
      {"einsum", 1, 3, {}, {"equation"}, "a[, b[, c]]"},
      {"causal_attention",
       6,
       6,
       {"y", "k", "v", "count"},
       {"scale"},
       "q, k, v, cache_k, cache_v, count"},
  };
  return table;
}

const OpInfo *findOp(StringRef name) {
  for (const OpInfo &op : opTable())
    if (name == op.name)
      return &op;
  return nullptr;
}

/// Collects a function signature with role attributes, then builds the body.
struct Signature {
  SmallVector<Type> argTypes, resultTypes;
  SmallVector<DictionaryAttr> argAttrs, resultAttrs;
};

std::string shapeString(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  if (!t)
    return "a non-tensor";
  std::string out = "[";
  for (int64_t d = 0; d < t.getRank(); ++d) {
    if (d)
      out += ", ";
    // Activations are [batch, tokens, ...].
    if (t.isDynamicDim(d))
      out += d == 0 ? "batch" : "tokens";
    else
      out += std::to_string(t.getDimSize(d));
  }
  return out + "]";
}

class Importer {
public:
  Importer(const Spec &spec, MLIRContext *ctx, const ImportOptions &options)
      : spec(spec), ctx(ctx), builder(ctx), options(options) {}

  OwningOpRef<ModuleOp> run();

private:
  Type f32() { return builder.getF32Type(); }
  RankedTensorType act(int64_t width, int64_t tokens) {
    return RankedTensorType::get({ShapedType::kDynamic, tokens, width}, f32());
  }
  RankedTensorType act(int64_t width) { return act(width, t); }
  RankedTensorType paramType(const ParamInfo &p) {
    Type element = p.dtype == "bf16" ? Type(builder.getBF16Type()) : f32();
    return RankedTensorType::get(p.shape, element);
  }
  const ParamInfo &param(StringRef name) {
    for (const ParamInfo &p : spec.parameters())
      if (p.name == name)
        return p;
    llvm_unreachable("parameter missing from the catalog");
  }
  InFlightDiagnostic error(Location at) {
    hadError = true;
    return emitError(at);
  }

  Value emptyLike(Value like, Location loc);
  Value broadcastLike(Value vec, Value like, Location loc);
  Value headsToChannels(Value perHead, Location loc);
  Value paramAs(const ValueDef &p, Value stored, StoredAs wanted, Location loc);
  Value lora(Value x, Value down, Value up, Value bias, Activation inner,
             Activation outer, Location loc);

  /// The Value a name refers to in the function being built.
  Value lookup(const ValueRef &ref);
  /// Why `ref` names no result of its op, for messages.
  std::string noSuchResult(const ValueRef &ref);
  /// Where a value came from, for messages: "'k' (linear at file:3:1)".
  std::string describe(StringRef name);
  /// Builds the ops of one value; false after an error.
  bool emit(const ValueDef &v);
  /// Reads attribute `key` of `v` as a float: a number, or the name of a
  /// spec epsilon ("layer_norm_eps", "group_norm_eps").
  std::optional<float> floatAttr(const ValueDef &v, StringRef key,
                                 std::optional<float> fallback);
  std::optional<int64_t> sizeAttr(const ValueDef &v, StringRef key,
                                  std::optional<int64_t> fallback);
  std::optional<std::string> stringAttr(const ValueDef &v, StringRef key,
                                        std::optional<std::string> fallback);
  std::optional<Activation> activationAttr(const ValueDef &v, StringRef key);

  /// Reads attribute `key` of `v` as a list of positive size expressions.
  std::optional<std::vector<int64_t>> shapeAttr(const ValueDef &v,
                                                StringRef key);
  /// Reinterprets the per-token part of activation `x` as `shape`.
  Value reshapePerToken(Value x, ArrayRef<int64_t> shape, Location loc);
  /// Builds an `einsum` value (null after an error).
  Value einsum(const ValueDef &v, ArrayRef<Value> in);

  void buildBlock(const BlockDef &block, StringRef name,
                  ArrayRef<unsigned> layers, const ResolvedBlock &resolved);

  const Spec &spec;
  MLIRContext *ctx;
  OpBuilder builder;
  ImportOptions options;
  bool hadError = false;
  /// Tokens per call of the form being built: 1, or dynamic.
  int64_t t = 1;
  /// "" for the recurrent form, "_parallel" for the parallel one.
  std::string suffix;
  /// Building the head over every token (head_all).
  bool allTokens = false;
  ModuleOp module;

  // The function being built.
  const ResolvedBlock *current = nullptr;
  SizeEnv env;
  std::map<const ValueDef *, SmallVector<Value>> built;
  std::map<std::string, Value> builtins;
};

Value Importer::emptyLike(Value like, Location loc) {
  auto type = cast<RankedTensorType>(like.getType());
  SmallVector<Value> dynamic;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamic.push_back(tensor::DimOp::create(builder, loc, like, d));
  return tensor::EmptyOp::create(builder, loc, type, dynamic);
}

Value Importer::broadcastLike(Value vec, Value like, Location loc) {
  Value init = emptyLike(like, loc);
  return linalg::BroadcastOp::create(builder, loc, vec, init,
                                     ArrayRef<int64_t>{0, 1})
      ->getResult(0);
}

Value Importer::headsToChannels(Value perHead, Location loc) {
  const int64_t h = spec.numHeads(), n = spec.headSize;
  Value init =
      tensor::EmptyOp::create(builder, loc, ArrayRef<int64_t>{h, n}, f32());
  Value grid = linalg::BroadcastOp::create(builder, loc, perHead, init,
                                           ArrayRef<int64_t>{1})
                   ->getResult(0);
  return tensor::CollapseShapeOp::create(
      builder, loc, grid, SmallVector<ReassociationIndices>{{0, 1}});
}

Value Importer::paramAs(const ValueDef &p, Value stored, StoredAs wanted,
                        Location loc) {
  StoredAs have = param(p.name).binding.storedAs;
  auto neg = [&](Value v) -> Value {
    return arith::NegFOp::create(builder, loc, v);
  };
  auto exp = [&](Value v) -> Value {
    return math::ExpOp::create(builder, loc, v);
  };
  auto log = [&](Value v) -> Value {
    return math::LogOp::create(builder, loc, v);
  };
  if (have == wanted)
    return stored;
  // Back to the raw parameter p ...
  Value raw = stored;
  switch (have) {
  case StoredAs::Raw:
    break;
  case StoredAs::Exp:
    raw = log(stored);
    break;
  case StoredAs::NegExp:
    raw = log(neg(stored));
    break;
  case StoredAs::ExpNegExp:
    raw = log(neg(log(stored)));
    break;
  }
  // ... then forward to the wanted function of it.
  switch (wanted) {
  case StoredAs::Raw:
    return raw;
  case StoredAs::Exp:
    return exp(raw);
  case StoredAs::NegExp:
    return neg(exp(raw));
  case StoredAs::ExpNegExp:
    return exp(neg(exp(raw)));
  }
  llvm_unreachable("unknown stored_as");
}

/// A LoRA block written as its primitive chain, `outer(inner(x · downᵀ) ·
/// upᵀ + bias)`; rwkv-fuse-lora turns it into one rwkv.lora.
Value Importer::lora(Value x, Value down, Value up, Value bias,
                     Activation inner, Activation outer, Location loc) {
  auto xt = cast<RankedTensorType>(x.getType());
  int64_t rank = cast<RankedTensorType>(down.getType()).getDimSize(0);
  int64_t out = cast<RankedTensorType>(up.getType()).getDimSize(0);
  Value h =
      LinearOp::create(builder, loc, act(rank, xt.getDimSize(1)), x, down);
  if (inner != Activation::None)
    h = ActivationOp::create(builder, loc, h.getType(), h, inner);
  Value y = LinearOp::create(builder, loc, act(out, xt.getDimSize(1)), h, up);
  if (bias)
    y = BiasAddOp::create(builder, loc, y.getType(), y, bias);
  if (outer != Activation::None)
    y = ActivationOp::create(builder, loc, y.getType(), y, outer);
  return y;
}

Value Importer::lookup(const ValueRef &ref) {
  if (!ref.def)
    return builtins.at(ref.builtin);
  const SmallVector<Value> &values = built.at(ref.def);
  if (ref.result.empty())
    return values.size() == 1 ? values.front() : Value();
  if (ref.def->kind == ValueKind::Op) {
    const OpInfo *info = findOp(ref.def->op);
    if (ref.def->op == "ddlerp") {
      unsigned i;
      if (!StringRef(ref.result).getAsInteger(10, i) && i < values.size())
        return values[i];
    } else if (info) {
      for (auto [i, name] : llvm::enumerate(info->results))
        if (ref.result == name)
          return values[i];
    }
  }
  return Value();
}

std::string Importer::noSuchResult(const ValueRef &ref) {
  std::vector<std::string> names;
  if (const OpInfo *info = findOp(ref.def->op); info && ref.def->op != "ddlerp")
    names.assign(info->results.begin(), info->results.end());
  else
    for (size_t i = 0; i < built.at(ref.def).size(); ++i)
      names.push_back(std::to_string(i));
  std::string has = "'" + ref.def->name + "' (" + ref.def->op + ")";
  if (ref.result.empty())
    return has + " has " + std::to_string(names.size()) +
           " results; name one: " + ref.def->name + "." +
           llvm::join(names, ", " + ref.def->name + ".");
  return has + " has no result '" + ref.result + "'" +
         (names.empty() ? std::string("; it has one, named by '" +
                                      ref.def->name + "' alone")
                        : "; its results are " + llvm::join(names, ", "));
}

std::string Importer::describe(StringRef name) {
  const ValueRef &ref = current->refs.at(name.str());
  std::string what;
  if (!ref.def)
    what = "the block input";
  else if (ref.def->kind == ValueKind::Param)
    what = "a parameter";
  else if (ref.def->kind == ValueKind::State)
    what = "a state";
  else if (ref.def->kind == ValueKind::Input)
    what = "an input";
  else
    what = ref.def->op;
  std::string where;
  if (ref.def) {
    Location loc = ref.def->loc;
    if (auto named = dyn_cast<NameLoc>(loc))
      loc = named.getChildLoc();
    if (auto file = dyn_cast<FileLineColLoc>(loc))
      where = " at " + file.getFilename().str() + ":" +
              std::to_string(file.getLine()) + ":" +
              std::to_string(file.getColumn());
  }
  return "'" + name.str() + "' (" + what + where + ")";
}

std::optional<float> Importer::floatAttr(const ValueDef &v, StringRef key,
                                         std::optional<float> fallback) {
  auto it = v.attrs.find(key.str());
  if (it == v.attrs.end()) {
    if (!fallback)
      error(v.loc) << "'" << v.name << "' (" << v.op << ") needs '" << key
                   << "'";
    return fallback;
  }
  const AttrValue &a = it->second;
  if (!a.isArray && a.items.size() == 1) {
    if (auto *d = std::get_if<double>(&a.items[0]))
      return static_cast<float>(*d);
    if (auto *i = std::get_if<int64_t>(&a.items[0]))
      return static_cast<float>(*i);
    if (auto *s = std::get_if<std::string>(&a.items[0])) {
      if (*s == "layer_norm_eps")
        return spec.layerNormEps;
      if (*s == "group_norm_eps") {
        if (!spec.keyLocs.count("norm.group_norm_eps"))
          error(a.loc) << "'" << v.name << "." << key
                       << "' = \"group_norm_eps\", but the spec sets no "
                          "'norm.group_norm_eps'";
        return spec.groupNormEps;
      }
    }
  }
  error(a.loc) << "'" << v.name << "." << key
               << "' must be a number or \"layer_norm_eps\" / "
                  "\"group_norm_eps\"";
  return std::nullopt;
}

std::optional<int64_t> Importer::sizeAttr(const ValueDef &v, StringRef key,
                                          std::optional<int64_t> fallback) {
  auto it = v.attrs.find(key.str());
  if (it == v.attrs.end())
    return fallback;
  const AttrValue &a = it->second;
  if (!a.isArray && a.items.size() == 1) {
    if (auto *i = std::get_if<int64_t>(&a.items[0]))
      return *i;
    if (auto *s = std::get_if<std::string>(&a.items[0])) {
      std::string why;
      if (std::optional<int64_t> n = evalExpr(*s, env, why))
        return n;
      error(a.loc) << "'" << v.name << "." << key << "' = \"" << *s
                   << "\": " << why;
      return std::nullopt;
    }
  }
  error(a.loc) << "'" << v.name << "." << key
               << "' must be an integer or a size expression";
  return std::nullopt;
}

std::optional<std::string>
Importer::stringAttr(const ValueDef &v, StringRef key,
                     std::optional<std::string> fallback) {
  auto it = v.attrs.find(key.str());
  if (it == v.attrs.end()) {
    if (!fallback)
      error(v.loc) << "'" << v.name << "' (" << v.op << ") needs '" << key
                   << "'";
    return fallback;
  }
  const AttrValue &a = it->second;
  if (!a.isArray && a.items.size() == 1)
    if (auto *s = std::get_if<std::string>(&a.items[0]))
      return *s;
  error(a.loc) << "'" << v.name << "." << key << "' must be a string";
  return std::nullopt;
}

std::optional<Activation> Importer::activationAttr(const ValueDef &v,
                                                   StringRef key) {
  std::optional<std::string> s = stringAttr(v, key, std::string("none"));
  if (!s)
    return std::nullopt;
  if (std::optional<Activation> kind = symbolizeActivation(*s))
    return kind;
  error(v.attrs.at(key.str()).loc)
      << "'" << v.name << "." << key << "' = \"" << *s
      << "\" is not an activation; expected none, tanh, sigmoid, "
         "relu_square, relu, silu, softplus, mish, gelu or exp";
  return std::nullopt;
}

std::optional<std::vector<int64_t>> Importer::shapeAttr(const ValueDef &v,
                                                        StringRef key) {
  auto it = v.attrs.find(key.str());
  if (it == v.attrs.end()) {
    error(v.loc) << "'" << v.name << "' (" << v.op << ") needs '" << key
                 << "' (a list of sizes such as [\"n_head\", \"head_size\"])";
    return std::nullopt;
  }
  const AttrValue &a = it->second;
  std::vector<int64_t> shape;
  for (const AttrScalar &item : a.items) {
    std::optional<int64_t> n;
    std::string why = "must be an integer or a size expression";
    if (auto *i = std::get_if<int64_t>(&item))
      n = *i;
    else if (auto *s = std::get_if<std::string>(&item))
      n = evalExpr(*s, env, why);
    if (!n) {
      error(a.loc) << "'" << v.name << "." << key << "': " << why;
      return std::nullopt;
    }
    if (*n <= 0 || *n > (int64_t{1} << 24)) {
      error(a.loc) << "'" << v.name << "." << key << "': a size is " << *n
                   << "; sizes must be in [1, 2^24]";
      return std::nullopt;
    }
    shape.push_back(*n);
  }
  if (!a.isArray || shape.empty() || shape.size() > 4) {
    error(a.loc) << "'" << v.name << "." << key
                 << "' must be a list of 1 to 4 sizes";
    return std::nullopt;
  }
  return shape;
}

Value Importer::reshapePerToken(Value x, ArrayRef<int64_t> shape,
                                Location loc) {
  auto ty = cast<RankedTensorType>(x.getType());
  if (ty.getRank() > 3) {
    ReassociationIndices rest;
    for (int64_t d = 2; d < ty.getRank(); ++d)
      rest.push_back(d);
    int64_t n = 1;
    for (int64_t d : ty.getShape().drop_front(2))
      n *= d;
    x = tensor::CollapseShapeOp::create(
        builder, loc,
        RankedTensorType::get({ShapedType::kDynamic, ty.getDimSize(1), n},
                              f32()),
        x, SmallVector<ReassociationIndices>{{0}, {1}, rest});
  }
  if (shape.size() == 1)
    return x;
  SmallVector<int64_t> target{ShapedType::kDynamic, ty.getDimSize(1)};
  target.append(shape.begin(), shape.end());
  ReassociationIndices rest;
  for (size_t d = 0; d < shape.size(); ++d)
    rest.push_back(static_cast<int64_t>(2 + d));
  return tensor::ExpandShapeOp::create(
      builder, loc, RankedTensorType::get(target, f32()), x,
      SmallVector<ReassociationIndices>{{0}, {1}, rest});
}

/// `einsum` over the per-token dimensions: "hi,hj->hij" multiplies its
/// operands elementwise over the letters they share and sums the letters the
/// result does not name; batch and token dimensions of activation operands
/// are implicit and kept, parameters have no batch or token dimensions.
Value Importer::einsum(const ValueDef &v, ArrayRef<Value> in) {
  Location loc = v.loc;
  std::optional<std::string> eq = stringAttr(v, "equation", std::nullopt);
  if (!eq)
    return Value();
  auto bad = [&](const Twine &why) {
    error(v.attrs.at("equation").loc)
        << "'" << v.name << ".equation' = \"" << *eq << "\": " << why;
    return Value();
  };
  auto [lhs, rhs] = StringRef(*eq).split("->");
  if (!StringRef(*eq).contains("->"))
    return bad("expected 'operands->result' such as \"hi,hj->hij\"");
  SmallVector<StringRef> terms;
  lhs.split(terms, ',');
  if (terms.size() != in.size())
    return bad("names " + Twine(terms.size()) + " operands, '" + v.name +
               "' has " + Twine(in.size()));
  auto letters = [](StringRef term) {
    return llvm::all_of(term, [](char c) {
      return std::isalpha(static_cast<unsigned char>(c)) != 0;
    });
  };
  // Loop dimensions: batch, token, the result's letters, then the summed.
  std::string loops = rhs.str();
  if (!letters(rhs) ||
      llvm::any_of(rhs, [&](char c) { return llvm::count(rhs, c) > 1; }))
    return bad("the result must name distinct letters");
  std::map<char, int64_t> size;
  std::map<char, size_t> sizeFrom; // the operand that gave a letter its size
  Value like;
  for (auto [i, term] : llvm::enumerate(terms)) {
    if (!letters(term))
      return bad("operand terms must be letters");
    auto ty = cast<RankedTensorType>(in[i].getType());
    bool activation = ty.getRank() >= 2 && ty.isDynamicDim(0);
    ArrayRef<int64_t> dims = ty.getShape().drop_front(activation ? 2 : 0);
    if (activation) {
      if (like && cast<RankedTensorType>(like.getType()).getDimSize(1) !=
                      ty.getDimSize(1))
        return bad("its activations differ in tokens");
      like = in[i];
    }
    if (dims.size() != term.size())
      return bad("'" + term + "' names " + Twine(term.size()) +
                 " dimensions, but " + describe(v.args[i]) + " is " +
                 shapeString(ty) +
                 (activation ? " (batch and tokens are implicit)" : ""));
    for (auto [c, d] : llvm::zip(term, dims)) {
      auto [it, fresh] = size.try_emplace(c, d);
      auto [from, _] = sizeFrom.try_emplace(c, i);
      if (!fresh && it->second != d)
        return bad("'" + Twine(c) + "' is " + Twine(it->second) +
                   " in operand " + Twine(from->second + 1) + " and " +
                   Twine(d) + " in operand " + Twine(i + 1));
      if (!llvm::is_contained(loops, c))
        loops.push_back(c);
    }
  }
  if (!like)
    return bad("at least one operand must be an activation [batch, tokens, "
               "...]");
  for (char c : rhs)
    if (!size.count(c))
      return bad("the result's '" + Twine(c) + "' is in no operand");
  if (rhs.empty() || rhs.size() > 4)
    return bad("the result must have 1 to 4 per-token dimensions");
  auto likeType = cast<RankedTensorType>(like.getType());
  SmallVector<int64_t> outShape{ShapedType::kDynamic, likeType.getDimSize(1)};
  for (char c : rhs)
    outShape.push_back(size[c]);
  auto outType = RankedTensorType::get(outShape, f32());
  unsigned numLoops = 2 + loops.size();
  auto dim = [&](char c) {
    return builder.getAffineDimExpr(
        2 + static_cast<unsigned>(StringRef(loops).find(c)));
  };
  SmallVector<AffineMap> maps;
  for (auto [i, term] : llvm::enumerate(terms)) {
    auto ty = cast<RankedTensorType>(in[i].getType());
    SmallVector<AffineExpr> exprs;
    if (ty.getRank() >= 2 && ty.isDynamicDim(0))
      exprs = {builder.getAffineDimExpr(0), builder.getAffineDimExpr(1)};
    for (char c : term)
      exprs.push_back(dim(c));
    maps.push_back(AffineMap::get(numLoops, 0, exprs, ctx));
  }
  SmallVector<AffineExpr> outExprs{builder.getAffineDimExpr(0),
                                   builder.getAffineDimExpr(1)};
  for (char c : rhs)
    outExprs.push_back(dim(c));
  maps.push_back(AffineMap::get(numLoops, 0, outExprs, ctx));
  SmallVector<utils::IteratorType> iterators(2 + rhs.size(),
                                             utils::IteratorType::parallel);
  iterators.append(loops.size() - rhs.size(), utils::IteratorType::reduction);
  SmallVector<Value> dynamic{tensor::DimOp::create(builder, loc, like, 0)};
  if (likeType.isDynamicDim(1))
    dynamic.push_back(tensor::DimOp::create(builder, loc, like, 1));
  Value zero =
      arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(0.0f));
  Value init =
      linalg::FillOp::create(
          builder, loc, zero,
          ValueRange{tensor::EmptyOp::create(builder, loc, outType, dynamic)})
          .getResult(0);
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{outType}, in, ValueRange{init}, maps, iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        auto f32 = [&](Value a) -> Value {
          return a.getType().isF32()
                     ? a
                     : arith::ExtFOp::create(b, l, b.getF32Type(), a);
        };
        Value product = f32(args[0]);
        for (Value a : args.drop_front().drop_back())
          product = arith::MulFOp::create(b, l, product, f32(a));
        linalg::YieldOp::create(
            b, l,
            ValueRange{arith::AddFOp::create(b, l, args.back(), product)});
      });
  return generic.getResult(0);
}

bool Importer::emit(const ValueDef &v) {
  Location loc = v.loc;
  const OpInfo *info = findOp(v.op);
  if (!info) {
    std::vector<std::string> names;
    for (const OpInfo &op : opTable())
      names.push_back(op.name);
    error(loc) << "unknown op '" << v.op << "' for '" << v.name
               << "'; the ops are: " << llvm::join(names, ", ");
    return false;
  }
  unsigned n = v.args.size();
  if (n < info->minArgs || n > info->maxArgs) {
    InFlightDiagnostic d = error(loc);
    d << "'" << v.name << "' (" << v.op << ") takes ";
    if (info->minArgs == info->maxArgs)
      d << info->minArgs;
    else if (info->maxArgs >= 64)
      d << "at least " << info->minArgs;
    else
      d << info->minArgs << " to " << info->maxArgs;
    d << " operands (" << info->operands << "), got " << n;
    return false;
  }
  for (const auto &[key, attr] : v.attrs)
    if (!llvm::is_contained(info->attrs, StringRef(key))) {
      error(attr.loc) << "unknown attribute '" << key << "' for '" << v.name
                      << "' (" << v.op << ")"
                      << (info->attrs.empty()
                              ? std::string("; it takes none")
                              : "; expected " + llvm::join(info->attrs, ", "));
      return false;
    }
  SmallVector<Value> in;
  for (const std::string &arg : v.args) {
    Value x = lookup(current->refs.at(arg));
    if (!x) {
      error(loc) << "'" << v.name << "' uses '" << arg
                 << "': " << noSuchResult(current->refs.at(arg));
      return false;
    }
    in.push_back(x);
  }
  auto type = [&](unsigned i) {
    return cast<RankedTensorType>(in[i].getType());
  };
  auto mismatch = [&](unsigned a, unsigned b, StringRef why) {
    error(loc) << "'" << v.name << "' (" << v.op << "): " << why << ": "
               << describe(v.args[a]) << " is " << shapeString(in[a].getType())
               << ", " << describe(v.args[b]) << " is "
               << shapeString(in[b].getType());
    return false;
  };
  /// Requires operand i to be an activation [batch, tokens, width].
  auto activation = [&](unsigned i) {
    RankedTensorType ty = type(i);
    if (ty.getRank() == 3 && ty.isDynamicDim(0))
      return true;
    error(loc) << "'" << v.name << "' (" << v.op << "): operand "
               << describe(v.args[i]) << " must be an activation [batch, "
               << "tokens, width], got " << shapeString(ty);
    return false;
  };
  /// Requires operand i to be an activation [batch, tokens, ...] of any
  /// per-token shape (a reshaped one, say).
  auto perToken = [&](unsigned i) {
    RankedTensorType ty = type(i);
    if (ty.getRank() >= 3 && ty.isDynamicDim(0))
      return true;
    error(loc) << "'" << v.name << "' (" << v.op << "): operand "
               << describe(v.args[i]) << " must be an activation [batch, "
               << "tokens, ...], got " << shapeString(ty);
    return false;
  };
  /// Requires operand i to be a [width] vector (or a tensor of that size).
  auto vectorOf = [&](unsigned i, int64_t width, StringRef what) {
    RankedTensorType ty = type(i);
    if (ty.hasStaticShape() && ty.getNumElements() == width)
      return true;
    error(loc) << "'" << v.name << "' (" << v.op << "): " << what << " "
               << describe(v.args[i]) << " must have " << width
               << " elements, got " << shapeString(ty);
    return false;
  };
  auto width = [&](unsigned i) { return type(i).getShape().back(); };
  SmallVector<Value> out;
  StringRef op = v.op;

  if (op == "id") {
    out.push_back(in[0]);
  } else if (op == "add" || op == "sub" || op == "mul" || op == "div") {
    Value a = in[0], b = in[1];
    if (a.getType() != b.getType()) {
      // A [C] vector broadcasts over an activation's batch and tokens.
      auto ta = type(0), tb = type(1);
      if (ta.getRank() == 3 && tb.getRank() == 1 &&
          tb.getDimSize(0) == ta.getShape().back())
        b = broadcastLike(b, a, loc);
      else if (tb.getRank() == 3 && ta.getRank() == 1 &&
               ta.getDimSize(0) == tb.getShape().back())
        a = broadcastLike(a, b, loc);
      else
        return mismatch(0, 1, "the operands' shapes differ");
    }
    Value r;
    if (op == "add")
      r = arith::AddFOp::create(builder, loc, a, b);
    else if (op == "sub")
      r = arith::SubFOp::create(builder, loc, a, b);
    else if (op == "mul")
      r = arith::MulFOp::create(builder, loc, a, b);
    else
      r = arith::DivFOp::create(builder, loc, a, b);
    out.push_back(r);
  } else if (op == "neg") {
    out.push_back(arith::NegFOp::create(builder, loc, in[0]));
  } else if (op == "exp") {
    out.push_back(math::ExpOp::create(builder, loc, in[0]));
  } else if (op == "log") {
    out.push_back(math::LogOp::create(builder, loc, in[0]));
  } else if (op == "scale") {
    std::optional<float> by = floatAttr(v, "by", std::nullopt);
    if (!by)
      return false;
    Value c =
        arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(*by));
    Value filled =
        linalg::FillOp::create(builder, loc, c, emptyLike(in[0], loc))
            .getResult(0);
    out.push_back(arith::MulFOp::create(builder, loc, in[0], filled));
  } else if (std::optional<Activation> kind = symbolizeActivation(op)) {
    // The activation ops of the table (exp is math.exp, above).
    out.push_back(
        ActivationOp::create(builder, loc, in[0].getType(), in[0], *kind));
  } else if (op == "broadcast") {
    if (!activation(1) || type(0).getRank() != 1 ||
        type(0).getDimSize(0) != width(1))
      return mismatch(0, 1,
                      "broadcast takes a [width] vector and an "
                      "activation of that width");
    out.push_back(broadcastLike(in[0], in[1], loc));
  } else if (op == "heads_to_channels") {
    if (!vectorOf(0, spec.numHeads(), "the per-head vector"))
      return false;
    out.push_back(headsToChannels(in[0], loc));
  } else if (op == "as_form") {
    const ValueRef &ref = current->refs.at(v.args[0]);
    if (!ref.def || ref.def->kind != ValueKind::Param) {
      error(loc) << "'" << v.name << "' (as_form) converts a parameter from "
                 << "its checkpoint form; " << describe(v.args[0])
                 << " is not a parameter";
      return false;
    }
    std::optional<std::string> form = stringAttr(v, "form", std::nullopt);
    if (!form)
      return false;
    std::optional<StoredAs> wanted = storedAsNamed(*form);
    if (!wanted) {
      error(v.attrs.at("form").loc)
          << "'" << v.name << ".form' = \"" << *form
          << "\" is not one of raw, exp, neg_exp, exp_neg_exp";
      return false;
    }
    out.push_back(paramAs(*ref.def, in[0], *wanted, loc));
  } else if (op == "last_token") {
    if (!activation(0))
      return false;
    Value h = in[0];
    if (t != 1 && !allTokens) {
      // Only the last token's logits are needed after a prompt.
      Value tokens = tensor::DimOp::create(builder, loc, h, 1);
      Value last = arith::SubIOp::create(
          builder, loc, tokens,
          arith::ConstantIndexOp::create(builder, loc, 1));
      OpFoldResult zero = builder.getIndexAttr(0),
                   one = builder.getIndexAttr(1);
      h = tensor::ExtractSliceOp::create(
          builder, loc, act(width(0), 1), h,
          ArrayRef<OpFoldResult>{zero, last, zero},
          ArrayRef<OpFoldResult>{tensor::getMixedSize(builder, loc, h, 0), one,
                                 builder.getIndexAttr(width(0))},
          ArrayRef<OpFoldResult>{one, one, one});
    }
    out.push_back(h);
  } else if (op == "embedding" || op == "lookup") {
    auto tt = type(0);
    if (tt.getRank() != 2 || !tt.getElementType().isInteger(32)) {
      error(loc) << "'" << v.name << "' (" << v.op << ") looks up rows by "
                 << "token id: its first operand must be 'tokens', got "
                 << describe(v.args[0]);
      return false;
    }
    if (type(1).getRank() != 2) {
      error(loc) << "'" << v.name << "' (" << v.op << "): the table "
                 << describe(v.args[1]) << " must be [rows, width], got "
                 << shapeString(type(1));
      return false;
    }
    out.push_back(EmbeddingOp::create(
        builder, loc, act(type(1).getDimSize(1), tt.getDimSize(1)), in[0],
        in[1]));
  } else if (op == "rms_norm") {
    if (!activation(0) || !vectorOf(1, width(0), "the weight"))
      return false;
    std::optional<float> eps = floatAttr(v, "eps", std::nullopt);
    if (!eps)
      return false;
    out.push_back(RmsNormOp::create(builder, loc, in[0].getType(), in[0], in[1],
                                    builder.getF32FloatAttr(*eps)));
  } else if (op == "layer_norm" || op == "group_norm") {
    if (!activation(0) || !vectorOf(1, width(0), "the weight") ||
        !vectorOf(2, width(0), "the bias"))
      return false;
    std::optional<float> eps = floatAttr(v, "eps", std::nullopt);
    if (!eps)
      return false;
    if (op == "layer_norm") {
      out.push_back(LayerNormOp::create(builder, loc, in[0].getType(), in[0],
                                        in[1], in[2],
                                        builder.getF32FloatAttr(*eps)));
    } else {
      std::optional<int64_t> groups = sizeAttr(v, "groups", std::nullopt);
      if (!groups) {
        if (!hadError)
          error(loc) << "'" << v.name << "' (group_norm) needs 'groups'";
        return false;
      }
      if (*groups <= 0 || width(0) % *groups != 0) {
        error(loc) << "'" << v.name << "' (group_norm): " << *groups
                   << " groups do not divide the width " << width(0);
        return false;
      }
      out.push_back(GroupNormOp::create(
          builder, loc, in[0].getType(), in[0], in[1], in[2],
          builder.getI64IntegerAttr(*groups), builder.getF32FloatAttr(*eps)));
    }
  } else if (op == "l2_norm") {
    if (!activation(0))
      return false;
    std::optional<int64_t> group = sizeAttr(v, "group", width(0));
    std::optional<float> eps = floatAttr(v, "eps", 1e-12f);
    if (!group || !eps)
      return false;
    if (*group <= 0 || width(0) % *group != 0) {
      error(loc) << "'" << v.name << "' (l2_norm): groups of " << *group
                 << " do not divide the width " << width(0);
      return false;
    }
    out.push_back(L2NormOp::create(builder, loc, in[0].getType(), in[0],
                                   builder.getI64IntegerAttr(*group),
                                   builder.getF32FloatAttr(*eps)));
  } else if (op == "token_shift") {
    if (!activation(0))
      return false;
    auto rowType =
        RankedTensorType::get({ShapedType::kDynamic, width(0)}, f32());
    if (in[1].getType() != rowType) {
      error(loc) << "'" << v.name << "' (token_shift): the state "
                 << describe(v.args[1]) << " must be [batch, " << width(0)
                 << "] (declare it with state = [" << width(0) << "]), got "
                 << shapeString(in[1].getType());
      return false;
    }
    auto shift = TokenShiftOp::create(builder, loc, in[0].getType(), rowType,
                                      in[0], in[1]);
    out.push_back(shift.getShifted());
    out.push_back(shift.getLast());
  } else if (op == "lerp") {
    if (!activation(0) || !activation(1))
      return false;
    if (in[0].getType() != in[1].getType())
      return mismatch(0, 1, "lerp's end points differ in shape");
    if (type(2) != in[0].getType() && !vectorOf(2, width(0), "the weight"))
      return false;
    out.push_back(
        LerpOp::create(builder, loc, in[0].getType(), in[0], in[1], in[2]));
  } else if (op == "ddlerp") {
    if (!activation(0) || !activation(1))
      return false;
    if (in[0].getType() != in[1].getType())
      return mismatch(0, 1, "ddlerp's x and shifted x differ in shape");
    SmallVector<Value> mus(in.begin() + 5, in.end());
    auto dd =
        DDLerpOp::create(builder, loc, in[0], in[1], in[2], mus, in[3], in[4]);
    if (failed(dd.verify())) {
      hadError = true;
      return false;
    }
    out.append(dd.getResults().begin(), dd.getResults().end());
  } else if (op == "linear" || op == "bias_add") {
    if (!activation(0))
      return false;
    Value y = in[0];
    if (op == "linear") {
      auto w = type(1);
      if (w.getRank() != 2 || w.getDimSize(1) != width(0)) {
        error(loc) << "'" << v.name << "' (linear): the weight "
                   << describe(v.args[1]) << " must be [out, " << width(0)
                   << "] for the input " << describe(v.args[0]) << " of "
                   << shapeString(type(0)) << ", got " << shapeString(w);
        return false;
      }
      y = LinearOp::create(builder, loc,
                           act(w.getDimSize(0), type(0).getDimSize(1)), in[0],
                           in[1]);
    }
    unsigned biasAt = op == "linear" ? 2 : 1;
    if (in.size() > biasAt) {
      int64_t outWidth = cast<RankedTensorType>(y.getType()).getShape().back();
      if (!vectorOf(biasAt, outWidth, "the bias"))
        return false;
      y = BiasAddOp::create(builder, loc, y.getType(), y, in[biasAt]);
    }
    out.push_back(y);
  } else if (op == "lora") {
    if (!activation(0))
      return false;
    auto down = type(1), up = type(2);
    if (down.getRank() != 2 || up.getRank() != 2 ||
        down.getDimSize(1) != width(0) ||
        up.getDimSize(1) != down.getDimSize(0)) {
      error(loc) << "'" << v.name << "' (lora): down " << describe(v.args[1])
                 << " must be [rank, " << width(0) << "] and up "
                 << describe(v.args[2]) << " [out, rank]; got "
                 << shapeString(down) << " and " << shapeString(up);
      return false;
    }
    if (in.size() == 4 && !vectorOf(3, up.getDimSize(0), "the bias"))
      return false;
    std::optional<Activation> inner = activationAttr(v, "inner");
    std::optional<Activation> outer = activationAttr(v, "outer");
    if (!inner || !outer)
      return false;
    out.push_back(lora(in[0], in[1], in[2], in.size() == 4 ? in[3] : Value(),
                       *inner, *outer, loc));
  } else if (op == "decay") {
    std::optional<std::string> kind = stringAttr(v, "kind", std::nullopt);
    if (!kind)
      return false;
    DecayKind k;
    if (*kind == "sigmoid") {
      k = DecayKind::Sigmoid;
    } else if (*kind == "exp_neg_exp") {
      k = DecayKind::ExpNegExp;
    } else {
      error(v.attrs.at("kind").loc)
          << "'" << v.name << ".kind' = \"" << *kind
          << "\" is not a decay kind; expected sigmoid or exp_neg_exp";
      return false;
    }
    out.push_back(DecayOp::create(builder, loc, in[0].getType(), k, in[0]));
  } else if (op == "wkv4" || op == "wkv5" || op == "wkv7" ||
             op == "wkv7_bonus") {
    // Shapes are the dialect verifiers' to check; their messages name the
    // operands, and the op carries this value's location.
    Operation *created;
    if (op == "wkv4") {
      Type row = in[4].getType();
      created = Wkv4Op::create(builder, loc, in[0].getType(), row, row, row,
                               in[0], in[1], in[2], in[3], in[4], in[5], in[6]);
    } else if (op == "wkv5") {
      created = Wkv5Op::create(builder, loc, in[0].getType(), in[5].getType(),
                               in[0], in[1], in[2], in[3], in[4], in[5]);
    } else if (op == "wkv7") {
      created = Wkv7Op::create(builder, loc, in[0].getType(), in[6].getType(),
                               in[0], in[1], in[2], in[3], in[4], in[5], in[6]);
    } else {
      created = Wkv7BonusOp::create(builder, loc, in[0].getType(), in[0], in[1],
                                    in[2], in[3]);
    }
    if (failed(mlir::verify(created))) {
      hadError = true;
      return false;
    }
    out.append(created->getResults().begin(), created->getResults().end());
  } else if (op == "reshape") {
    if (!perToken(0))
      return false;
    std::optional<std::vector<int64_t>> shape = shapeAttr(v, "shape");
    if (!shape)
      return false;
    auto ty = type(0);
    int64_t have = 1, want = 1;
    for (int64_t d : ty.getShape().drop_front(2))
      have *= d;
    for (int64_t d : *shape)
      want = want > (int64_t{1} << 40) / d ? (int64_t{1} << 40) + 1 : want * d;
    if (have != want) {
      error(loc) << "'" << v.name << "' (reshape): " << describe(v.args[0])
                 << " has " << have << " elements per token " << shapeString(ty)
                 << ", the shape ["
                 << llvm::join(llvm::map_range(
                                   *shape,
                                   [](int64_t d) { return std::to_string(d); }),
                               ", ")
                 << "] holds " << want;
      return false;
    }
    out.push_back(reshapePerToken(in[0], *shape, loc));
  } else if (op == "einsum") {
    Value y = einsum(v, in);
    if (!y)
      return false;
    out.push_back(y);
  } else if (op == "causal_attention") {
    if (!activation(0) || !activation(1) || !activation(2))
      return false;
    if (in[0].getType() != in[1].getType() ||
        in[0].getType() != in[2].getType())
      return mismatch(0, in[0].getType() != in[1].getType() ? 1 : 2,
                      "q, k and v must have one shape");
    std::optional<float> scale = floatAttr(
        v, "scale", static_cast<float>(1.0 / std::sqrt(double(width(0)))));
    if (!scale)
      return false;
    auto created = CausalAttentionOp::create(
        builder, loc, in[0].getType(), in[3].getType(), in[4].getType(),
        in[5].getType(), in[0], in[1], in[2], in[3], in[4], in[5],
        builder.getF32FloatAttr(*scale));
    if (failed(mlir::verify(created))) {
      hadError = true;
      return false;
    }
    // The caches and the counter are states this op advances, and the
    // counter's limit keeps the runtime from feeding the cache past its
    // rows (a token beyond them would silently drop out of attention).
    static const char *const kCacheOperands[3] = {"k", "v", "count"};
    for (unsigned i = 3; i < 6; ++i) {
      const ValueRef &ref = current->refs.at(v.args[i]);
      std::string role = i == 5 ? "count" : i == 3 ? "cache_k" : "cache_v";
      if (!ref.def || ref.def->kind != ValueKind::State) {
        error(loc) << "'" << v.name << "' (causal_attention): " << role << " "
                   << describe(v.args[i]) << " must be a state";
        return false;
      }
      std::string advanced = v.name + "." + kCacheOperands[i - 3];
      if (ref.def->next != advanced) {
        error(loc) << "'" << v.name << "' (causal_attention): " << role
                   << " state '" << ref.def->name << "' must be advanced by "
                   << "this op: write next = \"" << advanced
                   << "\" (it has next = \"" << ref.def->next << "\")";
        return false;
      }
    }
    int64_t rows = type(3).getRank() == 3 ? type(3).getDimSize(1) : 0;
    const ValueDef *count = current->refs.at(v.args[5]).def;
    int64_t limit = 0;
    for (const StateInfo &st : spec.states())
      if (st.name == count->name)
        limit = st.maxTokens;
    if (limit == 0) {
      error(loc) << "'" << v.name << "' (causal_attention): the count state '"
                 << count->name << "' needs max_tokens (at most the " << rows
                 << " cache rows), so that the runtime refuses a sequence "
                    "longer than the cache";
      return false;
    }
    if (limit > rows) {
      error(loc) << "'" << v.name << "' (causal_attention): the count state '"
                 << count->name << "' has max_tokens = " << limit
                 << ", more than the " << rows
                 << " rows of the caches; tokens past row " << rows
                 << " would have nowhere to go";
      return false;
    }
    out.append(created->getResults().begin(), created->getResults().end());
  } else {
    llvm_unreachable("op in the table without a builder");
  }
  built[&v] = std::move(out);
  return true;
}

void Importer::buildBlock(const BlockDef &block, StringRef name,
                          ArrayRef<unsigned> layers,
                          const ResolvedBlock &resolved) {
  current = &resolved;
  env = Spec::perLayerBlock(block.name) ? spec.layerSizes(layers.front())
                                        : spec.sizes;
  built.clear();
  builtins.clear();
  Signature sig;
  auto addArg = [&](Type type, StringRef role, StringRef argName) {
    sig.argTypes.push_back(type);
    sig.argAttrs.push_back(builder.getDictionaryAttr(
        builder.getNamedAttr(role, builder.getStringAttr(argName))));
  };
  auto addResult = [&](Type type, StringRef role, StringRef resultName) {
    sig.resultTypes.push_back(type);
    sig.resultAttrs.push_back(builder.getDictionaryAttr(
        builder.getNamedAttr(role, builder.getStringAttr(resultName))));
  };
  auto stateType = [&](const ValueDef *s) {
    const StateInfo *info = nullptr;
    for (const StateInfo &st : spec.states())
      if (st.name == s->name)
        info = &st;
    SmallVector<int64_t> shape{ShapedType::kDynamic};
    shape.append(info->shape.begin(), info->shape.end());
    return RankedTensorType::get(shape, f32());
  };
  // Arguments: built-in activations, states, declared inputs, parameters.
  for (StringRef b : {"h", "tokens"})
    if (llvm::is_contained(resolved.builtins, b))
      addArg(b == "h" ? Type(act(spec.dModel))
                      : RankedTensorType::get({ShapedType::kDynamic, t},
                                              builder.getI32Type()),
             kActivationAttr, b);
  for (const ValueDef *s : resolved.states)
    addArg(stateType(s), kStateAttr, s->name);
  for (const ValueDef *in : resolved.inputs) {
    std::string why;
    std::optional<int64_t> w =
        in->shape.size() == 1 ? evalExpr(in->shape[0], env, why) : std::nullopt;
    if (!w || *w <= 0) {
      error(in->loc) << "input '" << in->name
                     << "' must give its width as input = [width]"
                     << (why.empty() ? "" : ": " + why);
      return;
    }
    addArg(act(*w), kActivationAttr, in->name);
  }
  for (const ValueDef *p : resolved.params)
    addArg(paramType(param(p->name)), kParamAttr, p->name);

  builder.setInsertionPointToEnd(module.getBody());
  auto fn = func::FuncOp::create(builder, block.loc, (name + suffix).str(),
                                 builder.getFunctionType(sig.argTypes, {}));
  fn->setAttr(kModeAttr,
              builder.getStringAttr(t == 1 ? "recurrent" : "parallel"));
  fn.setAllArgAttrs(ArrayRef<DictionaryAttr>(sig.argAttrs));
  fn->setAttr(
      kEntryAttr,
      builder.getStringAttr(allTokens ? std::string("head_all") : block.name));
  SmallVector<int64_t> layerList(layers.begin(), layers.end());
  fn->setAttr(kLayersAttr, builder.getDenseI64ArrayAttr(layerList));
  Block *body = fn.addEntryBlock();
  builder.setInsertionPointToStart(body);
  unsigned arg = 0;
  for (StringRef b : {"h", "tokens"})
    if (llvm::is_contained(resolved.builtins, b))
      builtins[b.str()] = body->getArgument(arg++);
  for (const ValueDef *s : resolved.states)
    built[s] = {body->getArgument(arg++)};
  for (const ValueDef *in : resolved.inputs)
    built[in] = {body->getArgument(arg++)};
  for (const ValueDef *p : resolved.params)
    built[p] = {body->getArgument(arg++)};

  for (const ValueDef *v : resolved.ops)
    if (!emit(*v)) {
      fn.erase();
      return;
    }

  // Results: the main output, the states after the block, other outputs.
  SmallVector<Value> results;
  auto resultOf = [&](const ValueRef &ref, StringRef what,
                      Location at) -> Value {
    Value r = lookup(ref);
    if (!r)
      error(at) << what << ": " << noSuchResult(ref);
    return r;
  };
  const auto &outs = resolved.outputs;
  Value main = resultOf(outs.front().second, "the main output", block.loc);
  if (!main) {
    fn.erase();
    return;
  }
  Type mainType = block.name == "head"
                      ? Type(act(spec.vocabSize, allTokens ? t : 1))
                  : block.name == "embed" || Spec::perLayerBlock(block.name)
                      ? Type(act(spec.dModel))
                      : main.getType();
  if (main.getType() != mainType) {
    const ValueDef *v = outs.front().second.def;
    error(v ? v->loc : block.loc)
        << "output '" << outs.front().first << "' of block '" << block.name
        << "' must be " << shapeString(mainType) << ", got "
        << shapeString(main.getType());
    fn.erase();
    return;
  }
  results.push_back(main);
  addResult(mainType, kActivationAttr, outs.front().first);
  for (const ValueDef *s : resolved.states) {
    Value next =
        resultOf(resolved.refs.at(s->next), "'next' of " + s->name, s->loc);
    if (!next) {
      fn.erase();
      return;
    }
    Type want = built.at(s).front().getType();
    if (next.getType() != want) {
      error(s->loc) << "state '" << s->name << "' is " << shapeString(want)
                    << " but its next value '" << s->next << "' is "
                    << shapeString(next.getType());
      fn.erase();
      return;
    }
    results.push_back(next);
    addResult(want, kStateAttr, s->name);
  }
  for (auto &[outName, ref] : llvm::drop_begin(outs)) {
    Value r = resultOf(ref, "output '" + outName + "'", block.loc);
    if (!r) {
      fn.erase();
      return;
    }
    results.push_back(r);
    addResult(r.getType(), kActivationAttr, outName);
  }
  func::ReturnOp::create(builder, block.loc, results);
  fn.setFunctionType(builder.getFunctionType(sig.argTypes, sig.resultTypes));
  fn.setAllResultAttrs(ArrayRef<DictionaryAttr>(sig.resultAttrs));
}

/// Puts the parameter arguments of `fn` in the order of their first use in
/// its body (activations and states keep their places in front), so a
/// function's signature follows its dataflow and not the order in which
/// its parameters were declared.
void orderParamsByFirstUse(func::FuncOp fn) {
  Block &body = fn.getBody().front();
  unsigned numArgs = body.getNumArguments();
  SmallVector<unsigned> params;
  for (unsigned i = 0; i < numArgs; ++i)
    if (fn.getArgAttr(i, kParamAttr))
      params.push_back(i);
  DenseMap<Value, unsigned> firstUse;
  unsigned counter = 0;
  fn.walk([&](Operation *op) {
    for (Value operand : op->getOperands())
      if (auto arg = dyn_cast<BlockArgument>(operand);
          arg && arg.getOwner() == &body)
        firstUse.try_emplace(arg, counter++);
  });
  SmallVector<unsigned> order(params);
  llvm::stable_sort(order, [&](unsigned a, unsigned b) {
    auto rank = [&](unsigned i) {
      auto it = firstUse.find(body.getArgument(i));
      return it == firstUse.end() ? ~0u : it->second;
    };
    return rank(a) < rank(b);
  });
  if (order == params)
    return;
  // Append the parameters in their new order, then drop the old ones.
  for (unsigned old : order) {
    BlockArgument from = body.getArgument(old);
    unsigned at = fn.getNumArguments();
    if (failed(fn.insertArgument(at, from.getType(), fn.getArgAttrDict(old),
                                 from.getLoc())))
      llvm_unreachable("cannot extend a function signature");
    from.replaceAllUsesWith(body.getArgument(at));
  }
  llvm::BitVector drop(fn.getNumArguments());
  for (unsigned old : params)
    drop.set(old);
  if (failed(fn.eraseArguments(drop)))
    llvm_unreachable("cannot shrink a function signature");
}

OwningOpRef<ModuleOp> Importer::run() {
  ctx->loadDialect<RwkvDialect, func::FuncDialect, arith::ArithDialect,
                   math::MathDialect, tensor::TensorDialect,
                   linalg::LinalgDialect>();
  OwningOpRef<ModuleOp> owned =
      ModuleOp::create(FileLineColLoc::get(ctx, spec.path, 1, 1), spec.name);
  module = *owned;
  module->setAttr("rwkv.spec_sha256", builder.getStringAttr(spec.sha256));

  // Layers that resolve to the same values share one function.
  struct Kind {
    std::vector<unsigned> layers;
    ResolvedBlock resolved;
  };
  std::map<std::string, std::vector<Kind>> kinds;
  auto reporter = [&](Location at) { return error(at); };
  for (const BlockDef &block : spec.blocks) {
    bool perLayer = Spec::perLayerBlock(block.name);
    std::map<std::vector<std::string>, size_t> byValues;
    std::vector<Kind> &list = kinds[block.name];
    for (int64_t l = 0; l < (perLayer ? spec.nLayer : 1); ++l) {
      Kind k;
      if (failed(
              resolveBlock(block, perLayer ? spec.layerSizes(l) : spec.sizes,
                           perLayer ? std::optional<int64_t>(l) : std::nullopt,
                           k.resolved, reporter)))
        return nullptr;
      std::vector<std::string> key;
      for (const ValueDef *v : k.resolved.live)
        key.push_back(v->name);
      for (const auto &[n, ref] : k.resolved.refs)
        key.push_back(n + "=" + (ref.def ? ref.def->name : ref.builtin) + "." +
                      ref.result);
      auto [it, fresh] = byValues.try_emplace(key, list.size());
      if (fresh) {
        list.push_back(std::move(k));
      }
      if (perLayer)
        list[it->second].layers.push_back(static_cast<unsigned>(l));
    }
  }
  auto buildForm = [&](int64_t tokens, StringRef nameSuffix) {
    t = tokens;
    suffix = nameSuffix.str();
    for (const BlockDef &block : spec.blocks) {
      bool perLayer = Spec::perLayerBlock(block.name);
      for (auto [i, kind] : llvm::enumerate(kinds[block.name])) {
        std::string name =
            perLayer ? (block.name + "_" + Twine(i)).str() : block.name;
        buildBlock(block, name, kind.layers, kind.resolved);
        if (hadError)
          return;
      }
    }
  };
  // Activations other than `h` and `tokens` pass between blocks by name
  // (v_first from layer 0's time mix, say): every input a block declares
  // must be an output of a block the runtime calls before it (embed, then
  // per layer time_mix and channel_mix, then head), of the same shape; an
  // input no block produces would read zeros.
  auto checkActivationFlow = [&](StringRef formSuffix) {
    std::map<std::string, std::pair<Type, std::string>> produced;
    std::set<std::string> consumed;
    std::map<std::string, Location> producedAt;
    auto visit = [&](const BlockDef &block, StringRef fnName,
                     const ResolvedBlock &resolved,
                     std::optional<unsigned> layer) {
      auto fn = module.lookupSymbol<func::FuncOp>((fnName + formSuffix).str());
      if (!fn)
        return;
      std::string where =
          "block '" + block.name +
          (layer ? "' in layer " + std::to_string(*layer) : std::string("'"));
      for (const ValueDef *in : resolved.inputs) {
        Type type;
        for (unsigned i = 0; i < fn.getNumArguments(); ++i)
          if (auto a = fn.getArgAttrOfType<StringAttr>(i, kActivationAttr);
              a && a.getValue() == in->name)
            type = fn.getArgument(i).getType();
        auto it = produced.find(in->name);
        if (it == produced.end()) {
          std::vector<std::string> names;
          for (const auto &[n, _] : produced)
            names.push_back(n);
          error(in->loc) << "input '" << in->name << "' of " << where
                         << " is not an output of any block called before "
                            "it (embed, then per layer time_mix and "
                            "channel_mix); outputs before it: "
                         << (names.empty() ? std::string("none")
                                           : llvm::join(names, ", "));
          return;
        }
        if (it->second.first != type) {
          error(in->loc) << "input '" << in->name << "' of " << where << " is "
                         << shapeString(type) << ", but " << it->second.second
                         << " outputs it as " << shapeString(it->second.first);
          return;
        }
        consumed.insert(in->name);
      }
      for (unsigned i = 1; i < fn.getNumResults(); ++i)
        if (auto a = fn.getResultAttrOfType<StringAttr>(i, kActivationAttr)) {
          produced[a.getValue().str()] = {fn.getResultTypes()[i], where};
          for (auto &[n, ref] : resolved.outputs)
            if (n == a.getValue() && ref.def && !ref.def->fromLibrary)
              producedAt.insert({n, ref.def->loc});
        }
    };
    auto kindOf = [&](StringRef blockName, unsigned layer) {
      for (auto [i, kind] : llvm::enumerate(kinds[blockName.str()]))
        if (llvm::is_contained(kind.layers, layer))
          return std::make_pair(i, &kind);
      llvm_unreachable("every layer has a kind");
    };
    visit(spec.block("embed"), "embed", kinds["embed"].front().resolved,
          std::nullopt);
    for (int64_t l = 0; l < spec.nLayer && !hadError; ++l)
      for (const char *name : {"time_mix", "channel_mix"}) {
        auto [i, kind] = kindOf(name, static_cast<unsigned>(l));
        visit(spec.block(name), (Twine(name) + "_" + Twine(i)).str(),
              kind->resolved, static_cast<unsigned>(l));
      }
    if (!hadError)
      visit(spec.block("head"), "head", kinds["head"].front().resolved,
            std::nullopt);
    for (const auto &[name, at] : producedAt)
      if (!hadError && !consumed.count(name))
        emitWarning(at) << "output '" << name
                        << "' is an input of no block called after it";
  };
  if (options.recurrent)
    buildForm(1, "");
  if (options.parallel && !options.recurrent && !hadError)
    buildForm(ShapedType::kDynamic, "_parallel");
  if (!hadError)
    checkActivationFlow(options.recurrent ? "" : "_parallel");
  if (options.parallel && options.recurrent && !hadError)
    buildForm(ShapedType::kDynamic, "_parallel");
  if (options.parallel && options.allLogits && !hadError) {
    allTokens = true;
    buildBlock(spec.block("head"), "head_all", {},
               kinds["head"].front().resolved);
    allTokens = false;
  }
  if (hadError)
    return nullptr;
  for (auto fn : module.getOps<func::FuncOp>())
    orderParamsByFirstUse(fn);
  return owned;
}

} // namespace

OwningOpRef<ModuleOp> mlir::rwkv::importSpec(const Spec &spec, MLIRContext *ctx,
                                             const ImportOptions &options) {
  return Importer(spec, ctx, options).run();
}
