//===- Pipelines.cpp - the rwkv lowering pipelines ------------------------===//

#include "passes/Pipelines.h"
#include "passes/Registration.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::rwkv;

namespace {

/// Appends a textual pipeline to `pm`; the strings below are fixed, so a
/// parse error is a bug in this file.
void append(OpPassManager &pm, StringRef text) {
  registerCompilerPasses();
  std::string error;
  llvm::raw_string_ostream os(error);
  if (failed(parsePassPipeline(text, pm, os)))
    llvm::report_fatal_error(llvm::Twine("rwkv: invalid built-in pipeline: ") +
                             os.str());
}

} // namespace

void mlir::rwkv::buildFusionPipeline(OpPassManager &pm) {
  append(pm, "func.func(rwkv-fuse-channel-mix, rwkv-fuse-lora, "
             "rwkv-fuse-wkv-output, rwkv-fuse-token-shift)");
}

void mlir::rwkv::buildCpuTensorPipeline(OpPassManager &pm,
                                        const CpuPipelineOptions &options) {
  buildFusionPipeline(pm);
  // Tiling at the rwkv level: token chunks by default (7-9% faster prefill
  // for 2048-token calls, neutral at 512: docs/PERFORMANCE.md), heads and
  // rows on request.
  if (options.sequenceChunk > 0)
    append(pm, llvm::formatv("func.func(rwkv-tile-sequence{{chunk-size={0}})",
                             options.sequenceChunk.getValue())
                   .str());
  if (options.headTile > 0)
    append(pm, llvm::formatv("func.func(rwkv-tile-heads{{heads-per-tile={0}})",
                             options.headTile.getValue())
                   .str());
  if (options.rowTile > 0)
    append(pm, llvm::formatv("func.func(rwkv-tile-rows{{rows-per-tile={0}})",
                             options.rowTile.getValue())
                   .str());
  append(pm,
         llvm::formatv(
             "func.func(convert-rwkv-to-linalg{{vector-width={0} "
             "linear-rows={1} linear-tokens={2} linear-chunk={3} "
             "wkv5-chunk={4} wkv7-chunk={5}}, "
             "convert-elementwise-to-linalg, "
             "linalg-generalize-named-ops, linalg-fuse-elementwise-ops, "
             "canonicalize, cse, rwkv-tile-and-vectorize{{vector-width={0}}, "
             "canonicalize, cse)",
             options.vectorWidth.getValue(), options.linearRows.getValue(),
             options.linearTokens.getValue(), options.linearChunk.getValue(),
             options.wkv5Chunk.getValue(), options.wkv7Chunk.getValue())
             .str());
}

void mlir::rwkv::buildCpuLLVMPipeline(OpPassManager &pm,
                                      const CpuPipelineOptions &options) {
  // Loops may yield new allocations: rwkv-tile-sequence carries states
  // (the token-shift row is a slice of its chunk, not the carried buffer).
  append(pm, "rwkv-prepare-abi, "
             "one-shot-bufferize{bufferize-function-boundaries "
             "function-boundary-type-conversion=identity-layout-map "
             "allow-return-allocs-from-loops}, "
             "buffer-results-to-out-params{hoist-static-allocs "
             "modify-public-functions}, "
             "buffer-deallocation-pipeline, convert-bufferization-to-memref, "
             "canonicalize, cse");
  // Worksharing loops; the thread count is the OpenMP runtime's (the rwkv
  // runtime sets it per call), not compiled in.
  if (options.openmp)
    append(pm, "func.func(rwkv-parallelize-loops), convert-scf-to-openmp, "
               "canonicalize");
  append(pm,
         "func.func(rwkv-expand-memref-copy, convert-linalg-to-loops, "
         "rwkv-lower-vector, "
         "convert-vector-to-scf{full-unroll}, rwkv-lower-vector), "
         "expand-strided-metadata, lower-affine, convert-scf-to-cf, "
         "rwkv-approximate-math, canonicalize, cse, "
         "convert-vector-to-llvm, convert-math-to-llvm, convert-math-to-libm, "
         "finalize-memref-to-llvm, convert-arith-to-llvm, "
         "convert-index-to-llvm, convert-func-to-llvm, convert-cf-to-llvm, "
         "convert-ub-to-llvm");
  if (options.openmp)
    append(pm, "convert-openmp-to-llvm");
  append(pm, "reconcile-unrealized-casts");
}

void mlir::rwkv::buildCpuPipeline(OpPassManager &pm,
                                  const CpuPipelineOptions &options) {
  buildCpuTensorPipeline(pm, options);
  buildCpuLLVMPipeline(pm, options);
}

void mlir::rwkv::buildGpuKernelPipeline(OpPassManager &pm,
                                        const GpuPipelineOptions &options) {
  buildFusionPipeline(pm);
  append(pm,
         llvm::formatv(
             "func.func(convert-rwkv-to-gpu{{linear-rows={0} "
             "linear-tokens={1}}, convert-elementwise-to-linalg, "
             "linalg-generalize-named-ops, linalg-fuse-elementwise-ops, "
             "canonicalize, cse, rwkv-gpu-launch-elementwise, canonicalize, "
             "cse), "
             "rwkv-prepare-abi, "
             "one-shot-bufferize{{bufferize-function-boundaries "
             "function-boundary-type-conversion=identity-layout-map}, "
             "buffer-results-to-out-params{{modify-public-functions}, "
             "convert-bufferization-to-memref, canonicalize, cse, "
             "func.func(rwkv-gpu-prepare-host), "
             "canonicalize, cse, gpu-launch-sink-index-computations, "
             "gpu-kernel-outlining, "
             "func.func(gpu-async-region)",
             options.linearRows.getValue(), options.linearTokens.getValue())
             .str());
}

void mlir::rwkv::buildGpuNvvmPipeline(OpPassManager &pm,
                                      const GpuPipelineOptions &options) {
  std::string text;
  for (const std::string &chip : options.chips)
    text += llvm::formatv("nvvm-attach-target{{module=rwkv_kernels chip={0} "
                          "features={1} O=3}, ",
                          chip, options.features.getValue())
                .str();
  text += "gpu.module(lower-affine, convert-scf-to-cf, convert-gpu-to-nvvm, "
          "llvm-optimize-for-nvvm-target, canonicalize, cse, "
          "reconcile-unrealized-casts)";
  append(pm, text);
}

void mlir::rwkv::buildGpuHostPipeline(OpPassManager &pm,
                                      const GpuPipelineOptions &options) {
  append(pm, llvm::formatv(
                 "expand-strided-metadata, lower-affine, convert-scf-to-cf, "
                 "convert-func-to-llvm, gpu-to-llvm, "
                 "gpu-module-to-binary{{format=isa toolkit={0}}, "
                 "convert-math-to-llvm, canonicalize, cse, "
                 "reconcile-unrealized-casts",
                 options.cudaPath.getValue())
                 .str());
}

void mlir::rwkv::buildGpuPipeline(OpPassManager &pm,
                                  const GpuPipelineOptions &options) {
  buildGpuKernelPipeline(pm, options);
  buildGpuNvvmPipeline(pm, options);
  buildGpuHostPipeline(pm, options);
}

void mlir::rwkv::registerPipelines() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "rwkv-cpu-pipeline",
      "Lower rwkv IR to the LLVM dialect for x86-64 (both stages)",
      buildCpuPipeline);
  PassPipelineRegistration<>(
      "rwkv-fusion-pipeline",
      "Stage 0: fuse LoRA, channel-mix, WKV-output and token-shift chains",
      buildFusionPipeline);
  PassPipelineRegistration<CpuPipelineOptions>(
      "rwkv-cpu-tensor-pipeline",
      "Stage 1: rwkv IR to fused, vectorized linalg/vector on tensors",
      buildCpuTensorPipeline);
  PassPipelineRegistration<CpuPipelineOptions>(
      "rwkv-cpu-llvm-pipeline",
      "Stage 2: vectorized tensor IR to the LLVM dialect",
      buildCpuLLVMPipeline);
  PassPipelineRegistration<GpuPipelineOptions>(
      "rwkv-gpu-pipeline",
      "Lower rwkv IR to host LLVM dialect and PTX for NVIDIA GPUs (all stages)",
      buildGpuPipeline);
  PassPipelineRegistration<GpuPipelineOptions>(
      "rwkv-gpu-kernel-pipeline",
      "GPU stage 1: rwkv IR to host code and kernels in gpu.module",
      buildGpuKernelPipeline);
  PassPipelineRegistration<GpuPipelineOptions>(
      "rwkv-gpu-nvvm-pipeline",
      "GPU stage 2: attach NVVM targets and lower the kernels to NVVM",
      buildGpuNvvmPipeline);
  PassPipelineRegistration<GpuPipelineOptions>(
      "rwkv-gpu-host-pipeline",
      "GPU stage 3: host code to the LLVM dialect, kernels to PTX",
      buildGpuHostPipeline);
}
