//===- RwkvOps.h - rwkv dialect operations ----------------------*- C++ -*-===//
//
// Operation classes generated from dialect/RwkvOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_DIALECT_RWKVOPS_H
#define RWKV_DIALECT_RWKVOPS_H

#include "dialect/RwkvDialect.h"

// LLVM 22's generated op code needs the full builder definitions.
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialect/RwkvEnums.h.inc"

#define GET_OP_CLASSES
#include "dialect/RwkvOps.h.inc"

namespace mlir {
namespace rwkv {

/// ggml's Q8_0 block (ggml-common.h block_q8_0): 32 weights of one row as an
/// f16 scale d (2 bytes, little-endian) then 32 signed bytes q; w = d * q.
constexpr int64_t kQ8BlockSize = 32;
constexpr int64_t kQ8BlockBytes = 34;

/// True when `type` is a tensor of Q8_0 blocks: `[M, K/32, 34]` i8.
bool isQ8Weight(Type type);

/// The `{out, in}` sizes of a projection weight: a float `[M, K]` matrix or
/// Q8_0 blocks `[M, K/32, 34]` (K = 32 * dim 1). Other shapes give
/// `{dim 0, dynamic}`; the ops' verifiers reject them.
std::pair<int64_t, int64_t> weightShape(Type type);

} // namespace rwkv
} // namespace mlir

#endif // RWKV_DIALECT_RWKVOPS_H
