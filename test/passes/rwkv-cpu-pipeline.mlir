// RUN: rwkv-opt %s --rwkv-cpu-pipeline="vector-width=16" | FileCheck %s
// RUN: rwkv-opt %s --rwkv-cpu-tensor-pipeline --dump-pass-pipeline 2>&1 >/dev/null | FileCheck %s --check-prefix=PIPE

// Tests that the whole CPU pipeline lowers rwkv ops to the LLVM dialect with
// results turned into caller-owned out-parameters, and that the pipeline can
// be printed for replay with --pass-pipeline.

// CHECK-LABEL: llvm.func @time_mix_piece
// CHECK-NOT: rwkv.
// CHECK-NOT: memref.
// CHECK: llvm.intr.fmuladd{{.*}}vector<16xf32>
// CHECK: llvm.return
// PIPE: convert-rwkv-to-linalg{linear-chunk=64 linear-rows=4 linear-tokens=4 vector-width=16 wkv5-chunk=0 wkv7-chunk=0}
// PIPE: rwkv-tile-and-vectorize{max-vector-size=4096 vector-width=16}
func.func @time_mix_piece(%x: tensor<?x1x64xf32>, %prev: tensor<?x64xf32>, %mu: tensor<64xf32>,
                          %w: tensor<64x64xf32>) -> (tensor<?x1x64xf32>, tensor<?x64xf32>) {
  %sx, %last = rwkv.token_shift %x, %prev : tensor<?x1x64xf32>, tensor<?x64xf32>
  %xr = rwkv.lerp %x, %sx, %mu : tensor<?x1x64xf32>, tensor<64xf32>
  %r = rwkv.linear %xr, %w : tensor<?x1x64xf32>, tensor<64x64xf32> -> tensor<?x1x64xf32>
  return %r, %last : tensor<?x1x64xf32>, tensor<?x64xf32>
}
