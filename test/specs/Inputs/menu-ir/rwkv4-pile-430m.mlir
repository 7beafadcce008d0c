module @"rwkv4-pile-430m" attributes {rwkv.spec_sha256 = "d791e85a0bee3ccf4ff2e45df717b3eef21591955ebb3f9f6e0073a73e8305dd"} {
  func.func @embed(%arg0: tensor<?x1xi32> {rwkv.activation = "tokens"}, %arg1: tensor<50277x1024xf32> {rwkv.param = "emb"}, %arg2: tensor<1024xf32> {rwkv.param = "ln0.weight"}, %arg3: tensor<1024xf32> {rwkv.param = "ln0.bias"}) -> (tensor<?x1x1024xf32> {rwkv.activation = "h"}) attributes {rwkv.entry = "embed", rwkv.layers = array<i64>, rwkv.mode = "recurrent"} {
    %0 = rwkv.embedding %arg0, %arg1 : tensor<?x1xi32>, tensor<50277x1024xf32> -> tensor<?x1x1024xf32>
    %1 = rwkv.layer_norm %0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x1x1024xf32>, tensor<1024xf32>
    return %1 : tensor<?x1x1024xf32>
  }
  func.func @time_mix_0(%arg0: tensor<?x1x1024xf32> {rwkv.activation = "h"}, %arg1: tensor<?x1024xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x1024xf32> {rwkv.state = "wkv_a"}, %arg3: tensor<?x1024xf32> {rwkv.state = "wkv_b"}, %arg4: tensor<?x1024xf32> {rwkv.state = "wkv_p"}, %arg5: tensor<1024xf32> {rwkv.param = "ln1.weight"}, %arg6: tensor<1024xf32> {rwkv.param = "ln1.bias"}, %arg7: tensor<1024xf32> {rwkv.param = "att.time_mix_k"}, %arg8: tensor<1024xf32> {rwkv.param = "att.time_mix_v"}, %arg9: tensor<1024xf32> {rwkv.param = "att.time_mix_r"}, %arg10: tensor<1024x1024xf32> {rwkv.param = "att.receptance"}, %arg11: tensor<1024x1024xf32> {rwkv.param = "att.key"}, %arg12: tensor<1024x1024xf32> {rwkv.param = "att.value"}, %arg13: tensor<1024xf32> {rwkv.param = "att.time_decay"}, %arg14: tensor<1024xf32> {rwkv.param = "att.time_first"}, %arg15: tensor<1024x1024xf32> {rwkv.param = "att.output"}) -> (tensor<?x1x1024xf32> {rwkv.activation = "h"}, tensor<?x1024xf32> {rwkv.state = "att_shift"}, tensor<?x1024xf32> {rwkv.state = "wkv_a"}, tensor<?x1024xf32> {rwkv.state = "wkv_b"}, tensor<?x1024xf32> {rwkv.state = "wkv_p"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg5, %arg6 {eps = 9.99999974E-6 : f32} : tensor<?x1x1024xf32>, tensor<1024xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x1x1024xf32>, tensor<?x1024xf32>
    %1 = rwkv.shift_lerp_linear current %0, %arg1, %arg9, %arg10 : tensor<?x1x1024xf32>, tensor<?x1024xf32>, tensor<1024xf32>, tensor<1024x1024xf32> -> tensor<?x1x1024xf32>
    %2 = rwkv.activation sigmoid %1 : tensor<?x1x1024xf32>
    %3 = rwkv.shift_lerp_linear current %0, %arg1, %arg7, %arg11 : tensor<?x1x1024xf32>, tensor<?x1024xf32>, tensor<1024xf32>, tensor<1024x1024xf32> -> tensor<?x1x1024xf32>
    %4 = rwkv.shift_lerp_linear current %0, %arg1, %arg8, %arg12 : tensor<?x1x1024xf32>, tensor<?x1024xf32>, tensor<1024xf32>, tensor<1024x1024xf32> -> tensor<?x1x1024xf32>
    %5 = math.exp %arg13 : tensor<1024xf32>
    %6 = arith.negf %5 : tensor<1024xf32>
    %y, %new_a, %new_b, %new_p = rwkv.wkv4 %3, %4, %6, %arg14, %arg2, %arg3, %arg4 : tensor<?x1x1024xf32>, tensor<1024xf32>, tensor<?x1024xf32>
    %7 = arith.mulf %2, %y : tensor<?x1x1024xf32>
    %8 = rwkv.linear %7, %arg15 : tensor<?x1x1024xf32>, tensor<1024x1024xf32> -> tensor<?x1x1024xf32>
    %9 = arith.addf %arg0, %8 : tensor<?x1x1024xf32>
    return %9, %last, %new_a, %new_b, %new_p : tensor<?x1x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>
  }
  func.func @channel_mix_0(%arg0: tensor<?x1x1024xf32> {rwkv.activation = "h"}, %arg1: tensor<?x1024xf32> {rwkv.state = "ffn_shift"}, %arg2: tensor<1024xf32> {rwkv.param = "ln2.weight"}, %arg3: tensor<1024xf32> {rwkv.param = "ln2.bias"}, %arg4: tensor<1024xf32> {rwkv.param = "ffn.time_mix_k"}, %arg5: tensor<4096x1024xf32> {rwkv.param = "ffn.key"}, %arg6: tensor<1024x4096xf32> {rwkv.param = "ffn.value"}, %arg7: tensor<1024xf32> {rwkv.param = "ffn.time_mix_r"}, %arg8: tensor<1024x1024xf32> {rwkv.param = "ffn.receptance"}) -> (tensor<?x1x1024xf32> {rwkv.activation = "h"}, tensor<?x1024xf32> {rwkv.state = "ffn_shift"}) attributes {rwkv.entry = "channel_mix", rwkv.layers = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x1x1024xf32>, tensor<1024xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x1x1024xf32>, tensor<?x1024xf32>
    %1 = rwkv.lerp %shifted, %0, %arg4 : tensor<?x1x1024xf32>, tensor<1024xf32>
    %2 = rwkv.lerp %shifted, %0, %arg7 : tensor<?x1x1024xf32>, tensor<1024xf32>
    %3 = rwkv.channel_mix %1, %arg5, %arg6 gate(%2, %arg8 : tensor<?x1x1024xf32>, tensor<1024x1024xf32>) : tensor<?x1x1024xf32>, tensor<4096x1024xf32>, tensor<1024x4096xf32> -> tensor<?x1x1024xf32>
    %4 = arith.addf %arg0, %3 : tensor<?x1x1024xf32>
    return %4, %last : tensor<?x1x1024xf32>, tensor<?x1024xf32>
  }
  func.func @head(%arg0: tensor<?x1x1024xf32> {rwkv.activation = "h"}, %arg1: tensor<1024xf32> {rwkv.param = "ln_out.weight"}, %arg2: tensor<1024xf32> {rwkv.param = "ln_out.bias"}, %arg3: tensor<50277x1024xf32> {rwkv.param = "head"}) -> (tensor<?x1x50277xf32> {rwkv.activation = "logits"}) attributes {rwkv.entry = "head", rwkv.layers = array<i64>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg1, %arg2 {eps = 9.99999974E-6 : f32} : tensor<?x1x1024xf32>, tensor<1024xf32>
    %1 = rwkv.linear %0, %arg3 : tensor<?x1x1024xf32>, tensor<50277x1024xf32> -> tensor<?x1x50277xf32>
    return %1 : tensor<?x1x50277xf32>
  }
  func.func @embed_parallel(%arg0: tensor<?x?xi32> {rwkv.activation = "tokens"}, %arg1: tensor<50277x1024xf32> {rwkv.param = "emb"}, %arg2: tensor<1024xf32> {rwkv.param = "ln0.weight"}, %arg3: tensor<1024xf32> {rwkv.param = "ln0.bias"}) -> (tensor<?x?x1024xf32> {rwkv.activation = "h"}) attributes {rwkv.entry = "embed", rwkv.layers = array<i64>, rwkv.mode = "parallel"} {
    %0 = rwkv.embedding %arg0, %arg1 : tensor<?x?xi32>, tensor<50277x1024xf32> -> tensor<?x?x1024xf32>
    %1 = rwkv.layer_norm %0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x?x1024xf32>, tensor<1024xf32>
    return %1 : tensor<?x?x1024xf32>
  }
  func.func @time_mix_0_parallel(%arg0: tensor<?x?x1024xf32> {rwkv.activation = "h"}, %arg1: tensor<?x1024xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x1024xf32> {rwkv.state = "wkv_a"}, %arg3: tensor<?x1024xf32> {rwkv.state = "wkv_b"}, %arg4: tensor<?x1024xf32> {rwkv.state = "wkv_p"}, %arg5: tensor<1024xf32> {rwkv.param = "ln1.weight"}, %arg6: tensor<1024xf32> {rwkv.param = "ln1.bias"}, %arg7: tensor<1024xf32> {rwkv.param = "att.time_mix_k"}, %arg8: tensor<1024xf32> {rwkv.param = "att.time_mix_v"}, %arg9: tensor<1024xf32> {rwkv.param = "att.time_mix_r"}, %arg10: tensor<1024x1024xf32> {rwkv.param = "att.receptance"}, %arg11: tensor<1024x1024xf32> {rwkv.param = "att.key"}, %arg12: tensor<1024x1024xf32> {rwkv.param = "att.value"}, %arg13: tensor<1024xf32> {rwkv.param = "att.time_decay"}, %arg14: tensor<1024xf32> {rwkv.param = "att.time_first"}, %arg15: tensor<1024x1024xf32> {rwkv.param = "att.output"}) -> (tensor<?x?x1024xf32> {rwkv.activation = "h"}, tensor<?x1024xf32> {rwkv.state = "att_shift"}, tensor<?x1024xf32> {rwkv.state = "wkv_a"}, tensor<?x1024xf32> {rwkv.state = "wkv_b"}, tensor<?x1024xf32> {rwkv.state = "wkv_p"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23>, rwkv.mode = "parallel"} {
    %0 = rwkv.layer_norm %arg0, %arg5, %arg6 {eps = 9.99999974E-6 : f32} : tensor<?x?x1024xf32>, tensor<1024xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x?x1024xf32>, tensor<?x1024xf32>
    %1 = rwkv.shift_lerp_linear current %0, %arg1, %arg9, %arg10 : tensor<?x?x1024xf32>, tensor<?x1024xf32>, tensor<1024xf32>, tensor<1024x1024xf32> -> tensor<?x?x1024xf32>
    %2 = rwkv.activation sigmoid %1 : tensor<?x?x1024xf32>
    %3 = rwkv.shift_lerp_linear current %0, %arg1, %arg7, %arg11 : tensor<?x?x1024xf32>, tensor<?x1024xf32>, tensor<1024xf32>, tensor<1024x1024xf32> -> tensor<?x?x1024xf32>
    %4 = rwkv.shift_lerp_linear current %0, %arg1, %arg8, %arg12 : tensor<?x?x1024xf32>, tensor<?x1024xf32>, tensor<1024xf32>, tensor<1024x1024xf32> -> tensor<?x?x1024xf32>
    %5 = math.exp %arg13 : tensor<1024xf32>
    %6 = arith.negf %5 : tensor<1024xf32>
    %y, %new_a, %new_b, %new_p = rwkv.wkv4 %3, %4, %6, %arg14, %arg2, %arg3, %arg4 : tensor<?x?x1024xf32>, tensor<1024xf32>, tensor<?x1024xf32>
    %7 = arith.mulf %2, %y : tensor<?x?x1024xf32>
    %8 = rwkv.linear %7, %arg15 : tensor<?x?x1024xf32>, tensor<1024x1024xf32> -> tensor<?x?x1024xf32>
    %9 = arith.addf %arg0, %8 : tensor<?x?x1024xf32>
    return %9, %last, %new_a, %new_b, %new_p : tensor<?x?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>, tensor<?x1024xf32>
  }
  func.func @channel_mix_0_parallel(%arg0: tensor<?x?x1024xf32> {rwkv.activation = "h"}, %arg1: tensor<?x1024xf32> {rwkv.state = "ffn_shift"}, %arg2: tensor<1024xf32> {rwkv.param = "ln2.weight"}, %arg3: tensor<1024xf32> {rwkv.param = "ln2.bias"}, %arg4: tensor<1024xf32> {rwkv.param = "ffn.time_mix_k"}, %arg5: tensor<4096x1024xf32> {rwkv.param = "ffn.key"}, %arg6: tensor<1024x4096xf32> {rwkv.param = "ffn.value"}, %arg7: tensor<1024xf32> {rwkv.param = "ffn.time_mix_r"}, %arg8: tensor<1024x1024xf32> {rwkv.param = "ffn.receptance"}) -> (tensor<?x?x1024xf32> {rwkv.activation = "h"}, tensor<?x1024xf32> {rwkv.state = "ffn_shift"}) attributes {rwkv.entry = "channel_mix", rwkv.layers = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23>, rwkv.mode = "parallel"} {
    %0 = rwkv.layer_norm %arg0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x?x1024xf32>, tensor<1024xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x?x1024xf32>, tensor<?x1024xf32>
    %1 = rwkv.lerp %shifted, %0, %arg4 : tensor<?x?x1024xf32>, tensor<1024xf32>
    %2 = rwkv.lerp %shifted, %0, %arg7 : tensor<?x?x1024xf32>, tensor<1024xf32>
    %3 = rwkv.channel_mix %1, %arg5, %arg6 gate(%2, %arg8 : tensor<?x?x1024xf32>, tensor<1024x1024xf32>) : tensor<?x?x1024xf32>, tensor<4096x1024xf32>, tensor<1024x4096xf32> -> tensor<?x?x1024xf32>
    %4 = arith.addf %arg0, %3 : tensor<?x?x1024xf32>
    return %4, %last : tensor<?x?x1024xf32>, tensor<?x1024xf32>
  }
  func.func @head_parallel(%arg0: tensor<?x?x1024xf32> {rwkv.activation = "h"}, %arg1: tensor<1024xf32> {rwkv.param = "ln_out.weight"}, %arg2: tensor<1024xf32> {rwkv.param = "ln_out.bias"}, %arg3: tensor<50277x1024xf32> {rwkv.param = "head"}) -> (tensor<?x1x50277xf32> {rwkv.activation = "logits"}) attributes {rwkv.entry = "head", rwkv.layers = array<i64>, rwkv.mode = "parallel"} {
    %c1 = arith.constant 1 : index
    %dim = tensor.dim %arg0, %c1 : tensor<?x?x1024xf32>
    %c1_0 = arith.constant 1 : index
    %0 = arith.subi %dim, %c1_0 : index
    %c0 = arith.constant 0 : index
    %dim_1 = tensor.dim %arg0, %c0 : tensor<?x?x1024xf32>
    %extracted_slice = tensor.extract_slice %arg0[0, %0, 0] [%dim_1, 1, 1024] [1, 1, 1] : tensor<?x?x1024xf32> to tensor<?x1x1024xf32>
    %1 = rwkv.layer_norm %extracted_slice, %arg1, %arg2 {eps = 9.99999974E-6 : f32} : tensor<?x1x1024xf32>, tensor<1024xf32>
    %2 = rwkv.linear %1, %arg3 : tensor<?x1x1024xf32>, tensor<50277x1024xf32> -> tensor<?x1x50277xf32>
    return %2 : tensor<?x1x50277xf32>
  }
}
