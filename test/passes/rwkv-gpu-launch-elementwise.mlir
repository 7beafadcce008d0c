// RUN: rwkv-opt %s -split-input-file -rwkv-gpu-launch-elementwise -cse -verify-diagnostics | FileCheck %s

// Tests that a fused pointwise generic with a broadcast input becomes one
// kernel with a thread per element (256 a block): the thread delinearizes
// its index, loads x at (b, t, c) and mu at (c), runs the body and stores
// into a fresh buffer.

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc = affine_map<(d0, d1, d2) -> (d2)>

// CHECK-LABEL: func.func @fused
// CHECK-SAME: (%[[X:.+]]: tensor<?x1x64xf32>, %[[MU:.+]]: tensor<64xf32>)
// CHECK-DAG: %[[XB:.+]] = bufferization.to_buffer %[[X]] read_only
// CHECK-DAG: %[[MB:.+]] = bufferization.to_buffer %[[MU]] read_only
// CHECK-DAG: %[[OUT:.+]] = memref.alloc(%{{[^ ]+}}) : memref<?x1x64xf32>
// CHECK: gpu.launch {{.+}} threads({{[^)]+}}) in (%{{[^ ]+}} = %c256, {{.+}} module(@rwkv_kernels) function(@fused_elementwise)
// CHECK:   scf.if
// CHECK:     %[[C:.+]] = arith.remui %{{[^ ]+}}, %c64
// CHECK:     %[[XV:.+]] = memref.load %[[XB]][%{{[^ ]+}}, %{{[^ ]+}}, %[[C]]]
// CHECK:     %[[MV:.+]] = memref.load %[[MB]][%[[C]]]
// CHECK:     %[[P:.+]] = arith.mulf %[[XV]], %[[MV]]
// CHECK:     %[[E:.+]] = math.exp %[[P]]
// CHECK:     memref.store %[[E]], %[[OUT]]
// CHECK: %[[R:.+]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[R]]
func.func @fused(%x: tensor<?x1x64xf32>, %mu: tensor<64xf32>) -> tensor<?x1x64xf32> {
  %c0 = arith.constant 0 : index
  %d = tensor.dim %x, %c0 : tensor<?x1x64xf32>
  %e = tensor.empty(%d) : tensor<?x1x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #bc, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mu : tensor<?x1x64xf32>, tensor<64xf32>) outs(%e : tensor<?x1x64xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %p = arith.mulf %a, %m : f32
    %q = math.exp %p : f32
    linalg.yield %q : f32
  } -> tensor<?x1x64xf32>
  return %y : tensor<?x1x64xf32>
}

// -----

// Tests a generalized fill: the scalar input is used as is.

// CHECK-LABEL: func.func @fill
// CHECK: gpu.launch
// CHECK:   memref.store %{{[^ ]+}}, %{{[^ ]+}}[%{{[^ ]+}}] : memref<16xf32>
#m1 = affine_map<(d0) -> ()>
#m2 = affine_map<(d0) -> (d0)>
func.func @fill(%v: f32) -> tensor<16xf32> {
  %e = tensor.empty() : tensor<16xf32>
  %y = linalg.generic {indexing_maps = [#m1, #m2], iterator_types = ["parallel"]} ins(%v : f32) outs(%e : tensor<16xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<16xf32>
  return %y : tensor<16xf32>
}

// -----

// Tests that a generic with a reduction is not a pointwise kernel: it stays,
// with a remark.

#r0 = affine_map<(d0, d1) -> (d0, d1)>
#r1 = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @reduction
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
func.func @reduction(%x: tensor<4x8xf32>, %init: tensor<4xf32>) -> tensor<4xf32> {
  // expected-remark @+1 {{not turned into a GPU kernel: it has reduction iterators}}
  %y = linalg.generic {indexing_maps = [#r0, #r1], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}
