//===- ConvertRwkvToLinalg.cpp - rwkv ops to linalg/scf/vector ------------===//
//
// Lowers each rwkv op to upstream ops on tensors (see the pass description in
// passes/Passes.td). The math of every lowering is the formula in the op's
// ODS description; the structure (loop order, register blocking) is chosen
// for CPUs and documented next to each pattern.
//
//===----------------------------------------------------------------------===//

#include "passes/LinalgLowering.h"
#include "passes/Passes.h"

#include "dialect/RwkvOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "convert-rwkv-to-linalg"

namespace mlir {
namespace rwkv {
#define GEN_PASS_DEF_CONVERTRWKVTOLINALGPASS
#include "passes/Passes.h.inc"
} // namespace rwkv
} // namespace mlir

using namespace mlir;
using namespace mlir::rwkv;
using namespace mlir::rwkv::lowering;

namespace {

//===----------------------------------------------------------------------===//
// Normalisations
//===----------------------------------------------------------------------===//

/// Σ x² over the last dimension of `x` (the result drops that dimension).
Value sumSquaresLast(Emitter &e, Value x) {
  unsigned rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<OpFoldResult> outSizes = e.sizes(x);
  outSizes.pop_back();
  SmallVector<IteratorType> reduce(rank, IteratorType::parallel);
  reduce.back() = IteratorType::reduction;
  return e.generic(e.zeros(outSizes), x,
                   {e.identity(rank), e.leading(rank, rank - 1)}, reduce,
                   [](OpBuilder &b, Location l, ValueRange a) -> Value {
                     return arith::AddFOp::create(
                         b, l, a[1], arith::MulFOp::create(b, l, a[0], a[0]));
                   });
}

/// Normalises `x` over its last dimension: two-pass mean and centred
/// variance, then `(x - mean) / sqrt(var + eps) * weight + bias`, where the
/// affine parameters match trailing dimensions of `x`.
Value normalizeLast(Emitter &e, Value x, Value weight, Value bias, float eps) {
  auto type = cast<RankedTensorType>(x.getType());
  unsigned rank = type.getRank();
  double invN = 1.0 / static_cast<double>(type.getShape().back());
  SmallVector<OpFoldResult> outSizes = e.sizes(x);
  outSizes.pop_back();
  SmallVector<IteratorType> reduce(rank, IteratorType::parallel);
  reduce.back() = IteratorType::reduction;
  AffineMap id = e.identity(rank), lead = e.leading(rank, rank - 1);

  Value sum = e.generic(e.zeros(outSizes), x, {id, lead}, reduce,
                        [](OpBuilder &b, Location l, ValueRange a) -> Value {
                          return arith::AddFOp::create(b, l, a[1], a[0]);
                        });
  Value cInvN = e.f32(invN), cEps = e.f32(eps);
  Value var =
      e.generic(e.zeros(outSizes), ValueRange{x, sum}, {id, lead, lead}, reduce,
                [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                  Value mean = arith::MulFOp::create(b, l, a[1], cInvN);
                  Value d = arith::SubFOp::create(b, l, a[0], mean);
                  // acc + d*d (not math.fma: the vectorizer recognises
                  // addf/mulf combiners only).
                  return arith::AddFOp::create(
                      b, l, a[2], arith::MulFOp::create(b, l, d, d));
                });
  unsigned wRank = cast<RankedTensorType>(weight.getType()).getRank();
  SmallVector<IteratorType> par(rank, IteratorType::parallel);
  return e.generic(
      e.empty(e.sizes(x)), ValueRange{x, sum, var, weight, bias},
      {id, lead, lead, e.trailing(rank, wRank), e.trailing(rank, wRank), id},
      par, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value mean = arith::MulFOp::create(b, l, a[1], cInvN);
        Value variance = arith::MulFOp::create(b, l, a[2], cInvN);
        Value denom = math::SqrtOp::create(
            b, l, arith::AddFOp::create(b, l, variance, cEps));
        Value norm = arith::DivFOp::create(
            b, l, arith::SubFOp::create(b, l, a[0], mean), denom);
        return math::FmaOp::create(b, l, norm, toF32(b, l, a[3]),
                                   toF32(b, l, a[4]));
      });
}

struct LayerNormLowering : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    if (!staticChannels(op.getInput()))
      return rewriter.notifyMatchFailure(op, "dynamic channel count");
    Emitter e{rewriter, op.getLoc()};
    rewriter.replaceOp(op, normalizeLast(e, op.getInput(), op.getWeight(),
                                         op.getBias(),
                                         op.getEps().convertToFloat()));
    return success();
  }
};

/// x / sqrt(mean(x²) + eps) * weight over the last dimension.
struct RmsNormLowering : OpRewritePattern<RmsNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RmsNormOp op,
                                PatternRewriter &rewriter) const override {
    if (!staticChannels(op.getInput()))
      return rewriter.notifyMatchFailure(op, "dynamic channel count");
    Emitter e{rewriter, op.getLoc()};
    Value x = op.getInput();
    auto type = cast<RankedTensorType>(x.getType());
    unsigned rank = type.getRank();
    Value cInvN = e.f32(1.0 / static_cast<double>(type.getShape().back()));
    Value cEps = e.f32(op.getEps().convertToFloat());
    AffineMap id = e.identity(rank), lead = e.leading(rank, rank - 1);
    Value ss = sumSquaresLast(e, x);
    unsigned wRank = cast<RankedTensorType>(op.getWeight().getType()).getRank();
    SmallVector<IteratorType> par(rank, IteratorType::parallel);
    Value y = e.generic(e.empty(e.sizes(x)), ValueRange{x, ss, op.getWeight()},
                        {id, lead, e.trailing(rank, wRank), id}, par,
                        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                          Value meanSq =
                              arith::MulFOp::create(b, l, a[1], cInvN);
                          Value denom = math::SqrtOp::create(
                              b, l, arith::AddFOp::create(b, l, meanSq, cEps));
                          return arith::MulFOp::create(
                              b, l, arith::DivFOp::create(b, l, a[0], denom),
                              toF32(b, l, a[2]));
                        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct GroupNormLowering : OpRewritePattern<GroupNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GroupNormOp op,
                                PatternRewriter &rewriter) const override {
    if (!staticChannels(op.getInput()))
      return rewriter.notifyMatchFailure(op, "dynamic channel count");
    Emitter e{rewriter, op.getLoc()};
    int64_t groups = op.getNumGroups();
    Value x = e.splitLast(op.getInput(), groups);
    Value w = e.splitLast(op.getWeight(), groups);
    Value b = e.splitLast(op.getBias(), groups);
    Value y = normalizeLast(e, x, w, b, op.getEps().convertToFloat());
    rewriter.replaceOp(op, e.mergeLast(y));
    return success();
  }
};

struct L2NormLowering : OpRewritePattern<L2NormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(L2NormOp op,
                                PatternRewriter &rewriter) const override {
    if (!staticChannels(op.getInput()))
      return rewriter.notifyMatchFailure(op, "dynamic channel count");
    Emitter e{rewriter, op.getLoc()};
    int64_t channels =
        cast<RankedTensorType>(op.getInput().getType()).getShape().back();
    Value x = e.splitLast(op.getInput(), channels / op.getHeadSize());
    AffineMap id = e.identity(4), lead = e.leading(4, 3);
    Value ss = sumSquaresLast(e, x);
    Value eps = e.f32(op.getEps().convertToFloat());
    SmallVector<IteratorType> par(4, IteratorType::parallel);
    Value y =
        e.generic(e.empty(e.sizes(x)), ValueRange{x, ss}, {id, lead, id}, par,
                  [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                    Value norm = math::SqrtOp::create(b, l, a[1]);
                    Value denom = arith::MaximumFOp::create(b, l, norm, eps);
                    return arith::DivFOp::create(b, l, a[0], denom);
                  });
    rewriter.replaceOp(op, e.mergeLast(y));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Token shift, lerp, decay, embedding
//===----------------------------------------------------------------------===//

/// shifted = concat(prev, input[:, :T-1]) along T; last = input[:, T-1].
struct TokenShiftLowering : OpRewritePattern<TokenShiftOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TokenShiftOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    Location loc = op.getLoc();
    Value x = op.getInput();
    SmallVector<OpFoldResult> xs = e.sizes(x);
    OpFoldResult zero = rewriter.getIndexAttr(0),
                 one = rewriter.getIndexAttr(1);
    SmallVector<OpFoldResult> unit(3, one);

    // prev [B, C] is the t = 0 row.
    SmallVector<OpFoldResult> rowSizes{xs[0], one, xs[2]};
    Value shifted = e.empty(xs);
    shifted =
        tensor::InsertSliceOp::create(rewriter, loc, op.getPrev(), shifted,
                                      {zero, zero, zero}, rowSizes, unit);
    // input[:, 0:T-1] fills t = 1 .. T-1.
    std::optional<int64_t> staticT = getConstantIntValue(xs[1]);
    OpFoldResult tMinus1 =
        staticT ? OpFoldResult(rewriter.getIndexAttr(*staticT - 1))
                : OpFoldResult(
                      arith::SubIOp::create(
                          rewriter, loc,
                          getValueOrCreateConstantIndexOp(rewriter, loc, xs[1]),
                          e.index(1))
                          .getResult());
    if (!staticT || *staticT > 1) {
      SmallVector<OpFoldResult> headSizes{xs[0], tMinus1, xs[2]};
      Value head = tensor::ExtractSliceOp::create(
          rewriter, loc, x, {zero, zero, zero}, headSizes, unit);
      shifted = tensor::InsertSliceOp::create(
          rewriter, loc, head, shifted, {zero, one, zero}, headSizes, unit);
    }
    auto lastType = cast<RankedTensorType>(op.getLast().getType());
    Value last = tensor::ExtractSliceOp::create(
        rewriter, loc, lastType, x, {zero, tMinus1, zero}, rowSizes, unit);
    rewriter.replaceOp(op, {shifted, last});
    return success();
  }
};

struct LerpLowering : OpRewritePattern<LerpOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LerpOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    Value y = e.elementwise(
        op.getStart(), ValueRange{op.getStart(), op.getEnd(), op.getWeight()},
        [](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value diff = arith::SubFOp::create(b, l, a[1], a[0]);
          return math::FmaOp::create(b, l, diff, toF32(b, l, a[2]), a[0]);
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// Leftovers of chains the fusion passes did not fuse.
struct ActivationLowering : OpRewritePattern<ActivationOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ActivationOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    Activation kind = op.getKind();
    rewriter.replaceOp(
        op, e.elementwise(op.getInput(), ValueRange{op.getInput()},
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            return activation(b, l, kind, a[0]);
                          }));
    return success();
  }
};

struct BiasAddLowering : OpRewritePattern<BiasAddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BiasAddOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    rewriter.replaceOp(
        op, e.elementwise(
                op.getInput(), ValueRange{op.getInput(), op.getBias()},
                [](OpBuilder &b, Location l, ValueRange a) -> Value {
                  return arith::AddFOp::create(b, l, a[0], toF32(b, l, a[1]));
                }));
    return success();
  }
};

struct DecayLowering : OpRewritePattern<DecayOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DecayOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    DecayKind kind = op.getKind();
    Value scale = e.f32(-kExpMinusHalf);
    Value y = e.elementwise(
        op.getInput(), op.getInput(),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          if (kind == DecayKind::Sigmoid)
            return math::ExpOp::create(
                b, l, arith::MulFOp::create(b, l, scale, sigmoid(b, l, a[0])));
          Value inner = math::ExpOp::create(b, l, a[0]);
          return math::ExpOp::create(b, l, arith::NegFOp::create(b, l, inner));
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// One row copy per token; ids are clamped into [0, V).
struct EmbeddingLowering : OpRewritePattern<EmbeddingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingOp op,
                                PatternRewriter &rewriter) const override {
    auto tableType = cast<RankedTensorType>(op.getTable().getType());
    if (!tableType.getElementType().isF32() || tableType.isDynamicDim(0) ||
        tableType.isDynamicDim(1))
      return rewriter.notifyMatchFailure(op, "needs a static f32 table");
    Emitter e{rewriter, op.getLoc()};
    Location loc = op.getLoc();
    int64_t vocab = tableType.getDimSize(0), width = tableType.getDimSize(1);
    Value tokens = op.getTokens();
    SmallVector<OpFoldResult> outSizes = e.sizes(tokens);
    outSizes.push_back(rewriter.getIndexAttr(width));
    Value init = e.empty(outSizes);
    Value c0 = e.index(0), c1 = e.index(1), maxId = e.index(vocab - 1);
    auto rowType = RankedTensorType::get({width}, rewriter.getF32Type());
    OpFoldResult one = rewriter.getIndexAttr(1),
                 zero = rewriter.getIndexAttr(0),
                 w = rewriter.getIndexAttr(width);
    auto outer = scf::ForOp::create(
        rewriter, loc, c0, e.dim(tokens, 0), c1, ValueRange{init},
        [&](OpBuilder &b, Location l, Value bi, ValueRange outerArgs) {
          auto inner = scf::ForOp::create(
              b, l, c0, e.dim(tokens, 1), c1, outerArgs,
              [&](OpBuilder &b2, Location l2, Value ti, ValueRange args) {
                Value id = tensor::ExtractOp::create(b2, l2, tokens,
                                                     ValueRange{bi, ti});
                Value idx =
                    arith::IndexCastOp::create(b2, l2, b2.getIndexType(), id);
                idx = arith::MaxSIOp::create(b2, l2, idx, c0);
                idx = arith::MinSIOp::create(b2, l2, idx, maxId);
                Value row = tensor::ExtractSliceOp::create(
                    b2, l2, rowType, op.getTable(),
                    ArrayRef<OpFoldResult>{idx, zero},
                    ArrayRef<OpFoldResult>{one, w},
                    ArrayRef<OpFoldResult>{one, one});
                Value out = tensor::InsertSliceOp::create(
                    b2, l2, row, args[0], ArrayRef<OpFoldResult>{bi, ti, zero},
                    ArrayRef<OpFoldResult>{one, one, w},
                    ArrayRef<OpFoldResult>{one, one, one});
                scf::YieldOp::create(b2, l2, out);
              });
          scf::YieldOp::create(b, l, inner.getResults());
        });
    rewriter.replaceOp(op, outer.getResult(0));
    return success();
  }
};

struct ConvertRwkvToLinalgPass
    : rwkv::impl::ConvertRwkvToLinalgPassBase<ConvertRwkvToLinalgPass> {
  using ConvertRwkvToLinalgPassBase::ConvertRwkvToLinalgPassBase;

  void runOnOperation() override {
    if (vectorWidth < 1 || linearRows < 1 || linearTokens < 1 ||
        linearChunk < 1) {
      getOperation().emitError()
          << "convert-rwkv-to-linalg: vector-width, linear-rows, "
             "linear-tokens and linear-chunk must be positive";
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    for (auto [name, value] : {std::pair{"wkv5-chunk", wkv5Chunk.getValue()},
                               std::pair{"wkv7-chunk", wkv7Chunk.getValue()}})
      if (value < 0) {
        getOperation().emitError()
            << "convert-rwkv-to-linalg: " << name
            << " must be 0 (per-token scan) or positive, got " << value;
        return signalPassFailure();
      }
    KernelOptions opts{vectorWidth,
                       {vectorWidth, linearRows, linearTokens, linearChunk},
                       wkv5Chunk,
                       wkv7Chunk};
    RewritePatternSet patterns(ctx);
    patterns
        .add<LayerNormLowering, RmsNormLowering, GroupNormLowering,
             L2NormLowering, TokenShiftLowering, LerpLowering, DecayLowering,
             EmbeddingLowering, ActivationLowering, BiasAddLowering>(ctx);
    populateProjectionLoweringPatterns(patterns, opts);
    populateWkvLoweringPatterns(patterns, opts);
    populateAttentionLoweringPatterns(patterns, opts);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // Anything left could not be lowered (e.g. dynamic channel counts).
    WalkResult left = getOperation().walk([](Operation *op) {
      if (isa<RwkvDialect>(op->getDialect())) {
        op->emitError() << "could not be lowered: the CPU lowering needs "
                           "static channel counts, static weight shapes and "
                           "an f32 embedding table";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
