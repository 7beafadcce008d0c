//===- Importer.h - build rwkv IR from a spec -------------------*- C++ -*-===//
//
// Turns a validated Spec into a module of `func.func`s in the rwkv dialect:
//
//   @embed           tokens [B,T] -> h [B,T,C]          (emb, ln0)
//   @time_mix_<k>    one per block kind (layers sharing a parameter set)
//   @channel_mix_<k> likewise
//   @head            h [B,1,C] -> logits [B,1,V]        (ln_out, head)
//
// Every argument and result carries a role attribute (names in
// dialect/RwkvDialect.h) the code generator turns into the artifact manifest:
//   rwkv.param = "att.key"       a weight (see Spec::parameters())
//   rwkv.state = "wkv"           a per-layer recurrent state (in and out)
//   rwkv.activation = "h"        an activation buffer the runtime routes
// Functions carry rwkv.entry = "embed" | "time_mix" | "channel_mix" | "head",
// rwkv.mode = "recurrent" | "parallel" and rwkv.layers = [indices of the
// blocks they implement]. Parallel-form functions are named with a
// `_parallel` suffix and take [B, T, C] activations with a dynamic T; their
// head reads the last token only.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_IMPORTER_IMPORTER_H
#define RWKV_IMPORTER_IMPORTER_H

#include "importer/Spec.h"

#include "dialect/RwkvDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir {
namespace rwkv {

/// Which forms of the entry points to build. The recurrent form takes one
/// token per call (T = 1, static); the parallel form takes any number of
/// tokens per call (T dynamic) for prompts. Both use the same ops; the
/// lowering chooses loop structures from the shapes.
struct ImportOptions {
  bool recurrent = true;
  bool parallel = true;
  /// Also build `head_all_parallel` (rwkv.entry = "head_all"): the head
  /// block over every token, logits [B, T, V] (its `last_token` keeps all).
  bool allLogits = false;
};

/// Builds the rwkv-dialect module for `spec`. Emits a located error and
/// returns null when the spec combines components the importer cannot build.
OwningOpRef<ModuleOp> importSpec(const Spec &spec, MLIRContext *ctx,
                                 const ImportOptions &options = {});

} // namespace rwkv
} // namespace mlir

#endif // RWKV_IMPORTER_IMPORTER_H
