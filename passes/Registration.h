//===- Registration.h - dialects and passes the compiler uses ---*- C++ -*-===//
//
// One place that registers everything the rwkv tools parse and run, so that
// rwkv-opt, rwkvc and the tests agree on the dialect and pass set.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_PASSES_REGISTRATION_H
#define RWKV_PASSES_REGISTRATION_H

namespace mlir {
class DialectRegistry;
namespace rwkv {

/// Adds the rwkv dialect, every upstream dialect the pipelines lower through,
/// their bufferization/tiling interface models and the LLVM IR translations.
void registerCompilerDialects(DialectRegistry &registry);

/// Registers the rwkv passes, the named rwkv pipelines and the upstream
/// passes, so they are available as command-line flags and in textual
/// pipelines. Safe to call more than once.
void registerCompilerPasses();

} // namespace rwkv
} // namespace mlir

#endif // RWKV_PASSES_REGISTRATION_H
