//===- Manifest.h - reading an artifact's manifest.json ---------*- C++ -*-===//
//
// The runtime's view of codegen/Manifest.h: what rwkvc wrote, parsed and
// validated. Any missing or ill-typed field is a FormatError naming the file
// and the JSON path.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_RUNTIME_MANIFEST_H
#define RWKV_RUNTIME_MANIFEST_H

#include "Checkpoint.h"
#include "Error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rwkvrt {

struct CheckpointBinding {
  std::string name; ///< template with {layer}
  /// The tensor name of every layer, when the spec computes it from the
  /// layer index (`{layer+1}`); empty otherwise ("" for absent layers).
  std::vector<std::string> layerNames;
  bool transpose = false;
  int64_t index = -1;
};

struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool perLayer = false;
  int64_t firstLayer = 0;
  CheckpointBinding checkpoint;
  std::string initKind; ///< uniform | constant
  double initLo = 0, initHi = 0;
  /// What the kernels read: f32 | bf16 | q8_0 (ggml's Q8_0 blocks: per row
  /// and 32 elements an f16 scale and 32 signed bytes, 34 bytes).
  std::string dtype = "f32";
  bool q8() const { return dtype == "q8_0"; }
  size_t elementBytes() const { return dtype == "bf16" ? 2 : 4; }
  /// The buffer the kernels take: `shape`, or [M, K/32, 34] bytes for q8_0.
  std::vector<int64_t> storageShape() const {
    if (!q8())
      return shape;
    return {shape[0], shape[1] / 32, 34};
  }
  /// Bytes of `elements` elements in this dtype (a multiple of 32 for q8_0).
  int64_t storageBytes(int64_t elements) const {
    return q8() ? elements / 32 * 34
                : elements * static_cast<int64_t>(elementBytes());
  }
};

struct StateSpec {
  std::string name;
  std::vector<int64_t> shape; ///< without the batch dimension
  float init = 0;
  /// > 0: a token counter ([1] per sequence) whose sequence may not go past
  /// this many tokens (an attention cache's capacity).
  int64_t maxTokens = 0;
  /// true: one per layer and sequence; false: one per sequence (a state of
  /// the embed or head block, e.g. RWKV-1/2/3's head-QK key window).
  bool perLayer = true;
  /// How many copies a sequence keeps.
  int64_t copies(int64_t nLayer) const { return perLayer ? nLayer : 1; }
};

struct ArgSpec {
  std::string role; ///< param | state | activation
  std::string name;
  bool output = false;
  std::vector<int64_t> shape; ///< -1 = batch, -2 = tokens of the call
  std::string dtype;
};

struct EntrySpec {
  std::string name, symbol, kind;
  std::string mode; ///< recurrent | parallel
  std::vector<int64_t> layers;
  std::vector<ArgSpec> args;
};

struct Manifest {
  std::string path; ///< manifest.json, for messages
  int64_t abiVersion = 0;
  std::string specName, specSha256;
  std::string targetCpu;
  std::vector<std::string> cpuFeatures;
  std::string library;
  std::string deviceKind;               ///< cpu | cuda
  std::vector<std::string> deviceChips; ///< cuda: sm_80, sm_90, ...
  int64_t vocabSize = 0, dModel = 0, nLayer = 0, nHead = 0, headSize = 0,
          dFfn = 0;
  std::vector<ParamSpec> params;
  /// "checkpoint_metadata": (key, value) pairs the weight file must record
  /// (spec [checkpoint.metadata]); absent in older manifests.
  std::vector<std::pair<std::string, MetaValue>> checkpointMetadata;
  std::vector<StateSpec> states;
  std::vector<EntrySpec> entries;

  const ParamSpec *findParam(const std::string &name) const;
};

/// Reads and validates `dir`/manifest.json.
Manifest readManifest(const std::string &dir);

/// The shape/binding table of `m` in the text form rwkvc exports from the
/// library as `rwkv_shape_table` (codegen/Manifest.h, shapeTable).
std::string shapeTable(const Manifest &m);

/// Compares `compiled` (the library's rwkv_shape_table) with the manifest's
/// table; throws a FORMAT Error naming the first record that differs.
void checkShapeTable(const Manifest &m, const std::string &compiled);

} // namespace rwkvrt

#endif // RWKV_RUNTIME_MANIFEST_H
