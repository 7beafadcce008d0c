// RUN: rwkv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(rwkv-tile-heads{heads-per-tile=2}, cse))' -verify-diagnostics | FileCheck %s

// Tests that a wkv7 over 4 heads of 16 becomes a parallel loop over 2 tiles
// of 2 heads: each tile slices its 32 channels of r..b and its 2 heads of
// the state, runs wkv7 on them and inserts its output channels and state.

// CHECK-LABEL: func.func @wkv7
// CHECK-SAME: (%[[R:[^:]+]]: tensor<?x?x64xf32>, %[[S:[^:]+]]: tensor<?x4x16x16xf32>)
// CHECK: %[[C2:.+]] = arith.constant 2 : index
// CHECK: %[[LOOP:.+]]:2 = scf.for %[[G:.+]] = %{{.+}} to %[[C2]] step %{{.+}} iter_args(%[[Y:.+]] = %{{.+}}, %[[ST:.+]] = %{{.+}}) -> (tensor<?x?x64xf32>, tensor<?x4x16x16xf32>)
// CHECK:   %[[C32:.+]] = arith.constant 32 : index
// CHECK:   %[[CH:.+]] = arith.muli %[[G]], %[[C32]]
// CHECK:   %[[RT:.+]] = tensor.extract_slice %[[R]][0, 0, %[[CH]]] [%{{.+}}, %{{.+}}, 32] [1, 1, 1] : tensor<?x?x64xf32> to tensor<?x?x32xf32>
// CHECK:   %[[HD:.+]] = arith.muli %[[G]], %[[C2]]
// CHECK:   %[[STT:.+]] = tensor.extract_slice %[[S]][0, %[[HD]], 0, 0] [%{{.+}}, 2, 16, 16] [1, 1, 1, 1] : tensor<?x4x16x16xf32> to tensor<?x2x16x16xf32>
// CHECK:   %[[YT:.+]], %[[NS:.+]] = rwkv.wkv7 %[[RT]], %[[RT]], %[[RT]], %[[RT]], %[[RT]], %[[RT]], %[[STT]] : tensor<?x?x32xf32>, tensor<?x2x16x16xf32>
// CHECK:   %[[Y1:.+]] = tensor.insert_slice %[[YT]] into %[[Y]][0, 0, %[[CH]]]
// CHECK:   %[[S1:.+]] = tensor.insert_slice %[[NS]] into %[[ST]][0, %[[HD]], 0, 0]
// CHECK:   scf.yield %[[Y1]], %[[S1]]
// CHECK: } {rwkv.parallel}
// CHECK: return %[[LOOP]]#0, %[[LOOP]]#1
func.func @wkv7(%r: tensor<?x?x64xf32>, %s: tensor<?x4x16x16xf32>) -> (tensor<?x?x64xf32>, tensor<?x4x16x16xf32>) {
  %y, %s1 = rwkv.wkv7 %r, %r, %r, %r, %r, %r, %s : tensor<?x?x64xf32>, tensor<?x4x16x16xf32>
  return %y, %s1 : tensor<?x?x64xf32>, tensor<?x4x16x16xf32>
}

// -----

// Tests that wkv7_fused tiles its per-channel norm parameters, its [H, N]
// r_k and its gate with the heads.

// CHECK-LABEL: func.func @wkv7_fused
// CHECK-SAME: (%[[R:[^:]+]]: tensor<?x1x64xf32>, %[[S:[^:]+]]: tensor<?x4x16x16xf32>, %[[LW:[^:]+]]: tensor<64xf32>, %[[LB:[^:]+]]: tensor<64xf32>, %[[RK:[^:]+]]: tensor<4x16xf32>, %[[G:[^:]+]]: tensor<?x1x64xf32>)
// CHECK: scf.for %[[T:[^ ]+]] =
// CHECK-DAG:   %[[RT:.+]] = tensor.extract_slice %[[R]][0, 0, %[[CH:.+]]] [%{{.+}}, 1, 32] [1, 1, 1]
// CHECK-DAG:   %[[ST:.+]] = tensor.extract_slice %[[S]][0, %[[HD:.+]], 0, 0] [%{{.+}}, 2, 16, 16]
// CHECK-DAG:   %[[LWT:.+]] = tensor.extract_slice %[[LW]][%[[CH]]] [32] [1] : tensor<64xf32> to tensor<32xf32>
// CHECK-DAG:   %[[LBT:.+]] = tensor.extract_slice %[[LB]][%[[CH]]] [32] [1] : tensor<64xf32> to tensor<32xf32>
// CHECK-DAG:   %[[RKT:.+]] = tensor.extract_slice %[[RK]][%[[HD]], 0] [2, 16] [1, 1] : tensor<4x16xf32> to tensor<2x16xf32>
// CHECK-DAG:   %[[GT:.+]] = tensor.extract_slice %[[G]][0, 0, %[[CH]]] [%{{.+}}, 1, 32] [1, 1, 1]
// CHECK:   rwkv.wkv7_fused %[[RT]], %[[RT]], %[[RT]], %[[RT]], %[[RT]], %[[RT]], %[[ST]] norm(%[[LWT]], %[[LBT]]) bonus(%[[RKT]]) gate(%[[GT]] : tensor<?x1x32xf32>) {eps = 6.400000e-04 : f32} : tensor<?x1x32xf32>, tensor<?x2x16x16xf32>, tensor<32xf32>, tensor<2x16xf32>
func.func @wkv7_fused(%r: tensor<?x1x64xf32>, %s: tensor<?x4x16x16xf32>, %lw: tensor<64xf32>, %lb: tensor<64xf32>, %rk: tensor<4x16xf32>, %g: tensor<?x1x64xf32>) -> (tensor<?x1x64xf32>, tensor<?x4x16x16xf32>) {
  %o, %s1 = rwkv.wkv7_fused %r, %r, %r, %r, %r, %r, %s norm(%lw, %lb) bonus(%rk) gate(%g : tensor<?x1x64xf32>) {eps = 6.4e-04 : f32} : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>, tensor<64xf32>, tensor<4x16xf32>
  return %o, %s1 : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>
}

// -----

// Tests that a head count that is not a multiple of the tile is left alone
// with a remark, and that an op with no more heads than a tile is left
// alone silently.

// CHECK-LABEL: func.func @not_a_multiple
// CHECK-NOT: scf.for
func.func @not_a_multiple(%r: tensor<?x1x48xf32>, %s: tensor<?x3x16x16xf32>, %r1: tensor<?x1x32xf32>, %s1: tensor<?x2x16x16xf32>) -> (tensor<?x1x48xf32>, tensor<?x1x32xf32>) {
  // expected-remark @below {{heads not tiled: 3 heads are not a multiple of 2}}
  %y, %n = rwkv.wkv7 %r, %r, %r, %r, %r, %r, %s : tensor<?x1x48xf32>, tensor<?x3x16x16xf32>
  %y1, %n1 = rwkv.wkv7 %r1, %r1, %r1, %r1, %r1, %r1, %s1 : tensor<?x1x32xf32>, tensor<?x2x16x16xf32>
  return %y, %y1 : tensor<?x1x48xf32>, tensor<?x1x32xf32>
}
