//===- rwkvc.cpp - the rwkv-mlir compiler driver --------------------------===//
//
// rwkvc SPEC.toml -o DIR [--target=host|x86-64-v3|x86-64-v4]
//       [--emit=rwkv|linalg|llvm|llvm-ir|asm|obj|so]
//
// A shim over rwkv::compilerMain (codegen/Driver.h) so the driver logic is a
// library that tests and other front ends can call.
//
//===----------------------------------------------------------------------===//

#include "codegen/Driver.h"

int main(int argc, char **argv) { return mlir::rwkv::compilerMain(argc, argv); }
