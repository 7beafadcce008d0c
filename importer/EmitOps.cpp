//===- EmitOps.cpp - the block language's ops as rwkv IR ------------------===//
//
// The op table of the block language and, per op, the IR one value
// becomes (Importer::emit), with the operand and attribute checks whose
// messages name the spec key. docs/spec.md lists the ops.
//
//===----------------------------------------------------------------------===//

#include "importer/ImporterImpl.h"

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

namespace mlir::rwkv::detail {

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
      {"clamp", 1, 1, {}, {"min", "max"}, "x"},
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
      {"wkv4", 7, 7, {"y", "a", "b", "p"}, {"eps"}, "k, v, w, u, a, b, p"},
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
      {"head_qk",
       6,
       6,
       {"y", "k", "tokens", "count"},
       {"scale"},
       "q, k, tokens, cache_k, cache_tokens, count"},
      {"wkv1",
       8,
       8,
       {"y", "history", "den", "count"},
       {},
       "k, v, time_w, alpha, beta, history, den, count"},
      {"at_position", 3, 3, {"y", "count"}, {}, "tokens, count, table"},
      {"slice", 1, 1, {}, {"begin", "size"}, "x"},
      {"concat", 2, 8, {}, {}, "a, b[, ...]"},
  };
  return table;
}

const OpInfo *findOp(StringRef name) {
  for (const OpInfo &op : opTable())
    if (name == op.name)
      return &op;
  return nullptr;
}

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

bool Importer::advancedStates(const ValueDef &v, unsigned first,
                              ArrayRef<const char *> roles,
                              ArrayRef<const char *> results) {
  for (unsigned i = 0; i < roles.size(); ++i) {
    const ValueRef &ref = current->refs.at(v.args[first + i]);
    if (!ref.def || ref.def->kind != ValueKind::State) {
      error(v.loc) << "'" << v.name << "' (" << v.op << "): " << roles[i] << " "
                   << describe(v.args[first + i]) << " must be a state";
      return false;
    }
    std::string advanced = v.name + "." + results[i];
    if (ref.def->next != advanced) {
      error(v.loc) << "'" << v.name << "' (" << v.op << "): " << roles[i]
                   << " state '" << ref.def->name << "' must be advanced by "
                   << "this op: write next = \"" << advanced
                   << "\" (it has next = \"" << ref.def->next << "\")";
      return false;
    }
  }
  return true;
}

bool Importer::positionCounter(const ValueDef &v, unsigned arg, int64_t rows,
                               StringRef what) {
  const ValueRef &ref = current->refs.at(v.args[arg]);
  Type rowType = RankedTensorType::get({ShapedType::kDynamic, 1}, f32());
  if (!ref.def || ref.def->kind != ValueKind::State ||
      lookup(ref).getType() != rowType) {
    error(v.loc) << "'" << v.name << "' (" << v.op << "): the count "
                 << describe(v.args[arg])
                 << " must be a [1] state counting the positions seen "
                    "(state = [1], max_tokens = the "
                 << rows << " positions of " << what << ")";
    return false;
  }
  const ValueDef &state = *ref.def;
  int64_t limit = 0;
  for (const StateInfo &st : spec.states())
    if (st.name == state.name)
      limit = st.maxTokens;
  if (limit == 0 || limit > rows) {
    InFlightDiagnostic d = error(v.loc);
    d << "'" << v.name << "' (" << v.op << "): the count state '" << state.name
      << "' ";
    if (limit == 0)
      d << "needs max_tokens";
    else
      d << "has max_tokens = " << limit;
    d << ", and " << what << " has " << rows
      << " positions: set max_tokens to at most " << rows
      << ", so that the runtime refuses a sequence past the last position "
         "instead of reading positions that do not exist";
    return false;
  }
  // Someone must advance the counter, or every call would restart at
  // position 0: an op that reads it as its position, through `.count`.
  auto [owner, result] = StringRef(state.next).split('.');
  bool advanced = false;
  if (result == "count")
    for (const ValueDef *op : current->ops)
      if (op->name == owner && (op->op == "wkv1" || op->op == "at_position")) {
        unsigned at = op->op == "wkv1" ? 7 : 1;
        advanced = op->args.size() > at &&
                   current->refs.at(op->args[at]).def == &state;
      }
  if (!advanced) {
    error(v.loc) << "'" << v.name << "' (" << v.op << "): the count state '"
                 << state.name
                 << "' must be advanced by an op that reads it as its "
                    "position: write next = \""
                 << v.name << ".count\" (it has next = \"" << state.next
                 << "\")";
    return false;
  }
  return true;
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

  // Q8_0 blocks have kernels in `linear` (its weight) only.
  for (auto [i, value] : llvm::enumerate(in))
    if (isQ8Weight(value.getType()) && !(op == "linear" && i == 1)) {
      error(loc) << "'" << v.name << "' (" << v.op << "): operand "
                 << describe(v.args[i])
                 << " is a q8_0 matrix (spec [precision]), which only "
                    "'linear' reads, as its weight; declare it with another "
                    "projection class, or set its precision to \"f32\" or "
                    "\"bf16\"";
      return false;
    }

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
  } else if (op == "clamp") {
    // min(max(x, min), max): RWKV-2/3 clamp k at 60 before exp, RWKV-1 to
    // [-60, 30].
    if (!v.attrs.count("min") && !v.attrs.count("max")) {
      error(loc) << "'" << v.name << "' (clamp) needs 'min', 'max' or both";
      return false;
    }
    Value x = in[0];
    std::optional<float> bounds[2];
    for (int i = 0; i < 2; ++i) {
      const char *key = i == 0 ? "min" : "max";
      if (!v.attrs.count(key))
        continue;
      bounds[i] = floatAttr(v, key, std::nullopt);
      if (!bounds[i])
        return false;
    }
    if (bounds[0] && bounds[1] && !(*bounds[0] <= *bounds[1])) {
      error(v.attrs.at("min").loc)
          << "'" << v.name << "' (clamp): 'min' = " << *bounds[0]
          << " is above 'max' = " << *bounds[1];
      return false;
    }
    for (int i = 0; i < 2; ++i) {
      if (!bounds[i])
        continue;
      Value c = arith::ConstantOp::create(builder, loc,
                                          builder.getF32FloatAttr(*bounds[i]));
      Value filled = linalg::FillOp::create(builder, loc, c, emptyLike(x, loc))
                         .getResult(0);
      x = i == 0 ? Value(arith::MaximumFOp::create(builder, loc, x, filled))
                 : Value(arith::MinimumFOp::create(builder, loc, x, filled));
    }
    out.push_back(x);
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
      // Float [out, in], or Q8_0 blocks [out, in/32, 34] (precision q8_0).
      auto [outWidth, inWidth] = weightShape(w);
      if ((w.getRank() != 2 && !isQ8Weight(w)) || inWidth != width(0)) {
        error(loc) << "'" << v.name << "' (linear): the weight "
                   << describe(v.args[1]) << " must be [out, " << width(0)
                   << "] for the input " << describe(v.args[0]) << " of "
                   << shapeString(type(0)) << ", got " << shapeString(w)
                   << (isQ8Weight(w) ? " (Q8_0 blocks of " +
                                           std::to_string(inWidth) + " inputs)"
                                     : std::string());
        return false;
      }
      y = LinearOp::create(builder, loc, act(outWidth, type(0).getDimSize(1)),
                           in[0], in[1]);
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
      FloatAttr eps;
      if (v.attrs.count("eps")) {
        std::optional<float> value = floatAttr(v, "eps", std::nullopt);
        if (!value)
          return false;
        if (!(*value >= 0.0f)) {
          error(v.attrs.at("eps").loc)
              << "'" << v.name << ".eps' must be >= 0, got " << *value;
          return false;
        }
        eps = builder.getF32FloatAttr(*value);
      }
      created =
          Wkv4Op::create(builder, loc, in[0].getType(), row, row, row, in[0],
                         in[1], in[2], in[3], in[4], in[5], in[6], eps);
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
    if (!advancedStates(v, 3, {"cache_k", "cache_v", "count"},
                        {"k", "v", "count"}))
      return false;
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
  } else if (op == "head_qk") {
    if (!activation(0) || !activation(1))
      return false;
    // The window is state this op advances (before the shapes: a cache
    // that is not a state has none the op could check).
    if (!advancedStates(v, 3, {"cache_k", "cache_tokens", "count"},
                        {"k", "tokens", "count"}))
      return false;
    auto tokensType = type(2);
    if (tokensType.getRank() != 2 ||
        !tokensType.getElementType().isInteger(32)) {
      error(loc) << "'" << v.name << "' (head_qk): operand "
                 << describe(v.args[2])
                 << " must be the token ids [batch, tokens] (the built-in "
                    "'tokens'), got "
                 << shapeString(tokensType);
      return false;
    }
    if (width(0) != width(1))
      return mismatch(0, 1, "q and k must have one width");
    std::optional<float> scale = floatAttr(
        v, "scale", static_cast<float>(1.0 / static_cast<double>(width(0))));
    if (!scale)
      return false;
    auto yType = RankedTensorType::get(
        {ShapedType::kDynamic, type(0).getDimSize(1), spec.vocabSize}, f32());
    auto created =
        HeadQkOp::create(builder, loc, yType, in[3].getType(), in[4].getType(),
                         in[5].getType(), in[0], in[1], in[2], in[3], in[4],
                         in[5], builder.getF32FloatAttr(*scale),
                         builder.getI64IntegerAttr(spec.vocabSize));
    if (failed(mlir::verify(created))) {
      hadError = true;
      return false;
    }
    out.append(created->getResults().begin(), created->getResults().end());
  } else if (op == "wkv1") {
    if (!activation(0) || !activation(1))
      return false;
    if (in[0].getType() != in[1].getType())
      return mismatch(0, 1, "k and v must have one shape");
    // The history and the running denominator are states this op
    // advances; the count reads positions of the parameters' L.
    if (!advancedStates(v, 5, {"history", "den"}, {"history", "den"}))
      return false;
    // Shapes in the spec's terms (the verifier below is the backstop).
    auto kernel = type(2);
    int64_t heads = kernel.getRank() == 2 ? kernel.getDimSize(0) : 0,
            rows = kernel.getRank() == 2 ? kernel.getDimSize(1) : 0;
    if (heads <= 0 || width(0) % heads != 0) {
      error(loc) << "'" << v.name << "' (wkv1): the kernel "
                 << describe(v.args[2])
                 << " must be [heads, ctx_len] with heads dividing the width "
                 << width(0) << " of " << describe(v.args[0]) << ", got "
                 << shapeString(kernel);
      return false;
    }
    for (unsigned i : {3u, 4u})
      if (in[i].getType() != kernel)
        return mismatch(2, i, "time_w, alpha and beta must have one shape");
    auto expectState = [&](unsigned i, SmallVector<int64_t> shape) {
      auto want = RankedTensorType::get(shape, f32());
      if (in[i].getType() == want)
        return true;
      error(loc) << "'" << v.name << "' (wkv1): the state "
                 << describe(v.args[i]) << " must be " << shapeString(want)
                 << " for " << heads << " heads over " << rows
                 << " positions, got " << shapeString(in[i].getType());
      return false;
    };
    if (!expectState(5, {ShapedType::kDynamic, rows, width(0)}) ||
        !expectState(6, {ShapedType::kDynamic, width(0)}))
      return false;
    auto created =
        Wkv1Op::create(builder, loc, in[0].getType(), in[5].getType(),
                       in[6].getType(), in[7].getType(), in[0], in[1], in[2],
                       in[3], in[4], in[5], in[6], in[7]);
    if (failed(mlir::verify(created))) {
      hadError = true;
      return false;
    }
    if (!positionCounter(v, 7, type(2).getDimSize(1),
                         "its kernel " + describe(v.args[2])))
      return false;
    out.append(created->getResults().begin(), created->getResults().end());
  } else if (op == "at_position") {
    auto tt = type(0);
    if (tt.getRank() != 2 || !tt.getElementType().isInteger(32)) {
      error(loc) << "'" << v.name << "' (at_position) takes the positions of "
                 << "the call's tokens: its first operand must be 'tokens', "
                    "got "
                 << describe(v.args[0]);
      return false;
    }
    if (type(2).getRank() != 2) {
      error(loc) << "'" << v.name << "' (at_position): the table "
                 << describe(v.args[2])
                 << " must be [positions, width] (a per-position scale is "
                    "[ctx_len, 1]), got "
                 << shapeString(type(2));
      return false;
    }
    int64_t rows = type(2).getDimSize(0);
    if (!positionCounter(v, 1, rows, "the table " + describe(v.args[2])))
      return false;
    // positions[b, t] = count[b] + t, the count clamped into [0, rows]
    // (NaN reads as 0); rwkv.embedding clamps the ids into the table.
    Value tokens = in[0], count = in[1];
    Type i32 = builder.getI32Type();
    SmallVector<Value> dynamic{tensor::DimOp::create(builder, loc, tokens, 0)};
    if (tt.isDynamicDim(1))
      dynamic.push_back(tensor::DimOp::create(builder, loc, tokens, 1));
    Value posInit =
        tensor::EmptyOp::create(builder, loc, tt.getShape(), i32, dynamic);
    AffineMap countMap = AffineMap::get(
        2, 0, {builder.getAffineDimExpr(0), builder.getAffineConstantExpr(0)},
        ctx);
    auto positions = linalg::GenericOp::create(
        builder, loc, TypeRange{posInit.getType()}, ValueRange{count},
        ValueRange{posInit},
        ArrayRef<AffineMap>{countMap, builder.getMultiDimIdentityMap(2)},
        ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                      utils::IteratorType::parallel},
        [&](OpBuilder &b, Location l, ValueRange args) {
          auto f32c = [&](double x) -> Value {
            return arith::ConstantOp::create(b, l, b.getF32FloatAttr(x));
          };
          Value n = arith::MinNumFOp::create(
              b, l, arith::MaxNumFOp::create(b, l, args[0], f32c(0.0)),
              f32c(static_cast<double>(rows)));
          Value t = arith::IndexCastOp::create(
              b, l, i32, linalg::IndexOp::create(b, l, 1));
          linalg::YieldOp::create(
              b, l,
              ValueRange{arith::AddIOp::create(
                  b, l, arith::FPToSIOp::create(b, l, i32, n), t)});
        });
    out.push_back(EmbeddingOp::create(
        builder, loc, act(type(2).getDimSize(1), tt.getDimSize(1)),
        positions.getResult(0), in[2]));
    // new count = count + T.
    Value calls = arith::UIToFPOp::create(
        builder, loc, f32(),
        arith::IndexCastOp::create(
            builder, loc, builder.getI64Type(),
            tensor::DimOp::create(builder, loc, tokens, 1)));
    Value filled =
        linalg::FillOp::create(builder, loc, calls, emptyLike(count, loc))
            .getResult(0);
    out.push_back(arith::AddFOp::create(builder, loc, count, filled));
  } else if (op == "slice") {
    if (!activation(0))
      return false;
    std::optional<int64_t> begin = sizeAttr(v, "begin", 0);
    std::optional<int64_t> size = sizeAttr(v, "size", std::nullopt);
    if (!begin || !size) {
      if (!hadError)
        error(loc) << "'" << v.name
                   << "' (slice) needs 'size' (and optionally 'begin', 0 by "
                      "default): the channels [begin, begin + size)";
      return false;
    }
    if (*begin < 0 || *size <= 0 || *begin > width(0) ||
        *size > width(0) - *begin) {
      error(loc) << "'" << v.name << "' (slice): the channels [" << *begin
                 << ", " << *begin << " + " << *size << ") are not inside "
                 << describe(v.args[0]) << " of " << shapeString(type(0));
      return false;
    }
    OpFoldResult zero = builder.getIndexAttr(0), one = builder.getIndexAttr(1);
    out.push_back(tensor::ExtractSliceOp::create(
        builder, loc, act(*size, type(0).getDimSize(1)), in[0],
        ArrayRef<OpFoldResult>{zero, zero, builder.getIndexAttr(*begin)},
        ArrayRef<OpFoldResult>{tensor::getMixedSize(builder, loc, in[0], 0),
                               tensor::getMixedSize(builder, loc, in[0], 1),
                               builder.getIndexAttr(*size)},
        ArrayRef<OpFoldResult>{one, one, one}));
  } else if (op == "concat") {
    int64_t total = 0;
    for (unsigned i = 0; i < in.size(); ++i) {
      if (!activation(i))
        return false;
      if (type(i).getDimSize(1) != type(0).getDimSize(1))
        return mismatch(0, i, "the operands differ in tokens");
      total += width(i);
    }
    SmallVector<Value> dynamic{tensor::DimOp::create(builder, loc, in[0], 0)};
    if (type(0).isDynamicDim(1))
      dynamic.push_back(tensor::DimOp::create(builder, loc, in[0], 1));
    Value result = tensor::EmptyOp::create(
        builder, loc, act(total, type(0).getDimSize(1)).getShape(), f32(),
        dynamic);
    OpFoldResult zero = builder.getIndexAttr(0), one = builder.getIndexAttr(1);
    int64_t at = 0;
    for (unsigned i = 0; i < in.size(); ++i) {
      result = tensor::InsertSliceOp::create(
          builder, loc, in[i], result,
          ArrayRef<OpFoldResult>{zero, zero, builder.getIndexAttr(at)},
          ArrayRef<OpFoldResult>{tensor::getMixedSize(builder, loc, in[i], 0),
                                 tensor::getMixedSize(builder, loc, in[i], 1),
                                 builder.getIndexAttr(width(i))},
          ArrayRef<OpFoldResult>{one, one, one});
      at += width(i);
    }
    out.push_back(result);
  } else {
    llvm_unreachable("op in the table without a builder");
  }
  built[&v] = std::move(out);
  return true;
}

} // namespace mlir::rwkv::detail
