//===- AttentionToLinalg.cpp - attention-like ops to scf/vector -----------===//
//
// convert-rwkv-to-linalg's patterns for the ops that read a per-sequence
// cache of past tokens: causal_attention (the softmax branch variants put
// beside the WKV), head_qk (RWKV-1/2/3's copy logits over a ring buffer) and
// wkv1 (RWKV-1's time-mix sum over a history of every past position).
//
//===----------------------------------------------------------------------===//

#include "passes/LinalgLowering.h"

using namespace mlir;
using namespace mlir::rwkv;
using namespace mlir::rwkv::lowering;

namespace {

/// q[b, t, :] · keys[b, row, :] over their last dimension (`width`), in
/// vectors of `vecType`: vertical FMAs into one accumulator, then one
/// horizontal sum (the scores of causal_attention and head_qk).
Value rowDot(OpBuilder &b, Location l, Value q, Value keys, Value bi, Value t,
             Value row, int64_t width, VectorType vecType) {
  Emitter e{b, l};
  Value pad = e.f32(0.0);
  Value zero = arith::ConstantOp::create(
      b, l, vecType, DenseElementsAttr::get(vecType, b.getF32FloatAttr(0.0f)));
  SmallVector<bool> inBounds{true};
  auto dot = scf::ForOp::create(
      b, l, e.index(0), e.index(width), e.index(vecType.getDimSize(0)),
      ValueRange{zero},
      [&](OpBuilder &b1, Location l1, Value ci, ValueRange acc) {
        Value qc = vector::TransferReadOp::create(
            b1, l1, vecType, q, ValueRange{bi, t, ci}, pad, inBounds);
        Value kc = vector::TransferReadOp::create(
            b1, l1, vecType, keys, ValueRange{bi, row, ci}, pad, inBounds);
        scf::YieldOp::create(
            b1, l1, ValueRange{vector::FMAOp::create(b1, l1, qc, kc, acc[0])});
      });
  return vector::ReductionOp::create(b, l, vector::CombiningKind::ADD,
                                     dot.getResult(0));
}

/// Causal softmax attention over a per-sequence cache: per sequence and
/// token, the token's key and value are appended at row count + t, then
/// three passes over the rows 0 … count + t (capped at L − 1): the maximum
/// score, Σ exp(s − max) with the weighted sum of values accumulated into
/// the output row, and the division. Dot products are vertical FMAs over
/// the head width, one horizontal sum per row. A small branch: sequences
/// and tokens run one after the other.
struct CausalAttentionLowering : OpRewritePattern<CausalAttentionOp> {
  CausalAttentionLowering(MLIRContext *ctx, KernelOptions opts)
      : OpRewritePattern(ctx), opts(opts) {}
  LogicalResult matchAndRewrite(CausalAttentionOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    Location loc = op.getLoc();
    int64_t width = cast<RankedTensorType>(op.getQ().getType()).getDimSize(2);
    int64_t capacity =
        cast<RankedTensorType>(op.getCacheK().getType()).getDimSize(1);
    int64_t vw = fittingWidth(width, opts.vectorWidth);
    auto vecType = VectorType::get({vw}, rewriter.getF32Type());
    SmallVector<bool> inBounds{true};
    Value pad = e.f32(0.0),
          zeroVec = arith::ConstantOp::create(
              rewriter, loc, vecType,
              DenseElementsAttr::get(vecType, rewriter.getF32FloatAttr(0.0f)));
    Value c0 = e.index(0), c1 = e.index(1), cW = e.index(width),
          cVw = e.index(vw), cL = e.index(capacity);
    Value scale = e.f32(op.getScale().convertToFloat());
    Value batch = e.dim(op.getQ(), 0), tokens = e.dim(op.getQ(), 1);
    SmallVector<Value> init{e.empty(e.sizes(op.getQ())), op.getCacheK(),
                            op.getCacheV(), e.empty(e.sizes(op.getCount()))};

    auto bLoop = scf::ForOp::create(
        rewriter, loc, c0, batch, c1, init,
        [&](OpBuilder &b1, Location l1, Value bi, ValueRange a1) {
          Value countF =
              tensor::ExtractOp::create(b1, l1, op.getCount(), {bi, c0});
          // The cached token count, as an index in [0, L].
          Value countI =
              arith::FPToSIOp::create(b1, l1, b1.getI64Type(), countF);
          Value count =
              arith::IndexCastOp::create(b1, l1, b1.getIndexType(), countI);
          count = arith::MinSIOp::create(
              b1, l1, arith::MaxSIOp::create(b1, l1, count, c0), cL);
          auto tLoop = scf::ForOp::create(
              b1, l1, c0, tokens, c1, ValueRange{a1[0], a1[1], a1[2]},
              [&](OpBuilder &b2, Location l2, Value ti, ValueRange a2) {
                Value pos = arith::AddIOp::create(b2, l2, count, ti);
                auto read = [&](OpBuilder &b, Location l, Value src,
                                ValueRange idx) -> Value {
                  return vector::TransferReadOp::create(b, l, vecType, src, idx,
                                                        pad, inBounds);
                };
                auto write = [&](OpBuilder &b, Location l, Value v, Value dst,
                                 ValueRange idx) -> Value {
                  return vector::TransferWriteOp::create(
                             b, l, v, dst, idx, ArrayRef<bool>(inBounds))
                      .getResult();
                };
                // Append k_t, v_t at row pos while it fits.
                Value fits = arith::CmpIOp::create(
                    b2, l2, arith::CmpIPredicate::ult, pos, cL);
                auto append = scf::IfOp::create(
                    b2, l2, fits,
                    [&](OpBuilder &b3, Location l3) {
                      auto cLoop = scf::ForOp::create(
                          b3, l3, c0, cW, cVw, ValueRange{a2[1], a2[2]},
                          [&](OpBuilder &b4, Location l4, Value ci,
                              ValueRange a4) {
                            Value kc = read(b4, l4, op.getK(), {bi, ti, ci});
                            Value vc = read(b4, l4, op.getV(), {bi, ti, ci});
                            scf::YieldOp::create(
                                b4, l4,
                                ValueRange{
                                    write(b4, l4, kc, a4[0], {bi, pos, ci}),
                                    write(b4, l4, vc, a4[1], {bi, pos, ci})});
                          });
                      scf::YieldOp::create(b3, l3, cLoop.getResults());
                    },
                    [&](OpBuilder &b3, Location l3) {
                      scf::YieldOp::create(b3, l3, ValueRange{a2[1], a2[2]});
                    });
                Value cacheK = append.getResult(0),
                      cacheV = append.getResult(1);
                // Rows 0 … min(pos, L − 1).
                Value rows = arith::MinSIOp::create(
                    b2, l2, arith::AddIOp::create(b2, l2, pos, c1), cL);
                auto score = [&](OpBuilder &b, Location l, Value j) -> Value {
                  return arith::MulFOp::create(b, l,
                                               rowDot(b, l, op.getQ(), cacheK,
                                                      bi, ti, j, width,
                                                      vecType),
                                               scale);
                };
                // Pass 1: the maximum score.
                auto maxLoop = scf::ForOp::create(
                    b2, l2, c0, rows, c1, ValueRange{e.f32(-3.0e38)},
                    [&](OpBuilder &b3, Location l3, Value j, ValueRange m) {
                      scf::YieldOp::create(
                          b3, l3,
                          ValueRange{arith::MaximumFOp::create(
                              b3, l3, m[0], score(b3, l3, j))});
                    });
                Value maxScore = maxLoop.getResult(0);
                // Pass 2: Σ p_j and Σ p_j v_j into the output row.
                Value y = a2[0];
                auto zeroRow = scf::ForOp::create(
                    b2, l2, c0, cW, cVw, ValueRange{y},
                    [&](OpBuilder &b3, Location l3, Value ci, ValueRange a3) {
                      scf::YieldOp::create(
                          b3, l3,
                          ValueRange{
                              write(b3, l3, zeroVec, a3[0], {bi, ti, ci})});
                    });
                auto sumLoop = scf::ForOp::create(
                    b2, l2, c0, rows, c1,
                    ValueRange{e.f32(0.0), zeroRow.getResult(0)},
                    [&](OpBuilder &b3, Location l3, Value j, ValueRange a3) {
                      Value p = math::ExpOp::create(
                          b3, l3,
                          arith::SubFOp::create(b3, l3, score(b3, l3, j),
                                                maxScore));
                      Value pv =
                          vector::BroadcastOp::create(b3, l3, vecType, p);
                      auto acc = scf::ForOp::create(
                          b3, l3, c0, cW, cVw, ValueRange{a3[1]},
                          [&](OpBuilder &b4, Location l4, Value ci,
                              ValueRange a4) {
                            Value vc = read(b4, l4, cacheV, {bi, j, ci});
                            Value yc = read(b4, l4, a4[0], {bi, ti, ci});
                            Value sum =
                                vector::FMAOp::create(b4, l4, pv, vc, yc);
                            scf::YieldOp::create(
                                b4, l4,
                                ValueRange{
                                    write(b4, l4, sum, a4[0], {bi, ti, ci})});
                          });
                      scf::YieldOp::create(
                          b3, l3,
                          ValueRange{arith::AddFOp::create(b3, l3, a3[0], p),
                                     acc.getResult(0)});
                    });
                // Pass 3: divide by Σ p_j.
                Value inv = arith::DivFOp::create(b2, l2, e.f32(1.0),
                                                  sumLoop.getResult(0));
                Value invVec =
                    vector::BroadcastOp::create(b2, l2, vecType, inv);
                auto norm = scf::ForOp::create(
                    b2, l2, c0, cW, cVw, ValueRange{sumLoop.getResult(1)},
                    [&](OpBuilder &b3, Location l3, Value ci, ValueRange a3) {
                      Value yc = read(b3, l3, a3[0], {bi, ti, ci});
                      scf::YieldOp::create(
                          b3, l3,
                          ValueRange{write(
                              b3, l3, arith::MulFOp::create(b3, l3, yc, invVec),
                              a3[0], {bi, ti, ci})});
                    });
                scf::YieldOp::create(
                    b2, l2, ValueRange{norm.getResult(0), cacheK, cacheV});
              });
          // new_count = count + T.
          Value added = arith::UIToFPOp::create(
              b1, l1, b1.getF32Type(),
              arith::IndexCastOp::create(b1, l1, b1.getI64Type(), tokens));
          Value newCount = tensor::InsertOp::create(
              b1, l1, arith::AddFOp::create(b1, l1, countF, added), a1[3],
              ValueRange{bi, c0});
          scf::YieldOp::create(b1, l1,
                               ValueRange{tLoop.getResult(0),
                                          tLoop.getResult(1),
                                          tLoop.getResult(2), newCount});
        });
    rewriter.replaceOp(op, bLoop.getResults());
    return success();
  }
  KernelOptions opts;
};

/// RWKV-1/2/3's head-QK copy logits (rwkv-v1-v3 §4): per sequence and query
/// row j, the positions u of the window [max(0, s_j − L + 1), s_j] each add
/// scale · q_j · key(u) to the logit of their token id, reading the key and
/// the id from this call's rows for u >= count and from the ring buffer
/// (row u mod L) before it; then the call's last min(T, L) keys and ids go
/// to rows (count + t) mod L. Dot products are vertical FMAs over the key
/// width, one horizontal sum per position. A count or cached id that a
/// hostile state file made invalid is clamped (the count into [0, 2L)) or
/// skipped (an id outside [0, V)), so nothing is written out of bounds.
struct HeadQkLowering : OpRewritePattern<HeadQkOp> {
  HeadQkLowering(MLIRContext *ctx, KernelOptions opts)
      : OpRewritePattern(ctx), opts(opts) {}
  LogicalResult matchAndRewrite(HeadQkOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    Location loc = op.getLoc();
    int64_t width = cast<RankedTensorType>(op.getQ().getType()).getDimSize(2);
    int64_t window =
        cast<RankedTensorType>(op.getCacheK().getType()).getDimSize(1);
    int64_t vw = fittingWidth(width, opts.vectorWidth);
    auto vecType = VectorType::get({vw}, rewriter.getF32Type());
    SmallVector<bool> inBounds{true};
    Value pad = e.f32(0.0);
    Value c0 = e.index(0), c1 = e.index(1), cW = e.index(width),
          cVw = e.index(vw), cL = e.index(window);
    Value scale = e.f32(op.getScale().convertToFloat());
    Value batch = e.dim(op.getK(), 0), tokens = e.dim(op.getK(), 1),
          queries = e.dim(op.getQ(), 1);
    // The first query row is token T − Tq of the call.
    Value firstQuery = arith::SubIOp::create(rewriter, loc, tokens, queries);
    SmallVector<OpFoldResult> ySizes = e.sizes(op.getQ());
    ySizes.back() = rewriter.getIndexAttr(op.getVocab());
    Type i64 = rewriter.getI64Type(), idx = rewriter.getIndexType(),
         f32 = rewriter.getF32Type();
    auto toIndex = [&](OpBuilder &b, Location l, Value i32or64) -> Value {
      return arith::IndexCastOp::create(b, l, idx, i32or64);
    };
    auto toF32 = [&](OpBuilder &b, Location l, Value index) -> Value {
      return arith::SIToFPOp::create(
          b, l, f32, arith::IndexCastOp::create(b, l, i64, index));
    };
    auto read = [&](OpBuilder &b, Location l, Value src,
                    ValueRange at) -> Value {
      return vector::TransferReadOp::create(b, l, vecType, src, at, pad,
                                            inBounds);
    };
    SmallVector<Value> init{e.zeros(ySizes), op.getCacheK(),
                            op.getCacheTokens(),
                            e.empty(e.sizes(op.getCount()))};

    auto bLoop = scf::ForOp::create(
        rewriter, loc, c0, batch, c1, init,
        [&](OpBuilder &b1, Location l1, Value bi, ValueRange a1) {
          // Positions seen, clamped into [0, 2L − 1] (NaN reads as 0).
          Value countF =
              tensor::ExtractOp::create(b1, l1, op.getCount(), {bi, c0});
          countF = arith::MinNumFOp::create(
              b1, l1,
              arith::MaxNumFOp::create(b1, l1, countF,
                                       Emitter{b1, l1}.f32(0.0)),
              Emitter{b1, l1}.f32(2.0 * window - 1));
          Value n =
              toIndex(b1, l1, arith::FPToSIOp::create(b1, l1, i64, countF));
          // Query rows.
          auto jLoop = scf::ForOp::create(
              b1, l1, c0, queries, c1, ValueRange{a1[0]},
              [&](OpBuilder &b2, Location l2, Value j, ValueRange a2) {
                Value s = arith::AddIOp::create(
                    b2, l2, n, arith::AddIOp::create(b2, l2, firstQuery, j));
                Value end = arith::AddIOp::create(b2, l2, s, c1);
                // lo = max(0, s + 1 − L), in unsigned-safe form.
                Value full = arith::CmpIOp::create(
                    b2, l2, arith::CmpIPredicate::ugt, end, cL);
                Value lo = arith::SelectOp::create(
                    b2, l2, full, arith::SubIOp::create(b2, l2, end, cL), c0);
                auto uLoop = scf::ForOp::create(
                    b2, l2, lo, end, c1, ValueRange{a2[0]},
                    [&](OpBuilder &b3, Location l3, Value u, ValueRange a3) {
                      Value inCall = arith::CmpIOp::create(
                          b3, l3, arith::CmpIPredicate::uge, u, n);
                      auto dotWith = [&](OpBuilder &b, Location l, Value keys,
                                         Value row) -> Value {
                        return rowDot(b, l, op.getQ(), keys, bi, j, row, width,
                                      vecType);
                      };
                      // (score, token id as i64) of position u.
                      auto key = scf::IfOp::create(
                          b3, l3, inCall,
                          [&](OpBuilder &b4, Location l4) {
                            Value t = arith::SubIOp::create(b4, l4, u, n);
                            Value id = arith::ExtSIOp::create(
                                b4, l4, i64,
                                tensor::ExtractOp::create(
                                    b4, l4, op.getTokens(), ValueRange{bi, t}));
                            scf::YieldOp::create(
                                b4, l4,
                                ValueRange{dotWith(b4, l4, op.getK(), t), id});
                          },
                          [&](OpBuilder &b4, Location l4) {
                            Value row = arith::RemUIOp::create(b4, l4, u, cL);
                            Value idF = tensor::ExtractOp::create(
                                b4, l4, op.getCacheTokens(),
                                ValueRange{bi, row});
                            // A NaN or out-of-range id becomes −1: skipped.
                            Value ok = arith::AndIOp::create(
                                b4, l4,
                                arith::CmpFOp::create(
                                    b4, l4, arith::CmpFPredicate::OGE, idF,
                                    Emitter{b4, l4}.f32(0.0)),
                                arith::CmpFOp::create(
                                    b4, l4, arith::CmpFPredicate::OLT, idF,
                                    Emitter{b4, l4}.f32(
                                        static_cast<double>(op.getVocab()))));
                            Value safe = arith::SelectOp::create(
                                b4, l4, ok, idF, Emitter{b4, l4}.f32(-1.0));
                            Value id =
                                arith::FPToSIOp::create(b4, l4, i64, safe);
                            scf::YieldOp::create(
                                b4, l4,
                                ValueRange{dotWith(b4, l4, op.getCacheK(), row),
                                           id});
                          });
                      Value score = key.getResult(0), id = key.getResult(1);
                      Value valid = arith::AndIOp::create(
                          b3, l3,
                          arith::CmpIOp::create(
                              b3, l3, arith::CmpIPredicate::sge, id,
                              arith::ConstantIntOp::create(b3, l3, i64, 0)),
                          arith::CmpIOp::create(
                              b3, l3, arith::CmpIPredicate::slt, id,
                              arith::ConstantIntOp::create(b3, l3, i64,
                                                           op.getVocab())));
                      auto add = scf::IfOp::create(
                          b3, l3, valid,
                          [&](OpBuilder &b4, Location l4) {
                            Value vi = toIndex(b4, l4, id);
                            Value old = tensor::ExtractOp::create(
                                b4, l4, a3[0], ValueRange{bi, j, vi});
                            Value sum = arith::AddFOp::create(
                                b4, l4, old,
                                arith::MulFOp::create(b4, l4, score, scale));
                            scf::YieldOp::create(
                                b4, l4,
                                ValueRange{tensor::InsertOp::create(
                                    b4, l4, sum, a3[0],
                                    ValueRange{bi, j, vi})});
                          },
                          [&](OpBuilder &b4, Location l4) {
                            scf::YieldOp::create(b4, l4, ValueRange{a3[0]});
                          });
                      scf::YieldOp::create(b3, l3, add.getResults());
                    });
                scf::YieldOp::create(b2, l2, uLoop.getResults());
              });
          // The call's last min(T, L) keys and ids into the ring buffer.
          Value over = arith::CmpIOp::create(b1, l1, arith::CmpIPredicate::ugt,
                                             tokens, cL);
          Value start = arith::SelectOp::create(
              b1, l1, over, arith::SubIOp::create(b1, l1, tokens, cL), c0);
          auto tLoop = scf::ForOp::create(
              b1, l1, start, tokens, c1, ValueRange{a1[1], a1[2]},
              [&](OpBuilder &b2, Location l2, Value t, ValueRange a2) {
                Value row = arith::RemUIOp::create(
                    b2, l2, arith::AddIOp::create(b2, l2, n, t), cL);
                auto copy = scf::ForOp::create(
                    b2, l2, c0, cW, cVw, ValueRange{a2[0]},
                    [&](OpBuilder &b3, Location l3, Value ci, ValueRange a3) {
                      Value kc = read(b3, l3, op.getK(), {bi, t, ci});
                      scf::YieldOp::create(
                          b3, l3,
                          ValueRange{vector::TransferWriteOp::create(
                                         b3, l3, kc, a3[0],
                                         ValueRange{bi, row, ci},
                                         ArrayRef<bool>(inBounds))
                                         .getResult()});
                    });
                Value id = arith::SIToFPOp::create(
                    b2, l2, f32,
                    tensor::ExtractOp::create(b2, l2, op.getTokens(),
                                              ValueRange{bi, t}));
                Value ids = tensor::InsertOp::create(b2, l2, id, a2[1],
                                                     ValueRange{bi, row});
                scf::YieldOp::create(b2, l2,
                                     ValueRange{copy.getResult(0), ids});
              });
          // new_count = n + T below L, then L + (n + T) mod L.
          Value seen = arith::AddIOp::create(b1, l1, n, tokens);
          Value wrapped = arith::AddIOp::create(
              b1, l1, cL, arith::RemUIOp::create(b1, l1, seen, cL));
          Value below = arith::CmpIOp::create(b1, l1, arith::CmpIPredicate::ult,
                                              seen, cL);
          Value next = arith::SelectOp::create(b1, l1, below, seen, wrapped);
          Value newCount = tensor::InsertOp::create(b1, l1, toF32(b1, l1, next),
                                                    a1[3], ValueRange{bi, c0});
          scf::YieldOp::create(b1, l1,
                               ValueRange{jLoop.getResult(0),
                                          tLoop.getResult(0),
                                          tLoop.getResult(1), newCount});
        });
    rewriter.replaceOp(op, bLoop.getResults());
    return success();
  }
  KernelOptions opts;
};

/// RWKV-1's time-mix sum (rwkv-v1-v3 §1.3, §1.6): per sequence and token
/// (position p = count + t, clamped into [0, L − 1]), per vector of channels
/// (all in one head): the token's α_h(p)·k⊙v goes to history row p and k
/// into the running den, then one FMA per past row u ≤ p with the kernel
/// weight time_w[h, L−1−(p−u)] accumulates in a register, scaled by β_h(p)
/// and divided by den. Sequences and tokens run one after the other.
struct Wkv1Lowering : OpRewritePattern<Wkv1Op> {
  Wkv1Lowering(MLIRContext *ctx, KernelOptions opts)
      : OpRewritePattern(ctx), opts(opts) {}
  LogicalResult matchAndRewrite(Wkv1Op op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    Location loc = op.getLoc();
    auto wType = cast<RankedTensorType>(op.getTimeW().getType());
    int64_t width = cast<RankedTensorType>(op.getK().getType()).getDimSize(2);
    int64_t heads = wType.getDimSize(0), rows = wType.getDimSize(1);
    int64_t headSize = width / heads;
    int64_t vw = fittingWidth(headSize, opts.vectorWidth);
    auto vecType = VectorType::get({vw}, rewriter.getF32Type());
    SmallVector<bool> inBounds{true};
    Value pad = e.f32(0.0),
          zeroVec = arith::ConstantOp::create(
              rewriter, loc, vecType,
              DenseElementsAttr::get(vecType, rewriter.getF32FloatAttr(0.0f)));
    Value c0 = e.index(0), c1 = e.index(1), cA = e.index(width),
          cVw = e.index(vw), cHs = e.index(headSize), cLast = e.index(rows - 1);
    Value batch = e.dim(op.getK(), 0), tokens = e.dim(op.getK(), 1);
    Type i64 = rewriter.getI64Type(), idx = rewriter.getIndexType();
    auto read = [&](OpBuilder &b, Location l, Value src,
                    ValueRange at) -> Value {
      return vector::TransferReadOp::create(b, l, vecType, src, at, pad,
                                            inBounds);
    };
    auto write = [&](OpBuilder &b, Location l, Value v, Value dst,
                     ValueRange at) -> Value {
      return vector::TransferWriteOp::create(b, l, v, dst, at,
                                             ArrayRef<bool>(inBounds))
          .getResult();
    };
    auto splat = [&](OpBuilder &b, Location l, Value table, Value h,
                     Value at) -> Value {
      return vector::BroadcastOp::create(
          b, l, vecType,
          tensor::ExtractOp::create(b, l, table, ValueRange{h, at}));
    };
    SmallVector<Value> init{e.empty(e.sizes(op.getK())), op.getHistory(),
                            op.getDen(), e.empty(e.sizes(op.getCount()))};

    auto bLoop = scf::ForOp::create(
        rewriter, loc, c0, batch, c1, init,
        [&](OpBuilder &b1, Location l1, Value bi, ValueRange a1) {
          // Positions seen, clamped into [0, L − 1] (NaN reads as 0).
          Value countF =
              tensor::ExtractOp::create(b1, l1, op.getCount(), {bi, c0});
          Value clampedF = arith::MinNumFOp::create(
              b1, l1,
              arith::MaxNumFOp::create(b1, l1, countF,
                                       Emitter{b1, l1}.f32(0.0)),
              Emitter{b1, l1}.f32(static_cast<double>(rows - 1)));
          Value n = arith::IndexCastOp::create(
              b1, l1, idx, arith::FPToSIOp::create(b1, l1, i64, clampedF));
          auto tLoop = scf::ForOp::create(
              b1, l1, c0, tokens, c1, ValueRange{a1[0], a1[1], a1[2]},
              [&](OpBuilder &b2, Location l2, Value ti, ValueRange a2) {
                Value p = arith::MinUIOp::create(
                    b2, l2, arith::AddIOp::create(b2, l2, n, ti), cLast);
                // time_w[h, L−1−p+u] weights source position u.
                Value base = arith::SubIOp::create(b2, l2, cLast, p);
                Value end = arith::AddIOp::create(b2, l2, p, c1);
                auto cLoop = scf::ForOp::create(
                    b2, l2, c0, cA, cVw, ValueRange{a2[0], a2[1], a2[2]},
                    [&](OpBuilder &b3, Location l3, Value ci, ValueRange a3) {
                      Value h = arith::DivUIOp::create(b3, l3, ci, cHs);
                      Value kc = read(b3, l3, op.getK(), {bi, ti, ci});
                      Value vc = read(b3, l3, op.getV(), {bi, ti, ci});
                      Value kv = arith::MulFOp::create(b3, l3, kc, vc);
                      Value hist = write(
                          b3, l3,
                          arith::MulFOp::create(
                              b3, l3, splat(b3, l3, op.getAlpha(), h, p), kv),
                          a3[1], {bi, p, ci});
                      Value den = arith::AddFOp::create(
                          b3, l3, read(b3, l3, a3[2], {bi, ci}), kc);
                      Value dens = write(b3, l3, den, a3[2], {bi, ci});
                      auto sum = scf::ForOp::create(
                          b3, l3, c0, end, c1, ValueRange{zeroVec},
                          [&](OpBuilder &b4, Location l4, Value u,
                              ValueRange acc) {
                            Value f =
                                splat(b4, l4, op.getTimeW(), h,
                                      arith::AddIOp::create(b4, l4, base, u));
                            Value eu = read(b4, l4, hist, {bi, u, ci});
                            scf::YieldOp::create(
                                b4, l4,
                                ValueRange{vector::FMAOp::create(b4, l4, f, eu,
                                                                 acc[0])});
                          });
                      Value num = arith::MulFOp::create(
                          b3, l3, splat(b3, l3, op.getBeta(), h, p),
                          sum.getResult(0));
                      Value y =
                          write(b3, l3, arith::DivFOp::create(b3, l3, num, den),
                                a3[0], {bi, ti, ci});
                      scf::YieldOp::create(b3, l3, ValueRange{y, hist, dens});
                    });
                scf::YieldOp::create(b2, l2, cLoop.getResults());
              });
          // new_count = count + T.
          Value added = arith::UIToFPOp::create(
              b1, l1, b1.getF32Type(),
              arith::IndexCastOp::create(b1, l1, i64, tokens));
          Value newCount = tensor::InsertOp::create(
              b1, l1, arith::AddFOp::create(b1, l1, countF, added), a1[3],
              ValueRange{bi, c0});
          scf::YieldOp::create(b1, l1,
                               ValueRange{tLoop.getResult(0),
                                          tLoop.getResult(1),
                                          tLoop.getResult(2), newCount});
        });
    rewriter.replaceOp(op, bLoop.getResults());
    return success();
  }
  KernelOptions opts;
};

} // namespace

void mlir::rwkv::lowering::populateAttentionLoweringPatterns(
    RewritePatternSet &patterns, const KernelOptions &opts) {
  patterns.add<CausalAttentionLowering, HeadQkLowering, Wkv1Lowering>(
      patterns.getContext(), opts);
}
