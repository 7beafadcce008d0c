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

#endif // RWKV_DIALECT_RWKVOPS_H
