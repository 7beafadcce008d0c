// RUN: rwkv-opt %s -split-input-file -rwkv-tile-and-vectorize="vector-width=8" -verify-diagnostics | FileCheck %s

// Tests that an elementwise op over [B, T, 64] is tiled by 1 on B and T and
// by 4 vector registers (32 lanes) on channels, then vectorized.

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#ch = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.for
// CHECK:   scf.for
// CHECK:     scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C32:.+]] iter_args
// CHECK:       vector.transfer_read {{.+}} : tensor<1x1x32xf32>, vector<1x1x32xf32>
// CHECK:       arith.mulf {{.+}} : vector<1x1x32xf32>
// CHECK:       vector.transfer_write
// CHECK-NOT: linalg.generic
func.func @elementwise(%x: tensor<?x2x64xf32>, %w: tensor<64xf32>) -> tensor<?x2x64xf32> {
  %c0 = arith.constant 0 : index
  %b = tensor.dim %x, %c0 : tensor<?x2x64xf32>
  %e = tensor.empty(%b) : tensor<?x2x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #ch, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %w : tensor<?x2x64xf32>, tensor<64xf32>) outs(%e : tensor<?x2x64xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %m = arith.mulf %a, %s : f32
    linalg.yield %m : f32
  } -> tensor<?x2x64xf32>
  return %y : tensor<?x2x64xf32>
}

// -----

// Tests that a reduction over the innermost dimension keeps it whole and
// becomes a vector.multi_reduction.

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @row_sum
// CHECK: vector.multi_reduction <add>, %{{.+}}, %{{.+}} [2] : vector<1x1x96xf32> to vector<1x1xf32>
func.func @row_sum(%x: tensor<?x1x96xf32>, %init: tensor<?x1xf32>) -> tensor<?x1xf32> {
  %y = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<?x1x96xf32>) outs(%init : tensor<?x1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<?x1xf32>
  return %y : tensor<?x1xf32>
}

// -----

// Tests that an elementwise op with a dynamic innermost extent (the [B, T]
// statistics of the parallel form) is tiled by 1 and still vectorized.

#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @dynamic_inner
// CHECK: scf.for
// CHECK:   scf.for
// CHECK:     vector.transfer_read {{.+}} : tensor<1x1xf32>, vector<1x1xf32>
// CHECK-NOT: linalg.generic
func.func @dynamic_inner(%x: tensor<4x?xf32>) -> tensor<4x?xf32> {
  %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x?xf32>) outs(%x : tensor<4x?xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  } -> tensor<4x?xf32>
  return %y : tensor<4x?xf32>
}

// -----

// Tests that a reduction over a dynamic innermost extent is not vectorized
// and says why in a remark (must-not-fire case).

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @dynamic_reduction
// CHECK: linalg.generic
// CHECK-NOT: vector.transfer_read
func.func @dynamic_reduction(%x: tensor<4x?xf32>, %init: tensor<4xf32>) -> tensor<4xf32> {
  // expected-remark @+1 {{not vectorized: its innermost loop is a reduction of dynamic extent}}
  %y = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x?xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}
