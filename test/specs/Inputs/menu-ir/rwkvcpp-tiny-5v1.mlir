module @"rwkvcpp-tiny-5v1" attributes {rwkv.spec_sha256 = "d44cae8b58937e70fe7c32b3baffd1bd1f7aa61ba3a52bd0c869236cd1d8d38f"} {
  func.func @embed(%arg0: tensor<?x1xi32> {rwkv.activation = "tokens"}, %arg1: tensor<256x64xf32> {rwkv.param = "emb"}, %arg2: tensor<64xf32> {rwkv.param = "ln0.weight"}, %arg3: tensor<64xf32> {rwkv.param = "ln0.bias"}) -> (tensor<?x1x64xf32> {rwkv.activation = "h"}) attributes {rwkv.entry = "embed", rwkv.layers = array<i64>, rwkv.mode = "recurrent"} {
    %0 = rwkv.embedding %arg0, %arg1 : tensor<?x1xi32>, tensor<256x64xf32> -> tensor<?x1x64xf32>
    %1 = rwkv.layer_norm %0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
    return %1 : tensor<?x1x64xf32>
  }
  func.func @time_mix_0(%arg0: tensor<?x1x64xf32> {rwkv.activation = "h"}, %arg1: tensor<?x64xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x8x8x8xf32> {rwkv.state = "wkv"}, %arg3: tensor<64xf32> {rwkv.param = "ln1.weight"}, %arg4: tensor<64xf32> {rwkv.param = "ln1.bias"}, %arg5: tensor<64xf32> {rwkv.param = "att.time_mix_k"}, %arg6: tensor<64xf32> {rwkv.param = "att.time_mix_v"}, %arg7: tensor<64xf32> {rwkv.param = "att.time_mix_r"}, %arg8: tensor<64x64xf32> {rwkv.param = "att.receptance"}, %arg9: tensor<64x64xf32> {rwkv.param = "att.key"}, %arg10: tensor<64x64xf32> {rwkv.param = "att.value"}, %arg11: tensor<8xf32> {rwkv.param = "att.time_decay"}, %arg12: tensor<8xf32> {rwkv.param = "att.time_first"}, %arg13: tensor<64xf32> {rwkv.param = "att.ln_x.weight"}, %arg14: tensor<64xf32> {rwkv.param = "att.ln_x.bias"}, %arg15: tensor<64x64xf32> {rwkv.param = "att.output"}) -> (tensor<?x1x64xf32> {rwkv.activation = "h"}, tensor<?x64xf32> {rwkv.state = "att_shift"}, tensor<?x8x8x8xf32> {rwkv.state = "wkv"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg3, %arg4 {eps = 9.99999974E-6 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x1x64xf32>, tensor<?x64xf32>
    %1 = rwkv.shift_lerp_linear current %0, %arg1, %arg7, %arg8 : tensor<?x1x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<64x64xf32> -> tensor<?x1x64xf32>
    %2 = rwkv.shift_lerp_linear current %0, %arg1, %arg5, %arg9 : tensor<?x1x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<64x64xf32> -> tensor<?x1x64xf32>
    %3 = rwkv.shift_lerp_linear current %0, %arg1, %arg6, %arg10 : tensor<?x1x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<64x64xf32> -> tensor<?x1x64xf32>
    %4 = tensor.empty() : tensor<8x8xf32>
    %broadcasted = linalg.broadcast ins(%arg11 : tensor<8xf32>) outs(%4 : tensor<8x8xf32>) dimensions = [1] 
    %collapsed = tensor.collapse_shape %broadcasted [[0, 1]] : tensor<8x8xf32> into tensor<64xf32>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %2, %c0 : tensor<?x1x64xf32>
    %5 = tensor.empty(%dim) : tensor<?x1x64xf32>
    %broadcasted_0 = linalg.broadcast ins(%collapsed : tensor<64xf32>) outs(%5 : tensor<?x1x64xf32>) dimensions = [0, 1] 
    %6 = tensor.empty() : tensor<8x8xf32>
    %broadcasted_1 = linalg.broadcast ins(%arg12 : tensor<8xf32>) outs(%6 : tensor<8x8xf32>) dimensions = [1] 
    %collapsed_2 = tensor.collapse_shape %broadcasted_1 [[0, 1]] : tensor<8x8xf32> into tensor<64xf32>
    %y, %new_state = rwkv.wkv5 %1, %broadcasted_0, %2, %3, %collapsed_2, %arg2 : tensor<?x1x64xf32>, tensor<64xf32>, tensor<?x8x8x8xf32>
    %7 = rwkv.group_norm %y, %arg13, %arg14 {eps = 9.99999974E-6 : f32, num_groups = 8 : i64} : tensor<?x1x64xf32>, tensor<64xf32>
    %8 = rwkv.linear %7, %arg15 : tensor<?x1x64xf32>, tensor<64x64xf32> -> tensor<?x1x64xf32>
    %9 = arith.addf %arg0, %8 : tensor<?x1x64xf32>
    return %9, %last, %new_state : tensor<?x1x64xf32>, tensor<?x64xf32>, tensor<?x8x8x8xf32>
  }
  func.func @channel_mix_0(%arg0: tensor<?x1x64xf32> {rwkv.activation = "h"}, %arg1: tensor<?x64xf32> {rwkv.state = "ffn_shift"}, %arg2: tensor<64xf32> {rwkv.param = "ln2.weight"}, %arg3: tensor<64xf32> {rwkv.param = "ln2.bias"}, %arg4: tensor<64xf32> {rwkv.param = "ffn.time_mix_k"}, %arg5: tensor<256x64xf32> {rwkv.param = "ffn.key"}, %arg6: tensor<64x256xf32> {rwkv.param = "ffn.value"}, %arg7: tensor<64xf32> {rwkv.param = "ffn.time_mix_r"}, %arg8: tensor<64x64xf32> {rwkv.param = "ffn.receptance"}) -> (tensor<?x1x64xf32> {rwkv.activation = "h"}, tensor<?x64xf32> {rwkv.state = "ffn_shift"}) attributes {rwkv.entry = "channel_mix", rwkv.layers = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x1x64xf32>, tensor<?x64xf32>
    %1 = rwkv.lerp %shifted, %0, %arg4 : tensor<?x1x64xf32>, tensor<64xf32>
    %2 = rwkv.lerp %shifted, %0, %arg7 : tensor<?x1x64xf32>, tensor<64xf32>
    %3 = rwkv.channel_mix %1, %arg5, %arg6 gate(%2, %arg8 : tensor<?x1x64xf32>, tensor<64x64xf32>) : tensor<?x1x64xf32>, tensor<256x64xf32>, tensor<64x256xf32> -> tensor<?x1x64xf32>
    %4 = arith.addf %arg0, %3 : tensor<?x1x64xf32>
    return %4, %last : tensor<?x1x64xf32>, tensor<?x64xf32>
  }
  func.func @head(%arg0: tensor<?x1x64xf32> {rwkv.activation = "h"}, %arg1: tensor<64xf32> {rwkv.param = "ln_out.weight"}, %arg2: tensor<64xf32> {rwkv.param = "ln_out.bias"}, %arg3: tensor<256x64xf32> {rwkv.param = "head"}) -> (tensor<?x1x256xf32> {rwkv.activation = "logits"}) attributes {rwkv.entry = "head", rwkv.layers = array<i64>, rwkv.mode = "recurrent"} {
    %0 = rwkv.layer_norm %arg0, %arg1, %arg2 {eps = 9.99999974E-6 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
    %1 = rwkv.linear %0, %arg3 : tensor<?x1x64xf32>, tensor<256x64xf32> -> tensor<?x1x256xf32>
    return %1 : tensor<?x1x256xf32>
  }
  func.func @embed_parallel(%arg0: tensor<?x?xi32> {rwkv.activation = "tokens"}, %arg1: tensor<256x64xf32> {rwkv.param = "emb"}, %arg2: tensor<64xf32> {rwkv.param = "ln0.weight"}, %arg3: tensor<64xf32> {rwkv.param = "ln0.bias"}) -> (tensor<?x?x64xf32> {rwkv.activation = "h"}) attributes {rwkv.entry = "embed", rwkv.layers = array<i64>, rwkv.mode = "parallel"} {
    %0 = rwkv.embedding %arg0, %arg1 : tensor<?x?xi32>, tensor<256x64xf32> -> tensor<?x?x64xf32>
    %1 = rwkv.layer_norm %0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x?x64xf32>, tensor<64xf32>
    return %1 : tensor<?x?x64xf32>
  }
  func.func @time_mix_0_parallel(%arg0: tensor<?x?x64xf32> {rwkv.activation = "h"}, %arg1: tensor<?x64xf32> {rwkv.state = "att_shift"}, %arg2: tensor<?x8x8x8xf32> {rwkv.state = "wkv"}, %arg3: tensor<64xf32> {rwkv.param = "ln1.weight"}, %arg4: tensor<64xf32> {rwkv.param = "ln1.bias"}, %arg5: tensor<64xf32> {rwkv.param = "att.time_mix_k"}, %arg6: tensor<64xf32> {rwkv.param = "att.time_mix_v"}, %arg7: tensor<64xf32> {rwkv.param = "att.time_mix_r"}, %arg8: tensor<64x64xf32> {rwkv.param = "att.receptance"}, %arg9: tensor<64x64xf32> {rwkv.param = "att.key"}, %arg10: tensor<64x64xf32> {rwkv.param = "att.value"}, %arg11: tensor<8xf32> {rwkv.param = "att.time_decay"}, %arg12: tensor<8xf32> {rwkv.param = "att.time_first"}, %arg13: tensor<64xf32> {rwkv.param = "att.ln_x.weight"}, %arg14: tensor<64xf32> {rwkv.param = "att.ln_x.bias"}, %arg15: tensor<64x64xf32> {rwkv.param = "att.output"}) -> (tensor<?x?x64xf32> {rwkv.activation = "h"}, tensor<?x64xf32> {rwkv.state = "att_shift"}, tensor<?x8x8x8xf32> {rwkv.state = "wkv"}) attributes {rwkv.entry = "time_mix", rwkv.layers = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11>, rwkv.mode = "parallel"} {
    %0 = rwkv.layer_norm %arg0, %arg3, %arg4 {eps = 9.99999974E-6 : f32} : tensor<?x?x64xf32>, tensor<64xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x?x64xf32>, tensor<?x64xf32>
    %1 = rwkv.shift_lerp_linear current %0, %arg1, %arg7, %arg8 : tensor<?x?x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<64x64xf32> -> tensor<?x?x64xf32>
    %2 = rwkv.shift_lerp_linear current %0, %arg1, %arg5, %arg9 : tensor<?x?x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<64x64xf32> -> tensor<?x?x64xf32>
    %3 = rwkv.shift_lerp_linear current %0, %arg1, %arg6, %arg10 : tensor<?x?x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<64x64xf32> -> tensor<?x?x64xf32>
    %4 = tensor.empty() : tensor<8x8xf32>
    %broadcasted = linalg.broadcast ins(%arg11 : tensor<8xf32>) outs(%4 : tensor<8x8xf32>) dimensions = [1] 
    %collapsed = tensor.collapse_shape %broadcasted [[0, 1]] : tensor<8x8xf32> into tensor<64xf32>
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %2, %c0 : tensor<?x?x64xf32>
    %c1 = arith.constant 1 : index
    %dim_0 = tensor.dim %2, %c1 : tensor<?x?x64xf32>
    %5 = tensor.empty(%dim, %dim_0) : tensor<?x?x64xf32>
    %broadcasted_1 = linalg.broadcast ins(%collapsed : tensor<64xf32>) outs(%5 : tensor<?x?x64xf32>) dimensions = [0, 1] 
    %6 = tensor.empty() : tensor<8x8xf32>
    %broadcasted_2 = linalg.broadcast ins(%arg12 : tensor<8xf32>) outs(%6 : tensor<8x8xf32>) dimensions = [1] 
    %collapsed_3 = tensor.collapse_shape %broadcasted_2 [[0, 1]] : tensor<8x8xf32> into tensor<64xf32>
    %y, %new_state = rwkv.wkv5 %1, %broadcasted_1, %2, %3, %collapsed_3, %arg2 : tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x8x8x8xf32>
    %7 = rwkv.group_norm %y, %arg13, %arg14 {eps = 9.99999974E-6 : f32, num_groups = 8 : i64} : tensor<?x?x64xf32>, tensor<64xf32>
    %8 = rwkv.linear %7, %arg15 : tensor<?x?x64xf32>, tensor<64x64xf32> -> tensor<?x?x64xf32>
    %9 = arith.addf %arg0, %8 : tensor<?x?x64xf32>
    return %9, %last, %new_state : tensor<?x?x64xf32>, tensor<?x64xf32>, tensor<?x8x8x8xf32>
  }
  func.func @channel_mix_0_parallel(%arg0: tensor<?x?x64xf32> {rwkv.activation = "h"}, %arg1: tensor<?x64xf32> {rwkv.state = "ffn_shift"}, %arg2: tensor<64xf32> {rwkv.param = "ln2.weight"}, %arg3: tensor<64xf32> {rwkv.param = "ln2.bias"}, %arg4: tensor<64xf32> {rwkv.param = "ffn.time_mix_k"}, %arg5: tensor<256x64xf32> {rwkv.param = "ffn.key"}, %arg6: tensor<64x256xf32> {rwkv.param = "ffn.value"}, %arg7: tensor<64xf32> {rwkv.param = "ffn.time_mix_r"}, %arg8: tensor<64x64xf32> {rwkv.param = "ffn.receptance"}) -> (tensor<?x?x64xf32> {rwkv.activation = "h"}, tensor<?x64xf32> {rwkv.state = "ffn_shift"}) attributes {rwkv.entry = "channel_mix", rwkv.layers = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11>, rwkv.mode = "parallel"} {
    %0 = rwkv.layer_norm %arg0, %arg2, %arg3 {eps = 9.99999974E-6 : f32} : tensor<?x?x64xf32>, tensor<64xf32>
    %shifted, %last = rwkv.token_shift %0, %arg1 : tensor<?x?x64xf32>, tensor<?x64xf32>
    %1 = rwkv.lerp %shifted, %0, %arg4 : tensor<?x?x64xf32>, tensor<64xf32>
    %2 = rwkv.lerp %shifted, %0, %arg7 : tensor<?x?x64xf32>, tensor<64xf32>
    %3 = rwkv.channel_mix %1, %arg5, %arg6 gate(%2, %arg8 : tensor<?x?x64xf32>, tensor<64x64xf32>) : tensor<?x?x64xf32>, tensor<256x64xf32>, tensor<64x256xf32> -> tensor<?x?x64xf32>
    %4 = arith.addf %arg0, %3 : tensor<?x?x64xf32>
    return %4, %last : tensor<?x?x64xf32>, tensor<?x64xf32>
  }
  func.func @head_parallel(%arg0: tensor<?x?x64xf32> {rwkv.activation = "h"}, %arg1: tensor<64xf32> {rwkv.param = "ln_out.weight"}, %arg2: tensor<64xf32> {rwkv.param = "ln_out.bias"}, %arg3: tensor<256x64xf32> {rwkv.param = "head"}) -> (tensor<?x1x256xf32> {rwkv.activation = "logits"}) attributes {rwkv.entry = "head", rwkv.layers = array<i64>, rwkv.mode = "parallel"} {
    %c1 = arith.constant 1 : index
    %dim = tensor.dim %arg0, %c1 : tensor<?x?x64xf32>
    %c1_0 = arith.constant 1 : index
    %0 = arith.subi %dim, %c1_0 : index
    %c0 = arith.constant 0 : index
    %dim_1 = tensor.dim %arg0, %c0 : tensor<?x?x64xf32>
    %extracted_slice = tensor.extract_slice %arg0[0, %0, 0] [%dim_1, 1, 64] [1, 1, 1] : tensor<?x?x64xf32> to tensor<?x1x64xf32>
    %1 = rwkv.layer_norm %extracted_slice, %arg1, %arg2 {eps = 9.99999974E-6 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
    %2 = rwkv.linear %1, %arg3 : tensor<?x1x64xf32>, tensor<256x64xf32> -> tensor<?x1x256xf32>
    return %2 : tensor<?x1x256xf32>
  }
}
