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

std::vector<ParamInfo> Spec::parameters() const {
  const int64_t c = dModel, v = vocabSize, f = dFfn, h = numHeads(),
                n = headSize;
  std::vector<ParamInfo> params;
  auto add = [&](std::string name, std::vector<int64_t> shape, bool perLayer,
                 TensorBinding binding, InitHint init, unsigned first = 0) {
    ParamInfo p;
    p.name = std::move(name);
    p.shape = std::move(shape);
    p.perLayer = perLayer;
    p.firstLayer = first;
    p.binding = std::move(binding);
    p.init = init;
    params.push_back(std::move(p));
  };
  auto blk = [](StringRef rest) { return ("blocks.{layer}." + rest).str(); };
  // Plain name in the compiler's layout, or transposed ([in, out]) storage.
  auto same = [](std::string name) { return TensorBinding{name, false, -1}; };
  auto transposed = [](std::string name) {
    return TensorBinding{name, true, -1};
  };
  const InitHint vecInit = uniform(-0.1, 0.1), scaleInit = uniform(0.8, 1.2),
                 mixInit = uniform(0.0, 1.0);

  // Embedding, ln0, ln_out, head (rwkv-math §1, §7).
  add("emb", {v, c}, false, same("emb.weight"), uniform(-0.5, 0.5));
  if (ln0) {
    add("ln0.weight", {c}, false, same("blocks.0.ln0.weight"), scaleInit);
    add("ln0.bias", {c}, false, same("blocks.0.ln0.bias"), vecInit);
  }
  add("ln_out.weight", {c}, false, same("ln_out.weight"), scaleInit);
  add("ln_out.bias", {c}, false, same("ln_out.bias"), vecInit);
  add("head", {v, c}, false, same("head.weight"), matrixInit(c));

  // Per-block norms.
  for (const char *ln : {"ln1", "ln2"}) {
    add(std::string(ln) + ".weight", {c}, true,
        same(blk(std::string(ln) + ".weight")), scaleInit);
    add(std::string(ln) + ".bias", {c}, true,
        same(blk(std::string(ln) + ".bias")), vecInit);
  }

  // RWKV-7 time mix (rwkv-math §5, checkpoint names §7). BlinkDL stores the
  // LoRA matrices [in, out], hence the transposed default bindings.
  for (const char *mix : {"x_r", "x_w", "x_k", "x_v", "x_a", "x_g"})
    add(std::string("att.") + mix, {c}, true,
        same(blk(std::string("att.") + mix)), mixInit);
  for (const char *proj : {"receptance", "key", "value", "output"})
    add(std::string("att.") + proj, {c, c}, true,
        same(blk(std::string("att.") + proj + ".weight")), matrixInit(c));
  struct Lora {
    const char *prefix;
    int64_t rank;
    bool hasBias;
    unsigned first;
  };
  const Lora loras[] = {
      {"w", decayRank, true, 0},
      {"a", iclrRank, true, 0},
      {"v", valueResidual ? valueRank : 0, true, 1},
      {"g", gate == GateKind::LoraSigmoid ? gateRank : 0, false, 0}};
  for (const Lora &l : loras) {
    if (l.rank == 0)
      continue;
    std::string p = std::string("att.") + l.prefix;
    if (l.hasBias)
      add(p + "0", {c}, true, same(blk(p + "0")), uniform(-1.0, 1.0), l.first);
    add(p + "1", {l.rank, c}, true, transposed(blk(p + "1")), matrixInit(c),
        l.first);
    add(p + "2", {c, l.rank}, true, transposed(blk(p + "2")),
        matrixInit(l.rank), l.first);
  }
  add("att.k_k", {c}, true, same(blk("att.k_k")), uniform(0.5, 1.0));
  add("att.k_a", {c}, true, same(blk("att.k_a")), mixInit);
  add("att.r_k", {h, n}, true, same(blk("att.r_k")), uniform(-0.5, 0.5));
  add("att.ln_x.weight", {c}, true, same(blk("att.ln_x.weight")), scaleInit);
  add("att.ln_x.bias", {c}, true, same(blk("att.ln_x.bias")), vecInit);

  // RWKV-7 channel mix (§5.6).
  add("ffn.x_k", {c}, true, same(blk("ffn.x_k")), mixInit);
  add("ffn.key", {f, c}, true, same(blk("ffn.key.weight")), matrixInit(c));
  add("ffn.value", {c, f}, true, same(blk("ffn.value.weight")), matrixInit(f));

  for (ParamInfo &p : params) {
    auto it = bindingOverrides.find(p.name);
    if (it != bindingOverrides.end())
      p.binding = it->second;
  }
  return params;
}

std::vector<StateInfo> Spec::states() const {
  return {{"att_shift", {dModel}, 0.0f},
          {"wkv", {numHeads(), headSize, headSize}, 0.0f},
          {"ffn_shift", {dModel}, 0.0f}};
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
             "head_size", "d_ffn"});
  readString(t, "model", "name", spec.name, true, tl);
  readString(t, "model", "description", spec.description, false, tl);
  readInt(t, "model", "vocab_size", spec.vocabSize, true, tl);
  readInt(t, "model", "d_model", spec.dModel, true, tl);
  readInt(t, "model", "n_layer", spec.nLayer, true, tl);
  readInt(t, "model", "head_size", spec.headSize, true, tl);
  readInt(t, "model", "d_ffn", spec.dFfn, true, tl);
}

void SpecParser::parseNorm(const toml::table &t, Location tl) {
  checkKeys(t, "norm", {"ln0", "layer_norm_eps", "group_norm_eps"});
  readBool(t, "norm", "ln0", spec.ln0, tl);
  readFloat(t, "norm", "layer_norm_eps", spec.layerNormEps, true, tl);
  readFloat(t, "norm", "group_norm_eps", spec.groupNormEps, true, tl);
}

void SpecParser::parsePrecision(const toml::table &t, Location tl) {
  checkKeys(t, "precision", {"weights", "state"});
  readString(t, "precision", "weights", spec.weightDtype, false, tl);
  std::string state = "f32";
  readString(t, "precision", "state", state, false, tl);
  if (spec.weightDtype != "f32")
    error(spec.locOf("precision.weights", ctx))
        << "'precision.weights' = \"" << spec.weightDtype
        << "\" is not supported yet; expected \"f32\" (f16/bf16 checkpoints "
           "are converted to f32 at load time)";
  if (state != "f32")
    error(spec.locOf("precision.state", ctx))
        << "'precision.state' must be \"f32\" (every reference keeps the WKV "
           "state in f32, rwkv-math §9.5), got \""
        << state << "\"";
}

void SpecParser::parseTimeMix(const toml::table &t, Location tl) {
  checkKeys(t, "time_mix",
            {"token_shift", "decay", "wkv", "bonus", "gate", "value_residual",
             "lora_rank"});
  readEnum<TokenShiftKind>(t, "time_mix", "token_shift", spec.timeMixShift,
                           {{"lerp_previous", TokenShiftKind::LerpPrevious},
                            {"lerp_current", TokenShiftKind::LerpCurrent}},
                           tl);
  readEnum<DecayParam>(t, "time_mix", "decay", spec.decay,
                       {{"lora_sigmoid", DecayParam::LoraSigmoid}}, tl);
  readEnum<WkvKind>(t, "time_mix", "wkv", spec.wkv, {{"wkv7", WkvKind::Wkv7}},
                    tl);
  readEnum<BonusKind>(t, "time_mix", "bonus", spec.bonus,
                      {{"rk_after_norm", BonusKind::RkAfterNorm}}, tl);
  readEnum<GateKind>(
      t, "time_mix", "gate", spec.gate,
      {{"none", GateKind::None}, {"lora_sigmoid", GateKind::LoraSigmoid}}, tl);
  readBool(t, "time_mix", "value_residual", spec.valueResidual, tl);

  if (const toml::table *ranks =
          subTable(t, "time_mix", "lora_rank", true, tl)) {
    Location rl = spec.locOf("time_mix.lora_rank", ctx);
    checkKeys(*ranks, "time_mix.lora_rank", {"decay", "iclr", "value", "gate"});
    readInt(*ranks, "time_mix.lora_rank", "decay", spec.decayRank, true, rl);
    readInt(*ranks, "time_mix.lora_rank", "iclr", spec.iclrRank, true, rl);
    readInt(*ranks, "time_mix.lora_rank", "value", spec.valueRank,
            spec.valueResidual, rl);
    readInt(*ranks, "time_mix.lora_rank", "gate", spec.gateRank,
            spec.gate == GateKind::LoraSigmoid, rl);
  }
}

void SpecParser::parseChannelMix(const toml::table &t, Location tl) {
  checkKeys(t, "channel_mix", {"kind", "token_shift"});
  readEnum<ChannelMixKind>(t, "channel_mix", "kind", spec.channelMix,
                           {{"relu_square", ChannelMixKind::ReluSquare}}, tl);
  readEnum<TokenShiftKind>(t, "channel_mix", "token_shift",
                           spec.channelMixShift,
                           {{"lerp_previous", TokenShiftKind::LerpPrevious},
                            {"lerp_current", TokenShiftKind::LerpCurrent}},
                           tl);
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
      checkKeys(*entry, tn, {"name", "transpose", "index"});
      readString(*entry, tn, "name", binding.name, true, keyLoc);
      readBool(*entry, tn, "transpose", binding.transpose, keyLoc);
      readInt(*entry, tn, "index", binding.index, false, keyLoc);
      if (const toml::node *idx = entry->get("index");
          idx && idx->is_integer() && binding.index < 0)
        error(loc(idx->source()))
            << "'" << tn << ".index' must be >= 0, got " << binding.index;
    } else {
      error(loc(node.source()))
          << "'checkpoint.tensors." << canonical
          << "' must be a tensor name or a table {name, transpose, index}, "
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
  for (auto [key, rank, used] :
       {std::tuple<StringRef, int64_t, bool>{"time_mix.lora_rank.decay",
                                             spec.decayRank, true},
        {"time_mix.lora_rank.iclr", spec.iclrRank, true},
        {"time_mix.lora_rank.value", spec.valueRank, spec.valueResidual},
        {"time_mix.lora_rank.gate", spec.gateRank,
         spec.gate == GateKind::LoraSigmoid}})
    if (used)
      sizesOk = positive(key, rank) && sizesOk;
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
