//===- RwkvDialect.cpp - rwkv dialect registration ------------------------===//

#include "dialect/RwkvDialect.h"
#include "dialect/RwkvOps.h"

using namespace mlir;
using namespace mlir::rwkv;

#include "dialect/RwkvDialect.cpp.inc"
#include "dialect/RwkvEnums.cpp.inc"

void RwkvDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialect/RwkvOps.cpp.inc"
      >();
}
