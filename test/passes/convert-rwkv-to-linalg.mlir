// RUN: rwkv-opt %s -split-input-file -convert-rwkv-to-linalg="vector-width=8 linear-rows=4" | FileCheck %s

// Tests that linear becomes the register-blocked kernel: 4 output rows share
// each x vector, 8 lanes per vector, one horizontal reduction per row. With
// a dynamic token count (parallel form) blocks of 4 tokens come first.

// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.+]]: tensor<?x?x64xf32>, %[[W:.+]]: tensor<48x64xf32>)
// CHECK: scf.for %[[B:[^ ]+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK:   scf.for %[[T0:[^ ]+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK:     scf.for %[[N:[^ ]+]] = %{{.+}} to %{{.+}} step %[[C4:.+]] iter_args
// Register blocks of 4 tokens x 4 outputs: 16 accumulators.
// CHECK:       scf.for
// CHECK:         %[[ACC:.+]]:16 = scf.for %[[K:[^ ]+]] = {{.+}} -> (vector<8xf32>,
// CHECK-COUNT-16: vector.fma
// CHECK:         vector.reduction <add>, %[[ACC]]#0 fastmath<reassoc>
// CHECK:         vector.from_elements {{.+}} : vector<4xf32>
// The one-token remainder (the only loop that runs when decoding).
// CHECK:       scf.for %[[T:[^ ]+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK:         %[[ACC1:.+]]:4 = scf.for %[[K1:[^ ]+]] = {{.+}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:           %[[XV:.+]] = vector.transfer_read %[[X]][%[[B]], %[[T]], %[[K1]]]
// CHECK-COUNT-4:   vector.fma %{{.+}}, %[[XV]], %{{.+}} : vector<8xf32>
// CHECK:         %[[BLOCK:.+]] = vector.from_elements {{.+}} : vector<4xf32>
// CHECK:         vector.transfer_write %[[BLOCK]], %{{.+}}[%[[B]], %[[T]], %[[N]]]
func.func @linear(%x: tensor<?x?x64xf32>, %w: tensor<48x64xf32>) -> tensor<?x?x48xf32> {
  %y = rwkv.linear %x, %w : tensor<?x?x64xf32>, tensor<48x64xf32> -> tensor<?x?x48xf32>
  return %y : tensor<?x?x48xf32>
}

// -----

// Tests that the recurrent form (T = 1) blocks over sequences (batched
// decode): for each block of 4 rows of W, 4 sequences at a time (16
// accumulators, x read at [b + i, 0, k]), then one sequence at a time (4);
// no token loops.

// CHECK-LABEL: func.func @linear_one_token
// CHECK-SAME: (%[[X:.+]]: tensor<?x1x64xf32>, %[[W:.+]]: tensor<48x64xf32>)
// CHECK: scf.for %[[N:[^ ]+]] = {{.+}} iter_args
// CHECK: scf.for %[[B:[^ ]+]] = {{.+}} iter_args
// CHECK: %{{.+}}:16 = scf.for %[[K:[^ ]+]] = {{.+}} -> (vector<8xf32>
// CHECK: vector.transfer_read %[[X]][%[[B]], %{{.+}}, %[[K]]]
// CHECK-COUNT-3: vector.transfer_read %[[X]][%{{.+}}, %{{.+}}, %[[K]]]
// CHECK: vector.transfer_read %[[W]][%[[N]], %[[K]]]
// CHECK-COUNT-16: vector.fma
// CHECK: %{{.+}}:4 = scf.for %{{.+}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-4: vector.fma
// CHECK-NOT: scf.for
// CHECK: return
func.func @linear_one_token(%x: tensor<?x1x64xf32>, %w: tensor<48x64xf32>) -> tensor<?x1x48xf32> {
  %y = rwkv.linear %x, %w : tensor<?x1x64xf32>, tensor<48x64xf32> -> tensor<?x1x48xf32>
  return %y : tensor<?x1x48xf32>
}

// -----

// Tests that a one-token projection with bf16 weights computes one output
// per block (W is read as one contiguous stream) with 4 partial sums along
// K: the K loop steps by 4 vectors of 8 lanes, and the partial sums are
// added before the one horizontal reduction.

// (After the 4-sequence block, 4 x 4 accumulators, the one-sequence loop.)

// CHECK-LABEL: func.func @linear_one_token_bf16
// CHECK-SAME: (%[[X:.+]]: tensor<?x1x64xf32>, %[[W:.+]]: tensor<48x64xbf16>)
// CHECK-DAG: %[[C32:.+]] = arith.constant 32 : index
// CHECK:   %{{.+}}:16 = scf.for %{{.+}} = %{{.+}} to %{{.+}} step %[[C32]] iter_args
// CHECK:   %[[ACC:.+]]:4 = scf.for %[[K:[^ ]+]] = %{{.+}} to %{{.+}} step %[[C32]] iter_args
// CHECK:     vector.transfer_read %[[W]][%[[N:[^,]+]], %[[K]]]{{.+}} : tensor<48x64xbf16>, vector<8xbf16>
// CHECK-COUNT-3: vector.transfer_read %[[W]][%[[N]], %{{.+}}]{{.+}} : tensor<48x64xbf16>, vector<8xbf16>
// CHECK:   %[[S1:.+]] = arith.addf %[[ACC]]#0, %[[ACC]]#1 : vector<8xf32>
// CHECK:   %[[S2:.+]] = arith.addf %[[S1]], %[[ACC]]#2 : vector<8xf32>
// CHECK:   %[[S3:.+]] = arith.addf %[[S2]], %[[ACC]]#3 : vector<8xf32>
// CHECK:   vector.reduction <add>, %[[S3]] fastmath<reassoc> : vector<8xf32> into f32
// CHECK:   vector.from_elements {{.+}} : vector<1xf32>
func.func @linear_one_token_bf16(%x: tensor<?x1x64xf32>, %w: tensor<48x64xbf16>) -> tensor<?x1x48xf32> {
  %y = rwkv.linear %x, %w : tensor<?x1x64xf32>, tensor<48x64xbf16> -> tensor<?x1x48xf32>
  return %y : tensor<?x1x48xf32>
}

// -----

// Tests that shift_lerp_linear mixes each cache block of tokens into a
// [1, len, K] block (the previous row is the token-shift state for token 0,
// else the row before; mu weights the previous token) and that the register
// blocks read that block, at token indices relative to the block's start.

// CHECK-LABEL: func.func @shift_lerp_linear
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x?x64xf32>, %[[PREV:[^:]+]]: tensor<?x64xf32>, %[[MU:[^:]+]]: tensor<64xf32>, %[[W:[^:]+]]: tensor<48x64xf32>)
// CHECK: scf.for %[[B:[^ ]+]] = {{.+}} iter_args
// CHECK:   scf.for %[[T0:[^ ]+]] = {{.+}} iter_args
// CHECK:     %[[SPAN:.+]] = arith.subi
// CHECK:     %[[EMPTY:.+]] = tensor.empty(%[[SPAN]]) : tensor<1x?x64xf32>
// CHECK:     %[[MIXED:.+]] = scf.for %[[I:[^ ]+]] = %{{.+}} to %[[SPAN]] {{.+}} iter_args(%{{.+}} = %[[EMPTY]])
// CHECK:       %[[T:.+]] = arith.addi %[[T0]], %[[I]]
// CHECK:       %[[FIRST:.+]] = arith.cmpi eq, %[[T]], %[[C0:.+]] : index
// CHECK:       %[[TM1:.+]] = arith.subi %[[T]], %[[C1:.+]] : index
// CHECK:       %[[ROWB:.+]] = arith.select %[[FIRST]], %[[C0]], %[[TM1]] : index
// CHECK:       scf.for %[[K:[^ ]+]] =
// CHECK:         %[[CUR:.+]] = vector.transfer_read %[[X]][%[[B]], %[[T]], %[[K]]]
// CHECK:         %[[P:.+]] = vector.transfer_read %[[PREV]][%[[B]], %[[K]]]
// CHECK:         %[[BEFORE:.+]] = vector.transfer_read %[[X]][%[[B]], %[[ROWB]], %[[K]]]
// CHECK:         %[[S:.+]] = arith.select %[[FIRST]], %[[P]], %[[BEFORE]] : vector<8xf32>
// CHECK:         %[[M:.+]] = vector.transfer_read %[[MU]][%[[K]]]
// CHECK:         %[[D:.+]] = arith.subf %[[S]], %[[CUR]]
// CHECK:         %[[MX:.+]] = vector.fma %[[D]], %[[M]], %[[CUR]]
// CHECK:         vector.transfer_write %[[MX]], %{{.+}}[%{{.+}}, %[[I]], %[[K]]]
// CHECK:     scf.for %{{.+}} step %{{.+}} iter_args
// CHECK:         %[[ROW:.+]] = arith.subi %{{.+}}, %[[T0]]
// CHECK:         vector.transfer_read %[[MIXED]][%{{.+}}, %[[ROW]], %{{.+}}]
// CHECK-NOT: linalg.generic
func.func @shift_lerp_linear(%x: tensor<?x?x64xf32>, %prev: tensor<?x64xf32>, %mu: tensor<64xf32>, %w: tensor<48x64xf32>) -> tensor<?x?x48xf32> {
  %y = rwkv.shift_lerp_linear previous %x, %prev, %mu, %w : tensor<?x?x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<48x64xf32> -> tensor<?x?x48xf32>
  return %y : tensor<?x?x48xf32>
}

// -----

// Tests the RWKV-4/5 mix (mu weights the current token): the same blocks,
// with the shifted row as the FMA's base.

// CHECK-LABEL: func.func @shift_lerp_linear_current
// CHECK:         %[[CUR:.+]] = vector.transfer_read %arg0
// CHECK:         %[[S:.+]] = arith.select
// CHECK:         %[[M:.+]] = vector.transfer_read %arg2
// CHECK:         %[[D:.+]] = arith.subf %[[CUR]], %[[S]]
// CHECK:         vector.fma %[[D]], %[[M]], %[[S]]
func.func @shift_lerp_linear_current(%x: tensor<?x?x64xf32>, %prev: tensor<?x64xf32>, %mu: tensor<64xf32>, %w: tensor<48x64xf32>) -> tensor<?x?x48xf32> {
  %y = rwkv.shift_lerp_linear current %x, %prev, %mu, %w : tensor<?x?x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<48x64xf32> -> tensor<?x?x48xf32>
  return %y : tensor<?x?x48xf32>
}

// -----

// Tests that wkv7 scans tokens on each head's state transposed to
// [key][value]: a first pass for sa (old state), a second that updates the
// state and accumulates y, all vertical FMAs. A value row of 16 fits in 2
// registers of 8 lanes (at most 4), so one step covers the whole row and the
// per-key broadcasts are shared.

// CHECK-LABEL: func.func @wkv7
// CHECK: scf.for %[[B:[^ ]+]] = {{.+}} iter_args
// CHECK:   scf.for %[[H:[^ ]+]] = {{.+}} iter_args
// CHECK:     %[[S:.+]] = tensor.extract_slice %{{.+}}[%[[B]], %[[H]], 0, 0] [1, 1, 16, 16] [1, 1, 1, 1] : tensor<?x2x16x16xf32> to tensor<16x16xf32>
// CHECK:     %[[ST:.+]] = linalg.transpose ins(%[[S]] : tensor<16x16xf32>) {{.+}} permutation = [1, 0]
// CHECK:     %[[T:.+]]:2 = scf.for %{{.+}} iter_args(%{{.+}} = %[[ST]], %{{.+}})
// CHECK:       scf.for %{{.+}} step %[[C16:.+]] iter_args
// CHECK:         %[[SA:.+]] = scf.for {{.+}} -> (vector<16xf32>)
// CHECK:           vector.fma
// CHECK-NOT:       vector.reduction
// CHECK:         scf.for {{.+}} -> (tensor<16x16xf32>, vector<16xf32>)
// CHECK:           vector.fma %{{.+}}, %[[SA]], %{{.+}} : vector<16xf32>
// CHECK:           vector.transfer_write
// CHECK:     %[[BACK:.+]] = linalg.transpose ins(%[[T]]#0 : tensor<16x16xf32>)
// CHECK:     tensor.insert_slice %[[BACK]] into %{{.+}}[%[[B]], %[[H]], 0, 0]
func.func @wkv7(%r: tensor<?x1x32xf32>, %s: tensor<?x2x16x16xf32>) -> (tensor<?x1x32xf32>, tensor<?x2x16x16xf32>) {
  %y, %s1 = rwkv.wkv7 %r, %r, %r, %r, %r, %r, %s : tensor<?x1x32xf32>, tensor<?x2x16x16xf32>
  return %y, %s1 : tensor<?x1x32xf32>, tensor<?x2x16x16xf32>
}

// -----

// Tests that a value row of 64 (8 registers of 8 lanes, more than 4) is
// scanned in blocks of 8 value rows.

// CHECK-LABEL: func.func @wkv7_wide_rows
// CHECK:       scf.for %{{.+}} step %{{.+}} iter_args
// CHECK:         scf.for {{.+}} -> (vector<8xf32>)
// CHECK:         scf.for {{.+}} -> (tensor<64x64xf32>, vector<8xf32>)
func.func @wkv7_wide_rows(%r: tensor<?x1x64xf32>, %s: tensor<?x1x64x64xf32>) -> (tensor<?x1x64xf32>, tensor<?x1x64x64xf32>) {
  %y, %s1 = rwkv.wkv7 %r, %r, %r, %r, %r, %r, %s : tensor<?x1x64xf32>, tensor<?x1x64x64xf32>
  return %y, %s1 : tensor<?x1x64xf32>, tensor<?x1x64x64xf32>
}

// -----

// Tests that wkv7_fused finishes each head's output inside the scan, after
// the key loop and before the store: mean and centred variance by two
// horizontal reductions, rsqrt, the norm's affine FMA, the bonus (one more
// reduction of r·k·r_k, times v) and the gate.

// CHECK-LABEL: func.func @wkv7_fused
// CHECK-SAME: (%[[R:[^:]+]]: tensor<?x1x32xf32>, %[[W:[^:]+]]: tensor<?x1x32xf32>, %[[K:[^:]+]]: tensor<?x1x32xf32>, %[[V:[^:]+]]: tensor<?x1x32xf32>, %[[A:[^:]+]]: tensor<?x1x32xf32>, %[[BB:[^:]+]]: tensor<?x1x32xf32>, %[[S:[^:]+]]: tensor<?x2x16x16xf32>, %[[LW:[^:]+]]: tensor<32xf32>, %[[LB:[^:]+]]: tensor<32xf32>, %[[RK:[^:]+]]: tensor<2x16xf32>, %[[G:[^:]+]]: tensor<?x1x32xf32>)
// CHECK-DAG: %[[INVN:.+]] = arith.constant 6.250000e-02 : f32
// CHECK-NOT: linalg.generic
// CHECK:       scf.for %[[B:[^ ]+]] =
// CHECK:         %[[BASE:.+]] = arith.muli %{{.+}}, %[[C16:.+]] : index
// CHECK:         scf.for %[[T:[^ ]+]] =
// CHECK:           %[[VV:.+]] = vector.transfer_read %[[V]][%[[B]], %[[T]], %{{.+}}]
// CHECK:           scf.for {{.+}} -> (tensor<16x16xf32>, vector<16xf32>)
// CHECK:           }
// CHECK:           %[[SUM:.+]] = vector.reduction <add>, %[[Y:[^ ]+]] fastmath<reassoc>
// CHECK:           %[[MEAN:.+]] = arith.mulf %[[SUM]], %[[INVN]] : f32
// CHECK:           %[[MEANV:.+]] = vector.broadcast %[[MEAN]]
// CHECK:           %[[D:.+]] = arith.subf %[[Y]], %[[MEANV]] : vector<16xf32>
// CHECK:           %[[D2:.+]] = arith.mulf %[[D]], %[[D]]
// CHECK:           %[[SQ:.+]] = vector.reduction <add>, %[[D2]]
// CHECK:           %[[VAR:.+]] = arith.mulf %[[SQ]], %[[INVN]] : f32
// CHECK:           %[[VE:.+]] = arith.addf %[[VAR]], %{{.+}} : f32
// CHECK:           %[[RSTD:.+]] = math.rsqrt %[[VE]]
// CHECK:           %[[NW:.+]] = vector.transfer_read %[[LW]][%[[BASE]]]
// CHECK:           %[[NB:.+]] = vector.transfer_read %[[LB]][%[[BASE]]]
// CHECK:           %[[NORMED:.+]] = vector.fma %{{.+}}, %[[NW]], %[[NB]]
// CHECK:           %[[HEAD:.+]] = arith.divui %[[BASE]], %[[C16]] : index
// CHECK:           %[[RV:.+]] = vector.transfer_read %[[R]][%[[B]], %[[T]], %[[BASE]]]
// CHECK:           %[[KV:.+]] = vector.transfer_read %[[K]][%[[B]], %[[T]], %[[BASE]]]
// CHECK:           %[[RKV:.+]] = arith.mulf %[[RV]], %[[KV]]
// CHECK:           %[[RKR:.+]] = vector.transfer_read %[[RK]][%[[HEAD]], %{{.+}}]
// CHECK:           %[[PROD:.+]] = arith.mulf %[[RKV]], %[[RKR]]
// CHECK:           %[[DOT:.+]] = vector.reduction <add>, %[[PROD]]
// CHECK:           %[[DOTV:.+]] = vector.broadcast %[[DOT]]
// CHECK:           %[[WITHBONUS:.+]] = vector.fma %[[DOTV]], %[[VV]], %[[NORMED]]
// CHECK:           %[[GV:.+]] = vector.transfer_read %[[G]][%[[B]], %[[T]], %[[BASE]]]
// CHECK:           %[[OUT:.+]] = arith.mulf %[[WITHBONUS]], %[[GV]] : vector<16xf32>
// CHECK:           vector.transfer_write %[[OUT]], %{{.+}}[%[[B]], %[[T]], %{{.+}}]
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @wkv7_fused(%r: tensor<?x1x32xf32>, %w: tensor<?x1x32xf32>, %k: tensor<?x1x32xf32>, %v: tensor<?x1x32xf32>, %a: tensor<?x1x32xf32>, %b: tensor<?x1x32xf32>, %s: tensor<?x2x16x16xf32>, %lw: tensor<32xf32>, %lb: tensor<32xf32>, %rk: tensor<2x16xf32>, %g: tensor<?x1x32xf32>) -> (tensor<?x1x32xf32>, tensor<?x2x16x16xf32>) {
  %o, %s1 = rwkv.wkv7_fused %r, %w, %k, %v, %a, %b, %s norm(%lw, %lb) bonus(%rk) gate(%g : tensor<?x1x32xf32>) {eps = 6.4e-04 : f32} : tensor<?x1x32xf32>, tensor<?x2x16x16xf32>, tensor<32xf32>, tensor<2x16xf32>
  return %o, %s1 : tensor<?x1x32xf32>, tensor<?x2x16x16xf32>
}

// -----

// Tests that a wkv7_fused whose value row does not fit the register block
// (64 at 8 lanes) is lowered as its parts: the scan, then the group norm
// and bonus kernels and the elementwise add and gate.

// CHECK-LABEL: func.func @wkv7_fused_wide_rows
// CHECK:         scf.for {{.+}} -> (tensor<64x64xf32>, vector<8xf32>)
// CHECK-NOT:     math.rsqrt
// CHECK:       linalg.generic
// CHECK:       arith.addf {{.+}} : tensor<?x1x64xf32>
// CHECK:       arith.mulf {{.+}} : tensor<?x1x64xf32>
func.func @wkv7_fused_wide_rows(%r: tensor<?x1x64xf32>, %s: tensor<?x1x64x64xf32>, %lw: tensor<64xf32>, %rk: tensor<1x64xf32>) -> (tensor<?x1x64xf32>, tensor<?x1x64x64xf32>) {
  %o, %s1 = rwkv.wkv7_fused %r, %r, %r, %r, %r, %r, %s norm(%lw, %lw) bonus(%rk) gate(%r : tensor<?x1x64xf32>) {eps = 6.4e-04 : f32} : tensor<?x1x64xf32>, tensor<?x1x64x64xf32>, tensor<64xf32>, tensor<1x64xf32>
  return %o, %s1 : tensor<?x1x64xf32>, tensor<?x1x64x64xf32>
}

// -----

// Tests that token shift is pure slicing: prev becomes row 0, input rows
// 0..T-2 become rows 1..T-1, and the last row is the next state.

// CHECK-LABEL: func.func @token_shift
// CHECK-SAME: (%[[X:.+]]: tensor<?x3x64xf32>, %[[P:.+]]: tensor<?x64xf32>)
// CHECK: %[[E:.+]] = tensor.empty
// CHECK: %[[R0:.+]] = tensor.insert_slice %[[P]] into %[[E]][0, 0, 0] [%{{.+}}, 1, 64]
// CHECK: %[[HEAD:.+]] = tensor.extract_slice %[[X]][0, 0, 0] [%{{.+}}, 2, 64]
// CHECK: %[[SH:.+]] = tensor.insert_slice %[[HEAD]] into %[[R0]][0, 1, 0] [%{{.+}}, 2, 64]
// CHECK: %[[LAST:.+]] = tensor.extract_slice %[[X]][0, 2, 0] [%{{.+}}, 1, 64] [1, 1, 1] : tensor<?x3x64xf32> to tensor<?x64xf32>
// CHECK: return %[[SH]], %[[LAST]]
func.func @token_shift(%x: tensor<?x3x64xf32>, %p: tensor<?x64xf32>) -> (tensor<?x3x64xf32>, tensor<?x64xf32>) {
  %s, %l = rwkv.token_shift %x, %p : tensor<?x3x64xf32>, tensor<?x64xf32>
  return %s, %l : tensor<?x3x64xf32>, tensor<?x64xf32>
}

// -----

// Tests the two-pass layer norm: a sum, a centred sum of squares, then the
// affine normalisation (per-channel weight and bias broadcast over B, T).

// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[CH:.+]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @layer_norm
// CHECK: %[[SUM:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: %[[VAR:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]], #[[CH]], #[[CH]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%{{.+}}, %[[SUM]], %[[VAR]], %{{.+}}, %{{.+}} :
// CHECK: math.sqrt
func.func @layer_norm(%x: tensor<?x1x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x1x64xf32> {
  %y = rwkv.layer_norm %x, %w, %b {eps = 1.0e-5 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
  return %y : tensor<?x1x64xf32>
}

// -----

// Tests that group norm and the v7 bonus work per head on [B, T, H, N].

// CHECK-LABEL: func.func @group_norm
// CHECK: tensor.expand_shape %{{.+}} {{\[}}[0], [1], [2, 3]] output_shape [%{{.+}}, 1, 4, 16]
// CHECK: linalg.generic
// CHECK: tensor.collapse_shape %{{.+}} {{\[}}[0], [1], [2, 3]] : tensor<?x1x4x16xf32> into tensor<?x1x64xf32>
func.func @group_norm(%x: tensor<?x1x64xf32>, %w: tensor<64xf32>) -> tensor<?x1x64xf32> {
  %y = rwkv.group_norm %x, %w, %w {num_groups = 4, eps = 6.4e-4 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
  return %y : tensor<?x1x64xf32>
}

// CHECK-LABEL: func.func @bonus
// CHECK: %[[DOT:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK: linalg.generic {{.+}} ins(%[[DOT]], %{{.+}} : tensor<?x1x4xf32>, tensor<?x1x4x16xf32>)
func.func @bonus(%r: tensor<?x1x64xf32>, %rk: tensor<4x16xf32>) -> tensor<?x1x64xf32> {
  %u = rwkv.wkv7_bonus %r, %r, %r, %rk : tensor<?x1x64xf32>, tensor<4x16xf32>
  return %u : tensor<?x1x64xf32>
}

// -----

// Tests the pointwise ops: lerp as one fma, and the v7 decay
// exp(-e^-0.5 * sigmoid(z)) computed in f32.

// CHECK-LABEL: func.func @lerp_and_decay
// CHECK-DAG: %[[SCALE:.+]] = arith.constant -0.606530666 : f32
// CHECK: linalg.generic
// CHECK:   %[[D:.+]] = arith.subf %{{.+}}, %{{.+}} : f32
// CHECK:   math.fma %[[D]], %{{.+}}, %{{.+}} : f32
// CHECK: linalg.generic
// CHECK:   math.exp
// CHECK:   arith.divf
// CHECK:   arith.mulf %{{.+}}, %[[SCALE]]
// CHECK:   math.exp
func.func @lerp_and_decay(%x: tensor<?x1x64xf32>, %mu: tensor<64xf32>) -> tensor<?x1x64xf32> {
  %y = rwkv.lerp %x, %x, %mu : tensor<?x1x64xf32>, tensor<64xf32>
  %w = rwkv.decay sigmoid %y : tensor<?x1x64xf32>
  return %w : tensor<?x1x64xf32>
}

// -----

// Tests that the embedding copies one clamped row per token.

// CHECK-LABEL: func.func @embedding
// CHECK: scf.for
// CHECK:   scf.for
// CHECK:     %[[ID:.+]] = tensor.extract %{{.+}}[%{{.+}}, %{{.+}}] : tensor<?x1xi32>
// CHECK:     %[[IDX:.+]] = arith.index_cast %[[ID]]
// CHECK:     %[[LO:.+]] = arith.maxsi %[[IDX]]
// CHECK:     %[[CL:.+]] = arith.minsi %[[LO]]
// CHECK:     tensor.extract_slice %{{.+}}{{\[}}%[[CL]], 0] [1, 64] [1, 1] : tensor<256x64xf32> to tensor<64xf32>
// CHECK:     tensor.insert_slice
func.func @embedding(%t: tensor<?x1xi32>, %e: tensor<256x64xf32>) -> tensor<?x1x64xf32> {
  %x = rwkv.embedding %t, %e : tensor<?x1xi32>, tensor<256x64xf32> -> tensor<?x1x64xf32>
  return %x : tensor<?x1x64xf32>
}

// -----

// Tests that lora and channel_mix reuse the linear kernel around their
// activations, and that nothing of the rwkv dialect is left.

// CHECK-LABEL: func.func @lora_and_channel_mix
// CHECK-NOT: rwkv.
// CHECK: vector.fma
// CHECK: math.tanh
// CHECK: vector.fma
// CHECK: arith.maximumf
// CHECK: vector.fma
func.func @lora_and_channel_mix(%x: tensor<?x1x64xf32>, %d: tensor<32x64xf32>, %u: tensor<64x32xf32>, %b: tensor<64xf32>,
                                %k: tensor<256x64xf32>, %v: tensor<64x256xf32>) -> (tensor<?x1x64xf32>, tensor<?x1x64xf32>) {
  %z = rwkv.lora %x, %d, %u bias %b activation tanh : tensor<?x1x64xf32>, tensor<32x64xf32>, tensor<64x32xf32>, tensor<64xf32> -> tensor<?x1x64xf32>
  %o = rwkv.channel_mix %x, %k, %v : tensor<?x1x64xf32>, tensor<256x64xf32>, tensor<64x256xf32> -> tensor<?x1x64xf32>
  return %z, %o : tensor<?x1x64xf32>, tensor<?x1x64xf32>
}

// -----

// Tests that wkv4 runs batch -> channel chunk -> time with (a, b, p) in
// vector registers and the running maximum before every exp.

// CHECK-LABEL: func.func @wkv4
// CHECK: scf.for %{{.+}} iter_args
// CHECK:   scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK:     %[[T:.+]]:4 = scf.for {{.+}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, tensor<?x2x24xf32>)
// CHECK:       arith.maximumf {{.+}} : vector<8xf32>
// CHECK:       math.exp
// CHECK:       arith.divf
// CHECK:       arith.maximumf
// CHECK:     vector.transfer_write %[[T]]#0
// CHECK:     vector.transfer_write %[[T]]#1
// CHECK:     vector.transfer_write %[[T]]#2
func.func @wkv4(%k: tensor<?x2x24xf32>, %w: tensor<24xf32>, %s: tensor<?x24xf32>)
    -> (tensor<?x2x24xf32>, tensor<?x24xf32>, tensor<?x24xf32>, tensor<?x24xf32>) {
  %y, %a, %b, %p = rwkv.wkv4 %k, %k, %w, %w, %s, %s, %s : tensor<?x2x24xf32>, tensor<24xf32>, tensor<?x24xf32>
  return %y, %a, %b, %p : tensor<?x2x24xf32>, tensor<?x24xf32>, tensor<?x24xf32>, tensor<?x24xf32>
}

// -----

// Tests that wkv5 reads the old state (y_i = Σ_j r_j S_ji + v_i Σ_j r_j u_j k_j)
// before updating it, on the transposed state.

// CHECK-LABEL: func.func @wkv5
// CHECK: linalg.transpose
// CHECK: %[[U:.+]] = vector.transfer_read %{{.+}} : tensor<32xf32>, vector<8xf32>
// CHECK: %[[C:.+]] = vector.reduction <add>, %{{.+}} fastmath<reassoc> : vector<8xf32> into f32
// CHECK: %[[J:.+]]:2 = scf.for {{.+}} -> (tensor<8x8xf32>, vector<8xf32>)
// CHECK:   %[[ROW:.+]] = vector.transfer_read
// CHECK:   vector.fma %{{.+}}, %[[ROW]], %{{.+}} : vector<8xf32>
// CHECK:   %[[KV:.+]] = arith.mulf %{{.+}}, %{{.+}} : vector<8xf32>
// CHECK:   vector.fma %{{.+}}, %[[ROW]], %[[KV]] : vector<8xf32>
// CHECK: %[[CV:.+]] = vector.broadcast %[[C]]
// CHECK: vector.fma %{{.+}}, %[[CV]], %[[J]]#1
func.func @wkv5(%r: tensor<?x1x32xf32>, %u: tensor<32xf32>, %s: tensor<?x4x8x8xf32>) -> (tensor<?x1x32xf32>, tensor<?x4x8x8xf32>) {
  %y, %s1 = rwkv.wkv5 %r, %r, %r, %r, %u, %s : tensor<?x1x32xf32>, tensor<32xf32>, tensor<?x4x8x8xf32>
  return %y, %s1 : tensor<?x1x32xf32>, tensor<?x4x8x8xf32>
}

// -----

// Tests that ddlerp shares one down projection and tanh between its mixed
// inputs and slices the up weights per input.

// CHECK-LABEL: func.func @ddlerp
// CHECK: math.tanh
// CHECK-NOT: math.tanh
// CHECK: tensor.extract_slice %{{.+}}[0, 0, 0] [%{{.+}}, 1, 8]
// CHECK: tensor.extract_slice %{{.+}}[0, 0, 0] [1, 32, 8] [1, 1, 1] : tensor<2x32x8xf32> to tensor<32x8xf32>
// CHECK: tensor.extract_slice %{{.+}}[0, 0, 8] [%{{.+}}, 1, 8]
// CHECK: tensor.extract_slice %{{.+}}[1, 0, 0] [1, 32, 8] [1, 1, 1] : tensor<2x32x8xf32> to tensor<32x8xf32>
func.func @ddlerp(%x: tensor<?x1x32xf32>, %c: tensor<32xf32>, %down: tensor<16x32xf32>, %up: tensor<2x32x8xf32>)
    -> (tensor<?x1x32xf32>, tensor<?x1x32xf32>) {
  %a, %b = rwkv.ddlerp %x, %x, %c [%c, %c], %down, %up
      : tensor<?x1x32xf32>, tensor<32xf32> [tensor<32xf32>, tensor<32xf32>], tensor<16x32xf32>, tensor<2x32x8xf32>
      -> tensor<?x1x32xf32>, tensor<?x1x32xf32>
  return %a, %b : tensor<?x1x32xf32>, tensor<?x1x32xf32>
}

// -----

// Tests RMSNorm: one Σx² reduction, then x / sqrt(Σx²/C + eps) · w.

// CHECK-LABEL: func.func @rms_norm
// CHECK: %[[SS:.+]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME: ins(%{{.+}}, %[[SS]], %{{.+}} :
// CHECK: math.sqrt
// CHECK: arith.divf
// CHECK-NOT: rwkv.
func.func @rms_norm(%x: tensor<?x1x64xf32>, %w: tensor<64xf32>) -> tensor<?x1x64xf32> {
  %y = rwkv.rms_norm %x, %w {eps = 1.0e-6 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
  return %y : tensor<?x1x64xf32>
}

// -----

// Tests causal attention: per sequence and token, the key/value rows are
// appended while they fit (scf.if), then the max, Σ exp and division passes
// over the cached rows, with FMAs of vector<8xf32> over the head width.

// CHECK-LABEL: func.func @causal_attention
// CHECK: tensor.extract %{{.+}}[%{{.+}}, %{{.+}}] : tensor<?x1xf32>
// CHECK: arith.fptosi
// CHECK: scf.for
// CHECK: arith.cmpi ult
// CHECK: scf.if
// CHECK: vector.transfer_write
// CHECK: vector.fma {{.*}} : vector<8xf32>
// CHECK: vector.reduction <add>
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: tensor.insert
// CHECK-NOT: rwkv.
func.func @causal_attention(%q: tensor<?x?x32xf32>, %ck: tensor<?x64x32xf32>,
                            %n: tensor<?x1xf32>)
    -> (tensor<?x?x32xf32>, tensor<?x64x32xf32>, tensor<?x64x32xf32>, tensor<?x1xf32>) {
  %y, %k1, %v1, %n1 = rwkv.causal_attention %q, %q, %q, %ck, %ck, %n {scale = 0.176776695 : f32}
      : tensor<?x?x32xf32>, tensor<?x64x32xf32>, tensor<?x1xf32>
  return %y, %k1, %v1, %n1 : tensor<?x?x32xf32>, tensor<?x64x32xf32>, tensor<?x64x32xf32>, tensor<?x1xf32>
}

// -----

// Tests that RWKV-2/3's eps enters the scaled denominator as eps·exp(−q)
// after e1·b + e2, before the division.

// CHECK-LABEL: func.func @wkv4_eps
// CHECK: %[[EPS:.+]] = arith.constant dense<9.99999993E-9> : vector<8xf32>
// CHECK: %[[Q:.+]] = arith.maximumf {{.+}} : vector<8xf32>
// CHECK: vector.fma
// CHECK: %[[DEN:.+]] = vector.fma
// CHECK: %[[NQ:.+]] = arith.negf %[[Q]] : vector<8xf32>
// CHECK: %[[E:.+]] = math.exp %[[NQ]]
// CHECK: %[[DEN2:.+]] = vector.fma %[[EPS]], %[[E]], %[[DEN]]
// CHECK: arith.divf %{{.+}}, %[[DEN2]]
func.func @wkv4_eps(%k: tensor<?x2x24xf32>, %w: tensor<24xf32>, %s: tensor<?x24xf32>)
    -> (tensor<?x2x24xf32>, tensor<?x24xf32>, tensor<?x24xf32>, tensor<?x24xf32>) {
  %y, %a, %b, %p = rwkv.wkv4 %k, %k, %w, %w, %s, %s, %s {eps = 1.0e-8 : f32} : tensor<?x2x24xf32>, tensor<24xf32>, tensor<?x24xf32>
  return %y, %a, %b, %p : tensor<?x2x24xf32>, tensor<?x24xf32>, tensor<?x24xf32>, tensor<?x24xf32>
}

// -----

// Tests that head_qk clamps the stored count, loops query rows over the
// window's positions (this call's keys for u >= count, the ring buffer's
// row u mod L before), adds each score into the logit of its token id, then
// writes the call's last min(T, L) keys and ids at rows (count + t) mod L
// and the wrapped count.

// CHECK-LABEL: func.func @head_qk
// CHECK: arith.maxnumf
// CHECK: arith.minnumf
// CHECK: arith.fptosi
// CHECK: scf.for
// CHECK:   scf.for
// CHECK:     arith.cmpi uge
// CHECK:     scf.if
// CHECK:       vector.fma {{.*}} : vector<8xf32>
// CHECK:       vector.reduction <add>
// CHECK:     } else {
// CHECK:       arith.remui
// CHECK:     scf.if
// CHECK:       tensor.insert
// CHECK: scf.for
// CHECK:   arith.remui
// CHECK:   vector.transfer_write
// CHECK:   arith.sitofp
// CHECK:   tensor.insert
// CHECK: arith.select
// CHECK: tensor.insert
// CHECK-NOT: rwkv.
func.func @head_qk(%q: tensor<?x1x16xf32>, %k: tensor<?x?x16xf32>, %t: tensor<?x?xi32>,
                   %ck: tensor<?x8x16xf32>, %ct: tensor<?x8xf32>, %n: tensor<?x1xf32>)
    -> (tensor<?x1x32xf32>, tensor<?x8x16xf32>, tensor<?x8xf32>, tensor<?x1xf32>) {
  %y, %ck1, %ct1, %n1 = rwkv.head_qk %q, %k, %t, %ck, %ct, %n {scale = 0.0625 : f32, vocab = 32 : i64}
      : tensor<?x1x16xf32>, tensor<?x?x16xf32>, tensor<?x?xi32>, tensor<?x8x16xf32>, tensor<?x8xf32>, tensor<?x1xf32> -> tensor<?x1x32xf32>
  return %y, %ck1, %ct1, %n1 : tensor<?x1x32xf32>, tensor<?x8x16xf32>, tensor<?x8xf32>, tensor<?x1xf32>
}

// -----

// Tests that wkv1 clamps the position into [0, L − 1], then per sequence,
// token and vector of one head's channels writes α_h(p)·k⊙v into history
// row p, adds k into den, and sums the history rows 0 … p weighted by
// time_w[h, L−1−p+u] with one FMA per row, scaled by β_h(p) / den.

// CHECK-LABEL: func.func @wkv1
// CHECK: arith.maxnumf
// CHECK: arith.minnumf
// CHECK: arith.fptosi
// CHECK: scf.for
// CHECK:   arith.minui
// CHECK:   scf.for
// CHECK:     arith.divui
// CHECK:     tensor.extract %{{.+}} : tensor<4x8xf32>
// CHECK:     vector.transfer_write {{.+}} : vector<8xf32>, tensor<?x8x32xf32>
// CHECK:     arith.addf {{.+}} : vector<8xf32>
// CHECK:     scf.for
// CHECK:       tensor.extract %{{.+}} : tensor<4x8xf32>
// CHECK:       vector.fma {{.*}} : vector<8xf32>
// CHECK:     arith.divf {{.+}} : vector<8xf32>
// CHECK: arith.uitofp
// CHECK: tensor.insert
// CHECK-NOT: rwkv.
func.func @wkv1(%k: tensor<?x?x32xf32>, %w: tensor<4x8xf32>, %hist: tensor<?x8x32xf32>,
                %den: tensor<?x32xf32>, %n: tensor<?x1xf32>)
    -> (tensor<?x?x32xf32>, tensor<?x8x32xf32>, tensor<?x32xf32>, tensor<?x1xf32>) {
  %y, %h1, %d1, %n1 = rwkv.wkv1 %k, %k, %w, %w, %w, %hist, %den, %n
      : tensor<?x?x32xf32>, tensor<4x8xf32>, tensor<?x8x32xf32>, tensor<?x32xf32>, tensor<?x1xf32>
  return %y, %h1, %d1, %n1 : tensor<?x?x32xf32>, tensor<?x8x32xf32>, tensor<?x32xf32>, tensor<?x1xf32>
}

// -----

// Tests that Q8_0 weights ([M, K/32, 34] i8 blocks) are decoded in
// registers: per 32-weight block, the quants at bytes 2.. of the block are
// widened (sitofp) and multiplied with x (mul, then fma for the block's
// other vectors), and the block's f16 scale (bytes 0-1, bitcast and
// extended) multiplies the block's partial sum once into the accumulator.
// One output per block and 4 partial sums along K, one block each, as for
// 16-bit weights.

// CHECK-LABEL: func.func @linear_one_token_q8_0
// CHECK-SAME: (%[[X:.+]]: tensor<?x1x256xf32>, %[[W:.+]]: tensor<48x8x34xi8>)
// CHECK: %{{.+}}:4 = scf.for %[[K:[^ ]+]] = %{{.+}} to %{{.+}} step %[[C128:.+]] iter_args(%[[A0:[^ ]+]] = {{.+}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:   %[[BLK:.+]] = arith.divui %[[K]], %[[C32:.+]] : index
// CHECK:   %[[Q:.+]] = vector.transfer_read %[[W]][%{{.+}}, %[[BLK]], %{{.+}}]{{.+}} : tensor<48x8x34xi8>, vector<8xi8>
// CHECK:   %[[QF:.+]] = arith.sitofp %[[Q]] : vector<8xi8> to vector<8xf32>
// CHECK:   %[[P0:.+]] = arith.mulf %[[QF]], %{{.+}} : vector<8xf32>
// CHECK:   %[[P1:.+]] = vector.fma %{{.+}}, %{{.+}}, %[[P0]] : vector<8xf32>
// CHECK:   %[[P2:.+]] = vector.fma %{{.+}}, %{{.+}}, %[[P1]] : vector<8xf32>
// CHECK:   %[[P3:.+]] = vector.fma %{{.+}}, %{{.+}}, %[[P2]] : vector<8xf32>
// CHECK:   %[[DB:.+]] = vector.transfer_read %[[W]][%{{.+}}, %{{.+}}, %{{.+}}]{{.+}} : tensor<48x8x34xi8>, vector<2xi8>
// CHECK:   %[[DH:.+]] = vector.bitcast %[[DB]] : vector<2xi8> to vector<1xf16>
// CHECK:   %[[D16:.+]] = vector.extract %[[DH]][0] : f16 from vector<1xf16>
// CHECK:   %[[D:.+]] = arith.extf %[[D16]] : f16 to f32
// CHECK:   %[[DV:.+]] = vector.broadcast %[[D]] : f32 to vector<8xf32>
// CHECK:   vector.fma %[[P3]], %[[DV]], %[[A0]] : vector<8xf32>
// CHECK-COUNT-3: vector.bitcast
// CHECK: vector.reduction <add>
func.func @linear_one_token_q8_0(%x: tensor<?x1x256xf32>, %w: tensor<48x8x34xi8>) -> tensor<?x1x48xf32> {
  %y = rwkv.linear %x, %w : tensor<?x1x256xf32>, tensor<48x8x34xi8> -> tensor<?x1x48xf32>
  return %y : tensor<?x1x48xf32>
}

// -----

// Tests that with several tokens (prefill), Q8_0 rows are first decoded to
// an f32 panel of NR = 4 rows (d * q, per block), once per cache block of
// tokens, which the register blocks then read as f32 weights.

// CHECK-LABEL: func.func @linear_q8_0
// CHECK-SAME: (%[[X:.+]]: tensor<?x?x64xf32>, %[[W:.+]]: tensor<48x2x34xi8>)
// CHECK: scf.for %[[N:[^ ]+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK:   %[[E:.+]] = tensor.empty() : tensor<4x64xf32>
// CHECK:   %[[P0:.+]] = scf.for %{{.+}} iter_args(%{{.+}} = %[[E]]) -> (tensor<4x64xf32>)
// CHECK:     arith.sitofp %{{.+}} : vector<8xi8> to vector<8xf32>
// CHECK:     arith.mulf
// CHECK:     vector.transfer_write %{{.+}} : vector<8xf32>, tensor<4x64xf32>
// CHECK:   %[[P1:.+]] = scf.for %{{.+}} iter_args(%{{.+}} = %[[P0]]) -> (tensor<4x64xf32>)
// CHECK:   %[[P2:.+]] = scf.for %{{.+}} iter_args(%{{.+}} = %[[P1]]) -> (tensor<4x64xf32>)
// CHECK:   %[[P3:.+]] = scf.for %{{.+}} iter_args(%{{.+}} = %[[P2]]) -> (tensor<4x64xf32>)
// CHECK:   scf.for
// CHECK:     %{{.+}}:16 = scf.for
// CHECK:       vector.transfer_read %[[P3]][%{{.+}}, %{{.+}}]{{.+}} : tensor<4x64xf32>, vector<8xf32>
// CHECK-COUNT-16: vector.fma
func.func @linear_q8_0(%x: tensor<?x?x64xf32>, %w: tensor<48x2x34xi8>) -> tensor<?x?x48xf32> {
  %y = rwkv.linear %x, %w : tensor<?x?x64xf32>, tensor<48x2x34xi8> -> tensor<?x?x48xf32>
  return %y : tensor<?x?x48xf32>
}
