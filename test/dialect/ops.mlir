// RUN: rwkv-opt %s | rwkv-opt | FileCheck %s
// RUN: rwkv-opt %s --mlir-print-op-generic | rwkv-opt | FileCheck %s

// Tests that every rwkv op prints and parses back in its custom form.

// CHECK-LABEL: func.func @embedding_and_norms
func.func @embedding_and_norms(%tok: tensor<?x1xi32>, %emb: tensor<256x64xf32>,
                               %w: tensor<64xf32>, %b: tensor<64xf32>)
    -> tensor<?x1x64xf32> {
  // CHECK: %[[X:.+]] = rwkv.embedding %{{.+}}, %{{.+}} : tensor<?x1xi32>, tensor<256x64xf32> -> tensor<?x1x64xf32>
  %x = rwkv.embedding %tok, %emb : tensor<?x1xi32>, tensor<256x64xf32> -> tensor<?x1x64xf32>
  // CHECK: %[[LN:.+]] = rwkv.layer_norm %[[X]], %{{.+}}, %{{.+}} {eps = 9.99999974E-6 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
  %ln = rwkv.layer_norm %x, %w, %b {eps = 1.0e-5 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
  // CHECK: %[[GN:.+]] = rwkv.group_norm %[[LN]], %{{.+}}, %{{.+}} {eps = 6.400000e-04 : f32, num_groups = 8 : i64} : tensor<?x1x64xf32>, tensor<64xf32>
  %gn = rwkv.group_norm %ln, %w, %b {num_groups = 8, eps = 6.4e-4 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
  // CHECK: rwkv.l2_norm %[[GN]] {head_size = 8 : i64} : tensor<?x1x64xf32>
  %l2 = rwkv.l2_norm %gn {head_size = 8} : tensor<?x1x64xf32>
  return %l2 : tensor<?x1x64xf32>
}

// CHECK-LABEL: func.func @shift_and_mix
func.func @shift_and_mix(%x: tensor<?x3x64xf32>, %prev: tensor<?x64xf32>,
                         %mu: tensor<64xf32>)
    -> (tensor<?x3x64xf32>, tensor<?x3x64xf32>, tensor<?x64xf32>) {
  // CHECK: %[[SX:[^,]+]], %{{.+}} = rwkv.token_shift %{{.+}}, %{{.+}} : tensor<?x3x64xf32>, tensor<?x64xf32>
  %sx, %last = rwkv.token_shift %x, %prev : tensor<?x3x64xf32>, tensor<?x64xf32>
  // CHECK: rwkv.lerp %{{.+}}, %[[SX]], %{{.+}} : tensor<?x3x64xf32>, tensor<64xf32>
  %xr = rwkv.lerp %x, %sx, %mu : tensor<?x3x64xf32>, tensor<64xf32>
  // CHECK: rwkv.lerp %{{.+}}, %{{.+}}, %{{.+}} : tensor<?x3x64xf32>, tensor<?x3x64xf32>
  %full = rwkv.lerp %x, %sx, %xr : tensor<?x3x64xf32>, tensor<?x3x64xf32>
  return %xr, %full, %last : tensor<?x3x64xf32>, tensor<?x3x64xf32>, tensor<?x64xf32>
}

// CHECK-LABEL: func.func @projections
func.func @projections(%x: tensor<?x1x64xf32>, %w: tensor<128x64xf32>,
                       %down: tensor<32x64xf32>, %up: tensor<64x32xf32>,
                       %bias: tensor<64xf32>, %fk: tensor<256x64xf32>,
                       %fv: tensor<64x256xf32>)
    -> (tensor<?x1x128xf32>, tensor<?x1x64xf32>, tensor<?x1x64xf32>,
        tensor<?x1x64xf32>, tensor<?x1x64xf32>) {
  // CHECK: rwkv.linear %{{.+}}, %{{.+}} : tensor<?x1x64xf32>, tensor<128x64xf32> -> tensor<?x1x128xf32>
  %y = rwkv.linear %x, %w : tensor<?x1x64xf32>, tensor<128x64xf32> -> tensor<?x1x128xf32>
  // CHECK: %[[Z:.+]] = rwkv.lora %{{.+}}, %{{.+}}, %{{.+}} bias %{{.+}} activation tanh : tensor<?x1x64xf32>, tensor<32x64xf32>, tensor<64x32xf32>, tensor<64xf32> -> tensor<?x1x64xf32>
  %z = rwkv.lora %x, %down, %up bias %bias activation tanh : tensor<?x1x64xf32>, tensor<32x64xf32>, tensor<64x32xf32>, tensor<64xf32> -> tensor<?x1x64xf32>
  // CHECK: rwkv.lora %{{.+}}, %{{.+}}, %{{.+}} bias %{{.+}} output_activation sigmoid :
  %alpha = rwkv.lora %x, %down, %up bias %bias output_activation sigmoid : tensor<?x1x64xf32>, tensor<32x64xf32>, tensor<64x32xf32>, tensor<64xf32> -> tensor<?x1x64xf32>
  // CHECK: rwkv.lora %{{.+}}, %{{.+}}, %{{.+}} activation sigmoid : tensor<?x1x64xf32>, tensor<32x64xf32>, tensor<64x32xf32> -> tensor<?x1x64xf32>
  %g = rwkv.lora %x, %down, %up activation sigmoid : tensor<?x1x64xf32>, tensor<32x64xf32>, tensor<64x32xf32> -> tensor<?x1x64xf32>
  // CHECK: rwkv.decay sigmoid %[[Z]] : tensor<?x1x64xf32>
  %w7 = rwkv.decay sigmoid %z : tensor<?x1x64xf32>
  // CHECK: rwkv.decay exp_neg_exp
  %w6 = rwkv.decay exp_neg_exp %z : tensor<?x1x64xf32>
  // CHECK: rwkv.channel_mix %{{.+}}, %{{.+}}, %{{.+}} : tensor<?x1x64xf32>, tensor<256x64xf32>, tensor<64x256xf32> -> tensor<?x1x64xf32>
  %o = rwkv.channel_mix %x, %fk, %fv : tensor<?x1x64xf32>, tensor<256x64xf32>, tensor<64x256xf32> -> tensor<?x1x64xf32>
  return %y, %alpha, %g, %w7, %o : tensor<?x1x128xf32>, tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1x64xf32>
}

// CHECK-LABEL: func.func @wkv7
func.func @wkv7(%r: tensor<?x2x64xf32>, %w: tensor<?x2x64xf32>,
                %k: tensor<?x2x64xf32>, %v: tensor<?x2x64xf32>,
                %a: tensor<?x2x64xf32>, %b: tensor<?x2x64xf32>,
                %s: tensor<?x8x8x8xf32>, %rk: tensor<8x8xf32>)
    -> (tensor<?x2x64xf32>, tensor<?x8x8x8xf32>) {
  // CHECK: %{{[^,]+}}, %{{.+}} = rwkv.wkv7 %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<?x2x64xf32>, tensor<?x8x8x8xf32>
  %y, %s1 = rwkv.wkv7 %r, %w, %k, %v, %a, %b, %s : tensor<?x2x64xf32>, tensor<?x8x8x8xf32>
  // CHECK: rwkv.wkv7_bonus %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<?x2x64xf32>, tensor<8x8xf32>
  %u = rwkv.wkv7_bonus %r, %k, %v, %rk : tensor<?x2x64xf32>, tensor<8x8xf32>
  return %u, %s1 : tensor<?x2x64xf32>, tensor<?x8x8x8xf32>
}

// CHECK-LABEL: func.func @shift_lerp_linear
func.func @shift_lerp_linear(%x: tensor<?x?x64xf32>, %prev: tensor<?x64xf32>,
                             %mu: tensor<64xf32>, %w: tensor<32x64xbf16>)
    -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  // CHECK: rwkv.shift_lerp_linear previous %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<?x?x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<32x64xbf16> -> tensor<?x?x32xf32>
  %a = rwkv.shift_lerp_linear previous %x, %prev, %mu, %w : tensor<?x?x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<32x64xbf16> -> tensor<?x?x32xf32>
  // CHECK: rwkv.shift_lerp_linear current
  %b = rwkv.shift_lerp_linear current %x, %prev, %mu, %w : tensor<?x?x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<32x64xbf16> -> tensor<?x?x32xf32>
  return %a, %b : tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// CHECK-LABEL: func.func @wkv7_fused
func.func @wkv7_fused(%r: tensor<?x2x64xf32>, %s: tensor<?x8x8x8xf32>,
                      %lw: tensor<64xbf16>, %rk: tensor<8x8xf32>)
    -> (tensor<?x2x64xf32>, tensor<?x2x64xf32>) {
  // CHECK: rwkv.wkv7_fused %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} norm(%{{.+}}, %{{.+}}) bonus(%{{.+}}) gate(%{{.+}} : tensor<?x2x64xf32>) {eps = 6.400000e-04 : f32} : tensor<?x2x64xf32>, tensor<?x8x8x8xf32>, tensor<64xbf16>, tensor<8x8xf32>
  %o, %s1 = rwkv.wkv7_fused %r, %r, %r, %r, %r, %r, %s norm(%lw, %lw) bonus(%rk) gate(%r : tensor<?x2x64xf32>) {eps = 6.4e-04 : f32} : tensor<?x2x64xf32>, tensor<?x8x8x8xf32>, tensor<64xbf16>, tensor<8x8xf32>
  // CHECK: rwkv.wkv7_fused {{.+}} bonus(%{{[^)]+}}) {eps
  %o2, %s2 = rwkv.wkv7_fused %r, %r, %r, %r, %r, %r, %s1 norm(%lw, %lw) bonus(%rk) {eps = 6.4e-04 : f32} : tensor<?x2x64xf32>, tensor<?x8x8x8xf32>, tensor<64xbf16>, tensor<8x8xf32>
  return %o, %o2 : tensor<?x2x64xf32>, tensor<?x2x64xf32>
}

// CHECK-LABEL: func.func @generations
func.func @generations(%x: tensor<?x1x64xf32>, %c: tensor<64xf32>, %row: tensor<?x64xf32>,
                       %s: tensor<?x8x8x8xf32>, %down: tensor<96x64xf32>, %up: tensor<3x64x32xf32>,
                       %k: tensor<256x64xf32>, %v: tensor<64x256xf32>, %r: tensor<64x64xf32>)
    -> (tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1x64xf32>) {
  // CHECK: rwkv.wkv4 %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<?x1x64xf32>, tensor<64xf32>, tensor<?x64xf32>
  %y4, %a, %b, %p = rwkv.wkv4 %x, %x, %c, %c, %row, %row, %row : tensor<?x1x64xf32>, tensor<64xf32>, tensor<?x64xf32>
  // CHECK: rwkv.wkv5 %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<?x1x64xf32>, tensor<64xf32>, tensor<?x8x8x8xf32>
  %y5, %s5 = rwkv.wkv5 %x, %x, %x, %x, %c, %s : tensor<?x1x64xf32>, tensor<64xf32>, tensor<?x8x8x8xf32>
  // CHECK: rwkv.ddlerp %{{.+}}, %{{.+}}, %{{[^[]+}}[%{{.+}}, %{{.+}}, %{{.+}}], %{{.+}}, %{{.+}} : tensor<?x1x64xf32>, tensor<64xf32>[tensor<64xf32>, tensor<64xf32>, tensor<64xf32>], tensor<96x64xf32>, tensor<3x64x32xf32> -> tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1x64xf32>
  %m0, %m1, %m2 = rwkv.ddlerp %x, %x, %c [%c, %c, %c], %down, %up
      : tensor<?x1x64xf32>, tensor<64xf32> [tensor<64xf32>, tensor<64xf32>, tensor<64xf32>], tensor<96x64xf32>, tensor<3x64x32xf32>
      -> tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1x64xf32>
  // CHECK: rwkv.channel_mix %{{.+}}, %{{.+}}, %{{.+}} gate(%{{.+}}, %{{.+}} : tensor<?x1x64xf32>, tensor<64x64xf32>) : tensor<?x1x64xf32>, tensor<256x64xf32>, tensor<64x256xf32> -> tensor<?x1x64xf32>
  %o = rwkv.channel_mix %x, %k, %v gate(%x, %r : tensor<?x1x64xf32>, tensor<64x64xf32>) : tensor<?x1x64xf32>, tensor<256x64xf32>, tensor<64x256xf32> -> tensor<?x1x64xf32>
  return %y4, %y5, %m0, %o : tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1x64xf32>
}

// CHECK-LABEL: func.func @primitives
func.func @primitives(%x: tensor<?x?x64xf32>, %b: tensor<64xf32>) -> tensor<?x?x64xf32> {
  // CHECK: rwkv.activation relu_square %{{.+}} : tensor<?x?x64xf32>
  %a = rwkv.activation relu_square %x : tensor<?x?x64xf32>
  // CHECK: rwkv.bias_add %{{.+}}, %{{.+}} : tensor<?x?x64xf32>, tensor<64xf32>
  %y = rwkv.bias_add %a, %b : tensor<?x?x64xf32>, tensor<64xf32>
  return %y : tensor<?x?x64xf32>
}

// CHECK-LABEL: func.func @rms_norm_and_activations
func.func @rms_norm_and_activations(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>)
    -> tensor<?x?x64xf32> {
  // CHECK: %[[N:.+]] = rwkv.rms_norm %{{.+}}, %{{.+}} {eps = 9.99999997E-7 : f32} : tensor<?x?x64xf32>, tensor<64xf32>
  %n = rwkv.rms_norm %x, %w {eps = 1.0e-6 : f32} : tensor<?x?x64xf32>, tensor<64xf32>
  // CHECK: %[[S:.+]] = rwkv.activation silu %[[N]] : tensor<?x?x64xf32>
  %s = rwkv.activation silu %n : tensor<?x?x64xf32>
  // CHECK: %[[G:.+]] = rwkv.activation gelu %[[S]] : tensor<?x?x64xf32>
  %g = rwkv.activation gelu %s : tensor<?x?x64xf32>
  // CHECK: rwkv.activation mish %[[G]] : tensor<?x?x64xf32>
  %m = rwkv.activation mish %g : tensor<?x?x64xf32>
  return %m : tensor<?x?x64xf32>
}

// CHECK-LABEL: func.func @causal_attention
func.func @causal_attention(%q: tensor<?x?x32xf32>, %ck: tensor<?x64x32xf32>,
                            %n: tensor<?x1xf32>)
    -> (tensor<?x?x32xf32>, tensor<?x64x32xf32>, tensor<?x64x32xf32>, tensor<?x1xf32>) {
  // CHECK: rwkv.causal_attention %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {scale = 0.176776692 : f32} : tensor<?x?x32xf32>, tensor<?x64x32xf32>, tensor<?x1xf32>
  %y, %k1, %v1, %n1 = rwkv.causal_attention %q, %q, %q, %ck, %ck, %n {scale = 0.176776695 : f32}
      : tensor<?x?x32xf32>, tensor<?x64x32xf32>, tensor<?x1xf32>
  return %y, %k1, %v1, %n1 : tensor<?x?x32xf32>, tensor<?x64x32xf32>, tensor<?x64x32xf32>, tensor<?x1xf32>
}

// CHECK-LABEL: func.func @wkv1
func.func @wkv1(%k: tensor<?x?x128xf32>, %w: tensor<4x64xf32>,
                %hist: tensor<?x64x128xf32>, %den: tensor<?x128xf32>,
                %n: tensor<?x1xf32>)
    -> (tensor<?x?x128xf32>, tensor<?x64x128xf32>, tensor<?x128xf32>, tensor<?x1xf32>) {
  // CHECK: rwkv.wkv1 %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<?x?x128xf32>, tensor<4x64xf32>, tensor<?x64x128xf32>, tensor<?x128xf32>, tensor<?x1xf32>
  %y, %h1, %d1, %n1 = rwkv.wkv1 %k, %k, %w, %w, %w, %hist, %den, %n
      : tensor<?x?x128xf32>, tensor<4x64xf32>, tensor<?x64x128xf32>, tensor<?x128xf32>, tensor<?x1xf32>
  return %y, %h1, %d1, %n1 : tensor<?x?x128xf32>, tensor<?x64x128xf32>, tensor<?x128xf32>, tensor<?x1xf32>
}

// CHECK-LABEL: func.func @rwkv2_3
func.func @rwkv2_3(%k: tensor<?x1x64xf32>, %w: tensor<64xf32>, %a: tensor<?x64xf32>,
                   %q: tensor<?x1x256xf32>, %hk: tensor<?x?x256xf32>, %t: tensor<?x?xi32>,
                   %ck: tensor<?x64x256xf32>, %ct: tensor<?x64xf32>, %n: tensor<?x1xf32>)
    -> (tensor<?x1x64xf32>, tensor<?x1x256xf32>) {
  // CHECK: rwkv.wkv4 %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {eps = 9.99999993E-9 : f32} : tensor<?x1x64xf32>, tensor<64xf32>, tensor<?x64xf32>
  %y, %a1, %b1, %p1 = rwkv.wkv4 %k, %k, %w, %w, %a, %a, %a {eps = 1.0e-8 : f32}
      : tensor<?x1x64xf32>, tensor<64xf32>, tensor<?x64xf32>
  // CHECK: rwkv.head_qk %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {scale = 3.906250e-03 : f32, vocab = 256 : i64} : tensor<?x1x256xf32>, tensor<?x?x256xf32>, tensor<?x?xi32>, tensor<?x64x256xf32>, tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x1x256xf32>
  %c, %ck1, %ct1, %n1 = rwkv.head_qk %q, %hk, %t, %ck, %ct, %n {scale = 3.906250e-03 : f32, vocab = 256 : i64}
      : tensor<?x1x256xf32>, tensor<?x?x256xf32>, tensor<?x?xi32>, tensor<?x64x256xf32>, tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x1x256xf32>
  return %y, %c : tensor<?x1x64xf32>, tensor<?x1x256xf32>
}

// Q8_0 projection weights: [out, in/32, 34] i8 blocks.
// CHECK-LABEL: func.func @q8_0_projections
func.func @q8_0_projections(%x: tensor<?x1x64xf32>, %prev: tensor<?x64xf32>,
                            %mu: tensor<64xf32>, %w: tensor<128x2x34xi8>,
                            %fk: tensor<256x2x34xi8>, %fv: tensor<64x8x34xi8>)
    -> (tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x64xf32>) {
  // CHECK: rwkv.linear %{{.+}}, %{{.+}} : tensor<?x1x64xf32>, tensor<128x2x34xi8> -> tensor<?x1x128xf32>
  %y = rwkv.linear %x, %w : tensor<?x1x64xf32>, tensor<128x2x34xi8> -> tensor<?x1x128xf32>
  // CHECK: rwkv.shift_lerp_linear previous
  %s = rwkv.shift_lerp_linear previous %x, %prev, %mu, %w : tensor<?x1x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<128x2x34xi8> -> tensor<?x1x128xf32>
  // CHECK: rwkv.channel_mix %{{.+}}, %{{.+}}, %{{.+}} : tensor<?x1x64xf32>, tensor<256x2x34xi8>, tensor<64x8x34xi8> -> tensor<?x1x64xf32>
  %c = rwkv.channel_mix %x, %fk, %fv : tensor<?x1x64xf32>, tensor<256x2x34xi8>, tensor<64x8x34xi8> -> tensor<?x1x64xf32>
  return %y, %s, %c : tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x64xf32>
}
