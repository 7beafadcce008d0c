//===- Manifest.cpp - the artifact manifest -------------------------------===//

#include "codegen/Manifest.h"

#include "importer/Importer.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"

#include <cstring>

using namespace mlir;
using namespace mlir::rwkv;

namespace {

std::string dtypeName(Type t) {
  if (t.isF32())
    return "f32";
  if (t.isF16())
    return "f16";
  if (t.isBF16())
    return "bf16";
  if (t.isInteger(32))
    return "i32";
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}

EntryArg argInfo(Type type, DictionaryAttr attrs, bool output) {
  EntryArg arg;
  arg.output = output;
  auto tensor = cast<RankedTensorType>(type);
  for (auto [i, d] : llvm::enumerate(tensor.getShape()))
    arg.shape.push_back(!ShapedType::isDynamic(d) ? d : i == 0 ? -1 : -2);
  arg.dtype = dtypeName(tensor.getElementType());
  for (auto [attrName, role] :
       {std::pair<StringRef, StringRef>{kParamAttr, "param"},
        {kStateAttr, "state"},
        {kActivationAttr, "activation"}})
    if (auto name = attrs ? attrs.getAs<StringAttr>(attrName) : nullptr) {
      arg.role = role.str();
      arg.name = name.str();
    }
  return arg;
}

const char *storedAsName(StoredAs s) {
  switch (s) {
  case StoredAs::Raw:
    return "raw";
  case StoredAs::Exp:
    return "exp";
  case StoredAs::NegExp:
    return "neg_exp";
  case StoredAs::ExpNegExp:
    return "exp_neg_exp";
  }
  return "raw";
}

const char *shiftName(TokenShiftKind k) {
  switch (k) {
  case TokenShiftKind::LerpPrevious:
    return "lerp_previous";
  case TokenShiftKind::LerpCurrent:
    return "lerp_current";
  case TokenShiftKind::DDLerp:
    return "ddlerp";
  }
  return "";
}

/// The spec's components, for tools and tests that inspect an artifact (the
/// runtime does not need them: it only calls the entry points).
llvm::json::Object componentsJson(const Spec &spec) {
  const char *wkv[] = {"wkv4", "wkv5", "wkv7"};
  const char *decay[] = {"static", "static_per_head", "lora_exp",
                         "lora_sigmoid"};
  const char *bonus[] = {"time_first", "u", "u_exp", "u_exp_per_head",
                         "rk_after_norm"};
  const char *gate[] = {"none", "silu", "lora_sigmoid"};
  const char *receptance[] = {"linear", "sigmoid"};
  const char *norm[] = {"none", "group_norm"};
  const char *cmix[] = {"relu_square", "relu_square_gated"};
  llvm::json::Array inputs;
  for (const std::string &m : spec.timeMixInputs())
    inputs.push_back(m);
  return llvm::json::Object{
      {"wkv", wkv[static_cast<int>(spec.wkv)]},
      {"token_shift", shiftName(spec.timeMixShift)},
      {"time_mix_inputs", std::move(inputs)},
      {"decay", decay[static_cast<int>(spec.decay)]},
      {"bonus", bonus[static_cast<int>(spec.bonus)]},
      {"gate", gate[static_cast<int>(spec.gate)]},
      {"receptance", receptance[static_cast<int>(spec.receptance)]},
      {"output_norm", norm[static_cast<int>(spec.outputNorm)]},
      {"value_residual", spec.valueResidual},
      {"channel_mix", cmix[static_cast<int>(spec.channelMix)]},
      {"channel_mix_token_shift", shiftName(spec.channelMixShift)},
      {"ln0", spec.ln0},
      {"head_bias", spec.headBias},
      {"residual_bias", spec.residualBias},
      {"layer_norm_eps", static_cast<double>(spec.layerNormEps)},
      {"group_norm_eps", static_cast<double>(spec.groupNormEps)}};
}

llvm::json::Array shapeJson(ArrayRef<int64_t> shape) {
  llvm::json::Array a;
  for (int64_t d : shape)
    a.push_back(d);
  return a;
}

} // namespace

namespace {
std::string listText(ArrayRef<int64_t> values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? "," : "") + std::to_string(values[i]);
  return s + "]";
}
} // namespace

std::string mlir::rwkv::shapeTable(const Spec &spec,
                                   ArrayRef<EntryPoint> entries) {
  std::string t = "rwkv-shape-table 1\n";
  t += "model " + std::to_string(spec.vocabSize) + " " +
       std::to_string(spec.dModel) + " " + std::to_string(spec.nLayer) + " " +
       std::to_string(spec.numHeads()) + " " + std::to_string(spec.headSize) +
       " " + std::to_string(spec.dFfn) + "\n";
  for (const ParamInfo &p : spec.parameters())
    t += "param " + p.name + " " + listText(p.shape) + " " + p.dtype + " " +
         (p.perLayer ? "1" : "0") + " " + std::to_string(p.firstLayer) + " " +
         p.binding.name + " " + (p.binding.transpose ? "1" : "0") + " " +
         std::to_string(p.binding.index >= 0 ? p.binding.index : -1) + "\n";
  for (const StateInfo &s : spec.states()) {
    uint32_t bits;
    std::memcpy(&bits, &s.init, 4);
    t += "state " + s.name + " " + listText(s.shape) + " " +
         llvm::utohexstr(bits, /*LowerCase=*/true) +
         (s.perLayer ? "" : " model") + "\n";
  }
  for (const EntryPoint &e : entries) {
    t += "entry " + e.name + " " + e.symbol + " " + e.kind + " " + e.mode +
         " " + listText(e.layers) + "\n";
    for (const EntryArg &a : e.args)
      t += "arg " + a.role + " " + a.name + " " + (a.output ? "out" : "in") +
           " " + listText(a.shape) + " " + a.dtype + "\n";
  }
  return t;
}

std::vector<EntryPoint> mlir::rwkv::collectEntryPoints(ModuleOp module) {
  std::vector<EntryPoint> entries;
  for (auto fn : module.getOps<func::FuncOp>()) {
    auto kind = fn->getAttrOfType<StringAttr>(kEntryAttr);
    if (!kind)
      continue;
    EntryPoint e;
    e.name = fn.getSymName().str();
    e.symbol = "rwkv_" + e.name;
    e.kind = kind.str();
    if (auto mode = fn->getAttrOfType<StringAttr>(kModeAttr))
      e.mode = mode.str();
    if (auto layers = fn->getAttrOfType<DenseI64ArrayAttr>(kLayersAttr))
      e.layers.assign(layers.asArrayRef().begin(), layers.asArrayRef().end());
    FunctionType type = fn.getFunctionType();
    for (unsigned i = 0; i < type.getNumInputs(); ++i)
      e.args.push_back(argInfo(type.getInput(i), fn.getArgAttrDict(i), false));
    for (unsigned i = 0; i < type.getNumResults(); ++i)
      e.args.push_back(
          argInfo(type.getResult(i), fn.getResultAttrDict(i), true));
    entries.push_back(std::move(e));
  }
  return entries;
}

llvm::json::Object mlir::rwkv::buildManifest(const Spec &spec,
                                             const CpuTarget &target,
                                             ArrayRef<EntryPoint> entries,
                                             StringRef library) {
  llvm::json::Array features;
  for (const std::string &f : target.isaFeatures)
    features.push_back(f);

  llvm::json::Array params;
  for (const ParamInfo &p : spec.parameters()) {
    llvm::json::Object init{{"kind", p.init.kind == InitHint::Kind::Uniform
                                         ? "uniform"
                                         : "constant"},
                            {"lo", p.init.lo},
                            {"hi", p.init.hi}};
    llvm::json::Object checkpoint{
        {"name", p.binding.name},
        {"transpose", p.binding.transpose},
        {"stored_as", storedAsName(p.binding.storedAs)}};
    if (p.binding.index >= 0)
      checkpoint["index"] = p.binding.index;
    if (!p.layerNames.empty()) {
      llvm::json::Array names;
      for (const std::string &n : p.layerNames)
        names.push_back(n);
      checkpoint["layer_names"] = std::move(names);
    }
    params.push_back(
        llvm::json::Object{{"name", p.name},
                           {"shape", shapeJson(p.shape)},
                           {"per_layer", p.perLayer},
                           {"first_layer", static_cast<int64_t>(p.firstLayer)},
                           {"dtype", p.dtype},
                           {"checkpoint", std::move(checkpoint)},
                           {"init", std::move(init)}});
  }

  llvm::json::Array states;
  for (const StateInfo &s : spec.states()) {
    llvm::json::Object state{{"name", s.name},
                             {"shape", shapeJson(s.shape)},
                             {"init", static_cast<double>(s.init)}};
    if (s.maxTokens > 0)
      state["max_tokens"] = s.maxTokens;
    if (!s.perLayer)
      state["per_layer"] = false;
    states.push_back(std::move(state));
  }

  llvm::json::Array entryJson;
  for (const EntryPoint &e : entries) {
    llvm::json::Array args;
    for (const EntryArg &a : e.args)
      args.push_back(llvm::json::Object{{"role", a.role},
                                        {"name", a.name},
                                        {"output", a.output},
                                        {"shape", shapeJson(a.shape)},
                                        {"dtype", a.dtype}});
    entryJson.push_back(llvm::json::Object{{"name", e.name},
                                           {"symbol", e.symbol},
                                           {"kind", e.kind},
                                           {"mode", e.mode},
                                           {"layers", shapeJson(e.layers)},
                                           {"args", std::move(args)}});
  }

  // [checkpoint.metadata]: what the weight file must say about itself.
  llvm::json::Object metadata;
  for (const Spec::CheckpointMetadata &m : spec.checkpointMetadata) {
    using Kind = Spec::CheckpointMetadata::Kind;
    switch (m.kind) {
    case Kind::Int:
      metadata[m.key] = m.intValue;
      break;
    case Kind::Float:
      metadata[m.key] = m.floatValue;
      break;
    case Kind::Bool:
      metadata[m.key] = m.boolValue;
      break;
    case Kind::String:
      metadata[m.key] = m.stringValue;
      break;
    }
  }

  return llvm::json::Object{
      {"abi_version", kAbiVersion},
      {"checkpoint_metadata", std::move(metadata)},
      {"generator", "rwkvc 0.1.0"},
      {"spec", llvm::json::Object{{"name", spec.name},
                                  {"path", spec.path},
                                  {"sha256", spec.sha256}}},
      {"target", llvm::json::Object{{"name", target.name},
                                    {"triple", target.triple},
                                    {"cpu", target.cpu},
                                    {"features", std::move(features)},
                                    {"vector_width", target.vectorWidth}}},
      {"library", library},
      {"device", llvm::json::Object{{"kind", "cpu"}}},
      {"model", llvm::json::Object{{"vocab_size", spec.vocabSize},
                                   {"d_model", spec.dModel},
                                   {"n_layer", spec.nLayer},
                                   {"n_head", spec.numHeads()},
                                   {"head_size", spec.headSize},
                                   {"d_ffn", spec.dFfn},
                                   {"components", componentsJson(spec)}}},
      {"parameters", std::move(params)},
      {"states", std::move(states)},
      {"entry_points", std::move(entryJson)}};
}
