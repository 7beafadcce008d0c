module @"rwkv6-biased-example" attributes {rwkv.spec_sha256 = "5e987aebb26776f1c41938c7240080f21beeb0b1f312315dbb15e0a4dd3958f3"} {
  func.func @embed(%arg0: tensor<?x1xi32> {rwkv.activation = "tokens"}, %arg1: tensor<384x96xf32> {rwkv.param = "emb"}, %arg2: tensor<96xf32> {rwkv.param = "ln0.weight"}, %arg3: tensor<96xf32> {rwkv.param = "ln0.bias"}) -> (tensor<?x1x96xf32> {rwkv.activation = "h"}) attributes {rwkv.entry = "embed", rwkv.layers = array<i64>, rwkv.mode = "recurrent"} {
    %0 = rwkv.embedding %arg0, %arg1 : tensor<?x1xi32>, tensor<384x96xf32> -> tensor<?x1x96xf32>
    %1 = rwkv.layer_norm %0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x1x96xf32>, tensor<96xf32>
    return %1 : tensor<?x1x96xf32>
  }
  func.func @time_mix_0(%arg0: tensor<?x1x96xf32> {rwkv.activation = "h"}, %arg1: tensor<?x96xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x3x32x32xf32> {rwkv.state = "wkv"}, %arg3: tensor<96xf32> {rwkv.param = "ln1.weight"}, %arg4: tensor<96xf32> {rwkv.param = "ln1.bias"}, %arg5: tensor<96xf32> {rwkv.param = "att.time_maa_x"}, %arg6: tensor<96xf32> {rwkv.param = "att.time_maa_w"}, %arg7: tensor<96xf32> {rwkv.param = "att.time_maa_k"}, %arg8: tensor<96xf32> {rwkv.param = "att.time_maa_v"}, %arg9: tensor<96xf32> {rwkv.param = "att.time_maa_r"}, %arg10: tensor<96xf32> {rwkv.param = "att.time_maa_g"}, %arg11: tensor<80x96xf32> {rwkv.param = "att.time_maa_w1"}, %arg12: tensor<5x96x16xf32> {rwkv.param = "att.time_maa_w2"}, %arg13: tensor<96x96xf32> {rwkv.param = "att.receptance"}, %arg14: tensor<96x96xf32> {rwkv.param = "att.key"}, %arg15: tensor<96x96xf32> {rwkv.param = "att.value"}, %arg16: tensor<32x96xf32> {rwkv.param = "att.time_decay_w1"}, %arg17: tensor<96x32xf32> {rwkv.param = "att.time_decay_w2"}, %arg18: tensor<96xf32> {rwkv.param = "att.time_decay"}, %arg19: tensor<96xf32> {rwkv.param = "att.time_faaaa"}, %arg20: tensor<96xf32> {rwkv.param = "att.ln_x.weight"}, %arg21: tensor<96xf32> {rwkv.param = "att.ln_x.bias"}, %arg22: tensor<96x96xf32> {rwkv.param = "att.gate"}, %arg23: tensor<96x96xf32> {rwkv.param = "att.output"}, %arg24: tensor<96xf32> {rwkv.param = "att.output.bias"}) -> (tensor<?x1x96xf32> {rwkv.activation = "h"}, tensor<?x96xf32> {rwkv.state = "att_shift"}, tensor<?x3x32x32xf32> {rwkv.state = "wkv"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 0, 1, 2>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg3, %arg4 {eps = 9.99999974E-6 : f32} : tensor<?x1x96xf32>, tensor<96xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x1x96xf32>, tensor<?x96xf32>
    %1:5 = rwkv.ddlerp %0, %shifted, %arg5[%arg6, %arg7, %arg8, %arg9, %arg10], %arg11, %arg12 : tensor<?x1x96xf32>, tensor<96xf32>[tensor<96xf32>, tensor<96xf32>, tensor<96xf32>, tensor<96xf32>, tensor<96xf32>], tensor<80x96xf32>, tensor<5x96x16xf32> -> tensor<?x1x96xf32>, tensor<?x1x96xf32>, tensor<?x1x96xf32>, tensor<?x1x96xf32>, tensor<?x1x96xf32>
    %2 = rwkv.linear %1#3, %arg13 : tensor<?x1x96xf32>, tensor<96x96xf32> -> tensor<?x1x96xf32>
    %3 = rwkv.linear %1#1, %arg14 : tensor<?x1x96xf32>, tensor<96x96xf32> -> tensor<?x1x96xf32>
    %4 = rwkv.linear %1#2, %arg15 : tensor<?x1x96xf32>, tensor<96x96xf32> -> tensor<?x1x96xf32>
    %5 = rwkv.lora %1#0, %arg16, %arg17 bias %arg18 activation tanh : tensor<?x1x96xf32>, tensor<32x96xf32>, tensor<96x32xf32>, tensor<96xf32> -> tensor<?x1x96xf32>
    %6 = rwkv.decay exp_neg_exp %5 : tensor<?x1x96xf32>
    %y, %new_state = rwkv.wkv5 %2, %6, %3, %4, %arg19, %arg2 : tensor<?x1x96xf32>, tensor<96xf32>, tensor<?x3x32x32xf32>
    %7 = rwkv.group_norm %y, %arg20, %arg21 {eps = 6.400000e-04 : f32, num_groups = 3 : i64} : tensor<?x1x96xf32>, tensor<96xf32>
    %8 = rwkv.linear %1#4, %arg22 : tensor<?x1x96xf32>, tensor<96x96xf32> -> tensor<?x1x96xf32>
    %9 = rwkv.activation sigmoid %8 : tensor<?x1x96xf32>
    %10 = arith.mulf %8, %9 : tensor<?x1x96xf32>
    %11 = arith.mulf %7, %10 : tensor<?x1x96xf32>
    %12 = rwkv.linear %11, %arg23 : tensor<?x1x96xf32>, tensor<96x96xf32> -> tensor<?x1x96xf32>
    %13 = rwkv.bias_add %12, %arg24 : tensor<?x1x96xf32>, tensor<96xf32>
    %14 = arith.addf %arg0, %13 : tensor<?x1x96xf32>
    return %14, %last, %new_state : tensor<?x1x96xf32>, tensor<?x96xf32>, tensor<?x3x32x32xf32>
  }
  func.func @channel_mix_0(%arg0: tensor<?x1x96xf32> {rwkv.activation = "h"}, %arg1: tensor<?x96xf32> {rwkv.state = "ffn_shift"}, %arg2: tensor<96xf32> {rwkv.param = "ln2.weight"}, %arg3: tensor<96xf32> {rwkv.param = "ln2.bias"}, %arg4: tensor<96xf32> {rwkv.param = "ffn.x_k"}, %arg5: tensor<336x96xf32> {rwkv.param = "ffn.key"}, %arg6: tensor<96x336xf32> {rwkv.param = "ffn.value"}, %arg7: tensor<96xf32> {rwkv.param = "ffn.value.bias"}, %arg8: tensor<96xf32> {rwkv.param = "ffn.x_r"}, %arg9: tensor<96x96xf32> {rwkv.param = "ffn.receptance"}) -> (tensor<?x1x96xf32> {rwkv.activation = "h"}, tensor<?x96xf32> {rwkv.state = "ffn_shift"}) attributes {rwkv.entry = "channel_mix", rwkv.layers = array<i64: 0, 1, 2>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x1x96xf32>, tensor<96xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x1x96xf32>, tensor<?x96xf32>
    %1 = rwkv.lerp %0, %shifted, %arg4 : tensor<?x1x96xf32>, tensor<96xf32>
    %2 = rwkv.channel_mix %1, %arg5, %arg6 : tensor<?x1x96xf32>, tensor<336x96xf32>, tensor<96x336xf32> -> tensor<?x1x96xf32>
    %3 = rwkv.bias_add %2, %arg7 : tensor<?x1x96xf32>, tensor<96xf32>
    %4 = rwkv.shift_lerp_linear previous %0, %arg1, %arg8, %arg9 : tensor<?x1x96xf32>, tensor<?x96xf32>, tensor<96xf32>, tensor<96x96xf32> -> tensor<?x1x96xf32>
    %5 = rwkv.activation sigmoid %4 : tensor<?x1x96xf32>
    %6 = arith.mulf %5, %3 : tensor<?x1x96xf32>
    %7 = arith.addf %arg0, %6 : tensor<?x1x96xf32>
    return %7, %last : tensor<?x1x96xf32>, tensor<?x96xf32>
  }
  func.func @head(%arg0: tensor<?x1x96xf32> {rwkv.activation = "h"}, %arg1: tensor<96xf32> {rwkv.param = "ln_out.weight"}, %arg2: tensor<96xf32> {rwkv.param = "ln_out.bias"}, %arg3: tensor<384x96xf32> {rwkv.param = "head"}, %arg4: tensor<384xf32> {rwkv.param = "head.bias"}) -> (tensor<?x1x384xf32> {rwkv.activation = "logits"}) attributes {rwkv.entry = "head", rwkv.layers = array<i64>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg1, %arg2 {eps = 9.99999974E-6 : f32} : tensor<?x1x96xf32>, tensor<96xf32>
    %1 = rwkv.linear %0, %arg3 : tensor<?x1x96xf32>, tensor<384x96xf32> -> tensor<?x1x384xf32>
    %2 = rwkv.bias_add %1, %arg4 : tensor<?x1x384xf32>, tensor<384xf32>
    return %2 : tensor<?x1x384xf32>
  }
  func.func @embed_parallel(%arg0: tensor<?x?xi32> {rwkv.activation = "tokens"}, %arg1: tensor<384x96xf32> {rwkv.param = "emb"}, %arg2: tensor<96xf32> {rwkv.param = "ln0.weight"}, %arg3: tensor<96xf32> {rwkv.param = "ln0.bias"}) -> (tensor<?x?x96xf32> {rwkv.activation = "h"}) attributes {rwkv.entry = "embed", rwkv.layers = array<i64>, rwkv.mode = "parallel"} {
    %0 = rwkv.embedding %arg0, %arg1 : tensor<?x?xi32>, tensor<384x96xf32> -> tensor<?x?x96xf32>
    %1 = rwkv.layer_norm %0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x?x96xf32>, tensor<96xf32>
    return %1 : tensor<?x?x96xf32>
  }
  func.func @time_mix_0_parallel(%arg0: tensor<?x?x96xf32> {rwkv.activation = "h"}, %arg1: tensor<?x96xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x3x32x32xf32> {rwkv.state = "wkv"}, %arg3: tensor<96xf32> {rwkv.param = "ln1.weight"}, %arg4: tensor<96xf32> {rwkv.param = "ln1.bias"}, %arg5: tensor<96xf32> {rwkv.param = "att.time_maa_x"}, %arg6: tensor<96xf32> {rwkv.param = "att.time_maa_w"}, %arg7: tensor<96xf32> {rwkv.param = "att.time_maa_k"}, %arg8: tensor<96xf32> {rwkv.param = "att.time_maa_v"}, %arg9: tensor<96xf32> {rwkv.param = "att.time_maa_r"}, %arg10: tensor<96xf32> {rwkv.param = "att.time_maa_g"}, %arg11: tensor<80x96xf32> {rwkv.param = "att.time_maa_w1"}, %arg12: tensor<5x96x16xf32> {rwkv.param = "att.time_maa_w2"}, %arg13: tensor<96x96xf32> {rwkv.param = "att.receptance"}, %arg14: tensor<96x96xf32> {rwkv.param = "att.key"}, %arg15: tensor<96x96xf32> {rwkv.param = "att.value"}, %arg16: tensor<32x96xf32> {rwkv.param = "att.time_decay_w1"}, %arg17: tensor<96x32xf32> {rwkv.param = "att.time_decay_w2"}, %arg18: tensor<96xf32> {rwkv.param = "att.time_decay"}, %arg19: tensor<96xf32> {rwkv.param = "att.time_faaaa"}, %arg20: tensor<96xf32> {rwkv.param = "att.ln_x.weight"}, %arg21: tensor<96xf32> {rwkv.param = "att.ln_x.bias"}, %arg22: tensor<96x96xf32> {rwkv.param = "att.gate"}, %arg23: tensor<96x96xf32> {rwkv.param = "att.output"}, %arg24: tensor<96xf32> {rwkv.param = "att.output.bias"}) -> (tensor<?x?x96xf32> {rwkv.activation = "h"}, tensor<?x96xf32> {rwkv.state = "att_shift"}, tensor<?x3x32x32xf32> {rwkv.state = "wkv"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 0, 1, 2>, rwkv.mode = "parallel"} {
    %0 = rwkv.layer_norm %arg0, %arg3, %arg4 {eps = 9.99999974E-6 : f32} : tensor<?x?x96xf32>, tensor<96xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x?x96xf32>, tensor<?x96xf32>
    %1:5 = rwkv.ddlerp %0, %shifted, %arg5[%arg6, %arg7, %arg8, %arg9, %arg10], %arg11, %arg12 : tensor<?x?x96xf32>, tensor<96xf32>[tensor<96xf32>, tensor<96xf32>, tensor<96xf32>, tensor<96xf32>, tensor<96xf32>], tensor<80x96xf32>, tensor<5x96x16xf32> -> tensor<?x?x96xf32>, tensor<?x?x96xf32>, tensor<?x?x96xf32>, tensor<?x?x96xf32>, tensor<?x?x96xf32>
    %2 = rwkv.linear %1#3, %arg13 : tensor<?x?x96xf32>, tensor<96x96xf32> -> tensor<?x?x96xf32>
    %3 = rwkv.linear %1#1, %arg14 : tensor<?x?x96xf32>, tensor<96x96xf32> -> tensor<?x?x96xf32>
    %4 = rwkv.linear %1#2, %arg15 : tensor<?x?x96xf32>, tensor<96x96xf32> -> tensor<?x?x96xf32>
    %5 = rwkv.lora %1#0, %arg16, %arg17 bias %arg18 activation tanh : tensor<?x?x96xf32>, tensor<32x96xf32>, tensor<96x32xf32>, tensor<96xf32> -> tensor<?x?x96xf32>
    %6 = rwkv.decay exp_neg_exp %5 : tensor<?x?x96xf32>
    %y, %new_state = rwkv.wkv5 %2, %6, %3, %4, %arg19, %arg2 : tensor<?x?x96xf32>, tensor<96xf32>, tensor<?x3x32x32xf32>
    %7 = rwkv.group_norm %y, %arg20, %arg21 {eps = 6.400000e-04 : f32, num_groups = 3 : i64} : tensor<?x?x96xf32>, tensor<96xf32>
    %8 = rwkv.linear %1#4, %arg22 : tensor<?x?x96xf32>, tensor<96x96xf32> -> tensor<?x?x96xf32>
    %9 = rwkv.activation sigmoid %8 : tensor<?x?x96xf32>
    %10 = arith.mulf %8, %9 : tensor<?x?x96xf32>
    %11 = arith.mulf %7, %10 : tensor<?x?x96xf32>
    %12 = rwkv.linear %11, %arg23 : tensor<?x?x96xf32>, tensor<96x96xf32> -> tensor<?x?x96xf32>
    %13 = rwkv.bias_add %12, %arg24 : tensor<?x?x96xf32>, tensor<96xf32>
    %14 = arith.addf %arg0, %13 : tensor<?x?x96xf32>
    return %14, %last, %new_state : tensor<?x?x96xf32>, tensor<?x96xf32>, tensor<?x3x32x32xf32>
  }
  func.func @channel_mix_0_parallel(%arg0: tensor<?x?x96xf32> {rwkv.activation = "h"}, %arg1: tensor<?x96xf32> {rwkv.state = "ffn_shift"}, %arg2: tensor<96xf32> {rwkv.param = "ln2.weight"}, %arg3: tensor<96xf32> {rwkv.param = "ln2.bias"}, %arg4: tensor<96xf32> {rwkv.param = "ffn.x_k"}, %arg5: tensor<336x96xf32> {rwkv.param = "ffn.key"}, %arg6: tensor<96x336xf32> {rwkv.param = "ffn.value"}, %arg7: tensor<96xf32> {rwkv.param = "ffn.value.bias"}, %arg8: tensor<96xf32> {rwkv.param = "ffn.x_r"}, %arg9: tensor<96x96xf32> {rwkv.param = "ffn.receptance"}) -> (tensor<?x?x96xf32> {rwkv.activation = "h"}, tensor<?x96xf32> {rwkv.state = "ffn_shift"}) attributes {rwkv.entry = "channel_mix", rwkv.layers = array<i64: 0, 1, 2>, rwkv.mode = "parallel"} {
    %0 = rwkv.layer_norm %arg0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x?x96xf32>, tensor<96xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x?x96xf32>, tensor<?x96xf32>
    %1 = rwkv.lerp %0, %shifted, %arg4 : tensor<?x?x96xf32>, tensor<96xf32>
    %2 = rwkv.channel_mix %1, %arg5, %arg6 : tensor<?x?x96xf32>, tensor<336x96xf32>, tensor<96x336xf32> -> tensor<?x?x96xf32>
    %3 = rwkv.bias_add %2, %arg7 : tensor<?x?x96xf32>, tensor<96xf32>
    %4 = rwkv.shift_lerp_linear previous %0, %arg1, %arg8, %arg9 : tensor<?x?x96xf32>, tensor<?x96xf32>, tensor<96xf32>, tensor<96x96xf32> -> tensor<?x?x96xf32>
    %5 = rwkv.activation sigmoid %4 : tensor<?x?x96xf32>
    %6 = arith.mulf %5, %3 : tensor<?x?x96xf32>
    %7 = arith.addf %arg0, %6 : tensor<?x?x96xf32>
    return %7, %last : tensor<?x?x96xf32>, tensor<?x96xf32>
  }
  func.func @head_parallel(%arg0: tensor<?x?x96xf32> {rwkv.activation = "h"}, %arg1: tensor<96xf32> {rwkv.param = "ln_out.weight"}, %arg2: tensor<96xf32> {rwkv.param = "ln_out.bias"}, %arg3: tensor<384x96xf32> {rwkv.param = "head"}, %arg4: tensor<384xf32> {rwkv.param = "head.bias"}) -> (tensor<?x1x384xf32> {rwkv.activation = "logits"}) attributes {rwkv.entry = "head", rwkv.layers = array<i64>, rwkv.mode = "parallel"} {
    %c1 = arith.constant 1 : index
    %dim = tensor.dim %arg0, %c1 : tensor<?x?x96xf32>
    %c1_0 = arith.constant 1 : index
    %0 = arith.subi %dim, %c1_0 : index
    %c0 = arith.constant 0 : index
    %dim_1 = tensor.dim %arg0, %c0 : tensor<?x?x96xf32>
    %extracted_slice = tensor.extract_slice %arg0[0, %0, 0] [%dim_1, 1, 96] [1, 1, 1] : tensor<?x?x96xf32> to tensor<?x1x96xf32>
    %1 = rwkv.layer_norm %extracted_slice, %arg1, %arg2 {eps = 9.99999974E-6 : f32} : tensor<?x1x96xf32>, tensor<96xf32>
    %2 = rwkv.linear %1, %arg3 : tensor<?x1x96xf32>, tensor<384x96xf32> -> tensor<?x1x384xf32>
    %3 = rwkv.bias_add %2, %arg4 : tensor<?x1x384xf32>, tensor<384xf32>
    return %3 : tensor<?x1x384xf32>
  }
}
