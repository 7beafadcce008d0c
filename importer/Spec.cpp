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

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#define TOML_ENABLE_FORMATTERS 0
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <set>

using namespace mlir;
using namespace mlir::rwkv;

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

static std::string shiftPrefix(TokenShiftKind kind, const char *block) {
  switch (kind) {
  case TokenShiftKind::LerpPrevious:
    return std::string(block) + ".x_";
  case TokenShiftKind::LerpCurrent:
    return std::string(block) + ".time_mix_";
  case TokenShiftKind::DDLerp:
    return std::string(block) + ".time_maa_";
  }
  llvm_unreachable("unknown token shift");
}

std::string Spec::timeMixPrefix() const {
  return shiftPrefix(timeMixShift, "att");
}
std::string Spec::channelMixPrefix() const {
  return shiftPrefix(channelMixShift, "ffn");
}

std::vector<ParamInfo> Spec::parameters() const {
  const int64_t c = dModel, v = vocabSize, f = dFfn, h = numHeads(),
                n = headSize;
  std::vector<ParamInfo> params;
  auto add = [&](std::string name, std::vector<int64_t> shape, bool perLayer,
                 TensorBinding binding, InitHint init, unsigned first = 0,
                 bool projection = false) {
    ParamInfo p;
    p.dtype = projection ? weightDtype : "f32";
    p.name = std::move(name);
    p.shape = std::move(shape);
    p.perLayer = perLayer;
    p.firstLayer = first;
    p.binding = std::move(binding);
    p.init = init;
    params.push_back(std::move(p));
  };
  // Default bindings follow BlinkDL's .pth names (rwkv-math §7).
  auto blk = [](const std::string &rest) { return "blocks.{layer}." + rest; };
  auto same = [](std::string name) { return TensorBinding{name, false, -1}; };
  auto transposed = [](std::string name) {
    return TensorBinding{name, true, -1};
  };
  // A per-layer vector, a per-layer [out, in] Linear, a per-layer LoRA
  // matrix (stored [in, out] by BlinkDL).
  auto vec = [&](const std::string &name, InitHint init,
                 std::vector<int64_t> shape = {}, unsigned first = 0) {
    add(name, shape.empty() ? std::vector<int64_t>{c} : shape, true,
        same(blk(name)), init, first);
  };
  auto linear = [&](const std::string &name, int64_t out, int64_t in) {
    add(name, {out, in}, true, same(blk(name + ".weight")), matrixInit(in), 0,
        /*projection=*/true);
  };
  auto loraMatrix = [&](const std::string &name, int64_t out, int64_t in,
                        unsigned first = 0, bool projection = true) {
    add(name, {out, in}, true, transposed(blk(name)), matrixInit(in), first,
        projection);
  };
  const InitHint small = uniform(-0.1, 0.1), scale = uniform(0.8, 1.2),
                 mixInit = uniform(0.0, 1.0);

  // Embedding, ln0, ln_out, head (rwkv-math §1, §7).
  add("emb", {v, c}, false, same("emb.weight"), uniform(-0.5, 0.5));
  if (ln0) {
    add("ln0.weight", {c}, false, same("blocks.0.ln0.weight"), scale);
    add("ln0.bias", {c}, false, same("blocks.0.ln0.bias"), small);
  }
  add("ln_out.weight", {c}, false, same("ln_out.weight"), scale);
  add("ln_out.bias", {c}, false, same("ln_out.bias"), small);
  add("head", {v, c}, false, same("head.weight"), matrixInit(c), 0,
      /*projection=*/true);
  if (headBias)
    add("head.bias", {v}, false, same("head.bias"), small);
  if (residualBias) {
    vec("att.output.bias", small);
    vec("ffn.value.bias", small);
  }
  for (const char *ln : {"ln1", "ln2"}) {
    vec(std::string(ln) + ".weight", scale);
    vec(std::string(ln) + ".bias", small);
  }

  // Time-mix token shift (§2.1, §3.1, §4.1, §5.1).
  std::vector<std::string> inputs = timeMixInputs();
  std::string mixPrefix = timeMixPrefix();
  if (timeMixShift == TokenShiftKind::DDLerp) {
    int64_t k = static_cast<int64_t>(inputs.size());
    vec("att.time_maa_x", mixInit);
    for (const std::string &m : inputs)
      vec(mixPrefix + m, mixInit);
    // ddlerp reads its LoRA in f32.
    loraMatrix("att.time_maa_w1", k * mixRank, c, 0, /*projection=*/false);
    // [K, D, C] in BlinkDL files: each block transposed to [C, D].
    add("att.time_maa_w2", {k, c, mixRank}, true,
        transposed(blk("att.time_maa_w2")), uniform(-0.1, 0.1));
  } else {
    for (const std::string &m : inputs)
      vec(mixPrefix + m, mixInit);
  }

  // Projections.
  for (const char *proj : {"receptance", "key", "value", "output"})
    linear(std::string("att.") + proj, c, c);

  // Decay (§2.1, §3.1, §4.2, §5.2).
  switch (decay) {
  case DecayParam::Static:
    vec("att.time_decay", uniform(-6.0, 0.0));
    break;
  case DecayParam::StaticPerHead:
    vec("att.time_decay", uniform(-6.0, 0.0), {h});
    break;
  case DecayParam::LoraExp:
    vec("att.time_decay", uniform(-6.0, 0.0));
    loraMatrix("att.time_decay_w1", decayRank, c);
    loraMatrix("att.time_decay_w2", c, decayRank);
    break;
  case DecayParam::LoraSigmoid:
    vec("att.w0", uniform(-1.0, 1.0));
    loraMatrix("att.w1", decayRank, c);
    loraMatrix("att.w2", c, decayRank);
    break;
  }

  // Bonus (§2.1, §3, §5.5).
  switch (bonus) {
  case BonusKind::TimeFirst:
    vec("att.time_first", uniform(-1.0, 1.0));
    break;
  case BonusKind::U:
    vec("att.time_faaaa", uniform(-0.5, 0.5));
    break;
  case BonusKind::UExp:
    vec("att.time_first", uniform(-2.0, 0.0));
    break;
  case BonusKind::UExpPerHead:
    vec("att.time_first", uniform(-2.0, 0.0), {h});
    break;
  case BonusKind::RkAfterNorm:
    vec("att.r_k", uniform(-0.5, 0.5), {h, n});
    break;
  }

  // RWKV-7 keys and value residual (§5.2, §5.3).
  if (wkv == WkvKind::Wkv7) {
    vec("att.a0", uniform(-1.0, 1.0));
    loraMatrix("att.a1", iclrRank, c);
    loraMatrix("att.a2", c, iclrRank);
    vec("att.k_k", uniform(0.5, 1.0));
    vec("att.k_a", mixInit);
  }
  if (valueResidual) {
    vec("att.v0", uniform(-1.0, 1.0), {}, 1);
    loraMatrix("att.v1", valueRank, c, 1);
    loraMatrix("att.v2", c, valueRank, 1);
  }

  // Gate and output norm.
  if (gate == GateKind::Silu)
    linear("att.gate", c, c);
  if (gate == GateKind::LoraSigmoid) {
    loraMatrix("att.g1", gateRank, c);
    loraMatrix("att.g2", c, gateRank);
  }
  if (outputNorm == OutputNormKind::GroupNorm) {
    vec("att.ln_x.weight", scale);
    vec("att.ln_x.bias", small);
  }

  // Channel mix (§2.3, §4.3, §5.6).
  std::string ffnPrefix = channelMixPrefix();
  vec(ffnPrefix + "k", mixInit);
  if (channelMix == ChannelMixKind::ReluSquareGated) {
    vec(ffnPrefix + "r", mixInit);
    linear("ffn.receptance", c, c);
  }
  linear("ffn.key", f, c);
  linear("ffn.value", c, f);

  for (ParamInfo &p : params) {
    auto it = bindingOverrides.find(p.name);
    if (it == bindingOverrides.end())
      continue;
    p.binding = it->second;
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
  return params;
}

std::vector<StateInfo> Spec::states() const {
  // rwkv.cpp's per-layer order: ffn_xx, att_xx, then the WKV state.
  std::vector<StateInfo> s{{"ffn_shift", {dModel}, 0.0f},
                           {"att_shift", {dModel}, 0.0f}};
  if (wkv == WkvKind::Wkv4) {
    // (a, b, p): numerator, denominator and running log-scale; p starts at
    // -1e30 so the first token's weight dominates (§2.2).
    s.push_back({"wkv_a", {dModel}, 0.0f});
    s.push_back({"wkv_b", {dModel}, 0.0f});
    s.push_back({"wkv_p", {dModel}, -1e30f});
  } else {
    s.push_back({"wkv", {numHeads(), headSize, headSize}, 0.0f});
  }
  return s;
}

//===----------------------------------------------------------------------===//
// TOML parsing
//===----------------------------------------------------------------------===//

namespace {

const char *typeName(const toml::node &node) {
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

  /// Reports that `tn.key` has the wrong type; later checks skip it.
  InFlightDiagnostic typeError(const toml::node &node, StringRef tn,
                               StringRef key, StringRef expected) {
    invalidKeys.insert((tn + "." + key).str());
    return error(loc(node.source())) << "'" << tn << "." << key << "' must be "
                                     << expected << ", got " << typeName(node);
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
    error(loc(node->source())) << "'" << tn << "." << key
                               << "' must be a string, got " << typeName(*node);
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
      << "'" << full << "' must be a table, got " << typeName(*node);
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
  checkKeys(t, "precision", {"weights", "state"});
  readString(t, "precision", "weights", spec.weightDtype, false, tl);
  std::string state = "f32";
  readString(t, "precision", "state", state, false, tl);
  if (spec.weightDtype != "f32" && spec.weightDtype != "bf16")
    error(spec.locOf("precision.weights", ctx))
        << "'precision.weights' = \"" << spec.weightDtype
        << "\" is not supported; expected \"f32\" or \"bf16\" (other "
           "checkpoint dtypes are converted at load time)";
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
  checkKeys(t, "checkpoint", {"format", "tensors"});
  std::string format;
  readString(t, "checkpoint", "format", format, false, tl);
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
                         {{"raw", StoredAs::Raw},
                          {"exp", StoredAs::Exp},
                          {"neg_exp", StoredAs::NegExp},
                          {"exp_neg_exp", StoredAs::ExpNegExp}},
                         keyLoc);
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
          << typeName(node);
      continue;
    }
    spec.bindingOverrides[canonical] = binding;
  }
}

/// Checks that a name template only uses the `{layer}` placeholder, and uses
/// it exactly when the parameter is per layer.
bool checkTemplate(StringRef tmpl, bool perLayer, std::string &why) {
  size_t pos = 0;
  bool sawLayer = false;
  while ((pos = tmpl.find('{', pos)) != StringRef::npos) {
    size_t end = tmpl.find('}', pos);
    if (end == StringRef::npos) {
      why = "has an unterminated '{'";
      return false;
    }
    StringRef field = tmpl.slice(pos + 1, end);
    if (field != "layer") {
      why = ("uses the placeholder {" + field + "}; only {layer} is supported")
                .str();
      return false;
    }
    sawLayer = true;
    pos = end + 1;
  }
  if (perLayer && !sawLayer) {
    why = "names a per-layer parameter but has no {layer} placeholder";
    return false;
  }
  if (!perLayer && sawLayer) {
    why = "uses {layer} but the parameter is not per layer";
    return false;
  }
  return true;
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
  // Evaluate every check so all size errors are reported at once.
  bool sizesOk = true;
  for (auto [key, value] :
       {std::pair<StringRef, int64_t>{"model.vocab_size", spec.vocabSize},
        {"model.d_model", spec.dModel},
        {"model.n_layer", spec.nLayer},
        {"model.head_size", spec.headSize},
        {"model.d_ffn", spec.dFfn}})
    sizesOk = positive(key, value) && sizesOk;
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
    sizesOk = positive(key, rank) && sizesOk;
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
  if (!componentsKnown)
    return;
  checkComponents();
  for (auto [key, eps] :
       {std::pair<StringRef, float>{"norm.layer_norm_eps", spec.layerNormEps},
        {"norm.group_norm_eps", spec.groupNormEps}})
    if (!(eps > 0.0f) && !invalidKeys.count(key.str()))
      error(spec.locOf(key, ctx))
          << "'" << key << "' must be positive, got " << eps;
  // The parameter catalog needs valid sizes.
  if (!sizesOk || spec.dModel % spec.headSize != 0)
    return;

  // Bindings name real parameters and use only the {layer} placeholder.
  std::vector<ParamInfo> params = spec.parameters();
  for (auto &entry : spec.bindingOverrides) {
    const std::string &name = entry.first;
    const TensorBinding &binding = entry.second;
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
    std::string why;
    if (!checkTemplate(binding.name, it->perLayer, why))
      error(at) << "tensor name template '" << binding.name << "' for '" << name
                << "' " << why;
  }
}

std::optional<Spec> SpecParser::parse(StringRef text) {
  {
    llvm::SHA256 hasher;
    hasher.update(text);
    spec.sha256 = llvm::toHex(hasher.final(), /*LowerCase=*/true);
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
  checkKeys(
      root, "",
      {"model", "norm", "precision", "time_mix", "channel_mix", "checkpoint"});
  if (auto *t = subTable(root, "", "model", true, fileLoc))
    parseModel(*t, spec.locOf("model", ctx));
  if (auto *t = subTable(root, "", "norm", true, fileLoc))
    parseNorm(*t, spec.locOf("norm", ctx));
  if (auto *t = subTable(root, "", "precision", false, fileLoc))
    parsePrecision(*t, spec.locOf("precision", ctx));
  if (auto *t = subTable(root, "", "time_mix", true, fileLoc))
    parseTimeMix(*t, spec.locOf("time_mix", ctx));
  if (auto *t = subTable(root, "", "channel_mix", false, fileLoc))
    parseChannelMix(*t, spec.locOf("channel_mix", ctx));
  if (auto *t = subTable(root, "", "checkpoint", false, fileLoc))
    parseCheckpoint(*t, spec.locOf("checkpoint", ctx));
  validate();
  if (failed)
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
