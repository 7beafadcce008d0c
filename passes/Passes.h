//===- Passes.h - rwkv passes -----------------------------------*- C++ -*-===//
//
// Declarations of the passes in passes/Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_PASSES_PASSES_H
#define RWKV_PASSES_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace rwkv {

/// Unit attribute convert-rwkv-to-linalg puts on scf.for loops whose
/// iterations write disjoint parts of their results; rwkv-parallelize-loops
/// turns them into scf.parallel.
inline constexpr llvm::StringLiteral kParallelLoopAttr = "rwkv.parallel";

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace rwkv
} // namespace mlir

#endif // RWKV_PASSES_PASSES_H
