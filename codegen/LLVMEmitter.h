//===- LLVMEmitter.h - LLVM IR, assembly and objects ------------*- C++ -*-===//
//
// From an LLVM-dialect module to LLVM IR with the artifact's exported entry
// points, optimized for the target, and from there to assembly or an object.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_CODEGEN_LLVMEMITTER_H
#define RWKV_CODEGEN_LLVMEMITTER_H

#include "codegen/Manifest.h"
#include "codegen/Target.h"

#include "mlir/IR/BuiltinOps.h"

#include <memory>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
class raw_pwrite_stream;
} // namespace llvm

namespace mlir {
namespace rwkv {

/// Translates `module` (LLVM dialect, entry functions lowered with
/// llvm.emit_c_interface) to LLVM IR, adds one `void rwkv_<name>(void **)`
/// wrapper per entry point that unpacks descriptor pointers and calls
/// `_mlir_ciface_<name>`, sets the target attributes (prefer full-width
/// vectors) and runs LLVM's -O3 pipeline. `prepare`, if given, edits the
/// translated module before optimization (the GPU flow binds its runtime
/// calls there). Returns null and sets `error` on failure.
std::unique_ptr<llvm::Module> emitLLVMModule(
    ModuleOp module, llvm::LLVMContext &llvmContext, llvm::TargetMachine &tm,
    const CpuTarget &target, ArrayRef<EntryPoint> entries, std::string &error,
    function_ref<LogicalResult(llvm::Module &, std::string &)> prepare =
        nullptr);

/// CPU artifacts: routes the generated code's heap allocations (malloc/free
/// of the temporaries bufferization leaves in a call) through two pointers,
/// initialized to libc's malloc and free, and exports
///   void rwkv_set_allocator(void *(*alloc)(size_t), void (*release)(void *))
/// to replace them. The runtime installs a per-thread cache of freed blocks
/// there, so a prefill call does not map, fault in and unmap its large
/// temporaries every time. An artifact that is never told keeps using libc.
LogicalResult bindAllocator(llvm::Module &module, std::string &error);

/// Exports `table` (codegen/Manifest.h: shapeTable) from `module` as the
/// NUL-terminated constant `rwkv_shape_table`, which the runtime compares
/// with the manifest it is given.
void addShapeTable(llvm::Module &module, StringRef table);

/// Writes assembly (`assembly` = true) or an ELF object for `module`.
LogicalResult emitMachineCode(llvm::Module &module, llvm::TargetMachine &tm,
                              bool assembly, llvm::raw_pwrite_stream &os,
                              std::string &error);

/// Links `object` into the shared library `library` with the system C
/// compiler driver (cc), refusing undefined symbols outside libc/libm (and
/// libomp with `openmp`, found through an RPATH to LLVM's library folder).
LogicalResult linkSharedLibrary(StringRef object, StringRef library,
                                bool openmp, std::string &error);

/// Whether rwkvc can link OpenMP code: LLVM's libomp was found when rwkvc
/// was built and is still there.
bool openmpAvailable();

} // namespace rwkv
} // namespace mlir

#endif // RWKV_CODEGEN_LLVMEMITTER_H
