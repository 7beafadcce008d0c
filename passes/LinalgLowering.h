//===- LinalgLowering.h - shared pieces of convert-rwkv-to-linalg -*- C++
//-*-===//
//
// The builder helpers, kernel options and small predicates the lowerings of
// convert-rwkv-to-linalg share. The patterns live by op family:
// ConvertRwkvToLinalg.cpp (norms, pointwise ops, the pass itself),
// ProjectionsToLinalg.cpp (linear, shift_lerp_linear, lora, channel_mix,
// ddlerp) and WkvToLinalg.cpp (the WKV scans and chunk forms, wkv7_bonus,
// causal_attention).
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_PASSES_LINALGLOWERING_H
#define RWKV_PASSES_LINALGLOWERING_H

#include "passes/Activations.h"
#include "passes/Passes.h"

#include "dialect/RwkvOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace rwkv {
namespace lowering {

using utils::IteratorType;

/// e^{-1/2}: the RWKV-7 decay scale (rwkv-math §5.2).
constexpr double kExpMinusHalf = 0.60653065971263342;

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// Builder helpers shared by the lowerings.
struct Emitter {
  OpBuilder &b;
  Location loc;

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  SmallVector<OpFoldResult> sizes(Value v) {
    return tensor::getMixedSizes(b, loc, v);
  }
  Value dim(Value v, int64_t d) {
    return getValueOrCreateConstantIndexOp(b, loc, sizes(v)[d]);
  }
  Value empty(ArrayRef<OpFoldResult> sizes) {
    return tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
  }
  Value zeros(ArrayRef<OpFoldResult> sizes) {
    return linalg::FillOp::create(b, loc, f32(0.0), empty(sizes)).getResult(0);
  }

  /// (d0, ..., d{rank-1}) -> (d{rank-n}, ..., d{rank-1}).
  AffineMap trailing(unsigned rank, unsigned n) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d = rank - n; d < rank; ++d)
      exprs.push_back(b.getAffineDimExpr(d));
    return AffineMap::get(rank, 0, exprs, b.getContext());
  }
  /// (d0, ..., d{rank-1}) -> (d0, ..., d{n-1}).
  AffineMap leading(unsigned rank, unsigned n) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d = 0; d < n; ++d)
      exprs.push_back(b.getAffineDimExpr(d));
    return AffineMap::get(rank, 0, exprs, b.getContext());
  }
  AffineMap identity(unsigned rank) { return b.getMultiDimIdentityMap(rank); }

  /// A single-result linalg.generic; `body` gets the block arguments (inputs
  /// then the output) and returns the value to yield.
  Value generic(Value init, ValueRange inputs, ArrayRef<AffineMap> maps,
                ArrayRef<IteratorType> iterators, BodyFn body) {
    auto op = linalg::GenericOp::create(
        b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
        iterators, [&](OpBuilder &nb, Location nl, ValueRange args) {
          linalg::YieldOp::create(nb, nl, body(nb, nl, args));
        });
    return op.getResult(0);
  }

  /// An elementwise generic over the shape of `like`: each input is either of
  /// that shape or matches its trailing dimensions (broadcast).
  Value elementwise(Value like, ValueRange inputs, BodyFn body) {
    unsigned rank = cast<RankedTensorType>(like.getType()).getRank();
    SmallVector<AffineMap> maps;
    for (Value in : inputs)
      maps.push_back(
          trailing(rank, cast<RankedTensorType>(in.getType()).getRank()));
    maps.push_back(identity(rank));
    SmallVector<IteratorType> iters(rank, IteratorType::parallel);
    return generic(empty(sizes(like)), inputs, maps, iters, body);
  }

  /// Splits the last dimension of `v` into [groups, size/groups].
  Value splitLast(Value v, int64_t groups) {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<int64_t> shape(type.getShape());
    int64_t last = shape.back();
    shape.back() = groups;
    shape.push_back(last / groups);
    SmallVector<ReassociationIndices> reassoc;
    for (int64_t d = 0; d + 1 < type.getRank(); ++d)
      reassoc.push_back({d});
    reassoc.push_back({type.getRank() - 1, type.getRank()});
    auto result = RankedTensorType::get(shape, type.getElementType());
    SmallVector<OpFoldResult> outShape = sizes(v);
    outShape.back() = b.getIndexAttr(groups);
    outShape.push_back(b.getIndexAttr(last / groups));
    return tensor::ExpandShapeOp::create(b, loc, result, v, reassoc, outShape);
  }
  /// Inverse of splitLast.
  Value mergeLast(Value v) {
    int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
    SmallVector<ReassociationIndices> reassoc;
    for (int64_t d = 0; d + 2 < rank; ++d)
      reassoc.push_back({d});
    reassoc.push_back({rank - 2, rank - 1});
    return tensor::CollapseShapeOp::create(b, loc, v, reassoc);
  }
};

/// Widens `v` to f32 (weights may be stored as f16/bf16).
inline Value toF32(OpBuilder &b, Location loc, Value v) {
  Type f32 = b.getF32Type();
  if (auto vt = dyn_cast<VectorType>(v.getType())) {
    if (vt.getElementType() == f32)
      return v;
    return arith::ExtFOp::create(b, loc, VectorType::get(vt.getShape(), f32),
                                 v);
  }
  if (v.getType() == f32)
    return v;
  return arith::ExtFOp::create(b, loc, f32, v);
}

inline Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Type t = x.getType();
  auto one = arith::ConstantOp::create(b, loc, t, b.getFloatAttr(t, 1.0));
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, one,
                               arith::AddFOp::create(b, loc, one, e));
}

inline Value activation(OpBuilder &b, Location loc, Activation act, Value x) {
  switch (act) {
  case Activation::None:
    return x;
  case Activation::Tanh:
    return math::TanhOp::create(b, loc, x);
  case Activation::Sigmoid:
    return sigmoid(b, loc, x);
  case Activation::ReluSquare: {
    Type t = x.getType();
    auto zero = arith::ConstantOp::create(b, loc, t, b.getFloatAttr(t, 0.0));
    Value m = arith::MaximumFOp::create(b, loc, x, zero);
    return arith::MulFOp::create(b, loc, m, m);
  }
  default:
    return genericActivation(b, loc, act, x);
  }
}

/// True when the last dimension of `v` is static.
inline bool staticChannels(Value v) {
  return !cast<RankedTensorType>(v.getType())
              .isDynamicDim(cast<RankedTensorType>(v.getType()).getRank() - 1);
}

/// True when `w` is a matrix of static shape.
inline bool staticMatrix(Value w) {
  return cast<RankedTensorType>(w.getType()).hasStaticShape();
}

/// Registers of one value row the WKV5/WKV7 scans may use per step.
constexpr int64_t kWkvRowRegisters = 4;

/// Partial sums along K per output in the one-token projection kernel.
constexpr int64_t kGemvChains = 4;

/// Largest power-of-two divisor of `n` that is at most `cap` (at least 1).
inline int64_t fittingWidth(int64_t n, int64_t cap) {
  int64_t w = 1;
  while (w * 2 <= cap && n % (w * 2) == 0)
    w *= 2;
  return w;
}

/// Tiling of the linear kernel (pass options of convert-rwkv-to-linalg).
struct LinearTiling {
  int64_t vectorWidth; ///< f32 lanes per accumulator
  int64_t outRows;     ///< NR: rows of W (outputs) per register block
  int64_t tokenRows;   ///< MR: rows of x (tokens) per register block
  int64_t tokenChunk;  ///< MC: tokens per cache block (W streamed once each)
};

/// Shared options of the patterns that emit the linear kernel.
struct KernelOptions {
  int64_t vectorWidth;
  LinearTiling linear;
  /// Tokens per chunk of the wkv5 / wkv7 chunk forms (0: per-token scan).
  int64_t wkv5Chunk, wkv7Chunk;
};

/// Whether a [B, T, C] activation has T = 1 (the recurrent form).
inline bool isOneToken(Value activation) {
  return cast<RankedTensorType>(activation.getType()).getDimSize(1) == 1;
}

/// The patterns of ProjectionsToLinalg.cpp, WkvToLinalg.cpp and
/// AttentionToLinalg.cpp.
void populateProjectionLoweringPatterns(RewritePatternSet &patterns,
                                        const KernelOptions &opts);
void populateWkvLoweringPatterns(RewritePatternSet &patterns,
                                 const KernelOptions &opts);
void populateAttentionLoweringPatterns(RewritePatternSet &patterns,
                                       const KernelOptions &opts);

} // namespace lowering
} // namespace rwkv
} // namespace mlir

#endif // RWKV_PASSES_LINALGLOWERING_H
