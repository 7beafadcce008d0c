//===- ProjectionsToLinalg.cpp - projections to scf/vector kernels --------===//
//
// convert-rwkv-to-linalg's patterns for linear, shift_lerp_linear, lora,
// channel_mix and ddlerp: the register-blocked kernel (see the pass
// description in passes/Passes.td).
//
//===----------------------------------------------------------------------===//

#include "passes/LinalgLowering.h"

using namespace mlir;
using namespace mlir::rwkv;
using namespace mlir::rwkv::lowering;

namespace {
//===----------------------------------------------------------------------===//
// Projections
//===----------------------------------------------------------------------===//

/// A token-shift mix folded into the input of the linear kernel
/// (rwkv.shift_lerp_linear): x[b, t] is replaced by
/// lerp(x[b, t], x[b, t - 1] or prev[b], mu) per cache block.
struct InputMix {
  Value prev;    ///< [B, K] token-shift state (the row before token 0)
  Value mu;      ///< [K] mix weights
  bool previous; ///< mu weights the previous token (RWKV-6/7), else current
};

/// Emits y = x · Wᵀ for x [B, T, K] and W [M, K] as a register- and
/// cache-blocked kernel:
///
///   for b, for t0 in 0..T step MC:            (x chunk stays in cache)
///     for n in 0..M step NR:                   (W rows n..n+NR streamed once)
///       for t in t0.. step MR:                 (then a 1-row remainder loop)
///         acc[i][j] = 0 (vector<V>)            i < MR, j < NR
///         for k in 0..K step V:
///           acc[i][j] = fma(W[n+j, k:k+V], x[b, t+i, k:k+V], acc[i][j])
///         y[b, t+i, n+j] = reduce_add(acc[i][j])
///
/// Each loaded vector feeds MR or NR FMAs; the horizontal reductions are
/// amortised over K/V steps.
///
/// With a static T = 1 (the recurrent form: a GEMV, which has no reuse of W
/// to block for) and 16-bit weights, NR is 1 and the K loop keeps
/// `kGemvChains` partial sums per output instead: W is then read as one
/// contiguous stream from its first row to its last (per thread, one
/// contiguous range of rows), which the hardware prefetchers follow much
/// better than NR interleaved streams over rows of only 2K bytes (bf16
/// decode of the 0.1B model, 1 thread: 27-29 -> 33-36 tok/s). f32 rows are
/// twice as long and measured 5% faster with NR = 4 streams, so f32 GEMVs
/// keep the NR blocking.
///
/// With a static T = 1 and a batch (batched decode), the register blocks
/// run over MR *sequences* instead of tokens:
///
///   for n in 0..M step NR:                     (W rows n..n+NR streamed once)
///     for b in 0..B step MR:                   (then a 1-row remainder loop)
///       acc[i][j] = fma(W[n+j, k:k+V], x[b+i, 0, k:k+V], acc[i][j])
///
/// so a decode step of B sequences streams W once, not B times (each
/// sequence's GEMV had re-read every matrix: batched decode of the 0.1B
/// model stopped at ~49 tok/s, 1 thread, from B = 16 on). Each output's
/// arithmetic (its K order and partial-sum chains) is that of the
/// one-sequence GEMV, so the results are bit-identical to B = 1 calls.
///
/// Q8_0 weights ([M, K/32, 34] i8 blocks, see rwkv.linear): a one-token
/// GEMV widens them in registers and scales once per block: p = Σ sitofp(q)
/// x over the block's 32 / V vectors, then acc = fma(p, d, acc) with d the
/// block's f16 scale widened and broadcast (one multiply per 32 weights, not
/// per vector). Being a 1-byte type it takes the GEMV's NR = 1, partial-sum
/// chains shape, one block per chain step; a vector never straddles two
/// blocks (V divides 32). With several tokens, each NR-row panel of W is
/// decoded to f32 once per cache block of tokens (decodePanel) and the f32
/// register blocks read it, so prefill does the f32 kernel's arithmetic on
/// the decoded values (d * q is exact in f32) at a quarter of its weight
/// bytes.
///
/// With `mix`, each cache block of tokens is first mixed with its previous
/// tokens into an [1, MC, K] tensor (the same FMA as rwkv.lerp's lowering, so
/// the results are bit-identical to the unfused ops), which the register
/// blocks then read instead of x. (The batch and token loops
/// are kept separate rather than collapsed: MLIR 22's expand-strided-metadata
/// crashes on expanding one dynamic dimension into two.)
Value emitLinear(Emitter &e, Value x, Value w, const LinearTiling &tiling,
                 const InputMix *mix = nullptr) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  auto wType = cast<RankedTensorType>(w.getType());
  const bool q8 = isQ8Weight(wType);
  auto [outWidth, inWidth] = weightShape(wType);
  int64_t vw = fittingWidth(
      inWidth, q8 ? std::min<int64_t>(tiling.vectorWidth, kQ8BlockSize)
                  : tiling.vectorWidth);
  int64_t nr = fittingWidth(outWidth, tiling.outRows);
  int64_t mr = std::max<int64_t>(1, tiling.tokenRows);
  // With a static token count below one register block (the recurrent form:
  // T = 1) only the one-token loop would run; do not emit the others.
  int64_t staticTokens = cast<RankedTensorType>(x.getType()).getDimSize(1);
  if (!ShapedType::isDynamic(staticTokens) && staticTokens < mr)
    mr = 1;
  // Partial sums per output along K (GEMV only; see above), each over one
  // vector or one Q8_0 block per step.
  int64_t chains = 1;
  if (staticTokens == 1 && wType.getElementTypeBitWidth() < 32) {
    nr = 1;
    const int64_t step = q8 ? kQ8BlockSize : vw;
    while (chains * 2 <= kGemvChains && (inWidth / step) % (chains * 2) == 0)
      chains *= 2;
  }
  int64_t mc = std::max<int64_t>(mr, tiling.tokenChunk / mr * mr);
  Type f32 = b.getF32Type();
  auto accType = VectorType::get({vw}, f32);
  auto wVecType = VectorType::get({vw}, wType.getElementType());

  SmallVector<OpFoldResult> outSizes = e.sizes(x);
  outSizes[2] = b.getIndexAttr(outWidth);
  Value init = e.empty(outSizes);
  Value c0 = e.index(0), c1 = e.index(1);
  Value zeroAcc = arith::ConstantOp::create(
      b, loc, accType, DenseElementsAttr::get(accType, b.getF32FloatAttr(0)));
  Value padF32 = e.f32(0.0);
  Value padW = arith::ConstantOp::create(
      b, loc, wType.getElementType(),
      q8 ? TypedAttr(b.getI8IntegerAttr(0))
         : TypedAttr(b.getFloatAttr(wType.getElementType(), 0.0)));
  SmallVector<bool> inBounds{true};
  // W[row, k .. k + V) as f32; for Q8_0 the quants q alone (block k / 32,
  // which the V elements do not leave), to be scaled per block.
  auto readWeight = [&](OpBuilder &bk, Location lk, Value row,
                        Value k) -> Value {
    if (!q8)
      return toF32(bk, lk,
                   vector::TransferReadOp::create(bk, lk, wVecType, w,
                                                  ValueRange{row, k}, padW,
                                                  inBounds));
    Value size = arith::ConstantIndexOp::create(bk, lk, kQ8BlockSize);
    Value at =
        arith::AddIOp::create(bk, lk, arith::RemUIOp::create(bk, lk, k, size),
                              arith::ConstantIndexOp::create(bk, lk, 2));
    Value q = vector::TransferReadOp::create(
        bk, lk, wVecType, w,
        ValueRange{row, arith::DivUIOp::create(bk, lk, k, size), at}, padW,
        inBounds);
    return arith::SIToFPOp::create(bk, lk, accType, q);
  };
  // The f16 scale d of the Q8_0 block holding W[row, k], widened and
  // broadcast.
  auto readScale = [&](OpBuilder &bk, Location lk, Value row,
                       Value k) -> Value {
    Value blk = arith::DivUIOp::create(
        bk, lk, k, arith::ConstantIndexOp::create(bk, lk, kQ8BlockSize));
    Value scaleBytes = vector::TransferReadOp::create(
        bk, lk, VectorType::get({2}, bk.getI8Type()), w,
        ValueRange{row, blk, arith::ConstantIndexOp::create(bk, lk, 0)}, padW,
        inBounds);
    Value scale = vector::ExtractOp::create(
        bk, lk,
        vector::BitCastOp::create(bk, lk, VectorType::get({1}, bk.getF16Type()),
                                  scaleBytes),
        ArrayRef<int64_t>{0});
    return vector::BroadcastOp::create(
        bk, lk, accType, arith::ExtFOp::create(bk, lk, f32, scale));
  };
  Value batch = e.dim(x, 0), tokens = e.dim(x, 1);

  // Where the register blocks read their input rows: x itself, or the
  // mixed cache block (batch 0, tokens counted from `rowBase`).
  struct Source {
    Value tensor, batch, rowBase;
    /// Q8_0 weights decoded to f32 for this block's NR rows ([NR, K]), read
    /// at row j instead of W[n + j] (the prefill path, see decodePanel).
    Value panel = Value();
  };
  // One register block: `rows` tokens from t, NR outputs from n.
  // With `overBatch`, row i is sequence t + i (token 0) instead of token
  // t + i of sequence bi.
  auto block = [&](OpBuilder &bb, Location l, Value bi, Value t, Value n,
                   Value acc, int64_t rows, Source src,
                   bool overBatch = false) -> Value {
    // Accumulator (i, j, c): token i, output j, partial sum c along K.
    int64_t perStep = rows * nr;
    SmallVector<Value> accInit(perStep * chains, zeroAcc);
    SmallVector<Value> tIdx, nIdx;
    for (int64_t i = 0; i < rows; ++i)
      tIdx.push_back(
          i == 0 ? t
                 : arith::AddIOp::create(
                       bb, l, t, arith::ConstantIndexOp::create(bb, l, i))
                       .getResult());
    SmallVector<Value> xRow(tIdx);
    if (src.rowBase)
      for (Value &r : xRow)
        r = arith::SubIOp::create(bb, l, r, src.rowBase);
    for (int64_t j = 0; j < nr; ++j)
      nIdx.push_back(
          j == 0 ? n
                 : arith::AddIOp::create(
                       bb, l, n, arith::ConstantIndexOp::create(bb, l, j))
                       .getResult());
    // Each chain step covers `step` elements of K: one vector (acc += w x),
    // or one Q8_0 block (p = sum of q x over its vectors; acc += p d).
    const bool scaled = q8 && !src.panel;
    const int64_t step = scaled ? kQ8BlockSize : vw;
    auto kLoop = scf::ForOp::create(
        bb, l, c0, e.index(inWidth), e.index(step * chains), accInit,
        [&](OpBuilder &bk, Location lk, Value k0, ValueRange accs) {
          auto offset = [&](Value base, int64_t by) -> Value {
            if (by == 0)
              return base;
            return arith::AddIOp::create(
                bk, lk, base, arith::ConstantIndexOp::create(bk, lk, by));
          };
          SmallVector<Value> next;
          for (int64_t c = 0; c < chains; ++c) {
            Value kc = offset(k0, c * step);
            SmallVector<Value> part(accs.begin() + c * perStep,
                                    accs.begin() + (c + 1) * perStep);
            for (int64_t s = 0; s < step / vw; ++s) {
              Value k = offset(kc, s * vw);
              SmallVector<Value> xv, wv;
              for (int64_t i = 0; i < rows; ++i)
                xv.push_back(vector::TransferReadOp::create(
                    bk, lk, accType, src.tensor,
                    overBatch ? ValueRange{xRow[i], c0, k}
                              : ValueRange{src.batch, xRow[i], k},
                    padF32, inBounds));
              for (int64_t j = 0; j < nr; ++j)
                wv.push_back(
                    src.panel
                        ? vector::TransferReadOp::create(
                              bk, lk, accType, src.panel,
                              ValueRange{
                                  arith::ConstantIndexOp::create(bk, lk, j), k},
                              padF32, inBounds)
                              .getResult()
                        : readWeight(bk, lk, nIdx[j], k));
              for (int64_t i = 0; i < rows; ++i)
                for (int64_t j = 0; j < nr; ++j) {
                  Value &p = part[i * nr + j];
                  p = scaled && s == 0
                          ? arith::MulFOp::create(bk, lk, wv[j], xv[i])
                                .getResult()
                          : vector::FMAOp::create(bk, lk, wv[j], xv[i], p)
                                .getResult();
                }
            }
            if (scaled) {
              SmallVector<Value> d;
              for (int64_t j = 0; j < nr; ++j)
                d.push_back(readScale(bk, lk, nIdx[j], kc));
              for (int64_t i = 0; i < rows; ++i)
                for (int64_t j = 0; j < nr; ++j)
                  part[i * nr + j] =
                      vector::FMAOp::create(bk, lk, part[i * nr + j], d[j],
                                            accs[c * perStep + i * nr + j]);
            }
            next.append(part);
          }
          scf::YieldOp::create(bk, lk, next);
        });
    for (int64_t i = 0; i < rows; ++i) {
      SmallVector<Value> sums;
      for (int64_t j = 0; j < nr; ++j) {
        Value sum = kLoop.getResult(i * nr + j);
        for (int64_t c = 1; c < chains; ++c)
          sum = arith::AddFOp::create(
              bb, l, sum, kLoop.getResult(c * perStep + i * nr + j));
        sums.push_back(
            vector::ReductionOp::create(bb, l, vector::CombiningKind::ADD, sum,
                                        arith::FastMathFlags::reassoc));
      }
      Value vec = vector::FromElementsOp::create(
          bb, l, VectorType::get({nr}, f32), sums);
      acc = vector::TransferWriteOp::create(bb, l, vec, acc,
                                            overBatch
                                                ? ValueRange{tIdx[i], c0, n}
                                                : ValueRange{bi, tIdx[i], n},
                                            ArrayRef<bool>(inBounds))
                .getResult();
    }
    return acc;
  };

  // The mixed input of tokens t0 .. t0 + span of sequence bi, [1, span, K];
  // with `overBatch` (batched decode), of token 0 of sequences
  // 0 .. span, [span, 1, K].
  auto emitMixedBlock = [&](OpBuilder &bm, Location l, Value bi, Value t0,
                            Value span, bool overBatch = false) -> Value {
    Type muElem = cast<ShapedType>(mix->mu.getType()).getElementType();
    Value padMu =
        arith::ConstantOp::create(bm, l, muElem, bm.getFloatAttr(muElem, 0.0));
    OpFoldResult one = bm.getIndexAttr(1);
    Value block = tensor::EmptyOp::create(
        bm, l,
        ArrayRef<OpFoldResult>{overBatch ? OpFoldResult(span) : one,
                               overBatch ? one : OpFoldResult(span),
                               bm.getIndexAttr(inWidth)},
        f32);
    auto rowLoop = scf::ForOp::create(
        bm, l, c0, span, c1, ValueRange{block},
        [&](OpBuilder &br, Location lr, Value i, ValueRange rowAcc) {
          Value seq = overBatch ? i : bi;
          Value t = overBatch ? c0 : arith::AddIOp::create(br, lr, t0, i);
          Value first =
              arith::CmpIOp::create(br, lr, arith::CmpIPredicate::eq, t, c0);
          // Clamped so that the unused read of token 0 stays in bounds.
          Value before = arith::SelectOp::create(
              br, lr, first, c0, arith::SubIOp::create(br, lr, t, c1));
          auto kLoop = scf::ForOp::create(
              br, lr, c0, e.index(inWidth), e.index(vw), rowAcc,
              [&](OpBuilder &bk, Location lk, Value k, ValueRange acc) {
                auto read = [&](Value src, ValueRange idx) -> Value {
                  return vector::TransferReadOp::create(bk, lk, accType, src,
                                                        idx, padF32, inBounds);
                };
                Value cur = read(x, ValueRange{seq, t, k});
                Value shifted = arith::SelectOp::create(
                    bk, lk, first, read(mix->prev, ValueRange{seq, k}),
                    read(x, ValueRange{seq, before, k}));
                Value mu = toF32(bk, lk,
                                 vector::TransferReadOp::create(
                                     bk, lk, VectorType::get({vw}, muElem),
                                     mix->mu, ValueRange{k}, padMu, inBounds));
                Value from = mix->previous ? cur : shifted;
                Value to = mix->previous ? shifted : cur;
                Value mixed = vector::FMAOp::create(
                    bk, lk, arith::SubFOp::create(bk, lk, to, from), mu, from);
                scf::YieldOp::create(
                    bk, lk,
                    vector::TransferWriteOp::create(
                        bk, lk, mixed, acc[0],
                        overBatch ? ValueRange{i, c0, k} : ValueRange{c0, i, k},
                        ArrayRef<bool>(inBounds))
                        .getResult());
              });
          scf::YieldOp::create(br, lr, kLoop.getResults());
        });
    return rowLoop.getResult(0);
  };

  // Q8_0 rows n .. n + NR decoded to f32 ([NR, K], d * q exactly), once
  // per cache block of tokens: the token blocks then run the f32 kernel on
  // them instead of widening and scaling each weight vector per block of
  // MR tokens (0.1B prefill: 365 -> see docs/PERFORMANCE.md).
  auto decodePanel = [&](OpBuilder &bd, Location ld, Value n) -> Value {
    Value panel =
        tensor::EmptyOp::create(bd, ld, ArrayRef<int64_t>{nr, inWidth}, f32);
    Value size = arith::ConstantIndexOp::create(bd, ld, kQ8BlockSize);
    for (int64_t j = 0; j < nr; ++j) {
      Value row = arith::AddIOp::create(
          bd, ld, n, arith::ConstantIndexOp::create(bd, ld, j));
      Value jIdx = arith::ConstantIndexOp::create(bd, ld, j);
      auto blocks = scf::ForOp::create(
          bd, ld, c0, e.index(inWidth), size, ValueRange{panel},
          [&](OpBuilder &bk, Location lk, Value k, ValueRange acc) {
            Value d = readScale(bk, lk, row, k);
            Value out = acc[0];
            for (int64_t s = 0; s < kQ8BlockSize / vw; ++s) {
              Value ks =
                  s == 0 ? k
                         : arith::AddIOp::create(
                               bk, lk, k,
                               arith::ConstantIndexOp::create(bk, lk, s * vw))
                               .getResult();
              Value v =
                  arith::MulFOp::create(bk, lk, readWeight(bk, lk, row, ks), d);
              out = vector::TransferWriteOp::create(bk, lk, v, out,
                                                    ValueRange{jIdx, ks},
                                                    ArrayRef<bool>(inBounds))
                        .getResult();
            }
            scf::YieldOp::create(bk, lk, out);
          });
      panel = blocks.getResult(0);
    }
    return panel;
  };

  if (staticTokens == 1) {
    // Batched decode: register blocks over sequences (see above).
    int64_t mb = std::max<int64_t>(1, tiling.tokenRows);
    Source src{x, c0, Value()};
    // Every sequence's one token mixed with its token-shift state: [B, 1, K].
    if (mix)
      src.tensor = emitMixedBlock(b, loc, c0, c0, batch, /*overBatch=*/true);
    Value full = arith::MulIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, batch, e.index(mb)),
        e.index(mb));
    auto colLoop = scf::ForOp::create(
        b, loc, c0, e.index(outWidth), e.index(nr), ValueRange{init},
        [&](OpBuilder &b2, Location l2, Value n, ValueRange a2) {
          Value acc = a2[0];
          if (mb > 1) {
            auto blocks = scf::ForOp::create(
                b2, l2, c0, full, e.index(mb), ValueRange{acc},
                [&](OpBuilder &b3, Location l3, Value bi, ValueRange a3) {
                  scf::YieldOp::create(
                      b3, l3, block(b3, l3, c0, bi, n, a3[0], mb, src, true));
                });
            acc = blocks.getResult(0);
          }
          auto rest = scf::ForOp::create(
              b2, l2, mb > 1 ? full : c0, batch, c1, ValueRange{acc},
              [&](OpBuilder &b3, Location l3, Value bi, ValueRange a3) {
                scf::YieldOp::create(
                    b3, l3, block(b3, l3, c0, bi, n, a3[0], 1, src, true));
              });
          scf::YieldOp::create(b2, l2, rest.getResults());
        });
    colLoop->setAttr(kParallelLoopAttr, b.getUnitAttr());
    return colLoop.getResult(0);
  }

  auto batchLoop = scf::ForOp::create(
      b, loc, c0, batch, c1, ValueRange{init},
      [&](OpBuilder &b0, Location l0, Value bi, ValueRange a0) {
        auto chunkLoop = scf::ForOp::create(
            b0, l0, c0, tokens, e.index(mc), a0,
            [&](OpBuilder &b1, Location l1, Value t0, ValueRange a1) {
              Value tEnd = arith::MinSIOp::create(
                  b1, l1, tokens,
                  arith::AddIOp::create(b1, l1, t0, e.index(mc)));
              // Tokens covered by whole MR blocks.
              Value span = arith::SubIOp::create(b1, l1, tEnd, t0);
              Value full = arith::AddIOp::create(
                  b1, l1, t0,
                  arith::MulIOp::create(
                      b1, l1, arith::DivUIOp::create(b1, l1, span, e.index(mr)),
                      e.index(mr)));
              Source src{x, bi, Value()};
              if (mix)
                src = {emitMixedBlock(b1, l1, bi, t0, span), c0, t0};
              auto colLoop = scf::ForOp::create(
                  b1, l1, c0, e.index(outWidth), e.index(nr), a1,
                  [&](OpBuilder &b2, Location l2, Value n, ValueRange a2) {
                    Value acc = a2[0];
                    Source rows = src;
                    if (q8)
                      rows.panel = decodePanel(b2, l2, n);
                    if (mr > 1) {
                      auto blocks = scf::ForOp::create(
                          b2, l2, t0, full, e.index(mr), ValueRange{acc},
                          [&](OpBuilder &b3, Location l3, Value t,
                              ValueRange a3) {
                            scf::YieldOp::create(
                                b3, l3,
                                block(b3, l3, bi, t, n, a3[0], mr, rows));
                          });
                      acc = blocks.getResult(0);
                    }
                    auto rest = scf::ForOp::create(
                        b2, l2, mr > 1 ? full : t0, tEnd, c1, ValueRange{acc},
                        [&](OpBuilder &b3, Location l3, Value t,
                            ValueRange a3) {
                          scf::YieldOp::create(
                              b3, l3, block(b3, l3, bi, t, n, a3[0], 1, rows));
                        });
                    scf::YieldOp::create(b2, l2, rest.getResults());
                  });
              colLoop->setAttr(kParallelLoopAttr, b1.getUnitAttr());
              scf::YieldOp::create(b1, l1, colLoop.getResults());
            });
        scf::YieldOp::create(b0, l0, chunkLoop.getResults());
      });
  return batchLoop.getResult(0);
}

struct LinearLowering : OpRewritePattern<LinearOp> {
  LinearLowering(MLIRContext *ctx, KernelOptions opts)
      : OpRewritePattern(ctx), opts(opts) {}
  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    if (!staticMatrix(op.getWeight()))
      return rewriter.notifyMatchFailure(op, "dynamic weight shape");
    Emitter e{rewriter, op.getLoc()};
    rewriter.replaceOp(
        op, emitLinear(e, op.getInput(), op.getWeight(), opts.linear));
    return success();
  }
  KernelOptions opts;
};

struct ShiftLerpLinearLowering : OpRewritePattern<ShiftLerpLinearOp> {
  ShiftLerpLinearLowering(MLIRContext *ctx, KernelOptions opts)
      : OpRewritePattern(ctx), opts(opts) {}
  LogicalResult matchAndRewrite(ShiftLerpLinearOp op,
                                PatternRewriter &rewriter) const override {
    if (!staticMatrix(op.getWeight()))
      return rewriter.notifyMatchFailure(op, "dynamic weight shape");
    Emitter e{rewriter, op.getLoc()};
    InputMix mix{op.getPrev(), op.getMu(), op.getMix() == ShiftMix::Previous};
    rewriter.replaceOp(
        op, emitLinear(e, op.getInput(), op.getWeight(), opts.linear, &mix));
    return success();
  }
  KernelOptions opts;
};

struct LoraLowering : OpRewritePattern<LoraOp> {
  LoraLowering(MLIRContext *ctx, KernelOptions opts)
      : OpRewritePattern(ctx), opts(opts) {}
  LogicalResult matchAndRewrite(LoraOp op,
                                PatternRewriter &rewriter) const override {
    if (!staticMatrix(op.getDown()) || !staticMatrix(op.getUp()))
      return rewriter.notifyMatchFailure(op, "dynamic weight shape");
    Emitter e{rewriter, op.getLoc()};
    Value hidden = emitLinear(e, op.getInput(), op.getDown(), opts.linear);
    Activation inner = op.getActivation(), outer = op.getOutputActivation();
    if (inner != Activation::None)
      hidden = e.elementwise(hidden, hidden,
                             [&](OpBuilder &b, Location l, ValueRange a) {
                               return activation(b, l, inner, a[0]);
                             });
    Value y = emitLinear(e, hidden, op.getUp(), opts.linear);
    Value bias = op.getBias();
    if (bias || outer != Activation::None) {
      SmallVector<Value> ins{y};
      if (bias)
        ins.push_back(bias);
      y = e.elementwise(y, ins, [&](OpBuilder &b, Location l, ValueRange a) {
        Value v = a[0];
        if (bias)
          v = arith::AddFOp::create(b, l, v, toF32(b, l, a[1]));
        return activation(b, l, outer, v);
      });
    }
    rewriter.replaceOp(op, y);
    return success();
  }
  KernelOptions opts;
};

struct ChannelMixLowering : OpRewritePattern<ChannelMixOp> {
  ChannelMixLowering(MLIRContext *ctx, KernelOptions opts)
      : OpRewritePattern(ctx), opts(opts) {}
  LogicalResult matchAndRewrite(ChannelMixOp op,
                                PatternRewriter &rewriter) const override {
    if (!staticMatrix(op.getKey()) || !staticMatrix(op.getValue()))
      return rewriter.notifyMatchFailure(op, "dynamic weight shape");
    Emitter e{rewriter, op.getLoc()};
    Value hidden = emitLinear(e, op.getInput(), op.getKey(), opts.linear);
    hidden = e.elementwise(
        hidden, hidden, [](OpBuilder &b, Location l, ValueRange a) {
          return activation(b, l, Activation::ReluSquare, a[0]);
        });
    Value y = emitLinear(e, hidden, op.getValue(), opts.linear);
    if (Value wr = op.getReceptance()) {
      if (!staticMatrix(wr))
        return rewriter.notifyMatchFailure(op, "dynamic weight shape");
      Value r = emitLinear(e, op.getReceptanceInput(), wr, opts.linear);
      y = e.elementwise(y, ValueRange{y, r},
                        [](OpBuilder &b, Location l, ValueRange a) -> Value {
                          return arith::MulFOp::create(b, l, a[0],
                                                       sigmoid(b, l, a[1]));
                        });
    }
    rewriter.replaceOp(op, y);
    return success();
  }
  KernelOptions opts;
};

/// RWKV-6 ddlerp: one shared down projection and tanh, then one up
/// projection per mixed input (rwkv-math §4.1).
struct DDLerpLowering : OpRewritePattern<DDLerpOp> {
  DDLerpLowering(MLIRContext *ctx, KernelOptions opts)
      : OpRewritePattern(ctx), opts(opts) {}
  LogicalResult matchAndRewrite(DDLerpOp op,
                                PatternRewriter &rewriter) const override {
    if (!staticMatrix(op.getDown()) ||
        !cast<RankedTensorType>(op.getUp().getType()).hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic weight shape");
    Emitter e{rewriter, op.getLoc()};
    Location loc = op.getLoc();
    Value x = op.getInput(), prev = op.getPrev();
    auto lerpBody = [](OpBuilder &b, Location l, ValueRange a) -> Value {
      // x + (prev - x) * mu
      Value d = arith::SubFOp::create(b, l, a[1], a[0]);
      return math::FmaOp::create(b, l, d, toF32(b, l, a[2]), a[0]);
    };
    Value xi = e.elementwise(x, ValueRange{x, prev, op.getMuX()}, lerpBody);
    Value z = emitLinear(e, xi, op.getDown(), opts.linear);
    z = e.elementwise(z, z, [](OpBuilder &b, Location l, ValueRange a) {
      return activation(b, l, Activation::Tanh, a[0]);
    });
    auto upType = cast<RankedTensorType>(op.getUp().getType());
    int64_t channels = upType.getDimSize(1), rank = upType.getDimSize(2);
    SmallVector<OpFoldResult> zSizes = e.sizes(z);
    OpFoldResult zero = rewriter.getIndexAttr(0),
                 one = rewriter.getIndexAttr(1);
    SmallVector<Value> results;
    for (auto [i, mu] : llvm::enumerate(op.getMu())) {
      SmallVector<OpFoldResult> sizes{zSizes[0], zSizes[1],
                                      rewriter.getIndexAttr(rank)};
      Value zi = tensor::ExtractSliceOp::create(
          rewriter, loc, z,
          ArrayRef<OpFoldResult>{zero, zero,
                                 rewriter.getIndexAttr(int64_t(i) * rank)},
          sizes, ArrayRef<OpFoldResult>{one, one, one});
      auto upiType =
          RankedTensorType::get({channels, rank}, upType.getElementType());
      Value upi = tensor::ExtractSliceOp::create(
          rewriter, loc, upiType, op.getUp(),
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(int64_t(i)), zero, zero},
          ArrayRef<OpFoldResult>{one, rewriter.getIndexAttr(channels),
                                 rewriter.getIndexAttr(rank)},
          ArrayRef<OpFoldResult>{one, one, one});
      Value m = emitLinear(e, zi, upi, opts.linear);
      results.push_back(e.elementwise(
          x, ValueRange{x, prev, mu, m},
          [](OpBuilder &b, Location l, ValueRange a) -> Value {
            // x + (prev - x) * (mu + m)
            Value d = arith::SubFOp::create(b, l, a[1], a[0]);
            Value w = arith::AddFOp::create(b, l, toF32(b, l, a[2]), a[3]);
            return math::FmaOp::create(b, l, d, w, a[0]);
          }));
    }
    rewriter.replaceOp(op, results);
    return success();
  }
  KernelOptions opts;
};

} // namespace

void mlir::rwkv::lowering::populateProjectionLoweringPatterns(
    RewritePatternSet &patterns, const KernelOptions &opts) {
  patterns.add<LinearLowering, ShiftLerpLinearLowering, LoraLowering,
               ChannelMixLowering, DDLerpLowering>(patterns.getContext(), opts);
}
