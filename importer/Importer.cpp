//===- Importer.cpp - build rwkv IR from a spec ---------------------------===//

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

#include <map>
#include <set>

using namespace mlir;
using namespace mlir::rwkv;

namespace {

/// Collects a function signature with role attributes, then builds the body.
struct Signature {
  SmallVector<Type> argTypes, resultTypes;
  SmallVector<DictionaryAttr> argAttrs, resultAttrs;
  SmallVector<std::string> argNames;
};

class Importer {
public:
  Importer(const Spec &spec, MLIRContext *ctx, const ImportOptions &options)
      : spec(spec), ctx(ctx), builder(ctx), options(options),
        params(spec.parameters()) {}

  OwningOpRef<ModuleOp> run();

private:
  // Types.
  Type f32() { return builder.getF32Type(); }
  RankedTensorType act(int64_t width, int64_t tokens = -1) {
    return RankedTensorType::get(
        {ShapedType::kDynamic, tokens < 0 ? t : tokens, width}, f32());
  }
  RankedTensorType paramType(const ParamInfo &p) {
    Type element = p.dtype == "bf16" ? Type(builder.getBF16Type()) : f32();
    return RankedTensorType::get(p.shape, element);
  }

  /// A location naming `name` at spec key `key`.
  Location at(StringRef key, StringRef name) {
    return NameLoc::get(builder.getStringAttr(name), spec.locOf(key, ctx));
  }

  const ParamInfo &param(StringRef name) {
    for (const ParamInfo &p : params)
      if (p.name == name)
        return p;
    llvm_unreachable("unknown parameter");
  }

  /// Parameters of block `layer` whose names start with one of `prefixes`.
  SmallVector<const ParamInfo *> layerParams(unsigned layer,
                                             ArrayRef<StringRef> prefixes) {
    SmallVector<const ParamInfo *> out;
    for (const ParamInfo &p : params)
      if (p.perLayer && layer >= p.firstLayer &&
          llvm::any_of(prefixes, [&](StringRef pre) {
            return StringRef(p.name).starts_with(pre);
          }))
        out.push_back(&p);
    return out;
  }

  void addArg(Signature &sig, Type type, StringRef role, StringRef name) {
    sig.argTypes.push_back(type);
    sig.argAttrs.push_back(builder.getDictionaryAttr(
        builder.getNamedAttr(role, builder.getStringAttr(name))));
    sig.argNames.push_back(name.str());
  }
  void addResult(Signature &sig, Type type, StringRef role, StringRef name) {
    sig.resultTypes.push_back(type);
    sig.resultAttrs.push_back(builder.getDictionaryAttr(
        builder.getNamedAttr(role, builder.getStringAttr(name))));
  }

  /// Creates `func @name` with `sig`, positions the builder in its body and
  /// fills `values` with the block arguments by name.
  func::FuncOp beginFunc(StringRef name, StringRef entry,
                         ArrayRef<unsigned> layers, const Signature &sig,
                         Location loc);

  /// Builds the layer norm of `x` with parameters `<prefix>.weight/bias`.
  Value layerNorm(Value x, StringRef prefix, Location loc) {
    return LayerNormOp::create(builder, loc, x.getType(), x,
                               values[(prefix + ".weight").str()],
                               values[(prefix + ".bias").str()],
                               builder.getF32FloatAttr(spec.layerNormEps));
  }

  /// Mixes the current token `x` with the previous one `sx` by parameter
  /// `mu`, following the spec's token-shift convention.
  Value mix(Value x, Value sx, StringRef mu, TokenShiftKind kind,
            Location loc) {
    if (kind == TokenShiftKind::LerpPrevious)
      return LerpOp::create(builder, loc, x.getType(), x, sx, values[mu.str()]);
    return LerpOp::create(builder, loc, x.getType(), sx, x, values[mu.str()]);
  }

  Value linear(Value x, StringRef weight, Location loc) {
    Value w = values[weight.str()];
    int64_t out = cast<RankedTensorType>(w.getType()).getDimSize(0);
    return LinearOp::create(builder, loc, act(out), x, w);
  }

  /// A LoRA block written as its primitive chain, `outer(inner(x · downᵀ) ·
  /// upᵀ + bias)`; rwkv-fuse-lora turns it into one rwkv.lora.
  Value lora(Value x, Value down, Value up, Value bias, Activation inner,
             Activation outer, Location loc) {
    int64_t rank = cast<RankedTensorType>(down.getType()).getDimSize(0);
    int64_t out = cast<RankedTensorType>(up.getType()).getDimSize(0);
    Value h = LinearOp::create(builder, loc, act(rank), x, down);
    if (inner != Activation::None)
      h = ActivationOp::create(builder, loc, h.getType(), h, inner);
    Value y = LinearOp::create(builder, loc, act(out), h, up);
    if (bias)
      y = BiasAddOp::create(builder, loc, y.getType(), y, bias);
    if (outer != Activation::None)
      y = ActivationOp::create(builder, loc, y.getType(), y, outer);
    return y;
  }
  Value lora(Value x, StringRef prefix, bool bias, Activation inner,
             Activation outer, Location loc) {
    return lora(x, values[(prefix + "1").str()], values[(prefix + "2").str()],
                bias ? values[(prefix + "0").str()] : Value(), inner, outer,
                loc);
  }

  /// tensor.empty with the type and dynamic sizes of `like`.
  Value emptyLike(Value like, Location loc);
  /// Broadcasts a [C] parameter over [B, T, C] like `like`.
  Value broadcastLike(Value vec, Value like, Location loc);
  /// Repeats each of the H values of `perHead` over its head's N channels.
  Value headsToChannels(Value perHead, Location loc);
  /// f(p) for parameter `name`, computed from what the checkpoint stores
  /// (the binding's stored_as), so conversions run in generated code.
  Value paramAs(StringRef name, StoredAs want, Location loc);

  void buildEmbed();
  void buildTimeMix(StringRef name, ArrayRef<unsigned> layers);
  void buildChannelMix(StringRef name, ArrayRef<unsigned> layers);
  void buildHead();

  const Spec &spec;
  MLIRContext *ctx;
  OpBuilder builder;
  ImportOptions options;
  /// Tokens per call of the form being built: 1, or dynamic.
  int64_t t = 1;
  /// "" for the recurrent form, "_parallel" for the parallel one.
  std::string suffix;
  std::vector<ParamInfo> params;
  ModuleOp module;
  std::map<std::string, Value> values;
};

func::FuncOp Importer::beginFunc(StringRef name, StringRef entry,
                                 ArrayRef<unsigned> layers,
                                 const Signature &sig, Location loc) {
  builder.setInsertionPointToEnd(module.getBody());
  auto fnType = builder.getFunctionType(sig.argTypes, sig.resultTypes);
  auto fn = func::FuncOp::create(builder, loc, (name + suffix).str(), fnType);
  fn->setAttr(kModeAttr,
              builder.getStringAttr(t == 1 ? "recurrent" : "parallel"));
  fn.setAllArgAttrs(ArrayRef<DictionaryAttr>(sig.argAttrs));
  fn.setAllResultAttrs(ArrayRef<DictionaryAttr>(sig.resultAttrs));
  fn->setAttr(kEntryAttr, builder.getStringAttr(entry));
  SmallVector<int64_t> layerList(layers.begin(), layers.end());
  fn->setAttr(kLayersAttr, builder.getDenseI64ArrayAttr(layerList));
  Block *body = fn.addEntryBlock();
  builder.setInsertionPointToStart(body);
  values.clear();
  for (auto [i, n] : llvm::enumerate(sig.argNames))
    values[n] = body->getArgument(i);
  return fn;
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

void Importer::buildEmbed() {
  Signature sig;
  addArg(sig,
         RankedTensorType::get({ShapedType::kDynamic, t}, builder.getI32Type()),
         kActivationAttr, "tokens");
  for (const ParamInfo &p : params)
    if (!p.perLayer &&
        (p.name == "emb" || StringRef(p.name).starts_with("ln0.")))
      addArg(sig, paramType(p), kParamAttr, p.name);
  addResult(sig, act(spec.dModel), kActivationAttr, "h");
  Location loc = at("model.vocab_size", "embed");
  beginFunc("embed", "embed", {}, sig, loc);
  Value h = EmbeddingOp::create(builder, loc, act(spec.dModel),
                                values["tokens"], values["emb"]);
  if (spec.ln0)
    h = layerNorm(h, "ln0", at("norm.ln0", "blocks.0.ln0"));
  func::ReturnOp::create(builder, loc, h);
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

Value Importer::paramAs(StringRef name, StoredAs want, Location loc) {
  Value stored = values[name.str()];
  StoredAs have = param(name).binding.storedAs;
  if (have == want)
    return stored;
  auto neg = [&](Value v) -> Value {
    return arith::NegFOp::create(builder, loc, v);
  };
  auto exp = [&](Value v) -> Value {
    return math::ExpOp::create(builder, loc, v);
  };
  auto log = [&](Value v) -> Value {
    return math::LogOp::create(builder, loc, v);
  };
  // Back to the raw parameter p ...
  Value p = stored;
  switch (have) {
  case StoredAs::Raw:
    break;
  case StoredAs::Exp:
    p = log(stored);
    break;
  case StoredAs::NegExp:
    p = log(neg(stored));
    break;
  case StoredAs::ExpNegExp:
    p = log(neg(log(stored)));
    break;
  }
  // ... then forward to the wanted function of it.
  switch (want) {
  case StoredAs::Raw:
    return p;
  case StoredAs::Exp:
    return exp(p);
  case StoredAs::NegExp:
    return neg(exp(p));
  case StoredAs::ExpNegExp:
    return exp(neg(exp(p)));
  }
  llvm_unreachable("unknown stored_as");
}

void Importer::buildTimeMix(StringRef name, ArrayRef<unsigned> layers) {
  const int64_t c = spec.dModel, h = spec.numHeads(), n = spec.headSize;
  const bool first = layers.front() == 0;
  const bool residualIn = spec.valueResidual && !first;
  const bool residualOut = spec.valueResidual && first;
  auto stateType =
      RankedTensorType::get({ShapedType::kDynamic, h, n, n}, f32());
  auto rowType = RankedTensorType::get({ShapedType::kDynamic, c}, f32());

  Signature sig;
  addArg(sig, act(c), kActivationAttr, "h");
  addArg(sig, rowType, kStateAttr, "att_shift");
  std::vector<std::string> wkvStates;
  if (spec.wkv == WkvKind::Wkv4)
    wkvStates = {"wkv_a", "wkv_b", "wkv_p"};
  else
    wkvStates = {"wkv"};
  for (const std::string &st : wkvStates)
    addArg(sig, st == "wkv" ? Type(stateType) : Type(rowType), kStateAttr, st);
  if (residualIn)
    addArg(sig, act(c), kActivationAttr, "v_first");
  for (const ParamInfo *p : layerParams(layers.front(), {"ln1.", "att."}))
    addArg(sig, paramType(*p), kParamAttr, p->name);
  addResult(sig, act(c), kActivationAttr, "h");
  addResult(sig, rowType, kStateAttr, "att_shift");
  for (const std::string &st : wkvStates)
    addResult(sig, st == "wkv" ? Type(stateType) : Type(rowType), kStateAttr,
              st);
  if (residualOut)
    addResult(sig, act(c), kActivationAttr, "v_first");

  beginFunc(name, "time_mix", layers, sig, at("time_mix", name));
  Value hIn = values["h"];
  Value x = layerNorm(hIn, "ln1", at("norm.layer_norm_eps", "ln1"));

  // Token shift and the mixed inputs x_w, x_k, ... (§2.1, §3.1, §4.1, §5.1).
  Location shiftLoc = at("time_mix.token_shift", "att.token_shift");
  auto shift = TokenShiftOp::create(builder, shiftLoc, x.getType(), rowType, x,
                                    values["att_shift"]);
  Value sx = shift.getShifted();
  std::map<std::string, Value> xs;
  std::vector<std::string> inputs = spec.timeMixInputs();
  if (spec.timeMixShift == TokenShiftKind::DDLerp) {
    SmallVector<Value> mus;
    for (const std::string &m : inputs)
      mus.push_back(values["att.time_maa_" + m]);
    auto dd = DDLerpOp::create(
        builder, shiftLoc, x, sx, values["att.time_maa_x"], mus,
        values["att.time_maa_w1"], values["att.time_maa_w2"]);
    for (auto [i, m] : llvm::enumerate(inputs))
      xs[m] = dd.getResults()[i];
  } else {
    for (const std::string &m : inputs) {
      std::string mu = spec.timeMixPrefix() + m;
      xs[m] = mix(x, sx, mu, spec.timeMixShift, at("time_mix.token_shift", mu));
    }
  }

  Value r = linear(xs["r"], "att.receptance", at("time_mix", "att.receptance"));
  if (spec.receptance == ReceptanceKind::Sigmoid)
    r = ActivationOp::create(builder,
                             at("time_mix.receptance", "att.receptance"),
                             r.getType(), r, Activation::Sigmoid);
  Value k = linear(xs["k"], "att.key", at("time_mix", "att.key"));
  Value v = linear(xs["v"], "att.value", at("time_mix", "att.value"));

  // Decay (§2.1, §3.1, §4.2, §5.2). wkv4 takes the log-decay per channel,
  // the others the decay per token.
  Location decayLoc = at("time_mix.decay", "att.decay");
  Value w;
  switch (spec.decay) {
  case DecayParam::Static:
  case DecayParam::StaticPerHead: {
    StoredAs want =
        spec.wkv == WkvKind::Wkv4 ? StoredAs::NegExp : StoredAs::ExpNegExp;
    w = paramAs("att.time_decay", want, decayLoc);
    if (spec.decay == DecayParam::StaticPerHead)
      w = headsToChannels(w, decayLoc);
    if (spec.wkv != WkvKind::Wkv4)
      w = broadcastLike(w, k, decayLoc);
    break;
  }
  case DecayParam::LoraExp: {
    Value z =
        lora(xs["w"], values["att.time_decay_w1"], values["att.time_decay_w2"],
             paramAs("att.time_decay", StoredAs::Raw, decayLoc),
             Activation::Tanh, Activation::None, decayLoc);
    w = DecayOp::create(builder, decayLoc, z.getType(), DecayKind::ExpNegExp,
                        z);
    break;
  }
  case DecayParam::LoraSigmoid: {
    Value z = lora(xs["w"], "att.w", true, Activation::Tanh, Activation::None,
                   decayLoc);
    w = DecayOp::create(builder, decayLoc, z.getType(), DecayKind::Sigmoid, z);
    break;
  }
  }

  // Bonus (§2.1, §3.1, §5.5).
  Location bonusLoc = at("time_mix.bonus", "att.bonus");
  Value u;
  switch (spec.bonus) {
  case BonusKind::TimeFirst:
    u = paramAs("att.time_first", StoredAs::Raw, bonusLoc);
    break;
  case BonusKind::U:
    u = paramAs("att.time_faaaa", StoredAs::Raw, bonusLoc);
    break;
  case BonusKind::UExp:
    u = paramAs("att.time_first", StoredAs::Exp, bonusLoc);
    break;
  case BonusKind::UExpPerHead:
    u = headsToChannels(paramAs("att.time_first", StoredAs::Exp, bonusLoc),
                        bonusLoc);
    break;
  case BonusKind::RkAfterNorm:
    break;
  }

  // Value residual (§5.2).
  if (residualIn) {
    Location vLoc = at("time_mix.value_residual", "att.value_residual");
    Value nu = lora(xs["v"], "att.v", true, Activation::None,
                    Activation::Sigmoid, vLoc);
    v = LerpOp::create(builder, vLoc, v.getType(), v, values["v_first"], nu);
  }

  // The recurrence.
  Location wkvLoc = at("time_mix.wkv", "att.wkv");
  Value y, kTilde;
  SmallVector<Value> newStates;
  switch (spec.wkv) {
  case WkvKind::Wkv4: {
    auto op = Wkv4Op::create(builder, wkvLoc, k.getType(), rowType, rowType,
                             rowType, k, v, w, u, values["wkv_a"],
                             values["wkv_b"], values["wkv_p"]);
    // v4 gates the WKV output with the receptance (§2.1).
    y = arith::MulFOp::create(builder, wkvLoc, r, op.getY());
    newStates = {op.getNewA(), op.getNewB(), op.getNewP()};
    break;
  }
  case WkvKind::Wkv5: {
    auto op = Wkv5Op::create(builder, wkvLoc, r.getType(), stateType, r, w, k,
                             v, u, values["wkv"]);
    y = op.getY();
    newStates = {op.getNewState()};
    break;
  }
  case WkvKind::Wkv7: {
    // Removal and replacement keys (§5.3).
    Value alpha =
        lora(xs["a"], "att.a", true, Activation::None, Activation::Sigmoid,
             at("time_mix.lora_rank.iclr", "att.iclr"));
    Value kappa = arith::MulFOp::create(
        builder, wkvLoc, k, broadcastLike(values["att.k_k"], k, wkvLoc));
    Value kappaHat = L2NormOp::create(builder, wkvLoc, kappa.getType(), kappa,
                                      builder.getI64IntegerAttr(n),
                                      builder.getF32FloatAttr(1e-12f));
    Value a = arith::NegFOp::create(builder, wkvLoc, kappaHat);
    Value b = arith::MulFOp::create(builder, wkvLoc, kappaHat, alpha);
    Value kAlpha = arith::MulFOp::create(builder, wkvLoc, k, alpha);
    kTilde = LerpOp::create(builder, wkvLoc, k.getType(), k, kAlpha,
                            values["att.k_a"]);
    auto op = Wkv7Op::create(builder, wkvLoc, r.getType(), stateType, r, w,
                             kTilde, v, a, b, values["wkv"]);
    y = op.getY();
    newStates = {op.getNewState()};
    break;
  }
  }

  Value o = y;
  if (spec.outputNorm == OutputNormKind::GroupNorm)
    o = GroupNormOp::create(builder, at("norm.group_norm_eps", "att.ln_x"),
                            o.getType(), o, values["att.ln_x.weight"],
                            values["att.ln_x.bias"],
                            builder.getI64IntegerAttr(h),
                            builder.getF32FloatAttr(spec.groupNormEps));
  if (spec.bonus == BonusKind::RkAfterNorm) {
    Value bonus = Wkv7BonusOp::create(builder, bonusLoc, r.getType(), r, kTilde,
                                      v, values["att.r_k"]);
    o = arith::AddFOp::create(builder, bonusLoc, o, bonus);
  }
  Location gateLoc = at("time_mix.gate", "att.gate");
  if (spec.gate == GateKind::Silu) {
    Value g = linear(xs["g"], "att.gate", gateLoc);
    Value s = ActivationOp::create(builder, gateLoc, g.getType(), g,
                                   Activation::Sigmoid);
    g = arith::MulFOp::create(builder, gateLoc, g, s);
    o = arith::MulFOp::create(builder, gateLoc, o, g);
  } else if (spec.gate == GateKind::LoraSigmoid) {
    Value g = lora(xs["g"], "att.g", false, Activation::Sigmoid,
                   Activation::None, gateLoc);
    o = arith::MulFOp::create(builder, gateLoc, o, g);
  }
  Value out = linear(o, "att.output", at("time_mix", "att.output"));
  if (spec.residualBias)
    out = BiasAddOp::create(builder, at("model.residual_bias", "att.output"),
                            out.getType(), out, values["att.output.bias"]);
  Value hOut =
      arith::AddFOp::create(builder, at("time_mix", "att.residual"), hIn, out);

  SmallVector<Value> results{hOut, shift.getLast()};
  results.append(newStates.begin(), newStates.end());
  if (residualOut)
    results.push_back(v);
  func::ReturnOp::create(builder, at("time_mix", name), results);
}

void Importer::buildChannelMix(StringRef name, ArrayRef<unsigned> layers) {
  const int64_t c = spec.dModel;
  auto shiftType = RankedTensorType::get({ShapedType::kDynamic, c}, f32());
  Signature sig;
  addArg(sig, act(c), kActivationAttr, "h");
  addArg(sig, shiftType, kStateAttr, "ffn_shift");
  for (const ParamInfo *p : layerParams(layers.front(), {"ln2.", "ffn."}))
    addArg(sig, paramType(*p), kParamAttr, p->name);
  addResult(sig, act(c), kActivationAttr, "h");
  addResult(sig, shiftType, kStateAttr, "ffn_shift");

  Location loc = at("channel_mix", name);
  beginFunc(name, "channel_mix", layers, sig, loc);
  Value hIn = values["h"];
  Value x = layerNorm(hIn, "ln2", at("norm.layer_norm_eps", "ln2"));
  Location shiftLoc = at("channel_mix.token_shift", "ffn.token_shift");
  auto shift = TokenShiftOp::create(builder, shiftLoc, x.getType(), shiftType,
                                    x, values["ffn_shift"]);
  std::string prefix = spec.channelMixPrefix();
  Value xk =
      mix(x, shift.getShifted(), prefix + "k", spec.channelMixShift, shiftLoc);
  Location mixLoc = at("channel_mix.kind", "ffn.channel_mix");
  // Written as its primitive chain; rwkv-fuse-channel-mix makes it one
  // rwkv.channel_mix.
  Value k = ActivationOp::create(builder, mixLoc, act(spec.dFfn),
                                 linear(xk, "ffn.key", mixLoc),
                                 Activation::ReluSquare);
  Value o = linear(k, "ffn.value", mixLoc);
  if (spec.residualBias)
    o = BiasAddOp::create(builder, at("model.residual_bias", "ffn.value"),
                          o.getType(), o, values["ffn.value.bias"]);
  if (spec.channelMix == ChannelMixKind::ReluSquareGated) {
    Value xr = mix(x, shift.getShifted(), prefix + "r", spec.channelMixShift,
                   shiftLoc);
    Value r = ActivationOp::create(builder, mixLoc, act(c),
                                   linear(xr, "ffn.receptance", mixLoc),
                                   Activation::Sigmoid);
    o = arith::MulFOp::create(builder, mixLoc, r, o);
  }
  Value hOut =
      arith::AddFOp::create(builder, at("channel_mix", "ffn.residual"), hIn, o);
  func::ReturnOp::create(builder, loc, ValueRange{hOut, shift.getLast()});
}

void Importer::buildHead() {
  Signature sig;
  addArg(sig, act(spec.dModel), kActivationAttr, "h");
  for (const ParamInfo &p : params)
    if (!p.perLayer && (StringRef(p.name).starts_with("head") ||
                        StringRef(p.name).starts_with("ln_out.")))
      addArg(sig, paramType(p), kParamAttr, p.name);
  addResult(sig, act(spec.vocabSize, 1), kActivationAttr, "logits");
  Location loc = at("model.vocab_size", "head");
  beginFunc("head", "head", {}, sig, loc);
  Value h = values["h"];
  if (t != 1) {
    // Only the last token's logits are needed after a prompt.
    Value tokens = tensor::DimOp::create(builder, loc, h, 1);
    Value last = arith::SubIOp::create(
        builder, loc, tokens, arith::ConstantIndexOp::create(builder, loc, 1));
    OpFoldResult zero = builder.getIndexAttr(0), one = builder.getIndexAttr(1);
    h = tensor::ExtractSliceOp::create(
        builder, loc, act(spec.dModel, 1), h,
        ArrayRef<OpFoldResult>{zero, last, zero},
        ArrayRef<OpFoldResult>{tensor::getMixedSize(builder, loc, h, 0), one,
                               builder.getIndexAttr(spec.dModel)},
        ArrayRef<OpFoldResult>{one, one, one});
  }
  Value x = LayerNormOp::create(builder, at("norm.layer_norm_eps", "ln_out"),
                                h.getType(), h, values["ln_out.weight"],
                                values["ln_out.bias"],
                                builder.getF32FloatAttr(spec.layerNormEps));
  Value logits =
      LinearOp::create(builder, loc, act(spec.vocabSize, 1), x, values["head"]);
  if (spec.headBias)
    logits = BiasAddOp::create(builder, at("model.head_bias", "head.bias"),
                               logits.getType(), logits, values["head.bias"]);
  func::ReturnOp::create(builder, loc, logits);
}

/// Puts the parameter arguments of `fn` in the order of their first use in
/// its body (activations and states keep their places in front), so a
/// function's signature follows its dataflow and not the order in which
/// its parameters were declared.
static void orderParamsByFirstUse(func::FuncOp fn) {
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

  // Blocks with the same parameter set share one function ("block kind").
  std::map<std::vector<std::string>, std::vector<unsigned>> timeKinds,
      channelKinds;
  for (unsigned l = 0; l < spec.nLayer; ++l) {
    std::vector<std::string> tm, cm;
    for (const ParamInfo *p : layerParams(l, {"ln1.", "att."}))
      tm.push_back(p->name);
    for (const ParamInfo *p : layerParams(l, {"ln2.", "ffn."}))
      cm.push_back(p->name);
    // Layer 0 of a value-residual model produces v_first: its own kind.
    if (spec.valueResidual && l == 0)
      tm.push_back("<v_first>");
    timeKinds[tm].push_back(l);
    channelKinds[cm].push_back(l);
  }

  std::vector<std::vector<unsigned>> timeGroups, channelGroups;
  for (auto &[key, layers] : timeKinds)
    timeGroups.push_back(layers);
  for (auto &[key, layers] : channelKinds)
    channelGroups.push_back(layers);
  // Number kinds in layer order so names are stable.
  llvm::sort(timeGroups);
  llvm::sort(channelGroups);
  auto buildForm = [&](int64_t tokens, StringRef nameSuffix) {
    t = tokens;
    suffix = nameSuffix.str();
    buildEmbed();
    for (auto [i, layers] : llvm::enumerate(timeGroups))
      buildTimeMix(("time_mix_" + Twine(i)).str(), layers);
    for (auto [i, layers] : llvm::enumerate(channelGroups))
      buildChannelMix(("channel_mix_" + Twine(i)).str(), layers);
    buildHead();
  };
  if (options.recurrent)
    buildForm(1, "");
  if (options.parallel)
    buildForm(ShapedType::kDynamic, "_parallel");
  for (auto fn : module.getOps<func::FuncOp>())
    orderParamsByFirstUse(fn);
  return owned;
}

} // namespace

OwningOpRef<ModuleOp> mlir::rwkv::importSpec(const Spec &spec, MLIRContext *ctx,
                                             const ImportOptions &options) {
  return Importer(spec, ctx, options).run();
}
