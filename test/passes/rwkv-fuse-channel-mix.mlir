// RUN: rwkv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(rwkv-fuse-channel-mix, rwkv-fuse-lora))' -verify-diagnostics | FileCheck %s
// rwkv-fuse-lora runs after it, as in rwkv-fusion-pipeline, so the case whose
// channel mix is not fused also shows that the LoRA fusion leaves it alone.

// Tests that the gated RWKV-4..6 channel mix fuses into rwkv.channel_mix
// with its receptance gate, whichever side of the multiply the gate is on.

// CHECK-LABEL: func.func @gated_channel_mix
// CHECK-SAME: (%[[XK:.+]]: tensor<?x1x64xf32>, %[[XR:.+]]: tensor<?x1x64xf32>, %[[K:.+]]: tensor<224x64xf32>, %[[V:.+]]: tensor<64x224xf32>, %[[R:.+]]: tensor<64x64xf32>)
// CHECK-NEXT: %[[O:.+]] = rwkv.channel_mix %[[XK]], %[[K]], %[[V]] gate(%[[XR]], %[[R]] :
// CHECK-NEXT: return %[[O]]
func.func @gated_channel_mix(%xk: tensor<?x1x64xf32>, %xr: tensor<?x1x64xf32>, %k: tensor<224x64xf32>, %v: tensor<64x224xf32>, %r: tensor<64x64xf32>) -> tensor<?x1x64xf32> {
  %h = rwkv.linear %xk, %k : tensor<?x1x64xf32>, tensor<224x64xf32> -> tensor<?x1x224xf32>
  %a = rwkv.activation relu_square %h : tensor<?x1x224xf32>
  %kv = rwkv.linear %a, %v : tensor<?x1x224xf32>, tensor<64x224xf32> -> tensor<?x1x64xf32>
  %rr = rwkv.linear %xr, %r : tensor<?x1x64xf32>, tensor<64x64xf32> -> tensor<?x1x64xf32>
  %g = rwkv.activation sigmoid %rr : tensor<?x1x64xf32>
  %o = arith.mulf %kv, %g : tensor<?x1x64xf32>
  return %o : tensor<?x1x64xf32>
}

// -----

// Tests the ungated RWKV-7 channel mix, and that a channel mix whose key
// activations are used elsewhere stays unfused, with a remark (and is not
// taken for a LoRA either).

// CHECK-LABEL: func.func @channel_mix_v7
// CHECK: rwkv.channel_mix
// CHECK-NOT: gate
// CHECK-LABEL: func.func @shared_keys
// CHECK-NOT: rwkv.channel_mix
// CHECK-NOT: rwkv.lora
// CHECK: rwkv.activation relu_square
func.func @channel_mix_v7(%xk: tensor<?x?x64xf32>, %k: tensor<256x64xf32>, %v: tensor<64x256xf32>) -> tensor<?x?x64xf32> {
  %h = rwkv.linear %xk, %k : tensor<?x?x64xf32>, tensor<256x64xf32> -> tensor<?x?x256xf32>
  %a = rwkv.activation relu_square %h : tensor<?x?x256xf32>
  %o = rwkv.linear %a, %v : tensor<?x?x256xf32>, tensor<64x256xf32> -> tensor<?x?x64xf32>
  return %o : tensor<?x?x64xf32>
}
func.func @shared_keys(%xk: tensor<?x1x64xf32>, %k: tensor<16x64xf32>, %v: tensor<64x16xf32>) -> (tensor<?x1x64xf32>, tensor<?x1x16xf32>) {
  %h = rwkv.linear %xk, %k : tensor<?x1x64xf32>, tensor<16x64xf32> -> tensor<?x1x16xf32>
  %a = rwkv.activation relu_square %h : tensor<?x1x16xf32>
  // expected-remark @below {{channel mix not fused: its hidden activations are also used outside the block}}
  // expected-remark @below {{LoRA not fused: relu_square is a channel-mix activation}}
  %o = rwkv.linear %a, %v : tensor<?x1x16xf32>, tensor<64x16xf32> -> tensor<?x1x64xf32>
  return %o, %a : tensor<?x1x64xf32>, tensor<?x1x16xf32>
}
