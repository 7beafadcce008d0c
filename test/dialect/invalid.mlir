// RUN: rwkv-opt %s -split-input-file -verify-diagnostics

// Tests that the verifiers name the operand, the dimension and the expected
// value for each malformed op.

func.func @embedding_width(%t: tensor<?x1xi32>, %e: tensor<256x64xf32>) {
  // expected-error @+1 {{'rwkv.embedding' op expects dimension 2 of 'result' to be 64 (the embedding width of 'table'), got 32}}
  %x = rwkv.embedding %t, %e : tensor<?x1xi32>, tensor<256x64xf32> -> tensor<?x1x32xf32>
  return
}

// -----

func.func @layer_norm_weight(%x: tensor<?x1x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{'rwkv.layer_norm' op expects dimension 0 of 'weight' to be 64 (the channel count C), got 32}}
  %y = rwkv.layer_norm %x, %w, %w {eps = 1.0e-5 : f32} : tensor<?x1x64xf32>, tensor<32xf32>
  return
}

// -----

func.func @layer_norm_eps(%x: tensor<?x1x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'rwkv.layer_norm' op expects a positive 'eps', got 0}}
  %y = rwkv.layer_norm %x, %w, %w {eps = 0.0 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @layer_norm_rank(%x: tensor<?x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'rwkv.layer_norm' op expects 'input' of rank 3 [B, T, C], got 'tensor<?x64xf32>'}}
  %y = rwkv.layer_norm %x, %w, %w {eps = 1.0e-5 : f32} : tensor<?x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @group_norm_groups(%x: tensor<?x1x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'rwkv.group_norm' op expects 'num_groups' (6) to divide the channel count 64 into equal groups}}
  %y = rwkv.group_norm %x, %w, %w {num_groups = 6, eps = 6.4e-4 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @l2_norm_head_size(%x: tensor<?x1x64xf32>) {
  // expected-error @+1 {{'rwkv.l2_norm' op expects 'head_size' (48) to divide the channel count 64 into whole heads}}
  %y = rwkv.l2_norm %x {head_size = 48} : tensor<?x1x64xf32>
  return
}

// -----

func.func @token_shift_prev(%x: tensor<?x1x64xf32>, %p: tensor<?x32xf32>) {
  // expected-error @+1 {{'rwkv.token_shift' op expects dimension 1 of 'prev' to be 64 (the channel count of 'input'), got 32}}
  %s, %l = rwkv.token_shift %x, %p : tensor<?x1x64xf32>, tensor<?x32xf32>
  return
}

// -----

func.func @lerp_weight(%x: tensor<?x1x64xf32>, %mu: tensor<2x64xf32>) {
  // expected-error @+1 {{'rwkv.lerp' op expects 'weight' of rank 1 [C] or rank 3 [B, T, C], got 'tensor<2x64xf32>'}}
  %y = rwkv.lerp %x, %x, %mu : tensor<?x1x64xf32>, tensor<2x64xf32>
  return
}

// -----

func.func @linear_in_width(%x: tensor<?x1x64xf32>, %w: tensor<128x32xf32>) {
  // expected-error @+1 {{'rwkv.linear' op expects dimension 1 of 'weight' to be 64 (the input width K), got 32}}
  %y = rwkv.linear %x, %w : tensor<?x1x64xf32>, tensor<128x32xf32> -> tensor<?x1x128xf32>
  return
}

// -----

func.func @linear_out_width(%x: tensor<?x1x64xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{'rwkv.linear' op expects dimension 2 of 'result' to be 128 (the output width M of 'weight'), got 64}}
  %y = rwkv.linear %x, %w : tensor<?x1x64xf32>, tensor<128x64xf32> -> tensor<?x1x64xf32>
  return
}

// -----

func.func @lora_rank(%x: tensor<?x1x64xf32>, %d: tensor<32x64xf32>, %u: tensor<64x16xf32>) {
  // expected-error @+1 {{'rwkv.lora' op expects dimension 1 of 'up' to be 32 (the rank D of 'down'), got 16}}
  %y = rwkv.lora %x, %d, %u : tensor<?x1x64xf32>, tensor<32x64xf32>, tensor<64x16xf32> -> tensor<?x1x64xf32>
  return
}

// -----

func.func @lora_bias(%x: tensor<?x1x64xf32>, %d: tensor<32x64xf32>, %u: tensor<64x32xf32>, %b: tensor<32xf32>) {
  // expected-error @+1 {{'rwkv.lora' op expects dimension 0 of 'bias' to be 64 (the channel count C), got 32}}
  %y = rwkv.lora %x, %d, %u bias %b : tensor<?x1x64xf32>, tensor<32x64xf32>, tensor<64x32xf32>, tensor<32xf32> -> tensor<?x1x64xf32>
  return
}

// -----

func.func @lora_activation(%x: tensor<?x1x64xf32>, %d: tensor<32x64xf32>, %u: tensor<64x32xf32>) {
  // expected-error @+1 {{'rwkv.lora' op supports activations none, tanh and sigmoid; relu_square is a channel-mix activation}}
  %y = rwkv.lora %x, %d, %u activation relu_square : tensor<?x1x64xf32>, tensor<32x64xf32>, tensor<64x32xf32> -> tensor<?x1x64xf32>
  return
}

// -----

func.func @wkv7_channels(%r: tensor<?x1x64xf32>, %s: tensor<?x2x16x16xf32>) {
  // expected-error @+1 {{'rwkv.wkv7' op expects dimension 2 of 'r' to be 32 (H * N from 'state'), got 64}}
  %y, %s1 = rwkv.wkv7 %r, %r, %r, %r, %r, %r, %s : tensor<?x1x64xf32>, tensor<?x2x16x16xf32>
  return
}

// -----

func.func @shift_lerp_linear_prev(%x: tensor<?x1x64xf32>, %prev: tensor<?x32xf32>, %mu: tensor<64xf32>, %w: tensor<16x64xf32>) {
  // expected-error @+1 {{'rwkv.shift_lerp_linear' op expects dimension 1 of 'prev' to be 64 (the channel count of 'input'), got 32}}
  %y = rwkv.shift_lerp_linear previous %x, %prev, %mu, %w : tensor<?x1x64xf32>, tensor<?x32xf32>, tensor<64xf32>, tensor<16x64xf32> -> tensor<?x1x16xf32>
  return
}

// -----

func.func @wkv7_fused_r_k(%r: tensor<?x1x64xf32>, %s: tensor<?x4x16x16xf32>, %lw: tensor<64xf32>, %rk: tensor<4x8xf32>) {
  // expected-error @+1 {{'rwkv.wkv7_fused' op expects dimension 1 of 'r_k' to be 16 (N from 'state'), got 8}}
  %o, %s1 = rwkv.wkv7_fused %r, %r, %r, %r, %r, %r, %s norm(%lw, %lw) bonus(%rk) {eps = 6.4e-04 : f32} : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>, tensor<64xf32>, tensor<4x8xf32>
  return
}

// -----

func.func @wkv7_fused_gate(%r: tensor<?x1x64xf32>, %g: tensor<?x2x64xf32>, %s: tensor<?x4x16x16xf32>, %lw: tensor<64xf32>, %rk: tensor<4x16xf32>) {
  // expected-error @+1 {{'rwkv.wkv7_fused' op expects 'gate' to have the type of 'r' ('tensor<?x1x64xf32>'), got 'tensor<?x2x64xf32>'}}
  %o, %s1 = rwkv.wkv7_fused %r, %r, %r, %r, %r, %r, %s norm(%lw, %lw) bonus(%rk) gate(%g : tensor<?x2x64xf32>) {eps = 6.4e-04 : f32} : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>, tensor<64xf32>, tensor<4x16xf32>
  return
}

// -----

func.func @wkv7_fused_norm(%r: tensor<?x1x64xf32>, %s: tensor<?x4x16x16xf32>, %lw: tensor<32xf32>, %rk: tensor<4x16xf32>) {
  // expected-error @+1 {{'rwkv.wkv7_fused' op expects dimension 0 of 'norm_weight' to be 64 (the channel count C), got 32}}
  %o, %s1 = rwkv.wkv7_fused %r, %r, %r, %r, %r, %r, %s norm(%lw, %lw) bonus(%rk) {eps = 6.4e-04 : f32} : tensor<?x1x64xf32>, tensor<?x4x16x16xf32>, tensor<32xf32>, tensor<4x16xf32>
  return
}

// -----

func.func @wkv7_square(%r: tensor<?x1x64xf32>, %s: tensor<?x1x64x32xf32>) {
  // expected-error @+1 {{'rwkv.wkv7' op expects dimension 3 of 'state' to be 64 (a square N x N state per head), got 32}}
  %y, %s1 = rwkv.wkv7 %r, %r, %r, %r, %r, %r, %s : tensor<?x1x64xf32>, tensor<?x1x64x32xf32>
  return
}

// -----

func.func @wkv7_batch(%r: tensor<2x1x64xf32>, %s: tensor<3x1x64x64xf32>) {
  // expected-error @+1 {{'rwkv.wkv7' op expects dimension 0 of 'state' to be 2 (the batch size of 'r'), got 3}}
  %y, %s1 = rwkv.wkv7 %r, %r, %r, %r, %r, %r, %s : tensor<2x1x64xf32>, tensor<3x1x64x64xf32>
  return
}

// -----

func.func @wkv7_bonus(%r: tensor<?x1x64xf32>, %rk: tensor<4x8xf32>) {
  // expected-error @+1 {{'rwkv.wkv7_bonus' op expects dimension 2 of 'r' to be 32 (H * N from 'r_k'), got 64}}
  %u = rwkv.wkv7_bonus %r, %r, %r, %rk : tensor<?x1x64xf32>, tensor<4x8xf32>
  return
}

// -----

func.func @channel_mix_hidden(%x: tensor<?x1x64xf32>, %k: tensor<256x64xf32>, %v: tensor<64x128xf32>) {
  // expected-error @+1 {{'rwkv.channel_mix' op expects dimension 1 of 'value' to be 256 (the hidden width F of 'key'), got 128}}
  %y = rwkv.channel_mix %x, %k, %v : tensor<?x1x64xf32>, tensor<256x64xf32>, tensor<64x128xf32> -> tensor<?x1x64xf32>
  return
}

// -----

func.func @decay_type(%x: tensor<?x1x64xf32>) {
  // expected-error @+1 {{'rwkv.decay' op result #0 must be ranked tensor of 32-bit float values}}
  %y = "rwkv.decay"(%x) {kind = 0 : i32} : (tensor<?x1x64xf32>) -> tensor<?x1x64xi32>
  return
}

// -----

func.func @wkv4_state(%k: tensor<?x1x64xf32>, %w: tensor<64xf32>, %s: tensor<?x32xf32>) {
  // expected-error @+1 {{'rwkv.wkv4' op expects dimension 1 of 'a' to be 64 (the channel count of 'k'), got 32}}
  %y, %a, %b, %p = rwkv.wkv4 %k, %k, %w, %w, %s, %s, %s : tensor<?x1x64xf32>, tensor<64xf32>, tensor<?x32xf32>
  return
}

// -----

func.func @wkv5_bonus(%r: tensor<?x1x64xf32>, %u: tensor<32xf32>, %s: tensor<?x8x8x8xf32>) {
  // expected-error @+1 {{'rwkv.wkv5' op expects dimension 0 of 'u' to be 64 (the channel count C), got 32}}
  %y, %s1 = rwkv.wkv5 %r, %r, %r, %r, %u, %s : tensor<?x1x64xf32>, tensor<32xf32>, tensor<?x8x8x8xf32>
  return
}

// -----

func.func @ddlerp_rank(%x: tensor<?x1x64xf32>, %c: tensor<64xf32>, %down: tensor<90x64xf32>, %up: tensor<3x64x32xf32>) {
  // expected-error @+1 {{'rwkv.ddlerp' op expects dimension 0 of 'down' to be 96 (K times the rank D of 'up'), got 90}}
  %m0, %m1, %m2 = rwkv.ddlerp %x, %x, %c [%c, %c, %c], %down, %up
      : tensor<?x1x64xf32>, tensor<64xf32> [tensor<64xf32>, tensor<64xf32>, tensor<64xf32>], tensor<90x64xf32>, tensor<3x64x32xf32>
      -> tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1x64xf32>
  return
}

// -----

func.func @ddlerp_count(%x: tensor<?x1x64xf32>, %c: tensor<64xf32>, %down: tensor<64x64xf32>, %up: tensor<2x64x32xf32>) {
  // expected-error @+1 {{'rwkv.ddlerp' op expects one result per 'mu' vector (2), got 1}}
  %m0 = rwkv.ddlerp %x, %x, %c [%c, %c], %down, %up
      : tensor<?x1x64xf32>, tensor<64xf32> [tensor<64xf32>, tensor<64xf32>], tensor<64x64xf32>, tensor<2x64x32xf32>
      -> tensor<?x1x64xf32>
  return
}

// -----

func.func @channel_mix_gate(%x: tensor<?x1x64xf32>, %k: tensor<256x64xf32>, %v: tensor<64x256xf32>, %r: tensor<64x32xf32>) {
  // expected-error @+1 {{'rwkv.channel_mix' op expects dimension 1 of 'receptance' to be 64 (the input width C), got 32}}
  %o = rwkv.channel_mix %x, %k, %v gate(%x, %r : tensor<?x1x64xf32>, tensor<64x32xf32>) : tensor<?x1x64xf32>, tensor<256x64xf32>, tensor<64x256xf32> -> tensor<?x1x64xf32>
  return
}

// -----

func.func @activation_none(%x: tensor<?x1x64xf32>) {
  // expected-error @+1 {{'rwkv.activation' op expects an activation other than 'none' (omit the op instead)}}
  %a = rwkv.activation none %x : tensor<?x1x64xf32>
  return
}

// -----

func.func @bias_width(%x: tensor<?x1x64xf32>, %b: tensor<32xf32>) {
  // expected-error @+1 {{'rwkv.bias_add' op expects dimension 0 of 'bias' to be 64 (the channel count M of 'input'), got 32}}
  %y = rwkv.bias_add %x, %b : tensor<?x1x64xf32>, tensor<32xf32>
  return
}

// -----

func.func @rms_norm_weight(%x: tensor<?x1x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{'rwkv.rms_norm' op expects dimension 0 of 'weight' to be 64 (the channel count C), got 32}}
  %y = rwkv.rms_norm %x, %w {eps = 1.0e-6 : f32} : tensor<?x1x64xf32>, tensor<32xf32>
  return
}

// -----

func.func @rms_norm_eps(%x: tensor<?x1x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'rwkv.rms_norm' op expects a positive 'eps', got 0}}
  %y = rwkv.rms_norm %x, %w {eps = 0.0 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @attention_width(%q: tensor<?x?x32xf32>, %c: tensor<?x64x16xf32>, %n: tensor<?x1xf32>) {
  // expected-error @+1 {{'rwkv.causal_attention' op expects dimension 2 of 'cache_k' to be 32 (the head width of 'q'), got 16}}
  %y, %k, %v, %m = rwkv.causal_attention %q, %q, %q, %c, %c, %n {scale = 0.1 : f32} : tensor<?x?x32xf32>, tensor<?x64x16xf32>, tensor<?x1xf32>
  return
}

// -----

func.func @attention_length(%q: tensor<?x?x32xf32>, %c: tensor<?x?x32xf32>, %n: tensor<?x1xf32>) {
  // expected-error @+1 {{'rwkv.causal_attention' op expects a static cache length L}}
  %y, %k, %v, %m = rwkv.causal_attention %q, %q, %q, %c, %c, %n {scale = 0.1 : f32} : tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x1xf32>
  return
}

// -----

func.func @attention_count(%q: tensor<?x?x32xf32>, %c: tensor<?x64x32xf32>, %n: tensor<?x2xf32>) {
  // expected-error @+1 {{'rwkv.causal_attention' op expects dimension 1 of 'count' to be 1 (1), got 2}}
  %y, %k, %v, %m = rwkv.causal_attention %q, %q, %q, %c, %c, %n {scale = 0.1 : f32} : tensor<?x?x32xf32>, tensor<?x64x32xf32>, tensor<?x2xf32>
  return
}

// -----

func.func @wkv4_eps(%k: tensor<?x1x64xf32>, %w: tensor<64xf32>, %a: tensor<?x64xf32>) {
  // expected-error @+1 {{'rwkv.wkv4' op expects a finite 'eps' >= 0, got -1.000000e-08}}
  %y, %a1, %b1, %p1 = rwkv.wkv4 %k, %k, %w, %w, %a, %a, %a {eps = -1.0e-8 : f32} : tensor<?x1x64xf32>, tensor<64xf32>, tensor<?x64xf32>
  return
}

// -----

func.func @head_qk_vocab(%q: tensor<?x1x256xf32>, %k: tensor<?x?x256xf32>, %t: tensor<?x?xi32>, %ck: tensor<?x64x256xf32>, %ct: tensor<?x64xf32>, %n: tensor<?x1xf32>) {
  // expected-error @+1 {{'rwkv.head_qk' op expects dimension 2 of 'y' to be 256 ('vocab'), got 100}}
  %y, %ck1, %ct1, %n1 = rwkv.head_qk %q, %k, %t, %ck, %ct, %n {scale = 0.1 : f32, vocab = 256 : i64} : tensor<?x1x256xf32>, tensor<?x?x256xf32>, tensor<?x?xi32>, tensor<?x64x256xf32>, tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x1x100xf32>
  return
}

// -----

func.func @head_qk_window(%q: tensor<?x1x256xf32>, %k: tensor<?x?x256xf32>, %t: tensor<?x?xi32>, %ck: tensor<?x64x256xf32>, %ct: tensor<?x32xf32>, %n: tensor<?x1xf32>) {
  // expected-error @+1 {{'rwkv.head_qk' op expects dimension 1 of 'cache_tokens' to be 64 (the window length of 'cache_k'), got 32}}
  %y, %ck1, %ct1, %n1 = rwkv.head_qk %q, %k, %t, %ck, %ct, %n {scale = 0.1 : f32, vocab = 256 : i64} : tensor<?x1x256xf32>, tensor<?x?x256xf32>, tensor<?x?xi32>, tensor<?x64x256xf32>, tensor<?x32xf32>, tensor<?x1xf32> -> tensor<?x1x256xf32>
  return
}

// -----

func.func @head_qk_queries(%q: tensor<?x3x256xf32>, %k: tensor<?x2x256xf32>, %t: tensor<?x2xi32>, %ck: tensor<?x64x256xf32>, %ct: tensor<?x64xf32>, %n: tensor<?x1xf32>) {
  // expected-error @+1 {{'rwkv.head_qk' op expects at most as many queries as keys (the queries are the call's last tokens), got 3 and 2}}
  %y, %ck1, %ct1, %n1 = rwkv.head_qk %q, %k, %t, %ck, %ct, %n {scale = 0.1 : f32, vocab = 256 : i64} : tensor<?x3x256xf32>, tensor<?x2x256xf32>, tensor<?x2xi32>, tensor<?x64x256xf32>, tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x3x256xf32>
  return
}

// -----

func.func @wkv1_heads(%k: tensor<?x?x128xf32>, %w: tensor<3x64xf32>, %hist: tensor<?x64x128xf32>, %den: tensor<?x128xf32>, %n: tensor<?x1xf32>) {
  // expected-error @+1 {{'rwkv.wkv1' op expects the 3 heads of 'time_w' to divide the width 128}}
  %y, %h1, %d1, %n1 = rwkv.wkv1 %k, %k, %w, %w, %w, %hist, %den, %n : tensor<?x?x128xf32>, tensor<3x64xf32>, tensor<?x64x128xf32>, tensor<?x128xf32>, tensor<?x1xf32>
  return
}

// -----

func.func @wkv1_history(%k: tensor<?x?x128xf32>, %w: tensor<4x64xf32>, %hist: tensor<?x32x128xf32>, %den: tensor<?x128xf32>, %n: tensor<?x1xf32>) {
  // expected-error @+1 {{'rwkv.wkv1' op expects dimension 1 of 'history' to be 64 (the context length L of 'time_w'), got 32}}
  %y, %h1, %d1, %n1 = rwkv.wkv1 %k, %k, %w, %w, %w, %hist, %den, %n : tensor<?x?x128xf32>, tensor<4x64xf32>, tensor<?x32x128xf32>, tensor<?x128xf32>, tensor<?x1xf32>
  return
}

// -----

func.func @wkv1_den(%k: tensor<?x?x128xf32>, %w: tensor<4x64xf32>, %hist: tensor<?x64x128xf32>, %den: tensor<?x64xf32>, %n: tensor<?x1xf32>) {
  // expected-error @+1 {{'rwkv.wkv1' op expects dimension 1 of 'den' to be 128 (the width of 'k'), got 64}}
  %y, %h1, %d1, %n1 = rwkv.wkv1 %k, %k, %w, %w, %w, %hist, %den, %n : tensor<?x?x128xf32>, tensor<4x64xf32>, tensor<?x64x128xf32>, tensor<?x64xf32>, tensor<?x1xf32>
  return
}

// -----

func.func @linear_q8_0_in_width(%x: tensor<?x1x64xf32>, %w: tensor<16x4x34xi8>) {
  // expected-error @+1 {{'rwkv.linear' op expects 'weight' to hold 64 / 32 Q8_0 blocks per row (the input width K), got 4 (128 inputs)}}
  %y = rwkv.linear %x, %w : tensor<?x1x64xf32>, tensor<16x4x34xi8> -> tensor<?x1x16xf32>
  return
}

// -----

func.func @linear_q8_0_block_bytes(%x: tensor<?x1x64xf32>, %w: tensor<16x2x32xi8>) {
  // expected-error @+1 {{'rwkv.linear' op expects i8 'weight' to be Q8_0 blocks [out, in/32, 34] with a static block count, got 'tensor<16x2x32xi8>'}}
  %y = rwkv.linear %x, %w : tensor<?x1x64xf32>, tensor<16x2x32xi8> -> tensor<?x1x16xf32>
  return
}

// -----

func.func @channel_mix_q8_0_value(%x: tensor<?x1x64xf32>, %k: tensor<256x2x34xi8>, %v: tensor<64x2x34xi8>) {
  // expected-error @+1 {{'rwkv.channel_mix' op expects 'value' to hold 256 / 32 Q8_0 blocks per row (the hidden width F of 'key'), got 2 (64 inputs)}}
  %y = rwkv.channel_mix %x, %k, %v : tensor<?x1x64xf32>, tensor<256x2x34xi8>, tensor<64x2x34xi8> -> tensor<?x1x64xf32>
  return
}

// -----

func.func @lora_q8_0(%x: tensor<?x1x64xf32>, %d: tensor<32x2x34xi8>, %u: tensor<64x32xf32>) {
  // expected-error @+1 {{'rwkv.lora' op operand #1 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %y = rwkv.lora %x, %d, %u : tensor<?x1x64xf32>, tensor<32x2x34xi8>, tensor<64x32xf32> -> tensor<?x1x64xf32>
  return
}
