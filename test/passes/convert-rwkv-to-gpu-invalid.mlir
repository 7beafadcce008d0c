// RUN: rwkv-opt %s -split-input-file -convert-rwkv-to-gpu -verify-diagnostics

// Tests that ops the GPU lowering does not apply to are reported, not
// miscompiled: a projection whose weight shape is not static.

func.func @dynamic_weight(%x: tensor<?x1x64xf32>, %w: tensor<?x64xf32>) -> tensor<?x1x?xf32> {
  // expected-error @+1 {{could not be lowered for the GPU: the GPU lowering needs static channel counts, head sizes and weight shapes}}
  %y = rwkv.linear %x, %w : tensor<?x1x64xf32>, tensor<?x64xf32> -> tensor<?x1x?xf32>
  return %y : tensor<?x1x?xf32>
}

// -----

// A norm over a dynamic number of channels.

func.func @dynamic_channels(%x: tensor<?x1x?xf32>, %w: tensor<?xf32>, %b: tensor<?xf32>) -> tensor<?x1x?xf32> {
  // expected-error @+1 {{could not be lowered for the GPU}}
  %y = rwkv.layer_norm %x, %w, %b {eps = 1.0e-05 : f32} : tensor<?x1x?xf32>, tensor<?xf32>
  return %y : tensor<?x1x?xf32>
}

// -----

// Q8_0 weights have CPU kernels only.

func.func @q8_0_weight(%x: tensor<?x1x64xf32>, %w: tensor<16x2x34xi8>) -> tensor<?x1x16xf32> {
  // expected-error @+2 {{'rwkv.linear' op has Q8_0 weights, which have CPU kernels only}}
  // expected-error @+1 {{could not be lowered for the GPU}}
  %y = rwkv.linear %x, %w : tensor<?x1x64xf32>, tensor<16x2x34xi8> -> tensor<?x1x16xf32>
  return %y : tensor<?x1x16xf32>
}
