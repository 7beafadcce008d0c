//===- Manifest.h - the artifact manifest -----------------------*- C++ -*-===//
//
// manifest.json sits beside the generated shared library and tells the
// runtime everything it needs without any RWKV knowledge of its own:
//
//   abi_version      bumped on any incompatible change of the layout below
//   spec             name, path and SHA-256 of the spec the code came from
//   target           triple, CPU, ISA features the (host) code uses, vector
//                    width
//   device           where the model runs: {"kind": "cpu"}, or for NVIDIA
//                    GPUs {"kind": "cuda", "chips", the image files and, per
//                    kernel, block size, shared memory, registers and
//                    spills, and the kernels each entry point launches}
//   model            sizes (vocab, d_model, layers, heads, head size) and
//                    the spec components (informational)
//   parameters       every weight: shape in the compiler layout, the
//                    checkpoint tensor that provides it (name template,
//                    transpose, stack index) and a synthetic-init hint
//   states           per-layer recurrent state tensors and initial values
//   entry_points     exported symbols `rwkv_<name>(void **args)`, the block
//                    layers they serve, their form (recurrent: one token
//                    per call; parallel: T tokens), and their arguments in
//                    ABI order: each a memref descriptor pointer with role
//                    (param, state, activation), name, direction, shape
//                    (-1 = batch, -2 = tokens of the call)
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_CODEGEN_MANIFEST_H
#define RWKV_CODEGEN_MANIFEST_H

#include "codegen/Target.h"
#include "importer/Spec.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

namespace mlir {
namespace rwkv {

/// Version of the artifact ABI: manifest layout + calling convention.
/// 3 added `device` (version-2 manifests are CPU artifacts).
constexpr int64_t kAbiVersion = 3;

struct EntryArg {
  std::string role; ///< "param", "state" or "activation"
  std::string name; ///< parameter, state or activation name
  bool output = false;
  /// -1 for the (dynamic) batch dimension, -2 for the token dimension of
  /// parallel-form activations.
  std::vector<int64_t> shape;
  std::string dtype; ///< "f32", "i32", ...
};

struct EntryPoint {
  std::string name;   ///< function name in the IR ("time_mix_0")
  std::string symbol; ///< exported wrapper ("rwkv_time_mix_0")
  std::string kind;   ///< embed, time_mix, channel_mix, head
  std::string mode;   ///< recurrent (T = 1) or parallel (T dynamic)
  std::vector<int64_t> layers;
  /// Inputs in order, then outputs (results become trailing out-params).
  std::vector<EntryArg> args;
};

/// Reads the entry points of an imported (rwkv-level) module from the role
/// attributes the importer sets (see importer/Importer.h).
std::vector<EntryPoint> collectEntryPoints(ModuleOp module);

/// The shape/binding table the generated code was compiled for, as text the
/// runtime rebuilds from manifest.json and compares (runtime/src/
/// Manifest.cpp, shapeTable; both sides must write it alike):
///
///   rwkv-shape-table 1
///   model <vocab_size> <d_model> <n_layer> <n_head> <head_size> <d_ffn>
///   param <name> <shape> <dtype> <per_layer 0|1> <first_layer>
///         <checkpoint name> <transpose 0|1> <index>     (one line)
///   state <name> <shape> <init as f32 bits, hex>
///   entry <name> <symbol> <kind> <mode> <layers>
///   arg <role> <name> <in|out> <shape> <dtype>          (after its entry)
///
/// with shapes and layer lists as [a,b,...], one record per line. The
/// library exports it as `const char rwkv_shape_table[]` (addShapeTable),
/// so a manifest edited by hand (smaller tensors, other layers) is refused
/// instead of letting the code read past the buffers it is given.
std::string shapeTable(const Spec &spec, ArrayRef<EntryPoint> entries);

/// Builds the manifest JSON.
llvm::json::Object buildManifest(const Spec &spec, const CpuTarget &target,
                                 ArrayRef<EntryPoint> entries,
                                 StringRef library);

} // namespace rwkv
} // namespace mlir

#endif // RWKV_CODEGEN_MANIFEST_H
