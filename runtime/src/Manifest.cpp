//===- Manifest.cpp - reading an artifact's manifest.json -----------------===//

#include "Manifest.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace rwkvrt {

namespace {

using json = nlohmann::json;

/// Typed access to a JSON object with errors that name the file and path.
class Reader {
public:
  explicit Reader(std::string file) : file(std::move(file)) {}

  const json &field(const json &obj, const std::string &path,
                    const char *key) const {
    if (!obj.is_object() || !obj.contains(key))
      bad(path + "." + key, "is missing");
    return obj.at(key);
  }
  std::string str(const json &obj, const std::string &path,
                  const char *key) const {
    const json &v = field(obj, path, key);
    if (!v.is_string())
      bad(path + "." + key, "must be a string");
    return v.get<std::string>();
  }
  int64_t integer(const json &obj, const std::string &path,
                  const char *key) const {
    const json &v = field(obj, path, key);
    if (!v.is_number_integer())
      bad(path + "." + key, "must be an integer");
    return v.get<int64_t>();
  }
  double number(const json &obj, const std::string &path,
                const char *key) const {
    const json &v = field(obj, path, key);
    if (!v.is_number())
      bad(path + "." + key, "must be a number");
    return v.get<double>();
  }
  bool boolean(const json &obj, const std::string &path,
               const char *key) const {
    const json &v = field(obj, path, key);
    if (!v.is_boolean())
      bad(path + "." + key, "must be a boolean");
    return v.get<bool>();
  }
  const json &array(const json &obj, const std::string &path,
                    const char *key) const {
    const json &v = field(obj, path, key);
    if (!v.is_array())
      bad(path + "." + key, "must be an array");
    return v;
  }
  std::vector<int64_t> shape(const json &obj, const std::string &path,
                             const char *key) const {
    std::vector<int64_t> out;
    for (const json &d : array(obj, path, key)) {
      if (!d.is_number_integer() || d.get<int64_t>() < -2 ||
          d.get<int64_t>() == 0)
        bad(path + "." + key,
            "must hold positive sizes (-1 for batch, -2 for tokens)");
      out.push_back(d.get<int64_t>());
    }
    return out;
  }

  std::vector<int64_t> ints(const json &obj, const std::string &path,
                            const char *key) const {
    std::vector<int64_t> out;
    for (const json &d : array(obj, path, key)) {
      if (!d.is_number_integer())
        bad(path + "." + key, "must hold integers");
      out.push_back(d.get<int64_t>());
    }
    return out;
  }

  [[noreturn]] void bad(const std::string &path, const char *what) const {
    fail(RWKV_ERROR_FORMAT,
         file + ": manifest field '" + path.substr(1) + "' " + what);
  }

  std::string file;
};

} // namespace

const ParamSpec *Manifest::findParam(const std::string &name) const {
  for (const ParamSpec &p : params)
    if (p.name == name)
      return &p;
  return nullptr;
}

Manifest readManifest(const std::string &dir) {
  Manifest m;
  m.path = dir + "/manifest.json";
  std::ifstream in(m.path);
  if (!in)
    fail(RWKV_ERROR_IO, m.path + ": cannot open (is '" + dir +
                            "' an artifact directory written by rwkvc?)");
  json root = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object())
    fail(RWKV_ERROR_FORMAT, m.path + ": not a valid JSON object");
  Reader r(m.path);

  m.abiVersion = r.integer(root, "", "abi_version");
  // Version 2 (no `device` section: CPU artifacts) is still accepted.
  if (m.abiVersion != RWKV_RUNTIME_ABI_VERSION && m.abiVersion != 2)
    fail(RWKV_ERROR_FORMAT, m.path + ": artifact ABI version " +
                                std::to_string(m.abiVersion) +
                                ", this runtime supports 2 and " +
                                std::to_string(RWKV_RUNTIME_ABI_VERSION) +
                                "; recompile the spec with a matching rwkvc");
  const json &spec = r.field(root, "", "spec");
  m.specName = r.str(spec, ".spec", "name");
  m.specSha256 = r.str(spec, ".spec", "sha256");
  const json &target = r.field(root, "", "target");
  m.targetCpu = r.str(target, ".target", "cpu");
  for (const json &f : r.array(target, ".target", "features")) {
    if (!f.is_string())
      r.bad(".target.features", "must hold strings");
    m.cpuFeatures.push_back(f.get<std::string>());
  }
  if (auto it = root.find("checkpoint_metadata"); it != root.end()) {
    if (!it->is_object())
      r.bad(".checkpoint_metadata", "must be an object");
    using Kind = MetaValue::Kind;
    for (auto &item : it->items()) {
      const json &v = item.value();
      MetaValue value;
      if (v.is_number_integer()) {
        value = {Kind::Int,
                 v.is_number_unsigned() ? std::to_string(v.get<uint64_t>())
                                        : std::to_string(v.get<int64_t>()),
                 v.get<double>()};
      } else if (v.is_number_float()) {
        char text[32];
        std::snprintf(text, sizeof text, "%.9g", v.get<double>());
        value = {Kind::Float, text, v.get<double>()};
      } else if (v.is_boolean()) {
        value = {Kind::Bool, v.get<bool>() ? "true" : "false", 0};
      } else if (v.is_string()) {
        value = {Kind::String, v.get<std::string>(), 0};
      } else {
        r.bad(".checkpoint_metadata." + item.key(),
              "must be an integer, float, boolean or string");
      }
      m.checkpointMetadata.emplace_back(item.key(), std::move(value));
    }
  }
  m.library = r.str(root, "", "library");
  // The library sits in the artifact directory: a file name, not a path
  // that would make the runtime load code from elsewhere.
  if (m.library.empty() || m.library.find('/') != std::string::npos ||
      m.library == "." || m.library == "..")
    fail(RWKV_ERROR_FORMAT, m.path + ": manifest field 'library' is " +
                                quotedName(m.library) +
                                "; expected a file name in the artifact "
                                "directory (model.so)");
  m.deviceKind = "cpu";
  if (m.abiVersion >= 3) {
    const json &device = r.field(root, "", "device");
    m.deviceKind = r.str(device, ".device", "kind");
    if (m.deviceKind == "cuda") {
      for (const json &c : r.array(device, ".device", "chips")) {
        if (!c.is_string())
          r.bad(".device.chips", "must hold strings");
        m.deviceChips.push_back(c.get<std::string>());
      }
      if (m.deviceChips.empty())
        r.bad(".device.chips", "must name at least one chip");
    } else if (m.deviceKind != "cpu") {
      r.bad(".device.kind",
            ("must be \"cpu\" or \"cuda\", not \"" + m.deviceKind + "\"")
                .c_str());
    }
  }
  const json &model = r.field(root, "", "model");
  m.vocabSize = r.integer(model, ".model", "vocab_size");
  m.dModel = r.integer(model, ".model", "d_model");
  m.nLayer = r.integer(model, ".model", "n_layer");
  m.nHead = r.integer(model, ".model", "n_head");
  m.headSize = r.integer(model, ".model", "head_size");
  m.dFfn = r.integer(model, ".model", "d_ffn");
  // Sizes the runtime allocates from: positive and small enough that
  // products of them cannot overflow (a negative n_layer once surfaced as
  // 'vector::_M_default_append').
  constexpr int64_t kMaxSize = int64_t{1} << 32;
  for (auto [key, value] :
       {std::pair<const char *, int64_t>{"vocab_size", m.vocabSize},
        {"d_model", m.dModel},
        {"n_layer", m.nLayer},
        {"n_head", m.nHead},
        {"head_size", m.headSize},
        {"d_ffn", m.dFfn}})
    if (value < 1 || value > kMaxSize)
      fail(RWKV_ERROR_FORMAT, m.path + ": manifest field 'model." + key +
                                  "' is " + std::to_string(value) +
                                  "; expected 1 to " +
                                  std::to_string(kMaxSize));

  const json &params = r.array(root, "", "parameters");
  for (size_t i = 0; i < params.size(); ++i) {
    std::string path = ".parameters[" + std::to_string(i) + "]";
    const json &p = params[i];
    ParamSpec ps;
    ps.name = r.str(p, path, "name");
    ps.shape = r.shape(p, path, "shape");
    ps.perLayer = r.boolean(p, path, "per_layer");
    ps.firstLayer = r.integer(p, path, "first_layer");
    const json &ck = r.field(p, path, "checkpoint");
    ps.checkpoint.name = r.str(ck, path + ".checkpoint", "name");
    ps.checkpoint.transpose = r.boolean(ck, path + ".checkpoint", "transpose");
    if (ck.contains("index"))
      ps.checkpoint.index = r.integer(ck, path + ".checkpoint", "index");
    if (ck.contains("layer_names")) {
      const json &names = r.array(ck, path + ".checkpoint", "layer_names");
      for (size_t l = 0; l < names.size(); ++l) {
        if (!names[l].is_string())
          fail(RWKV_ERROR_FORMAT, m.path + ": " + path +
                                      ".checkpoint.layer_names[" +
                                      std::to_string(l) + "] is not a string");
        ps.checkpoint.layerNames.push_back(names[l].get<std::string>());
      }
    }
    const json &init = r.field(p, path, "init");
    ps.initKind = r.str(init, path + ".init", "kind");
    ps.initLo = r.number(init, path + ".init", "lo");
    ps.initHi = r.number(init, path + ".init", "hi");
    ps.dtype = r.str(p, path, "dtype");
    if (ps.dtype != "f32" && ps.dtype != "bf16" && ps.dtype != "q8_0")
      fail(RWKV_ERROR_FORMAT,
           m.path + ": " + path + ".dtype is '" + ps.dtype +
               "'; this runtime reads f32, bf16 and q8_0 weights");
    if (ps.q8() &&
        (ps.shape.size() != 2 || ps.shape[1] <= 0 || ps.shape[1] % 32 != 0))
      r.bad(path + ".shape", "must be [out, in] with 'in' a multiple of 32 "
                             "for a q8_0 parameter");
    if (ps.q8() && m.deviceKind == "cuda")
      r.bad(path + ".dtype", "is q8_0, which has CPU kernels only, in a "
                             "manifest for a CUDA device");
    if (checkedElements(ps.shape, ps.elementBytes()) < 0)
      r.bad(path + ".shape",
            "must hold positive sizes whose product fits in 64 bits");
    if (ps.firstLayer < 0 || ps.firstLayer > m.nLayer)
      r.bad(path + ".first_layer", "must lie in [0, model.n_layer]");
    m.params.push_back(std::move(ps));
  }
  const json &states = r.array(root, "", "states");
  for (size_t i = 0; i < states.size(); ++i) {
    std::string path = ".states[" + std::to_string(i) + "]";
    StateSpec s;
    s.name = r.str(states[i], path, "name");
    s.shape = r.shape(states[i], path, "shape");
    s.init = static_cast<float>(r.number(states[i], path, "init"));
    if (checkedElements(s.shape, 4) < 0)
      r.bad(path + ".shape",
            "must hold positive sizes whose product fits in 64 bits");
    if (states[i].contains("max_tokens")) {
      s.maxTokens = r.integer(states[i], path, "max_tokens");
      if (s.maxTokens <= 0 || s.shape != std::vector<int64_t>{1})
        fail(RWKV_ERROR_FORMAT, m.path + ": " + path +
                                    ".max_tokens must be positive on a [1] "
                                    "token-counter state");
    }
    if (states[i].contains("per_layer"))
      s.perLayer = r.boolean(states[i], path, "per_layer");
    m.states.push_back(std::move(s));
  }
  const json &entries = r.array(root, "", "entry_points");
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string path = ".entry_points[" + std::to_string(i) + "]";
    const json &e = entries[i];
    EntrySpec es;
    es.name = r.str(e, path, "name");
    es.symbol = r.str(e, path, "symbol");
    es.kind = r.str(e, path, "kind");
    es.mode = r.str(e, path, "mode");
    if (es.mode != "recurrent" && es.mode != "parallel")
      r.bad(path + ".mode", "must be recurrent or parallel");
    es.layers = r.ints(e, path, "layers");
    const json &args = r.array(e, path, "args");
    for (size_t j = 0; j < args.size(); ++j) {
      std::string apath = path + ".args[" + std::to_string(j) + "]";
      ArgSpec a;
      a.role = r.str(args[j], apath, "role");
      a.name = r.str(args[j], apath, "name");
      a.output = r.boolean(args[j], apath, "output");
      a.shape = r.shape(args[j], apath, "shape");
      a.dtype = r.str(args[j], apath, "dtype");
      if (a.role != "param" && a.role != "state" && a.role != "activation")
        r.bad(apath + ".role", "must be param, state or activation");
      es.args.push_back(std::move(a));
    }
    m.entries.push_back(std::move(es));
  }
  return m;
}

namespace {
std::string listText(const std::vector<int64_t> &values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? "," : "") + std::to_string(values[i]);
  return s + "]";
}
} // namespace

std::string shapeTable(const Manifest &m) {
  std::string t = "rwkv-shape-table 1\n";
  t += "model " + std::to_string(m.vocabSize) + " " + std::to_string(m.dModel) +
       " " + std::to_string(m.nLayer) + " " + std::to_string(m.nHead) + " " +
       std::to_string(m.headSize) + " " + std::to_string(m.dFfn) + "\n";
  for (const ParamSpec &p : m.params)
    t += "param " + p.name + " " + listText(p.shape) + " " + p.dtype + " " +
         (p.perLayer ? "1" : "0") + " " + std::to_string(p.firstLayer) + " " +
         p.checkpoint.name + " " + (p.checkpoint.transpose ? "1" : "0") + " " +
         std::to_string(p.checkpoint.index >= 0 ? p.checkpoint.index : -1) +
         "\n";
  for (const StateSpec &s : m.states) {
    uint32_t bits;
    std::memcpy(&bits, &s.init, 4);
    char hex[16];
    std::snprintf(hex, sizeof hex, "%x", bits);
    t += "state " + s.name + " " + listText(s.shape) + " " + hex +
         (s.perLayer ? "" : " model") + "\n";
  }
  for (const EntrySpec &e : m.entries) {
    t += "entry " + e.name + " " + e.symbol + " " + e.kind + " " + e.mode +
         " " + listText(e.layers) + "\n";
    for (const ArgSpec &a : e.args)
      t += "arg " + a.role + " " + a.name + " " + (a.output ? "out" : "in") +
           " " + listText(a.shape) + " " + a.dtype + "\n";
  }
  return t;
}

void checkShapeTable(const Manifest &m, const std::string &compiled) {
  const std::string written = shapeTable(m);
  if (written == compiled)
    return;
  auto lines = [](const std::string &text) {
    std::vector<std::string> out;
    size_t at = 0;
    while (at < text.size()) {
      size_t end = text.find('\n', at);
      if (end == std::string::npos)
        end = text.size();
      out.push_back(text.substr(at, end - at));
      at = end + 1;
    }
    return out;
  };
  std::vector<std::string> a = lines(written), b = lines(compiled);
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i])
    ++i;
  auto show = [](const std::vector<std::string> &v, size_t k) {
    return k < v.size() ? "'" + escaped(v[k]) + "'" : std::string("nothing");
  };
  fail(RWKV_ERROR_FORMAT,
       m.path + ": does not describe the code in " + m.library +
           " (edited by hand, or from another build?): record " +
           std::to_string(i + 1) + " of its shape table is " + show(a, i) +
           ", but the library was compiled for " + show(b, i) +
           "; recompile the spec or restore the manifest");
}

} // namespace rwkvrt
