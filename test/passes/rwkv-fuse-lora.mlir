// RUN: rwkv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(rwkv-fuse-lora))' -verify-diagnostics | FileCheck %s

// Tests that a decay LoRA chain (linear, tanh, linear, bias) becomes one
// rwkv.lora and that its primitive ops are gone.

// CHECK-LABEL: func.func @decay_lora
// CHECK-SAME: (%[[X:.+]]: tensor<?x1x64xf32>, %[[A:.+]]: tensor<16x64xf32>, %[[B:.+]]: tensor<64x16xf32>, %[[W0:.+]]: tensor<64xf32>)
// CHECK-NEXT: %[[Z:.+]] = rwkv.lora %[[X]], %[[A]], %[[B]] bias %[[W0]] activation tanh
// CHECK-NEXT: return %[[Z]]
func.func @decay_lora(%x: tensor<?x1x64xf32>, %a: tensor<16x64xf32>, %b: tensor<64x16xf32>, %w0: tensor<64xf32>) -> tensor<?x1x64xf32> {
  %h = rwkv.linear %x, %a : tensor<?x1x64xf32>, tensor<16x64xf32> -> tensor<?x1x16xf32>
  %t = rwkv.activation tanh %h : tensor<?x1x16xf32>
  %y = rwkv.linear %t, %b : tensor<?x1x16xf32>, tensor<64x16xf32> -> tensor<?x1x64xf32>
  %z = rwkv.bias_add %y, %w0 : tensor<?x1x64xf32>, tensor<64xf32>
  return %z : tensor<?x1x64xf32>
}

// -----

// Tests that the v7 ICL-rate LoRA (no middle activation, bias, sigmoid
// output) fuses with its output activation.

// CHECK-LABEL: func.func @iclr_lora
// CHECK-NEXT: rwkv.lora %{{.+}}, %{{.+}}, %{{.+}} bias %{{.+}} output_activation sigmoid
// CHECK-NEXT: return
func.func @iclr_lora(%x: tensor<?x?x64xf32>, %a: tensor<16x64xf32>, %b: tensor<64x16xf32>, %a0: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %h = rwkv.linear %x, %a : tensor<?x?x64xf32>, tensor<16x64xf32> -> tensor<?x?x16xf32>
  %y = rwkv.linear %h, %b : tensor<?x?x16xf32>, tensor<64x16xf32> -> tensor<?x?x64xf32>
  %z = rwkv.bias_add %y, %a0 : tensor<?x?x64xf32>, tensor<64xf32>
  %s = rwkv.activation sigmoid %z : tensor<?x?x64xf32>
  return %s : tensor<?x?x64xf32>
}

// -----

// Tests that a chain whose hidden activations are also used elsewhere is
// not fused, with a remark.

// CHECK-LABEL: func.func @shared_hidden
// CHECK-NOT: rwkv.lora
// CHECK: rwkv.activation tanh
func.func @shared_hidden(%x: tensor<?x1x64xf32>, %a: tensor<16x64xf32>, %b: tensor<64x16xf32>) -> (tensor<?x1x64xf32>, tensor<?x1x16xf32>) {
  %h = rwkv.linear %x, %a : tensor<?x1x64xf32>, tensor<16x64xf32> -> tensor<?x1x16xf32>
  %t = rwkv.activation tanh %h : tensor<?x1x16xf32>
  // expected-remark @below {{LoRA not fused: its hidden activations are also used outside the block}}
  %y = rwkv.linear %t, %b : tensor<?x1x16xf32>, tensor<64x16xf32> -> tensor<?x1x64xf32>
  return %y, %t : tensor<?x1x64xf32>, tensor<?x1x16xf32>
}

// -----

// Tests that two projections through a wider middle (not low-rank) are not
// a LoRA.

// CHECK-LABEL: func.func @wide_middle
// CHECK-NOT: rwkv.lora
// CHECK-COUNT-2: rwkv.linear
func.func @wide_middle(%x: tensor<?x1x64xf32>, %a: tensor<128x64xf32>, %b: tensor<64x128xf32>) -> tensor<?x1x64xf32> {
  %h = rwkv.linear %x, %a : tensor<?x1x64xf32>, tensor<128x64xf32> -> tensor<?x1x128xf32>
  %y = rwkv.linear %h, %b : tensor<?x1x128xf32>, tensor<64x128xf32> -> tensor<?x1x64xf32>
  return %y : tensor<?x1x64xf32>
}
