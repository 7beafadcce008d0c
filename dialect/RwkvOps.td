//===- RwkvOps.td - rwkv dialect operations ---------------*- tablegen -*-===//
//
// Every op states its formula, operand shapes, dtypes and the section of
// ../shared/docs/rwkv-math.md (and the reference implementation) it follows.
// Shape letters: B batch, T tokens in this call, C channels (d_model),
// H heads, N head size (C = H*N), F channel-mix width, V vocabulary size,
// D LoRA rank.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_OPS_TD
#define RWKV_OPS_TD

include "dialect/RwkvDialect.td"
include "dialect/RwkvEnums.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Embedding and normalisation
//===----------------------------------------------------------------------===//

def Rwkv_EmbeddingOp : Rwkv_Op<"embedding", [Pure]> {
  let summary = "Row gather from the token embedding table";
  let description = [{
    `result[b, t, :] = table[tokens[b, t], :]` (rwkv-math §1, `emb.weight`).

    * `tokens`: `[B, T]` i32 token ids; each must lie in `[0, V)`. Out-of-range
      ids are clamped to `V - 1` by the lowering (the runtime rejects them
      before the call).
    * `table`: `[V, C]`.
    * `result`: `[B, T, C]` f32.

    ```mlir
    %x = rwkv.embedding %tokens, %emb
        : tensor<?x1xi32>, tensor<65536x768xf32> -> tensor<?x1x768xf32>
    ```
  }];
  let arguments = (ins Rwkv_TokenTensor:$tokens, Rwkv_FloatTensor:$table);
  let results = (outs Rwkv_F32Tensor:$result);
  let assemblyFormat = [{
    $tokens `,` $table attr-dict `:` type($tokens) `,` type($table)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Rwkv_LayerNormOp : Rwkv_Op<"layer_norm",
    [Pure, AllTypesMatch<["input", "result"]>,
     AllTypesMatch<["weight", "bias"]>]> {
  let summary = "LayerNorm over the channel axis with an affine transform";
  let description = [{
    For every `(b, t)` row of `C` channels:
    `mu = mean(x)`, `var = mean((x - mu)^2)`,
    `result = (x - mu) / sqrt(var + eps) * weight + bias` (rwkv-math §0, `LN`;
    torch `nn.LayerNorm`, biased variance). Used for ln0, ln1, ln2 and ln_out.

    * `input`, `result`: `[B, T, C]` f32; `weight`, `bias`: `[C]`.
    * `eps`: f32, 1e-5 in every released model; the spec carries it.

    ```mlir
    %y = rwkv.layer_norm %x, %w, %b {eps = 1.0e-05 : f32}
        : tensor<?x1x768xf32>, tensor<768xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$input, Rwkv_FloatTensor:$weight,
                   Rwkv_FloatTensor:$bias, F32Attr:$eps);
  let results = (outs Rwkv_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias attr-dict `:` type($input) `,` type($weight)
  }];
  let hasVerifier = 1;
}

def Rwkv_RmsNormOp : Rwkv_Op<"rms_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "RMSNorm over the channel axis with a scale";
  let description = [{
    For every `(b, t)` row of `C` channels:
    `result = x / sqrt(mean(x^2) + eps) * weight` (Zhang & Sennrich 2019;
    torch `nn.RMSNorm`, Llama's norm). No centring and no bias: the norm of
    Transformer-style blocks that variants put around RWKV time mixes.

    * `input`, `result`: `[B, T, C]` f32; `weight`: `[C]`.
    * `eps`: f32 > 0 (1e-6 in Llama-style blocks, 1e-5 in torch's default
      for f32); the spec carries it.

    ```mlir
    %y = rwkv.rms_norm %x, %w {eps = 1.0e-06 : f32}
        : tensor<?x1x768xf32>, tensor<768xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$input, Rwkv_FloatTensor:$weight,
                   F32Attr:$eps);
  let results = (outs Rwkv_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight)
  }];
  let hasVerifier = 1;
}

def Rwkv_GroupNormOp : Rwkv_Op<"group_norm",
    [Pure, AllTypesMatch<["input", "result"]>,
     AllTypesMatch<["weight", "bias"]>]> {
  let summary = "Per-head GroupNorm (ln_x) with an affine transform";
  let description = [{
    The channel axis is split into `num_groups` contiguous groups (one per
    head, `N = C / num_groups` channels each). Within every `(b, t, group)`:
    `result = (x - mean) / sqrt(var + eps) * weight + bias`, biased variance,
    computed in f32 (rwkv-math §0 `GN_H`, §3.1, §5.5; torch `nn.GroupNorm`).

    * `input`, `result`: `[B, T, C]` f32; `weight`, `bias`: `[C]`.
    * `num_groups`: `H`, must divide `C`.
    * `eps`: 64e-5 for ChatRWKV-style v5/v6/v7 weights; rwkv.cpp's v5 graph
      uses 1e-5. The spec carries it; there is no default.

    ```mlir
    %o = rwkv.group_norm %y, %w, %b {num_groups = 12 : i64, eps = 6.4e-04 : f32}
        : tensor<?x1x768xf32>, tensor<768xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$input, Rwkv_FloatTensor:$weight,
                   Rwkv_FloatTensor:$bias, I64Attr:$num_groups, F32Attr:$eps);
  let results = (outs Rwkv_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias attr-dict `:` type($input) `,` type($weight)
  }];
  let hasVerifier = 1;
}

def Rwkv_L2NormOp : Rwkv_Op<"l2_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Per-head L2 normalisation";
  let description = [{
    For every `(b, t, h)`: `result = x / max(||x||_2, eps)` over the `N`
    channels of head `h` (rwkv-math §5.3, the RWKV-7 removal key
    `κ̂ = κ / max(‖κ‖₂, 1e-12)`; RWKV-LM `rwkv_v7_numpy.py`).

    * `input`, `result`: `[B, T, C]` f32 with `C = H * head_size`.
    * `head_size`: `N`, must divide `C`. `eps`: defaults to 1e-12.

    ```mlir
    %kh = rwkv.l2_norm %kappa {head_size = 64 : i64}
        : tensor<?x1x768xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$input, I64Attr:$head_size,
                   DefaultValuedAttr<F32Attr, "1.0e-12">:$eps);
  let results = (outs Rwkv_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Token shift and mixing
//===----------------------------------------------------------------------===//

def Rwkv_TokenShiftOp : Rwkv_Op<"token_shift",
    [Pure, AllTypesMatch<["input", "shifted"]>,
     AllTypesMatch<["prev", "last"]>]> {
  let summary = "Previous-token select with a carried state";
  let description = [{
    Produces `x_{t-1}` for every position of the call (rwkv-math §0, token
    shift):

    * `shifted[b, 0, :] = prev[b, :]` and `shifted[b, t, :] = input[b, t-1, :]`
      for `t >= 1`.
    * `last[b, :] = input[b, T-1, :]` is the state for the next call.

    `input`, `shifted`: `[B, T, C]` f32. `prev`, `last`: `[B, C]` f32, the
    normed input of the previous token; zero for a fresh sequence. The op does
    not mix; see `rwkv.lerp` and its note on conventions.

    ```mlir
    %sx, %next = rwkv.token_shift %x, %prev
        : tensor<?x1x768xf32>, tensor<?x768xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$input, Rwkv_F32Tensor:$prev);
  let results = (outs Rwkv_F32Tensor:$shifted, Rwkv_F32Tensor:$last);
  let assemblyFormat = [{
    $input `,` $prev attr-dict `:` type($input) `,` type($prev)
  }];
  let hasVerifier = 1;
}

def Rwkv_LerpOp : Rwkv_Op<"lerp",
    [Pure, AllTypesMatch<["start", "end", "result"]>]> {
  let summary = "Linear interpolation `start + (end - start) * weight`";
  let description = [{
    `result = start + (end - start) ⊙ weight`, elementwise, with `weight`
    either a per-channel `[C]` vector (broadcast over B and T) or a tensor of
    the full `[B, T, C]` shape.

    The token-shift convention is explicit in the operand order, never in a
    version number (rwkv-math §9.11):

    * v6/v7 (`time_maa`, `x_*`; μ weights the previous token):
      `x∘ = lerp(x_t, x_{t-1}, μ)` = `x_t + (x_{t-1} - x_t) ⊙ μ` (§4.1, §5.1).
    * v4/v5 (`time_mix`; μ weights the current token):
      `x∘ = lerp(x_{t-1}, x_t, μ)` = `μ ⊙ x_t + (1 - μ) ⊙ x_{t-1}` (§2.1, §3.1).

    RWKV-7 also uses it for the value residual `v ← lerp(v, v_first, ν)` and
    the replacement key `k̃ = lerp(k, α ⊙ k, k_a)` (§5.2, §5.3).

    ```mlir
    %xr = rwkv.lerp %x, %sx, %mu_r : tensor<?x1x768xf32>, tensor<768xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$start, Rwkv_F32Tensor:$end,
                   Rwkv_FloatTensor:$weight);
  let results = (outs Rwkv_F32Tensor:$result);
  let assemblyFormat = [{
    $start `,` $end `,` $weight attr-dict `:` type($start) `,` type($weight)
  }];
  let hasVerifier = 1;
}

def Rwkv_DDLerpOp : Rwkv_Op<"ddlerp",
    [Pure, AllTypesMatch<["input", "prev"]>]> {
  let summary = "RWKV-6 data-dependent token shift (ddlerp) with a shared LoRA";
  let description = [{
    Produces K mixed inputs whose mix weights depend on the data (rwkv-math
    §4.1; ChatRWKV `att_one_v6_0`). With δ = prev − input:

    ```
    ξ   = input + δ ⊙ mu_x
    z   = tanh(ξ · downᵀ)                 split into K blocks of width D
    m_i = z_i · up[i]ᵀ
    result_i = input + δ ⊙ (mu_i + m_i)   for i < K
    ```

    μ weights the previous token (the v6 convention). RWKV-6 uses K = 5 in
    the order (w, k, v, r, g).

    * `input` (x_t), `prev` (x_{t-1}, from `rwkv.token_shift`), results:
      `[B, T, C]` f32.
    * `mu_x`: `[C]`; `mu`: K tensors `[C]` (time_maa_w, _k, ...).
    * `down`: `[K·D, C]` (time_maa_w1 in `[out, in]` layout); `up`:
      `[K, C, D]` (time_maa_w2, each block `[out, in]`).

    ```mlir
    %xw, %xk = rwkv.ddlerp %x, %sx, %mu_x [%mw, %mk], %w1, %w2
        : tensor<?x1x2048xf32>, tensor<2048xf32> [tensor<2048xf32>,
          tensor<2048xf32>], tensor<64x2048xf32>, tensor<2x2048x32xf32>
          -> tensor<?x1x2048xf32>, tensor<?x1x2048xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$input, Rwkv_F32Tensor:$prev,
                   Rwkv_FloatTensor:$mu_x, Variadic<Rwkv_FloatTensor>:$mu,
                   Rwkv_FloatTensor:$down, Rwkv_FloatTensor:$up);
  let results = (outs Variadic<Rwkv_F32Tensor>:$results);
  let assemblyFormat = [{
    $input `,` $prev `,` $mu_x `[` $mu `]` `,` $down `,` $up attr-dict `:`
    type($input) `,` type($mu_x) `[` type($mu) `]` `,` type($down) `,`
    type($up) `->` type($results)
  }];
  let builders = [
    OpBuilder<(ins "Value":$input, "Value":$prev, "Value":$mu_x,
                   "ValueRange":$mu, "Value":$down, "Value":$up), [{
      SmallVector<Type> types(mu.size(), input.getType());
      build($_builder, $_state, types, input, prev, mu_x, mu, down, up);
    }]>
  ];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Projections
//===----------------------------------------------------------------------===//

def Rwkv_LinearOp : Rwkv_Op<"linear", [Pure]> {
  let summary = "Projection `x · Wᵀ` with an `[out, in]` weight";
  let description = [{
    `result[b, t, o] = Σ_i input[b, t, i] · weight[o, i]`, accumulated in
    f32 (rwkv-math §0: `nn.Linear` weights are stored `[out, in]`).

    * `input`: `[B, T, K]` f32; `weight`: `[M, K]` f32/f16/bf16, or
      `[M, K/32, 34]` i8 (ggml Q8_0 blocks: per row and 32 inputs an f16
      scale `d`, little-endian, then 32 signed bytes `q`; `W = d · q`);
      `result`: `[B, T, M]` f32.

    ```mlir
    %r = rwkv.linear %xr, %w_r
        : tensor<?x1x768xf32>, tensor<768x768xf32> -> tensor<?x1x768xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$input, Rwkv_WeightTensor:$weight);
  let results = (outs Rwkv_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def Rwkv_ShiftLerpLinearOp : Rwkv_Op<"shift_lerp_linear", [Pure]> {
  let summary = "Projection whose input is the token-shift mix of `x`";
  let description = [{
    A projection with its token shift and lerp folded into its input
    (rwkv-math §2.1, §3.1, §4.1, §5.1), formed by `rwkv-fuse-token-shift`:

    ```
    xs[b, t] = t == 0 ? prev[b] : input[b, t - 1]        (rwkv.token_shift)
    xm       = input + (xs - input) ⊙ mu     mix = previous  (RWKV-6/7)
    xm       = xs + (input - xs) ⊙ mu        mix = current   (RWKV-4/5)
    result   = xm · weightᵀ                                  (rwkv.linear)
    ```

    so a lowering can mix a cache-sized block of tokens right before it
    multiplies them instead of writing the mixed `[B, T, C]` tensor for
    every projection. The block's next token-shift state (`input[:, T-1]`)
    stays with `rwkv.token_shift`.

    * `input`: `[B, T, C]` f32; `prev`: `[B, C]` f32 (the token-shift state);
      `mu`: `[C]`; `weight`: `[M, C]` (or Q8_0 blocks `[M, C/32, 34]` i8, as
      for `rwkv.linear`); `result`: `[B, T, M]` f32.

    ```mlir
    %r = rwkv.shift_lerp_linear previous %x, %shift, %mu_r, %w_r
        : tensor<?x?x768xf32>, tensor<?x768xf32>, tensor<768xf32>,
          tensor<768x768xf32> -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Rwkv_ShiftMix:$mix, Rwkv_F32Tensor:$input,
                   Rwkv_F32Tensor:$prev, Rwkv_FloatTensor:$mu,
                   Rwkv_WeightTensor:$weight);
  let results = (outs Rwkv_F32Tensor:$result);
  let assemblyFormat = [{
    $mix $input `,` $prev `,` $mu `,` $weight attr-dict `:` type($input) `,`
    type($prev) `,` type($mu) `,` type($weight) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The unfused token_shift, lerp and linear, built at `builder`'s
    /// insertion point; returns the projection. With `shifted` (the
    /// `shifted` result of an existing rwkv.token_shift of the same input
    /// and state), no new token shift is built.
    ::mlir::Value decompose(::mlir::OpBuilder &builder,
                            ::mlir::Value shifted = {});
  }];
}

def Rwkv_LoraOp : Rwkv_Op<"lora", [Pure]> {
  let summary = "Low-rank projection `act_out(act(x · Aᵀ) · Bᵀ + bias)`";
  let description = [{
    The small "LoRA" MLPs of RWKV-6/7 (rwkv-math §4.1, §4.2, §5.2):

    `result = output_activation( activation(input · downᵀ) · upᵀ + bias )`

    * `input`: `[B, T, C]` f32; `down`: `[D, C]`; `up`: `[M, D]`;
      optional `bias`: `[M]`; `result`: `[B, T, M]` f32.
    * `down` and `up` use the `[out, in]` layout. BlinkDL checkpoints store the
      math's `A` (w1) as `[C, D]` and `B` (w2) as `[D, M]`, so the loader
      transposes them; rwkv.cpp files are already `[out, in]`.
    * `activation` (middle): `tanh` for the v7 decay LoRA and the v6 LoRAs,
      `sigmoid` for the v7 gate, `none` for the v7 ICL-rate and value LoRAs.
    * `output_activation`: `none` or `sigmoid` (v7 `α = σ(a0 + …)`,
      `ν = σ(v0 + …)`).

    ```mlir
    %z = rwkv.lora %xw, %w1, %w2 bias %w0 activation tanh
        : tensor<?x1x768xf32>, tensor<64x768xf32>, tensor<768x64xf32>,
          tensor<768xf32> -> tensor<?x1x768xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$input, Rwkv_FloatTensor:$down,
                   Rwkv_FloatTensor:$up, Optional<Rwkv_FloatTensor>:$bias,
                   DefaultValuedAttr<Rwkv_Activation,
                                     "::mlir::rwkv::Activation::None">:$activation,
                   DefaultValuedAttr<Rwkv_Activation,
                                     "::mlir::rwkv::Activation::None">:$output_activation);
  let results = (outs Rwkv_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $down `,` $up (`bias` $bias^)?
    (`activation` $activation^)? (`output_activation` $output_activation^)?
    attr-dict `:` type($input) `,` type($down) `,` type($up)
    (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def Rwkv_ActivationOp : Rwkv_Op<"activation",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Pointwise activation";
  let description = [{
    `result = kind(input)` elementwise in f32: `tanh`, `sigmoid`
    (`1 / (1 + e^-x)`), `relu_square` (`max(x, 0)²`, the channel mix's
    key activation, rwkv-math §2.3), and the ones variants are made of:
    `relu` (`max(x, 0)`), `silu` (`x·σ(x)`), `softplus`
    (`max(x, 0) + log(1 + e^-|x|)`), `mish` (`x·tanh(softplus(x))`), `gelu`
    (`½x(1 + erf(x/√2))`, torch's exact form; erf by Abramowitz & Stegun
    7.1.26, |error| < 1.5e-7) and `exp`. `none` is not allowed: an identity
    is simply omitted.

    The importer writes LoRA and channel-mix blocks as `linear`,
    `activation`, `bias_add` and `arith` chains; `rwkv-fuse-lora` and
    `rwkv-fuse-channel-mix` turn them into `lora` and `channel_mix`.

    ```mlir
    %h = rwkv.activation tanh %z : tensor<?x1x64xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$input, Rwkv_Activation:$kind);
  let results = (outs Rwkv_F32Tensor:$result);
  let assemblyFormat = [{
    $kind $input attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

def Rwkv_BiasAddOp : Rwkv_Op<"bias_add",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Adds a per-channel bias `[M]` to `[B, T, M]`";
  let description = [{
    `result[b, t, m] = input[b, t, m] + bias[m]` in f32 (the `lora.2.bias`
    of fla checkpoints; BlinkDL's w0/a0/v0, rwkv-math §5.2).

    ```mlir
    %z = rwkv.bias_add %y, %w0 : tensor<?x1x768xf32>, tensor<768xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$input, Rwkv_FloatTensor:$bias);
  let results = (outs Rwkv_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $bias attr-dict `:` type($input) `,` type($bias)
  }];
  let hasVerifier = 1;
}

def Rwkv_DecayOp : Rwkv_Op<"decay",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Per-channel decay w from its pre-activation, in f32";
  let description = [{
    Elementwise, always in f32 (rwkv-math §9.4):

    * `exp_neg_exp`: `w = exp(-exp(z))`, RWKV-5 `time_decay` (static) and
      RWKV-6 `d_t = time_decay + LoRA` (§3.1, §4.2). No clamp.
    * `sigmoid`: `w = exp(-e^{-1/2} · σ(z))` ∈ (0.5452, 1), the RWKV-7 decay
      with `z = w0 + tanh(xw · w1) · w2` (§5.2). The clamp is part of the model.

    `input`, `result`: `[B, T, C]` f32.

    ```mlir
    %w = rwkv.decay sigmoid %z : tensor<?x1x768xf32>
    ```
  }];
  let arguments = (ins Rwkv_DecayKind:$kind, Rwkv_F32Tensor:$input);
  let results = (outs Rwkv_F32Tensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// WKV recurrences
//===----------------------------------------------------------------------===//

def Rwkv_Wkv4Op : Rwkv_Op<"wkv4",
    [Pure, AllTypesMatch<["k", "v", "y"]>,
     AllTypesMatch<["a", "b", "p", "new_a", "new_b", "new_p"]>,
     AllTypesMatch<["w", "u"]>]> {
  let summary = "RWKV-4 WKV with the numerically stable running maximum";
  let description = [{
    The RWKV-4 time-mix recurrence per channel c (rwkv-math §2.2; RWKV-LM
    `RWKV-v4neo/cuda/wkv_cuda.cu`, ChatRWKV `att_one`). The state (a, b, p)
    keeps the numerator e^p·a and denominator e^p·b with a running log-scale
    p, so every exponent is <= 0. For each token t in order:

    ```
    q  = max(p, u + k_t);   e1 = exp(p − q);   e2 = exp(u + k_t − q)
    y_t = (e1·a + e2·v_t) / (e1·b + e2)
    q' = max(p + w, k_t);   e1 = exp(p + w − q');   e2 = exp(k_t − q')
    a ← e1·a + e2·v_t;   b ← e1·b + e2;   p ← q'
    ```

    * `k`, `v`, `y`: `[B, T, C]` f32 (k and v in f32 even for f16 models).
    * `w`: `[C]`, the log-decay w⁻ = −exp(time_decay) < 0.
    * `u`: `[C]`, time_first (the bonus, in log space).
    * `a`, `b`, `p` and the new state: `[B, C]` f32. A fresh sequence starts
      with a = b = 0 and p = −1e30 (a zero p gives NaN for rwkv.cpp's files).
    * `eps` (optional f32 ≥ 0): RWKV-2/3's denominator epsilon
      (rwkv-v1-v3 §2.3: wkv = A / (B + eps) over the unscaled sums A = e^p·a,
      B = e^p·b; 1e-16 in RWKV-2, 1e-8 in RWKV-3). It enters the scaled
      denominator as `e1·b + e2 + eps·exp(−q)`, which is that formula exactly
      in real arithmetic, without the naive sums' overflow: where
      exp(−q) overflows (every k so far below ≈ −88) the output is 0, as
      A / eps is to within 1e-30. Absent: RWKV-4's formula (no epsilon).

    ```mlir
    %y, %a1, %b1, %p1 = rwkv.wkv4 %k, %v, %w, %u, %a, %b, %p
        : tensor<?x1x768xf32>, tensor<768xf32>, tensor<?x768xf32>
    %y2, %a2, %b2, %p2 = rwkv.wkv4 %k, %v, %w, %u, %a, %b, %p
        {eps = 1.0e-08 : f32}
        : tensor<?x1x768xf32>, tensor<768xf32>, tensor<?x768xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$k, Rwkv_F32Tensor:$v,
                   Rwkv_F32Tensor:$w, Rwkv_F32Tensor:$u, Rwkv_F32Tensor:$a,
                   Rwkv_F32Tensor:$b, Rwkv_F32Tensor:$p,
                   OptionalAttr<F32Attr>:$eps);
  let results = (outs Rwkv_F32Tensor:$y, Rwkv_F32Tensor:$new_a,
                      Rwkv_F32Tensor:$new_b, Rwkv_F32Tensor:$new_p);
  let assemblyFormat = [{
    $k `,` $v `,` $w `,` $u `,` $a `,` $b `,` $p attr-dict `:` type($k) `,`
    type($w) `,` type($a)
  }];
  let hasVerifier = 1;
}

def Rwkv_CausalAttentionOp : Rwkv_Op<"causal_attention",
    [Pure, AllTypesMatch<["q", "k", "v", "y"]>,
     AllTypesMatch<["cache_k", "cache_v", "new_cache_k", "new_cache_v"]>,
     AllTypesMatch<["count", "new_count"]>]> {
  let summary = "single-head causal softmax attention over a per-sequence "
                "key/value cache";
  let description = [{
    Softmax attention of every token over the sequence's past, whose keys
    and values are per-sequence state: an append-only cache of at most `L`
    rows (the branch variants put beside the WKV; the cache is the state a
    Transformer would call its KV cache, bounded so that the model keeps a
    fixed-size state). With `n = count[b]` tokens already cached, for each
    token t of the call in order:

    ```
    cache_k[b, n + t] = k[b, t];   cache_v[b, n + t] = v[b, t]
    s_j   = scale · q[b, t] · cache_k[b, j]              for j = 0 … n + t
    y[b, t] = Σ_j softmax(s)_j · cache_v[b, j]           (max-subtracted)
    new_count[b] = n + T
    ```

    * `q`, `k`, `v`, `y`: `[B, T, D]` f32, one head of width D.
    * `cache_k`, `cache_v` and the new caches: `[B, L, D]` f32; rows at and
      past `count` are unused. State layout: row j is the j-th token of the
      sequence.
    * `count`, `new_count`: `[B, 1]` f32, the number of cached tokens (exact
      as an f32 up to 2^24; L is limited far below that).
    * `scale`: f32, usually 1/√D.

    The runtime refuses a call that would take a sequence past `L` tokens
    (the state declares `max_tokens`); the generated code itself never
    writes past row `L − 1` and attends to at most `L` rows.

    ```mlir
    %y, %ck, %cv, %n = rwkv.causal_attention %q, %k, %v, %ck0, %cv0, %n0
        {scale = 0.176776695 : f32}
        : tensor<?x?x32xf32>, tensor<?x64x32xf32>, tensor<?x1xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$q, Rwkv_F32Tensor:$k,
                   Rwkv_F32Tensor:$v, Rwkv_F32Tensor:$cache_k,
                   Rwkv_F32Tensor:$cache_v, Rwkv_F32Tensor:$count,
                   F32Attr:$scale);
  let results = (outs Rwkv_F32Tensor:$y, Rwkv_F32Tensor:$new_cache_k,
                      Rwkv_F32Tensor:$new_cache_v, Rwkv_F32Tensor:$new_count);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $cache_k `,` $cache_v `,` $count attr-dict `:`
    type($q) `,` type($cache_k) `,` type($count)
  }];
  let hasVerifier = 1;
}

def Rwkv_HeadQkOp : Rwkv_Op<"head_qk",
    [Pure, AllTypesMatch<["cache_k", "new_cache_k"]>,
     AllTypesMatch<["cache_tokens", "new_cache_tokens"]>,
     AllTypesMatch<["count", "new_count"]>]> {
  let summary = "RWKV-1/2/3's head-QK copy logits over a sliding window of "
                "the sequence's last L tokens";
  let description = [{
    The "copy" term the early RWKV generations add to the logits
    (rwkv-v1-v3 §4; RWKV-LM `RWKV-v2-RNN/src/model.py` and
    `RWKV-v3/src/model_run.py`, the head_q/head_k "Head-QK trick"): the logit
    of token id v at position s gains scale · q_s · k_u for every position u
    of the window that holds v. The window is the last L positions, the
    current one included (u ∈ [max(0, s − L + 1), s]); no softmax, masked
    entries are 0. The keys and their token ids are per-sequence state, a
    ring buffer: position u lives in row u mod L.

    With `n = count[b]` positions already seen, a call of T tokens has the
    positions n … n + T − 1; the Tq query rows are the last Tq of them
    (Tq = 1 after a prompt, Tq = T for every position's logits):

    ```
    key(u) = k[b, u − n]          for u ≥ n (this call)
           = cache_k[b, u mod L]  for u < n (earlier calls)
    s_j    = n + T − Tq + j
    y[b, j, v] = scale · Σ_{u = max(0, s_j − L + 1)}^{s_j} [id(u) = v] · q[b, j] · key(u)
    then rows (n + t) mod L of cache_k and cache_tokens take k[b, t] and
    tokens[b, t] for the last min(T, L) tokens; new_count as below.
    ```

    * `q`: `[B, Tq, D]` f32; `k`: `[B, T, D]` f32 (D = 256 in RWKV-LM).
    * `tokens`: `[B, T]` i32, the call's token ids.
    * `cache_k`, `new_cache_k`: `[B, L, D]` f32; `cache_tokens`,
      `new_cache_tokens`: `[B, L]` f32 token ids (exact up to 2^24).
    * `count`, `new_count`: `[B, 1]` f32, the positions seen, kept wrapped:
      n + T while it is below L, then L + (n + T) mod L (which row is next
      and whether the window is full is all the op needs, so a sequence may
      run for any number of tokens).
    * `y`: `[B, Tq, V]` f32 with V = `vocab`; `scale`: f32 (1/256 in RWKV-LM).

    ```mlir
    %y, %ck, %ct, %n = rwkv.head_qk %q, %k, %tokens, %ck0, %ct0, %n0
        {scale = 3.906250e-03 : f32, vocab = 256 : i64}
        : tensor<?x1x256xf32>, tensor<?x?x256xf32>, tensor<?x?xi32>,
          tensor<?x64x256xf32>, tensor<?x64xf32>, tensor<?x1xf32>
        -> tensor<?x1x256xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$q, Rwkv_F32Tensor:$k,
                   Rwkv_TokenTensor:$tokens, Rwkv_F32Tensor:$cache_k,
                   Rwkv_F32Tensor:$cache_tokens, Rwkv_F32Tensor:$count,
                   F32Attr:$scale, I64Attr:$vocab);
  let results = (outs Rwkv_F32Tensor:$y, Rwkv_F32Tensor:$new_cache_k,
                      Rwkv_F32Tensor:$new_cache_tokens,
                      Rwkv_F32Tensor:$new_count);
  let assemblyFormat = [{
    $q `,` $k `,` $tokens `,` $cache_k `,` $cache_tokens `,` $count attr-dict
    `:` type($q) `,` type($k) `,` type($tokens) `,` type($cache_k) `,`
    type($cache_tokens) `,` type($count) `->` type($y)
  }];
  let hasVerifier = 1;
}

def Rwkv_Wkv1Op : Rwkv_Op<"wkv1",
    [Pure, AllTypesMatch<["k", "v", "y"]>,
     AllTypesMatch<["time_w", "alpha", "beta"]>,
     AllTypesMatch<["history", "new_history"]>,
     AllTypesMatch<["den", "new_den"]>,
     AllTypesMatch<["count", "new_count"]>]> {
  let summary = "RWKV-1's time-mix sum: a learned per-head kernel over token "
                "distance, scaled by source and target position";
  let description = [{
    The WKV of RWKV-1 (rwkv-v1-v3 §1.3 and §1.6; RWKV-LM
    `RWKV-v1/src/model.py`, `RWKV_TimeMix.forward`): a causal sum over the
    sequence's positions whose weight is a free, learned function of the
    distance per head, times a scale of the source position and one of the
    target position, divided by the plain running sum of the keys. With
    `n = count[b]` positions already seen, for each token t of the call in
    order, at position p = n + t and for channel c of head h = c div (A/H):

    ```
    history[b, p, c] = alpha[h, p] · k[b, t, c] · v[b, t, c]
    den[b, c]       += k[b, t, c]
    y[b, t, c] = beta[h, p] · Σ_{u=0}^{p} time_w[h, L−1−(p−u)] · history[b, u, c]
                 / den[b, c]
    new_count[b] = n + T
    ```

    * `k`, `v`, `y`: `[B, T, A]` f32. `k` is RWKV-1's e^clamp(·, −60, 30),
      positive, so the denominator never vanishes (no eps).
    * `time_w`: `[H, L]` f32, f_h(d) = time_w[h, L−1−d] (entry L−1 weights
      the current token); `alpha`, `beta`: `[H, L]` f32, indexed by the
      absolute position of the source u and the target p (the checkpoint's
      `time_alpha` [H, 1, L] and `time_beta` [H, L, 1]). H divides A.
    * `history`, `new_history`: `[B, L, A]` f32, state: row u holds
      alpha_h(u) · k_u ⊙ v_u of position u; rows at and past `count` unused.
    * `den`, `new_den`: `[B, A]` f32, state: Σ_u k_u over the positions seen.
    * `count`, `new_count`: `[B, 1]` f32, the positions seen (exact as an
      f32 up to 2^24; L is limited far below that).

    The parameters exist for positions below L (RWKV-1's ctx_len) only: the
    runtime refuses a call that would take a sequence past L tokens (the
    count state declares `max_tokens`). The generated code itself clamps the
    position into [0, L − 1], so a hostile count reads and writes nothing
    out of bounds. The cost is O(p · A) per token, like attention with a
    fixed score matrix; the recurrent and parallel forms are the same loop.

    ```mlir
    %y, %hist, %den, %n = rwkv.wkv1 %k, %v, %time_w, %alpha, %beta, %hist0,
        %den0, %n0
        : tensor<?x?x128xf32>, tensor<4x64xf32>, tensor<?x64x128xf32>,
          tensor<?x128xf32>, tensor<?x1xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$k, Rwkv_F32Tensor:$v,
                   Rwkv_F32Tensor:$time_w, Rwkv_F32Tensor:$alpha,
                   Rwkv_F32Tensor:$beta, Rwkv_F32Tensor:$history,
                   Rwkv_F32Tensor:$den, Rwkv_F32Tensor:$count);
  let results = (outs Rwkv_F32Tensor:$y, Rwkv_F32Tensor:$new_history,
                      Rwkv_F32Tensor:$new_den, Rwkv_F32Tensor:$new_count);
  let assemblyFormat = [{
    $k `,` $v `,` $time_w `,` $alpha `,` $beta `,` $history `,` $den `,`
    $count attr-dict `:` type($k) `,` type($time_w) `,` type($history) `,`
    type($den) `,` type($count)
  }];
  let hasVerifier = 1;
}

def Rwkv_Wkv5Op : Rwkv_Op<"wkv5",
    [Pure, AllTypesMatch<["r", "w", "k", "v", "y"]>,
     AllTypesMatch<["state", "new_state"]>]> {
  let summary = "RWKV-5/6 WKV: per-head matrix state, diagonal decay, bonus";
  let description = [{
    The RWKV-5 (static decay) and RWKV-6 (per-token decay) recurrence
    (rwkv-math §3.1, §4.2; ChatRWKV `cuda/rwkv5.cu`, `rwkv6.cu`). For every
    batch b, head h, token t in order, with S the head's N × N state indexed
    **[value i][key j]** (ChatRWKV's CUDA layout; its Python code and fla use
    the transpose) and vectors restricted to the head's N channels:

    ```
    y_t[i]  = Σ_j r_t[j] · (u[j]·k_t[j]·v_t[i] + S[i][j])   (read before update)
    S[i][j] = w_t[j]·S[i][j] + k_t[j]·v_t[i]
    ```

    * `r`, `w`, `k`, `v`, `y`: `[B, T, C]` f32, C = H·N. `w` is the decay in
      (0, 1) per token (RWKV-5 broadcasts its static decay over B and T).
    * `u`: `[C]`, the bonus (time_faaaa, or exp(time_first) for 5.0/5.1).
    * `state`, `new_state`: `[B, H, N, N]` f32, zero for a fresh sequence.

    ```mlir
    %y, %s1 = rwkv.wkv5 %r, %w, %k, %v, %u, %s0
        : tensor<?x1x2048xf32>, tensor<2048xf32>, tensor<?x32x64x64xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$r, Rwkv_F32Tensor:$w,
                   Rwkv_F32Tensor:$k, Rwkv_F32Tensor:$v, Rwkv_F32Tensor:$u,
                   Rwkv_F32Tensor:$state);
  let results = (outs Rwkv_F32Tensor:$y, Rwkv_F32Tensor:$new_state);
  let assemblyFormat = [{
    $r `,` $w `,` $k `,` $v `,` $u `,` $state attr-dict `:` type($r) `,`
    type($u) `,` type($state)
  }];
  let hasVerifier = 1;
}

def Rwkv_Wkv7Op : Rwkv_Op<"wkv7",
    [Pure, AllTypesMatch<["r", "w", "k", "v", "a", "b", "y"]>,
     AllTypesMatch<["state", "new_state"]>]> {
  let summary = "RWKV-7 WKV: generalised delta-rule state update, then read";
  let description = [{
    The RWKV-7 time-mix recurrence (rwkv-math §5.4, kernel form; RWKV-LM
    `RWKV-v7/cuda/wkv7s.cu`, ChatRWKV `cuda/rwkv7.cu`). For every batch `b`,
    head `h`, token `t` in order, and value row `i`, with `S` the head's
    `N × N` state indexed **[value i][key j]** and all vectors restricted to
    the head's `N` channels:

    ```
    sa_i      = Σ_j a_t[j] · S[i][j]                     (old state)
    S[i][j]   = S[i][j] · w_t[j] + sa_i · b_t[j] + v_t[i] · k_t[j]
    y_t[i]    = Σ_j S[i][j] · r_t[j]                     (new state)
    ```

    In RWKV-7 `a = -κ̂`, `b = κ̂ ⊙ α` and `k` is the replacement key `k̃`
    (§5.3). There is no bonus term here (see `rwkv.wkv7_bonus`).

    * `r`, `w`, `k`, `v`, `a`, `b`, `y`: `[B, T, C]` f32, `C = H · N`;
      `w` is the decay itself (not its logarithm), in (0, 1].
    * `state`, `new_state`: `[B, H, N, N]` f32, [value][key] per head; zero
      for a fresh sequence. ChatRWKV's Python v5/v6 state and fla's layout
      are the transpose ([key][value], §9.8).

    ```mlir
    %y, %s1 = rwkv.wkv7 %r, %w, %k, %v, %a, %b, %s0
        : tensor<?x1x768xf32>, tensor<?x12x64x64xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$r, Rwkv_F32Tensor:$w,
                   Rwkv_F32Tensor:$k, Rwkv_F32Tensor:$v, Rwkv_F32Tensor:$a,
                   Rwkv_F32Tensor:$b, Rwkv_F32Tensor:$state);
  let results = (outs Rwkv_F32Tensor:$y, Rwkv_F32Tensor:$new_state);
  let assemblyFormat = [{
    $r `,` $w `,` $k `,` $v `,` $a `,` $b `,` $state attr-dict `:` type($r)
    `,` type($state)
  }];
  let hasVerifier = 1;
}

def Rwkv_Wkv7BonusOp : Rwkv_Op<"wkv7_bonus",
    [Pure, AllTypesMatch<["r", "k", "v", "result"]>]> {
  let summary = "RWKV-7 per-head bonus `(Σ_j r_j k_j ρ_j) · v`";
  let description = [{
    The current-token term RWKV-7 adds after the group norm (rwkv-math §5.5;
    ChatRWKV `RWKV_x070_TMix_one`):

    `result[b, t, h·N + i] = (Σ_j r[b,t,h·N+j] · k[b,t,h·N+j] · r_k[h, j]) · v[b,t,h·N+i]`

    * `r`, `k` (the replacement key `k̃`), `v` (after the value residual),
      `result`: `[B, T, C]` f32.
    * `r_k`: `[H, N]` (checkpoint `att.r_k`), `C = H · N`.

    ```mlir
    %u = rwkv.wkv7_bonus %r, %kt, %v, %r_k
        : tensor<?x1x768xf32>, tensor<12x64xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$r, Rwkv_F32Tensor:$k,
                   Rwkv_F32Tensor:$v, Rwkv_FloatTensor:$r_k);
  let results = (outs Rwkv_F32Tensor:$result);
  let assemblyFormat = [{
    $r `,` $k `,` $v `,` $r_k attr-dict `:` type($r) `,` type($r_k)
  }];
  let hasVerifier = 1;
}

def Rwkv_Wkv7FusedOp : Rwkv_Op<"wkv7_fused",
    [Pure, AllTypesMatch<["r", "w", "k", "v", "a", "b", "result"]>,
     AllTypesMatch<["state", "new_state"]>,
     AllTypesMatch<["norm_weight", "norm_bias"]>]> {
  let summary = "RWKV-7 WKV with its output epilogue: group norm, bonus, gate";
  let description = [{
    The RWKV-7 time-mix output from the WKV to the input of the output
    projection (rwkv-math §5.4–§5.5; ChatRWKV `RWKV_x070_TMix_one`), as one
    op so that a lowering can finish each head's output while it is still
    in registers. With `y, new_state = rwkv.wkv7(r, w, k, v, a, b, state)`
    and, per `(b, t, h)` over the head's `N` channels:

    ```
    n      = (y - mean(y)) / sqrt(var(y) + eps) · norm_weight + norm_bias
    bonus  = (Σ_j r_j · k_j · r_k[h, j]) · v
    result = (n + bonus) · gate          (· gate only when `gate` is given)
    ```

    which is `rwkv.group_norm` with `num_groups = H`, `rwkv.wkv7_bonus` and
    two `arith` ops. `rwkv-fuse-wkv-output` forms it from those ops;
    `decompose()` gives them back (the GPU lowering and CPU lowerings of head
    sizes that do not fit a register block use it).

    * `r`, `w`, `k`, `v`, `a`, `b`, `result`: `[B, T, C]` f32, `C = H · N`,
      as for `rwkv.wkv7` (`k` is the replacement key `k̃`, `v` the value
      after the value residual).
    * `state`, `new_state`: `[B, H, N, N]` f32, [value][key] per head.
    * `norm_weight`, `norm_bias`: `[C]` (`att.ln_x`); `r_k`: `[H, N]`.
    * `gate`: `[B, T, C]` f32, already activated (RWKV-7: `σ(xg·g1)·g2`).
    * `eps`: the group norm's epsilon (64e-5 for RWKV-7).

    ```mlir
    %o, %s1 = rwkv.wkv7_fused %r, %w, %k, %v, %a, %b, %s0
        norm(%lnw, %lnb) bonus(%r_k) gate(%g : tensor<?x1x768xf32>)
        {eps = 6.4e-04 : f32}
        : tensor<?x1x768xf32>, tensor<?x12x64x64xf32>, tensor<768xf32>,
          tensor<12x64xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$r, Rwkv_F32Tensor:$w,
                   Rwkv_F32Tensor:$k, Rwkv_F32Tensor:$v, Rwkv_F32Tensor:$a,
                   Rwkv_F32Tensor:$b, Rwkv_F32Tensor:$state,
                   Rwkv_FloatTensor:$norm_weight, Rwkv_FloatTensor:$norm_bias,
                   Rwkv_FloatTensor:$r_k, Optional<Rwkv_F32Tensor>:$gate,
                   F32Attr:$eps);
  let results = (outs Rwkv_F32Tensor:$result, Rwkv_F32Tensor:$new_state);
  let assemblyFormat = [{
    $r `,` $w `,` $k `,` $v `,` $a `,` $b `,` $state
    `norm` `(` $norm_weight `,` $norm_bias `)` `bonus` `(` $r_k `)`
    (`gate` `(` $gate^ `:` type($gate) `)`)? attr-dict `:` type($r) `,`
    type($state) `,`
    type($norm_weight) `,` type($r_k)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The unfused ops (wkv7, group_norm, wkv7_bonus, arith.addf and
    /// arith.mulf on tensors) built at `builder`'s insertion point; returns
    /// {result, new_state}.
    std::pair<::mlir::Value, ::mlir::Value>
    decompose(::mlir::OpBuilder &builder);
  }];
}

//===----------------------------------------------------------------------===//
// Channel mix
//===----------------------------------------------------------------------===//

def Rwkv_ChannelMixOp : Rwkv_Op<"channel_mix",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "Squared-ReLU feed-forward, optionally receptance-gated";
  let description = [{
    The RWKV channel mix after its token shift (rwkv-math §2.3, §4.3, §5.6):

    `result = relu(xk · keyᵀ)² · valueᵀ`                        (RWKV-7)
    `result = σ(xr · receptanceᵀ) ⊙ relu(xk · keyᵀ)² · valueᵀ`   (RWKV-4..6)

    * `input` (`xk`): `[B, T, C]` f32; `key`: `[F, C]`; `value`: `[C', F]`;
      `result`: `[B, T, C']` f32 (`C' = C` in every released model).
    * Optional gate: `receptance_input` (`xr`, `[B, T, C]`) and `receptance`
      (`[C', C]`), both or neither.
    * Each matrix may also be Q8_0 blocks (`[out, in/32, 34]` i8, as for
      `rwkv.linear`).
    * The hidden `[B, T, F]` activation never needs to leave the op, which is
      what lets lowerings fuse the two projections.

    ```mlir
    %o = rwkv.channel_mix %xk, %key, %value
        : tensor<?x1x768xf32>, tensor<3072x768xf32>, tensor<768x3072xf32>
          -> tensor<?x1x768xf32>
    ```
  }];
  let arguments = (ins Rwkv_F32Tensor:$input, Rwkv_WeightTensor:$key,
                   Rwkv_WeightTensor:$value,
                   Optional<Rwkv_F32Tensor>:$receptance_input,
                   Optional<Rwkv_WeightTensor>:$receptance);
  let results = (outs Rwkv_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $key `,` $value
    (`gate` `(` $receptance_input^ `,` $receptance `:`
     type($receptance_input) `,` type($receptance) `)`)?
    attr-dict `:` type($input) `,` type($key) `,` type($value) `->`
    type($result)
  }];
  let builders = [
    OpBuilder<(ins "Type":$result, "Value":$input, "Value":$key,
                   "Value":$value), [{
      build($_builder, $_state, result, input, key, value, Value(), Value());
    }]>
  ];
  let hasVerifier = 1;
}

#endif // RWKV_OPS_TD
