// RUN: rwkv-opt %s -split-input-file -convert-rwkv-to-linalg="vector-width=8 wkv5-chunk=16 wkv7-chunk=16" -canonicalize | FileCheck %s
// RUN: rwkv-opt %s -split-input-file -convert-rwkv-to-linalg="vector-width=8" -canonicalize | FileCheck %s --check-prefix=SCAN
// RUN: not rwkv-opt %s -convert-rwkv-to-linalg="wkv5-chunk=-1" 2>&1 | FileCheck %s --check-prefix=BAD5
// RUN: not rwkv-opt %s -convert-rwkv-to-linalg="wkv7-chunk=-2" 2>&1 | FileCheck %s --check-prefix=BAD7

// BAD5: wkv5-chunk must be 0 (per-token scan) or positive, got -1
// BAD7: wkv7-chunk must be 0 (per-token scan) or positive, got -2

// Tests the wkv5 chunk form (rwkv-math §6.2) on a prompt of T tokens: chunks
// of 16 (the last one min(16, T - c)), then per chunk r ⊙ D and v staged
// with D the running product of w (D_len stored as row 16), k ⊙ B with B
// the running product of w from the chunk's end, the bonus on A's diagonal
// and r decayed back key by key below it, outputs in blocks of 4 tokens
// (old state, then A·v; rows past the chunk's end not written) and the state
// update in blocks of 4 keys.

// CHECK-LABEL: func.func @wkv5_prompt
// CHECK-SAME: (%[[R:[^:]+]]: tensor<?x?x32xf32>, %[[W:[^:]+]]: tensor<?x?x32xf32>, %[[K:[^:]+]]: tensor<?x?x32xf32>, %[[V:[^:]+]]: tensor<?x?x32xf32>, %[[U:[^:]+]]: tensor<32xf32>
// CHECK: scf.for
// CHECK: scf.for {{.+}} -> (tensor<?x?x32xf32>, tensor<?x4x8x8xf32>)
// CHECK: linalg.transpose
// CHECK: %[[UH:.+]] = vector.transfer_read %[[U]]
// CHECK: scf.for %[[C:.+]] = %{{.+}} to %[[T:.+]] step %c16
// CHECK:   %[[REST:.+]] = arith.subi %[[T]], %[[C]]
// CHECK:   %[[LEN:.+]] = arith.minsi %[[REST]], %c16
// CHECK:   %[[FWD:.+]]:3 = scf.for %[[T1:.+]] = %c0 to %[[LEN]]
// CHECK:     %[[RT:.+]] = vector.transfer_read %[[R]]
// CHECK:     %[[RD:.+]] = arith.mulf %[[RT]], %{{.+}} : vector<8xf32>
// CHECK:     vector.transfer_write %[[RD]], %{{.+}}[%[[T1]], %c0]
// CHECK:     vector.transfer_read %[[V]]
// CHECK:     %[[WT:.+]] = vector.transfer_read %[[W]]
// CHECK:     arith.mulf %{{.+}}, %[[WT]]
// CHECK:   %[[RDL:.+]] = vector.transfer_write %[[FWD]]#0, %[[FWD]]#1[%c16, %c0]
// CHECK:   %[[BWD:.+]]:2 = scf.for
// CHECK:     vector.transfer_read %[[K]]
// CHECK:     vector.transfer_read %[[W]]
// CHECK:   %[[A:.+]] = scf.for %[[TA:.+]] = %c0 to %[[LEN]]
// CHECK:     %[[RA:.+]] = vector.transfer_read %[[R]]
// CHECK:     %[[RU:.+]] = arith.mulf %[[RA]], %[[UH]]
// CHECK:     %[[KA:.+]] = vector.transfer_read %[[K]]
// CHECK:     %[[RUK:.+]] = arith.mulf %[[RU]], %[[KA]]
// CHECK:     %[[BONUS:.+]] = vector.reduction <add>, %[[RUK]]
// CHECK:     %[[DIAG:.+]] = tensor.insert %[[BONUS]] into %{{.+}}[%[[TA]], %[[TA]]]
// CHECK:     scf.for %{{.+}} = %c0 to %[[TA]] {{.+}} iter_args(%[[RP:.+]] = %[[RA]], %{{.+}} = %[[DIAG]])
// CHECK:       %[[KS:.+]] = vector.transfer_read %[[K]]
// CHECK:       %[[PROD:.+]] = arith.mulf %[[RP]], %[[KS]]
// CHECK:       vector.reduction <add>, %[[PROD]]
// CHECK:       %[[WS:.+]] = vector.transfer_read %[[W]]
// CHECK:       arith.mulf %[[RP]], %[[WS]]
// CHECK:   scf.for %[[TB:.+]] = %c0 to %[[LEN]] step %c4
// CHECK:     scf.for {{.+}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:       tensor.extract %[[RDL]][%[[TB]], %{{.+}}] : tensor<17x8xf32>
// CHECK-COUNT-4: vector.fma
// CHECK:     scf.for {{.+}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:       tensor.extract %[[A]][%[[TB]], %{{.+}}] : tensor<16x16xf32>
// CHECK-COUNT-4: vector.fma
// CHECK:     vector.transfer_write
// CHECK:     arith.cmpi slt, %{{.+}}, %[[LEN]]
// CHECK:     scf.if
// CHECK:   scf.for %{{.+}} = %c0 to %c8 step %c4
// CHECK:     tensor.extract %[[RDL]][%c16, %{{.+}}] : tensor<17x8xf32>
// CHECK:     scf.for %{{.+}} = %c0 to %[[LEN]] {{.+}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:       tensor.extract %[[BWD]]#1
// CHECK-COUNT-4: vector.fma
// CHECK: linalg.transpose
// CHECK: } {rwkv.parallel}

// SCAN-LABEL: func.func @wkv5_prompt
// SCAN-NOT: arith.minsi
// SCAN-NOT: tensor.insert {{.+}} : tensor<16x16xf32>
func.func @wkv5_prompt(%r: tensor<?x?x32xf32>, %w: tensor<?x?x32xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
                       %u: tensor<32xf32>, %s: tensor<?x4x8x8xf32>) -> (tensor<?x?x32xf32>, tensor<?x4x8x8xf32>) {
  %y, %s1 = rwkv.wkv5 %r, %w, %k, %v, %u, %s : tensor<?x?x32xf32>, tensor<32xf32>, tensor<?x4x8x8xf32>
  return %y, %s1 : tensor<?x?x32xf32>, tensor<?x4x8x8xf32>
}

// -----

// Tests that one-token calls (the recurrent form) keep the per-token scan.

// CHECK-LABEL: func.func @wkv5_decode
// CHECK-NOT: arith.minsi
// CHECK-NOT: tensor<16x16xf32>
// CHECK: return
func.func @wkv5_decode(%r: tensor<?x1x32xf32>, %u: tensor<32xf32>, %s: tensor<?x4x8x8xf32>) -> (tensor<?x1x32xf32>, tensor<?x4x8x8xf32>) {
  %y, %s1 = rwkv.wkv5 %r, %r, %r, %r, %u, %s : tensor<?x1x32xf32>, tensor<32xf32>, tensor<?x4x8x8xf32>
  return %y, %s1 : tensor<?x1x32xf32>, tensor<?x4x8x8xf32>
}

// -----

// Tests the wkv7 DPLR chunk form (rwkv-math §6.3): per chunk a ⊙ D, r ⊙ D'
// (D_len as row 16) and v staged forward, k ⊙ B and b ⊙ B backward, the
// four intra-chunk matrices (A_qk and A_qb with the diagonal), then per
// block of value rows: ũ from the old state and A_ak·v in token blocks,
// forward substitution through A_ab from token 1, outputs from the old
// state, A_qk·v and A_qb·ũ, and the state update from v and ũ.

// CHECK-LABEL: func.func @wkv7_prompt
// CHECK-SAME: (%[[R:[^:]+]]: tensor<?x?x32xf32>, %[[W:[^:]+]]: tensor<?x?x32xf32>, %[[K:[^:]+]]: tensor<?x?x32xf32>, %[[V:[^:]+]]: tensor<?x?x32xf32>, %[[A:[^:]+]]: tensor<?x?x32xf32>, %[[B:[^:]+]]: tensor<?x?x32xf32>
// CHECK: scf.for %[[C:.+]] = %{{.+}} to %[[T:.+]] step %c16 {{.+}} -> (tensor<8x8xf32>, tensor<?x?x32xf32>, tensor<16x8xf32>, tensor<17x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>)
// CHECK:   %[[LEN:.+]] = arith.minsi
// CHECK:   %[[FWD:.+]]:4 = scf.for
// CHECK:     vector.transfer_read %[[A]]
// CHECK:     vector.transfer_read %[[W]]
// CHECK:     vector.transfer_read %[[R]]
// CHECK:     vector.transfer_read %[[V]]
// CHECK:   %[[RDL:.+]] = vector.transfer_write %[[FWD]]#0, %[[FWD]]#2[%c16, %c0]
// CHECK:   %[[BWD:.+]]:3 = scf.for
// CHECK:     vector.transfer_read %[[K]]
// CHECK:     vector.transfer_read %[[B]]
// CHECK:   %[[MATS:.+]]:4 = scf.for %[[TA:.+]] = %c0 to %[[LEN]]
// CHECK:     tensor.insert %{{.+}} into %{{.+}}[%[[TA]], %[[TA]]]
// CHECK:     tensor.insert %{{.+}} into %{{.+}}[%[[TA]], %[[TA]]]
// CHECK:     scf.for %{{.+}} = %c0 to %[[TA]]
// CHECK-COUNT-4: tensor.insert %{{.+}} into %{{.+}}[%[[TA]], %{{.+}}] : tensor<16x16xf32>
// CHECK:   %[[UBASE:.+]] = scf.for %{{.+}} = %c0 to %[[LEN]] step %c4
// CHECK:     tensor.extract %[[FWD]]#1
// CHECK:     tensor.extract %[[MATS]]#0
// CHECK:   %[[U:.+]] = scf.for %[[TS:.+]] = %c1 to %[[LEN]] step %c1 iter_args(%[[UA:.+]] = %[[UBASE]])
// CHECK:     scf.for %{{.+}} = %c0 to %[[TS]]
// CHECK:       tensor.extract %[[MATS]]#1[%[[TS]], %{{.+}}]
// CHECK:   scf.for %{{.+}} = %c0 to %[[LEN]] step %c4
// CHECK:     tensor.extract %[[RDL]]
// CHECK:     tensor.extract %[[MATS]]#2
// CHECK:     vector.transfer_read %[[U]]
// CHECK:     tensor.extract %[[MATS]]#3
// CHECK:     scf.if
// CHECK:   scf.for %{{.+}} = %c0 to %c8 step %c4
// CHECK:     tensor.extract %[[RDL]][%c16
// CHECK:     tensor.extract %[[BWD]]#1
// CHECK:     vector.transfer_read %[[U]]
// CHECK:     tensor.extract %[[BWD]]#2
// CHECK: } {rwkv.parallel}

// SCAN-LABEL: func.func @wkv7_prompt
// SCAN-NOT: arith.minsi
// SCAN-NOT: tensor<16x16xf32>
func.func @wkv7_prompt(%r: tensor<?x?x32xf32>, %w: tensor<?x?x32xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>,
                       %a: tensor<?x?x32xf32>, %b: tensor<?x?x32xf32>, %s: tensor<?x4x8x8xf32>) -> (tensor<?x?x32xf32>, tensor<?x4x8x8xf32>) {
  %y, %s1 = rwkv.wkv7 %r, %w, %k, %v, %a, %b, %s : tensor<?x?x32xf32>, tensor<?x4x8x8xf32>
  return %y, %s1 : tensor<?x?x32xf32>, tensor<?x4x8x8xf32>
}
