// RUN: rwkv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(rwkv-fuse-token-shift))' -verify-diagnostics | FileCheck %s

// Tests that RWKV-7's token-shift mixes fold into the projections they feed
// (mu weights the previous token), that the lerps are gone, and that the
// token shift stays for the next shift state.

// CHECK-LABEL: func.func @time_mix_v7
// CHECK-SAME: (%[[X:[^:]+]]: tensor<?x?x32xf32>, %[[PREV:[^:]+]]: tensor<?x32xf32>, %[[MR:[^:]+]]: tensor<32xf32>, %[[MK:[^:]+]]: tensor<32xf32>, %[[WR:[^:]+]]: tensor<32x32xf32>, %[[WK:[^:]+]]: tensor<32x32xf32>)
// CHECK-NEXT: %{{.+}}, %[[LAST:.+]] = rwkv.token_shift %[[X]], %[[PREV]]
// CHECK-NOT: rwkv.lerp
// CHECK-NEXT: %[[R:.+]] = rwkv.shift_lerp_linear previous %[[X]], %[[PREV]], %[[MR]], %[[WR]] : tensor<?x?x32xf32>, tensor<?x32xf32>, tensor<32xf32>, tensor<32x32xf32> -> tensor<?x?x32xf32>
// CHECK-NEXT: %[[K:.+]] = rwkv.shift_lerp_linear previous %[[X]], %[[PREV]], %[[MK]], %[[WK]]
// CHECK-NEXT: return %[[R]], %[[K]], %[[LAST]]
func.func @time_mix_v7(%x: tensor<?x?x32xf32>, %prev: tensor<?x32xf32>, %mr: tensor<32xf32>, %mk: tensor<32xf32>, %wr: tensor<32x32xf32>, %wk: tensor<32x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x32xf32>) {
  %xs, %last = rwkv.token_shift %x, %prev : tensor<?x?x32xf32>, tensor<?x32xf32>
  %xr = rwkv.lerp %x, %xs, %mr : tensor<?x?x32xf32>, tensor<32xf32>
  %xk = rwkv.lerp %x, %xs, %mk : tensor<?x?x32xf32>, tensor<32xf32>
  %r = rwkv.linear %xr, %wr : tensor<?x?x32xf32>, tensor<32x32xf32> -> tensor<?x?x32xf32>
  %k = rwkv.linear %xk, %wk : tensor<?x?x32xf32>, tensor<32x32xf32> -> tensor<?x?x32xf32>
  return %r, %k, %last : tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x32xf32>
}

// -----

// Tests the RWKV-4/5 order (mu weights the current token: the shifted row
// is the lerp's start).

// CHECK-LABEL: func.func @time_mix_v5
// CHECK: rwkv.shift_lerp_linear current
func.func @time_mix_v5(%x: tensor<?x1x32xf32>, %prev: tensor<?x32xf32>, %m: tensor<32xf32>, %w: tensor<32x32xf32>) -> tensor<?x1x32xf32> {
  %xs, %last = rwkv.token_shift %x, %prev : tensor<?x1x32xf32>, tensor<?x32xf32>
  %xm = rwkv.lerp %xs, %x, %m : tensor<?x1x32xf32>, tensor<32xf32>
  %y = rwkv.linear %xm, %w : tensor<?x1x32xf32>, tensor<32x32xf32> -> tensor<?x1x32xf32>
  return %y : tensor<?x1x32xf32>
}

// -----

// Tests that a mix feeding a projection and a LoRA is folded into the
// projection and kept for the LoRA, with a remark; a mix feeding only a
// LoRA is not fused, with a remark.

// CHECK-LABEL: func.func @shared_with_lora
// CHECK: %[[XV:.+]] = rwkv.lerp
// CHECK: %[[XW:.+]] = rwkv.lerp
// CHECK: rwkv.shift_lerp_linear previous
// CHECK: rwkv.lora %[[XV]]
// CHECK: rwkv.lora %[[XW]]
func.func @shared_with_lora(%x: tensor<?x1x32xf32>, %prev: tensor<?x32xf32>, %m: tensor<32xf32>, %w: tensor<32x32xf32>, %a: tensor<8x32xf32>, %b: tensor<32x8xf32>) -> (tensor<?x1x32xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>) {
  %xs, %last = rwkv.token_shift %x, %prev : tensor<?x1x32xf32>, tensor<?x32xf32>
  // expected-remark @below {{token-shift mix fused into 1 projection(s) and also kept for rwkv.lora, which has no mixed-input form}}
  %xv = rwkv.lerp %x, %xs, %m : tensor<?x1x32xf32>, tensor<32xf32>
  // expected-remark @below {{token-shift mix not fused: it feeds no rwkv.linear (rwkv.lora has no mixed-input form)}}
  %xw = rwkv.lerp %x, %xs, %m : tensor<?x1x32xf32>, tensor<32xf32>
  %v = rwkv.linear %xv, %w : tensor<?x1x32xf32>, tensor<32x32xf32> -> tensor<?x1x32xf32>
  %nu = rwkv.lora %xv, %a, %b : tensor<?x1x32xf32>, tensor<8x32xf32>, tensor<32x8xf32> -> tensor<?x1x32xf32>
  %d = rwkv.lora %xw, %a, %b : tensor<?x1x32xf32>, tensor<8x32xf32>, tensor<32x8xf32> -> tensor<?x1x32xf32>
  return %v, %nu, %d : tensor<?x1x32xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>
}

// -----

// Tests that a data-dependent mix weight ([B, T, C], as in RWKV-7's value
// residual) is not fused.

// CHECK-LABEL: func.func @token_dependent_weight
// CHECK-NOT: rwkv.shift_lerp_linear
func.func @token_dependent_weight(%x: tensor<?x1x32xf32>, %prev: tensor<?x32xf32>, %m: tensor<?x1x32xf32>, %w: tensor<32x32xf32>) -> tensor<?x1x32xf32> {
  %xs, %last = rwkv.token_shift %x, %prev : tensor<?x1x32xf32>, tensor<?x32xf32>
  // expected-remark @below {{token-shift mix not fused: its weight is not a per-channel vector}}
  %xm = rwkv.lerp %x, %xs, %m : tensor<?x1x32xf32>, tensor<?x1x32xf32>
  %y = rwkv.linear %xm, %w : tensor<?x1x32xf32>, tensor<32x32xf32> -> tensor<?x1x32xf32>
  return %y : tensor<?x1x32xf32>
}

// -----

// Tests that an unused mix is left alone silently (no remark, no crash).

// CHECK-LABEL: func.func @unused_mix
// CHECK: rwkv.lerp
func.func @unused_mix(%x: tensor<?x1x32xf32>, %prev: tensor<?x32xf32>, %m: tensor<32xf32>) -> tensor<?x32xf32> {
  %xs, %last = rwkv.token_shift %x, %prev : tensor<?x1x32xf32>, tensor<?x32xf32>
  %xm = rwkv.lerp %x, %xs, %m : tensor<?x1x32xf32>, tensor<32xf32>
  return %last : tensor<?x32xf32>
}
