// RUN: rwkv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(rwkv-tile-rows{rows-per-tile=16}, cse))' -verify-diagnostics | FileCheck %s

// Tests that a projection with 48 output rows becomes a parallel loop over
// 3 tiles of 16 rows of W, each inserting its 16 columns of the result.

// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x?x64xf32>, %[[W:[^:]+]]: tensor<48x64xf32>)
// CHECK: %[[C3:.+]] = arith.constant 3 : index
// CHECK: %[[LOOP:.+]] = scf.for %[[G:.+]] = %{{.+}} to %[[C3]] step %{{.+}} iter_args(%[[Y:.+]] = %{{.+}}) -> (tensor<?x?x48xf32>)
// CHECK:   %[[C16:.+]] = arith.constant 16 : index
// CHECK:   %[[ROW:.+]] = arith.muli %[[G]], %[[C16]]
// CHECK:   %[[WT:.+]] = tensor.extract_slice %[[W]][%[[ROW]], 0] [16, 64] [1, 1] : tensor<48x64xf32> to tensor<16x64xf32>
// CHECK:   %[[YT:.+]] = rwkv.linear %[[X]], %[[WT]] : tensor<?x?x64xf32>, tensor<16x64xf32> -> tensor<?x?x16xf32>
// CHECK:   %[[Y1:.+]] = tensor.insert_slice %[[YT]] into %[[Y]][0, 0, %[[ROW]]] [%{{.+}}, %{{.+}}, 16] [1, 1, 1]
// CHECK:   scf.yield %[[Y1]]
// CHECK: } {rwkv.parallel}
// CHECK: return %[[LOOP]]
func.func @linear(%x: tensor<?x?x64xf32>, %w: tensor<48x64xf32>) -> tensor<?x?x48xf32> {
  %y = rwkv.linear %x, %w : tensor<?x?x64xf32>, tensor<48x64xf32> -> tensor<?x?x48xf32>
  return %y : tensor<?x?x48xf32>
}

// -----

// Tests that shift_lerp_linear tiles its weight only (the mix is per input
// channel), and that a row count that is not a multiple is left alone with
// a remark.

// CHECK-LABEL: func.func @mixed
// CHECK: scf.for
// CHECK:   rwkv.shift_lerp_linear previous %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<?x1x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<16x64xf32> -> tensor<?x1x16xf32>
// CHECK: rwkv.linear %{{.+}}, %{{.+}} : tensor<?x1x64xf32>, tensor<40x64xf32>
func.func @mixed(%x: tensor<?x1x64xf32>, %prev: tensor<?x64xf32>, %mu: tensor<64xf32>, %w: tensor<32x64xf32>, %w2: tensor<40x64xf32>) -> (tensor<?x1x32xf32>, tensor<?x1x40xf32>) {
  %y = rwkv.shift_lerp_linear previous %x, %prev, %mu, %w : tensor<?x1x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<32x64xf32> -> tensor<?x1x32xf32>
  // expected-remark @below {{rows not tiled: 40 output rows are not a multiple of 16}}
  %y2 = rwkv.linear %x, %w2 : tensor<?x1x64xf32>, tensor<40x64xf32> -> tensor<?x1x40xf32>
  return %y, %y2 : tensor<?x1x32xf32>, tensor<?x1x40xf32>
}
