//===- RwkvDialect.h - the rwkv dialect -------------------------*- C++ -*-===//
//
// Declares the `rwkv` dialect: RWKV-4..7 layer building blocks at tensor
// level. See dialect/RwkvOps.td for the op definitions and their math.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_DIALECT_RWKVDIALECT_H
#define RWKV_DIALECT_RWKVDIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialect/RwkvDialect.h.inc"

namespace mlir {
namespace rwkv {

/// Discardable attributes of the entry-point ABI (importer/Importer.h
/// describes it). Arguments and results carry one role each: a weight
/// (`rwkv.param = "att.key"`), a per-layer recurrent state passed in and
/// returned (`rwkv.state = "wkv"`, same name on the argument and the
/// result), or an activation (`rwkv.activation = "h"`, [B, T, ...]).
/// Functions carry `rwkv.entry`, `rwkv.mode` and `rwkv.layers`.
/// rwkv-prepare-abi drops them once the code generator has read them.
constexpr llvm::StringLiteral kParamAttr = "rwkv.param";
constexpr llvm::StringLiteral kStateAttr = "rwkv.state";
constexpr llvm::StringLiteral kActivationAttr = "rwkv.activation";
constexpr llvm::StringLiteral kEntryAttr = "rwkv.entry";
constexpr llvm::StringLiteral kLayersAttr = "rwkv.layers";
constexpr llvm::StringLiteral kModeAttr = "rwkv.mode";

} // namespace rwkv
} // namespace mlir

#endif // RWKV_DIALECT_RWKVDIALECT_H
