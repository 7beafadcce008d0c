//===- Rwkv.td - umbrella for the rwkv dialect definitions -*- tablegen -*-===//
//
// Pulls in the dialect, its enums and its operations so a single tablegen
// invocation produces every generated file (see dialect/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_TD
#define RWKV_TD

include "dialect/RwkvDialect.td"
include "dialect/RwkvEnums.td"
include "dialect/RwkvOps.td"

#endif // RWKV_TD
