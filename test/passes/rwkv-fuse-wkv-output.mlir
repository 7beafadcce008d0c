// RUN: rwkv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(rwkv-fuse-wkv-output))' -verify-diagnostics | FileCheck %s

// Tests that the RWKV-7 WKV output chain (wkv7, per-head group norm, bonus of
// the same r, k, v, output gate) becomes one rwkv.wkv7_fused that produces
// the gated output and the new state, and that the primitive ops are gone.

// CHECK-LABEL: func.func @wkv_output
// CHECK-SAME: (%[[R:[^:]+]]: tensor<?x?x64xf32>, %[[W:[^:]+]]: tensor<?x?x64xf32>, %[[K:[^:]+]]: tensor<?x?x64xf32>, %[[V:[^:]+]]: tensor<?x?x64xf32>, %[[A:[^:]+]]: tensor<?x?x64xf32>, %[[B:[^:]+]]: tensor<?x?x64xf32>, %[[S:[^:]+]]: tensor<?x4x16x16xf32>, %[[LW:[^:]+]]: tensor<64xf32>, %[[LB:[^:]+]]: tensor<64xf32>, %[[RK:[^:]+]]: tensor<4x16xf32>, %[[G:[^:]+]]: tensor<?x?x64xf32>)
// CHECK-NEXT: %[[O:.+]], %[[S1:.+]] = rwkv.wkv7_fused %[[R]], %[[W]], %[[K]], %[[V]], %[[A]], %[[B]], %[[S]] norm(%[[LW]], %[[LB]]) bonus(%[[RK]]) gate(%[[G]] : tensor<?x?x64xf32>) {eps = 6.400000e-04 : f32} : tensor<?x?x64xf32>, tensor<?x4x16x16xf32>, tensor<64xf32>, tensor<4x16xf32>
// CHECK-NEXT: return %[[O]], %[[S1]]
func.func @wkv_output(%r: tensor<?x?x64xf32>, %w: tensor<?x?x64xf32>, %k: tensor<?x?x64xf32>, %v: tensor<?x?x64xf32>, %a: tensor<?x?x64xf32>, %b: tensor<?x?x64xf32>, %s: tensor<?x4x16x16xf32>, %lw: tensor<64xf32>, %lb: tensor<64xf32>, %rk: tensor<4x16xf32>, %g: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x4x16x16xf32>) {
  %y, %s1 = rwkv.wkv7 %r, %w, %k, %v, %a, %b, %s : tensor<?x?x64xf32>, tensor<?x4x16x16xf32>
  %n = rwkv.group_norm %y, %lw, %lb {eps = 6.4e-04 : f32, num_groups = 4 : i64} : tensor<?x?x64xf32>, tensor<64xf32>
  %u = rwkv.wkv7_bonus %r, %k, %v, %rk : tensor<?x?x64xf32>, tensor<4x16xf32>
  %sum = arith.addf %n, %u : tensor<?x?x64xf32>
  %o = arith.mulf %g, %sum : tensor<?x?x64xf32>
  return %o, %s1 : tensor<?x?x64xf32>, tensor<?x4x16x16xf32>
}

// -----

// Tests that without an output gate the chain still fuses (the bonus may be
// on either side of the addition), and the fused op has no gate.

// CHECK-LABEL: func.func @no_gate
// CHECK-SAME: (%[[R:[^:]+]]: tensor<?x1x64xf32>, %[[K:[^:]+]]: tensor<?x1x64xf32>, %[[V:[^:]+]]: tensor<?x1x64xf32>, %[[X:[^:]+]]: tensor<?x1x64xf32>, %[[S:[^:]+]]: tensor<?x4x16x16xf32>, %[[LW:[^:]+]]: tensor<64xf32>, %[[LB:[^:]+]]: tensor<64xf32>, %[[RK:[^:]+]]: tensor<4x16xf32>)
// CHECK-NEXT: %[[O:.+]], %{{.+}} = rwkv.wkv7_fused %[[R]], %[[X]], %[[K]], %[[V]], %[[X]], %[[X]], %[[S]] norm(%[[LW]], %[[LB]]) bonus(%[[RK]]) {eps
// CHECK-NEXT: return %[[O]]
func.func @no_gate(%r: tensor<?x1x64xf32>, %k: tensor<?x1x64xf32>, %v: tensor<?x1x64xf32>, %x: tensor<?x1x64xf32>, %s: tensor<?x4x16x16xf32>, %lw: tensor<64xf32>, %lb: tensor<64xf32>, %rk: tensor<4x16xf32>) -> (tensor<?x1x64xf32>, tensor<?x4x16x16xf32>) {
  %y, %s1 = rwkv.wkv7 %r, %x, %k, %v, %x, %x, %s : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>
  %n = rwkv.group_norm %y, %lw, %lb {eps = 6.4e-04 : f32, num_groups = 4 : i64} : tensor<?x1x64xf32>, tensor<64xf32>
  %u = rwkv.wkv7_bonus %r, %k, %v, %rk : tensor<?x1x64xf32>, tensor<4x16xf32>
  %sum = arith.addf %u, %n : tensor<?x1x64xf32>
  return %sum, %s1 : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>
}

// -----

// Tests that a WKV output also used outside the chain is not fused.

// CHECK-LABEL: func.func @output_used_twice
// CHECK-NOT: rwkv.wkv7_fused
// CHECK: rwkv.wkv7 
func.func @output_used_twice(%r: tensor<?x1x64xf32>, %s: tensor<?x4x16x16xf32>, %lw: tensor<64xf32>, %rk: tensor<4x16xf32>) -> (tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x4x16x16xf32>) {
  // expected-remark @below {{WKV output not fused: its output is not used by exactly one rwkv.group_norm}}
  %y, %s1 = rwkv.wkv7 %r, %r, %r, %r, %r, %r, %s : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>
  %n = rwkv.group_norm %y, %lw, %lw {eps = 6.4e-04 : f32, num_groups = 4 : i64} : tensor<?x1x64xf32>, tensor<64xf32>
  %u = rwkv.wkv7_bonus %r, %r, %r, %rk : tensor<?x1x64xf32>, tensor<4x16xf32>
  %sum = arith.addf %n, %u : tensor<?x1x64xf32>
  return %sum, %y, %s1 : tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x4x16x16xf32>
}

// -----

// Tests that a group norm whose groups are not the WKV's heads is not
// fused (the fused op normalises per head).

// CHECK-LABEL: func.func @groups_not_heads
// CHECK-NOT: rwkv.wkv7_fused
func.func @groups_not_heads(%r: tensor<?x1x64xf32>, %s: tensor<?x4x16x16xf32>, %lw: tensor<64xf32>, %rk: tensor<4x16xf32>) -> (tensor<?x1x64xf32>, tensor<?x4x16x16xf32>) {
  // expected-remark @below {{WKV output not fused: the group norm has 1 groups, the WKV 4 heads}}
  %y, %s1 = rwkv.wkv7 %r, %r, %r, %r, %r, %r, %s : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>
  %n = rwkv.group_norm %y, %lw, %lw {eps = 6.4e-04 : f32, num_groups = 1 : i64} : tensor<?x1x64xf32>, tensor<64xf32>
  %u = rwkv.wkv7_bonus %r, %r, %r, %rk : tensor<?x1x64xf32>, tensor<4x16xf32>
  %sum = arith.addf %n, %u : tensor<?x1x64xf32>
  return %sum, %s1 : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>
}

// -----

// Tests that a bonus computed from another value than the WKV's is not
// fused.

// CHECK-LABEL: func.func @bonus_of_other_value
// CHECK-NOT: rwkv.wkv7_fused
func.func @bonus_of_other_value(%r: tensor<?x1x64xf32>, %v2: tensor<?x1x64xf32>, %s: tensor<?x4x16x16xf32>, %lw: tensor<64xf32>, %rk: tensor<4x16xf32>) -> (tensor<?x1x64xf32>, tensor<?x4x16x16xf32>) {
  // expected-remark @below {{WKV output not fused: the group norm is not added to rwkv.wkv7_bonus of the WKV's r, k and v}}
  %y, %s1 = rwkv.wkv7 %r, %r, %r, %r, %r, %r, %s : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>
  %n = rwkv.group_norm %y, %lw, %lw {eps = 6.4e-04 : f32, num_groups = 4 : i64} : tensor<?x1x64xf32>, tensor<64xf32>
  %u = rwkv.wkv7_bonus %r, %r, %v2, %rk : tensor<?x1x64xf32>, tensor<4x16xf32>
  %sum = arith.addf %n, %u : tensor<?x1x64xf32>
  return %sum, %s1 : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>
}

// -----

// Tests that a chain whose new state is used before the chain ends is not
// fused: the fused op would come after that use.

// CHECK-LABEL: func.func @state_used_early
// CHECK-NOT: rwkv.wkv7_fused
func.func @state_used_early(%r: tensor<?x1x64xf32>, %s: tensor<?x4x16x16xf32>, %lw: tensor<64xf32>, %rk: tensor<4x16xf32>) -> (tensor<?x1x64xf32>, tensor<?x4x16x16xf32>, index) {
  %c0 = arith.constant 0 : index
  // expected-remark @below {{WKV output not fused: the new state is used before the end of the block}}
  %y, %s1 = rwkv.wkv7 %r, %r, %r, %r, %r, %r, %s : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>
  %d = tensor.dim %s1, %c0 : tensor<?x4x16x16xf32>
  %n = rwkv.group_norm %y, %lw, %lw {eps = 6.4e-04 : f32, num_groups = 4 : i64} : tensor<?x1x64xf32>, tensor<64xf32>
  %u = rwkv.wkv7_bonus %r, %r, %r, %rk : tensor<?x1x64xf32>, tensor<4x16xf32>
  %sum = arith.addf %n, %u : tensor<?x1x64xf32>
  return %sum, %s1, %d : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>, index
}

// -----

// Tests that a bonus whose r and k are swapped relative to the WKV's is not
// fused.

// CHECK-LABEL: func.func @bonus_operands_swapped
// CHECK-NOT: rwkv.wkv7_fused
func.func @bonus_operands_swapped(%r: tensor<?x1x64xf32>, %k: tensor<?x1x64xf32>, %v: tensor<?x1x64xf32>, %s: tensor<?x4x16x16xf32>, %lw: tensor<64xf32>, %rk: tensor<4x16xf32>) -> (tensor<?x1x64xf32>, tensor<?x4x16x16xf32>) {
  // expected-remark @below {{WKV output not fused: the group norm is not added to rwkv.wkv7_bonus of the WKV's r, k and v}}
  %y, %s1 = rwkv.wkv7 %r, %r, %k, %v, %r, %r, %s : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>
  %n = rwkv.group_norm %y, %lw, %lw {eps = 6.4e-04 : f32, num_groups = 4 : i64} : tensor<?x1x64xf32>, tensor<64xf32>
  %u = rwkv.wkv7_bonus %k, %r, %v, %rk : tensor<?x1x64xf32>, tensor<4x16xf32>
  %sum = arith.addf %n, %u : tensor<?x1x64xf32>
  return %sum, %s1 : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>
}
