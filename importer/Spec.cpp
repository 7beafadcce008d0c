//===- Spec.cpp - RWKV model specs (TOML) ---------------------------------===//
//
// Parses a spec with toml++ (header-only, no exceptions) and validates every
// key: unknown keys, wrong types, unknown components and inconsistent sizes
// are reported at the key's location in the spec file.
//
//===----------------------------------------------------------------------===//

#include "importer/Spec.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SHA256.h"

#include "importer/BlockParser.h"
#include "importer/Menu.h"
#include "importer/Toml.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

using namespace mlir;
using namespace mlir::rwkv;

const std::pair<StringRef, StoredAs> mlir::rwkv::kStoredAsNames[4] = {
    {"raw", StoredAs::Raw},
    {"exp", StoredAs::Exp},
    {"neg_exp", StoredAs::NegExp},
    {"exp_neg_exp", StoredAs::ExpNegExp}};

std::optional<StoredAs> mlir::rwkv::storedAsNamed(StringRef name) {
  for (const auto &[n, form] : kStoredAsNames)
    if (n == name)
      return form;
  return std::nullopt;
}

Location Spec::locOf(StringRef key, MLIRContext *ctx) const {
  auto it = keyLocs.find(key);
  if (it != keyLocs.end())
    return it->second;
  return FileLineColLoc::get(ctx, path, 1, 1);
}

//===----------------------------------------------------------------------===//
// Parameter and state catalog
//===----------------------------------------------------------------------===//

namespace {

InitHint uniform(double lo, double hi) {
  return InitHint{InitHint::Kind::Uniform, lo, hi};
}

/// Xavier-like bounds for an [out, in] matrix.
InitHint matrixInit(int64_t in) {
  double a = 1.0 / std::sqrt(static_cast<double>(in));
  return uniform(-a, a);
}

} // namespace

std::vector<std::string> Spec::timeMixInputs() const {
  std::vector<std::string> inputs;
  if (decay == DecayParam::LoraExp || decay == DecayParam::LoraSigmoid)
    inputs.push_back("w");
  inputs.insert(inputs.end(), {"k", "v", "r"});
  if (gate != GateKind::None)
    inputs.push_back("g");
  if (wkv == WkvKind::Wkv7)
    inputs.push_back("a");
  return inputs;
}

const BlockDef &Spec::block(StringRef name) const {
  for (const BlockDef &b : blocks)
    if (b.name == name)
      return b;
  llvm_unreachable("unknown block");
}

SizeEnv Spec::layerSizes(int64_t layer) const {
  SizeEnv env = sizes;
  env["layer"] = layer;
  return env;
}

//===----------------------------------------------------------------------===//
// TOML parsing
//===----------------------------------------------------------------------===//

namespace {

/// Parses one spec file; collects every error before giving up.
class SpecParser {
public:
  SpecParser(StringRef path, MLIRContext *ctx) : ctx(ctx) {
    spec.path = path.str();
  }

  std::optional<Spec> parse(StringRef text);

private:
  Location loc(const toml::source_region &region) {
    return FileLineColLoc::get(ctx, spec.path, region.begin.line,
                               region.begin.column);
  }
  InFlightDiagnostic error(Location at) {
    failed = true;
    return emitError(at);
  }

  /// Rejects keys of `table` that are not in `allowed`.
  void checkKeys(const toml::table &table, StringRef tableName,
                 ArrayRef<StringRef> allowed);

  /// Returns the node for `key`, recording its location, or nullptr (with an
  /// error when `required`).
  const toml::node *lookup(const toml::table &table, StringRef tableName,
                           StringRef key, bool required, Location tableLoc);

  void readInt(const toml::table &t, StringRef tn, StringRef key, int64_t &out,
               bool required, Location tl);
  void readFloat(const toml::table &t, StringRef tn, StringRef key, float &out,
                 bool required, Location tl);
  void readBool(const toml::table &t, StringRef tn, StringRef key, bool &out,
                Location tl);
  void readString(const toml::table &t, StringRef tn, StringRef key,
                  std::string &out, bool required, Location tl);
  template <typename Enum>
  void readEnum(const toml::table &t, StringRef tn, StringRef key, Enum &out,
                ArrayRef<std::pair<StringRef, Enum>> choices, Location tl);

  /// Returns the sub-table `key` of `parent` (nullptr if absent).
  const toml::table *subTable(const toml::table &parent, StringRef parentName,
                              StringRef key, bool required, Location parentLoc);

  void parseModel(const toml::table &t, Location tl);
  void parseNorm(const toml::table &t, Location tl);
  void parsePrecision(const toml::table &t, Location tl);
  void parseTimeMix(const toml::table &t, Location tl);
  void parseChannelMix(const toml::table &t, Location tl);
  void parseCheckpoint(const toml::table &t, Location tl);
  void validate();
  void checkComponents();
  void parseSizes(const toml::table *t);
  void parseBlocks(const toml::table *t);
  /// Appends the values of library fragment `use` to `block`.
  void addFragment(BlockDef &block, const FragmentUse &use, Location at);
  void buildCatalog();
  void checkBindings();

  /// Blocks the spec writes itself ([block.<name>]).
  std::set<std::string> handWritten;
  /// Where each parameter is declared (for messages about its template).
  std::map<std::string, Location> paramLocs;
  /// The [model] sizes and ranks are valid (expressions may use them).
  bool sizesValid = false;

  /// Reports that `tn.key` has the wrong type; later checks skip it.
  InFlightDiagnostic typeError(const toml::node &node, StringRef tn,
                               StringRef key, StringRef expected) {
    invalidKeys.insert((tn + "." + key).str());
    return error(loc(node.source()))
           << "'" << tn << "." << key << "' must be " << expected << ", got "
           << tomlTypeName(node);
  }

  MLIRContext *ctx;
  Spec spec;
  bool failed = false;
  std::set<std::string> invalidKeys;
};

void SpecParser::checkKeys(const toml::table &table, StringRef tableName,
                           ArrayRef<StringRef> allowed) {
  for (auto &&[key, node] : table) {
    if (llvm::is_contained(allowed, StringRef(key.str())))
      continue;
    std::string where = tableName.empty() ? std::string("at the top level")
                                          : "in [" + tableName.str() + "]";
    error(loc(key.source()))
        << "unknown key '" << key.str() << "' " << where
        << "; expected one of: " << llvm::join(allowed, ", ");
  }
}

const toml::node *SpecParser::lookup(const toml::table &table,
                                     StringRef tableName, StringRef key,
                                     bool required, Location tableLoc) {
  for (auto &&[k, node] : table) {
    if (StringRef(k.str()) != key)
      continue;
    std::string path =
        tableName.empty() ? key.str() : (tableName + "." + key).str();
    spec.keyLocs.insert_or_assign(path, loc(k.source()));
    return &node;
  }
  if (required) {
    if (tableName.empty())
      error(tableLoc) << "missing required table [" << key << "]";
    else
      error(tableLoc) << "missing required key '" << tableName << "." << key
                      << "'";
  }
  return nullptr;
}

void SpecParser::readInt(const toml::table &t, StringRef tn, StringRef key,
                         int64_t &out, bool required, Location tl) {
  const toml::node *node = lookup(t, tn, key, required, tl);
  if (!node)
    return;
  if (auto v = node->as_integer()) {
    out = v->get();
    return;
  }
  typeError(*node, tn, key, "an integer");
}

void SpecParser::readFloat(const toml::table &t, StringRef tn, StringRef key,
                           float &out, bool required, Location tl) {
  const toml::node *node = lookup(t, tn, key, required, tl);
  if (!node)
    return;
  if (auto v = node->as_floating_point()) {
    out = static_cast<float>(v->get());
    return;
  }
  if (auto v = node->as_integer()) {
    out = static_cast<float>(v->get());
    return;
  }
  typeError(*node, tn, key, "a number");
}

void SpecParser::readBool(const toml::table &t, StringRef tn, StringRef key,
                          bool &out, Location tl) {
  const toml::node *node = lookup(t, tn, key, false, tl);
  if (!node)
    return;
  if (auto v = node->as_boolean()) {
    out = v->get();
    return;
  }
  typeError(*node, tn, key, "a boolean");
}

void SpecParser::readString(const toml::table &t, StringRef tn, StringRef key,
                            std::string &out, bool required, Location tl) {
  const toml::node *node = lookup(t, tn, key, required, tl);
  if (!node)
    return;
  if (auto v = node->as_string()) {
    out = v->get();
    return;
  }
  typeError(*node, tn, key, "a string");
}

template <typename Enum>
void SpecParser::readEnum(const toml::table &t, StringRef tn, StringRef key,
                          Enum &out,
                          ArrayRef<std::pair<StringRef, Enum>> choices,
                          Location tl) {
  std::string value;
  const toml::node *node = lookup(t, tn, key, false, tl);
  if (!node)
    return;
  if (!node->is_string()) {
    error(loc(node->source()))
        << "'" << tn << "." << key << "' must be a string, got "
        << tomlTypeName(*node);
    return;
  }
  value = node->as_string()->get();
  for (auto &[name, e] : choices)
    if (name == value) {
      out = e;
      return;
    }
  SmallVector<StringRef> names;
  for (auto &[name, e] : choices)
    names.push_back(name);
  invalidKeys.insert((tn + "." + key).str());
  error(loc(node->source()))
      << "unknown component '" << value << "' for '" << tn << "." << key
      << "'; expected one of: " << llvm::join(names, ", ");
}

const toml::table *SpecParser::subTable(const toml::table &parent,
                                        StringRef parentName, StringRef key,
                                        bool required, Location parentLoc) {
  const toml::node *node = lookup(parent, parentName, key, required, parentLoc);
  if (!node)
    return nullptr;
  if (auto *t = node->as_table())
    return t;
  std::string full =
      parentName.empty() ? key.str() : (parentName + "." + key).str();
  error(loc(node->source()))
      << "'" << full << "' must be a table, got " << tomlTypeName(*node);
  return nullptr;
}

void SpecParser::parseModel(const toml::table &t, Location tl) {
  checkKeys(t, "model",
            {"name", "description", "vocab_size", "d_model", "n_layer",
             "head_size", "d_ffn", "head_bias", "residual_bias"});
  readString(t, "model", "name", spec.name, true, tl);
  readString(t, "model", "description", spec.description, false, tl);
  readInt(t, "model", "vocab_size", spec.vocabSize, true, tl);
  readInt(t, "model", "d_model", spec.dModel, true, tl);
  readInt(t, "model", "n_layer", spec.nLayer, true, tl);
  readInt(t, "model", "head_size", spec.headSize, true, tl);
  readInt(t, "model", "d_ffn", spec.dFfn, true, tl);
  readBool(t, "model", "head_bias", spec.headBias, tl);
  readBool(t, "model", "residual_bias", spec.residualBias, tl);
}

void SpecParser::parseNorm(const toml::table &t, Location tl) {
  checkKeys(t, "norm", {"ln0", "layer_norm_eps", "group_norm_eps"});
  readBool(t, "norm", "ln0", spec.ln0, tl);
  readFloat(t, "norm", "layer_norm_eps", spec.layerNormEps, true, tl);
  readFloat(t, "norm", "group_norm_eps", spec.groupNormEps, false, tl);
}

void SpecParser::parsePrecision(const toml::table &t, Location tl) {
  checkKeys(t, "precision", {"weights", "lora", "head", "state"});
  readString(t, "precision", "weights", spec.weightDtype, false, tl);
  // LoRA factors follow a float `weights` and stay f32 under a quantized
  // one: their error feeds the decay and the state (rwkv.cpp and llama.cpp
  // keep them unquantized); the head follows `weights`.
  spec.loraDtype = spec.weightDtype == "q8_0" ? "f32" : spec.weightDtype;
  spec.headDtype = spec.weightDtype;
  readString(t, "precision", "lora", spec.loraDtype, false, tl);
  readString(t, "precision", "head", spec.headDtype, false, tl);
  std::string state = "f32";
  readString(t, "precision", "state", state, false, tl);
  for (auto [key, value, quantized] : {std::tuple<StringRef, StringRef, bool>{
                                           "weights", spec.weightDtype, true},
                                       {"lora", spec.loraDtype, false},
                                       {"head", spec.headDtype, true}})
    if (value != "f32" && value != "bf16" && (!quantized || value != "q8_0"))
      error(spec.locOf(("precision." + key).str(), ctx))
          << "'precision." << key << "' = \"" << value
          << "\" is not supported; expected "
          << (quantized ? "\"f32\", \"bf16\" or \"q8_0\" (other checkpoint "
                          "dtypes are converted at load time)"
                        : "\"f32\" or \"bf16\" (the LoRA kernels read "
                          "floats)");
  if (state != "f32")
    error(spec.locOf("precision.state", ctx))
        << "'precision.state' must be \"f32\" (every reference keeps the WKV "
           "state in f32, rwkv-math §9.5), got \""
        << state << "\"";
}

/// Component defaults of the released generation that uses `wkv`
/// (docs/spec.md lists them).
void applyGenerationDefaults(Spec &spec) {
  switch (spec.wkv) {
  case WkvKind::Wkv4:
    spec.timeMixShift = TokenShiftKind::LerpCurrent;
    spec.decay = DecayParam::Static;
    spec.bonus = BonusKind::TimeFirst;
    spec.gate = GateKind::None;
    spec.receptance = ReceptanceKind::Sigmoid;
    spec.outputNorm = OutputNormKind::None;
    spec.valueResidual = false;
    spec.channelMix = ChannelMixKind::ReluSquareGated;
    spec.channelMixShift = TokenShiftKind::LerpCurrent;
    break;
  case WkvKind::Wkv5:
    spec.timeMixShift = TokenShiftKind::LerpCurrent;
    spec.decay = DecayParam::Static;
    spec.bonus = BonusKind::U;
    spec.gate = GateKind::Silu;
    spec.receptance = ReceptanceKind::Linear;
    spec.outputNorm = OutputNormKind::GroupNorm;
    spec.valueResidual = false;
    spec.channelMix = ChannelMixKind::ReluSquareGated;
    spec.channelMixShift = TokenShiftKind::LerpCurrent;
    break;
  case WkvKind::Wkv7:
    spec.timeMixShift = TokenShiftKind::LerpPrevious;
    spec.decay = DecayParam::LoraSigmoid;
    spec.bonus = BonusKind::RkAfterNorm;
    spec.gate = GateKind::LoraSigmoid;
    spec.receptance = ReceptanceKind::Linear;
    spec.outputNorm = OutputNormKind::GroupNorm;
    spec.valueResidual = true;
    spec.channelMix = ChannelMixKind::ReluSquare;
    spec.channelMixShift = TokenShiftKind::LerpPrevious;
    break;
  }
}

const std::pair<StringRef, TokenShiftKind> kShiftNames[] = {
    {"lerp_previous", TokenShiftKind::LerpPrevious},
    {"lerp_current", TokenShiftKind::LerpCurrent},
    {"ddlerp", TokenShiftKind::DDLerp}};

void SpecParser::parseTimeMix(const toml::table &t, Location tl) {
  checkKeys(t, "time_mix",
            {"wkv", "token_shift", "decay", "bonus", "gate", "receptance",
             "output_norm", "value_residual", "lora_rank"});
  readEnum<WkvKind>(t, "time_mix", "wkv", spec.wkv,
                    {{"wkv4", WkvKind::Wkv4},
                     {"wkv5", WkvKind::Wkv5},
                     {"wkv7", WkvKind::Wkv7}},
                    tl);
  if (!spec.keyLocs.count("time_mix.wkv"))
    error(tl) << "missing required key 'time_mix.wkv' (wkv4, wkv5 or wkv7)";
  applyGenerationDefaults(spec);
  readEnum<TokenShiftKind>(t, "time_mix", "token_shift", spec.timeMixShift,
                           kShiftNames, tl);
  readEnum<DecayParam>(t, "time_mix", "decay", spec.decay,
                       {{"static", DecayParam::Static},
                        {"static_per_head", DecayParam::StaticPerHead},
                        {"lora_exp", DecayParam::LoraExp},
                        {"lora_sigmoid", DecayParam::LoraSigmoid}},
                       tl);
  readEnum<BonusKind>(t, "time_mix", "bonus", spec.bonus,
                      {{"time_first", BonusKind::TimeFirst},
                       {"u", BonusKind::U},
                       {"u_exp", BonusKind::UExp},
                       {"u_exp_per_head", BonusKind::UExpPerHead},
                       {"rk_after_norm", BonusKind::RkAfterNorm}},
                      tl);
  readEnum<GateKind>(t, "time_mix", "gate", spec.gate,
                     {{"none", GateKind::None},
                      {"silu", GateKind::Silu},
                      {"lora_sigmoid", GateKind::LoraSigmoid}},
                     tl);
  readEnum<ReceptanceKind>(t, "time_mix", "receptance", spec.receptance,
                           {{"linear", ReceptanceKind::Linear},
                            {"sigmoid", ReceptanceKind::Sigmoid}},
                           tl);
  readEnum<OutputNormKind>(t, "time_mix", "output_norm", spec.outputNorm,
                           {{"none", OutputNormKind::None},
                            {"group_norm", OutputNormKind::GroupNorm}},
                           tl);
  readBool(t, "time_mix", "value_residual", spec.valueResidual, tl);

  if (const toml::table *ranks =
          subTable(t, "time_mix", "lora_rank", false, tl)) {
    Location rl = spec.locOf("time_mix.lora_rank", ctx);
    checkKeys(*ranks, "time_mix.lora_rank",
              {"decay", "iclr", "value", "gate", "mix"});
    readInt(*ranks, "time_mix.lora_rank", "decay", spec.decayRank, false, rl);
    readInt(*ranks, "time_mix.lora_rank", "iclr", spec.iclrRank, false, rl);
    readInt(*ranks, "time_mix.lora_rank", "value", spec.valueRank, false, rl);
    readInt(*ranks, "time_mix.lora_rank", "gate", spec.gateRank, false, rl);
    readInt(*ranks, "time_mix.lora_rank", "mix", spec.mixRank, false, rl);
  }
}

void SpecParser::parseChannelMix(const toml::table &t, Location tl) {
  checkKeys(t, "channel_mix", {"kind", "token_shift"});
  readEnum<ChannelMixKind>(
      t, "channel_mix", "kind", spec.channelMix,
      {{"relu_square", ChannelMixKind::ReluSquare},
       {"relu_square_gated", ChannelMixKind::ReluSquareGated}},
      tl);
  readEnum<TokenShiftKind>(t, "channel_mix", "token_shift",
                           spec.channelMixShift, kShiftNames, tl);
}

void SpecParser::parseCheckpoint(const toml::table &t, Location tl) {
  checkKeys(t, "checkpoint", {"format", "tensors", "metadata"});
  std::string format;
  readString(t, "checkpoint", "format", format, false, tl);
  if (const toml::table *meta =
          subTable(t, "checkpoint", "metadata", false, tl)) {
    using Kind = Spec::CheckpointMetadata::Kind;
    for (auto &&[key, node] : *meta) {
      Spec::CheckpointMetadata m;
      m.key = std::string(key.str());
      if (auto i = node.as_integer()) {
        m.kind = Kind::Int;
        m.intValue = i->get();
      } else if (auto f = node.as_floating_point()) {
        m.kind = Kind::Float;
        m.floatValue = f->get();
        if (!std::isfinite(m.floatValue)) {
          error(loc(node.source()))
              << "'checkpoint.metadata." << m.key
              << "' must be a finite number, got " << m.floatValue;
          continue;
        }
      } else if (auto b = node.as_boolean()) {
        m.kind = Kind::Bool;
        m.boolValue = b->get();
      } else if (auto str = node.as_string()) {
        m.kind = Kind::String;
        m.stringValue = str->get();
      } else {
        error(loc(node.source()))
            << "'checkpoint.metadata." << m.key
            << "' must be an integer, float, boolean or string, got "
            << tomlTypeName(node);
        continue;
      }
      spec.checkpointMetadata.push_back(std::move(m));
    }
  }
  const toml::table *tensors = subTable(t, "checkpoint", "tensors", false, tl);
  if (!tensors)
    return;
  for (auto &&[key, node] : *tensors) {
    std::string canonical(key.str());
    Location keyLoc = loc(key.source());
    spec.keyLocs.insert_or_assign("checkpoint.tensors." + canonical, keyLoc);
    TensorBinding binding;
    if (auto s = node.as_string()) {
      binding.name = s->get();
    } else if (auto *entry = node.as_table()) {
      std::string tn = "checkpoint.tensors." + canonical;
      checkKeys(*entry, tn, {"name", "transpose", "index", "stored_as"});
      readString(*entry, tn, "name", binding.name, true, keyLoc);
      readBool(*entry, tn, "transpose", binding.transpose, keyLoc);
      readInt(*entry, tn, "index", binding.index, false, keyLoc);
      readEnum<StoredAs>(*entry, tn, "stored_as", binding.storedAs,
                         kStoredAsNames, keyLoc);
      if (const toml::node *idx = entry->get("index");
          idx && idx->is_integer() && binding.index < 0)
        error(loc(idx->source()))
            << "'" << tn << ".index' must be >= 0, got " << binding.index;
    } else {
      error(loc(node.source()))
          << "'checkpoint.tensors." << canonical
          << "' must be a tensor name or a table {name, transpose, index, "
             "stored_as}, "
             "got "
          << tomlTypeName(node);
      continue;
    }
    spec.bindingOverrides[canonical] = binding;
  }
}

/// Rejects component combinations no lowering can build, at the key that
/// conflicts with the chosen WKV.
void SpecParser::checkComponents() {
  const char *wkvName = spec.wkv == WkvKind::Wkv4   ? "wkv4"
                        : spec.wkv == WkvKind::Wkv5 ? "wkv5"
                                                    : "wkv7";
  auto conflict = [&](StringRef key, StringRef why) {
    error(spec.locOf(key, ctx))
        << "'" << key << "' cannot be used with time_mix.wkv = \"" << wkvName
        << "\": " << why;
  };
  bool bonusOk = false, decayOk = false;
  switch (spec.wkv) {
  case WkvKind::Wkv4:
    bonusOk = spec.bonus == BonusKind::TimeFirst;
    decayOk = spec.decay == DecayParam::Static;
    if (!bonusOk)
      conflict("time_mix.bonus", "wkv4 takes bonus \"time_first\" (log-space "
                                 "u inside the running-max recurrence)");
    if (!decayOk)
      conflict("time_mix.decay", "wkv4 takes a static per-channel decay "
                                 "(decay = \"static\")");
    break;
  case WkvKind::Wkv5:
    bonusOk = spec.bonus == BonusKind::U || spec.bonus == BonusKind::UExp ||
              spec.bonus == BonusKind::UExpPerHead;
    decayOk = spec.decay != DecayParam::LoraSigmoid;
    if (!bonusOk)
      conflict("time_mix.bonus",
               "wkv5 applies its bonus inside the state read; use \"u\", "
               "\"u_exp\" or \"u_exp_per_head\"");
    if (!decayOk)
      conflict("time_mix.decay", "the v7 sigmoid decay needs wkv7; wkv5 takes "
                                 "\"static\", \"static_per_head\" or "
                                 "\"lora_exp\"");
    break;
  case WkvKind::Wkv7:
    bonusOk = spec.bonus == BonusKind::RkAfterNorm;
    decayOk = spec.decay != DecayParam::StaticPerHead;
    if (!bonusOk)
      conflict("time_mix.bonus", "wkv7 takes bonus \"rk_after_norm\"");
    if (!decayOk)
      conflict("time_mix.decay", "wkv7 takes a per-channel decay");
    break;
  }
  if (spec.valueResidual && spec.wkv != WkvKind::Wkv7)
    conflict("time_mix.value_residual",
             "the value residual (v_first) is part of RWKV-7's block");
  if (spec.outputNorm == OutputNormKind::GroupNorm &&
      !spec.keyLocs.count("norm.group_norm_eps"))
    error(spec.locOf("norm", ctx))
        << "missing required key 'norm.group_norm_eps' (needed by "
           "time_mix.output_norm = \"group_norm\"; 64e-5 for ChatRWKV-style "
           "weights, 1e-5 for rwkv.cpp's RWKV-5 graph)";
  if (spec.bonus == BonusKind::RkAfterNorm &&
      spec.outputNorm != OutputNormKind::GroupNorm && bonusOk)
    error(spec.locOf("time_mix.output_norm", ctx))
        << "bonus \"rk_after_norm\" is added after the group norm; "
           "'time_mix.output_norm' must be \"group_norm\"";
  if (spec.channelMixShift == TokenShiftKind::DDLerp)
    error(spec.locOf("channel_mix.token_shift", ctx))
        << "'channel_mix.token_shift' cannot be \"ddlerp\" (the data-"
           "dependent shift is a time-mix component); use \"lerp_previous\" "
           "or \"lerp_current\"";
}

void SpecParser::validate() {
  // Keys that are missing or ill-typed were reported already.
  auto positive = [&](StringRef key, int64_t value) {
    if (!spec.keyLocs.count(key) || invalidKeys.count(key.str()))
      return false;
    if (value <= 0)
      error(spec.locOf(key, ctx))
          << "'" << key << "' must be positive, got " << value;
    return value > 0;
  };
  // Evaluate every check so all size errors are reported at once. The
  // upper limits keep every tensor's element count and byte size far inside
  // int64 and every index inside the generated code's i64/index arithmetic
  // (docs/spec.md): 2^24 vocabulary rows, 2^20 channels, 4096 layers.
  bool sizesOk = true;
  for (auto [key, value, limit] :
       {std::tuple<StringRef, int64_t, int64_t>{"model.vocab_size",
                                                spec.vocabSize, 1 << 24},
        {"model.d_model", spec.dModel, 1 << 20},
        {"model.n_layer", spec.nLayer, 4096},
        {"model.head_size", spec.headSize, 1 << 20},
        {"model.d_ffn", spec.dFfn, 1 << 20}}) {
    bool ok = positive(key, value);
    if (ok && value > limit) {
      error(spec.locOf(key, ctx))
          << "'" << key << "' = " << value << " is larger than the limit "
          << limit << " (docs/spec.md, size limits)";
      ok = false;
    }
    sizesOk = ok && sizesOk;
  }
  if (spec.dModel > 0 && spec.headSize > 0 && spec.dModel % spec.headSize != 0)
    error(spec.locOf("model.d_model", ctx))
        << "'model.d_model' (" << spec.dModel
        << ") must be divisible by 'model.head_size' (" << spec.headSize << ")";
  // LoRA ranks the chosen components need.
  auto needRank = [&](StringRef key, int64_t rank, bool used,
                      StringRef neededBy) {
    if (!used)
      return;
    if (!spec.keyLocs.count(key) && !invalidKeys.count(key.str())) {
      Location at = spec.keyLocs.count("time_mix.lora_rank")
                        ? spec.locOf("time_mix.lora_rank", ctx)
                        : spec.locOf("time_mix", ctx);
      error(at) << "missing required key '" << key << "' (needed by "
                << neededBy << ")";
      sizesOk = false;
      return;
    }
    bool ok = positive(key, rank);
    if (ok && rank > (1 << 20)) {
      error(spec.locOf(key, ctx)) << "'" << key << "' = " << rank
                                  << " is larger than the limit 1048576 "
                                     "(docs/spec.md, size limits)";
      ok = false;
    }
    sizesOk = ok && sizesOk;
  };
  // Without a valid WKV the component defaults are unknown: nothing more to
  // check about components (the missing/invalid key was reported).
  bool componentsKnown =
      spec.keyLocs.count("time_mix.wkv") && !invalidKeys.count("time_mix.wkv");
  bool loraDecay = componentsKnown && (spec.decay == DecayParam::LoraExp ||
                                       spec.decay == DecayParam::LoraSigmoid);
  needRank("time_mix.lora_rank.decay", spec.decayRank, loraDecay,
           "the LoRA decay");
  needRank("time_mix.lora_rank.iclr", spec.iclrRank,
           componentsKnown && spec.wkv == WkvKind::Wkv7,
           "wkv7's in-context learning rate");
  needRank("time_mix.lora_rank.value", spec.valueRank,
           componentsKnown && spec.valueResidual, "value_residual");
  needRank("time_mix.lora_rank.gate", spec.gateRank,
           componentsKnown && spec.gate == GateKind::LoraSigmoid,
           "gate = \"lora_sigmoid\"");
  needRank("time_mix.lora_rank.mix", spec.mixRank,
           componentsKnown && spec.timeMixShift == TokenShiftKind::DDLerp,
           "token_shift = \"ddlerp\"");
  if (!componentsKnown) {
    sizesValid =
        sizesOk && spec.headSize > 0 && spec.dModel % spec.headSize == 0;
    return;
  }
  checkComponents();
  for (auto [key, eps] :
       {std::pair<StringRef, float>{"norm.layer_norm_eps", spec.layerNormEps},
        {"norm.group_norm_eps", spec.groupNormEps}})
    if (!(eps > 0.0f) && !invalidKeys.count(key.str()))
      error(spec.locOf(key, ctx))
          << "'" << key << "' must be positive, got " << eps;
  sizesValid = sizesOk && spec.headSize > 0 && spec.dModel % spec.headSize == 0;
}

void SpecParser::parseSizes(const toml::table *t) {
  SizeEnv &env = spec.sizes;
  env["vocab_size"] = spec.vocabSize;
  env["d_model"] = spec.dModel;
  env["n_layer"] = spec.nLayer;
  env["head_size"] = spec.headSize;
  env["n_head"] = spec.numHeads();
  env["d_ffn"] = spec.dFfn;
  for (auto [name, rank] :
       {std::pair<const char *, int64_t>{"decay_rank", spec.decayRank},
        {"iclr_rank", spec.iclrRank},
        {"value_rank", spec.valueRank},
        {"gate_rank", spec.gateRank},
        {"mix_rank", spec.mixRank}})
    if (rank > 0)
      env[name] = rank;
  if (!t)
    return;
  // In source order, so a size may use the ones written before it.
  for (auto [key, node] : inSourceOrder(*t)) {
    std::string name(key->str());
    spec.keyLocs.insert_or_assign("sizes." + name, loc(key->source()));
    if (env.count(name) && name != "layer") {
      error(loc(key->source()))
          << "'sizes." << name << "' redefines a size the spec already has";
      continue;
    }
    std::optional<int64_t> value;
    if (auto i = node->as_integer()) {
      value = i->get();
    } else if (auto str = node->as_string()) {
      std::string why;
      value = evalExpr(str->get(), env, why);
      if (!value)
        error(loc(node->source()))
            << "'sizes." << name << "' = \"" << str->get() << "\": " << why;
    } else {
      typeError(*node, "sizes", name, "an integer or an expression string");
      continue;
    }
    if (value && *value <= 0) {
      error(loc(node->source()))
          << "'sizes." << name << "' must be positive, got " << *value;
      continue;
    }
    if (value)
      env[name] = *value;
  }
}

void SpecParser::addFragment(BlockDef &block, const FragmentUse &use,
                             Location at) {
  const char *text = libraryFragment(use.fragment);
  if (!text) {
    error(at) << "unknown library fragment '" << use.fragment
              << "'; the library has: "
              << llvm::join(libraryFragmentNames(), ", ");
    return;
  }
  // The fragment's placeholders are its `{name}` fields other than the
  // template fields (`{layer}`, size names) and the list helpers `{i}`,
  // `{count}`; a use gives each of them a non-empty value, and no others.
  std::set<std::string> wanted;
  std::string code; // the fragment without its comments
  bool quoted = false, comment = false;
  for (char c : StringRef(text)) {
    if (c == '\n')
      quoted = comment = false;
    else if (c == '"' && !comment)
      quoted = !quoted;
    else if (c == '#' && !quoted)
      comment = true;
    if (!comment)
      code.push_back(c);
  }
  for (StringRef rest = code; !rest.empty();) {
    size_t open = rest.find('{');
    if (open == StringRef::npos)
      break;
    size_t close = rest.find('}', open);
    if (close == StringRef::npos)
      break;
    StringRef field = rest.slice(open + 1, close);
    bool name = !field.empty() && llvm::all_of(field, [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
    if (name && field != "layer" && field != "i" && field != "count" &&
        !spec.sizes.count(field))
      wanted.insert(field.str());
    // An inline table's brace is not a field: look inside it.
    rest = rest.drop_front(name ? close + 1 : open + 1);
  }
  std::vector<std::string> missing;
  for (const std::string &p : wanted)
    if (!use.scalars.count(p) && !use.lists.count(p))
      missing.push_back(p);
  auto listed = [&] {
    std::vector<std::string> names(wanted.begin(), wanted.end());
    return names.empty() ? std::string("it has none")
                         : "it has: " + llvm::join(names, ", ");
  };
  if (!missing.empty()) {
    error(at) << "library fragment '" << use.fragment
              << "' needs a value for its placeholder"
              << (missing.size() > 1 ? "s " : " ") << llvm::join(missing, ", ")
              << " (write { fragment = \"" << use.fragment << "\", "
              << missing.front() << " = \"...\" })";
    return;
  }
  for (const auto &[name, value] : use.scalars)
    if (!wanted.count(name)) {
      error(at) << "library fragment '" << use.fragment
                << "' has no placeholder '" << name << "'; " << listed();
      return;
    } else if (value.empty()) {
      error(at) << "placeholder '" << name << "' of library fragment '"
                << use.fragment << "' is empty";
      return;
    }
  for (const auto &[name, values] : use.lists)
    if (!wanted.count(name)) {
      error(at) << "library fragment '" << use.fragment
                << "' has no placeholder '" << name << "'; " << listed();
      return;
    } else if (values.empty() || llvm::is_contained(values, "")) {
      error(at) << "list placeholder '" << name << "' of library fragment '"
                << use.fragment << "' must hold non-empty names";
      return;
    }
  std::string source = instantiateFragment(text, use);
  std::string path = "specs/library/" + use.fragment + ".toml";
  if (findNonAsciiOutsideStrings(source).first) {
    error(at) << "library fragment '" << use.fragment
              << "' does not parse after its placeholders were filled in: a "
                 "placeholder put a non-ASCII character outside a string";
    return;
  }
  toml::parse_result result =
      toml::parse(std::string_view(source), std::string_view(path));
  if (!result) {
    error(at) << "library fragment '" << use.fragment
              << "' does not parse after its placeholders were filled in: "
              << std::string(result.error().description());
    return;
  }
  std::vector<ValueDef> values;
  unsigned order = static_cast<unsigned>(block.values.size());
  if (!parseBlockValues(result.table(), block.name, path, at, {}, ctx, values,
                        order)) {
    failed = true;
    return;
  }
  for (ValueDef &v : values) {
    v.fromLibrary = true;
    if (const ValueDef *old = block.find(v.name)) {
      error(at) << "'" << v.name << "' is defined twice in block '"
                << block.name << "': by fragment '" << use.fragment
                << "' and before it";
      (void)old;
      continue;
    }
    block.values.push_back(std::move(v));
  }
}

void SpecParser::parseBlocks(const toml::table *t) {
  for (const char *name : kBlockNames) {
    BlockDef block;
    block.name = name;
    block.loc = spec.locOf("model", ctx);
    const toml::table *written =
        t ? subTable(*t, "block", name, false, spec.locOf("block", ctx))
          : nullptr;
    if (!written) {
      for (const FragmentUse &use : menuFragments(spec, name)) {
        // The menu key that chose the fragment, or the nearest table the
        // spec wrote (a default component has no key of its own).
        StringRef key = use.key;
        while (!spec.keyLocs.count(key) && key.contains('.'))
          key = key.rsplit('.').first;
        addFragment(block, use, spec.locOf(key, ctx));
      }
      spec.blocks.push_back(std::move(block));
      continue;
    }
    std::string tn = std::string("block.") + name;
    block.loc = spec.locOf(tn, ctx);
    // Library fragments first: `use = ["name", { fragment = "name", p = ...
    // }]`.
    Location useKeyLoc = block.loc;
    for (auto &&[k, node] : *written)
      if (k.str() == "use")
        useKeyLoc = loc(k.source());
    if (const toml::node *uses = written->get("use")) {
      const toml::array *array = uses->as_array();
      if (!array)
        typeError(*uses, tn, "use", "an array of fragment names or tables");
      for (const toml::node &entry : array ? *array : toml::array()) {
        FragmentUse use;
        // Array elements carry no source position in toml++; the 'use' key
        // locates them then.
        Location at =
            entry.source().begin.line ? loc(entry.source()) : useKeyLoc;
        if (auto s = entry.as_string()) {
          use.fragment = s->get();
        } else if (auto *u = entry.as_table()) {
          for (auto &&[key, value] : *u) {
            std::string k(key.str());
            if (auto str = value.as_string()) {
              (k == "fragment" ? use.fragment : use.scalars[k]) = str->get();
            } else if (auto *list = value.as_array()) {
              for (const toml::node &e : *list)
                if (auto str = e.as_string())
                  use.lists[k].push_back(str->get());
                else
                  error(at) << "'" << tn << ".use' placeholder '" << k
                            << "' must hold strings, got " << tomlTypeName(e);
            } else {
              error(loc(value.source()))
                  << "'" << tn << ".use' placeholder '" << k
                  << "' must be a string or an array of strings";
            }
          }
          if (use.fragment.empty())
            error(at) << "'" << tn << ".use' entry needs 'fragment = \"name\"'";
        } else {
          error(at) << "'" << tn
                    << ".use' entries must be fragment names or tables";
          continue;
        }
        if (!use.fragment.empty())
          addFragment(block, use, at);
      }
    }
    std::vector<ValueDef> own;
    unsigned order = static_cast<unsigned>(block.values.size());
    if (!parseBlockValues(*written, tn, spec.path, std::nullopt, {"use"}, ctx,
                          own, order))
      failed = true;
    for (ValueDef &v : own) {
      auto it = llvm::find_if(block.values, [&](const ValueDef &old) {
        return old.name == v.name;
      });
      if (it == block.values.end() && v.override) {
        error(v.loc) << "'" << v.name << "' has override = true, but no "
                     << "fragment in 'use' of block '" << name << "' defines '"
                     << v.name << "' to replace";
      } else if (it == block.values.end()) {
        block.values.push_back(std::move(v));
      } else if (v.override) {
        v.order = it->order;
        *it = std::move(v);
        continue;
      } else {
        error(v.loc) << "'" << v.name << "' is defined twice in block '" << name
                     << "': a fragment in 'use' defines it too (write "
                        "'override = true' to replace the fragment's value)";
      }
    }
    spec.blocks.push_back(std::move(block));
  }
}

void SpecParser::buildCatalog() {
  auto reporter = [&](Location at) { return error(at); };
  std::map<std::string, size_t> paramIndex;
  std::map<std::string, std::string> paramBlock;
  std::vector<StateInfo> timeStates, channelStates, modelStates;
  std::map<std::string, std::string> stateBlock;
  for (const BlockDef &block : spec.blocks) {
    bool perLayer = Spec::perLayerBlock(block.name);
    int64_t layers = perLayer ? spec.nLayer : 1;
    // Per value: the layers it is live in.
    std::map<const ValueDef *, std::vector<int64_t>> liveIn;
    for (int64_t l = 0; l < layers; ++l) {
      SizeEnv env = perLayer ? spec.layerSizes(l) : spec.sizes;
      ResolvedBlock resolved;
      if (mlir::failed(resolveBlock(
              block, env, perLayer ? std::optional<int64_t>(l) : std::nullopt,
              resolved, reporter)))
        return;
      for (const ValueDef *v : resolved.live)
        liveIn[v].push_back(l);
      bool hasMain = llvm::any_of(resolved.outputs, [&](auto &o) {
        return o.first == (block.name == "head" ? "logits" : "h");
      });
      if (!hasMain) {
        error(block.loc) << "block '" << block.name << "' has no output '"
                         << (block.name == "head" ? "logits" : "h") << "'"
                         << (perLayer ? " in layer " + std::to_string(l)
                                      : std::string())
                         << " (mark the value it returns with output = \""
                         << (block.name == "head" ? "logits" : "h") << "\")";
        return;
      }
    }
    for (const ValueDef &v : block.values) {
      auto it = liveIn.find(&v);
      if (it == liveIn.end()) {
        if (!v.fromLibrary)
          emitWarning(v.loc) << "'" << v.name << "' in block '" << block.name
                             << "' is never used (nothing that reaches an "
                                "output or a state needs it)";
        continue;
      }
      const std::vector<int64_t> &in = it->second;
      int64_t first = in.front();
      SizeEnv env = perLayer ? spec.layerSizes(first) : spec.sizes;
      std::vector<int64_t> shape;
      for (const std::string &d : v.shape) {
        std::string why;
        std::optional<int64_t> n = evalExpr(d, env, why);
        if (!n) {
          error(v.loc) << "shape of '" << v.name << "': \"" << d
                       << "\": " << why;
          return;
        }
        if (*n <= 0 || *n > (int64_t{1} << 24)) {
          error(v.loc) << "shape of '" << v.name << "': \"" << d << "\" is "
                       << *n << "; a dimension must be in [1, 2^24]";
          return;
        }
        shape.push_back(*n);
      }
      int64_t elements = 1;
      for (int64_t n : shape)
        elements = elements > (int64_t{1} << 40) / n ? (int64_t{1} << 40) + 1
                                                     : elements * n;
      if (elements > (int64_t{1} << 34)) {
        InFlightDiagnostic d = error(v.loc);
        d << "'" << v.name << "' would hold ";
        if (elements > (int64_t{1} << 40))
          d << "more than 2^40";
        else
          d << elements;
        d << " elements; a tensor is limited to 2^34 (64 GiB of f32)";
        return;
      }
      if (v.kind == ValueKind::State) {
        StateInfo st{v.name, shape, static_cast<float>(v.stateInit)};
        if (!v.maxTokens.empty()) {
          std::string why;
          std::optional<int64_t> limit = evalExpr(v.maxTokens, env, why);
          if (!limit || *limit <= 0 || *limit > (int64_t{1} << 24)) {
            error(v.loc) << "'max_tokens' of state '" << v.name << "': "
                         << (limit ? std::to_string(*limit) +
                                         " is not in [1, 2^24] (the count "
                                         "is kept exactly in f32)"
                                   : why);
            return;
          }
          if (shape != std::vector<int64_t>{1}) {
            error(v.loc) << "state '" << v.name
                         << "' has 'max_tokens', so it is a token counter "
                            "and must be state = [1]";
            return;
          }
          st.maxTokens = *limit;
        }
        // A state of embed or head is the model's, one per sequence (the
        // head-QK key window of RWKV-1/2/3).
        st.perLayer = perLayer;
        if (auto [it, fresh] = stateBlock.try_emplace(v.name, block.name);
            !fresh) {
          error(v.loc) << "state '" << v.name << "' is declared in blocks '"
                       << it->second << "' and '" << block.name
                       << "'; a sequence keeps one state per name, so give "
                          "each its own";
          return;
        }
        std::vector<StateInfo> &list = !perLayer ? modelStates
                                       : block.name == "channel_mix"
                                           ? channelStates
                                           : timeStates;
        list.push_back(st);
        continue;
      }
      if (v.kind != ValueKind::Param)
        continue;
      if (perLayer &&
          in.back() - first + 1 != static_cast<int64_t>(in.size())) {
        error(v.loc) << "parameter '" << v.name << "' is used in layers "
                     << first << ".." << in.back()
                     << " with gaps; the runtime binds a per-layer parameter "
                        "from its first layer on, so its presence must be "
                        "'layer >= K'";
        return;
      }
      if (perLayer && in.back() != spec.nLayer - 1) {
        error(v.loc) << "parameter '" << v.name << "' is used in layers "
                     << first << ".." << in.back() << " but not up to layer "
                     << spec.nLayer - 1
                     << "; a per-layer parameter's presence must be "
                        "'layer >= K'";
        return;
      }
      if (paramIndex.count(v.name)) {
        error(v.loc) << "parameter '" << v.name << "' is declared in blocks '"
                     << paramBlock[v.name] << "' and '" << block.name
                     << "'; give each its own name";
        return;
      }
      ParamInfo p;
      p.name = v.name;
      p.shape = shape;
      p.perLayer = perLayer;
      p.firstLayer = static_cast<unsigned>(first);
      p.binding.name = v.bindingName;
      p.binding.transpose = v.transpose;
      p.binding.index = v.index;
      // Checked when the value was parsed.
      p.binding.storedAs = storedAsNamed(v.storedAs).value_or(StoredAs::Raw);
      p.dtype = v.projection == "linear" ? spec.weightDtype
                : v.projection == "lora" ? spec.loraDtype
                : v.projection == "head" ? spec.headDtype
                                         : "f32";
      if (p.dtype == "q8_0" && (shape.size() != 2 || shape[1] % 32 != 0)) {
        error(v.loc) << "parameter '" << v.name << "' "
                     << "of shape ["
                     << llvm::join(llvm::map_range(shape,
                                                   [](int64_t d) {
                                                     return std::to_string(d);
                                                   }),
                                   ", ")
                     << "] cannot be read as q8_0 (precision."
                     << (v.projection == "head" ? "head" : "weights")
                     << "): ggml's Q8_0 blocks need an [out, in] matrix whose "
                        "input width is a multiple of 32; choose \"bf16\" "
                        "or \"f32\" for it";
        return;
      }
      if (v.init.size() == 2)
        p.init = uniform(v.init[0], v.init[1]);
      else if (v.init.size() == 1)
        p.init = InitHint{InitHint::Kind::Constant, v.init[0], v.init[0]};
      else if (shape.size() >= 2)
        p.init = matrixInit(shape.back());
      else
        p.init = uniform(-0.1, 0.1);
      paramIndex[v.name] = spec.paramList.size();
      paramLocs.insert_or_assign(v.name, Location(v.loc));
      paramBlock[v.name] = block.name;
      spec.paramList.push_back(std::move(p));
    }
  }
  spec.stateList = channelStates;
  spec.stateList.insert(spec.stateList.end(), timeStates.begin(),
                        timeStates.end());
  spec.stateList.insert(spec.stateList.end(), modelStates.begin(),
                        modelStates.end());
}

/// Applies [checkpoint.tensors] and checks every parameter's name template:
/// per-layer parameters must use `layer`, global ones must not, and every
/// `{expr}` must give a name for every layer that has the parameter.
void SpecParser::checkBindings() {
  std::vector<ParamInfo> &params = spec.paramList;
  for (auto &entry : spec.bindingOverrides) {
    const std::string &name = entry.first;
    Location at = spec.locOf("checkpoint.tensors." + name, ctx);
    auto it = llvm::find_if(params,
                            [&](const ParamInfo &p) { return p.name == name; });
    if (it == params.end()) {
      SmallVector<StringRef> names;
      for (const ParamInfo &p : params)
        names.push_back(p.name);
      error(at) << "unknown parameter '" << name
                << "' in [checkpoint.tensors]; this spec's parameters are: "
                << llvm::join(names, ", ");
      continue;
    }
    ParamInfo &p = *it;
    p.binding = entry.second;
    // Synthetic weights are drawn in the stored form: map the bounds of
    // the parameter's own range through the checkpoint's transform (all
    // monotonic), so that e.g. a decay stored as exp(-exp(d)) lies in (0, 1).
    if (p.binding.storedAs == StoredAs::Raw)
      continue;
    auto stored = [&](double x) {
      switch (p.binding.storedAs) {
      case StoredAs::Exp:
        return std::exp(x);
      case StoredAs::NegExp:
        return -std::exp(x);
      case StoredAs::ExpNegExp:
        return std::exp(-std::exp(x));
      case StoredAs::Raw:
        break;
      }
      return x;
    };
    double lo = stored(p.init.lo), hi = stored(p.init.hi);
    if (p.init.kind == InitHint::Kind::Constant) {
      p.init.lo = p.init.hi = lo;
    } else {
      p.init.lo = std::min(lo, hi);
      p.init.hi = std::max(lo, hi);
    }
  }
  for (ParamInfo &p : params) {
    auto override = spec.bindingOverrides.find(p.name);
    Location at = override != spec.bindingOverrides.end()
                      ? spec.locOf("checkpoint.tensors." + p.name, ctx)
                      : paramLocs.at(p.name);
    const std::string &tmpl = p.binding.name;
    if (!p.perLayer && templateUsesLayer(tmpl)) {
      error(at) << "tensor name template '" << tmpl << "' for '" << p.name
                << "' uses {layer} but the parameter is not per layer";
      continue;
    }
    {
      std::string why;
      if (!expandTemplate(
              tmpl, p.perLayer ? spec.layerSizes(p.firstLayer) : spec.sizes,
              why)) {
        error(at) << "tensor name template '" << tmpl << "' for '" << p.name
                  << "': " << why
                  << (p.perLayer ? " in layer " + std::to_string(p.firstLayer)
                                 : std::string());
        continue;
      }
    }
    bool usesLayer = templateUsesLayer(tmpl);
    if (p.perLayer && !usesLayer) {
      error(at) << "tensor name template '" << tmpl << "' for '" << p.name
                << "' names a per-layer parameter but has no {layer} "
                   "placeholder";
      continue;
    }
    // Plain {layer} fields are expanded by the runtime; anything else is
    // computed here for every layer.
    bool plain = true;
    for (size_t pos = tmpl.find('{'); pos != std::string::npos;
         pos = tmpl.find('{', pos + 1))
      if (tmpl.compare(pos, 7, "{layer}") != 0)
        plain = false;
    if (plain)
      continue;
    int64_t first = p.perLayer ? p.firstLayer : 0;
    int64_t last = p.perLayer ? spec.nLayer - 1 : 0;
    std::vector<std::string> names;
    for (int64_t l = 0; l <= last; ++l) {
      if (l < first) {
        names.push_back("");
        continue;
      }
      std::string why;
      std::optional<std::string> name = expandTemplate(
          tmpl, p.perLayer ? spec.layerSizes(l) : spec.sizes, why);
      if (!name) {
        error(at) << "tensor name template '" << tmpl << "' for '" << p.name
                  << "': " << why
                  << (p.perLayer ? " in layer " + std::to_string(l)
                                 : std::string());
        break;
      }
      names.push_back(*name);
    }
    if (p.perLayer)
      p.layerNames = std::move(names);
    else if (!names.empty())
      p.binding.name = names.front();
  }
}

std::optional<Spec> SpecParser::parse(StringRef text) {
  {
    llvm::SHA256 hasher;
    hasher.update(text);
    spec.sha256 = llvm::toHex(hasher.final(), /*LowerCase=*/true);
  }
  if (auto [line, column] = findNonAsciiOutsideStrings(
          std::string_view(text.data(), text.size()));
      line) {
    emitError(FileLineColLoc::get(ctx, spec.path, line, column))
        << "invalid TOML: a non-ASCII character outside a string or comment "
           "(TOML allows them only there)";
    return std::nullopt;
  }
  toml::parse_result result =
      toml::parse(std::string_view(text.data(), text.size()), spec.path);
  if (!result) {
    const toml::parse_error &err = result.error();
    emitError(loc(err.source()))
        << "invalid TOML: " << std::string(err.description());
    return std::nullopt;
  }
  const toml::table &root = result.table();
  Location fileLoc = FileLineColLoc::get(ctx, spec.path, 1, 1);
  checkKeys(root, "",
            {"model", "norm", "precision", "sizes", "time_mix", "channel_mix",
             "block", "checkpoint"});
  if (auto *t = subTable(root, "", "model", true, fileLoc))
    parseModel(*t, spec.locOf("model", ctx));
  if (auto *t = subTable(root, "", "norm", true, fileLoc))
    parseNorm(*t, spec.locOf("norm", ctx));
  if (auto *t = subTable(root, "", "precision", false, fileLoc))
    parsePrecision(*t, spec.locOf("precision", ctx));
  const toml::table *blockTable = subTable(root, "", "block", false, fileLoc);
  if (blockTable) {
    checkKeys(*blockTable, "block",
              {kBlockNames[0], kBlockNames[1], kBlockNames[2], kBlockNames[3]});
    for (const char *name : kBlockNames)
      if (blockTable->contains(name))
        handWritten.insert(name);
    spec.menuOnly = handWritten.empty();
  }
  // The component keys describe the time and channel mixes the spec does
  // not write itself.
  bool menu =
      !handWritten.count("time_mix") || !handWritten.count("channel_mix");
  if (auto *t = subTable(root, "", "time_mix", menu, fileLoc))
    parseTimeMix(*t, spec.locOf("time_mix", ctx));
  if (auto *t = subTable(root, "", "channel_mix", false, fileLoc))
    parseChannelMix(*t, spec.locOf("channel_mix", ctx));
  // Errors in [checkpoint] do not stop the checks that follow (all of a
  // spec's binding errors are reported at once).
  bool failedBefore = failed;
  if (auto *t = subTable(root, "", "checkpoint", false, fileLoc))
    parseCheckpoint(*t, spec.locOf("checkpoint", ctx));
  bool checkpointFailed = failed && !failedBefore;
  failed = failedBefore;
  validate();
  if (failed || !sizesValid)
    return std::nullopt;
  parseSizes(subTable(root, "", "sizes", false, fileLoc));
  if (failed)
    return std::nullopt;
  parseBlocks(blockTable);
  if (failed)
    return std::nullopt;
  buildCatalog();
  if (failed)
    return std::nullopt;
  checkBindings();
  if (failed || checkpointFailed)
    return std::nullopt;
  return std::move(spec);
}

} // namespace

std::optional<Spec> mlir::rwkv::parseSpec(StringRef text, StringRef path,
                                          MLIRContext *ctx) {
  return SpecParser(path, ctx).parse(text);
}

std::optional<Spec> mlir::rwkv::parseSpecFile(StringRef path,
                                              MLIRContext *ctx) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    emitError(UnknownLoc::get(ctx))
        << "cannot read spec '" << path << "': " << buffer.getError().message();
    return std::nullopt;
  }
  return parseSpec((*buffer)->getBuffer(), path, ctx);
}
