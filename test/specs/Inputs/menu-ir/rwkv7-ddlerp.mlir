module @"rwkv7-ddlerp-example" attributes {rwkv.spec_sha256 = "fe369983332690400c19593180ba76d213bcec405b420173a29bafc9e5f56295"} {
  func.func @embed(%arg0: tensor<?x1xi32> {rwkv.activation = "tokens"}, %arg1: tensor<512x128xf32> {rwkv.param = "emb"}, %arg2: tensor<128xf32> {rwkv.param = "ln0.weight"}, %arg3: tensor<128xf32> {rwkv.param = "ln0.bias"}) -> (tensor<?x1x128xf32> {rwkv.activation = "h"}) attributes {rwkv.entry = "embed", rwkv.layers = array<i64>, rwkv.mode = "recurrent"} {
    %0 = rwkv.embedding %arg0, %arg1 : tensor<?x1xi32>, tensor<512x128xf32> -> tensor<?x1x128xf32>
    %1 = rwkv.layer_norm %0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x1x128xf32>, tensor<128xf32>
    return %1 : tensor<?x1x128xf32>
  }
  func.func @time_mix_0(%arg0: tensor<?x1x128xf32> {rwkv.activation = "h"}, %arg1: tensor<?x128xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x4x32x32xf32> {rwkv.state = "wkv"}, %arg3: tensor<128xf32> {rwkv.param = "ln1.weight"}, %arg4: tensor<128xf32> {rwkv.param = "ln1.bias"}, %arg5: tensor<128xf32> {rwkv.param = "att.time_maa_x"}, %arg6: tensor<128xf32> {rwkv.param = "att.time_maa_w"}, %arg7: tensor<128xf32> {rwkv.param = "att.time_maa_k"}, %arg8: tensor<128xf32> {rwkv.param = "att.time_maa_v"}, %arg9: tensor<128xf32> {rwkv.param = "att.time_maa_r"}, %arg10: tensor<128xf32> {rwkv.param = "att.time_maa_g"}, %arg11: tensor<128xf32> {rwkv.param = "att.time_maa_a"}, %arg12: tensor<192x128xf32> {rwkv.param = "att.time_maa_w1"}, %arg13: tensor<6x128x32xf32> {rwkv.param = "att.time_maa_w2"}, %arg14: tensor<128x128xf32> {rwkv.param = "att.receptance"}, %arg15: tensor<128x128xf32> {rwkv.param = "att.key"}, %arg16: tensor<128x128xf32> {rwkv.param = "att.value"}, %arg17: tensor<32x128xf32> {rwkv.param = "att.w1"}, %arg18: tensor<128x32xf32> {rwkv.param = "att.w2"}, %arg19: tensor<128xf32> {rwkv.param = "att.w0"}, %arg20: tensor<32x128xf32> {rwkv.param = "att.a1"}, %arg21: tensor<128x32xf32> {rwkv.param = "att.a2"}, %arg22: tensor<128xf32> {rwkv.param = "att.a0"}, %arg23: tensor<128xf32> {rwkv.param = "att.k_k"}, %arg24: tensor<128xf32> {rwkv.param = "att.k_a"}, %arg25: tensor<128xf32> {rwkv.param = "att.ln_x.weight"}, %arg26: tensor<128xf32> {rwkv.param = "att.ln_x.bias"}, %arg27: tensor<4x32xf32> {rwkv.param = "att.r_k"}, %arg28: tensor<32x128xf32> {rwkv.param = "att.g1"}, %arg29: tensor<128x32xf32> {rwkv.param = "att.g2"}, %arg30: tensor<128x128xf32> {rwkv.param = "att.output"}) -> (tensor<?x1x128xf32> {rwkv.activation = "h"}, tensor<?x128xf32> {rwkv.state = "att_shift"}, tensor<?x4x32x32xf32> {rwkv.state = "wkv"}, tensor<?x1x128xf32> {rwkv.activation = "v_first"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 0>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg3, %arg4 {eps = 9.99999974E-6 : f32} : tensor<?x1x128xf32>, tensor<128xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x1x128xf32>, tensor<?x128xf32>
    %1:6 = rwkv.ddlerp %0, %shifted, %arg5[%arg6, %arg7, %arg8, %arg9, %arg10, %arg11], %arg12, %arg13 : tensor<?x1x128xf32>, tensor<128xf32>[tensor<128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>], tensor<192x128xf32>, tensor<6x128x32xf32> -> tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x128xf32>
    %2 = rwkv.linear %1#3, %arg14 : tensor<?x1x128xf32>, tensor<128x128xf32> -> tensor<?x1x128xf32>
    %3 = rwkv.linear %1#1, %arg15 : tensor<?x1x128xf32>, tensor<128x128xf32> -> tensor<?x1x128xf32>
    %4 = rwkv.linear %1#2, %arg16 : tensor<?x1x128xf32>, tensor<128x128xf32> -> tensor<?x1x128xf32>
    %5 = rwkv.lora %1#0, %arg17, %arg18 bias %arg19 activation tanh : tensor<?x1x128xf32>, tensor<32x128xf32>, tensor<128x32xf32>, tensor<128xf32> -> tensor<?x1x128xf32>
    %6 = rwkv.decay sigmoid %5 : tensor<?x1x128xf32>
    %7 = rwkv.lora %1#5, %arg20, %arg21 bias %arg22 output_activation sigmoid : tensor<?x1x128xf32>, tensor<32x128xf32>, tensor<128x32xf32>, tensor<128xf32> -> tensor<?x1x128xf32>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %3, %c0 : tensor<?x1x128xf32>
    %8 = tensor.empty(%dim) : tensor<?x1x128xf32>
    %broadcasted = linalg.broadcast ins(%arg23 : tensor<128xf32>) outs(%8 : tensor<?x1x128xf32>) dimensions = [0, 1] 
    %9 = arith.mulf %3, %broadcasted : tensor<?x1x128xf32>
    %10 = rwkv.l2_norm %9 {head_size = 32 : i64} : tensor<?x1x128xf32>
    %11 = arith.negf %10 : tensor<?x1x128xf32>
    %12 = arith.mulf %10, %7 : tensor<?x1x128xf32>
    %13 = arith.mulf %3, %7 : tensor<?x1x128xf32>
    %14 = rwkv.lerp %3, %13, %arg24 : tensor<?x1x128xf32>, tensor<128xf32>
    %15 = rwkv.lora %1#4, %arg28, %arg29 activation sigmoid : tensor<?x1x128xf32>, tensor<32x128xf32>, tensor<128x32xf32> -> tensor<?x1x128xf32>
    %result, %new_state = rwkv.wkv7_fused %2, %6, %14, %4, %11, %12, %arg2 norm(%arg25, %arg26) bonus(%arg27) gate(%15 : tensor<?x1x128xf32>) {eps = 6.400000e-04 : f32} : tensor<?x1x128xf32>, tensor<?x4x32x32xf32>, tensor<128xf32>, tensor<4x32xf32>
    %16 = rwkv.linear %result, %arg30 : tensor<?x1x128xf32>, tensor<128x128xf32> -> tensor<?x1x128xf32>
    %17 = arith.addf %arg0, %16 : tensor<?x1x128xf32>
    return %17, %last, %new_state, %4 : tensor<?x1x128xf32>, tensor<?x128xf32>, tensor<?x4x32x32xf32>, tensor<?x1x128xf32>
  }
  func.func @time_mix_1(%arg0: tensor<?x1x128xf32> {rwkv.activation = "h"}, %arg1: tensor<?x128xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x4x32x32xf32> {rwkv.state = "wkv"}, %arg3: tensor<?x1x128xf32> {rwkv.activation = "v_first"}, %arg4: tensor<128xf32> {rwkv.param = "ln1.weight"}, %arg5: tensor<128xf32> {rwkv.param = "ln1.bias"}, %arg6: tensor<128xf32> {rwkv.param = "att.time_maa_x"}, %arg7: tensor<128xf32> {rwkv.param = "att.time_maa_w"}, %arg8: tensor<128xf32> {rwkv.param = "att.time_maa_k"}, %arg9: tensor<128xf32> {rwkv.param = "att.time_maa_v"}, %arg10: tensor<128xf32> {rwkv.param = "att.time_maa_r"}, %arg11: tensor<128xf32> {rwkv.param = "att.time_maa_g"}, %arg12: tensor<128xf32> {rwkv.param = "att.time_maa_a"}, %arg13: tensor<192x128xf32> {rwkv.param = "att.time_maa_w1"}, %arg14: tensor<6x128x32xf32> {rwkv.param = "att.time_maa_w2"}, %arg15: tensor<128x128xf32> {rwkv.param = "att.receptance"}, %arg16: tensor<128x128xf32> {rwkv.param = "att.key"}, %arg17: tensor<128x128xf32> {rwkv.param = "att.value"}, %arg18: tensor<32x128xf32> {rwkv.param = "att.w1"}, %arg19: tensor<128x32xf32> {rwkv.param = "att.w2"}, %arg20: tensor<128xf32> {rwkv.param = "att.w0"}, %arg21: tensor<16x128xf32> {rwkv.param = "att.v1"}, %arg22: tensor<128x16xf32> {rwkv.param = "att.v2"}, %arg23: tensor<128xf32> {rwkv.param = "att.v0"}, %arg24: tensor<32x128xf32> {rwkv.param = "att.a1"}, %arg25: tensor<128x32xf32> {rwkv.param = "att.a2"}, %arg26: tensor<128xf32> {rwkv.param = "att.a0"}, %arg27: tensor<128xf32> {rwkv.param = "att.k_k"}, %arg28: tensor<128xf32> {rwkv.param = "att.k_a"}, %arg29: tensor<128xf32> {rwkv.param = "att.ln_x.weight"}, %arg30: tensor<128xf32> {rwkv.param = "att.ln_x.bias"}, %arg31: tensor<4x32xf32> {rwkv.param = "att.r_k"}, %arg32: tensor<32x128xf32> {rwkv.param = "att.g1"}, %arg33: tensor<128x32xf32> {rwkv.param = "att.g2"}, %arg34: tensor<128x128xf32> {rwkv.param = "att.output"}) -> (tensor<?x1x128xf32> {rwkv.activation = "h"}, tensor<?x128xf32> {rwkv.state = "att_shift"}, tensor<?x4x32x32xf32> {rwkv.state = "wkv"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 1, 2, 3>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg4, %arg5 {eps = 9.99999974E-6 : f32} : tensor<?x1x128xf32>, tensor<128xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x1x128xf32>, tensor<?x128xf32>
    %1:6 = rwkv.ddlerp %0, %shifted, %arg6[%arg7, %arg8, %arg9, %arg10, %arg11, %arg12], %arg13, %arg14 : tensor<?x1x128xf32>, tensor<128xf32>[tensor<128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>], tensor<192x128xf32>, tensor<6x128x32xf32> -> tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x128xf32>
    %2 = rwkv.linear %1#3, %arg15 : tensor<?x1x128xf32>, tensor<128x128xf32> -> tensor<?x1x128xf32>
    %3 = rwkv.linear %1#1, %arg16 : tensor<?x1x128xf32>, tensor<128x128xf32> -> tensor<?x1x128xf32>
    %4 = rwkv.linear %1#2, %arg17 : tensor<?x1x128xf32>, tensor<128x128xf32> -> tensor<?x1x128xf32>
    %5 = rwkv.lora %1#0, %arg18, %arg19 bias %arg20 activation tanh : tensor<?x1x128xf32>, tensor<32x128xf32>, tensor<128x32xf32>, tensor<128xf32> -> tensor<?x1x128xf32>
    %6 = rwkv.decay sigmoid %5 : tensor<?x1x128xf32>
    %7 = rwkv.lora %1#2, %arg21, %arg22 bias %arg23 output_activation sigmoid : tensor<?x1x128xf32>, tensor<16x128xf32>, tensor<128x16xf32>, tensor<128xf32> -> tensor<?x1x128xf32>
    %8 = rwkv.lerp %4, %arg3, %7 : tensor<?x1x128xf32>, tensor<?x1x128xf32>
    %9 = rwkv.lora %1#5, %arg24, %arg25 bias %arg26 output_activation sigmoid : tensor<?x1x128xf32>, tensor<32x128xf32>, tensor<128x32xf32>, tensor<128xf32> -> tensor<?x1x128xf32>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %3, %c0 : tensor<?x1x128xf32>
    %10 = tensor.empty(%dim) : tensor<?x1x128xf32>
    %broadcasted = linalg.broadcast ins(%arg27 : tensor<128xf32>) outs(%10 : tensor<?x1x128xf32>) dimensions = [0, 1] 
    %11 = arith.mulf %3, %broadcasted : tensor<?x1x128xf32>
    %12 = rwkv.l2_norm %11 {head_size = 32 : i64} : tensor<?x1x128xf32>
    %13 = arith.negf %12 : tensor<?x1x128xf32>
    %14 = arith.mulf %12, %9 : tensor<?x1x128xf32>
    %15 = arith.mulf %3, %9 : tensor<?x1x128xf32>
    %16 = rwkv.lerp %3, %15, %arg28 : tensor<?x1x128xf32>, tensor<128xf32>
    %17 = rwkv.lora %1#4, %arg32, %arg33 activation sigmoid : tensor<?x1x128xf32>, tensor<32x128xf32>, tensor<128x32xf32> -> tensor<?x1x128xf32>
    %result, %new_state = rwkv.wkv7_fused %2, %6, %16, %8, %13, %14, %arg2 norm(%arg29, %arg30) bonus(%arg31) gate(%17 : tensor<?x1x128xf32>) {eps = 6.400000e-04 : f32} : tensor<?x1x128xf32>, tensor<?x4x32x32xf32>, tensor<128xf32>, tensor<4x32xf32>
    %18 = rwkv.linear %result, %arg34 : tensor<?x1x128xf32>, tensor<128x128xf32> -> tensor<?x1x128xf32>
    %19 = arith.addf %arg0, %18 : tensor<?x1x128xf32>
    return %19, %last, %new_state : tensor<?x1x128xf32>, tensor<?x128xf32>, tensor<?x4x32x32xf32>
  }
  func.func @channel_mix_0(%arg0: tensor<?x1x128xf32> {rwkv.activation = "h"}, %arg1: tensor<?x128xf32> {rwkv.state = "ffn_shift"}, %arg2: tensor<128xf32> {rwkv.param = "ln2.weight"}, %arg3: tensor<128xf32> {rwkv.param = "ln2.bias"}, %arg4: tensor<128xf32> {rwkv.param = "ffn.x_k"}, %arg5: tensor<512x128xf32> {rwkv.param = "ffn.key"}, %arg6: tensor<128x512xf32> {rwkv.param = "ffn.value"}) -> (tensor<?x1x128xf32> {rwkv.activation = "h"}, tensor<?x128xf32> {rwkv.state = "ffn_shift"}) attributes {rwkv.entry = "channel_mix", rwkv.layers = array<i64: 0, 1, 2, 3>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x1x128xf32>, tensor<128xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x1x128xf32>, tensor<?x128xf32>
    %1 = rwkv.lerp %0, %shifted, %arg4 : tensor<?x1x128xf32>, tensor<128xf32>
    %2 = rwkv.channel_mix %1, %arg5, %arg6 : tensor<?x1x128xf32>, tensor<512x128xf32>, tensor<128x512xf32> -> tensor<?x1x128xf32>
    %3 = arith.addf %arg0, %2 : tensor<?x1x128xf32>
    return %3, %last : tensor<?x1x128xf32>, tensor<?x128xf32>
  }
  func.func @head(%arg0: tensor<?x1x128xf32> {rwkv.activation = "h"}, %arg1: tensor<128xf32> {rwkv.param = "ln_out.weight"}, %arg2: tensor<128xf32> {rwkv.param = "ln_out.bias"}, %arg3: tensor<512x128xf32> {rwkv.param = "head"}) -> (tensor<?x1x512xf32> {rwkv.activation = "logits"}) attributes {rwkv.entry = "head", rwkv.layers = array<i64>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg1, %arg2 {eps = 9.99999974E-6 : f32} : tensor<?x1x128xf32>, tensor<128xf32>
    %1 = rwkv.linear %0, %arg3 : tensor<?x1x128xf32>, tensor<512x128xf32> -> tensor<?x1x512xf32>
    return %1 : tensor<?x1x512xf32>
  }
  func.func @embed_parallel(%arg0: tensor<?x?xi32> {rwkv.activation = "tokens"}, %arg1: tensor<512x128xf32> {rwkv.param = "emb"}, %arg2: tensor<128xf32> {rwkv.param = "ln0.weight"}, %arg3: tensor<128xf32> {rwkv.param = "ln0.bias"}) -> (tensor<?x?x128xf32> {rwkv.activation = "h"}) attributes {rwkv.entry = "embed", rwkv.layers = array<i64>, rwkv.mode = "parallel"} {
    %0 = rwkv.embedding %arg0, %arg1 : tensor<?x?xi32>, tensor<512x128xf32> -> tensor<?x?x128xf32>
    %1 = rwkv.layer_norm %0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x?x128xf32>, tensor<128xf32>
    return %1 : tensor<?x?x128xf32>
  }
  func.func @time_mix_0_parallel(%arg0: tensor<?x?x128xf32> {rwkv.activation = "h"}, %arg1: tensor<?x128xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x4x32x32xf32> {rwkv.state = "wkv"}, %arg3: tensor<128xf32> {rwkv.param = "ln1.weight"}, %arg4: tensor<128xf32> {rwkv.param = "ln1.bias"}, %arg5: tensor<128xf32> {rwkv.param = "att.time_maa_x"}, %arg6: tensor<128xf32> {rwkv.param = "att.time_maa_w"}, %arg7: tensor<128xf32> {rwkv.param = "att.time_maa_k"}, %arg8: tensor<128xf32> {rwkv.param = "att.time_maa_v"}, %arg9: tensor<128xf32> {rwkv.param = "att.time_maa_r"}, %arg10: tensor<128xf32> {rwkv.param = "att.time_maa_g"}, %arg11: tensor<128xf32> {rwkv.param = "att.time_maa_a"}, %arg12: tensor<192x128xf32> {rwkv.param = "att.time_maa_w1"}, %arg13: tensor<6x128x32xf32> {rwkv.param = "att.time_maa_w2"}, %arg14: tensor<128x128xf32> {rwkv.param = "att.receptance"}, %arg15: tensor<128x128xf32> {rwkv.param = "att.key"}, %arg16: tensor<128x128xf32> {rwkv.param = "att.value"}, %arg17: tensor<32x128xf32> {rwkv.param = "att.w1"}, %arg18: tensor<128x32xf32> {rwkv.param = "att.w2"}, %arg19: tensor<128xf32> {rwkv.param = "att.w0"}, %arg20: tensor<32x128xf32> {rwkv.param = "att.a1"}, %arg21: tensor<128x32xf32> {rwkv.param = "att.a2"}, %arg22: tensor<128xf32> {rwkv.param = "att.a0"}, %arg23: tensor<128xf32> {rwkv.param = "att.k_k"}, %arg24: tensor<128xf32> {rwkv.param = "att.k_a"}, %arg25: tensor<128xf32> {rwkv.param = "att.ln_x.weight"}, %arg26: tensor<128xf32> {rwkv.param = "att.ln_x.bias"}, %arg27: tensor<4x32xf32> {rwkv.param = "att.r_k"}, %arg28: tensor<32x128xf32> {rwkv.param = "att.g1"}, %arg29: tensor<128x32xf32> {rwkv.param = "att.g2"}, %arg30: tensor<128x128xf32> {rwkv.param = "att.output"}) -> (tensor<?x?x128xf32> {rwkv.activation = "h"}, tensor<?x128xf32> {rwkv.state = "att_shift"}, tensor<?x4x32x32xf32> {rwkv.state = "wkv"}, tensor<?x?x128xf32> {rwkv.activation = "v_first"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 0>, rwkv.mode = "parallel"} {
    %0 = rwkv.layer_norm %arg0, %arg3, %arg4 {eps = 9.99999974E-6 : f32} : tensor<?x?x128xf32>, tensor<128xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x?x128xf32>, tensor<?x128xf32>
    %1:6 = rwkv.ddlerp %0, %shifted, %arg5[%arg6, %arg7, %arg8, %arg9, %arg10, %arg11], %arg12, %arg13 : tensor<?x?x128xf32>, tensor<128xf32>[tensor<128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>], tensor<192x128xf32>, tensor<6x128x32xf32> -> tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>
    %2 = rwkv.linear %1#3, %arg14 : tensor<?x?x128xf32>, tensor<128x128xf32> -> tensor<?x?x128xf32>
    %3 = rwkv.linear %1#1, %arg15 : tensor<?x?x128xf32>, tensor<128x128xf32> -> tensor<?x?x128xf32>
    %4 = rwkv.linear %1#2, %arg16 : tensor<?x?x128xf32>, tensor<128x128xf32> -> tensor<?x?x128xf32>
    %5 = rwkv.lora %1#0, %arg17, %arg18 bias %arg19 activation tanh : tensor<?x?x128xf32>, tensor<32x128xf32>, tensor<128x32xf32>, tensor<128xf32> -> tensor<?x?x128xf32>
    %6 = rwkv.decay sigmoid %5 : tensor<?x?x128xf32>
    %7 = rwkv.lora %1#5, %arg20, %arg21 bias %arg22 output_activation sigmoid : tensor<?x?x128xf32>, tensor<32x128xf32>, tensor<128x32xf32>, tensor<128xf32> -> tensor<?x?x128xf32>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %3, %c0 : tensor<?x?x128xf32>
    %c1 = arith.constant 1 : index
    %dim_0 = tensor.dim %3, %c1 : tensor<?x?x128xf32>
    %8 = tensor.empty(%dim, %dim_0) : tensor<?x?x128xf32>
    %broadcasted = linalg.broadcast ins(%arg23 : tensor<128xf32>) outs(%8 : tensor<?x?x128xf32>) dimensions = [0, 1] 
    %9 = arith.mulf %3, %broadcasted : tensor<?x?x128xf32>
    %10 = rwkv.l2_norm %9 {head_size = 32 : i64} : tensor<?x?x128xf32>
    %11 = arith.negf %10 : tensor<?x?x128xf32>
    %12 = arith.mulf %10, %7 : tensor<?x?x128xf32>
    %13 = arith.mulf %3, %7 : tensor<?x?x128xf32>
    %14 = rwkv.lerp %3, %13, %arg24 : tensor<?x?x128xf32>, tensor<128xf32>
    %15 = rwkv.lora %1#4, %arg28, %arg29 activation sigmoid : tensor<?x?x128xf32>, tensor<32x128xf32>, tensor<128x32xf32> -> tensor<?x?x128xf32>
    %result, %new_state = rwkv.wkv7_fused %2, %6, %14, %4, %11, %12, %arg2 norm(%arg25, %arg26) bonus(%arg27) gate(%15 : tensor<?x?x128xf32>) {eps = 6.400000e-04 : f32} : tensor<?x?x128xf32>, tensor<?x4x32x32xf32>, tensor<128xf32>, tensor<4x32xf32>
    %16 = rwkv.linear %result, %arg30 : tensor<?x?x128xf32>, tensor<128x128xf32> -> tensor<?x?x128xf32>
    %17 = arith.addf %arg0, %16 : tensor<?x?x128xf32>
    return %17, %last, %new_state, %4 : tensor<?x?x128xf32>, tensor<?x128xf32>, tensor<?x4x32x32xf32>, tensor<?x?x128xf32>
  }
  func.func @time_mix_1_parallel(%arg0: tensor<?x?x128xf32> {rwkv.activation = "h"}, %arg1: tensor<?x128xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x4x32x32xf32> {rwkv.state = "wkv"}, %arg3: tensor<?x?x128xf32> {rwkv.activation = "v_first"}, %arg4: tensor<128xf32> {rwkv.param = "ln1.weight"}, %arg5: tensor<128xf32> {rwkv.param = "ln1.bias"}, %arg6: tensor<128xf32> {rwkv.param = "att.time_maa_x"}, %arg7: tensor<128xf32> {rwkv.param = "att.time_maa_w"}, %arg8: tensor<128xf32> {rwkv.param = "att.time_maa_k"}, %arg9: tensor<128xf32> {rwkv.param = "att.time_maa_v"}, %arg10: tensor<128xf32> {rwkv.param = "att.time_maa_r"}, %arg11: tensor<128xf32> {rwkv.param = "att.time_maa_g"}, %arg12: tensor<128xf32> {rwkv.param = "att.time_maa_a"}, %arg13: tensor<192x128xf32> {rwkv.param = "att.time_maa_w1"}, %arg14: tensor<6x128x32xf32> {rwkv.param = "att.time_maa_w2"}, %arg15: tensor<128x128xf32> {rwkv.param = "att.receptance"}, %arg16: tensor<128x128xf32> {rwkv.param = "att.key"}, %arg17: tensor<128x128xf32> {rwkv.param = "att.value"}, %arg18: tensor<32x128xf32> {rwkv.param = "att.w1"}, %arg19: tensor<128x32xf32> {rwkv.param = "att.w2"}, %arg20: tensor<128xf32> {rwkv.param = "att.w0"}, %arg21: tensor<16x128xf32> {rwkv.param = "att.v1"}, %arg22: tensor<128x16xf32> {rwkv.param = "att.v2"}, %arg23: tensor<128xf32> {rwkv.param = "att.v0"}, %arg24: tensor<32x128xf32> {rwkv.param = "att.a1"}, %arg25: tensor<128x32xf32> {rwkv.param = "att.a2"}, %arg26: tensor<128xf32> {rwkv.param = "att.a0"}, %arg27: tensor<128xf32> {rwkv.param = "att.k_k"}, %arg28: tensor<128xf32> {rwkv.param = "att.k_a"}, %arg29: tensor<128xf32> {rwkv.param = "att.ln_x.weight"}, %arg30: tensor<128xf32> {rwkv.param = "att.ln_x.bias"}, %arg31: tensor<4x32xf32> {rwkv.param = "att.r_k"}, %arg32: tensor<32x128xf32> {rwkv.param = "att.g1"}, %arg33: tensor<128x32xf32> {rwkv.param = "att.g2"}, %arg34: tensor<128x128xf32> {rwkv.param = "att.output"}) -> (tensor<?x?x128xf32> {rwkv.activation = "h"}, tensor<?x128xf32> {rwkv.state = "att_shift"}, tensor<?x4x32x32xf32> {rwkv.state = "wkv"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 1, 2, 3>, rwkv.mode = "parallel"} {
    %0 = rwkv.layer_norm %arg0, %arg4, %arg5 {eps = 9.99999974E-6 : f32} : tensor<?x?x128xf32>, tensor<128xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x?x128xf32>, tensor<?x128xf32>
    %1:6 = rwkv.ddlerp %0, %shifted, %arg6[%arg7, %arg8, %arg9, %arg10, %arg11, %arg12], %arg13, %arg14 : tensor<?x?x128xf32>, tensor<128xf32>[tensor<128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>], tensor<192x128xf32>, tensor<6x128x32xf32> -> tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x128xf32>
    %2 = rwkv.linear %1#3, %arg15 : tensor<?x?x128xf32>, tensor<128x128xf32> -> tensor<?x?x128xf32>
    %3 = rwkv.linear %1#1, %arg16 : tensor<?x?x128xf32>, tensor<128x128xf32> -> tensor<?x?x128xf32>
    %4 = rwkv.linear %1#2, %arg17 : tensor<?x?x128xf32>, tensor<128x128xf32> -> tensor<?x?x128xf32>
    %5 = rwkv.lora %1#0, %arg18, %arg19 bias %arg20 activation tanh : tensor<?x?x128xf32>, tensor<32x128xf32>, tensor<128x32xf32>, tensor<128xf32> -> tensor<?x?x128xf32>
    %6 = rwkv.decay sigmoid %5 : tensor<?x?x128xf32>
    %7 = rwkv.lora %1#2, %arg21, %arg22 bias %arg23 output_activation sigmoid : tensor<?x?x128xf32>, tensor<16x128xf32>, tensor<128x16xf32>, tensor<128xf32> -> tensor<?x?x128xf32>
    %8 = rwkv.lerp %4, %arg3, %7 : tensor<?x?x128xf32>, tensor<?x?x128xf32>
    %9 = rwkv.lora %1#5, %arg24, %arg25 bias %arg26 output_activation sigmoid : tensor<?x?x128xf32>, tensor<32x128xf32>, tensor<128x32xf32>, tensor<128xf32> -> tensor<?x?x128xf32>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %3, %c0 : tensor<?x?x128xf32>
    %c1 = arith.constant 1 : index
    %dim_0 = tensor.dim %3, %c1 : tensor<?x?x128xf32>
    %10 = tensor.empty(%dim, %dim_0) : tensor<?x?x128xf32>
    %broadcasted = linalg.broadcast ins(%arg27 : tensor<128xf32>) outs(%10 : tensor<?x?x128xf32>) dimensions = [0, 1] 
    %11 = arith.mulf %3, %broadcasted : tensor<?x?x128xf32>
    %12 = rwkv.l2_norm %11 {head_size = 32 : i64} : tensor<?x?x128xf32>
    %13 = arith.negf %12 : tensor<?x?x128xf32>
    %14 = arith.mulf %12, %9 : tensor<?x?x128xf32>
    %15 = arith.mulf %3, %9 : tensor<?x?x128xf32>
    %16 = rwkv.lerp %3, %15, %arg28 : tensor<?x?x128xf32>, tensor<128xf32>
    %17 = rwkv.lora %1#4, %arg32, %arg33 activation sigmoid : tensor<?x?x128xf32>, tensor<32x128xf32>, tensor<128x32xf32> -> tensor<?x?x128xf32>
    %result, %new_state = rwkv.wkv7_fused %2, %6, %16, %8, %13, %14, %arg2 norm(%arg29, %arg30) bonus(%arg31) gate(%17 : tensor<?x?x128xf32>) {eps = 6.400000e-04 : f32} : tensor<?x?x128xf32>, tensor<?x4x32x32xf32>, tensor<128xf32>, tensor<4x32xf32>
    %18 = rwkv.linear %result, %arg34 : tensor<?x?x128xf32>, tensor<128x128xf32> -> tensor<?x?x128xf32>
    %19 = arith.addf %arg0, %18 : tensor<?x?x128xf32>
    return %19, %last, %new_state : tensor<?x?x128xf32>, tensor<?x128xf32>, tensor<?x4x32x32xf32>
  }
  func.func @channel_mix_0_parallel(%arg0: tensor<?x?x128xf32> {rwkv.activation = "h"}, %arg1: tensor<?x128xf32> {rwkv.state = "ffn_shift"}, %arg2: tensor<128xf32> {rwkv.param = "ln2.weight"}, %arg3: tensor<128xf32> {rwkv.param = "ln2.bias"}, %arg4: tensor<128xf32> {rwkv.param = "ffn.x_k"}, %arg5: tensor<512x128xf32> {rwkv.param = "ffn.key"}, %arg6: tensor<128x512xf32> {rwkv.param = "ffn.value"}) -> (tensor<?x?x128xf32> {rwkv.activation = "h"}, tensor<?x128xf32> {rwkv.state = "ffn_shift"}) attributes {rwkv.entry = "channel_mix", rwkv.layers = array<i64: 0, 1, 2, 3>, rwkv.mode = "parallel"} {
    %0 = rwkv.layer_norm %arg0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x?x128xf32>, tensor<128xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x?x128xf32>, tensor<?x128xf32>
    %1 = rwkv.lerp %0, %shifted, %arg4 : tensor<?x?x128xf32>, tensor<128xf32>
    %2 = rwkv.channel_mix %1, %arg5, %arg6 : tensor<?x?x128xf32>, tensor<512x128xf32>, tensor<128x512xf32> -> tensor<?x?x128xf32>
    %3 = arith.addf %arg0, %2 : tensor<?x?x128xf32>
    return %3, %last : tensor<?x?x128xf32>, tensor<?x128xf32>
  }
  func.func @head_parallel(%arg0: tensor<?x?x128xf32> {rwkv.activation = "h"}, %arg1: tensor<128xf32> {rwkv.param = "ln_out.weight"}, %arg2: tensor<128xf32> {rwkv.param = "ln_out.bias"}, %arg3: tensor<512x128xf32> {rwkv.param = "head"}) -> (tensor<?x1x512xf32> {rwkv.activation = "logits"}) attributes {rwkv.entry = "head", rwkv.layers = array<i64>, rwkv.mode = "parallel"} {
    %c1 = arith.constant 1 : index
    %dim = tensor.dim %arg0, %c1 : tensor<?x?x128xf32>
    %c1_0 = arith.constant 1 : index
    %0 = arith.subi %dim, %c1_0 : index
    %c0 = arith.constant 0 : index
    %dim_1 = tensor.dim %arg0, %c0 : tensor<?x?x128xf32>
    %extracted_slice = tensor.extract_slice %arg0[0, %0, 0] [%dim_1, 1, 128] [1, 1, 1] : tensor<?x?x128xf32> to tensor<?x1x128xf32>
    %1 = rwkv.layer_norm %extracted_slice, %arg1, %arg2 {eps = 9.99999974E-6 : f32} : tensor<?x1x128xf32>, tensor<128xf32>
    %2 = rwkv.linear %1, %arg3 : tensor<?x1x128xf32>, tensor<512x128xf32> -> tensor<?x1x512xf32>
    return %2 : tensor<?x1x512xf32>
  }
}
