//===- RwkvEnums.td - enums used by rwkv ops --------------*- tablegen -*-===//

#ifndef RWKV_ENUMS_TD
#define RWKV_ENUMS_TD

include "mlir/IR/EnumAttr.td"

def Rwkv_Activation : I32EnumAttr<"Activation",
    "pointwise activation (inside a LoRA or a channel mix, or on its own)", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"Tanh", 1, "tanh">,
      I32EnumAttrCase<"Sigmoid", 2, "sigmoid">,
      I32EnumAttrCase<"ReluSquare", 3, "relu_square">,
      // max(x, 0)
      I32EnumAttrCase<"Relu", 4, "relu">,
      // x * sigmoid(x)
      I32EnumAttrCase<"Silu", 5, "silu">,
      // log(1 + exp(x)), computed as max(x, 0) + log(1 + exp(-|x|))
      I32EnumAttrCase<"Softplus", 6, "softplus">,
      // x * tanh(softplus(x))
      I32EnumAttrCase<"Mish", 7, "mish">,
      // 0.5 x (1 + erf(x / sqrt(2))), torch's exact GELU
      I32EnumAttrCase<"Gelu", 8, "gelu">,
      I32EnumAttrCase<"Exp", 9, "exp">
    ]> {
  let cppNamespace = "::mlir::rwkv";
}

def Rwkv_DecayKind : I32EnumAttr<"DecayKind",
    "how a decay pre-activation z maps to the per-channel decay w", [
      // w = exp(-exp(z)) in (0, 1): RWKV-5 (static) and RWKV-6 (per token).
      I32EnumAttrCase<"ExpNegExp", 0, "exp_neg_exp">,
      // w = exp(-exp(-1/2) * sigmoid(z)) in (0.5452, 1): RWKV-7.
      I32EnumAttrCase<"Sigmoid", 1, "sigmoid">
    ]> {
  let cppNamespace = "::mlir::rwkv";
}

def Rwkv_ShiftMix : I32EnumAttr<"ShiftMix",
    "which token a token-shift mix weight μ applies to (rwkv-math §9.11)", [
      // x + (x_prev - x) * mu: RWKV-6/7 (`time_maa`, `x_*`).
      I32EnumAttrCase<"Previous", 0, "previous">,
      // x_prev + (x - x_prev) * mu: RWKV-4/5 (`time_mix`).
      I32EnumAttrCase<"Current", 1, "current">
    ]> {
  let cppNamespace = "::mlir::rwkv";
}

#endif // RWKV_ENUMS_TD
