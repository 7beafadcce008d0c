//===- RwkvDialect.td - the rwkv dialect and its op base -*- tablegen -*-===//

#ifndef RWKV_DIALECT_TD
#define RWKV_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Rwkv_Dialect : Dialect {
  let name = "rwkv";
  let cppNamespace = "::mlir::rwkv";
  let summary = "Operations of the RWKV family of recurrent language models";
  let description = [{
    The `rwkv` dialect describes the building blocks of RWKV-4 ... RWKV-7
    layers at tensor level, with value semantics: token shift, the static
    and data-dependent mixes (lerp, LoRA), the decay parameterisations, the
    WKV state recurrences, the per-head normalisations and the channel mix.

    Conventions shared by every op (see `docs/dialect/rationale.md` and
    `../shared/docs/rwkv-math.md` §0):

    * Activations are rank-3 tensors `[B, T, C]`: batch, time (tokens in this
      call) and channels. `C = H * N` with `H` heads of head size `N`.
    * Per-sequence state is explicit: every op that carries state across calls
      takes the incoming state as an operand and returns the outgoing state as
      a result. WKV states are `[B, H, N, N]` in fp32.
    * Matrices use the `nn.Linear` layout `[out, in]`: `y = x · Wᵀ`.
    * Per-channel parameters are rank-1 `[C]` tensors.
  }];
}

class Rwkv_Op<string mnemonic, list<Trait> traits = []>
    : Op<Rwkv_Dialect, mnemonic, traits>;

// Floating-point tensors the ops accept. Activations and states are f32;
// weights may also be f16/bf16.
def Rwkv_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;
// Projection weights: a float `[M, K]` matrix, or `[M, K/32, 34]` i8 holding
// ggml's Q8_0 blocks in place (per row, per 32 inputs: the scale d as a
// little-endian f16 in bytes 0-1, then 32 signed bytes q; w = d * q).
def Rwkv_WeightTensor : RankedTensorOf<[F32, F16, BF16, I8]>;
def Rwkv_F32Tensor : RankedTensorOf<[F32]>;
def Rwkv_TokenTensor : RankedTensorOf<[I32]>;

#endif // RWKV_DIALECT_TD
