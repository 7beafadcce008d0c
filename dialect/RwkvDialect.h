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

#endif // RWKV_DIALECT_RWKVDIALECT_H
