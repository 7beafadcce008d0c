//===- WkvToLinalg.cpp - WKV recurrences to scf/vector --------------------===//
//
// convert-rwkv-to-linalg's patterns for wkv4, wkv5, wkv7, wkv7_fused (the
// scans and the chunk forms) and wkv7_bonus.
//
//===----------------------------------------------------------------------===//

#include "passes/LinalgLowering.h"

using namespace mlir;
using namespace mlir::rwkv;
using namespace mlir::rwkv::lowering;

namespace {
//===----------------------------------------------------------------------===//
// WKV
//===----------------------------------------------------------------------===//

/// The per-(batch, head) skeleton of the matrix-state WKV lowerings (wkv5,
/// wkv7): extracts head h's N × N state of batch b, transposes it to
/// [key j][value i] for the whole call, so that every product over a block
/// of value rows is a vertical FMA instead of a horizontal reduction over
/// keys (rows of a head's state are independent: rwkv-math §5.4), and hands
/// it with the outputs `y` to `body`, which returns both updated. The head
/// loop is marked rwkv.parallel. The transposes cost 2·N² moves per head and
/// call. Returns {outputs [B, T, C], new state}.
using HeadBody = function_ref<std::pair<Value, Value>(
    OpBuilder &, Location, Value st, Value y, Value bi, Value base)>;

std::pair<Value, Value> emitPerHead(Emitter &e, Value like, Value state,
                                    HeadBody body) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  auto stateType = cast<RankedTensorType>(state.getType());
  int64_t heads = stateType.getDimSize(1), n = stateType.getDimSize(2);
  auto square = RankedTensorType::get({n, n}, b.getF32Type());
  Value c0 = e.index(0), c1 = e.index(1), cN = e.index(n);
  Value batch = e.dim(like, 0);
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1),
               nn = b.getIndexAttr(n);

  auto bLoop = scf::ForOp::create(
      b, loc, c0, batch, c1, ValueRange{e.empty(e.sizes(like)), state},
      [&](OpBuilder &b1, Location l1, Value bi, ValueRange a1) {
        auto hLoop = scf::ForOp::create(
            b1, l1, c0, e.index(heads), c1, a1,
            [&](OpBuilder &b2, Location l2, Value hi, ValueRange a2) {
              Value base = arith::MulIOp::create(b2, l2, hi, cN);
              SmallVector<OpFoldResult> offs{bi, hi, zero, zero},
                  sizes{one, one, nn, nn}, strides{one, one, one, one};
              Value s = tensor::ExtractSliceOp::create(b2, l2, square, a2[1],
                                                       offs, sizes, strides);
              // Per-iteration scratch: alloc_tensor (unlike tensor.empty)
              // is never hoisted or merged, so parallel heads do not share
              // a buffer.
              auto scratch = [&]() -> Value {
                return bufferization::AllocTensorOp::create(b2, l2, square,
                                                            ValueRange{});
              };
              Value st = linalg::TransposeOp::create(b2, l2, s, scratch(),
                                                     ArrayRef<int64_t>{1, 0})
                             ->getResult(0);
              auto [nextSt, y] = body(b2, l2, st, a2[0], bi, base);
              Value back =
                  linalg::TransposeOp::create(b2, l2, nextSt, scratch(),
                                              ArrayRef<int64_t>{1, 0})
                      ->getResult(0);
              Value newState = tensor::InsertSliceOp::create(
                  b2, l2, back, a2[1], offs, sizes, strides);
              scf::YieldOp::create(b2, l2, ValueRange{y, newState});
            });
        hLoop->setAttr(kParallelLoopAttr, b1.getUnitAttr());
        scf::YieldOp::create(b1, l1, hLoop.getResults());
      });
  return {bLoop.getResult(0), bLoop.getResult(1)};
}

/// Emits the per-token scan of a matrix-state WKV (wkv5, wkv7) on the
/// transposed state of emitPerHead. `body` gets, for one token t and one
/// block of value rows [i0, i0 + lanes): the transposed state and the batch,
/// token and channel indices, and returns the updated state and the vector
/// of outputs y[b, t, base + i0 ...]. T = 1 calls always use this scan, so
/// the recurrent form rounds the same whatever the prompt form is.
using ScanBody = function_ref<std::pair<Value, Value>(
    OpBuilder &, Location, Value st, Value bi, Value ti, Value base, Value i0)>;

std::pair<Value, Value> emitTransposedScan(Emitter &e, Value like, Value state,
                                           int64_t lanes, ScanBody body) {
  int64_t n = cast<RankedTensorType>(state.getType()).getDimSize(2);
  SmallVector<bool> inBounds{true};
  Value c0 = e.index(0), c1 = e.index(1), cN = e.index(n),
        cLanes = e.index(lanes), tokens = e.dim(like, 1);
  return emitPerHead(
      e, like, state,
      [&](OpBuilder &b2, Location l2, Value st, Value y, Value bi,
          Value base) -> std::pair<Value, Value> {
        auto tLoop = scf::ForOp::create(
            b2, l2, c0, tokens, c1, ValueRange{st, y},
            [&](OpBuilder &b3, Location l3, Value ti, ValueRange a3) {
              auto iLoop = scf::ForOp::create(
                  b3, l3, c0, cN, cLanes, a3,
                  [&](OpBuilder &b4, Location l4, Value i0, ValueRange a4) {
                    auto [nextSt, yi] = body(b4, l4, a4[0], bi, ti, base, i0);
                    Value ci = arith::AddIOp::create(b4, l4, base, i0);
                    Value out = vector::TransferWriteOp::create(
                                    b4, l4, yi, a4[1], ValueRange{bi, ti, ci},
                                    ArrayRef<bool>(inBounds))
                                    .getResult();
                    scf::YieldOp::create(b4, l4, ValueRange{nextSt, out});
                  });
              scf::YieldOp::create(b3, l3, iLoop.getResults());
            });
        return {tLoop.getResult(0), tLoop.getResult(1)};
      });
}

/// Value rows per step of the wkv5/wkv7 scans: a whole value row when it
/// fits in `kWkvRowRegisters` registers (N = 64 at 16 lanes), so that the
/// per-key broadcasts are shared by all its register blocks, which leaves
/// the loop FMA-bound rather than load-bound. Lanes are independent, so the
/// rounding is the same as with narrower steps.
int64_t wkvLanes(int64_t n, int64_t vectorWidth) {
  int64_t lanes = fittingWidth(n, vectorWidth);
  if (n % lanes == 0 && n / lanes <= kWkvRowRegisters)
    lanes = n;
  return lanes;
}

/// Finishes a block of WKV outputs: gets the outputs y and the value vector
/// v of the same rows, the batch and token indices and the first channel.
using WkvEpilogue = function_ref<Value(OpBuilder &, Location, Value y, Value v,
                                       Value bi, Value ti, Value base)>;

/// RWKV-7 WKV (rwkv-math §5.4) on the transposed-state scan: per token and
/// block of value rows, sa = Σ_j a_j S_j· (old state), then
/// S_j· ← S_j· w_j + b_j sa + k_j v and y = Σ_j r_j S_j· (new state), and
/// `epilogue` (if any) applied to y. Returns {outputs, new state}.
std::pair<Value, Value> emitWkv7Scan(Emitter &e, Value r, Value w, Value k,
                                     Value v, Value a, Value bv, Value state,
                                     int64_t lanes,
                                     WkvEpilogue epilogue = nullptr) {
  OpBuilder &rewriter = e.b;
  int64_t n = cast<RankedTensorType>(state.getType()).getDimSize(2);
  auto laneType = VectorType::get({lanes}, rewriter.getF32Type());
  Value pad = e.f32(0.0),
        zeros = arith::ConstantOp::create(
            rewriter, e.loc, laneType,
            DenseElementsAttr::get(laneType, rewriter.getF32FloatAttr(0)));
  SmallVector<bool> inBounds{true};
  Value c0 = e.index(0), c1 = e.index(1), cN = e.index(n);
  return emitTransposedScan(
      e, r, state, lanes,
      [&](OpBuilder &b, Location l, Value st, Value bi, Value ti, Value base,
          Value i0) -> std::pair<Value, Value> {
        Value ci = arith::AddIOp::create(b, l, base, i0);
        Value vv = vector::TransferReadOp::create(
            b, l, laneType, v, ValueRange{bi, ti, ci}, pad, inBounds);
        auto scalarAt = [&](OpBuilder &bj, Location lj, Value src,
                            Value cj) -> Value {
          return vector::BroadcastOp::create(
              bj, lj, laneType,
              tensor::ExtractOp::create(bj, lj, src, ValueRange{bi, ti, cj}));
        };
        auto saLoop = scf::ForOp::create(
            b, l, c0, cN, c1, ValueRange{zeros},
            [&](OpBuilder &bj, Location lj, Value j, ValueRange acc) {
              Value cj = arith::AddIOp::create(bj, lj, base, j);
              Value row = vector::TransferReadOp::create(
                  bj, lj, laneType, st, ValueRange{j, i0}, pad, inBounds);
              scf::YieldOp::create(
                  bj, lj,
                  vector::FMAOp::create(bj, lj, scalarAt(bj, lj, a, cj), row,
                                        acc[0])
                      .getResult());
            });
        Value sa = saLoop.getResult(0);
        auto jLoop = scf::ForOp::create(
            b, l, c0, cN, c1, ValueRange{st, zeros},
            [&](OpBuilder &bj, Location lj, Value j, ValueRange acc) {
              Value cj = arith::AddIOp::create(bj, lj, base, j);
              Value row = vector::TransferReadOp::create(
                  bj, lj, laneType, acc[0], ValueRange{j, i0}, pad, inBounds);
              Value upd =
                  arith::MulFOp::create(bj, lj, scalarAt(bj, lj, k, cj), vv);
              upd = vector::FMAOp::create(bj, lj, scalarAt(bj, lj, bv, cj), sa,
                                          upd);
              Value next = vector::FMAOp::create(bj, lj, row,
                                                 scalarAt(bj, lj, w, cj), upd);
              Value y = vector::FMAOp::create(bj, lj, scalarAt(bj, lj, r, cj),
                                              next, acc[1]);
              Value written = vector::TransferWriteOp::create(
                                  bj, lj, next, acc[0], ValueRange{j, i0},
                                  ArrayRef<bool>(inBounds))
                                  .getResult();
              scf::YieldOp::create(bj, lj, ValueRange{written, y});
            });
        Value y = jLoop.getResult(1);
        if (epilogue)
          y = epilogue(b, l, y, vv, bi, ti, base);
        return {jLoop.getResult(0), y};
      });
}

/// Building blocks of the chunk forms of the matrix-state WKVs for one
/// (batch, head) (emitWkv5Chunked, emitWkv7Chunked): the head's N channels
/// of a token as one vector, blocks of `lanes` value rows of the transposed
/// state, and [L or N] × [N or L] f32 scratch tensors.
struct ChunkKit {
  int64_t n, lanes;
  Value bi, base;
  VectorType laneType, headType;
  SmallVector<bool> inBounds{true};

  ChunkKit(OpBuilder &b, int64_t n, int64_t lanes, Value bi, Value base)
      : n(n), lanes(lanes), bi(bi), base(base),
        laneType(VectorType::get({lanes}, b.getF32Type())),
        headType(VectorType::get({n}, b.getF32Type())) {}

  Value idx(OpBuilder &b, Location l, int64_t v) const {
    return arith::ConstantIndexOp::create(b, l, v);
  }
  Value pad(OpBuilder &b, Location l) const {
    return arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0f));
  }
  Value splat(OpBuilder &b, Location l, VectorType type, float value) const {
    return arith::ConstantOp::create(
        b, l, type, DenseElementsAttr::get(type, b.getF32FloatAttr(value)));
  }
  /// Zero-filled scratch. alloc_tensor (unlike tensor.empty) is never
  /// hoisted or merged, so parallel heads do not share it.
  Value scratch(OpBuilder &b, Location l, int64_t rows, int64_t cols) const {
    auto type = RankedTensorType::get({rows, cols}, b.getF32Type());
    Value t = bufferization::AllocTensorOp::create(b, l, type, ValueRange{});
    return linalg::FillOp::create(b, l, pad(b, l), t).getResult(0);
  }
  Value add(OpBuilder &b, Location l, Value x, Value y) const {
    return arith::AddIOp::create(b, l, x, y);
  }
  Value sub(OpBuilder &b, Location l, Value x, Value y) const {
    return arith::SubIOp::create(b, l, x, y);
  }
  Value mul(OpBuilder &b, Location l, Value x, Value y) const {
    return arith::MulFOp::create(b, l, x, y);
  }
  /// The head's N channels of `src` [B, T, C] at token c + t.
  Value readHead(OpBuilder &b, Location l, Value src, Value c, Value t) const {
    return vector::TransferReadOp::create(b, l, headType, src,
                                          ValueRange{bi, add(b, l, c, t), base},
                                          pad(b, l), inBounds);
  }
  /// src[row, i0 : i0 + lanes] of a 2-D tensor.
  Value readRow(OpBuilder &b, Location l, Value src, Value row,
                Value i0) const {
    return vector::TransferReadOp::create(
        b, l, laneType, src, ValueRange{row, i0}, pad(b, l), inBounds);
  }
  Value write(OpBuilder &b, Location l, Value vec, Value dst,
              ValueRange at) const {
    return vector::TransferWriteOp::create(b, l, vec, dst, at,
                                           ArrayRef<bool>(inBounds))
        .getResult();
  }
  Value sum(OpBuilder &b, Location l, Value vec) const {
    return vector::ReductionOp::create(b, l, vector::CombiningKind::ADD, vec,
                                       arith::FastMathFlags::reassoc);
  }
  /// src[at] broadcast to a block of value rows.
  Value scalar(OpBuilder &b, Location l, Value src, ValueRange at) const {
    return vector::BroadcastOp::create(
        b, l, laneType, tensor::ExtractOp::create(b, l, src, at));
  }
  /// The indices start, start + 1, ..., start + size - 1.
  SmallVector<Value> block(OpBuilder &b, Location l, Value start,
                           int64_t size) const {
    SmallVector<Value> out;
    for (int64_t q = 0; q < size; ++q)
      out.push_back(add(b, l, start, idx(b, l, q)));
    return out;
  }
  /// acc[q] += Σ_{c < end} coef(q, c) · x[c, i0 : i0 + lanes]: one row of x
  /// per step, shared by the register block of accumulators.
  using Coef = function_ref<Value(OpBuilder &, Location, int64_t q, Value c)>;
  SmallVector<Value> accumulate(OpBuilder &b, Location l, ValueRange acc,
                                Value end, Value x, Value i0, Coef coef) const {
    auto loop = scf::ForOp::create(
        b, l, idx(b, l, 0), end, idx(b, l, 1), acc,
        [&](OpBuilder &bb, Location ll, Value c, ValueRange a) {
          Value row = readRow(bb, ll, x, c, i0);
          SmallVector<Value> next;
          for (auto [q, partial] : llvm::enumerate(a))
            next.push_back(vector::FMAOp::create(
                bb, ll, coef(bb, ll, static_cast<int64_t>(q), c), row,
                partial));
          scf::YieldOp::create(bb, ll, next);
        });
    return SmallVector<Value>(loop.getResults());
  }
  /// The state update at the end of a chunk, for the value rows
  /// [i0, i0 + lanes) of the transposed state `st`, in blocks of `keyBlock`
  /// keys: S[j] ← D_len[j]·S[j] + Σ_{(m, x) ∈ terms} Σ_{s<len} m[s, j]·x[s],
  /// with D_len row `dRow` of `d`.
  Value updateState(OpBuilder &b, Location l, Value st, Value d, Value dRow,
                    Value len, Value i0, int64_t keyBlock,
                    ArrayRef<std::pair<Value, Value>> terms) const {
    auto loop = scf::ForOp::create(
        b, l, idx(b, l, 0), idx(b, l, n), idx(b, l, keyBlock), ValueRange{st},
        [&](OpBuilder &bj, Location lj, Value j0, ValueRange f) {
          SmallVector<Value> keys = block(bj, lj, j0, keyBlock), acc;
          for (Value key : keys)
            acc.push_back(mul(bj, lj, readRow(bj, lj, f[0], key, i0),
                              scalar(bj, lj, d, ValueRange{dRow, key})));
          for (auto [m, x] : terms) {
            Value coefs = m;
            acc = accumulate(
                bj, lj, acc, len, x, i0,
                [&](OpBuilder &bb, Location ll, int64_t q, Value s) {
                  return scalar(bb, ll, coefs, ValueRange{s, keys[q]});
                });
          }
          scf::YieldOp::create(bj, lj, writeRows(bj, lj, acc, keys, i0, f[0]));
        });
    return loop.getResult(0);
  }
  /// dst[rows[q], i0 : i0 + lanes] = acc[q].
  Value writeRows(OpBuilder &b, Location l, ValueRange acc,
                  ArrayRef<Value> rows, Value i0, Value dst) const {
    for (auto [q, vec] : llvm::enumerate(acc))
      dst = write(b, l, vec, dst, ValueRange{rows[q], i0});
    return dst;
  }
  /// y[bi, c + rows[q], base + i0 ...] = acc[q] for the rows before `len`
  /// (rows[0] always is).
  Value writeOutputs(OpBuilder &b, Location l, ValueRange acc,
                     ArrayRef<Value> rows, Value len, Value c, Value i0,
                     Value y) const {
    Value ci = add(b, l, base, i0);
    for (size_t q = 0; q < acc.size(); ++q) {
      Value vec = acc[q], ti = add(b, l, c, rows[q]);
      if (q == 0) {
        y = write(b, l, vec, y, ValueRange{bi, ti, ci});
        continue;
      }
      Value inside =
          arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, rows[q], len);
      Value current = y;
      y = scf::IfOp::create(
              b, l, inside,
              [&](OpBuilder &bw, Location lw) {
                scf::YieldOp::create(
                    bw, lw,
                    write(bw, lw, vec, current, ValueRange{bi, ti, ci}));
              },
              [&](OpBuilder &bw, Location lw) {
                scf::YieldOp::create(bw, lw, current);
              })
              .getResult(0);
    }
    return y;
  }
};

/// Register blocks of the chunk forms: tokens per output block (a divisor
/// of the chunk) and keys per state-update block (a divisor of N), each
/// times `lanes` value rows (4 × 4 vectors at N = 64 and 16 lanes).
std::pair<int64_t, int64_t> chunkBlocks(int64_t chunk, int64_t n) {
  return {fittingWidth(chunk, 4), fittingWidth(n, 4)};
}

/// RWKV-5/6 WKV in the diagonal-decay chunk form (rwkv-math §6.2), for
/// calls of several tokens. Per (batch, head) and chunk of L tokens (the
/// last may be shorter: `len`), on the transposed state S ([key j][value i])
/// and with every decay factor a product of w's:
///
///   D_t      = Π_{m<t} w_m                 (chunk start to before t)
///   B_s      = Π_{s<m<len} w_m             (after s to the chunk end)
///   A[t,s]   = Σ_j r_t[j] k_s[j] Π_{s<m<t} w_m[j]     s < t
///   A[t,t]   = Σ_j r_t[j] u[j] k_t[j]                 (bonus)
///   y_t      = (r_t ⊙ D_t)ᵀ S + Σ_{s≤t} A[t,s] v_s
///   S       ← diag(D_len) S + Σ_s (k_s ⊙ B_s) v_sᵀ
///
/// The §6.2 exponents exp(E_t − G_s), exp(E_t) and exp(G_len − G_s) are
/// these products: each is re-centred on its own pair of positions, so no
/// factor exceeds 1, none is ever divided by, and underflow to 0 is the
/// exact limit. There is no log, no exp and no overflow for any decay in
/// [0, 1], including 0 (no headroom condition as in fla's factorised form).
///
/// Cost per chunk and head: the two N×N products (outputs and state) are
/// 2·L·N² FMAs in register blocks (chunkBlocks) that load the state L/4 + 1
/// times and store it once, against the scan's 2·L·N² FMAs plus L·N²
/// multiplies and L state loads and stores; A costs L²/2 N-wide products
/// and horizontal sums, and applying it to v about L²·N/2 FMAs, which is
/// why small chunks win (docs/PERFORMANCE.md). Scratch (r ⊙ D with D_len as an
/// extra row, k ⊙ B, v and A) is zeroed once per head: rows past a short
/// chunk's end stay finite and A's strict upper triangle stays 0.
std::pair<Value, Value> emitWkv5Chunked(Emitter &e, Wkv5Op op, int64_t chunk,
                                        int64_t lanes) {
  int64_t n = cast<RankedTensorType>(op.getState().getType()).getDimSize(2);
  const int64_t tokBlock = chunkBlocks(chunk, n).first,
                keyBlock = chunkBlocks(chunk, n).second;
  Value tokens = e.dim(op.getR(), 1);
  return emitPerHead(
      e, op.getR(), op.getState(),
      [&](OpBuilder &b, Location l, Value st, Value y, Value bi,
          Value base) -> std::pair<Value, Value> {
        ChunkKit k(b, n, lanes, bi, base);
        Value c0 = k.idx(b, l, 0), c1 = k.idx(b, l, 1), cN = k.idx(b, l, n),
              cL = k.idx(b, l, chunk);
        Value u = vector::TransferReadOp::create(b, l, k.headType, op.getU(),
                                                 ValueRange{base}, k.pad(b, l),
                                                 k.inBounds);
        SmallVector<Value> init{st,
                                y,
                                k.scratch(b, l, chunk + 1, n),  // r⊙D; D_len
                                k.scratch(b, l, chunk, n),      // k ⊙ B
                                k.scratch(b, l, chunk, n),      // v
                                k.scratch(b, l, chunk, chunk)}; // A
        auto cLoop = scf::ForOp::create(
            b, l, c0, tokens, cL, init,
            [&](OpBuilder &b1, Location l1, Value c, ValueRange a) {
              Value len =
                  arith::MinSIOp::create(b1, l1, cL, k.sub(b1, l1, tokens, c));
              Value ones = k.splat(b1, l1, k.headType, 1.0f);
              // Forward: r_t ⊙ D_t and v_t; D ends as D_len.
              auto fwd = scf::ForOp::create(
                  b1, l1, c0, len, c1, ValueRange{ones, a[2], a[4]},
                  [&](OpBuilder &bt, Location lt, Value t, ValueRange f) {
                    Value rd = k.write(
                        bt, lt,
                        k.mul(bt, lt, k.readHead(bt, lt, op.getR(), c, t),
                              f[0]),
                        f[1], ValueRange{t, c0});
                    Value vs =
                        k.write(bt, lt, k.readHead(bt, lt, op.getV(), c, t),
                                f[2], ValueRange{t, c0});
                    Value d = k.mul(bt, lt, f[0],
                                    k.readHead(bt, lt, op.getW(), c, t));
                    scf::YieldOp::create(bt, lt, ValueRange{d, rd, vs});
                  });
              Value rd = k.write(b1, l1, fwd.getResult(0), fwd.getResult(1),
                                 ValueRange{cL, c0});
              Value vs = fwd.getResult(2);
              // Backward: k_s ⊙ B_s, s = len-1 ... 0.
              auto bwd = scf::ForOp::create(
                  b1, l1, c0, len, c1, ValueRange{ones, a[3]},
                  [&](OpBuilder &bt, Location lt, Value q, ValueRange f) {
                    Value s = k.sub(bt, lt, k.sub(bt, lt, len, c1), q);
                    Value kb = k.write(
                        bt, lt,
                        k.mul(bt, lt, k.readHead(bt, lt, op.getK(), c, s),
                              f[0]),
                        f[1], ValueRange{s, c0});
                    Value next = k.mul(bt, lt, f[0],
                                       k.readHead(bt, lt, op.getW(), c, s));
                    scf::YieldOp::create(bt, lt, ValueRange{next, kb});
                  });
              Value kb = bwd.getResult(1);
              // A: the bonus on the diagonal; below it, r_t decayed back to
              // each earlier key s (one more factor w_s per step).
              auto aLoop = scf::ForOp::create(
                  b1, l1, c0, len, c1, ValueRange{a[5]},
                  [&](OpBuilder &bt, Location lt, Value t, ValueRange f) {
                    Value rt = k.readHead(bt, lt, op.getR(), c, t);
                    Value bonus =
                        k.sum(bt, lt,
                              k.mul(bt, lt, k.mul(bt, lt, rt, u),
                                    k.readHead(bt, lt, op.getK(), c, t)));
                    Value diag = tensor::InsertOp::create(bt, lt, bonus, f[0],
                                                          ValueRange{t, t});
                    auto sLoop = scf::ForOp::create(
                        bt, lt, c0, t, c1, ValueRange{rt, diag},
                        [&](OpBuilder &bs, Location ls, Value q, ValueRange g) {
                          Value s = k.sub(bs, ls, k.sub(bs, ls, t, c1), q);
                          Value dot =
                              k.sum(bs, ls,
                                    k.mul(bs, ls, g[0],
                                          k.readHead(bs, ls, op.getK(), c, s)));
                          Value am = tensor::InsertOp::create(bs, ls, dot, g[1],
                                                              ValueRange{t, s});
                          Value decayed =
                              k.mul(bs, ls, g[0],
                                    k.readHead(bs, ls, op.getW(), c, s));
                          scf::YieldOp::create(bs, ls, ValueRange{decayed, am});
                        });
                    scf::YieldOp::create(bt, lt, sLoop.getResult(1));
                  });
              Value am = aLoop.getResult(0);
              // Per block of value rows: outputs from the old state, then
              // the state update.
              auto iLoop = scf::ForOp::create(
                  b1, l1, c0, cN, k.idx(b1, l1, lanes), ValueRange{a[0], a[1]},
                  [&](OpBuilder &bi0, Location li, Value i0, ValueRange g) {
                    Value zeros = k.splat(bi0, li, k.laneType, 0.0f);
                    auto tbLoop = scf::ForOp::create(
                        bi0, li, c0, len, k.idx(bi0, li, tokBlock),
                        ValueRange{g[1]},
                        [&](OpBuilder &bt, Location lt, Value tb,
                            ValueRange f) {
                          SmallVector<Value> rows =
                              k.block(bt, lt, tb, tokBlock);
                          SmallVector<Value> acc(tokBlock, zeros);
                          acc = k.accumulate(bt, lt, acc, cN, g[0], i0,
                                             [&](OpBuilder &bb, Location ll,
                                                 int64_t q, Value j) {
                                               return k.scalar(
                                                   bb, ll, rd,
                                                   ValueRange{rows[q], j});
                                             });
                          acc = k.accumulate(
                              bt, lt, acc,
                              k.add(bt, lt, tb, k.idx(bt, lt, tokBlock)), vs,
                              i0,
                              [&](OpBuilder &bb, Location ll, int64_t q,
                                  Value s) {
                                return k.scalar(bb, ll, am,
                                                ValueRange{rows[q], s});
                              });
                          scf::YieldOp::create(bt, lt,
                                               k.writeOutputs(bt, lt, acc, rows,
                                                              len, c, i0,
                                                              f[0]));
                        });
                    Value stNext = k.updateState(bi0, li, g[0], rd, cL, len, i0,
                                                 keyBlock, {{kb, vs}});
                    scf::YieldOp::create(
                        bi0, li, ValueRange{stNext, tbLoop.getResult(0)});
                  });
              scf::YieldOp::create(b1, l1,
                                   ValueRange{iLoop.getResult(0),
                                              iLoop.getResult(1), rd, kb, vs,
                                              am});
            });
        return {cLoop.getResult(0), cLoop.getResult(1)};
      });
}

/// RWKV-7 WKV in the DPLR chunk form (rwkv-math §6.3; fla's
/// `dplr_chunkwise`, here with products of w instead of exponentials of
/// cumulative sums, as in emitWkv5Chunked). With S the transposed state
/// ([key j][value i]), per chunk of L tokens (the last may be shorter),
/// D_t = Π_{m<t} w_m, B_s = Π_{s<m<len} w_m, P(s,t) = Π_{s<m<t} w_m and
/// P'(s,t) = Π_{s<m≤t} w_m:
///
///   ũ_t = (a_t ⊙ D_t)ᵀ S + Σ_{s<t} A_ak[t,s] v_s + Σ_{s<t} A_ab[t,s] ũ_s
///   y_t = (r_t ⊙ D_{t+1})ᵀ S + Σ_{s≤t} A_qk[t,s] v_s + Σ_{s≤t} A_qb[t,s] ũ_s
///   S  ← diag(D_len) S + Σ_s (k_s ⊙ B_s) v_sᵀ + Σ_s (b_s ⊙ B_s) ũ_sᵀ
///
/// with A_ak[t,s] = Σ_j a_t[j] k_s[j] P(s,t)[j] (A_ab with b_s) and
/// A_qk[t,s] = Σ_j r_t[j] k_s[j] P'(s,t)[j] (A_qb with b_s). ũ_t is the
/// vector sa of the scan (a_tᵀ of the state before token t); the ũ rows
/// come from forward substitution through the unit lower-triangular
/// (I − A_ab), row by row, per block of value rows ("WY" in §6.3). Per
/// token and head this does 4·N² FMAs in register blocks plus four L×L
/// intra-chunk matrices (2·L N-wide products and horizontal sums), their
/// application to v and ũ (≈ 1.5·L·N) and the substitution (L·N/2),
/// against the scan's 5·N² multiply-adds (docs/PERFORMANCE.md compares
/// them). Scratch is zeroed once per head, as
/// in emitWkv5Chunked.
std::pair<Value, Value> emitWkv7Chunked(Emitter &e, Wkv7Op op, int64_t chunk,
                                        int64_t lanes) {
  int64_t n = cast<RankedTensorType>(op.getState().getType()).getDimSize(2);
  const int64_t tokBlock = chunkBlocks(chunk, n).first,
                keyBlock = chunkBlocks(chunk, n).second;
  Value tokens = e.dim(op.getR(), 1);
  return emitPerHead(
      e, op.getR(), op.getState(),
      [&](OpBuilder &b, Location l, Value st, Value y, Value bi,
          Value base) -> std::pair<Value, Value> {
        ChunkKit k(b, n, lanes, bi, base);
        Value c0 = k.idx(b, l, 0), c1 = k.idx(b, l, 1), cN = k.idx(b, l, n),
              cL = k.idx(b, l, chunk);
        SmallVector<Value> init{st,
                                y,
                                k.scratch(b, l, chunk, n),      // a ⊙ D
                                k.scratch(b, l, chunk + 1, n),  // r⊙D'; D_len
                                k.scratch(b, l, chunk, n),      // k ⊙ B
                                k.scratch(b, l, chunk, n),      // b ⊙ B
                                k.scratch(b, l, chunk, n),      // v
                                k.scratch(b, l, chunk, n),      // ũ
                                k.scratch(b, l, chunk, chunk),  // A_ak
                                k.scratch(b, l, chunk, chunk),  // A_ab
                                k.scratch(b, l, chunk, chunk),  // A_qk
                                k.scratch(b, l, chunk, chunk)}; // A_qb
        auto cLoop = scf::ForOp::create(
            b, l, c0, tokens, cL, init,
            [&](OpBuilder &b1, Location l1, Value c, ValueRange a) {
              Value len =
                  arith::MinSIOp::create(b1, l1, cL, k.sub(b1, l1, tokens, c));
              Value ones = k.splat(b1, l1, k.headType, 1.0f);
              auto head = [&](OpBuilder &bb, Location ll, Value src, Value t) {
                return k.readHead(bb, ll, src, c, t);
              };
              // Forward: a_t ⊙ D_t, r_t ⊙ D_{t+1}, v_t; D ends as D_len.
              auto fwd = scf::ForOp::create(
                  b1, l1, c0, len, c1, ValueRange{ones, a[2], a[3], a[6]},
                  [&](OpBuilder &bt, Location lt, Value t, ValueRange f) {
                    Value ad = k.write(
                        bt, lt, k.mul(bt, lt, head(bt, lt, op.getA(), t), f[0]),
                        f[1], ValueRange{t, c0});
                    Value d = k.mul(bt, lt, f[0], head(bt, lt, op.getW(), t));
                    Value rd = k.write(
                        bt, lt, k.mul(bt, lt, head(bt, lt, op.getR(), t), d),
                        f[2], ValueRange{t, c0});
                    Value vs = k.write(bt, lt, head(bt, lt, op.getV(), t), f[3],
                                       ValueRange{t, c0});
                    scf::YieldOp::create(bt, lt, ValueRange{d, ad, rd, vs});
                  });
              Value ad = fwd.getResult(1), vs = fwd.getResult(3);
              Value rd = k.write(b1, l1, fwd.getResult(0), fwd.getResult(2),
                                 ValueRange{cL, c0});
              // Backward: k_s ⊙ B_s and b_s ⊙ B_s, s = len-1 ... 0.
              auto bwd = scf::ForOp::create(
                  b1, l1, c0, len, c1, ValueRange{ones, a[4], a[5]},
                  [&](OpBuilder &bt, Location lt, Value q, ValueRange f) {
                    Value s = k.sub(bt, lt, k.sub(bt, lt, len, c1), q);
                    Value kb = k.write(
                        bt, lt, k.mul(bt, lt, head(bt, lt, op.getK(), s), f[0]),
                        f[1], ValueRange{s, c0});
                    Value bb = k.write(
                        bt, lt, k.mul(bt, lt, head(bt, lt, op.getB(), s), f[0]),
                        f[2], ValueRange{s, c0});
                    Value next =
                        k.mul(bt, lt, f[0], head(bt, lt, op.getW(), s));
                    scf::YieldOp::create(bt, lt, ValueRange{next, kb, bb});
                  });
              Value kb = bwd.getResult(1), bb = bwd.getResult(2);
              // The four intra-chunk matrices: a_t (for A_ak, A_ab) and
              // r_t ⊙ w_t (for A_qk, A_qb below the diagonal) decayed back
              // to each earlier key s, one more factor w_s per step.
              auto aLoop = scf::ForOp::create(
                  b1, l1, c0, len, c1, ValueRange{a[8], a[9], a[10], a[11]},
                  [&](OpBuilder &bt, Location lt, Value t, ValueRange f) {
                    Value rt = head(bt, lt, op.getR(), t);
                    Value at = head(bt, lt, op.getA(), t);
                    Value qk = tensor::InsertOp::create(
                        bt, lt,
                        k.sum(bt, lt,
                              k.mul(bt, lt, rt, head(bt, lt, op.getK(), t))),
                        f[2], ValueRange{t, t});
                    Value qb = tensor::InsertOp::create(
                        bt, lt,
                        k.sum(bt, lt,
                              k.mul(bt, lt, rt, head(bt, lt, op.getB(), t))),
                        f[3], ValueRange{t, t});
                    Value rw = k.mul(bt, lt, rt, head(bt, lt, op.getW(), t));
                    auto sLoop = scf::ForOp::create(
                        bt, lt, c0, t, c1,
                        ValueRange{rw, at, f[0], f[1], qk, qb},
                        [&](OpBuilder &bs, Location ls, Value q, ValueRange g) {
                          Value s = k.sub(bs, ls, k.sub(bs, ls, t, c1), q);
                          Value ks = head(bs, ls, op.getK(), s);
                          Value bsv = head(bs, ls, op.getB(), s);
                          SmallVector<Value> next;
                          auto put = [&](Value x, Value key, Value dst) {
                            return tensor::InsertOp::create(
                                bs, ls, k.sum(bs, ls, k.mul(bs, ls, x, key)),
                                dst, ValueRange{t, s});
                          };
                          Value ws = head(bs, ls, op.getW(), s);
                          next.push_back(k.mul(bs, ls, g[0], ws));
                          next.push_back(k.mul(bs, ls, g[1], ws));
                          next.push_back(put(g[1], ks, g[2]));  // A_ak
                          next.push_back(put(g[1], bsv, g[3])); // A_ab
                          next.push_back(put(g[0], ks, g[4]));  // A_qk
                          next.push_back(put(g[0], bsv, g[5])); // A_qb
                          scf::YieldOp::create(bs, ls, next);
                        });
                    scf::YieldOp::create(bt, lt,
                                         sLoop.getResults().drop_front(2));
                  });
              Value aak = aLoop.getResult(0), aab = aLoop.getResult(1),
                    aqk = aLoop.getResult(2), aqb = aLoop.getResult(3);
              auto coefOf = [&](Value m, ArrayRef<Value> rows) {
                return [&k, m, rows](OpBuilder &bb, Location ll, int64_t q,
                                     Value s) {
                  return k.scalar(bb, ll, m, ValueRange{rows[q], s});
                };
              };
              auto iLoop = scf::ForOp::create(
                  b1, l1, c0, cN, k.idx(b1, l1, lanes),
                  ValueRange{a[0], a[1], a[7]},
                  [&](OpBuilder &bi0, Location li, Value i0, ValueRange g) {
                    Value zeros = k.splat(bi0, li, k.laneType, 0.0f);
                    Value stOld = g[0];
                    // ũ before substitution: from the old state and the
                    // chunk's values, in token blocks.
                    auto uLoop = scf::ForOp::create(
                        bi0, li, c0, len, k.idx(bi0, li, tokBlock),
                        ValueRange{g[2]},
                        [&](OpBuilder &bt, Location lt, Value tb,
                            ValueRange f) {
                          SmallVector<Value> rows =
                              k.block(bt, lt, tb, tokBlock);
                          SmallVector<Value> acc(tokBlock, zeros);
                          acc = k.accumulate(bt, lt, acc, cN, stOld, i0,
                                             coefOf(ad, rows));
                          acc = k.accumulate(
                              bt, lt, acc,
                              k.add(bt, lt, tb, k.idx(bt, lt, tokBlock)), vs,
                              i0, coefOf(aak, rows));
                          scf::YieldOp::create(
                              bt, lt, k.writeRows(bt, lt, acc, rows, i0, f[0]));
                        });
                    // Forward substitution: ũ_t += Σ_{s<t} A_ab[t,s] ũ_s.
                    auto subst = scf::ForOp::create(
                        bi0, li, c1, len, c1, uLoop.getResults(),
                        [&](OpBuilder &bt, Location lt, Value t, ValueRange f) {
                          SmallVector<Value> row{t};
                          SmallVector<Value> acc{
                              k.readRow(bt, lt, f[0], t, i0)};
                          acc = k.accumulate(bt, lt, acc, t, f[0], i0,
                                             coefOf(aab, row));
                          scf::YieldOp::create(
                              bt, lt,
                              k.write(bt, lt, acc[0], f[0], ValueRange{t, i0}));
                        });
                    Value us = subst.getResult(0);
                    auto yLoop = scf::ForOp::create(
                        bi0, li, c0, len, k.idx(bi0, li, tokBlock),
                        ValueRange{g[1]},
                        [&](OpBuilder &bt, Location lt, Value tb,
                            ValueRange f) {
                          SmallVector<Value> rows =
                              k.block(bt, lt, tb, tokBlock);
                          Value end =
                              k.add(bt, lt, tb, k.idx(bt, lt, tokBlock));
                          SmallVector<Value> acc(tokBlock, zeros);
                          acc = k.accumulate(bt, lt, acc, cN, stOld, i0,
                                             coefOf(rd, rows));
                          acc = k.accumulate(bt, lt, acc, end, vs, i0,
                                             coefOf(aqk, rows));
                          acc = k.accumulate(bt, lt, acc, end, us, i0,
                                             coefOf(aqb, rows));
                          scf::YieldOp::create(bt, lt,
                                               k.writeOutputs(bt, lt, acc, rows,
                                                              len, c, i0,
                                                              f[0]));
                        });
                    Value stNext =
                        k.updateState(bi0, li, stOld, rd, cL, len, i0, keyBlock,
                                      {{kb, vs}, {bb, us}});
                    scf::YieldOp::create(
                        bi0, li, ValueRange{stNext, yLoop.getResult(0), us});
                  });
              scf::YieldOp::create(
                  b1, l1,
                  ValueRange{iLoop.getResult(0), iLoop.getResult(1), ad, rd, kb,
                             bb, vs, iLoop.getResult(2), aak, aab, aqk, aqb});
            });
        return {cLoop.getResult(0), cLoop.getResult(1)};
      });
}

struct Wkv7Lowering : OpRewritePattern<Wkv7Op> {
  Wkv7Lowering(MLIRContext *ctx, KernelOptions opts)
      : OpRewritePattern(ctx), opts(opts) {}
  KernelOptions opts;

  LogicalResult matchAndRewrite(Wkv7Op op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    int64_t n = cast<RankedTensorType>(op.getState().getType()).getDimSize(2);
    if (opts.wkv7Chunk > 0 && !isOneToken(op.getR())) {
      auto [y, state] =
          emitWkv7Chunked(e, op, opts.wkv7Chunk, wkvLanes(n, opts.vectorWidth));
      rewriter.replaceOp(op, {y, state});
      return success();
    }
    auto [y, state] =
        emitWkv7Scan(e, op.getR(), op.getW(), op.getK(), op.getV(), op.getA(),
                     op.getB(), op.getState(), wkvLanes(n, opts.vectorWidth));
    rewriter.replaceOp(op, {y, state});
    return success();
  }
};

/// rwkv.wkv7_fused: the wkv7 scan whose per-token output of a head, a whole
/// value row in registers, is normalised (two-pass mean and variance, f32),
/// gets its bonus (Σ_j r_j k_j r_k[h, j]) · v and is gated before it is
/// stored. Head sizes whose row does not fit the register block (see
/// wkvLanes) are decomposed into the unfused ops instead.
struct Wkv7FusedLowering : OpRewritePattern<Wkv7FusedOp> {
  Wkv7FusedLowering(MLIRContext *ctx, KernelOptions opts)
      : OpRewritePattern(ctx), opts(opts) {}
  KernelOptions opts;

  LogicalResult matchAndRewrite(Wkv7FusedOp op,
                                PatternRewriter &rewriter) const override {
    int64_t n = cast<RankedTensorType>(op.getState().getType()).getDimSize(2);
    int64_t lanes = wkvLanes(n, opts.vectorWidth);
    // Head rows wider than the register block, and prompt calls in the
    // chunk form (whose outputs leave the WKV by token blocks): the parts.
    if (lanes != n || (opts.wkv7Chunk > 0 && !isOneToken(op.getR()))) {
      auto [y, state] = op.decompose(rewriter);
      rewriter.replaceOp(op, {y, state});
      return success();
    }
    Emitter e{rewriter, op.getLoc()};
    Type f32 = rewriter.getF32Type();
    auto headType = VectorType::get({n}, f32);
    SmallVector<bool> inBounds{true};
    float eps = op.getEps().convertToFloat();
    auto epilogue = [&](OpBuilder &b, Location l, Value y, Value vv, Value bi,
                        Value ti, Value base) -> Value {
      auto sum = [&](Value vec) -> Value {
        return vector::ReductionOp::create(b, l, vector::CombiningKind::ADD,
                                           vec, arith::FastMathFlags::reassoc);
      };
      auto splat = [&](Value scalar) -> Value {
        return vector::BroadcastOp::create(b, l, headType, scalar);
      };
      auto readRow = [&](Value src, ValueRange idx) -> Value {
        Type elem = cast<ShapedType>(src.getType()).getElementType();
        Value pad =
            arith::ConstantOp::create(b, l, elem, b.getFloatAttr(elem, 0.0));
        return toF32(b, l,
                     vector::TransferReadOp::create(b, l,
                                                    VectorType::get({n}, elem),
                                                    src, idx, pad, inBounds));
      };
      Value invN = arith::ConstantOp::create(
          b, l, b.getF32FloatAttr(1.0f / static_cast<float>(n)));
      Value mean = arith::MulFOp::create(b, l, sum(y), invN);
      Value d = arith::SubFOp::create(b, l, y, splat(mean));
      Value var = arith::MulFOp::create(
          b, l, sum(arith::MulFOp::create(b, l, d, d)), invN);
      Value rstd = math::RsqrtOp::create(
          b, l,
          arith::AddFOp::create(
              b, l, var,
              arith::ConstantOp::create(b, l, b.getF32FloatAttr(eps))));
      Value out = vector::FMAOp::create(
          b, l, arith::MulFOp::create(b, l, d, splat(rstd)),
          readRow(op.getNormWeight(), base), readRow(op.getNormBias(), base));
      Value h = arith::DivUIOp::create(b, l, base, e.index(n));
      Value rk = arith::MulFOp::create(
          b, l, readRow(op.getR(), ValueRange{bi, ti, base}),
          readRow(op.getK(), ValueRange{bi, ti, base}));
      rk = arith::MulFOp::create(
          b, l, rk, readRow(op.getRK(), ValueRange{h, e.index(0)}));
      out = vector::FMAOp::create(b, l, splat(sum(rk)), vv, out);
      if (Value gate = op.getGate())
        out = arith::MulFOp::create(b, l, out,
                                    readRow(gate, ValueRange{bi, ti, base}));
      return out;
    };
    auto [y, state] =
        emitWkv7Scan(e, op.getR(), op.getW(), op.getK(), op.getV(), op.getA(),
                     op.getB(), op.getState(), lanes, epilogue);
    rewriter.replaceOp(op, {y, state});
    return success();
  }
};

/// RWKV-5/6 WKV (rwkv-math §3.1, §4.2) on the transposed-state scan.
struct Wkv5Lowering : OpRewritePattern<Wkv5Op> {
  Wkv5Lowering(MLIRContext *ctx, KernelOptions opts)
      : OpRewritePattern(ctx), opts(opts) {}
  KernelOptions opts;

  /// y_i = Σ_j r_j S_ji + v_i Σ_j r_j u_j k_j on the
  /// transposed state, then S_ji ← w_j S_ji + k_j v_i.
  LogicalResult rewriteScan(Wkv5Op op, PatternRewriter &rewriter) const {
    Emitter e{rewriter, op.getLoc()};
    int64_t n = cast<RankedTensorType>(op.getState().getType()).getDimSize(2);
    int64_t lanes = wkvLanes(n, opts.vectorWidth);
    auto laneType = VectorType::get({lanes}, rewriter.getF32Type());
    auto headType = VectorType::get({n}, rewriter.getF32Type());
    Value pad = e.f32(0.0),
          zeros = arith::ConstantOp::create(
              rewriter, op.getLoc(), laneType,
              DenseElementsAttr::get(laneType, rewriter.getF32FloatAttr(0)));
    SmallVector<bool> inBounds{true};
    Value c0 = e.index(0), c1 = e.index(1), cN = e.index(n);
    auto [y, state] = emitTransposedScan(
        e, op.getR(), op.getState(), lanes,
        [&](OpBuilder &b, Location l, Value st, Value bi, Value ti, Value base,
            Value i0) -> std::pair<Value, Value> {
          auto readHead = [&](Value src) -> Value {
            return vector::TransferReadOp::create(
                b, l, headType, src, ValueRange{bi, ti, base}, pad, inBounds);
          };
          // Σ_j r_j u_j k_j for this head and token (the bonus weight).
          Value u = vector::TransferReadOp::create(
              b, l, headType, op.getU(), ValueRange{base}, pad, inBounds);
          Value ruk = arith::MulFOp::create(
              b, l, arith::MulFOp::create(b, l, readHead(op.getR()), u),
              readHead(op.getK()));
          Value c =
              vector::ReductionOp::create(b, l, vector::CombiningKind::ADD, ruk,
                                          arith::FastMathFlags::reassoc);
          Value ci = arith::AddIOp::create(b, l, base, i0);
          Value vv = vector::TransferReadOp::create(
              b, l, laneType, op.getV(), ValueRange{bi, ti, ci}, pad, inBounds);
          auto jLoop = scf::ForOp::create(
              b, l, c0, cN, c1, ValueRange{st, zeros},
              [&](OpBuilder &bj, Location lj, Value j, ValueRange a) {
                Value cj = arith::AddIOp::create(bj, lj, base, j);
                auto scalar = [&](Value src) -> Value {
                  return vector::BroadcastOp::create(
                      bj, lj, laneType,
                      tensor::ExtractOp::create(bj, lj, src,
                                                ValueRange{bi, ti, cj}));
                };
                Value row = vector::TransferReadOp::create(
                    bj, lj, laneType, a[0], ValueRange{j, i0}, pad, inBounds);
                Value acc =
                    vector::FMAOp::create(bj, lj, scalar(op.getR()), row, a[1]);
                Value kv = arith::MulFOp::create(bj, lj, scalar(op.getK()), vv);
                Value next =
                    vector::FMAOp::create(bj, lj, scalar(op.getW()), row, kv);
                Value written = vector::TransferWriteOp::create(
                                    bj, lj, next, a[0], ValueRange{j, i0},
                                    ArrayRef<bool>(inBounds))
                                    .getResult();
                scf::YieldOp::create(bj, lj, ValueRange{written, acc});
              });
          Value cv = vector::BroadcastOp::create(b, l, laneType, c);
          Value yi = vector::FMAOp::create(b, l, vv, cv, jLoop.getResult(1));
          return {jLoop.getResult(0), yi};
        });
    rewriter.replaceOp(op, {y, state});
    return success();
  }

  LogicalResult matchAndRewrite(Wkv5Op op,
                                PatternRewriter &rewriter) const override {
    // Functions compiled for one token (the recurrent form, static T = 1)
    // keep the scan; so do all with wkv5-chunk=0.
    if (opts.wkv5Chunk < 1 || isOneToken(op.getR()))
      return rewriteScan(op, rewriter);
    Emitter e{rewriter, op.getLoc()};
    int64_t n = cast<RankedTensorType>(op.getState().getType()).getDimSize(2);
    auto [y, state] =
        emitWkv5Chunked(e, op, opts.wkv5Chunk, wkvLanes(n, opts.vectorWidth));
    rewriter.replaceOp(op, {y, state});
    return success();
  }
};

/// RWKV-4 WKV (rwkv-math §2.2): channels are independent, so the loops run
/// batch → channel chunk (one vector of lanes) → time, with (a, b, p) in
/// registers. Every exponent is <= 0 by construction of the running max,
/// except RWKV-2/3's eps·exp(−q), which overflows to +inf (an output of 0)
/// only where the unscaled sums are below 1e-38.
struct Wkv4Lowering : OpRewritePattern<Wkv4Op> {
  Wkv4Lowering(MLIRContext *ctx, KernelOptions opts)
      : OpRewritePattern(ctx), opts(opts) {}
  LogicalResult matchAndRewrite(Wkv4Op op,
                                PatternRewriter &rewriter) const override {
    if (!staticChannels(op.getK()))
      return rewriter.notifyMatchFailure(op, "dynamic channel count");
    Emitter e{rewriter, op.getLoc()};
    Location loc = op.getLoc();
    int64_t channels =
        cast<RankedTensorType>(op.getK().getType()).getShape().back();
    int64_t vw = fittingWidth(channels, opts.vectorWidth);
    auto vecType = VectorType::get({vw}, rewriter.getF32Type());
    Value pad = e.f32(0.0);
    SmallVector<bool> inBounds{true};
    Value c0 = e.index(0), c1 = e.index(1);
    Value batch = e.dim(op.getK(), 0), tokens = e.dim(op.getK(), 1);
    SmallVector<Value> init{e.empty(e.sizes(op.getK())), op.getA(), op.getB(),
                            op.getP()};

    auto bLoop = scf::ForOp::create(
        rewriter, loc, c0, batch, c1, init,
        [&](OpBuilder &b1, Location l1, Value bi, ValueRange a1) {
          auto cLoop = scf::ForOp::create(
              b1, l1, c0, e.index(channels), e.index(vw), a1,
              [&](OpBuilder &b2, Location l2, Value ci, ValueRange a2) {
                auto readRow = [&](Value src) -> Value {
                  return vector::TransferReadOp::create(
                      b2, l2, vecType, src, ValueRange{bi, ci}, pad, inBounds);
                };
                auto readVec = [&](Value src) -> Value {
                  return vector::TransferReadOp::create(
                      b2, l2, vecType, src, ValueRange{ci}, pad, inBounds);
                };
                Value w = readVec(op.getW()), u = readVec(op.getU());
                std::optional<Value> eps;
                if (op.getEps())
                  eps = vector::BroadcastOp::create(
                      b2, l2, vecType,
                      Emitter{b2, l2}.f32(op.getEps()->convertToFloat()));
                auto tLoop = scf::ForOp::create(
                    b2, l2, c0, tokens, c1,
                    ValueRange{readRow(a2[1]), readRow(a2[2]), readRow(a2[3]),
                               a2[0]},
                    [&](OpBuilder &b3, Location l3, Value ti, ValueRange s) {
                      auto readTok = [&](Value src) -> Value {
                        return vector::TransferReadOp::create(
                            b3, l3, vecType, src, ValueRange{bi, ti, ci}, pad,
                            inBounds);
                      };
                      auto sub = [&](Value x, Value y) -> Value {
                        return arith::SubFOp::create(b3, l3, x, y);
                      };
                      auto exp = [&](Value x) -> Value {
                        return math::ExpOp::create(b3, l3, x);
                      };
                      Value a = s[0], b = s[1], p = s[2];
                      Value k = readTok(op.getK()), v = readTok(op.getV());
                      // Output with the bonus u in log space.
                      Value ww = arith::AddFOp::create(b3, l3, u, k);
                      Value q = arith::MaximumFOp::create(b3, l3, p, ww);
                      Value e1 = exp(sub(p, q)), e2 = exp(sub(ww, q));
                      Value num = vector::FMAOp::create(
                          b3, l3, e1, a, arith::MulFOp::create(b3, l3, e2, v));
                      Value den = vector::FMAOp::create(b3, l3, e1, b, e2);
                      if (eps) // RWKV-2/3: + eps·exp(−q) (the unscaled eps).
                        den = vector::FMAOp::create(
                            b3, l3, *eps, exp(arith::NegFOp::create(b3, l3, q)),
                            den);
                      Value y = arith::DivFOp::create(b3, l3, num, den);
                      // State update with the decay w (log space, < 0).
                      Value pw = arith::AddFOp::create(b3, l3, p, w);
                      Value q2 = arith::MaximumFOp::create(b3, l3, pw, k);
                      Value f1 = exp(sub(pw, q2)), f2 = exp(sub(k, q2));
                      Value na = vector::FMAOp::create(
                          b3, l3, f1, a, arith::MulFOp::create(b3, l3, f2, v));
                      Value nb = vector::FMAOp::create(b3, l3, f1, b, f2);
                      Value out = vector::TransferWriteOp::create(
                                      b3, l3, y, s[3], ValueRange{bi, ti, ci},
                                      ArrayRef<bool>(inBounds))
                                      .getResult();
                      scf::YieldOp::create(b3, l3, ValueRange{na, nb, q2, out});
                    });
                SmallVector<Value> next{tLoop.getResult(3)};
                for (int s = 0; s < 3; ++s)
                  next.push_back(vector::TransferWriteOp::create(
                                     b2, l2, tLoop.getResult(s), a2[1 + s],
                                     ValueRange{bi, ci},
                                     ArrayRef<bool>(inBounds))
                                     .getResult());
                scf::YieldOp::create(b2, l2, next);
              });
          cLoop->setAttr(kParallelLoopAttr, b1.getUnitAttr());
          scf::YieldOp::create(b1, l1, cLoop.getResults());
        });
    rewriter.replaceOp(op, bLoop.getResults());
    return success();
  }
  KernelOptions opts;
};

/// bonus[b,t,h,i] = (Σ_j r·k·r_k[h,j]) · v[b,t,h,i].
struct Wkv7BonusLowering : OpRewritePattern<Wkv7BonusOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(Wkv7BonusOp op,
                                PatternRewriter &rewriter) const override {
    Emitter e{rewriter, op.getLoc()};
    int64_t heads = cast<RankedTensorType>(op.getRK().getType()).getDimSize(0);
    Value r = e.splitLast(op.getR(), heads), k = e.splitLast(op.getK(), heads),
          v = e.splitLast(op.getV(), heads);
    SmallVector<OpFoldResult> outSizes = e.sizes(r);
    outSizes.pop_back();
    SmallVector<IteratorType> reduce(4, IteratorType::parallel);
    reduce.back() = IteratorType::reduction;
    AffineMap id = e.identity(4), lead = e.leading(4, 3), rk = e.trailing(4, 2);
    Value dot = e.generic(
        e.zeros(outSizes), ValueRange{r, k, op.getRK()}, {id, id, rk, lead},
        reduce, [](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value rkv = arith::MulFOp::create(b, l, a[0], toF32(b, l, a[2]));
          return arith::AddFOp::create(b, l, a[3],
                                       arith::MulFOp::create(b, l, rkv, a[1]));
        });
    SmallVector<IteratorType> par(4, IteratorType::parallel);
    Value y =
        e.generic(e.empty(e.sizes(v)), ValueRange{dot, v}, {lead, id, id}, par,
                  [](OpBuilder &b, Location l, ValueRange a) -> Value {
                    return arith::MulFOp::create(b, l, a[0], a[1]);
                  });
    rewriter.replaceOp(op, e.mergeLast(y));
    return success();
  }
};

} // namespace

void mlir::rwkv::lowering::populateWkvLoweringPatterns(
    RewritePatternSet &patterns, const KernelOptions &opts) {
  patterns.add<Wkv7BonusLowering>(patterns.getContext());
  patterns.add<Wkv4Lowering, Wkv5Lowering, Wkv7Lowering, Wkv7FusedLowering>(
      patterns.getContext(), opts);
}
