//===- Model.h - a loaded artifact with bound weights -----------*- C++ -*-===//
//
// Model: the generated library (dlopen'ed), its manifest and the weights in
// the compiler's layout. Session: per-sequence state and activation buffers
// for a batch, and the call sequence of one evaluation step:
//
//   embed(tokens) -> h
//   for each layer l: the time-mix entry serving l, then the channel-mix one
//   head(h) -> logits
//
// Every entry point is called as `void rwkv_<name>(void **args)` with one
// memref descriptor pointer per manifest argument. Outputs that have the name
// of one of the call's inputs are written to scratch buffers and swapped in
// afterwards (the generated code assumes outputs do not alias inputs).
//
// GPU artifacts (manifest device kind "cuda", see Cuda.h): the same calls,
// with every descriptor pointing to GPU memory. Weights are copied to the
// GPU at load; a session's states, activations and scratch buffers live on
// the GPU (Buffer::device) and its calls run on the session's stream.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_RUNTIME_MODEL_H
#define RWKV_RUNTIME_MODEL_H

#include "Checkpoint.h"
#include "Cuda.h"
#include "Manifest.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rwkvrt {

/// A dense row-major f32 (or i32, or bf16) buffer with its shape. Weights
/// used in place point into the mapped checkpoint (`view`) and leave the
/// vectors empty; bf16 weights converted at load live in `bf16`.
struct Buffer {
  std::vector<int64_t> shape;
  std::vector<float> data; ///< i32 buffers reuse the storage bit-for-bit
  const void *view = nullptr;
  std::vector<uint16_t> bf16;
  std::vector<uint8_t> bytes; ///< q8_0 blocks quantized at load
  bool empty() const {
    return !view && data.empty() && bf16.empty() && bytes.empty() && !device;
  }
  /// GPU models: the tensor in device memory (owned by the model or the
  /// session that allocated it); `data` and `view` are then unused.
  DevicePtr device = 0;
  int64_t elements() const;
  const void *ptr() const {
    return view             ? view
           : !bytes.empty() ? static_cast<const void *>(bytes.data())
           : bf16.empty()   ? static_cast<const void *>(data.data())
                            : bf16.data();
  }
};

using EntryFn = void (*)(void **);

struct BoundEntry {
  const EntrySpec *spec = nullptr;
  EntryFn fn = nullptr;
};

class Model {
public:
  /// Loads `dir`: manifest, CPU check, library. Weights come from
  /// `checkpoint`, or synthetic ones from `seed` when it is null. Dense f32
  /// tensors are used in place, so the model keeps the checkpoint mapped.
  Model(const std::string &dir, std::shared_ptr<const Checkpoint> checkpoint,
        uint64_t seed);
  ~Model();
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  const Manifest &manifest() const { return manifest_; }
  /// The weight of parameter `name` for `layer` (ignored for globals).
  const Buffer &weight(const std::string &name, int64_t layer) const;
  int64_t weightBytes() const { return weightBytes_; }
  /// Bytes of weights read in place from the mapped checkpoint (the rest was
  /// converted to f32 at load).
  int64_t mappedWeightBytes() const { return mappedBytes_; }

  /// The GPU of a GPU artifact (null for CPU artifacts).
  const CudaContext *gpu() const { return gpu_.get(); }
  /// "cpu" or the GPU's description.
  const std::string &device() const { return device_; }

  /// Entry points of one form: 0 = recurrent, 1 = parallel.
  struct Program {
    BoundEntry embed, head;
    /// Parallel form, artifacts built with rwkvc --all-logits: the head over
    /// every token (logits [B, T, V]); unbound otherwise.
    BoundEntry headAll;
    std::vector<BoundEntry> timeMix, channelMix; ///< per layer
    bool complete() const;
  };
  const Program &program(bool parallel) const { return programs_[parallel]; }
  bool hasParallel() const { return programs_[1].complete(); }
  bool hasRecurrent() const { return programs_[0].complete(); }
  /// Sets the OpenMP thread count of the calling thread for the artifact's
  /// parallel loops (no-op for artifacts without OpenMP).
  void useThreads(int64_t threads) const;

private:
  void bindWeights(const Checkpoint &ck);
  void makeSyntheticWeights(uint64_t seed);
  void bindEntries();
  /// GPU artifacts: binds the artifact's runtime calls and loads its kernels.
  void attachGpu();
  /// GPU artifacts: copies every weight to device memory.
  void uploadWeights();

  Manifest manifest_;
  std::unique_ptr<CudaContext> gpu_;
  std::string device_ = "cpu";
  void *library_ = nullptr;
  void (*ompSetNumThreads_)(int) = nullptr;
  /// name -> per-layer buffers (index 0 for global parameters).
  std::map<std::string, std::vector<Buffer>> weights_;
  int64_t weightBytes_ = 0, mappedBytes_ = 0;
  Program programs_[2];
  std::shared_ptr<const Checkpoint> checkpoint_;
};

/// Reads a state file written by Session::saveState (format in runtime.h)
/// for a session of `batch` sequences of the model `m`, whose state holds
/// `stateValues` floats: checks the magic, version, spec SHA-256, batch,
/// layer count, every state's name and shape, the value count and the file
/// size, and that every value is finite; throws an Error naming the file
/// and what differs.
std::vector<float> readStateFile(const std::string &path, const Manifest &m,
                                 int64_t batch, int64_t stateValues);

class Session {
public:
  enum class Mode { Auto, Recurrent, Parallel };

  Session(const Model &model, int64_t batch);
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;
  void reset();
  /// `n` tokens per sequence (tokens[b * n + t]); logits may be null.
  void eval(const int32_t *tokens, int64_t n, float *logits);
  /// lengths[b] tokens for sequence b, back to back in `tokens`.
  void evalRagged(const int32_t *tokens, const int64_t *lengths, float *logits);
  void setMode(Mode mode);
  void setChunkSize(int64_t tokens);
  /// Threads for the artifact's parallel loops (0: every CPU this process
  /// may run on). Has no effect on single-threaded artifacts.
  void setThreads(int64_t threads);

  /// With `on`, every output of every call is checked for NaN/Inf; the first
  /// one found fails the evaluation (RWKV_ERROR_NUMERIC) naming the entry
  /// point, layer, output, sequence, token position and element, and the
  /// input (parameter or state) that already held a non-finite value.
  void setCheckFinite(bool on) { checkFinite_ = on; }

  /// With `on`, every call of an entry point is timed and counted, with
  /// the bytes its arguments span and the FLOPs of its matrix parameters
  /// (ProfileEntry); switching it on clears what was collected.
  void setProfile(bool on);
  /// The collected profile as a table (runtime.h: rwkv_session_profile).
  std::string profileReport() const;

  int64_t stateSize() const;
  void getState(float *out) const;
  void setState(const float *in);

  /// Loads a learned initial WKV state (blocks.N.att.time_state) and makes
  /// it the state every sequence starts from (now and after reset()).
  void loadStateTuning(const Checkpoint &ck);
  /// Versioned state files (format in runtime.h).
  void saveState(const std::string &path) const;
  /// Evaluates `n` tokens per sequence and writes the logits of every
  /// position, [batch][n][vocab] (the parallel form needs the artifact's
  /// head_all entry, rwkvc --all-logits).
  void evalAll(const int32_t *tokens, int64_t n, float *logits);
  void loadState(const std::string &path);

private:
  /// Evaluates `n` tokens for sequences [lo, lo + count).
  void evalRange(int64_t lo, int64_t count, const int32_t *tokens, int64_t n,
                 float *logits);
  void checkTokens(const int32_t *tokens, int64_t count, int64_t sequence,
                   int64_t first) const;
  /// Refuses to take sequences [lo, lo + count) `n` tokens further when a
  /// token-counter state (an attention cache) would pass its max_tokens.
  void checkCapacity(int64_t lo, int64_t count, int64_t n) const;
  /// Runs one call of the program for `tokens` tokens per sequence; with
  /// `allTokens` through the head over every token (logits [B, count, V]).
  void step(const Model::Program &program, const int32_t *tokens,
            int64_t stride, int64_t count, float *logits,
            bool allTokens = false);
  /// Tokens per parallel call for `count` sequences.
  int64_t parallelChunk(int64_t count) const;
  Buffer &activation(const std::string &name, const ArgSpec &arg);
  void call(const BoundEntry &entry, int64_t layer);
  /// --check-finite: scans the outputs of the call just made.
  void checkOutputsFinite(
      const EntrySpec &spec, int64_t layer,
      const std::vector<std::pair<const Buffer *, int64_t>> &args);
  /// Host copy of `count` elements of `b` from element `first` as floats
  /// (downloaded on a GPU; `bf16`: the buffer holds bf16).
  std::vector<float> hostFloats(const Buffer &b, int64_t first, int64_t count,
                                bool bf16) const;
  std::vector<int64_t> concreteShape(const ArgSpec &arg) const;
  /// GPU sessions: (re)allocates `b`'s device memory for its shape, zeroed.
  void allocDevice(Buffer &b);
  /// Address the generated code gets for `b` (device memory on a GPU).
  const void *address(const Buffer &b) const;
  /// GPU sessions: state buffers copied to or from host vectors (one per
  /// state and layer, all sequences).
  std::map<std::string, std::vector<std::vector<float>>> downloadStates() const;
  void uploadStates(
      const std::map<std::string, std::vector<std::vector<float>>> &host);

  const Model &model_;
  std::unique_ptr<CudaStream> stream_; ///< GPU sessions only
  int64_t batch_;
  int64_t batchLo_ = 0; ///< first sequence of the current call
  int64_t batchN_;      ///< sequences in the current call
  int64_t tokens_ = 1;  ///< tokens per sequence of the current call
  Mode mode_ = Mode::Auto;
  /// Tokens per parallel call; 0: as many as the activation budget allows
  /// (see evalRange).
  int64_t chunk_ = 0;
  int64_t threads_ = 0;
  bool checkFinite_ = false;
  /// Per entry point (by name): calls, seconds, bytes, FLOPs and tokens.
  struct ProfileEntry {
    std::string kind;
    int64_t calls = 0, tokens = 0;
    double seconds = 0, bytes = 0, flops = 0;
  };
  bool profile_ = false;
  std::map<std::string, ProfileEntry> profileData_;
  /// Position (within the current evaluation) of the first token of the
  /// current call, for --check-finite messages.
  int64_t position_ = 0;
  /// states_[name][layer]
  std::map<std::string, std::vector<Buffer>> states_;
  std::map<std::string, Buffer> activations_;
  std::map<std::string, Buffer> scratch_;
  /// state name -> per-layer initial values of one sequence (state tuning).
  std::map<std::string, std::vector<std::vector<float>>> initial_;
};

/// CPUs this process may run on (its affinity mask).
int64_t availableCpus();
/// The largest thread count a session accepts (runtime.h: rwkv_thread_limit).
int64_t threadLimit();

/// Checks every ISA feature of the manifest against the host CPU.
void checkHostCpu(const Manifest &manifest);

} // namespace rwkvrt

#endif // RWKV_RUNTIME_MODEL_H
