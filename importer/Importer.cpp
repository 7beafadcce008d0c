//===- Importer.cpp - build rwkv IR from a spec ---------------------------===//

#include "importer/Importer.h"

#include "dialect/RwkvDialect.h"
#include "dialect/RwkvOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
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
      : spec(spec), ctx(ctx), builder(ctx), t(options.tokensPerCall),
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
    return RankedTensorType::get(p.shape, f32());
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

  Value lora(Value x, StringRef prefix, bool bias, Activation inner,
             Activation outer, Location loc) {
    Value down = values[(prefix + "1").str()];
    Value up = values[(prefix + "2").str()];
    Value b = bias ? values[(prefix + "0").str()] : Value();
    int64_t out = cast<RankedTensorType>(up.getType()).getDimSize(0);
    return LoraOp::create(builder, loc, act(out), x, down, up, b, inner, outer);
  }

  /// Broadcasts a [C] parameter over [B, T, C] like `like`.
  Value broadcastLike(Value vec, Value like, Location loc);

  void buildEmbed();
  void buildTimeMix7(StringRef name, ArrayRef<unsigned> layers);
  void buildChannelMix(StringRef name, ArrayRef<unsigned> layers);
  void buildHead();

  const Spec &spec;
  MLIRContext *ctx;
  OpBuilder builder;
  int64_t t;
  std::vector<ParamInfo> params;
  ModuleOp module;
  std::map<std::string, Value> values;
};

func::FuncOp Importer::beginFunc(StringRef name, StringRef entry,
                                 ArrayRef<unsigned> layers,
                                 const Signature &sig, Location loc) {
  builder.setInsertionPointToEnd(module.getBody());
  auto fnType = builder.getFunctionType(sig.argTypes, sig.resultTypes);
  auto fn = func::FuncOp::create(builder, loc, name, fnType);
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

Value Importer::broadcastLike(Value vec, Value like, Location loc) {
  auto type = cast<RankedTensorType>(like.getType());
  Value batch = tensor::DimOp::create(builder, loc, like, 0);
  Value init = tensor::EmptyOp::create(builder, loc, type, ValueRange{batch});
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

void Importer::buildTimeMix7(StringRef name, ArrayRef<unsigned> layers) {
  const int64_t c = spec.dModel, h = spec.numHeads(), n = spec.headSize;
  const bool first = layers.front() == 0;
  const bool residualIn = spec.valueResidual && !first;
  const bool residualOut = spec.valueResidual && first;
  auto stateType =
      RankedTensorType::get({ShapedType::kDynamic, h, n, n}, f32());
  auto shiftType = RankedTensorType::get({ShapedType::kDynamic, c}, f32());

  Signature sig;
  addArg(sig, act(c), kActivationAttr, "h");
  addArg(sig, shiftType, kStateAttr, "att_shift");
  addArg(sig, stateType, kStateAttr, "wkv");
  if (residualIn)
    addArg(sig, act(c), kActivationAttr, "v_first");
  for (const ParamInfo *p : layerParams(layers.front(), {"ln1.", "att."}))
    addArg(sig, paramType(*p), kParamAttr, p->name);
  addResult(sig, act(c), kActivationAttr, "h");
  addResult(sig, shiftType, kStateAttr, "att_shift");
  addResult(sig, stateType, kStateAttr, "wkv");
  if (residualOut)
    addResult(sig, act(c), kActivationAttr, "v_first");

  beginFunc(name, "time_mix", layers, sig, at("time_mix", name));
  Value hIn = values["h"];
  Value x = layerNorm(hIn, "ln1", at("norm.layer_norm_eps", "ln1"));

  Location shiftLoc = at("time_mix.token_shift", "att.token_shift");
  auto shift = TokenShiftOp::create(builder, shiftLoc, x.getType(), shiftType,
                                    x, values["att_shift"]);
  Value sx = shift.getShifted();
  auto mixOf = [&](StringRef mu) {
    return mix(x, sx, mu, spec.timeMixShift, at("time_mix.token_shift", mu));
  };
  Value xr = mixOf("att.x_r"), xw = mixOf("att.x_w"), xk = mixOf("att.x_k"),
        xv = mixOf("att.x_v"), xa = mixOf("att.x_a");
  Value xg = spec.gate == GateKind::None ? Value() : mixOf("att.x_g");

  Value r = linear(xr, "att.receptance", at("time_mix", "att.receptance"));
  Value k = linear(xk, "att.key", at("time_mix", "att.key"));
  Value v = linear(xv, "att.value", at("time_mix", "att.value"));

  // Decay, ICL rate, value residual and gate LoRAs (rwkv-math §5.2).
  Location decayLoc = at("time_mix.decay", "att.decay");
  Value z =
      lora(xw, "att.w", true, Activation::Tanh, Activation::None, decayLoc);
  Value w =
      DecayOp::create(builder, decayLoc, z.getType(), DecayKind::Sigmoid, z);
  Value alpha = lora(xa, "att.a", true, Activation::None, Activation::Sigmoid,
                     at("time_mix.lora_rank.iclr", "att.iclr"));
  Value vFirst;
  if (residualIn) {
    Location vLoc = at("time_mix.value_residual", "att.value_residual");
    Value nu =
        lora(xv, "att.v", true, Activation::None, Activation::Sigmoid, vLoc);
    v = LerpOp::create(builder, vLoc, v.getType(), v, values["v_first"], nu);
  }
  if (residualOut)
    vFirst = v;
  Value g;
  if (spec.gate == GateKind::LoraSigmoid)
    g = lora(xg, "att.g", false, Activation::Sigmoid, Activation::None,
             at("time_mix.gate", "att.gate"));

  // Removal and replacement keys (rwkv-math §5.3).
  Location keyLoc = at("time_mix.wkv", "att.keys");
  Value kappa = arith::MulFOp::create(
      builder, keyLoc, k, broadcastLike(values["att.k_k"], k, keyLoc));
  Value kappaHat = L2NormOp::create(builder, keyLoc, kappa.getType(), kappa,
                                    builder.getI64IntegerAttr(n),
                                    builder.getF32FloatAttr(1e-12f));
  Value a = arith::NegFOp::create(builder, keyLoc, kappaHat);
  Value bb = arith::MulFOp::create(builder, keyLoc, kappaHat, alpha);
  Value kAlpha = arith::MulFOp::create(builder, keyLoc, k, alpha);
  Value kTilde = LerpOp::create(builder, keyLoc, k.getType(), k, kAlpha,
                                values["att.k_a"]);

  // State update and read (§5.4), group norm and bonus (§5.5).
  Location wkvLoc = at("time_mix.wkv", "att.wkv7");
  auto wkv = Wkv7Op::create(builder, wkvLoc, r.getType(), stateType, r, w,
                            kTilde, v, a, bb, values["wkv"]);
  Value o = GroupNormOp::create(
      builder, at("norm.group_norm_eps", "att.ln_x"), r.getType(), wkv.getY(),
      values["att.ln_x.weight"], values["att.ln_x.bias"],
      builder.getI64IntegerAttr(h), builder.getF32FloatAttr(spec.groupNormEps));
  Location bonusLoc = at("time_mix.bonus", "att.bonus");
  Value bonus = Wkv7BonusOp::create(builder, bonusLoc, r.getType(), r, kTilde,
                                    v, values["att.r_k"]);
  o = arith::AddFOp::create(builder, bonusLoc, o, bonus);
  if (g)
    o = arith::MulFOp::create(builder, at("time_mix.gate", "att.gate"), o, g);
  Value out = linear(o, "att.output", at("time_mix", "att.output"));
  Value hOut =
      arith::AddFOp::create(builder, at("time_mix", "att.residual"), hIn, out);

  SmallVector<Value> results{hOut, shift.getLast(), wkv.getNewState()};
  if (residualOut)
    results.push_back(vFirst);
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
  Value xk =
      mix(x, shift.getShifted(), "ffn.x_k", spec.channelMixShift, shiftLoc);
  Location mixLoc = at("channel_mix.kind", "ffn.channel_mix");
  Value o = ChannelMixOp::create(builder, mixLoc, act(c), xk, values["ffn.key"],
                                 values["ffn.value"]);
  Value hOut =
      arith::AddFOp::create(builder, at("channel_mix", "ffn.residual"), hIn, o);
  func::ReturnOp::create(builder, loc, ValueRange{hOut, shift.getLast()});
}

void Importer::buildHead() {
  Signature sig;
  addArg(sig, act(spec.dModel, 1), kActivationAttr, "h");
  for (const ParamInfo &p : params)
    if (!p.perLayer &&
        (p.name == "head" || StringRef(p.name).starts_with("ln_out.")))
      addArg(sig, paramType(p), kParamAttr, p.name);
  addResult(sig, act(spec.vocabSize, 1), kActivationAttr, "logits");
  Location loc = at("model.vocab_size", "head");
  beginFunc("head", "head", {}, sig, loc);
  Value x = LayerNormOp::create(builder, at("norm.layer_norm_eps", "ln_out"),
                                values["h"].getType(), values["h"],
                                values["ln_out.weight"], values["ln_out.bias"],
                                builder.getF32FloatAttr(spec.layerNormEps));
  Value w = values["head"];
  Value logits = LinearOp::create(builder, loc, act(spec.vocabSize, 1), x, w);
  func::ReturnOp::create(builder, loc, logits);
}

OwningOpRef<ModuleOp> Importer::run() {
  ctx->loadDialect<RwkvDialect, func::FuncDialect, arith::ArithDialect,
                   tensor::TensorDialect, linalg::LinalgDialect>();
  OwningOpRef<ModuleOp> owned =
      ModuleOp::create(FileLineColLoc::get(ctx, spec.path, 1, 1), spec.name);
  module = *owned;
  module->setAttr("rwkv.spec_sha256", builder.getStringAttr(spec.sha256));
  module->setAttr("rwkv.tokens_per_call", builder.getI64IntegerAttr(t));

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

  buildEmbed();
  std::vector<std::vector<unsigned>> timeGroups, channelGroups;
  for (auto &[key, layers] : timeKinds)
    timeGroups.push_back(layers);
  for (auto &[key, layers] : channelKinds)
    channelGroups.push_back(layers);
  // Number kinds in layer order so names are stable.
  llvm::sort(timeGroups);
  llvm::sort(channelGroups);
  for (auto [i, layers] : llvm::enumerate(timeGroups))
    buildTimeMix7(("time_mix_" + Twine(i)).str(), layers);
  for (auto [i, layers] : llvm::enumerate(channelGroups))
    buildChannelMix(("channel_mix_" + Twine(i)).str(), layers);
  buildHead();
  return owned;
}

} // namespace

OwningOpRef<ModuleOp> mlir::rwkv::importSpec(const Spec &spec, MLIRContext *ctx,
                                             const ImportOptions &options) {
  return Importer(spec, ctx, options).run();
}
