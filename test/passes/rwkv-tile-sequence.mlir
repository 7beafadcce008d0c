// RUN: rwkv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(rwkv-tile-sequence{chunk-size=16}, cse))' -verify-diagnostics | FileCheck %s

// Tests that a parallel-form block runs in chunks of 16 tokens: the
// activation argument is sliced per chunk (the last chunk may be shorter),
// the token-shift and WKV states are carried by the loop, and each chunk's
// output goes into its slice of the result.

// CHECK-LABEL: func.func @block
// CHECK-SAME: (%[[H:[^:]+]]: tensor<?x?x32xf32> {rwkv.activation = "h"}, %[[SHIFT:[^:]+]]: tensor<?x32xf32> {rwkv.state = "shift"}, %[[S:[^:]+]]: tensor<?x2x16x16xf32> {rwkv.state = "wkv"})
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG: %[[C16:.+]] = arith.constant 16 : index
// CHECK-DAG: %[[T:.+]] = tensor.dim %[[H]], %[[C1]]
// CHECK-DAG: %[[B:.+]] = tensor.dim %[[H]], %[[C0]]
// CHECK: %[[INIT:.+]] = tensor.empty(%[[B]], %[[T]]) : tensor<?x?x32xf32>
// CHECK: %[[LOOP:.+]]:3 = scf.for %[[T0:.+]] = %[[C0]] to %[[T]] step %[[C16]] iter_args(%[[OUT:.+]] = %[[INIT]], %[[SH:.+]] = %[[SHIFT]], %[[ST:.+]] = %[[S]])
// CHECK:   %[[REST:.+]] = arith.subi %[[T]], %[[T0]]
// CHECK:   %[[LEN:.+]] = arith.minsi %[[C16]], %[[REST]]
// CHECK:   %[[HC:.+]] = tensor.extract_slice %[[H]][0, %[[T0]], 0] [%{{.+}}, %[[LEN]], 32] [1, 1, 1]
// CHECK:   %[[X:.+]], %[[LAST:.+]] = rwkv.token_shift %[[HC]], %[[SH]]
// CHECK:   %[[Y:.+]], %[[NS:.+]] = rwkv.wkv7 %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[ST]]
// CHECK:   %[[O:.+]] = tensor.insert_slice %[[Y]] into %[[OUT]][0, %[[T0]], 0] [%{{.+}}, %[[LEN]], 32] [1, 1, 1]
// CHECK:   scf.yield %[[O]], %[[LAST]], %[[NS]]
// CHECK: return %[[LOOP]]#0, %[[LOOP]]#1, %[[LOOP]]#2
func.func @block(%h: tensor<?x?x32xf32> {rwkv.activation = "h"}, %shift: tensor<?x32xf32> {rwkv.state = "shift"}, %s: tensor<?x2x16x16xf32> {rwkv.state = "wkv"}) -> (tensor<?x?x32xf32> {rwkv.activation = "h"}, tensor<?x32xf32> {rwkv.state = "shift"}, tensor<?x2x16x16xf32> {rwkv.state = "wkv"}) {
  %x, %last = rwkv.token_shift %h, %shift : tensor<?x?x32xf32>, tensor<?x32xf32>
  %y, %s1 = rwkv.wkv7 %x, %x, %x, %x, %x, %x, %s : tensor<?x?x32xf32>, tensor<?x2x16x16xf32>
  return %y, %last, %s1 : tensor<?x?x32xf32>, tensor<?x32xf32>, tensor<?x2x16x16xf32>
}

// -----

// Tests that results are matched to their state arguments by name, not by
// position.

// CHECK-LABEL: func.func @states_in_another_order
// CHECK: %[[LOOP:.+]]:3 = scf.for {{.+}} iter_args(%{{.+}} = %{{.+}}, %[[A:.+]] = %arg1, %[[B:.+]] = %arg2)
// CHECK:   scf.yield %{{.+}}, %[[A]], %[[B]]
// CHECK: return %[[LOOP]]#0, %[[LOOP]]#2, %[[LOOP]]#1
func.func @states_in_another_order(%h: tensor<?x?x32xf32> {rwkv.activation = "h"}, %a: tensor<?x32xf32> {rwkv.state = "a"}, %b: tensor<?x32xf32> {rwkv.state = "b"}) -> (tensor<?x?x32xf32> {rwkv.activation = "h"}, tensor<?x32xf32> {rwkv.state = "b"}, tensor<?x32xf32> {rwkv.state = "a"}) {
  return %h, %b, %a : tensor<?x?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
}

// -----

// Tests that the recurrent form (T = 1) and functions without a state are
// left alone.

// CHECK-LABEL: func.func @recurrent
// CHECK-NOT: scf.for
// CHECK: return
func.func @recurrent(%h: tensor<?x1x32xf32> {rwkv.activation = "h"}, %shift: tensor<?x32xf32> {rwkv.state = "shift"}) -> (tensor<?x1x32xf32> {rwkv.activation = "h"}, tensor<?x32xf32> {rwkv.state = "shift"}) {
  %x, %last = rwkv.token_shift %h, %shift : tensor<?x1x32xf32>, tensor<?x32xf32>
  return %x, %last : tensor<?x1x32xf32>, tensor<?x32xf32>
}

// CHECK-LABEL: func.func @stateless
// CHECK-NOT: scf.for
// CHECK: return
func.func @stateless(%h: tensor<?x?x32xf32> {rwkv.activation = "h"}, %w: tensor<32xf32> {rwkv.param = "ln.weight"}) -> (tensor<?x?x32xf32> {rwkv.activation = "h"}) {
  %y = rwkv.layer_norm %h, %w, %w {eps = 1.0e-05 : f32} : tensor<?x?x32xf32>, tensor<32xf32>
  return %y : tensor<?x?x32xf32>
}

// -----

// Tests that a state result without a state argument of its name is not
// tiled, with a remark.

// CHECK-LABEL: func.func @orphan_state
// CHECK-NOT: scf.for
// expected-remark @below {{sequence not tiled: state result 'other' has no state argument}}
func.func @orphan_state(%h: tensor<?x?x32xf32> {rwkv.activation = "h"}, %a: tensor<?x32xf32> {rwkv.state = "a"}) -> (tensor<?x?x32xf32> {rwkv.activation = "h"}, tensor<?x32xf32> {rwkv.state = "other"}) {
  return %h, %a : tensor<?x?x32xf32>, tensor<?x32xf32>
}

// -----

// Tests that two state arguments of one name, a state returned twice and a
// state result of another type than its argument are not tiled, with
// remarks.

// CHECK-LABEL: func.func @duplicate_names
// CHECK-NOT: scf.for
// expected-remark @below {{sequence not tiled: two state arguments are named 'a'}}
func.func @duplicate_names(%h: tensor<?x?x32xf32> {rwkv.activation = "h"}, %a: tensor<?x32xf32> {rwkv.state = "a"}, %b: tensor<?x32xf32> {rwkv.state = "a"}) -> (tensor<?x?x32xf32> {rwkv.activation = "h"}, tensor<?x32xf32> {rwkv.state = "a"}) {
  return %h, %a : tensor<?x?x32xf32>, tensor<?x32xf32>
}

// CHECK-LABEL: func.func @returned_twice
// CHECK-NOT: scf.for
// expected-remark @below {{sequence not tiled: a state is returned twice}}
func.func @returned_twice(%h: tensor<?x?x32xf32> {rwkv.activation = "h"}, %a: tensor<?x32xf32> {rwkv.state = "a"}, %b: tensor<?x32xf32> {rwkv.state = "b"}) -> (tensor<?x?x32xf32> {rwkv.activation = "h"}, tensor<?x32xf32> {rwkv.state = "a"}, tensor<?x32xf32> {rwkv.state = "a"}) {
  return %h, %a, %a : tensor<?x?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
}

// CHECK-LABEL: func.func @state_type_changes
// CHECK-NOT: scf.for
// expected-remark @below {{sequence not tiled: state result 'a' has another type than its argument}}
func.func @state_type_changes(%h: tensor<?x?x32xf32> {rwkv.activation = "h"}, %a: tensor<?x32xf32> {rwkv.state = "a"}, %c: tensor<2x32xf32>) -> (tensor<?x?x32xf32> {rwkv.activation = "h"}, tensor<2x32xf32> {rwkv.state = "a"}) {
  return %h, %c : tensor<?x?x32xf32>, tensor<2x32xf32>
}
