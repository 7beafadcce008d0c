module @"rwkv7-goose-1.5b" attributes {rwkv.spec_sha256 = "df75fd615269e2fdcc46428ed7d904d20364ec302a0c229ecf7ad861cc0717c7"} {
  func.func @embed(%arg0: tensor<?x1xi32> {rwkv.activation = "tokens"}, %arg1: tensor<65536x2048xf32> {rwkv.param = "emb"}, %arg2: tensor<2048xf32> {rwkv.param = "ln0.weight"}, %arg3: tensor<2048xf32> {rwkv.param = "ln0.bias"}) -> (tensor<?x1x2048xf32> {rwkv.activation = "h"}) attributes {rwkv.entry = "embed", rwkv.layers = array<i64>, rwkv.mode = "recurrent"} {
    %0 = rwkv.embedding %arg0, %arg1 : tensor<?x1xi32>, tensor<65536x2048xf32> -> tensor<?x1x2048xf32>
    %1 = rwkv.layer_norm %0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x1x2048xf32>, tensor<2048xf32>
    return %1 : tensor<?x1x2048xf32>
  }
  func.func @time_mix_0(%arg0: tensor<?x1x2048xf32> {rwkv.activation = "h"}, %arg1: tensor<?x2048xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x32x64x64xf32> {rwkv.state = "wkv"}, %arg3: tensor<2048xf32> {rwkv.param = "ln1.weight"}, %arg4: tensor<2048xf32> {rwkv.param = "ln1.bias"}, %arg5: tensor<2048xf32> {rwkv.param = "att.x_w"}, %arg6: tensor<2048xf32> {rwkv.param = "att.x_k"}, %arg7: tensor<2048xf32> {rwkv.param = "att.x_v"}, %arg8: tensor<2048xf32> {rwkv.param = "att.x_r"}, %arg9: tensor<2048xf32> {rwkv.param = "att.x_g"}, %arg10: tensor<2048xf32> {rwkv.param = "att.x_a"}, %arg11: tensor<2048x2048xf32> {rwkv.param = "att.receptance"}, %arg12: tensor<2048x2048xf32> {rwkv.param = "att.key"}, %arg13: tensor<2048x2048xf32> {rwkv.param = "att.value"}, %arg14: tensor<96x2048xf32> {rwkv.param = "att.w1"}, %arg15: tensor<2048x96xf32> {rwkv.param = "att.w2"}, %arg16: tensor<2048xf32> {rwkv.param = "att.w0"}, %arg17: tensor<96x2048xf32> {rwkv.param = "att.a1"}, %arg18: tensor<2048x96xf32> {rwkv.param = "att.a2"}, %arg19: tensor<2048xf32> {rwkv.param = "att.a0"}, %arg20: tensor<2048xf32> {rwkv.param = "att.k_k"}, %arg21: tensor<2048xf32> {rwkv.param = "att.k_a"}, %arg22: tensor<2048xf32> {rwkv.param = "att.ln_x.weight"}, %arg23: tensor<2048xf32> {rwkv.param = "att.ln_x.bias"}, %arg24: tensor<32x64xf32> {rwkv.param = "att.r_k"}, %arg25: tensor<256x2048xf32> {rwkv.param = "att.g1"}, %arg26: tensor<2048x256xf32> {rwkv.param = "att.g2"}, %arg27: tensor<2048x2048xf32> {rwkv.param = "att.output"}) -> (tensor<?x1x2048xf32> {rwkv.activation = "h"}, tensor<?x2048xf32> {rwkv.state = "att_shift"}, tensor<?x32x64x64xf32> {rwkv.state = "wkv"}, tensor<?x1x2048xf32> {rwkv.activation = "v_first"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 0>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg3, %arg4 {eps = 9.99999974E-6 : f32} : tensor<?x1x2048xf32>, tensor<2048xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x1x2048xf32>, tensor<?x2048xf32>
    %1 = rwkv.lerp %0, %shifted, %arg5 : tensor<?x1x2048xf32>, tensor<2048xf32>
    %2 = rwkv.lerp %0, %shifted, %arg9 : tensor<?x1x2048xf32>, tensor<2048xf32>
    %3 = rwkv.lerp %0, %shifted, %arg10 : tensor<?x1x2048xf32>, tensor<2048xf32>
    %4 = rwkv.shift_lerp_linear previous %0, %arg1, %arg8, %arg11 : tensor<?x1x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x1x2048xf32>
    %5 = rwkv.shift_lerp_linear previous %0, %arg1, %arg6, %arg12 : tensor<?x1x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x1x2048xf32>
    %6 = rwkv.shift_lerp_linear previous %0, %arg1, %arg7, %arg13 : tensor<?x1x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x1x2048xf32>
    %7 = rwkv.lora %1, %arg14, %arg15 bias %arg16 activation tanh : tensor<?x1x2048xf32>, tensor<96x2048xf32>, tensor<2048x96xf32>, tensor<2048xf32> -> tensor<?x1x2048xf32>
    %8 = rwkv.decay sigmoid %7 : tensor<?x1x2048xf32>
    %9 = rwkv.lora %3, %arg17, %arg18 bias %arg19 output_activation sigmoid : tensor<?x1x2048xf32>, tensor<96x2048xf32>, tensor<2048x96xf32>, tensor<2048xf32> -> tensor<?x1x2048xf32>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %5, %c0 : tensor<?x1x2048xf32>
    %10 = tensor.empty(%dim) : tensor<?x1x2048xf32>
    %broadcasted = linalg.broadcast ins(%arg20 : tensor<2048xf32>) outs(%10 : tensor<?x1x2048xf32>) dimensions = [0, 1] 
    %11 = arith.mulf %5, %broadcasted : tensor<?x1x2048xf32>
    %12 = rwkv.l2_norm %11 {head_size = 64 : i64} : tensor<?x1x2048xf32>
    %13 = arith.negf %12 : tensor<?x1x2048xf32>
    %14 = arith.mulf %12, %9 : tensor<?x1x2048xf32>
    %15 = arith.mulf %5, %9 : tensor<?x1x2048xf32>
    %16 = rwkv.lerp %5, %15, %arg21 : tensor<?x1x2048xf32>, tensor<2048xf32>
    %17 = rwkv.lora %2, %arg25, %arg26 activation sigmoid : tensor<?x1x2048xf32>, tensor<256x2048xf32>, tensor<2048x256xf32> -> tensor<?x1x2048xf32>
    %result, %new_state = rwkv.wkv7_fused %4, %8, %16, %6, %13, %14, %arg2 norm(%arg22, %arg23) bonus(%arg24) gate(%17 : tensor<?x1x2048xf32>) {eps = 6.400000e-04 : f32} : tensor<?x1x2048xf32>, tensor<?x32x64x64xf32>, tensor<2048xf32>, tensor<32x64xf32>
    %18 = rwkv.linear %result, %arg27 : tensor<?x1x2048xf32>, tensor<2048x2048xf32> -> tensor<?x1x2048xf32>
    %19 = arith.addf %arg0, %18 : tensor<?x1x2048xf32>
    return %19, %last, %new_state, %6 : tensor<?x1x2048xf32>, tensor<?x2048xf32>, tensor<?x32x64x64xf32>, tensor<?x1x2048xf32>
  }
  func.func @time_mix_1(%arg0: tensor<?x1x2048xf32> {rwkv.activation = "h"}, %arg1: tensor<?x2048xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x32x64x64xf32> {rwkv.state = "wkv"}, %arg3: tensor<?x1x2048xf32> {rwkv.activation = "v_first"}, %arg4: tensor<2048xf32> {rwkv.param = "ln1.weight"}, %arg5: tensor<2048xf32> {rwkv.param = "ln1.bias"}, %arg6: tensor<2048xf32> {rwkv.param = "att.x_w"}, %arg7: tensor<2048xf32> {rwkv.param = "att.x_k"}, %arg8: tensor<2048xf32> {rwkv.param = "att.x_v"}, %arg9: tensor<2048xf32> {rwkv.param = "att.x_r"}, %arg10: tensor<2048xf32> {rwkv.param = "att.x_g"}, %arg11: tensor<2048xf32> {rwkv.param = "att.x_a"}, %arg12: tensor<2048x2048xf32> {rwkv.param = "att.receptance"}, %arg13: tensor<2048x2048xf32> {rwkv.param = "att.key"}, %arg14: tensor<2048x2048xf32> {rwkv.param = "att.value"}, %arg15: tensor<96x2048xf32> {rwkv.param = "att.w1"}, %arg16: tensor<2048x96xf32> {rwkv.param = "att.w2"}, %arg17: tensor<2048xf32> {rwkv.param = "att.w0"}, %arg18: tensor<64x2048xf32> {rwkv.param = "att.v1"}, %arg19: tensor<2048x64xf32> {rwkv.param = "att.v2"}, %arg20: tensor<2048xf32> {rwkv.param = "att.v0"}, %arg21: tensor<96x2048xf32> {rwkv.param = "att.a1"}, %arg22: tensor<2048x96xf32> {rwkv.param = "att.a2"}, %arg23: tensor<2048xf32> {rwkv.param = "att.a0"}, %arg24: tensor<2048xf32> {rwkv.param = "att.k_k"}, %arg25: tensor<2048xf32> {rwkv.param = "att.k_a"}, %arg26: tensor<2048xf32> {rwkv.param = "att.ln_x.weight"}, %arg27: tensor<2048xf32> {rwkv.param = "att.ln_x.bias"}, %arg28: tensor<32x64xf32> {rwkv.param = "att.r_k"}, %arg29: tensor<256x2048xf32> {rwkv.param = "att.g1"}, %arg30: tensor<2048x256xf32> {rwkv.param = "att.g2"}, %arg31: tensor<2048x2048xf32> {rwkv.param = "att.output"}) -> (tensor<?x1x2048xf32> {rwkv.activation = "h"}, tensor<?x2048xf32> {rwkv.state = "att_shift"}, tensor<?x32x64x64xf32> {rwkv.state = "wkv"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg4, %arg5 {eps = 9.99999974E-6 : f32} : tensor<?x1x2048xf32>, tensor<2048xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x1x2048xf32>, tensor<?x2048xf32>
    %1 = rwkv.lerp %0, %shifted, %arg6 : tensor<?x1x2048xf32>, tensor<2048xf32>
    %2 = rwkv.lerp %0, %shifted, %arg8 : tensor<?x1x2048xf32>, tensor<2048xf32>
    %3 = rwkv.lerp %0, %shifted, %arg10 : tensor<?x1x2048xf32>, tensor<2048xf32>
    %4 = rwkv.lerp %0, %shifted, %arg11 : tensor<?x1x2048xf32>, tensor<2048xf32>
    %5 = rwkv.shift_lerp_linear previous %0, %arg1, %arg9, %arg12 : tensor<?x1x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x1x2048xf32>
    %6 = rwkv.shift_lerp_linear previous %0, %arg1, %arg7, %arg13 : tensor<?x1x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x1x2048xf32>
    %7 = rwkv.shift_lerp_linear previous %0, %arg1, %arg8, %arg14 : tensor<?x1x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x1x2048xf32>
    %8 = rwkv.lora %1, %arg15, %arg16 bias %arg17 activation tanh : tensor<?x1x2048xf32>, tensor<96x2048xf32>, tensor<2048x96xf32>, tensor<2048xf32> -> tensor<?x1x2048xf32>
    %9 = rwkv.decay sigmoid %8 : tensor<?x1x2048xf32>
    %10 = rwkv.lora %2, %arg18, %arg19 bias %arg20 output_activation sigmoid : tensor<?x1x2048xf32>, tensor<64x2048xf32>, tensor<2048x64xf32>, tensor<2048xf32> -> tensor<?x1x2048xf32>
    %11 = rwkv.lerp %7, %arg3, %10 : tensor<?x1x2048xf32>, tensor<?x1x2048xf32>
    %12 = rwkv.lora %4, %arg21, %arg22 bias %arg23 output_activation sigmoid : tensor<?x1x2048xf32>, tensor<96x2048xf32>, tensor<2048x96xf32>, tensor<2048xf32> -> tensor<?x1x2048xf32>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %6, %c0 : tensor<?x1x2048xf32>
    %13 = tensor.empty(%dim) : tensor<?x1x2048xf32>
    %broadcasted = linalg.broadcast ins(%arg24 : tensor<2048xf32>) outs(%13 : tensor<?x1x2048xf32>) dimensions = [0, 1] 
    %14 = arith.mulf %6, %broadcasted : tensor<?x1x2048xf32>
    %15 = rwkv.l2_norm %14 {head_size = 64 : i64} : tensor<?x1x2048xf32>
    %16 = arith.negf %15 : tensor<?x1x2048xf32>
    %17 = arith.mulf %15, %12 : tensor<?x1x2048xf32>
    %18 = arith.mulf %6, %12 : tensor<?x1x2048xf32>
    %19 = rwkv.lerp %6, %18, %arg25 : tensor<?x1x2048xf32>, tensor<2048xf32>
    %20 = rwkv.lora %3, %arg29, %arg30 activation sigmoid : tensor<?x1x2048xf32>, tensor<256x2048xf32>, tensor<2048x256xf32> -> tensor<?x1x2048xf32>
    %result, %new_state = rwkv.wkv7_fused %5, %9, %19, %11, %16, %17, %arg2 norm(%arg26, %arg27) bonus(%arg28) gate(%20 : tensor<?x1x2048xf32>) {eps = 6.400000e-04 : f32} : tensor<?x1x2048xf32>, tensor<?x32x64x64xf32>, tensor<2048xf32>, tensor<32x64xf32>
    %21 = rwkv.linear %result, %arg31 : tensor<?x1x2048xf32>, tensor<2048x2048xf32> -> tensor<?x1x2048xf32>
    %22 = arith.addf %arg0, %21 : tensor<?x1x2048xf32>
    return %22, %last, %new_state : tensor<?x1x2048xf32>, tensor<?x2048xf32>, tensor<?x32x64x64xf32>
  }
  func.func @channel_mix_0(%arg0: tensor<?x1x2048xf32> {rwkv.activation = "h"}, %arg1: tensor<?x2048xf32> {rwkv.state = "ffn_shift"}, %arg2: tensor<2048xf32> {rwkv.param = "ln2.weight"}, %arg3: tensor<2048xf32> {rwkv.param = "ln2.bias"}, %arg4: tensor<2048xf32> {rwkv.param = "ffn.x_k"}, %arg5: tensor<8192x2048xf32> {rwkv.param = "ffn.key"}, %arg6: tensor<2048x8192xf32> {rwkv.param = "ffn.value"}) -> (tensor<?x1x2048xf32> {rwkv.activation = "h"}, tensor<?x2048xf32> {rwkv.state = "ffn_shift"}) attributes {rwkv.entry = "channel_mix", rwkv.layers = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x1x2048xf32>, tensor<2048xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x1x2048xf32>, tensor<?x2048xf32>
    %1 = rwkv.lerp %0, %shifted, %arg4 : tensor<?x1x2048xf32>, tensor<2048xf32>
    %2 = rwkv.channel_mix %1, %arg5, %arg6 : tensor<?x1x2048xf32>, tensor<8192x2048xf32>, tensor<2048x8192xf32> -> tensor<?x1x2048xf32>
    %3 = arith.addf %arg0, %2 : tensor<?x1x2048xf32>
    return %3, %last : tensor<?x1x2048xf32>, tensor<?x2048xf32>
  }
  func.func @head(%arg0: tensor<?x1x2048xf32> {rwkv.activation = "h"}, %arg1: tensor<2048xf32> {rwkv.param = "ln_out.weight"}, %arg2: tensor<2048xf32> {rwkv.param = "ln_out.bias"}, %arg3: tensor<65536x2048xf32> {rwkv.param = "head"}) -> (tensor<?x1x65536xf32> {rwkv.activation = "logits"}) attributes {rwkv.entry = "head", rwkv.layers = array<i64>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg1, %arg2 {eps = 9.99999974E-6 : f32} : tensor<?x1x2048xf32>, tensor<2048xf32>
    %1 = rwkv.linear %0, %arg3 : tensor<?x1x2048xf32>, tensor<65536x2048xf32> -> tensor<?x1x65536xf32>
    return %1 : tensor<?x1x65536xf32>
  }
  func.func @embed_parallel(%arg0: tensor<?x?xi32> {rwkv.activation = "tokens"}, %arg1: tensor<65536x2048xf32> {rwkv.param = "emb"}, %arg2: tensor<2048xf32> {rwkv.param = "ln0.weight"}, %arg3: tensor<2048xf32> {rwkv.param = "ln0.bias"}) -> (tensor<?x?x2048xf32> {rwkv.activation = "h"}) attributes {rwkv.entry = "embed", rwkv.layers = array<i64>, rwkv.mode = "parallel"} {
    %0 = rwkv.embedding %arg0, %arg1 : tensor<?x?xi32>, tensor<65536x2048xf32> -> tensor<?x?x2048xf32>
    %1 = rwkv.layer_norm %0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x?x2048xf32>, tensor<2048xf32>
    return %1 : tensor<?x?x2048xf32>
  }
  func.func @time_mix_0_parallel(%arg0: tensor<?x?x2048xf32> {rwkv.activation = "h"}, %arg1: tensor<?x2048xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x32x64x64xf32> {rwkv.state = "wkv"}, %arg3: tensor<2048xf32> {rwkv.param = "ln1.weight"}, %arg4: tensor<2048xf32> {rwkv.param = "ln1.bias"}, %arg5: tensor<2048xf32> {rwkv.param = "att.x_w"}, %arg6: tensor<2048xf32> {rwkv.param = "att.x_k"}, %arg7: tensor<2048xf32> {rwkv.param = "att.x_v"}, %arg8: tensor<2048xf32> {rwkv.param = "att.x_r"}, %arg9: tensor<2048xf32> {rwkv.param = "att.x_g"}, %arg10: tensor<2048xf32> {rwkv.param = "att.x_a"}, %arg11: tensor<2048x2048xf32> {rwkv.param = "att.receptance"}, %arg12: tensor<2048x2048xf32> {rwkv.param = "att.key"}, %arg13: tensor<2048x2048xf32> {rwkv.param = "att.value"}, %arg14: tensor<96x2048xf32> {rwkv.param = "att.w1"}, %arg15: tensor<2048x96xf32> {rwkv.param = "att.w2"}, %arg16: tensor<2048xf32> {rwkv.param = "att.w0"}, %arg17: tensor<96x2048xf32> {rwkv.param = "att.a1"}, %arg18: tensor<2048x96xf32> {rwkv.param = "att.a2"}, %arg19: tensor<2048xf32> {rwkv.param = "att.a0"}, %arg20: tensor<2048xf32> {rwkv.param = "att.k_k"}, %arg21: tensor<2048xf32> {rwkv.param = "att.k_a"}, %arg22: tensor<2048xf32> {rwkv.param = "att.ln_x.weight"}, %arg23: tensor<2048xf32> {rwkv.param = "att.ln_x.bias"}, %arg24: tensor<32x64xf32> {rwkv.param = "att.r_k"}, %arg25: tensor<256x2048xf32> {rwkv.param = "att.g1"}, %arg26: tensor<2048x256xf32> {rwkv.param = "att.g2"}, %arg27: tensor<2048x2048xf32> {rwkv.param = "att.output"}) -> (tensor<?x?x2048xf32> {rwkv.activation = "h"}, tensor<?x2048xf32> {rwkv.state = "att_shift"}, tensor<?x32x64x64xf32> {rwkv.state = "wkv"}, tensor<?x?x2048xf32> {rwkv.activation = "v_first"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 0>, rwkv.mode = "parallel"} {
    %0 = rwkv.layer_norm %arg0, %arg3, %arg4 {eps = 9.99999974E-6 : f32} : tensor<?x?x2048xf32>, tensor<2048xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x?x2048xf32>, tensor<?x2048xf32>
    %1 = rwkv.lerp %0, %shifted, %arg5 : tensor<?x?x2048xf32>, tensor<2048xf32>
    %2 = rwkv.lerp %0, %shifted, %arg9 : tensor<?x?x2048xf32>, tensor<2048xf32>
    %3 = rwkv.lerp %0, %shifted, %arg10 : tensor<?x?x2048xf32>, tensor<2048xf32>
    %4 = rwkv.shift_lerp_linear previous %0, %arg1, %arg8, %arg11 : tensor<?x?x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x?x2048xf32>
    %5 = rwkv.shift_lerp_linear previous %0, %arg1, %arg6, %arg12 : tensor<?x?x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x?x2048xf32>
    %6 = rwkv.shift_lerp_linear previous %0, %arg1, %arg7, %arg13 : tensor<?x?x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x?x2048xf32>
    %7 = rwkv.lora %1, %arg14, %arg15 bias %arg16 activation tanh : tensor<?x?x2048xf32>, tensor<96x2048xf32>, tensor<2048x96xf32>, tensor<2048xf32> -> tensor<?x?x2048xf32>
    %8 = rwkv.decay sigmoid %7 : tensor<?x?x2048xf32>
    %9 = rwkv.lora %3, %arg17, %arg18 bias %arg19 output_activation sigmoid : tensor<?x?x2048xf32>, tensor<96x2048xf32>, tensor<2048x96xf32>, tensor<2048xf32> -> tensor<?x?x2048xf32>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %5, %c0 : tensor<?x?x2048xf32>
    %c1 = arith.constant 1 : index
    %dim_0 = tensor.dim %5, %c1 : tensor<?x?x2048xf32>
    %10 = tensor.empty(%dim, %dim_0) : tensor<?x?x2048xf32>
    %broadcasted = linalg.broadcast ins(%arg20 : tensor<2048xf32>) outs(%10 : tensor<?x?x2048xf32>) dimensions = [0, 1] 
    %11 = arith.mulf %5, %broadcasted : tensor<?x?x2048xf32>
    %12 = rwkv.l2_norm %11 {head_size = 64 : i64} : tensor<?x?x2048xf32>
    %13 = arith.negf %12 : tensor<?x?x2048xf32>
    %14 = arith.mulf %12, %9 : tensor<?x?x2048xf32>
    %15 = arith.mulf %5, %9 : tensor<?x?x2048xf32>
    %16 = rwkv.lerp %5, %15, %arg21 : tensor<?x?x2048xf32>, tensor<2048xf32>
    %17 = rwkv.lora %2, %arg25, %arg26 activation sigmoid : tensor<?x?x2048xf32>, tensor<256x2048xf32>, tensor<2048x256xf32> -> tensor<?x?x2048xf32>
    %result, %new_state = rwkv.wkv7_fused %4, %8, %16, %6, %13, %14, %arg2 norm(%arg22, %arg23) bonus(%arg24) gate(%17 : tensor<?x?x2048xf32>) {eps = 6.400000e-04 : f32} : tensor<?x?x2048xf32>, tensor<?x32x64x64xf32>, tensor<2048xf32>, tensor<32x64xf32>
    %18 = rwkv.linear %result, %arg27 : tensor<?x?x2048xf32>, tensor<2048x2048xf32> -> tensor<?x?x2048xf32>
    %19 = arith.addf %arg0, %18 : tensor<?x?x2048xf32>
    return %19, %last, %new_state, %6 : tensor<?x?x2048xf32>, tensor<?x2048xf32>, tensor<?x32x64x64xf32>, tensor<?x?x2048xf32>
  }
  func.func @time_mix_1_parallel(%arg0: tensor<?x?x2048xf32> {rwkv.activation = "h"}, %arg1: tensor<?x2048xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x32x64x64xf32> {rwkv.state = "wkv"}, %arg3: tensor<?x?x2048xf32> {rwkv.activation = "v_first"}, %arg4: tensor<2048xf32> {rwkv.param = "ln1.weight"}, %arg5: tensor<2048xf32> {rwkv.param = "ln1.bias"}, %arg6: tensor<2048xf32> {rwkv.param = "att.x_w"}, %arg7: tensor<2048xf32> {rwkv.param = "att.x_k"}, %arg8: tensor<2048xf32> {rwkv.param = "att.x_v"}, %arg9: tensor<2048xf32> {rwkv.param = "att.x_r"}, %arg10: tensor<2048xf32> {rwkv.param = "att.x_g"}, %arg11: tensor<2048xf32> {rwkv.param = "att.x_a"}, %arg12: tensor<2048x2048xf32> {rwkv.param = "att.receptance"}, %arg13: tensor<2048x2048xf32> {rwkv.param = "att.key"}, %arg14: tensor<2048x2048xf32> {rwkv.param = "att.value"}, %arg15: tensor<96x2048xf32> {rwkv.param = "att.w1"}, %arg16: tensor<2048x96xf32> {rwkv.param = "att.w2"}, %arg17: tensor<2048xf32> {rwkv.param = "att.w0"}, %arg18: tensor<64x2048xf32> {rwkv.param = "att.v1"}, %arg19: tensor<2048x64xf32> {rwkv.param = "att.v2"}, %arg20: tensor<2048xf32> {rwkv.param = "att.v0"}, %arg21: tensor<96x2048xf32> {rwkv.param = "att.a1"}, %arg22: tensor<2048x96xf32> {rwkv.param = "att.a2"}, %arg23: tensor<2048xf32> {rwkv.param = "att.a0"}, %arg24: tensor<2048xf32> {rwkv.param = "att.k_k"}, %arg25: tensor<2048xf32> {rwkv.param = "att.k_a"}, %arg26: tensor<2048xf32> {rwkv.param = "att.ln_x.weight"}, %arg27: tensor<2048xf32> {rwkv.param = "att.ln_x.bias"}, %arg28: tensor<32x64xf32> {rwkv.param = "att.r_k"}, %arg29: tensor<256x2048xf32> {rwkv.param = "att.g1"}, %arg30: tensor<2048x256xf32> {rwkv.param = "att.g2"}, %arg31: tensor<2048x2048xf32> {rwkv.param = "att.output"}) -> (tensor<?x?x2048xf32> {rwkv.activation = "h"}, tensor<?x2048xf32> {rwkv.state = "att_shift"}, tensor<?x32x64x64xf32> {rwkv.state = "wkv"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23>, rwkv.mode = "parallel"} {
    %0 = rwkv.layer_norm %arg0, %arg4, %arg5 {eps = 9.99999974E-6 : f32} : tensor<?x?x2048xf32>, tensor<2048xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x?x2048xf32>, tensor<?x2048xf32>
    %1 = rwkv.lerp %0, %shifted, %arg6 : tensor<?x?x2048xf32>, tensor<2048xf32>
    %2 = rwkv.lerp %0, %shifted, %arg8 : tensor<?x?x2048xf32>, tensor<2048xf32>
    %3 = rwkv.lerp %0, %shifted, %arg10 : tensor<?x?x2048xf32>, tensor<2048xf32>
    %4 = rwkv.lerp %0, %shifted, %arg11 : tensor<?x?x2048xf32>, tensor<2048xf32>
    %5 = rwkv.shift_lerp_linear previous %0, %arg1, %arg9, %arg12 : tensor<?x?x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x?x2048xf32>
    %6 = rwkv.shift_lerp_linear previous %0, %arg1, %arg7, %arg13 : tensor<?x?x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x?x2048xf32>
    %7 = rwkv.shift_lerp_linear previous %0, %arg1, %arg8, %arg14 : tensor<?x?x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x?x2048xf32>
    %8 = rwkv.lora %1, %arg15, %arg16 bias %arg17 activation tanh : tensor<?x?x2048xf32>, tensor<96x2048xf32>, tensor<2048x96xf32>, tensor<2048xf32> -> tensor<?x?x2048xf32>
    %9 = rwkv.decay sigmoid %8 : tensor<?x?x2048xf32>
    %10 = rwkv.lora %2, %arg18, %arg19 bias %arg20 output_activation sigmoid : tensor<?x?x2048xf32>, tensor<64x2048xf32>, tensor<2048x64xf32>, tensor<2048xf32> -> tensor<?x?x2048xf32>
    %11 = rwkv.lerp %7, %arg3, %10 : tensor<?x?x2048xf32>, tensor<?x?x2048xf32>
    %12 = rwkv.lora %4, %arg21, %arg22 bias %arg23 output_activation sigmoid : tensor<?x?x2048xf32>, tensor<96x2048xf32>, tensor<2048x96xf32>, tensor<2048xf32> -> tensor<?x?x2048xf32>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %6, %c0 : tensor<?x?x2048xf32>
    %c1 = arith.constant 1 : index
    %dim_0 = tensor.dim %6, %c1 : tensor<?x?x2048xf32>
    %13 = tensor.empty(%dim, %dim_0) : tensor<?x?x2048xf32>
    %broadcasted = linalg.broadcast ins(%arg24 : tensor<2048xf32>) outs(%13 : tensor<?x?x2048xf32>) dimensions = [0, 1] 
    %14 = arith.mulf %6, %broadcasted : tensor<?x?x2048xf32>
    %15 = rwkv.l2_norm %14 {head_size = 64 : i64} : tensor<?x?x2048xf32>
    %16 = arith.negf %15 : tensor<?x?x2048xf32>
    %17 = arith.mulf %15, %12 : tensor<?x?x2048xf32>
    %18 = arith.mulf %6, %12 : tensor<?x?x2048xf32>
    %19 = rwkv.lerp %6, %18, %arg25 : tensor<?x?x2048xf32>, tensor<2048xf32>
    %20 = rwkv.lora %3, %arg29, %arg30 activation sigmoid : tensor<?x?x2048xf32>, tensor<256x2048xf32>, tensor<2048x256xf32> -> tensor<?x?x2048xf32>
    %result, %new_state = rwkv.wkv7_fused %5, %9, %19, %11, %16, %17, %arg2 norm(%arg26, %arg27) bonus(%arg28) gate(%20 : tensor<?x?x2048xf32>) {eps = 6.400000e-04 : f32} : tensor<?x?x2048xf32>, tensor<?x32x64x64xf32>, tensor<2048xf32>, tensor<32x64xf32>
    %21 = rwkv.linear %result, %arg31 : tensor<?x?x2048xf32>, tensor<2048x2048xf32> -> tensor<?x?x2048xf32>
    %22 = arith.addf %arg0, %21 : tensor<?x?x2048xf32>
    return %22, %last, %new_state : tensor<?x?x2048xf32>, tensor<?x2048xf32>, tensor<?x32x64x64xf32>
  }
  func.func @channel_mix_0_parallel(%arg0: tensor<?x?x2048xf32> {rwkv.activation = "h"}, %arg1: tensor<?x2048xf32> {rwkv.state = "ffn_shift"}, %arg2: tensor<2048xf32> {rwkv.param = "ln2.weight"}, %arg3: tensor<2048xf32> {rwkv.param = "ln2.bias"}, %arg4: tensor<2048xf32> {rwkv.param = "ffn.x_k"}, %arg5: tensor<8192x2048xf32> {rwkv.param = "ffn.key"}, %arg6: tensor<2048x8192xf32> {rwkv.param = "ffn.value"}) -> (tensor<?x?x2048xf32> {rwkv.activation = "h"}, tensor<?x2048xf32> {rwkv.state = "ffn_shift"}) attributes {rwkv.entry = "channel_mix", rwkv.layers = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23>, rwkv.mode = "parallel"} {
    %0 = rwkv.layer_norm %arg0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x?x2048xf32>, tensor<2048xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x?x2048xf32>, tensor<?x2048xf32>
    %1 = rwkv.lerp %0, %shifted, %arg4 : tensor<?x?x2048xf32>, tensor<2048xf32>
    %2 = rwkv.channel_mix %1, %arg5, %arg6 : tensor<?x?x2048xf32>, tensor<8192x2048xf32>, tensor<2048x8192xf32> -> tensor<?x?x2048xf32>
    %3 = arith.addf %arg0, %2 : tensor<?x?x2048xf32>
    return %3, %last : tensor<?x?x2048xf32>, tensor<?x2048xf32>
  }
  func.func @head_parallel(%arg0: tensor<?x?x2048xf32> {rwkv.activation = "h"}, %arg1: tensor<2048xf32> {rwkv.param = "ln_out.weight"}, %arg2: tensor<2048xf32> {rwkv.param = "ln_out.bias"}, %arg3: tensor<65536x2048xf32> {rwkv.param = "head"}) -> (tensor<?x1x65536xf32> {rwkv.activation = "logits"}) attributes {rwkv.entry = "head", rwkv.layers = array<i64>, rwkv.mode = "parallel"} {
    %c1 = arith.constant 1 : index
    %dim = tensor.dim %arg0, %c1 : tensor<?x?x2048xf32>
    %c1_0 = arith.constant 1 : index
    %0 = arith.subi %dim, %c1_0 : index
    %c0 = arith.constant 0 : index
    %dim_1 = tensor.dim %arg0, %c0 : tensor<?x?x2048xf32>
    %extracted_slice = tensor.extract_slice %arg0[0, %0, 0] [%dim_1, 1, 2048] [1, 1, 1] : tensor<?x?x2048xf32> to tensor<?x1x2048xf32>
    %1 = rwkv.layer_norm %extracted_slice, %arg1, %arg2 {eps = 9.99999974E-6 : f32} : tensor<?x1x2048xf32>, tensor<2048xf32>
    %2 = rwkv.linear %1, %arg3 : tensor<?x1x2048xf32>, tensor<65536x2048xf32> -> tensor<?x1x65536xf32>
    return %2 : tensor<?x1x65536xf32>
  }
}
