//===- Pipelines.h - the rwkv lowering pipelines ----------------*- C++ -*-===//
//
// The pass pipelines every tool shares (rwkvc, rwkv-opt, tests). The CPU
// pipeline has two stages, which are also rwkvc's --emit stopping points:
//
//  1. rwkv -> "linalg" (buildCpuTensorPipeline), on tensors:
//       rwkv-fuse-channel-mix         relu² chains -> rwkv.channel_mix
//       rwkv-fuse-lora                low-rank chains -> rwkv.lora
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
  Option<bool> openmp{
      *this, "openmp",
      llvm::cl::desc("run the loops marked rwkv.parallel on OpenMP threads "
                     "(the library then links libomp)"),
      llvm::cl::init(false)};
};

/// Stage 0 (also the start of stage 1): fusion of primitive chains into
/// rwkv.channel_mix and rwkv.lora, staying in the rwkv dialect.
void buildFusionPipeline(OpPassManager &pm);

/// Stage 1: rwkv dialect -> vectorized linalg/scf/vector on tensors.
void buildCpuTensorPipeline(OpPassManager &pm,
                            const CpuPipelineOptions &options);

/// Stage 2: tensors -> bufferized -> LLVM dialect.
void buildCpuLLVMPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Both stages.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Registers rwkv-cpu-pipeline, rwkv-cpu-tensor-pipeline and
/// rwkv-cpu-llvm-pipeline as pass-pipeline flags.
void registerPipelines();

} // namespace rwkv
} // namespace mlir

#endif // RWKV_PASSES_PIPELINES_H
