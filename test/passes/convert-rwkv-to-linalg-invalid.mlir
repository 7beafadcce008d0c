// RUN: rwkv-opt %s -split-input-file -convert-rwkv-to-linalg -verify-diagnostics

// Tests that ops the CPU lowering cannot handle are reported, not
// miscompiled.

func.func @dynamic_weight(%x: tensor<?x1x64xf32>, %w: tensor<?x64xf32>) -> tensor<?x1x?xf32> {
  // expected-error @+1 {{could not be lowered: the CPU lowering needs static channel counts, static weight shapes and an f32 embedding table}}
  %y = rwkv.linear %x, %w : tensor<?x1x64xf32>, tensor<?x64xf32> -> tensor<?x1x?xf32>
  return %y : tensor<?x1x?xf32>
}

// -----

func.func @dynamic_channels(%x: tensor<?x1x?xf32>, %w: tensor<?xf32>) -> tensor<?x1x?xf32> {
  // expected-error @+1 {{could not be lowered}}
  %y = rwkv.layer_norm %x, %w, %w {eps = 1.0e-5 : f32} : tensor<?x1x?xf32>, tensor<?xf32>
  return %y : tensor<?x1x?xf32>
}

// -----

func.func @f16_table(%t: tensor<?x1xi32>, %e: tensor<256x64xf16>) -> tensor<?x1x64xf32> {
  // expected-error @+1 {{could not be lowered}}
  %x = rwkv.embedding %t, %e : tensor<?x1xi32>, tensor<256x64xf16> -> tensor<?x1x64xf32>
  return %x : tensor<?x1x64xf32>
}
