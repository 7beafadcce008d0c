//===- Target.h - x86-64 code generation targets ----------------*- C++ -*-===//
//
// Resolves rwkvc's --target into what the pipeline and LLVM need: CPU name,
// LLVM feature string, f32 lanes per vector, and the ISA features the
// generated code may use (recorded in the manifest and checked by the
// runtime before it loads the library).
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_CODEGEN_TARGET_H
#define RWKV_CODEGEN_TARGET_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class TargetMachine;
} // namespace llvm

namespace mlir {
namespace rwkv {

struct CpuTarget {
  std::string name;     ///< as given: host, x86-64-v3, x86-64-v4, ...
  std::string triple;   ///< x86_64-unknown-linux-gnu
  std::string cpu;      ///< LLVM CPU name (znver4, x86-64-v4, ...)
  std::string features; ///< LLVM feature string ("+avx2,+fma,...")
  /// ISA extensions the code may use, in LLVM/GCC naming ("avx2", "fma",
  /// "avx512f", ...): exactly what the runtime must find on the host.
  std::vector<std::string> isaFeatures;
  int64_t vectorWidth = 8; ///< f32 lanes: 16 with AVX-512, 8 with AVX2
};

/// Plain x86-64 (SSE2, 4 lanes) with no extra ISA features: the target of
/// code that only orchestrates (the host side of GPU artifacts, the
/// emulated kernels of tests).
CpuTarget baselineX86Target();

/// Resolves a --target value. Returns failure with `error` set for unknown
/// names or a host without AVX2.
FailureOr<CpuTarget> resolveCpuTarget(StringRef name, std::string &error);

/// Creates an LLVM TargetMachine for `target` (PIC, -O3).
std::unique_ptr<llvm::TargetMachine>
createTargetMachine(const CpuTarget &target, std::string &error);

} // namespace rwkv
} // namespace mlir

#endif // RWKV_CODEGEN_TARGET_H
