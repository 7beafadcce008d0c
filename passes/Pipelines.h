//===- Pipelines.h - the rwkv lowering pipelines ----------------*- C++ -*-===//
//
// The pass pipelines every tool shares (rwkvc, rwkv-opt, tests). The CPU
// pipeline has two stages, which are also rwkvc's --emit stopping points:
//
//  1. rwkv -> "linalg" (buildCpuTensorPipeline), on tensors:
//       rwkv-fuse-channel-mix         relu² chains -> rwkv.channel_mix
//       rwkv-fuse-lora                low-rank chains -> rwkv.lora
//       rwkv-fuse-wkv-output          wkv7 + group norm + bonus + gate
//       rwkv-fuse-token-shift         token shift + lerp into projections
//       rwkv-tile-sequence            parallel-form blocks in token chunks
//       rwkv-tile-heads, rwkv-tile-rows  WKV head / projection row tiles
//       convert-rwkv-to-linalg        rwkv ops -> linalg.generic / scf+vector
//       convert-elementwise-to-linalg arith/math on tensors -> linalg.generic
//       linalg-generalize-named-ops   broadcasts and fills -> linalg.generic
//       linalg-fuse-elementwise-ops   fuse producer/consumer elementwise chains
//       rwkv-tile-and-vectorize       tile by target vector width, vectorize
//  2. "linalg" -> "llvm" (buildCpuLLVMPipeline):
//       rwkv-prepare-abi              inputs read-only, C interfaces
//       one-shot-bufferize (function boundaries, identity layouts)
//       buffer-results-to-out-params  results become caller-owned out args
//       buffer-deallocation-pipeline  frees every temporary
//       rwkv-parallelize-loops, convert-scf-to-openmp (with openmp=true)
//       rwkv-lower-vector, convert-vector-to-scf
//       rwkv-approximate-math         vector exp/tanh without libm
//       convert-*-to-llvm             LLVM dialect
//
// The NVIDIA GPU pipeline has three stages (rwkvc --emit=gpu|nvvm|llvm):
//
//  1. rwkv -> "gpu" (buildGpuKernelPipeline): kernels and host code
//       convert-rwkv-to-gpu           rwkv ops -> gpu.launch on device buffers
//       convert-elementwise-to-linalg, linalg-generalize-named-ops,
//       linalg-fuse-elementwise-ops   fuse the pointwise glue
//       rwkv-gpu-launch-elementwise   fused generics -> gpu.launch
//       rwkv-prepare-abi, one-shot-bufferize, buffer-results-to-out-params
//       rwkv-gpu-prepare-host         device allocations, frees and copies
//       gpu-kernel-outlining          kernels -> gpu.module @rwkv_kernels
//       gpu-async-region              one stream per call, no host syncs
//  2. "gpu" -> "nvvm" (buildGpuNvvmPipeline): nvvm-attach-target per chip,
//       then gpu.module(convert-gpu-to-nvvm, ...)
//  3. -> "llvm" (buildGpuHostPipeline): host code to the LLVM dialect with
//       gpu-to-llvm (mgpu* runtime calls), kernels to PTX per chip with
//       gpu-module-to-binary{format=isa} (libdevice from the CUDA toolkit).
//
// `rwkv-opt --rwkv-cpu-pipeline` runs both; `--dump-pass-pipeline` prints the
// exact textual pipeline, so any stage can be replayed with --pass-pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_PASSES_PIPELINES_H
#define RWKV_PASSES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
namespace rwkv {

struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes per vector register: 16 for AVX-512, 8 for "
                     "AVX2"),
      llvm::cl::init(16)};
  Option<int64_t> linearRows{
      *this, "linear-rows",
      llvm::cl::desc("output rows per register block of linear kernels"),
      llvm::cl::init(4)};
  Option<int64_t> linearTokens{
      *this, "linear-tokens",
      llvm::cl::desc("tokens per register block of linear kernels"),
      llvm::cl::init(4)};
  Option<int64_t> linearChunk{
      *this, "linear-chunk",
      llvm::cl::desc("tokens per cache block of linear kernels"),
      llvm::cl::init(64)};
  Option<int64_t> sequenceChunk{
      *this, "sequence-chunk",
      llvm::cl::desc("tokens per chunk of rwkv-tile-sequence in parallel-form "
                     "block functions (0: no sequence tiling)"),
      llvm::cl::init(64)};
  Option<int64_t> wkv5Chunk{
      *this, "wkv5-chunk",
      llvm::cl::desc("tokens per chunk of the wkv5 (RWKV-5/6) chunk form in "
                     "calls of several tokens (0: per-token scan, the "
                     "default: docs/PERFORMANCE.md)"),
      llvm::cl::init(0)};
  Option<int64_t> wkv7Chunk{
      *this, "wkv7-chunk",
      llvm::cl::desc("tokens per chunk of the wkv7 (RWKV-7) DPLR chunk form "
                     "in calls of several tokens (0: per-token scan, the "
                     "default: docs/PERFORMANCE.md)"),
      llvm::cl::init(0)};
  Option<int64_t> headTile{
      *this, "head-tile",
      llvm::cl::desc("heads per tile of rwkv-tile-heads (0: no head tiling)"),
      llvm::cl::init(0)};
  Option<int64_t> rowTile{
      *this, "row-tile",
      llvm::cl::desc("output rows per tile of rwkv-tile-rows (0: no row "
                     "tiling)"),
      llvm::cl::init(0)};
  Option<bool> openmp{
      *this, "openmp",
      llvm::cl::desc("run the loops marked rwkv.parallel on OpenMP threads "
                     "(the library then links libomp)"),
      llvm::cl::init(false)};
};

/// Stage 0 (also the start of stage 1): fusion of primitive chains into
/// rwkv.channel_mix and rwkv.lora, staying in the rwkv dialect.
void buildFusionPipeline(OpPassManager &pm);

struct GpuPipelineOptions : public PassPipelineOptions<GpuPipelineOptions> {
  ListOption<std::string> chips{
      *this, "chips",
      llvm::cl::desc("NVIDIA chips to generate code for (sm_80, sm_90, ...)")};
  Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features (the PTX ISA version) of every chip"),
      llvm::cl::init("+ptx80")};
  Option<std::string> cudaPath{
      *this, "cuda-path",
      llvm::cl::desc("CUDA toolkit root: libdevice for math functions"),
      llvm::cl::init("/usr/local/cuda")};
  Option<int64_t> linearRows{
      *this, "linear-rows",
      llvm::cl::desc("outputs per warp of the tiled projection kernel"),
      llvm::cl::init(4)};
  Option<int64_t> linearTokens{
      *this, "linear-tokens",
      llvm::cl::desc("tokens per warp of the tiled projection kernel"),
      llvm::cl::init(8)};
};

/// Stage 1: rwkv dialect -> vectorized linalg/scf/vector on tensors.
void buildCpuTensorPipeline(OpPassManager &pm,
                            const CpuPipelineOptions &options);

/// Stage 2: tensors -> bufferized -> LLVM dialect.
void buildCpuLLVMPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Both stages.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// GPU stage 1: rwkv dialect -> host code with gpu.launch_func and the
/// kernels in gpu.module @rwkv_kernels (all on buffers).
void buildGpuKernelPipeline(OpPassManager &pm,
                            const GpuPipelineOptions &options);

/// GPU stage 2: attach an NVVM target per chip, kernels -> NVVM dialect.
void buildGpuNvvmPipeline(OpPassManager &pm, const GpuPipelineOptions &options);

/// GPU stage 3: host code -> LLVM dialect, kernels -> PTX (gpu.binary).
void buildGpuHostPipeline(OpPassManager &pm, const GpuPipelineOptions &options);

/// All three GPU stages.
void buildGpuPipeline(OpPassManager &pm, const GpuPipelineOptions &options);

/// Registers rwkv-cpu-pipeline, rwkv-cpu-tensor-pipeline and
/// rwkv-cpu-llvm-pipeline, rwkv-gpu-pipeline, rwkv-gpu-kernel-pipeline,
/// rwkv-gpu-nvvm-pipeline and rwkv-gpu-host-pipeline as pass-pipeline flags.
void registerPipelines();

} // namespace rwkv
} // namespace mlir

#endif // RWKV_PASSES_PIPELINES_H
