//===- Driver.h - rwkvc: spec to artifacts ----------------------*- C++ -*-===//
//
// The compiler driver behind `rwkvc`: parses a spec, imports it into the rwkv
// dialect, runs the CPU pipeline (passes/Pipelines.h), emits an object file,
// links a shared library and writes the manifest. `--emit=<stage>` stops at
// any stage and prints it.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_CODEGEN_DRIVER_H
#define RWKV_CODEGEN_DRIVER_H

namespace mlir {
namespace rwkv {

/// Runs rwkvc with command-line arguments; returns the process exit code.
int compilerMain(int argc, char **argv);

} // namespace rwkv
} // namespace mlir

#endif // RWKV_CODEGEN_DRIVER_H
