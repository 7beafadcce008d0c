//===- Model.cpp - a loaded artifact with bound weights -------------------===//

#include "Model.h"
#include "Scratch.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <sched.h>
#include <sstream>
#include <sys/stat.h>
#include <thread>

namespace rwkvrt {

namespace {

std::vector<int64_t> withoutUnitDims(const std::vector<int64_t> &shape) {
  std::vector<int64_t> out;
  for (int64_t d : shape)
    if (d != 1)
      out.push_back(d);
  return out;
}

std::string layerName(const std::string &tmpl, int64_t layer) {
  std::string out = tmpl;
  const std::string key = "{layer}";
  for (size_t pos; (pos = out.find(key)) != std::string::npos;)
    out.replace(pos, key.size(), std::to_string(layer));
  return out;
}

/// splitmix64: a tiny, well-mixed, platform-independent generator.
uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<uint16_t> toBfloat16(const std::vector<float> &values) {
  std::vector<uint16_t> out(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    out[i] = floatToBfloat16(values[i]);
  return out;
}

uint64_t hashName(const std::string &s) {
  uint64_t h = 1469598103934665603ull; // FNV-1a
  for (unsigned char c : s)
    h = (h ^ c) * 1099511628211ull;
  return h;
}

} // namespace

int64_t Buffer::elements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Model::Model(const std::string &dir,
             std::shared_ptr<const Checkpoint> checkpoint, uint64_t seed)
    : manifest_(readManifest(dir)), checkpoint_(std::move(checkpoint)) {
  checkHostCpu(manifest_);
  if (manifest_.deviceKind == "cuda") {
    gpu_ = std::make_unique<CudaContext>(dir, manifest_.deviceChips);
    device_ = gpu_->description();
  }
  std::string libPath = dir + "/" + manifest_.library;
  library_ = dlopen(libPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library_) {
    const char *why = dlerror();
    fail(RWKV_ERROR_IO, libPath + ": cannot load the generated library: " +
                            (why ? why : "unknown dlopen error"));
  }
  // The library's own record of the shapes its code was compiled for: the
  // manifest must agree, or the code would read past the buffers sized from
  // it. (Artifacts from rwkvc versions before the table have none.)
  if (const char *table =
          static_cast<const char *>(dlsym(library_, "rwkv_shape_table")))
    checkShapeTable(manifest_, table);
  bindEntries();
  // CPU artifacts take their temporaries from the runtime's per-thread
  // cache (Scratch.h); older ones keep calling libc.
  if (auto setAllocator =
          reinterpret_cast<void (*)(void *(*)(size_t), void (*)(void *))>(
              dlsym(library_, "rwkv_set_allocator")))
    setAllocator(&rwkvScratchAlloc, &rwkvScratchFree);
  // Artifacts compiled with OpenMP link libomp; dlsym on the library handle
  // also searches its dependencies.
  ompSetNumThreads_ =
      reinterpret_cast<void (*)(int)>(dlsym(library_, "omp_set_num_threads"));
  if (gpu_)
    attachGpu();
  if (checkpoint_)
    bindWeights(*checkpoint_);
  else
    makeSyntheticWeights(seed);
  if (gpu_)
    uploadWeights();
}

Model::~Model() {
  if (gpu_) {
    try {
      if (auto unload = reinterpret_cast<void (*)()>(
              library_ ? dlsym(library_, "rwkv_gpu_unload") : nullptr)) {
        GpuCall call(*gpu_, nullptr);
        unload();
      }
      for (auto &kv : weights_)
        for (Buffer &b : kv.second)
          gpu_->free(b.device);
    } catch (const Error &) {
      // The device is gone; nothing left to release.
    }
  }
  if (library_)
    dlclose(library_);
}

void Model::attachGpu() {
  using Resolver = void *(*)(const char *);
  auto bind =
      reinterpret_cast<int (*)(Resolver)>(dlsym(library_, "rwkv_gpu_bind"));
  auto load = reinterpret_cast<void (*)()>(dlsym(library_, "rwkv_gpu_load"));
  if (!bind || !load || !dlsym(library_, "rwkv_gpu_unload"))
    fail(RWKV_ERROR_FORMAT,
         manifest_.path + ": a GPU artifact, but " + manifest_.library +
             " does not export rwkv_gpu_bind, rwkv_gpu_load and "
             "rwkv_gpu_unload");
  unresolvedGpuFunctions();
  if (bind(&rwkvResolveGpuFunction) != 0) {
    std::string names;
    for (const std::string &n : unresolvedGpuFunctions())
      names += (names.empty() ? "" : ", ") + n;
    fail(RWKV_ERROR_FORMAT, manifest_.path + ": " + manifest_.library +
                                " calls GPU runtime functions this runtime "
                                "does not provide: " +
                                names);
  }
  GpuCall call(*gpu_, nullptr);
  load();
  call.check(manifest_.path + ": loading the kernels of " + manifest_.library);
}

void Model::uploadWeights() {
  for (const ParamSpec &p : manifest_.params) {
    auto slots = weights_.find(p.name);
    if (slots == weights_.end())
      continue;
    for (Buffer &b : slots->second) {
      if (b.empty())
        continue; // a layer before the parameter's first_layer
      size_t bytes =
          static_cast<size_t>(p.storageBytes(checkedElements(p.shape)));
      b.device = gpu_->alloc(bytes);
      gpu_->upload(b.device, b.ptr(), bytes);
      b.data = std::vector<float>();
      b.bf16 = std::vector<uint16_t>();
      b.bytes = std::vector<uint8_t>();
      b.view = nullptr;
    }
  }
  // Everything runs from device memory: the checkpoint mapping can go.
  mappedBytes_ = 0;
  checkpoint_.reset();
}

bool Model::Program::complete() const {
  if (!embed.fn || !head.fn)
    return false;
  for (size_t l = 0; l < timeMix.size(); ++l)
    if (!timeMix[l].fn || !channelMix[l].fn)
      return false;
  return true;
}

int64_t availableCpus() {
  cpu_set_t set;
  return sched_getaffinity(0, sizeof set, &set) == 0
             ? CPU_COUNT(&set)
             : std::max(1u, std::thread::hardware_concurrency());
}

int64_t threadLimit() { return std::max<int64_t>(64, 4 * availableCpus()); }

void Model::useThreads(int64_t threads) const {
  if (!ompSetNumThreads_)
    return;
  if (threads <= 0)
    threads = availableCpus();
  // OpenMP's thread count is per calling thread: sessions on different
  // threads keep their own.
  ompSetNumThreads_(static_cast<int>(threads));
}

void Model::bindEntries() {
  const int64_t layers = manifest_.nLayer;
  for (Program &p : programs_) {
    p.timeMix.resize(layers);
    p.channelMix.resize(layers);
  }
  for (const EntrySpec &e : manifest_.entries) {
    void *sym = dlsym(library_, e.symbol.c_str());
    if (!sym)
      fail(RWKV_ERROR_FORMAT, manifest_.path + ": entry point '" + e.symbol +
                                  "' is not exported by " + manifest_.library);
    BoundEntry bound{&e, reinterpret_cast<EntryFn>(sym)};
    // Layer blocks read per-layer states, embed and head the model's.
    const bool layerBlock = e.kind == "time_mix" || e.kind == "channel_mix";
    for (const ArgSpec &a : e.args) {
      if (a.role != "state")
        continue;
      auto s =
          std::find_if(manifest_.states.begin(), manifest_.states.end(),
                       [&](const StateSpec &st) { return st.name == a.name; });
      if (s == manifest_.states.end())
        fail(RWKV_ERROR_FORMAT, manifest_.path + ": entry point '" + e.name +
                                    "' takes state " + quotedName(a.name) +
                                    ", which .states does not list");
      if (s->perLayer != layerBlock)
        fail(RWKV_ERROR_FORMAT,
             manifest_.path + ": entry point '" + e.name + "' (" + e.kind +
                 ") takes state '" + s->name + "', which is " +
                 (s->perLayer ? "per layer" : "the model's (per_layer false)") +
                 "; a " + e.kind + " block's states are " +
                 (layerBlock ? "per layer" : "the model's"));
    }
    Program &p = programs_[e.mode == "parallel"];
    if (e.kind == "embed") {
      p.embed = bound;
    } else if (e.kind == "head") {
      p.head = bound;
    } else if (e.kind == "head_all") {
      p.headAll = bound;
    } else if (e.kind == "time_mix" || e.kind == "channel_mix") {
      auto &table = e.kind == "time_mix" ? p.timeMix : p.channelMix;
      for (int64_t l : e.layers) {
        if (l < 0 || l >= layers)
          fail(RWKV_ERROR_FORMAT, manifest_.path + ": entry point '" + e.name +
                                      "' serves layer " + std::to_string(l) +
                                      " of a " + std::to_string(layers) +
                                      "-layer model");
        table[l] = bound;
      }
    } else {
      fail(RWKV_ERROR_FORMAT, manifest_.path + ": entry point '" + e.name +
                                  "' has unknown kind '" + e.kind + "'");
    }
  }
  if (!hasRecurrent() && !hasParallel())
    fail(RWKV_ERROR_FORMAT,
         manifest_.path + ": the artifact has no complete form (embed, head "
                          "and a time-mix and channel-mix entry point for "
                          "every layer)");
}

void Model::bindWeights(const Checkpoint &ck) {
  const Manifest &m = manifest_;
  auto checkHeader = [&](int64_t header, int64_t expected, const char *field,
                         const char *specField) {
    if (header && header != expected)
      fail(RWKV_ERROR_MISMATCH, ck.path() + ": header says " + field + " = " +
                                    std::to_string(header) +
                                    ", but the model compiled from spec '" +
                                    m.specName + "' has " + specField + " = " +
                                    std::to_string(expected));
  };
  checkHeader(ck.headerVocab, m.vocabSize, "n_vocab", "vocab_size");
  checkHeader(ck.headerEmbed, m.dModel, "n_embed", "d_model");
  checkHeader(ck.headerLayers, m.nLayer, "n_layer", "n_layer");
  // What the spec's [checkpoint.metadata] says the file must record (a
  // GGUF file of another family, or converted with another rescaling,
  // would otherwise load into the wrong math).
  if (ck.recordsMetadata())
    for (const auto &[key, expected] : m.checkpointMetadata) {
      auto it = ck.metadata().find(key);
      if (it == ck.metadata().end())
        fail(RWKV_ERROR_MISMATCH,
             ck.path() + ": no metadata " + quotedName(key) +
                 ", but the model compiled from spec '" + m.specName +
                 "' expects " + expected.describe() +
                 " there ([checkpoint.metadata]; " + ck.format() + ")");
      if (!it->second.matches(expected))
        fail(RWKV_ERROR_MISMATCH,
             ck.path() + ": metadata " + quotedName(key) + " is " +
                 it->second.describe() +
                 ", but the model compiled from spec '" + m.specName +
                 "' expects " + expected.describe() +
                 " ([checkpoint.metadata]): the file was written for "
                 "another model or converted differently");
    }

  for (const ParamSpec &p : m.params) {
    std::vector<Buffer> &slots = weights_[p.name];
    int64_t count = p.perLayer ? m.nLayer : 1;
    slots.resize(count);
    for (int64_t l = p.perLayer ? p.firstLayer : 0; l < count; ++l) {
      std::string name =
          l < static_cast<int64_t>(p.checkpoint.layerNames.size())
              ? p.checkpoint.layerNames[l]
              : layerName(p.checkpoint.name, l);
      std::string what = "parameter '" + p.name + "'" +
                         (p.perLayer ? " of layer " + std::to_string(l) : "");
      const TensorInfo *t = ck.find(name);
      if (!t) {
        // Point at what the file does have under the same prefix.
        std::string prefix = name.substr(0, name.rfind('.') + 1), seen;
        int shown = 0;
        for (auto &kv : ck.tensors())
          if (kv.first.rfind(prefix, 0) == 0 && shown++ < 8)
            seen += (seen.empty() ? "" : ", ") + escaped(kv.first);
        fail(RWKV_ERROR_MISMATCH,
             ck.path() + ": no tensor " + quotedName(name) + " for " + what +
                 " (spec '" + m.specName + "'" +
                 (seen.empty() ? ")"
                               : "); tensors under " + quotedName(prefix) +
                                     ": " + seen));
      }
      // The element count must fit before anything is read or converted: a
      // tensor from the file may claim any size.
      {
        if (p.checkpoint.index >= 0 &&
            (t->shape.empty() || p.checkpoint.index >= t->shape[0]))
          fail(RWKV_ERROR_MISMATCH,
               ck.path() + ": tensor " + quotedName(name) + " " +
                   shapeString(t->shape) + " " + t->typeName + " has no row " +
                   std::to_string(p.checkpoint.index) +
                   " along its first dimension, needed for " + what);
        int64_t have = t->elements(), want = checkedElements(p.shape);
        if (p.checkpoint.index >= 0 && !t->shape.empty() && t->shape[0] > 0)
          have /= t->shape[0];
        if (have != want)
          fail(RWKV_ERROR_MISMATCH,
               ck.path() + ": tensor " + quotedName(name) + " " +
                   shapeString(t->shape) + " " + t->typeName +
                   " does not fit " + what + ": expected " +
                   shapeString(p.shape) +
                   (p.checkpoint.index >= 0
                        ? " in row " + std::to_string(p.checkpoint.index) +
                              " of its first dimension"
                        : std::string()) +
                   (p.checkpoint.transpose ? " after transposing" : "") +
                   " (spec '" + m.specName + "')");
      }
      // Dense rows already in the kernels' dtype are used in place unless
      // they must be transposed (Q8_0 blocks of rwkv.cpp and GGUF files
      // too: both store ggml's block_q8_0 rows).
      const bool bf16 = p.dtype == "bf16";
      const uint8_t *mapped = nullptr;
      if (!p.checkpoint.transpose)
        mapped = p.q8() ? ck.q8Data(*t)
                 : bf16 ? reinterpret_cast<const uint8_t *>(ck.bf16Data(*t))
                        : reinterpret_cast<const uint8_t *>(ck.f32Data(*t));
      std::vector<float> data;
      if (!mapped)
        data = ck.readF32(*t);
      std::vector<int64_t> shape = t->shape;
      std::string desc = "tensor " + quotedName(name) + " " +
                         shapeString(t->shape) + " " + t->typeName;
      if (p.checkpoint.index >= 0) {
        if (shape.empty() || p.checkpoint.index >= shape[0])
          fail(RWKV_ERROR_MISMATCH,
               ck.path() + ": " + desc + " has no row " +
                   std::to_string(p.checkpoint.index) +
                   " along its first dimension, needed for " + what);
        int64_t inner = t->elements() / shape[0];
        if (mapped)
          mapped += p.checkpoint.index * p.storageBytes(inner);
        else
          data = std::vector<float>(data.begin() + p.checkpoint.index * inner,
                                    data.begin() +
                                        (p.checkpoint.index + 1) * inner);
        shape.erase(shape.begin());
      }
      std::vector<int64_t> dims = withoutUnitDims(shape);
      if (p.checkpoint.transpose) {
        // Swap the last two dimensions (of every block of a stack).
        if (dims.size() < 2)
          fail(RWKV_ERROR_MISMATCH,
               ck.path() + ": " + desc +
                   " must be a matrix (or a stack of them) to be transposed "
                   "into " +
                   what);
        int64_t rows = dims[dims.size() - 2], cols = dims.back();
        int64_t blocks = static_cast<int64_t>(data.size()) / (rows * cols);
        std::vector<float> tr(data.size());
        for (int64_t blk = 0; blk < blocks; ++blk)
          for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j)
              tr[blk * rows * cols + j * rows + i] =
                  data[blk * rows * cols + i * cols + j];
        data.swap(tr);
        std::swap(dims[dims.size() - 2], dims.back());
      }
      // Shapes match up to size-1 dimensions. Per-channel vectors [C] also
      // accept a per-head table [H, N] of the same size (rwkv.cpp reshapes
      // time_decay), and per-head tables [H, N] a flat [C] (GGUF's r_k).
      std::vector<int64_t> want = withoutUnitDims(p.shape);
      int64_t wantElems = 1, haveElems = 1;
      for (int64_t d : p.shape)
        wantElems *= d;
      for (int64_t d : dims)
        haveElems *= d;
      bool perHeadTable = p.shape.size() == 2 && p.shape[1] == m.headSize;
      bool vectorLike = haveElems == wantElems &&
                        ((p.shape.size() == 1 && dims.size() <= 2) ||
                         (perHeadTable && dims.size() <= 1));
      if (dims != want && !vectorLike)
        fail(RWKV_ERROR_MISMATCH,
             ck.path() + ": " + desc + " does not fit " + what + ": expected " +
                 shapeString(p.shape) +
                 (p.checkpoint.transpose ? " after transposing" : "") +
                 " (spec '" + m.specName + "')");
      Buffer buf{p.storageShape(), {}, mapped, {}};
      if (!mapped && p.q8()) {
        buf.bytes.resize(static_cast<size_t>(p.storageBytes(wantElems)));
        int64_t bad = quantizeQ8_0(data.data(), wantElems, buf.bytes.data());
        if (bad >= 0)
          fail(RWKV_ERROR_NUMERIC,
               ck.path() + ": " + desc + " holds " +
                   (std::isfinite(data[bad])
                        ? std::to_string(data[bad]) + ", beyond Q8_0's range"
                        : std::string(std::isnan(data[bad]) ? "NaN" : "Inf")) +
                   " at " + shapeString({bad / p.shape[1], bad % p.shape[1]}) +
                   " (of " + (p.checkpoint.transpose ? "the transposed " : "") +
                   what + ", read as q8_0 in spec '" + m.specName +
                   "'): a block's scale max|w| / 127 must be a finite f16; "
                   "give it precision f32 or bf16");
      } else if (!mapped && bf16) {
        buf.bf16 = toBfloat16(data);
      } else if (!mapped) {
        buf.data = std::move(data);
      }
      slots[l] = std::move(buf);
      weightBytes_ += p.storageBytes(wantElems);
      if (mapped)
        mappedBytes_ += p.storageBytes(wantElems);
    }
  }
}

void Model::makeSyntheticWeights(uint64_t seed) {
  for (const ParamSpec &p : manifest_.params) {
    std::vector<Buffer> &slots = weights_[p.name];
    int64_t count = p.perLayer ? manifest_.nLayer : 1;
    slots.resize(count);
    for (int64_t l = p.perLayer ? p.firstLayer : 0; l < count; ++l) {
      Buffer b;
      b.shape = p.storageShape();
      size_t n = static_cast<size_t>(checkedElements(p.shape));
      uint64_t state = seed ^ hashName(p.name) ^ (0x1000193ull * (l + 1));
      auto next = [&] {
        double u = (splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
        return p.initKind == "constant"
                   ? static_cast<float>(p.initLo)
                   : static_cast<float>(p.initLo + (p.initHi - p.initLo) * u);
      };
      // bf16 weights are rounded as they are drawn: no f32 copy is made
      // (one per matrix left the allocator holding ~40% more than the
      // weights' bytes at the peak).
      if (p.q8()) {
        // Drawn a row at a time and quantized (no f32 copy of the matrix).
        const size_t row = static_cast<size_t>(p.shape[1]);
        std::vector<float> values(row);
        b.bytes.resize(static_cast<size_t>(p.storageBytes(n)));
        for (size_t r = 0; r < n / row; ++r) {
          for (float &x : values)
            x = next();
          // Finite and small by construction (init ranges from the spec).
          (void)quantizeQ8_0(values.data(), static_cast<int64_t>(row),
                             b.bytes.data() + p.storageBytes(r * row));
        }
        weightBytes_ += static_cast<int64_t>(b.bytes.size());
      } else if (p.dtype == "bf16") {
        b.bf16.resize(n);
        for (uint16_t &x : b.bf16)
          x = floatToBfloat16(next());
        weightBytes_ += static_cast<int64_t>(n * 2);
      } else {
        b.data.resize(n);
        for (float &x : b.data)
          x = next();
        weightBytes_ += static_cast<int64_t>(n * 4);
      }
      slots[l] = std::move(b);
    }
  }
}

const Buffer &Model::weight(const std::string &name, int64_t layer) const {
  auto it = weights_.find(name);
  if (it == weights_.end())
    fail(RWKV_ERROR_FORMAT, manifest_.path + ": an entry point takes '" + name +
                                "', which is not in 'parameters'");
  const std::vector<Buffer> &slots = it->second;
  const Buffer &b = slots.size() == 1 ? slots[0] : slots.at(layer);
  if (b.empty())
    fail(RWKV_ERROR_FORMAT, manifest_.path + ": parameter '" + name +
                                "' is used by layer " + std::to_string(layer) +
                                " before its first_layer");
  return b;
}

//===----------------------------------------------------------------------===//
// Session
//===----------------------------------------------------------------------===//

Session::Session(const Model &model, int64_t batch)
    : model_(model), batch_(batch), batchN_(batch) {
  if (batch < 1)
    fail(RWKV_ERROR_ARGUMENT,
         "session batch size must be >= 1, got " + std::to_string(batch));
  if (model.gpu())
    stream_ = std::make_unique<CudaStream>(*model.gpu());
  for (const StateSpec &s : model.manifest().states) {
    Buffer b;
    b.shape.push_back(batch);
    b.shape.insert(b.shape.end(), s.shape.begin(), s.shape.end());
    const int64_t copies = s.copies(model.manifest().nLayer);
    if (checkedElements(b.shape, sizeof(float) * copies) < 0)
      fail(RWKV_ERROR_ARGUMENT, "session batch size " + std::to_string(batch) +
                                    " is too large: its state '" + s.name +
                                    "' " + shapeString(b.shape) +
                                    " per layer does not fit in 64 bits");
    if (!stream_)
      b.data.assign(static_cast<size_t>(b.elements()), s.init);
    states_[s.name].assign(copies, b);
  }
  if (stream_) {
    for (auto &kv : states_)
      for (Buffer &b : kv.second)
        allocDevice(b);
    reset();
    stream_->synchronize();
  }
}

Session::~Session() {
  if (!stream_)
    return;
  const CudaContext &gpu = *model_.gpu();
  try {
    stream_->synchronize();
    gpu.makeCurrent();
  } catch (const Error &) {
  }
  auto release = [&](Buffer &b) {
    gpu.free(b.device);
    b.device = 0;
  };
  for (auto &kv : states_)
    for (Buffer &b : kv.second)
      release(b);
  for (auto &kv : activations_)
    release(kv.second);
  for (auto &kv : scratch_)
    release(kv.second);
}

void Session::allocDevice(Buffer &b) {
  const CudaContext &gpu = *model_.gpu();
  if (b.device) {
    stream_->synchronize(); // kernels may still read the old buffer
    gpu.free(b.device);
    b.device = 0;
  }
  b.data.clear();
  size_t count = static_cast<size_t>(b.elements());
  b.device = gpu.alloc(count * sizeof(float));
  stream_->fill32(b.device, 0, count);
}

const void *Session::address(const Buffer &b) const {
  if (stream_)
    return reinterpret_cast<const void *>(static_cast<uintptr_t>(b.device));
  return b.ptr();
}

void Session::reset() {
  for (const StateSpec &s : model_.manifest().states) {
    std::vector<Buffer> &layers = states_[s.name];
    auto tuned = initial_.find(s.name);
    for (size_t l = 0; l < layers.size(); ++l) {
      Buffer &b = layers[l];
      if (stream_) {
        if (tuned == initial_.end()) {
          uint32_t bits;
          std::memcpy(&bits, &s.init, sizeof(bits));
          stream_->fill32(b.device, bits, static_cast<size_t>(b.elements()));
        } else {
          const std::vector<float> &row = tuned->second[l];
          std::vector<float> all;
          for (int64_t seq = 0; seq < batch_; ++seq)
            all.insert(all.end(), row.begin(), row.end());
          stream_->upload(b.device, all.data(), all.size() * sizeof(float));
        }
        continue;
      }
      if (tuned == initial_.end()) {
        std::fill(b.data.begin(), b.data.end(), s.init);
        continue;
      }
      // A learned initial state (state tuning), the same for every sequence.
      const std::vector<float> &row = tuned->second[l];
      for (int64_t seq = 0; seq < batch_; ++seq)
        std::copy(row.begin(), row.end(), b.data.begin() + seq * row.size());
    }
  }
}

void Session::loadStateTuning(const Checkpoint &ck) {
  const Manifest &m = model_.manifest();
  const StateSpec *wkv = nullptr;
  for (const StateSpec &s : m.states)
    if (s.name == "wkv")
      wkv = &s;
  if (!wkv)
    fail(RWKV_ERROR_MISMATCH, "spec '" + m.specName +
                                  "' has no matrix WKV state to tune (state "
                                  "tuning applies to RWKV-5/6/7)");
  int64_t per = 1;
  for (int64_t d : wkv->shape)
    per *= d;
  std::vector<std::vector<float>> layers;
  for (int64_t l = 0; l < m.nLayer; ++l) {
    std::string name = "blocks." + std::to_string(l) + ".att.time_state";
    const TensorInfo *t = ck.find(name);
    if (!t)
      fail(RWKV_ERROR_MISMATCH, ck.path() + ": no tensor '" + name +
                                    "' (a state-tuning file holds one "
                                    "time_state per layer)");
    if (t->elements() != per)
      fail(RWKV_ERROR_MISMATCH, ck.path() + ": tensor '" + name + "' " +
                                    shapeString(t->shape) + " has " +
                                    std::to_string(t->elements()) +
                                    " elements; the WKV state of a layer is " +
                                    shapeString(wkv->shape));
    // time_state is stored [H][value][key], the layout of the rwkv
    // dialect's state (rwkv-math §4.2, §9.8): no transpose.
    layers.push_back(ck.readF32(*t));
  }
  initial_["wkv"] = std::move(layers);
  reset();
}

/// Visits the state floats of every sequence, layer and state in the public
/// layout (sequence-major, then layer, then manifest order; after the
/// layers, the model's own states, e.g. the head-QK window).
template <typename Fn>
static void forEachStateRow(const Manifest &m, int64_t batch, Fn &&fn) {
  auto visit = [&](const StateSpec &s, int64_t b, int64_t l) {
    int64_t per = 1;
    for (int64_t d : s.shape)
      per *= d;
    fn(s.name, l, b * per, per);
  };
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t l = 0; l < m.nLayer; ++l)
      for (const StateSpec &s : m.states)
        if (s.perLayer)
          visit(s, b, l);
    for (const StateSpec &s : m.states)
      if (!s.perLayer)
        visit(s, b, 0);
  }
}

/// Why `value` cannot be the token counter `s` (a state with max_tokens:
/// the positions a sequence has seen), or "" if it can: a whole number in
/// [0, max_tokens]. The runtime's capacity check reads these counters, so
/// a negative or fractional one would let a sequence past its limit.
static std::string counterProblem(const StateSpec &s, float value) {
  if (s.maxTokens <= 0 ||
      (value >= 0.0f && value <= static_cast<float>(s.maxTokens) &&
       value == std::floor(value)))
    return "";
  std::ostringstream os;
  os << "holds " << value << ", but '" << s.name
     << "' counts the tokens a sequence has seen: a whole number in [0, "
     << s.maxTokens << "]";
  return os.str();
}

namespace {
constexpr char kStateMagic[8] = {'R', 'W', 'K', 'V', 'S', 'T', 'A', 'T'};
constexpr uint32_t kStateVersion = 1;
} // namespace

// State file: magic "RWKVSTAT", u32 version, u32 0, 64 bytes spec SHA-256
// (hex), u64 batch, u64 layers, u64 number of state kinds, then per kind:
// u32 name length, name, u32 rank, u64 dims; then u64 float count and the
// floats in the layout of rwkv_session_get_state.
namespace {

void appendBytes(std::string &out, const void *p, size_t n) {
  out.append(static_cast<const char *>(p), n);
}

/// Bytes of the state file of `m` for a session of `batch` sequences.
uint64_t stateFileBytes(const Manifest &m, int64_t stateValues) {
  uint64_t n = 8 + 4 + 4 + 64 + 8 + 8 + 8;
  for (const StateSpec &s : m.states)
    n += 4 + s.name.size() + 4 + 8 * s.shape.size();
  return n + 8 + 4 * static_cast<uint64_t>(stateValues);
}

/// Writes `bytes` to `path`, checking every step (a full disk shows up at
/// fwrite, fflush or fclose).
void writeWholeFile(const std::string &path, const std::string &bytes) {
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    fail(RWKV_ERROR_IO,
         path + ": cannot open for writing: " + std::strerror(errno));
  size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
  int err = written == bytes.size() && std::fflush(f) == 0 ? 0 : errno;
  if (std::fclose(f) != 0 && !err)
    err = errno;
  if (err || written != bytes.size())
    fail(RWKV_ERROR_IO,
         path + ": write failed: " + std::strerror(err ? err : EIO) +
             (written != bytes.size()
                  ? " (" + std::to_string(written) + " of " +
                        std::to_string(bytes.size()) + " bytes written)"
                  : std::string()));
}

} // namespace

void Session::saveState(const std::string &path) const {
  const Manifest &m = model_.manifest();
  std::string out;
  auto u32 = [&](uint32_t v) { appendBytes(out, &v, 4); };
  auto u64 = [&](uint64_t v) { appendBytes(out, &v, 8); };
  appendBytes(out, kStateMagic, 8);
  u32(kStateVersion);
  u32(0);
  std::string sha = m.specSha256;
  sha.resize(64, ' ');
  out += sha;
  u64(static_cast<uint64_t>(batch_));
  u64(static_cast<uint64_t>(m.nLayer));
  u64(m.states.size());
  for (const StateSpec &s : m.states) {
    u32(static_cast<uint32_t>(s.name.size()));
    out += s.name;
    u32(static_cast<uint32_t>(s.shape.size()));
    for (int64_t d : s.shape)
      u64(static_cast<uint64_t>(d));
  }
  std::vector<float> data(static_cast<size_t>(stateSize()));
  getState(data.data());
  u64(data.size());
  appendBytes(out, data.data(), data.size() * sizeof(float));
  writeWholeFile(path, out);
}

std::vector<float> readStateFile(const std::string &path, const Manifest &m,
                                 int64_t sessionBatch, int64_t stateValues) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    fail(RWKV_ERROR_IO, path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    std::fclose(f);
    fail(RWKV_ERROR_IO, path + ": not a regular file");
  }
  const uint64_t fileBytes = static_cast<uint64_t>(st.st_size);
  const uint64_t expectedBytes = stateFileBytes(m, stateValues);
  // A state file of this model has exactly expectedBytes: read no more.
  std::string bytes(std::min(fileBytes, expectedBytes), '\0');
  size_t got = std::fread(bytes.data(), 1, bytes.size(), f);
  int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (got != bytes.size())
    fail(RWKV_ERROR_IO,
         path + ": read failed after " + std::to_string(got) + " of " +
             std::to_string(bytes.size()) + " bytes" +
             (err ? std::string(": ") + std::strerror(err) : std::string()));
  const std::string sizes =
      "the file has " + std::to_string(fileBytes) +
      " bytes; a state file of this model (spec '" + m.specName + "', batch " +
      std::to_string(sessionBatch) + ") has " + std::to_string(expectedBytes);
  auto bad = [&](const std::string &what) {
    fail(RWKV_ERROR_FORMAT, path + ": " + what);
  };
  uint64_t pos = 0;
  auto take = [&](uint64_t n, const char *what) {
    if (n > bytes.size() - pos)
      bad("truncated at byte " + std::to_string(pos) + " while reading " +
          what + ": " + sizes);
    const char *p = bytes.data() + pos;
    pos += n;
    return p;
  };
  auto u32 = [&](const char *what) {
    uint32_t v;
    std::memcpy(&v, take(4, what), 4);
    return v;
  };
  auto u64 = [&](const char *what) {
    uint64_t v;
    std::memcpy(&v, take(8, what), 8);
    return v;
  };
  if (fileBytes < 8 || std::memcmp(bytes.data(), kStateMagic, 8) != 0)
    bad("not an rwkv-mlir state file (magic \"RWKVSTAT\" expected at byte 0)");
  take(8, "the magic");
  uint32_t version = u32("the version");
  u32("the header");
  if (version != kStateVersion)
    bad("state file version " + std::to_string(version) +
        ", this runtime reads version " + std::to_string(kStateVersion));
  std::string sha(take(64, "the spec SHA-256"), 64);
  std::string want = m.specSha256;
  want.resize(64, ' ');
  if (sha != want)
    fail(RWKV_ERROR_MISMATCH,
         path + ": saved from a model compiled from another spec (SHA-256 " +
             escaped(sha.substr(0, 12)) + "..., this model's spec '" +
             m.specName + "' is " + want.substr(0, 12) + "...)");
  uint64_t fileBatch = u64("the batch size");
  uint64_t layers = u64("the layer count");
  uint64_t kinds = u64("the number of states");
  if (fileBatch != static_cast<uint64_t>(sessionBatch))
    fail(RWKV_ERROR_MISMATCH, path + ": holds " + std::to_string(fileBatch) +
                                  " sequences, the session has " +
                                  std::to_string(sessionBatch));
  if (layers != static_cast<uint64_t>(m.nLayer) || kinds != m.states.size())
    bad("holds " + std::to_string(layers) + " layers of " +
        std::to_string(kinds) + " states; the model has " +
        std::to_string(m.nLayer) + " layers of " +
        std::to_string(m.states.size()));
  for (const StateSpec &s : m.states) {
    uint32_t len = u32("a state name length");
    if (len != s.name.size())
      bad("state name of " + std::to_string(len) + " bytes at byte " +
          std::to_string(pos - 4) + "; the model's state here is '" + s.name +
          "'");
    std::string name(take(len, "a state name"), len);
    uint32_t rank = u32("a state rank");
    if (rank != s.shape.size())
      bad("state " + quotedName(name) + " has rank " + std::to_string(rank) +
          "; the model's '" + s.name + "' is " + shapeString(s.shape));
    std::vector<int64_t> dims(rank);
    for (int64_t &d : dims)
      d = static_cast<int64_t>(u64("a state dimension"));
    if (name != s.name || dims != s.shape)
      bad("state " + quotedName(name) + " " + shapeString(dims) +
          " does not match the model's '" + s.name + "' " +
          shapeString(s.shape));
  }
  uint64_t count = u64("the state value count");
  if (count != static_cast<uint64_t>(stateValues))
    bad("holds " + std::to_string(count) + " state values, expected " +
        std::to_string(stateValues));
  std::vector<float> data(count);
  std::memcpy(data.data(), take(count * sizeof(float), "the state values"),
              count * sizeof(float));
  if (fileBytes != expectedBytes)
    bad(std::to_string(fileBytes - expectedBytes) +
        " bytes follow the state values: " + sizes);
  // A saved state is finite: a NaN or Inf would make every later logit NaN.
  size_t index = 0;
  forEachStateRow(
      m, sessionBatch,
      [&](const std::string &name, int64_t l, int64_t offset, int64_t n) {
        const StateSpec *spec = nullptr;
        for (const StateSpec &s : m.states)
          if (s.name == name)
            spec = &s;
        for (int64_t i = 0; i < n; ++i, ++index) {
          std::string where = "state value " + std::to_string(index) +
                              " (sequence " + std::to_string(offset / n) +
                              ", layer " + std::to_string(l) + ", state '" +
                              name + "', element " + std::to_string(i) + ")";
          if (!std::isfinite(data[index]))
            bad(where + " is " +
                (std::isnan(data[index]) ? "NaN" : "infinite") +
                "; a saved state is finite");
          if (std::string why = counterProblem(*spec, data[index]);
              !why.empty())
            bad(where + " " + why);
        }
      });
  return data;
}

void Session::loadState(const std::string &path) {
  std::vector<float> data =
      readStateFile(path, model_.manifest(), batch_, stateSize());
  setState(data.data());
}

std::vector<int64_t> Session::concreteShape(const ArgSpec &arg) const {
  std::vector<int64_t> shape;
  for (int64_t d : arg.shape)
    shape.push_back(d == -1 ? batchN_ : d == -2 ? tokens_ : d);
  return shape;
}

Buffer &Session::activation(const std::string &name, const ArgSpec &arg) {
  Buffer &b = activations_[name];
  std::vector<int64_t> shape = concreteShape(arg);
  if (b.shape != shape) {
    if (checkedElements(shape, sizeof(float)) < 0)
      fail(RWKV_ERROR_ARGUMENT,
           "activation '" + name + "' " + shapeString(shape) +
               " of this call does not fit in 64 bits (batch or chunk size "
               "too large)");
    b.shape = shape;
    if (stream_)
      allocDevice(b);
    else
      b.data.assign(static_cast<size_t>(b.elements()), 0.0f);
  }
  return b;
}

namespace {

/// A memref descriptor for an identity-layout memref: allocated and aligned
/// pointer, offset 0, sizes, row-major strides.
std::vector<int64_t> descriptor(const void *base,
                                const std::vector<int64_t> &shape) {
  std::vector<int64_t> d(3 + 2 * shape.size());
  d[0] = d[1] = static_cast<int64_t>(reinterpret_cast<intptr_t>(base));
  d[2] = 0;
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    d[3 + i] = shape[i];
    d[3 + shape.size() + i] = stride;
    stride *= shape[i];
  }
  return d;
}

} // namespace

void Session::call(const BoundEntry &entry, int64_t layer) {
  const EntrySpec &spec = *entry.spec;
  std::vector<std::string> activationInputs;
  for (const ArgSpec &a : spec.args)
    if (!a.output && a.role == "activation")
      activationInputs.push_back(a.name);

  std::vector<std::vector<int64_t>> descriptors;
  descriptors.reserve(spec.args.size());
  std::vector<void *> argv;
  std::vector<std::pair<Buffer *, Buffer *>> swaps;
  // State outputs: (home buffer, scratch holding the sub-batch).
  std::vector<std::pair<Buffer *, Buffer *>> stateCopies;
  // What each argument's descriptor points to (buffer, first element).
  std::vector<std::pair<const Buffer *, int64_t>> argBuffers;
  // --profile: the bytes the arguments span and the FLOPs of the matrix
  // parameters (2 per weight and token through it).
  double bytes = 0, flops = 0;
  const int64_t tokensIn = batchN_ * tokens_;
  for (const ArgSpec &a : spec.args) {
    std::vector<int64_t> expected = concreteShape(a);
    if (profile_) {
      double elements = 1;
      for (int64_t d : expected)
        elements *= static_cast<double>(d);
      double size = a.dtype == "bf16" ? 2 : a.dtype == "i8" ? 1 : 4;
      bool matrix = a.role == "param" && expected.size() >= 2;
      if (a.dtype == "i8") // Q8_0 blocks: 34 bytes per 32 weights
        elements = elements / 34 * 32, size = 34.0 / 32;
      if (matrix && spec.kind == "embed") {
        // A table: the rows the tokens gather.
        bytes += tokensIn * size * elements / static_cast<double>(expected[0]);
      } else {
        bytes += size * elements;
        if (matrix)
          flops += 2 * elements * (spec.kind == "head" ? batchN_ : tokensIn);
      }
    }
    if (a.role == "state") {
      // States live in [batch, ...] buffers; a call covers the sequences
      // [batchLo_, batchLo_ + batchN_). The compiled code assumes identity
      // layouts (offset 0), so the base pointer is advanced instead.
      Buffer &home = states_.at(a.name).at(layer);
      int64_t per = home.elements() / batch_;
      if (!a.output) {
        descriptors.push_back(descriptor(
            static_cast<const float *>(address(home)) + batchLo_ * per,
            expected));
        argBuffers.emplace_back(&home, batchLo_ * per);
      } else {
        Buffer &s = scratch_["state:" + a.name];
        if (stream_) {
          if (s.shape != expected || !s.device) {
            s.shape = expected;
            allocDevice(s);
          }
        } else {
          s.shape = expected;
          s.data.resize(static_cast<size_t>(per * batchN_));
        }
        stateCopies.emplace_back(&home, &s);
        descriptors.push_back(descriptor(address(s), expected));
        argBuffers.emplace_back(&s, 0);
      }
    } else {
      Buffer *buf;
      if (a.role == "param") {
        buf = const_cast<Buffer *>(&model_.weight(a.name, layer));
      } else {
        Buffer *home = &activation(a.name, a);
        buf = home;
        // The generated code assumes outputs do not alias inputs.
        if (a.output &&
            std::find(activationInputs.begin(), activationInputs.end(),
                      a.name) != activationInputs.end()) {
          Buffer &s = scratch_["activation:" + a.name];
          if (stream_) {
            if (s.shape != home->shape || !s.device) {
              s.shape = home->shape;
              allocDevice(s);
            }
          } else {
            s.shape = home->shape;
            s.data.resize(home->data.size());
          }
          buf = &s;
          swaps.emplace_back(home, &s);
        }
      }
      // Shapes were fixed by the compiler; check them against the buffer.
      if (expected != buf->shape)
        fail(RWKV_ERROR_FORMAT, model_.manifest().path + ": entry point '" +
                                    spec.name + "' argument '" + a.name +
                                    "' has shape " + shapeString(expected) +
                                    ", but the buffer is " +
                                    shapeString(buf->shape));
      descriptors.push_back(descriptor(address(*buf), expected));
      argBuffers.emplace_back(buf, 0);
    }
    argv.push_back(descriptors.back().data());
  }
  auto started = std::chrono::steady_clock::now();
  auto record = [&] {
    if (!profile_)
      return;
    ProfileEntry &p = profileData_[spec.name];
    p.kind = spec.kind;
    p.calls += 1;
    p.tokens += tokensIn;
    p.seconds += std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - started)
                     .count();
    p.bytes += bytes;
    p.flops += flops;
  };
  if (stream_) {
    GpuCall gpuCall(*model_.gpu(), stream_.get());
    entry.fn(argv.data());
    gpuCall.check("entry point '" + spec.name + "'");
    if (profile_)
      stream_->synchronize();
    record();
    // Before the swaps: inputs still hold what the call read.
    if (checkFinite_)
      checkOutputsFinite(spec, layer, argBuffers);
    for (auto &[home, fresh] : swaps)
      std::swap(home->device, fresh->device);
    for (auto &[home, fresh] : stateCopies) {
      int64_t per = home->elements() / batch_;
      stream_->copy(home->device + batchLo_ * per * sizeof(float),
                    fresh->device,
                    static_cast<size_t>(per * batchN_) * sizeof(float));
    }
    return;
  }
  entry.fn(argv.data());
  record();
  if (checkFinite_)
    checkOutputsFinite(spec, layer, argBuffers);
  for (auto &[home, fresh] : swaps)
    home->data.swap(fresh->data);
  for (auto &[home, fresh] : stateCopies) {
    int64_t per = home->elements() / batch_;
    std::memcpy(home->data.data() + batchLo_ * per, fresh->data.data(),
                fresh->data.size() * sizeof(float));
  }
}

std::vector<float> Session::hostFloats(const Buffer &b, int64_t first,
                                       int64_t count, bool bf16) const {
  std::vector<float> out(static_cast<size_t>(count));
  if (bf16) {
    std::vector<uint16_t> raw(out.size());
    if (stream_) {
      stream_->download(raw.data(), b.device + first * sizeof(uint16_t),
                        raw.size() * sizeof(uint16_t));
      stream_->synchronize();
    } else {
      std::memcpy(raw.data(), static_cast<const uint16_t *>(b.ptr()) + first,
                  raw.size() * sizeof(uint16_t));
    }
    for (size_t i = 0; i < raw.size(); ++i)
      out[i] = bfloat16ToFloat(raw[i]);
  } else if (stream_) {
    stream_->download(out.data(), b.device + first * sizeof(float),
                      out.size() * sizeof(float));
    stream_->synchronize();
  } else {
    std::memcpy(out.data(), static_cast<const float *>(b.ptr()) + first,
                out.size() * sizeof(float));
  }
  return out;
}

namespace {

/// "[1, 2, 3]": the multi-index of flat element `i` of a row-major shape.
std::string indexString(int64_t i, const std::vector<int64_t> &shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = shape[d] > 0 ? i % shape[d] : 0;
    i = shape[d] > 0 ? i / shape[d] : 0;
  }
  return shapeString(index);
}

/// Index of the first NaN or Inf in `v`, or -1.
int64_t firstNonFinite(const std::vector<float> &v) {
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      return static_cast<int64_t>(i);
  return -1;
}

const char *nonFiniteName(float x) { return std::isnan(x) ? "NaN" : "Inf"; }

} // namespace

void Session::checkOutputsFinite(
    const EntrySpec &spec, int64_t layer,
    const std::vector<std::pair<const Buffer *, int64_t>> &args) {
  const Manifest &m = model_.manifest();
  const bool perLayer = spec.kind == "time_mix" || spec.kind == "channel_mix";
  const std::string where =
      "entry point '" + spec.name + "'" +
      (perLayer ? " (layer " + std::to_string(layer) + ")" : std::string());
  for (size_t k = 0; k < spec.args.size(); ++k) {
    const ArgSpec &a = spec.args[k];
    if (!a.output || a.dtype != "f32")
      continue;
    std::vector<int64_t> shape = concreteShape(a);
    std::vector<float> values =
        hostFloats(*args[k].first, args[k].second, checkedElements(shape),
                   /*bf16=*/false);
    int64_t bad = firstNonFinite(values);
    if (bad < 0)
      continue;
    // Sequence and token position of the element: states are [batch, ...]
    // after the call's last token; activations [batch, tokens, ...], where
    // a token dimension of 1 in a longer call (the head's logits) is the
    // last token.
    const bool state = a.role == "state";
    const bool tokenDim = !state && shape.size() >= 2;
    int64_t inner = 1;
    for (size_t d = tokenDim ? 2 : 1; d < shape.size(); ++d)
      inner *= shape[d];
    int64_t perSequence = inner * (tokenDim ? shape[1] : 1);
    int64_t sequence = batchLo_ + bad / perSequence;
    int64_t position = position_ + tokens_ - 1;
    if (tokenDim && shape[1] == tokens_)
      position = position_ + (bad / inner) % shape[1];
    std::string message =
        "non-finite value (check-finite): " + where + " output " + a.role +
        " '" + a.name + "' " + shapeString(shape) + " is " +
        nonFiniteName(values[bad]) + " at " + indexString(bad, shape) +
        " (sequence " + std::to_string(sequence) + ", token position " +
        std::to_string(position) + " of this evaluation)";
    // The cause: an input that already held a NaN/Inf (a weight from the
    // checkpoint, a state set through the API), else this call made it.
    // Earlier calls' outputs were checked already.
    std::string cause;
    for (size_t j = 0; j < spec.args.size() && cause.empty(); ++j) {
      const ArgSpec &in = spec.args[j];
      const ParamSpec *q8 = in.role == "param" ? m.findParam(in.name) : nullptr;
      if (q8 && !q8->q8())
        q8 = nullptr;
      if (in.output || in.dtype == "i32" || (in.dtype == "i8" && !q8))
        continue;
      // Q8_0 blocks are checked as the values they decode to, [out, in].
      std::vector<int64_t> inShape = q8 ? q8->shape : concreteShape(in);
      std::string what;
      bool bf16 = false;
      if (in.role == "param") {
        const ParamSpec *p = m.findParam(in.name);
        bf16 = p && p->dtype == "bf16";
        what = "parameter '" + in.name + "'" +
               (p ? " (checkpoint tensor " +
                        quotedName(layerName(p->checkpoint.name, layer)) + ")"
                  : std::string());
      } else {
        what = "input " + in.role + " '" + in.name + "'";
      }
      std::vector<float> v;
      if (q8) {
        // Host-only (GPU artifacts have no q8_0 weights): d * q per block.
        const int64_t n = checkedElements(inShape);
        const uint8_t *blk = static_cast<const uint8_t *>(args[j].first->ptr());
        v.resize(static_cast<size_t>(n));
        for (int64_t e = 0; e < n; e += 32, blk += 34) {
          const float d = halfToFloat(load16(blk));
          for (int q = 0; q < 32; ++q)
            v[e + q] = d * static_cast<int8_t>(blk[2 + q]);
        }
      } else {
        v = hostFloats(*args[j].first, args[j].second, checkedElements(inShape),
                       bf16);
      }
      int64_t i = firstNonFinite(v);
      if (i >= 0)
        cause = "; its " + what + " " + shapeString(inShape) +
                " already holds " + nonFiniteName(v[i]) + " at " +
                indexString(i, inShape) +
                (in.role == "param" && m.findParam(in.name) &&
                         m.findParam(in.name)->checkpoint.transpose
                     ? " (of the transposed tensor)"
                     : "");
    }
    if (cause.empty())
      cause = "; every input was finite, so this call produced it (overflow "
              "in the computation)";
    fail(RWKV_ERROR_NUMERIC, message + cause);
  }
}

void Session::step(const Model::Program &program, const int32_t *tokens,
                   int64_t stride, int64_t count, float *logits,
                   bool allTokens) {
  const Manifest &m = model_.manifest();
  tokens_ = count;
  for (const ArgSpec &a : program.embed.spec->args)
    if (a.role == "activation" && a.name == "tokens" && !a.output) {
      Buffer &buf = activation("tokens", a);
      if (stream_) {
        std::vector<int32_t> ids(static_cast<size_t>(batchN_ * count));
        for (int64_t b = 0; b < batchN_; ++b)
          for (int64_t t = 0; t < count; ++t)
            ids[b * count + t] = tokens[b * stride + t];
        stream_->upload(buf.device, ids.data(), ids.size() * sizeof(int32_t));
        continue;
      }
      for (int64_t b = 0; b < batchN_; ++b)
        for (int64_t t = 0; t < count; ++t)
          std::memcpy(&buf.data[b * count + t], &tokens[b * stride + t], 4);
    }
  call(program.embed, 0);
  for (int64_t l = 0; l < m.nLayer; ++l) {
    call(program.timeMix[l], l);
    call(program.channelMix[l], l);
  }
  call(allTokens ? program.headAll : program.head, 0);
  if (logits) {
    const Buffer &out = activations_.at("logits");
    if (stream_) {
      stream_->download(logits, out.device,
                        static_cast<size_t>(out.elements()) * sizeof(float));
      stream_->synchronize();
    } else {
      std::memcpy(logits, out.data.data(), out.data.size() * sizeof(float));
    }
  }
}

void Session::checkTokens(const int32_t *tokens, int64_t count,
                          int64_t sequence, int64_t first) const {
  const Manifest &m = model_.manifest();
  for (int64_t t = 0; t < count; ++t)
    if (tokens[t] < 0 || tokens[t] >= m.vocabSize)
      fail(RWKV_ERROR_ARGUMENT, "token " + std::to_string(tokens[t]) +
                                    " (sequence " + std::to_string(sequence) +
                                    ", position " + std::to_string(first + t) +
                                    ") is outside the vocabulary [0, " +
                                    std::to_string(m.vocabSize) + ")");
}

void Session::checkCapacity(int64_t lo, int64_t count, int64_t n) const {
  const Manifest &m = model_.manifest();
  for (const StateSpec &s : m.states) {
    if (s.maxTokens <= 0)
      continue;
    const std::vector<Buffer> &layers = states_.at(s.name);
    for (int64_t b = lo; b < lo + count; ++b) {
      // The counters of all layers agree; the largest one decides.
      double seen = 0;
      for (const Buffer &buf : layers)
        if (!buf.data.empty())
          seen = std::max(seen, static_cast<double>(buf.data[b]));
      if (seen + static_cast<double>(n) > static_cast<double>(s.maxTokens))
        fail(RWKV_ERROR_ARGUMENT,
             "sequence " + std::to_string(b) + " has seen " +
                 std::to_string(static_cast<int64_t>(seen)) + " tokens; " +
                 std::to_string(n) + " more would pass the " +
                 std::to_string(s.maxTokens) + " tokens its state '" + s.name +
                 "' of " + m.specName +
                 " can hold (the spec's max_tokens: the length of an "
                 "attention cache, or the positions a position-indexed "
                 "model has parameters for); reset the session or start a "
                 "new one");
    }
  }
}

void Session::evalRange(int64_t lo, int64_t count, const int32_t *tokens,
                        int64_t n, float *logits) {
  const Manifest &m = model_.manifest();
  checkCapacity(lo, count, n);
  bool parallel = mode_ == Mode::Parallel || !model_.hasRecurrent() ||
                  (mode_ == Mode::Auto && n > 1 && model_.hasParallel());
  if (parallel && !model_.hasParallel())
    fail(RWKV_ERROR_ARGUMENT, "parallel mode requested, but " + m.specName +
                                  " was compiled without the parallel form");
  batchLo_ = lo;
  batchN_ = count;
  model_.useThreads(threads_);
  if (!parallel) {
    for (int64_t t = 0; t < n; ++t) {
      position_ = t;
      step(model_.program(false), tokens + t, n, 1,
           t + 1 == n ? logits : nullptr);
    }
  } else {
    int64_t chunk = parallelChunk(count);
    for (int64_t start = 0; start < n; start += chunk) {
      int64_t len = std::min(chunk, n - start);
      position_ = start;
      step(model_.program(true), tokens + start, n, len,
           start + len == n ? logits : nullptr);
    }
  }
  batchLo_ = 0;
  batchN_ = batch_;
  if (stream_)
    stream_->synchronize(); // report kernel failures from this call
}

int64_t Session::parallelChunk(int64_t count) const {
  // Without a chunk size from the user: as many tokens per call as keep
  // one [sequences, tokens, d_model] f32 activation within 32 MiB, from
  // 64 to 4096 (the compiled blocks themselves work through a call in
  // chunks of rwkvc --sequence-chunk tokens, so long calls cost no cache
  // locality; 2048-token calls prefill 7-9% faster than 256-token ones).
  constexpr int64_t kActivationBudget = int64_t{8} << 20; // f32 elements
  if (chunk_ > 0)
    return chunk_;
  return std::clamp<int64_t>(
      kActivationBudget /
          std::max<int64_t>(1, count * model_.manifest().dModel),
      64, 4096);
}

void Session::evalAll(const int32_t *tokens, int64_t n, float *logits) {
  const Manifest &m = model_.manifest();
  if (n < 1)
    fail(RWKV_ERROR_ARGUMENT,
         "n_tokens must be >= 1, got " + std::to_string(n));
  for (int64_t b = 0; b < batch_; ++b)
    checkTokens(tokens + b * n, n, b, 0);
  checkCapacity(0, batch_, n);
  const bool headAll = model_.program(true).headAll.fn != nullptr;
  bool parallel = mode_ == Mode::Parallel || !model_.hasRecurrent() ||
                  (mode_ == Mode::Auto && n > 1 && headAll);
  if (parallel && !headAll)
    fail(RWKV_ERROR_ARGUMENT,
         m.specName + " was compiled without a head over every token: "
                      "compile it with rwkvc --all-logits for the logits of "
                      "every position in the parallel form, or use the "
                      "recurrent mode");
  const int64_t vocab = m.vocabSize;
  model_.useThreads(threads_);
  std::vector<float> part;
  if (!parallel) {
    part.resize(static_cast<size_t>(batch_ * vocab));
    for (int64_t t = 0; t < n; ++t) {
      step(model_.program(false), tokens + t, n, 1, part.data());
      for (int64_t b = 0; b < batch_; ++b)
        std::memcpy(logits + (b * n + t) * vocab, part.data() + b * vocab,
                    static_cast<size_t>(vocab) * sizeof(float));
    }
  } else {
    int64_t chunk = parallelChunk(batch_);
    for (int64_t start = 0; start < n; start += chunk) {
      int64_t len = std::min(chunk, n - start);
      part.resize(static_cast<size_t>(batch_ * len * vocab));
      step(model_.program(true), tokens + start, n, len, part.data(),
           /*allTokens=*/true);
      for (int64_t b = 0; b < batch_; ++b)
        std::memcpy(logits + (b * n + start) * vocab,
                    part.data() + b * len * vocab,
                    static_cast<size_t>(len * vocab) * sizeof(float));
    }
  }
  if (stream_)
    stream_->synchronize();
}

void Session::eval(const int32_t *tokens, int64_t n, float *logits) {
  if (n < 1)
    fail(RWKV_ERROR_ARGUMENT,
         "n_tokens must be >= 1, got " + std::to_string(n));
  for (int64_t b = 0; b < batch_; ++b)
    checkTokens(tokens + b * n, n, b, 0);
  evalRange(0, batch_, tokens, n, logits);
}

void Session::evalRagged(const int32_t *tokens, const int64_t *lengths,
                         float *logits) {
  const int64_t vocab = model_.manifest().vocabSize;
  std::vector<int64_t> offsets(static_cast<size_t>(batch_) + 1, 0);
  for (int64_t b = 0; b < batch_; ++b) {
    if (lengths[b] < 0)
      fail(RWKV_ERROR_ARGUMENT, "length of sequence " + std::to_string(b) +
                                    " is negative (" +
                                    std::to_string(lengths[b]) + ")");
    offsets[b + 1] = offsets[b] + lengths[b];
    checkTokens(tokens + offsets[b], lengths[b], b, 0);
  }
  // Runs of consecutive sequences with the same length share calls; the
  // other sequences' state is not touched (descriptor base pointers select
  // the run).
  for (int64_t b = 0; b < batch_;) {
    int64_t e = b + 1;
    while (e < batch_ && lengths[e] == lengths[b])
      ++e;
    if (lengths[b] > 0)
      evalRange(b, e - b, tokens + offsets[b], lengths[b],
                logits ? logits + b * vocab : nullptr);
    b = e;
  }
}

void Session::setMode(Mode mode) {
  if (mode == Mode::Parallel && !model_.hasParallel())
    fail(RWKV_ERROR_ARGUMENT, model_.manifest().specName +
                                  " was compiled without the parallel form "
                                  "(rwkvc --mode=both)");
  if (mode == Mode::Recurrent && !model_.hasRecurrent())
    fail(RWKV_ERROR_ARGUMENT, model_.manifest().specName +
                                  " was compiled without the recurrent form "
                                  "(rwkvc --mode=both)");
  mode_ = mode;
}

void Session::setThreads(int64_t threads) {
  if (threads < 0)
    fail(RWKV_ERROR_ARGUMENT, "thread count must be >= 0 (0: all CPUs), got " +
                                  std::to_string(threads));
  if (threads > threadLimit())
    fail(RWKV_ERROR_ARGUMENT,
         "thread count " + std::to_string(threads) + " exceeds the limit of " +
             std::to_string(threadLimit()) +
             " (4 per CPU this process may "
             "use, " +
             std::to_string(availableCpus()) + ", at least 64)");
  threads_ = threads;
}

void Session::setChunkSize(int64_t tokens) {
  if (tokens < 1)
    fail(RWKV_ERROR_ARGUMENT,
         "chunk size must be >= 1, got " + std::to_string(tokens));
  chunk_ = tokens;
}

int64_t Session::stateSize() const {
  int64_t n = 0;
  for (const StateSpec &s : model_.manifest().states)
    for (const Buffer &b : states_.at(s.name))
      n += b.elements();
  return n;
}

std::map<std::string, std::vector<std::vector<float>>>
Session::downloadStates() const {
  std::map<std::string, std::vector<std::vector<float>>> host;
  for (const auto &kv : states_)
    for (const Buffer &b : kv.second) {
      host[kv.first].emplace_back(static_cast<size_t>(b.elements()));
      stream_->download(host[kv.first].back().data(), b.device,
                        host[kv.first].back().size() * sizeof(float));
    }
  stream_->synchronize();
  return host;
}

void Session::uploadStates(
    const std::map<std::string, std::vector<std::vector<float>>> &host) {
  for (auto &kv : states_)
    for (size_t l = 0; l < kv.second.size(); ++l) {
      const std::vector<float> &v = host.at(kv.first)[l];
      stream_->upload(kv.second[l].device, v.data(), v.size() * sizeof(float));
    }
  stream_->synchronize();
}

void Session::getState(float *out) const {
  if (stream_) {
    auto host = downloadStates();
    forEachStateRow(
        model_.manifest(), batch_,
        [&](const std::string &name, int64_t l, int64_t offset, int64_t count) {
          std::memcpy(out, host.at(name)[l].data() + offset,
                      static_cast<size_t>(count) * sizeof(float));
          out += count;
        });
    return;
  }
  forEachStateRow(
      model_.manifest(), batch_,
      [&](const std::string &name, int64_t l, int64_t offset, int64_t count) {
        const Buffer &buf = states_.at(name)[l];
        std::memcpy(out, buf.data.data() + offset,
                    static_cast<size_t>(count) * sizeof(float));
        out += count;
      });
}

void Session::setState(const float *in) {
  const float *at = in;
  forEachStateRow(
      model_.manifest(), batch_,
      [&](const std::string &name, int64_t l, int64_t offset, int64_t count) {
        for (const StateSpec &s : model_.manifest().states)
          if (s.name == name && s.maxTokens > 0)
            for (int64_t i = 0; i < count; ++i)
              if (std::string why = counterProblem(s, at[i]); !why.empty())
                fail(RWKV_ERROR_ARGUMENT,
                     "state value " + std::to_string(at - in + i) +
                         " (sequence " + std::to_string(offset / count) +
                         ", layer " + std::to_string(l) + ") " + why);
        at += count;
      });
  if (stream_) {
    auto host = downloadStates();
    forEachStateRow(
        model_.manifest(), batch_,
        [&](const std::string &name, int64_t l, int64_t offset, int64_t count) {
          std::memcpy(host.at(name)[l].data() + offset, in,
                      static_cast<size_t>(count) * sizeof(float));
          in += count;
        });
    uploadStates(host);
    return;
  }
  forEachStateRow(
      model_.manifest(), batch_,
      [&](const std::string &name, int64_t l, int64_t offset, int64_t count) {
        Buffer &buf = states_.at(name)[l];
        std::memcpy(buf.data.data() + offset, in,
                    static_cast<size_t>(count) * sizeof(float));
        in += count;
      });
}

void Session::setProfile(bool on) {
  profile_ = on;
  if (on)
    profileData_.clear();
}

std::string Session::profileReport() const {
  double total = 0;
  for (auto &[name, p] : profileData_)
    total += p.seconds;
  std::vector<std::pair<std::string, const ProfileEntry *>> rows;
  for (auto &[name, p] : profileData_)
    rows.emplace_back(name, &p);
  std::sort(rows.begin(), rows.end(), [](auto &a, auto &b) {
    return a.second->seconds != b.second->seconds
               ? a.second->seconds > b.second->seconds
               : a.first < b.first;
  });
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line,
                "%-26s %-11s %8s %10s %6s %10s %10s %11s %9s %9s\n",
                "entry point", "kind", "calls", "ms", "share", "ms/call",
                "MB/call", "MFLOP/call", "GB/s", "GFLOP/s");
  out += line;
  for (auto &[name, p] : rows) {
    double s = p->seconds > 0 ? p->seconds : 1e-12;
    double calls = static_cast<double>(p->calls);
    std::snprintf(
        line, sizeof line,
        "%-26s %-11s %8lld %10.3f %5.1f%% %10.4f %10.4g %11.4g %9.2f %9.2f\n",
        name.c_str(), p->kind.c_str(), static_cast<long long>(p->calls),
        p->seconds * 1e3, total > 0 ? 100 * p->seconds / total : 0.0,
        p->seconds * 1e3 / calls, p->bytes / calls * 1e-6,
        p->flops / calls * 1e-6, p->bytes / s * 1e-9, p->flops / s * 1e-9);
    out += line;
  }
  std::snprintf(line, sizeof line, "%-26s %-11s %8s %10.3f %5.1f%%\n", "total",
                "", "", total * 1e3, 100.0);
  out += line;
  return out;
}

} // namespace rwkvrt
