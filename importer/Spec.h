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

/// How the token-shift mix weights the two tokens (rwkv-math §9.11).
enum class TokenShiftKind {
  LerpPrevious, ///< x + (x_{t-1} - x) ⊙ μ: μ weights the previous token (v6/v7)
  LerpCurrent, ///< x_{t-1} + (x - x_{t-1}) ⊙ μ: μ weights the current token
               ///< (v4/v5)
};

/// The decay parameterisation of the time mix.
enum class DecayParam {
  LoraSigmoid, ///< v7: w = exp(-e^{-1/2} σ(w0 + tanh(xw·w1)·w2))
};

enum class WkvKind { Wkv7 };
enum class BonusKind {
  RkAfterNorm, ///< v7: (Σ r ⊙ k̃ ⊙ r_k)·v added after the group norm
};
enum class GateKind {
  None,
  LoraSigmoid, ///< v7: g = σ(xg·g1)·g2
};
enum class ChannelMixKind {
  ReluSquare, ///< relu²(xk·Kᵀ)·Vᵀ (v7)
};

/// Where one compiler parameter comes from in a checkpoint.
struct TensorBinding {
  /// Checkpoint tensor name; `{layer}` is replaced by the block index.
  std::string name;
  /// The checkpoint stores the transpose of the compiler's [out, in] layout.
  bool transpose = false;
  /// When >= 0, the tensor is a stack and this parameter is row `index` of
  /// its outermost dimension (rwkv.cpp's `att.x_rwkvag`).
  int64_t index = -1;
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
  InitHint init;              ///< synthetic-weight distribution
};

/// A per-sequence recurrent state tensor carried across calls (per layer).
struct StateInfo {
  std::string name;           ///< "att_shift", "wkv", "ffn_shift"
  std::vector<int64_t> shape; ///< without the leading batch dimension
  float init = 0.0f;          ///< value of a fresh sequence
};

/// A parsed and validated model spec.
struct Spec {
  std::string path;   ///< file the spec was read from
  std::string sha256; ///< hex SHA-256 of the file's bytes
  std::string name, description;

  int64_t vocabSize = 0, dModel = 0, nLayer = 0, headSize = 0, dFfn = 0;
  int64_t numHeads() const { return dModel / headSize; }

  bool ln0 = true;
  float layerNormEps = 1e-5f;
  float groupNormEps = 64e-5f;

  std::string weightDtype = "f32";

  TokenShiftKind timeMixShift = TokenShiftKind::LerpPrevious;
  DecayParam decay = DecayParam::LoraSigmoid;
  WkvKind wkv = WkvKind::Wkv7;
  BonusKind bonus = BonusKind::RkAfterNorm;
  GateKind gate = GateKind::LoraSigmoid;
  bool valueResidual = true;
  int64_t decayRank = 0, iclrRank = 0, valueRank = 0, gateRank = 0;

  ChannelMixKind channelMix = ChannelMixKind::ReluSquare;
  TokenShiftKind channelMixShift = TokenShiftKind::LerpPrevious;

  /// Spec-file overrides of checkpoint bindings, by canonical name.
  std::map<std::string, TensorBinding> bindingOverrides;

  /// Location of each key ("model.d_model") and table ("time_mix") in the
  /// spec file; ops built from a key carry its location.
  llvm::StringMap<Location> keyLocs;

  /// Location of `key`, or of the file when the key was not written.
  Location locOf(llvm::StringRef key, MLIRContext *ctx) const;

  /// Every parameter the compiled model takes, with bindings resolved.
  std::vector<ParamInfo> parameters() const;
  /// The recurrent state tensors of one layer.
  std::vector<StateInfo> states() const;
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
