//===- CompileHarness.h - compile one function and call it (tests) --------===//
//
// Compiles MLIR text through the same pipeline and code generator rwkvc uses
// (host target), links a shared library, loads it and calls a function with
// row-major buffers, so op tests exercise the real ahead-of-time path.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_TEST_COMPILEHARNESS_H
#define RWKV_TEST_COMPILEHARNESS_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rwkvtest {

/// A dense row-major tensor; i32 data is stored bit-for-bit in `data`.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  static Tensor zeros(std::vector<int64_t> shape);
  int64_t elements() const;
};

class CompiledFunction {
public:
  /// Compiles `mlir` and loads function `name`. `pipelineOptions` are CPU
  /// pipeline options in textual form ("wkv5-chunk=0 sequence-chunk=16"),
  /// applied over the defaults. On failure returns null and sets `error`.
  static std::unique_ptr<CompiledFunction>
  compile(const std::string &mlir, const std::string &name, std::string &error,
          const std::string &pipelineOptions = "");
  ~CompiledFunction();

  /// Calls the function: `args` are the inputs, then one buffer per result
  /// (pre-sized by the caller).
  void call(const std::vector<Tensor *> &args) const;

private:
  CompiledFunction() = default;
  void *library_ = nullptr;
  void (*fn_)(void **) = nullptr;
  std::string dir_;
};

} // namespace rwkvtest

#endif // RWKV_TEST_COMPILEHARNESS_H
