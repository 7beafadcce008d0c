//===- Manifest.cpp - reading an artifact's manifest.json -----------------===//

#include "Manifest.h"

#include <nlohmann/json.hpp>

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
  m.library = r.str(root, "", "library");
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
    if (ps.dtype != "f32" && ps.dtype != "bf16")
      fail(RWKV_ERROR_FORMAT, m.path + ": " + path + ".dtype is '" + ps.dtype +
                                  "'; this runtime reads f32 and bf16 weights");
    m.params.push_back(std::move(ps));
  }
  const json &states = r.array(root, "", "states");
  for (size_t i = 0; i < states.size(); ++i) {
    std::string path = ".states[" + std::to_string(i) + "]";
    StateSpec s;
    s.name = r.str(states[i], path, "name");
    s.shape = r.shape(states[i], path, "shape");
    s.init = static_cast<float>(r.number(states[i], path, "init"));
    if (states[i].contains("max_tokens")) {
      s.maxTokens = r.integer(states[i], path, "max_tokens");
      if (s.maxTokens <= 0 || s.shape != std::vector<int64_t>{1})
        fail(RWKV_ERROR_FORMAT, m.path + ": " + path +
                                    ".max_tokens must be positive on a [1] "
                                    "token-counter state");
    }
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

} // namespace rwkvrt
