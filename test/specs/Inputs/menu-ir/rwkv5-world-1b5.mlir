module @"rwkv5-world-1b5" attributes {rwkv.spec_sha256 = "d423aeb48e2b4800efeb30ab6e3637b3b9fdd2789f18e63f3b0a5bd36d1bb86d"} {
  func.func @embed(%arg0: tensor<?x1xi32> {rwkv.activation = "tokens"}, %arg1: tensor<65536x2048xf32> {rwkv.param = "emb"}, %arg2: tensor<2048xf32> {rwkv.param = "ln0.weight"}, %arg3: tensor<2048xf32> {rwkv.param = "ln0.bias"}) -> (tensor<?x1x2048xf32> {rwkv.activation = "h"}) attributes {rwkv.entry = "embed", rwkv.layers = array<i64>, rwkv.mode = "recurrent"} {
    %0 = rwkv.embedding %arg0, %arg1 : tensor<?x1xi32>, tensor<65536x2048xf32> -> tensor<?x1x2048xf32>
    %1 = rwkv.layer_norm %0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x1x2048xf32>, tensor<2048xf32>
    return %1 : tensor<?x1x2048xf32>
  }
  func.func @time_mix_0(%arg0: tensor<?x1x2048xf32> {rwkv.activation = "h"}, %arg1: tensor<?x2048xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x32x64x64xf32> {rwkv.state = "wkv"}, %arg3: tensor<2048xf32> {rwkv.param = "ln1.weight"}, %arg4: tensor<2048xf32> {rwkv.param = "ln1.bias"}, %arg5: tensor<2048xf32> {rwkv.param = "att.time_mix_k"}, %arg6: tensor<2048xf32> {rwkv.param = "att.time_mix_v"}, %arg7: tensor<2048xf32> {rwkv.param = "att.time_mix_r"}, %arg8: tensor<2048xf32> {rwkv.param = "att.time_mix_g"}, %arg9: tensor<2048x2048xf32> {rwkv.param = "att.receptance"}, %arg10: tensor<2048x2048xf32> {rwkv.param = "att.key"}, %arg11: tensor<2048x2048xf32> {rwkv.param = "att.value"}, %arg12: tensor<2048xf32> {rwkv.param = "att.time_decay"}, %arg13: tensor<2048xf32> {rwkv.param = "att.time_faaaa"}, %arg14: tensor<2048xf32> {rwkv.param = "att.ln_x.weight"}, %arg15: tensor<2048xf32> {rwkv.param = "att.ln_x.bias"}, %arg16: tensor<2048x2048xf32> {rwkv.param = "att.gate"}, %arg17: tensor<2048x2048xf32> {rwkv.param = "att.output"}) -> (tensor<?x1x2048xf32> {rwkv.activation = "h"}, tensor<?x2048xf32> {rwkv.state = "att_shift"}, tensor<?x32x64x64xf32> {rwkv.state = "wkv"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg3, %arg4 {eps = 9.99999974E-6 : f32} : tensor<?x1x2048xf32>, tensor<2048xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x1x2048xf32>, tensor<?x2048xf32>
    %1 = rwkv.shift_lerp_linear current %0, %arg1, %arg7, %arg9 : tensor<?x1x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x1x2048xf32>
    %2 = rwkv.shift_lerp_linear current %0, %arg1, %arg5, %arg10 : tensor<?x1x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x1x2048xf32>
    %3 = rwkv.shift_lerp_linear current %0, %arg1, %arg6, %arg11 : tensor<?x1x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x1x2048xf32>
    %4 = math.exp %arg12 : tensor<2048xf32>
    %5 = arith.negf %4 : tensor<2048xf32>
    %6 = math.exp %5 : tensor<2048xf32>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %2, %c0 : tensor<?x1x2048xf32>
    %7 = tensor.empty(%dim) : tensor<?x1x2048xf32>
    %broadcasted = linalg.broadcast ins(%6 : tensor<2048xf32>) outs(%7 : tensor<?x1x2048xf32>) dimensions = [0, 1] 
    %y, %new_state = rwkv.wkv5 %1, %broadcasted, %2, %3, %arg13, %arg2 : tensor<?x1x2048xf32>, tensor<2048xf32>, tensor<?x32x64x64xf32>
    %8 = rwkv.group_norm %y, %arg14, %arg15 {eps = 6.400000e-04 : f32, num_groups = 32 : i64} : tensor<?x1x2048xf32>, tensor<2048xf32>
    %9 = rwkv.shift_lerp_linear current %0, %arg1, %arg8, %arg16 : tensor<?x1x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x1x2048xf32>
    %10 = rwkv.activation sigmoid %9 : tensor<?x1x2048xf32>
    %11 = arith.mulf %9, %10 : tensor<?x1x2048xf32>
    %12 = arith.mulf %8, %11 : tensor<?x1x2048xf32>
    %13 = rwkv.linear %12, %arg17 : tensor<?x1x2048xf32>, tensor<2048x2048xf32> -> tensor<?x1x2048xf32>
    %14 = arith.addf %arg0, %13 : tensor<?x1x2048xf32>
    return %14, %last, %new_state : tensor<?x1x2048xf32>, tensor<?x2048xf32>, tensor<?x32x64x64xf32>
  }
  func.func @channel_mix_0(%arg0: tensor<?x1x2048xf32> {rwkv.activation = "h"}, %arg1: tensor<?x2048xf32> {rwkv.state = "ffn_shift"}, %arg2: tensor<2048xf32> {rwkv.param = "ln2.weight"}, %arg3: tensor<2048xf32> {rwkv.param = "ln2.bias"}, %arg4: tensor<2048xf32> {rwkv.param = "ffn.time_mix_k"}, %arg5: tensor<7168x2048xf32> {rwkv.param = "ffn.key"}, %arg6: tensor<2048x7168xf32> {rwkv.param = "ffn.value"}, %arg7: tensor<2048xf32> {rwkv.param = "ffn.time_mix_r"}, %arg8: tensor<2048x2048xf32> {rwkv.param = "ffn.receptance"}) -> (tensor<?x1x2048xf32> {rwkv.activation = "h"}, tensor<?x2048xf32> {rwkv.state = "ffn_shift"}) attributes {rwkv.entry = "channel_mix", rwkv.layers = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x1x2048xf32>, tensor<2048xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x1x2048xf32>, tensor<?x2048xf32>
    %1 = rwkv.lerp %shifted, %0, %arg4 : tensor<?x1x2048xf32>, tensor<2048xf32>
    %2 = rwkv.lerp %shifted, %0, %arg7 : tensor<?x1x2048xf32>, tensor<2048xf32>
    %3 = rwkv.channel_mix %1, %arg5, %arg6 gate(%2, %arg8 : tensor<?x1x2048xf32>, tensor<2048x2048xf32>) : tensor<?x1x2048xf32>, tensor<7168x2048xf32>, tensor<2048x7168xf32> -> tensor<?x1x2048xf32>
    %4 = arith.addf %arg0, %3 : tensor<?x1x2048xf32>
    return %4, %last : tensor<?x1x2048xf32>, tensor<?x2048xf32>
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
  func.func @time_mix_0_parallel(%arg0: tensor<?x?x2048xf32> {rwkv.activation = "h"}, %arg1: tensor<?x2048xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x32x64x64xf32> {rwkv.state = "wkv"}, %arg3: tensor<2048xf32> {rwkv.param = "ln1.weight"}, %arg4: tensor<2048xf32> {rwkv.param = "ln1.bias"}, %arg5: tensor<2048xf32> {rwkv.param = "att.time_mix_k"}, %arg6: tensor<2048xf32> {rwkv.param = "att.time_mix_v"}, %arg7: tensor<2048xf32> {rwkv.param = "att.time_mix_r"}, %arg8: tensor<2048xf32> {rwkv.param = "att.time_mix_g"}, %arg9: tensor<2048x2048xf32> {rwkv.param = "att.receptance"}, %arg10: tensor<2048x2048xf32> {rwkv.param = "att.key"}, %arg11: tensor<2048x2048xf32> {rwkv.param = "att.value"}, %arg12: tensor<2048xf32> {rwkv.param = "att.time_decay"}, %arg13: tensor<2048xf32> {rwkv.param = "att.time_faaaa"}, %arg14: tensor<2048xf32> {rwkv.param = "att.ln_x.weight"}, %arg15: tensor<2048xf32> {rwkv.param = "att.ln_x.bias"}, %arg16: tensor<2048x2048xf32> {rwkv.param = "att.gate"}, %arg17: tensor<2048x2048xf32> {rwkv.param = "att.output"}) -> (tensor<?x?x2048xf32> {rwkv.activation = "h"}, tensor<?x2048xf32> {rwkv.state = "att_shift"}, tensor<?x32x64x64xf32> {rwkv.state = "wkv"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23>, rwkv.mode = "parallel"} {
    %0 = rwkv.layer_norm %arg0, %arg3, %arg4 {eps = 9.99999974E-6 : f32} : tensor<?x?x2048xf32>, tensor<2048xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x?x2048xf32>, tensor<?x2048xf32>
    %1 = rwkv.shift_lerp_linear current %0, %arg1, %arg7, %arg9 : tensor<?x?x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x?x2048xf32>
    %2 = rwkv.shift_lerp_linear current %0, %arg1, %arg5, %arg10 : tensor<?x?x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x?x2048xf32>
    %3 = rwkv.shift_lerp_linear current %0, %arg1, %arg6, %arg11 : tensor<?x?x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x?x2048xf32>
    %4 = math.exp %arg12 : tensor<2048xf32>
    %5 = arith.negf %4 : tensor<2048xf32>
    %6 = math.exp %5 : tensor<2048xf32>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %2, %c0 : tensor<?x?x2048xf32>
    %c1 = arith.constant 1 : index
    %dim_0 = tensor.dim %2, %c1 : tensor<?x?x2048xf32>
    %7 = tensor.empty(%dim, %dim_0) : tensor<?x?x2048xf32>
    %broadcasted = linalg.broadcast ins(%6 : tensor<2048xf32>) outs(%7 : tensor<?x?x2048xf32>) dimensions = [0, 1] 
    %y, %new_state = rwkv.wkv5 %1, %broadcasted, %2, %3, %arg13, %arg2 : tensor<?x?x2048xf32>, tensor<2048xf32>, tensor<?x32x64x64xf32>
    %8 = rwkv.group_norm %y, %arg14, %arg15 {eps = 6.400000e-04 : f32, num_groups = 32 : i64} : tensor<?x?x2048xf32>, tensor<2048xf32>
    %9 = rwkv.shift_lerp_linear current %0, %arg1, %arg8, %arg16 : tensor<?x?x2048xf32>, tensor<?x2048xf32>, tensor<2048xf32>, tensor<2048x2048xf32> -> tensor<?x?x2048xf32>
    %10 = rwkv.activation sigmoid %9 : tensor<?x?x2048xf32>
    %11 = arith.mulf %9, %10 : tensor<?x?x2048xf32>
    %12 = arith.mulf %8, %11 : tensor<?x?x2048xf32>
    %13 = rwkv.linear %12, %arg17 : tensor<?x?x2048xf32>, tensor<2048x2048xf32> -> tensor<?x?x2048xf32>
    %14 = arith.addf %arg0, %13 : tensor<?x?x2048xf32>
    return %14, %last, %new_state : tensor<?x?x2048xf32>, tensor<?x2048xf32>, tensor<?x32x64x64xf32>
  }
  func.func @channel_mix_0_parallel(%arg0: tensor<?x?x2048xf32> {rwkv.activation = "h"}, %arg1: tensor<?x2048xf32> {rwkv.state = "ffn_shift"}, %arg2: tensor<2048xf32> {rwkv.param = "ln2.weight"}, %arg3: tensor<2048xf32> {rwkv.param = "ln2.bias"}, %arg4: tensor<2048xf32> {rwkv.param = "ffn.time_mix_k"}, %arg5: tensor<7168x2048xf32> {rwkv.param = "ffn.key"}, %arg6: tensor<2048x7168xf32> {rwkv.param = "ffn.value"}, %arg7: tensor<2048xf32> {rwkv.param = "ffn.time_mix_r"}, %arg8: tensor<2048x2048xf32> {rwkv.param = "ffn.receptance"}) -> (tensor<?x?x2048xf32> {rwkv.activation = "h"}, tensor<?x2048xf32> {rwkv.state = "ffn_shift"}) attributes {rwkv.entry = "channel_mix", rwkv.layers = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23>, rwkv.mode = "parallel"} {
    %0 = rwkv.layer_norm %arg0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x?x2048xf32>, tensor<2048xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x?x2048xf32>, tensor<?x2048xf32>
    %1 = rwkv.lerp %shifted, %0, %arg4 : tensor<?x?x2048xf32>, tensor<2048xf32>
    %2 = rwkv.lerp %shifted, %0, %arg7 : tensor<?x?x2048xf32>, tensor<2048xf32>
    %3 = rwkv.channel_mix %1, %arg5, %arg6 gate(%2, %arg8 : tensor<?x?x2048xf32>, tensor<2048x2048xf32>) : tensor<?x?x2048xf32>, tensor<7168x2048xf32>, tensor<2048x7168xf32> -> tensor<?x?x2048xf32>
    %4 = arith.addf %arg0, %3 : tensor<?x?x2048xf32>
    return %4, %last : tensor<?x?x2048xf32>, tensor<?x2048xf32>
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
