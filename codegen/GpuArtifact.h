//===- GpuArtifact.h - NVIDIA GPU artifacts ---------------------*- C++ -*-===//
//
// What rwkvc --target=sm_XX[,sm_YY...] adds to the CPU flow:
//
//  * target resolution: chips, and the CUDA toolkit (libdevice for the math
//    functions, ptxas for cubins, fatbinary to bundle them);
//  * after the GPU pipeline, the PTX of every chip (from the gpu.binary that
//    gpu-module-to-binary{format=isa} produced) is assembled with ptxas into
//    one cubin per chip and bundled with fatbinary (cubins + the PTX of the
//    newest chip, which the driver can JIT for later GPUs); the fat binary
//    replaces the gpu.binary's objects, so it is embedded in model.so;
//  * the host code calls mgpu* functions (MLIR's GPU runtime ABI; see
//    runtime/src/Cuda.cpp). The artifact does not link them: every mgpu*
//    declaration becomes a call through a function pointer that the runtime
//    fills with `int rwkv_gpu_bind(void *(*resolve)(const char *))`, and the
//    module load/unload constructors become `rwkv_gpu_load()` /
//    `rwkv_gpu_unload()`, called by the runtime once the CUDA context exists
//    (a constructor would run at dlopen, before it);
//  * the manifest's `device` section: chips, image files, and per kernel the
//    block size, shared memory and the registers/spills ptxas reported.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_CODEGEN_GPUARTIFACT_H
#define RWKV_CODEGEN_GPUARTIFACT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

#include <array>
#include <map>
#include <string>
#include <vector>

namespace llvm {
class Module;
} // namespace llvm

namespace mlir {
namespace rwkv {

/// --target=sm_80,sm_90 and the toolkit that serves it.
struct GpuTarget {
  std::string name;               ///< as given
  std::vector<std::string> chips; ///< sm_80, sm_90, ... (no duplicates)
  std::string cudaPath;           ///< CUDA toolkit root
  /// PTX ISA of the NVVM lowering: "+ptx80", or the version the newest
  /// chip needs (e.g. "+ptx86" for sm_100).
  std::string ptxFeatures = "+ptx80";
};

/// Every chip --target accepts: those the NVVM lowering compiles.
std::vector<std::string> supportedGpuChips();

/// True for --target values naming NVIDIA chips (sm_*).
bool isGpuTargetName(StringRef name);

/// Parses a comma-separated list of chips, each one of supportedGpuChips()
/// (anything else is an error listing them). `cudaPath` empty selects
/// $CUDA_HOME, $CUDA_PATH or /usr/local/cuda.
FailureOr<GpuTarget> resolveGpuTarget(StringRef name, StringRef cudaPath,
                                      std::string &error);

/// Checks that the toolkit has what a stage needs: libdevice (PTX) and
/// ptxas + fatbinary (cubins, artifacts). Names the missing file.
LogicalResult checkToolkit(const GpuTarget &target, bool needAssembler,
                           std::string &error);

struct GpuKernelInfo {
  std::string name;
  std::array<int64_t, 3> block{1, 1, 1};
  int64_t sharedBytes = 0;
  std::map<std::string, int64_t> registers, spillBytes; ///< per chip
};

/// The device code of an artifact.
struct GpuImages {
  std::vector<std::string> chips;
  std::map<std::string, std::string> ptx, cubin; ///< per chip
  std::string fatbin;
  std::vector<GpuKernelInfo> kernels;
  /// Entry point (function name) -> kernels it launches, in program order.
  std::map<std::string, std::vector<std::string>> entryKernels;
};

/// Reads the PTX of every chip from the module's gpu.binary and the kernel
/// launches of every host function.
LogicalResult collectPtx(ModuleOp module, GpuImages &images,
                         std::string &error);

/// Runs ptxas per chip (recording registers and spills of every kernel) and
/// fatbinary. Intermediate files go to a temporary directory.
LogicalResult assembleImages(const GpuTarget &target, GpuImages &images,
                             std::string &error);

/// Replaces the objects of the module's gpu.binary by the fat binary.
void embedFatbin(ModuleOp module, const GpuImages &images);

/// Routes the host module's mgpu* calls through runtime-bound pointers and
/// turns the module constructors/destructors into rwkv_gpu_load/unload (see
/// the file comment).
LogicalResult bindGpuRuntime(llvm::Module &module, std::string &error);

/// Test infrastructure: compiles the kernels of `stage1` (the module after
/// buildGpuKernelPipeline) for the host into the shared library `path`
/// (kernels.emu.so), run by the SIMT emulator of the test driver
/// test/unit/FakeCuda.cpp. Exports `void <kernel>(void **params)` per kernel
/// and `rwkv_emu_bind` for the emulator's thread-id, barrier and shuffle
/// functions.
LogicalResult emitGpuEmulation(ModuleOp stage1, StringRef path,
                               std::string &error);

/// The manifest's `device` section for the image files written next to
/// model.so (kernels.<chip>.ptx, kernels.<chip>.cubin, kernels.fatbin).
llvm::json::Object deviceManifest(const GpuTarget &target,
                                  const GpuImages &images);

/// Writes the PTX of every chip to `os`, each after a `// chip` line.
void printPtx(const GpuImages &images, llvm::raw_ostream &os);

/// Writes kernels.<chip>.{ptx,cubin} and kernels.fatbin into `dir`.
LogicalResult writeImages(StringRef dir, const GpuImages &images,
                          std::string &error);

} // namespace rwkv
} // namespace mlir

#endif // RWKV_CODEGEN_GPUARTIFACT_H
