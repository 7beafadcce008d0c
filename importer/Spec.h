//===- Spec.h - RWKV model specs (TOML) -------------------------*- C++ -*-===//
//
// A spec describes one RWKV variant: sizes, the components each block is
// assembled from, norm epsilons, precision and how the checkpoint names its
// tensors. docs/spec.md documents every key. Parsing reports errors as MLIR
// diagnostics located at the offending key (file:line:col), so rwkvc's
// --verify-diagnostics works on spec files.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_IMPORTER_SPEC_H
#define RWKV_IMPORTER_SPEC_H

#include "importer/Block.h"

#include "mlir/IR/Location.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringMap.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
class MLIRContext;
namespace rwkv {

/// How the time-mix inputs x_r, x_k, ... are formed from x_t and x_{t-1}.
enum class TokenShiftKind {
  LerpPrevious, ///< x + (x_{t-1} - x) ⊙ μ: μ weights the previous token (v7)
  LerpCurrent, ///< x_{t-1} + (x - x_{t-1}) ⊙ μ: μ weights the current token
               ///< (v4/v5)
  DDLerp,      ///< v6 data-dependent lerp with a shared LoRA (rwkv-math §4.1)
};

/// The decay parameterisation of the time mix.
enum class DecayParam {
  Static, ///< per-channel time_decay d: v4 w⁻ = -exp(d), v5 w = exp(-exp(d))
  StaticPerHead, ///< per-head time_decay (RWKV-5.0/5.1)
  LoraExp,       ///< v6: w_t = exp(-exp(d + tanh(xw·A)·B))
  LoraSigmoid,   ///< v7: w_t = exp(-e^{-1/2} σ(w0 + tanh(xw·w1)·w2))
};

/// The state recurrence.
enum class WkvKind {
  Wkv4, ///< v4: per-channel (a, b, p) with the running max (§2.2)
  Wkv5, ///< v5/v6: per-head N x N state, diagonal decay, bonus u (§3.1, §4.2)
  Wkv7, ///< v7: generalised delta rule (§5.4)
};

/// The current-token bonus, its parameter and where it acts.
enum class BonusKind {
  TimeFirst,   ///< v4: time_first u in log space, inside wkv4
  U,           ///< v5.2/v6: time_faaaa used as u, inside wkv5 (before the norm)
  UExp,        ///< u = exp(time_first), per channel, inside wkv5
  UExpPerHead, ///< u = exp(time_first), per head (RWKV-5.0/5.1)
  RkAfterNorm, ///< v7: (Σ r ⊙ k̃ ⊙ r_k)·v added after the group norm
};

enum class GateKind {
  None,
  Silu,        ///< v5.2/v6: g = silu(xg·W_gᵀ)
  LoraSigmoid, ///< v7: g = σ(xg·g1)·g2
};

enum class ReceptanceKind {
  Linear,  ///< r = xr·W_rᵀ (v5-v7)
  Sigmoid, ///< r = σ(xr·W_rᵀ) (v4)
};

enum class OutputNormKind {
  None,      ///< v4
  GroupNorm, ///< per-head ln_x (v5-v7)
};

enum class ChannelMixKind {
  ReluSquare,      ///< relu²(xk·Kᵀ)·Vᵀ (v7)
  ReluSquareGated, ///< σ(xr·W_rᵀ) ⊙ relu²(xk·Kᵀ)·Vᵀ (v4-v6)
};

/// What function f of the model parameter p a checkpoint stores (rwkv.cpp's
/// converter pre-transforms some tensors; SOURCE.md of rwkvcpp-tiny).
enum class StoredAs {
  Raw,       ///< p
  Exp,       ///< exp(p)
  NegExp,    ///< -exp(p)
  ExpNegExp, ///< exp(-exp(p))
};

/// The spec's names of the stored forms, in enum order: "raw", "exp",
/// "neg_exp", "exp_neg_exp" (the `stored_as` keys and `as_form`).
extern const std::pair<llvm::StringRef, StoredAs> kStoredAsNames[4];
/// The form called `name`, or nullopt.
std::optional<StoredAs> storedAsNamed(llvm::StringRef name);

/// Where one compiler parameter comes from in a checkpoint.
struct TensorBinding {
  /// Checkpoint tensor name; `{layer}` is replaced by the block index.
  std::string name;
  /// The checkpoint stores the transpose of the compiler's [out, in] layout.
  bool transpose = false;
  /// When >= 0, the tensor is a stack and this parameter is row `index` of
  /// its outermost dimension (rwkv.cpp's `att.x_rwkvag`).
  int64_t index = -1;
  /// What the file holds: the parameter itself or a function of it. The
  /// generated code converts (the runtime never does math on weights).
  StoredAs storedAs = StoredAs::Raw;
};

/// Distribution used to make deterministic synthetic weights.
struct InitHint {
  enum class Kind { Uniform, Constant } kind = Kind::Uniform;
  double lo = 0.0, hi = 0.0; ///< Uniform bounds, or `lo` for Constant.
};

/// One parameter the compiled code takes, in the compiler's layout.
struct ParamInfo {
  std::string name;           ///< canonical name, e.g. "att.receptance"
  std::vector<int64_t> shape; ///< compiler layout ([out, in] for matrices)
  bool perLayer = true;       ///< one tensor per block (else global)
  unsigned firstLayer = 0;    ///< first block that has it (v7 v0/v1/v2: 1)
  TensorBinding binding;      ///< default or spec-provided checkpoint binding
  /// Checkpoint name of every layer when the template computes it
  /// (`{layer+1}`); empty when `binding.name` has only `{layer}` fields.
  /// Layers before firstLayer have "".
  std::vector<std::string> layerNames;
  InitHint init; ///< synthetic-weight distribution
  /// Element type the kernels read: "f32", or the spec's precision for the
  /// parameter's projection class ("bf16", "q8_0": ggml's Q8_0 blocks) —
  /// projection matrices dominate the bytes read per token.
  std::string dtype = "f32";
};

/// A per-sequence recurrent state tensor carried across calls (per layer).
struct StateInfo {
  std::string name;           ///< "att_shift", "wkv", "ffn_shift"
  std::vector<int64_t> shape; ///< without the leading batch dimension
  float init = 0.0f;          ///< value of a fresh sequence
  /// > 0 for a token counter ([1] per sequence, holding how many tokens the
  /// sequence has seen): the runtime refuses to go past this many tokens
  /// (the capacity of an attention cache).
  int64_t maxTokens = 0;
  /// false for a state of the embed or head block: one per sequence, not
  /// one per layer (RWKV-1/2/3's head-QK window).
  bool perLayer = true;
};

/// A parsed and validated model spec.
struct Spec {
  std::string path;   ///< file the spec was read from
  std::string sha256; ///< hex SHA-256 of the file's bytes
  std::string name, description;

  int64_t vocabSize = 0, dModel = 0, nLayer = 0, headSize = 0, dFfn = 0;
  int64_t numHeads() const { return dModel / headSize; }

  bool ln0 = true;
  /// Optional biases: on the head projection (logits), and on the two
  /// projections that write the residual stream (att.output, ffn.value).
  bool headBias = false, residualBias = false;
  float layerNormEps = 1e-5f;
  float groupNormEps = 64e-5f;

  /// [precision]: the dtype the kernels read for Linear matrices
  /// (`weights`: f32, bf16 or q8_0), LoRA factors (`lora`: f32 or bf16) and
  /// the head (`head`).
  std::string weightDtype = "f32", loraDtype = "f32", headDtype = "f32";

  TokenShiftKind timeMixShift = TokenShiftKind::LerpPrevious;
  DecayParam decay = DecayParam::LoraSigmoid;
  WkvKind wkv = WkvKind::Wkv7;
  BonusKind bonus = BonusKind::RkAfterNorm;
  GateKind gate = GateKind::LoraSigmoid;
  ReceptanceKind receptance = ReceptanceKind::Linear;
  OutputNormKind outputNorm = OutputNormKind::GroupNorm;
  bool valueResidual = true;
  int64_t decayRank = 0, iclrRank = 0, valueRank = 0, gateRank = 0, mixRank = 0;

  ChannelMixKind channelMix = ChannelMixKind::ReluSquare;
  TokenShiftKind channelMixShift = TokenShiftKind::LerpPrevious;

  /// Names of the time-mix inputs the components need, in the order the
  /// token shift produces them ("w", "k", "v", "r", "g", "a").
  std::vector<std::string> timeMixInputs() const;

  /// Named sizes expressions may use: the [model] sizes, n_head, the LoRA
  /// ranks (decay_rank, iclr_rank, value_rank, gate_rank, mix_rank) and
  /// the [sizes] table.
  SizeEnv sizes;
  /// The blocks in kBlockNames order (embed, time_mix, channel_mix, head),
  /// written in the spec's [block.*] tables or chosen from the fragment
  /// library by the menu keys.
  std::vector<BlockDef> blocks;
  /// The block called `name`.
  const BlockDef &block(StringRef name) const;
  /// True for the blocks that run once per layer.
  static bool perLayerBlock(StringRef name) {
    return name == "time_mix" || name == "channel_mix";
  }
  /// Whether every block comes from the menu (the [time_mix] and
  /// [channel_mix] component keys describe the model).
  bool menuOnly = true;
  /// The sizes of layer `layer` (`sizes` with `layer` set).
  SizeEnv layerSizes(int64_t layer) const;

  /// Spec-file overrides of checkpoint bindings, by canonical name.
  std::map<std::string, TensorBinding> bindingOverrides;

  /// [checkpoint.metadata]: a key-value pair the weight file must carry
  /// (checked by the runtime in formats that record metadata).
  struct CheckpointMetadata {
    enum class Kind { Int, Float, Bool, String } kind = Kind::String;
    std::string key;
    int64_t intValue = 0;
    double floatValue = 0;
    bool boolValue = false;
    std::string stringValue;
  };
  std::vector<CheckpointMetadata> checkpointMetadata;

  /// Location of each key ("model.d_model") and table ("time_mix") in the
  /// spec file; ops built from a key carry its location.
  llvm::StringMap<Location> keyLocs;

  /// Location of `key`, or of the file when the key was not written.
  Location locOf(llvm::StringRef key, MLIRContext *ctx) const;

  /// Every parameter the compiled model takes, with bindings resolved: the
  /// live parameter values of the blocks.
  const std::vector<ParamInfo> &parameters() const { return paramList; }
  /// The recurrent state tensors of one layer (their order is the state
  /// layout of the runtime's state files: the channel mix's, then the time
  /// mix's, each in declaration order).
  const std::vector<StateInfo> &states() const { return stateList; }

  std::vector<ParamInfo> paramList;
  std::vector<StateInfo> stateList;
};

/// Parses and validates a spec. Errors are emitted as diagnostics on `ctx`
/// located in the spec file; returns std::nullopt after any error.
std::optional<Spec> parseSpecFile(llvm::StringRef path, MLIRContext *ctx);

/// As parseSpecFile, for a spec already in memory (`path` names it in
/// diagnostics).
std::optional<Spec> parseSpec(llvm::StringRef text, llvm::StringRef path,
                              MLIRContext *ctx);

} // namespace rwkv
} // namespace mlir

#endif // RWKV_IMPORTER_SPEC_H
