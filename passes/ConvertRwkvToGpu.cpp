//===- ConvertRwkvToGpu.cpp - rwkv ops to GPU kernels ---------------------===//
//
// Lowers each rwkv op to `gpu.launch` kernels (see the pass description in
// passes/Passes.td). The math of every kernel is the formula in the op's ODS
// description; the thread mapping is chosen for NVIDIA GPUs and documented
// next to each builder. Pointwise ops (lerp, decay) become linalg.generic so
// they fuse with the surrounding glue before rwkv-gpu-launch-elementwise
// turns them into kernels.
//
//===----------------------------------------------------------------------===//

#include "passes/Activations.h"
#include "passes/GpuKernels.h"
#include "passes/Passes.h"

#include "dialect/RwkvOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/TypeSwitch.h"

#define DEBUG_TYPE "convert-rwkv-to-gpu"

namespace mlir {
namespace rwkv {
#define GEN_PASS_DEF_CONVERTRWKVTOGPUPASS
#include "passes/Passes.h.inc"
} // namespace rwkv
} // namespace mlir

using namespace mlir;
using namespace mlir::rwkv;
using namespace mlir::rwkv::gpukernels;
using utils::IteratorType;

namespace {

/// e^{-1/2}: the RWKV-7 decay scale (rwkv-math §5.2).
constexpr double kExpMinusHalf = 0.60653065971263342;
/// Warps per block of the row and projection kernels.
constexpr int64_t kWarps = 4;
/// Largest grid size in y (and z) the hardware accepts.
constexpr int64_t kMaxGridY = 65535;

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

int64_t lastDim(Value v) {
  return cast<ShapedType>(v.getType()).getShape().back();
}
bool staticShape(Value v) {
  return cast<ShapedType>(v.getType()).hasStaticShape();
}
bool staticLastDim(Value v) { return !ShapedType::isDynamic(lastDim(v)); }

/// Size of dimension `d` of a tensor: a constant when static.
Value dimOf(OpBuilder &b, Location loc, Value tensor, int64_t d) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (!type.isDynamicDim(d))
    return arith::ConstantIndexOp::create(b, loc, type.getDimSize(d));
  return tensor::DimOp::create(b, loc, tensor, d);
}

Value activation(DeviceBuilder &d, Activation act, Value x) {
  switch (act) {
  case Activation::None:
    return x;
  case Activation::Tanh:
    return math::TanhOp::create(d.b, d.loc, x);
  case Activation::Sigmoid:
    return d.sigmoid(x);
  case Activation::ReluSquare: {
    Value m = d.maxF(x, d.f32(0.0));
    return d.mul(m, m);
  }
  default:
    return genericActivation(d.b, d.loc, act, x);
  }
}

/// A linalg.generic over the shape of `like` (value semantics); inputs
/// either have that shape or match its trailing dimensions (broadcast).
Value elementwise(OpBuilder &b, Location loc, Value like, ValueRange inputs,
                  BodyFn body) {
  auto type = cast<RankedTensorType>(like.getType());
  unsigned rank = type.getRank();
  SmallVector<AffineMap> maps;
  for (Value in : inputs) {
    unsigned inRank = cast<RankedTensorType>(in.getType()).getRank();
    SmallVector<AffineExpr> exprs;
    for (unsigned dim = rank - inRank; dim < rank; ++dim)
      exprs.push_back(b.getAffineDimExpr(dim));
    maps.push_back(AffineMap::get(rank, 0, exprs, b.getContext()));
  }
  maps.push_back(b.getMultiDimIdentityMap(rank));
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(), b.getF32Type(),
                                       dynamicSizes(b, loc, like));
  SmallVector<IteratorType> iters(rank, IteratorType::parallel);
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{type}, inputs, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args));
      });
  return op.getResult(0);
}

Value widen(OpBuilder &b, Location loc, Value v) {
  if (v.getType() == b.getF32Type())
    return v;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
}

/// Loop over the elements `lane, lane + 32, ...` of a row of `len`.
void laneForEach(DeviceBuilder &d, Value lane, int64_t len,
                 function_ref<void(DeviceBuilder &, Value)> fn) {
  int64_t steps = llvm::divideCeil(len, kWarpSize);
  scf::ForOp::create(d.b, d.loc, d.index(0), d.index(steps), d.index(1),
                     ValueRange{},
                     [&](OpBuilder &lb, Location ll, Value s, ValueRange) {
                       DeviceBuilder e{lb, ll};
                       Value j = e.add(lane, e.mul(s, e.index(kWarpSize)));
                       if (len % kWarpSize == 0)
                         fn(e, j);
                       else
                         e.ifThen(e.lt(j, e.index(len)), [&] { fn(e, j); });
                       scf::YieldOp::create(lb, ll);
                     });
}

/// Per-lane partial sum of term(j) over the lane's elements of a row of
/// `len`; lanes past the end add zero (and read a valid element).
Value laneSum(DeviceBuilder &d, Value lane, int64_t len,
              function_ref<Value(DeviceBuilder &, Value)> term) {
  int64_t steps = llvm::divideCeil(len, kWarpSize);
  auto loop = scf::ForOp::create(
      d.b, d.loc, d.index(0), d.index(steps), d.index(1),
      ValueRange{d.f32(0.0)},
      [&](OpBuilder &lb, Location ll, Value s, ValueRange acc) {
        DeviceBuilder e{lb, ll};
        Value j = e.add(lane, e.mul(s, e.index(kWarpSize)));
        Value v;
        if (len % kWarpSize == 0) {
          v = term(e, j);
        } else {
          Value valid = e.lt(j, e.index(len));
          v = e.select(valid, term(e, e.min(j, e.index(len - 1))), e.f32(0.0));
        }
        scf::YieldOp::create(lb, ll, e.add(acc[0], v));
      });
  return loop.getResult(0);
}

/// Launches one warp per row, kWarps rows per block: `body` gets the row
/// (clamped into range so every lane can load), whether it is a real row
/// (stores must check it) and the lane. All 32 lanes of a warp run the body,
/// so it may use warp reductions.
void launchWarpRows(
    OpBuilder &b, Location loc, StringRef name, Value rows,
    function_ref<void(DeviceBuilder &, Value row, Value valid, Value lane)>
        body) {
  DeviceBuilder host{b, loc};
  Value one = host.index(1);
  launch(b, loc, name, {host.ceilDiv(rows, kWarps), one, one}, kWarpSize,
         kWarps, {}, [&](DeviceBuilder &d, const LaunchIds &ids) {
           Value row = d.add(d.mul(ids.blockX, d.index(kWarps)), ids.threadY);
           Value valid = d.lt(row, rows);
           Value last = d.sub(rows, d.index(1));
           body(d, d.min(row, last), valid, ids.threadX);
         });
}

//===----------------------------------------------------------------------===//
// Projections
//===----------------------------------------------------------------------===//

/// Tiling of the projection kernels (pass options).
struct MatmulTiling {
  int64_t rows;   ///< outputs per warp, large-batch variant
  int64_t tokens; ///< tokens per warp, large-batch variant
};

/// y = x · Wᵀ for x [B, T, *] (columns xOffset .. xOffset + K) and W [M, K]
/// (or block `wLead` of a stack [S, M, K]).
struct MatmulArgs {
  Value x;
  int64_t xOffset = 0;
  Value w;
  int64_t wLead = -1;
  int64_t m = 0, k = 0;
  Value batch, tokens;
};

using Epilogue =
    function_ref<void(DeviceBuilder &, Value acc, Value b, Value t, Value o)>;

/// Emits the projection kernel: a warp computes `rows` outputs for `toks`
/// tokens. Lane l reads W[o, l + 32s] and x[tok, l + 32s] (coalesced along K),
/// keeps rows × toks partial dot products in registers and reduces them with
/// xor shuffles at the end; one lane per result applies the epilogue. Tokens
/// run along grid x (up to 2^31 - 1 blocks), outputs along grid y. Two
/// variants are generated and selected on the host by the number of tokens
/// B·T: one output and one token per warp (decode: W is streamed once at
/// full parallelism) and `tiling.rows` × `tiling.tokens` (prefill and large
/// batches: every loaded W and x element feeds several FMAs).
void emitMatmul(OpBuilder &b, Location loc, KernelNamer &namer, StringRef what,
                const MatmulArgs &a, const MatmulTiling &tiling,
                Epilogue epilogue) {
  DeviceBuilder host{b, loc};
  Value total = host.mul(a.batch, a.tokens);
  std::string smallName = namer(what),
              largeName = namer((what + "_tiled").str());

  auto emitVariant = [&](OpBuilder &vb, StringRef name, int64_t rows,
                         int64_t toks) {
    // Keep the output blocks within the grid's y limit.
    while (llvm::divideCeil(a.m, rows * kWarps) > kMaxGridY)
      rows *= 2;
    int64_t rowsPerBlock = rows * kWarps;
    bool padRows = a.m % rowsPerBlock != 0;
    DeviceBuilder h{vb, loc};
    std::array<Value, 3> grid{h.ceilDiv(total, toks),
                              h.index(llvm::divideCeil(a.m, rowsPerBlock)),
                              h.index(1)};
    launch(vb, loc, name, grid, kWarpSize, kWarps, {},
           [&](DeviceBuilder &d, const LaunchIds &ids) {
             Value lane = ids.threadX;
             Value oBase =
                 d.mul(d.add(d.mul(ids.blockY, d.index(kWarps)), ids.threadY),
                       d.index(rows));
             Value tBase = d.mul(ids.blockX, d.index(toks));
             Value lastTok = d.sub(total, d.index(1));
             SmallVector<Value> outs, outLoads, tokIdx, bIdx, tIdx;
             for (int64_t r = 0; r < rows; ++r) {
               Value o = d.add(oBase, d.index(r));
               outs.push_back(o);
               outLoads.push_back(padRows ? d.min(o, d.index(a.m - 1)) : o);
             }
             for (int64_t q = 0; q < toks; ++q) {
               Value tok = d.add(tBase, d.index(q));
               Value clamped = d.min(tok, lastTok);
               tokIdx.push_back(tok);
               bIdx.push_back(d.div(clamped, a.tokens));
               tIdx.push_back(d.rem(clamped, a.tokens));
             }
             SmallVector<Value> init(rows * toks, d.f32(0.0));
             int64_t steps = llvm::divideCeil(a.k, kWarpSize);
             auto loop = scf::ForOp::create(
                 d.b, d.loc, d.index(0), d.index(steps), d.index(1), init,
                 [&](OpBuilder &lb, Location ll, Value s, ValueRange acc) {
                   DeviceBuilder e{lb, ll};
                   Value k = e.add(lane, e.mul(s, e.index(kWarpSize)));
                   Value valid;
                   if (a.k % kWarpSize != 0) {
                     valid = e.lt(k, e.index(a.k));
                     k = e.min(k, e.index(a.k - 1));
                   }
                   SmallVector<Value> wv, xv, next;
                   for (int64_t r = 0; r < rows; ++r) {
                     SmallVector<Value> idx;
                     if (a.wLead >= 0)
                       idx.push_back(e.index(a.wLead));
                     idx.append({outLoads[r], k});
                     Value w = e.load(a.w, idx);
                     if (valid)
                       w = e.select(valid, w, e.f32(0.0));
                     wv.push_back(w);
                   }
                   Value xk = a.xOffset ? e.add(k, e.index(a.xOffset)) : k;
                   for (int64_t q = 0; q < toks; ++q)
                     xv.push_back(e.load(a.x, {bIdx[q], tIdx[q], xk}));
                   for (int64_t r = 0; r < rows; ++r)
                     for (int64_t q = 0; q < toks; ++q)
                       next.push_back(e.fma(wv[r], xv[q], acc[r * toks + q]));
                   scf::YieldOp::create(lb, ll, next);
                 });
             SmallVector<Value> sums;
             for (Value acc : loop.getResults())
               sums.push_back(d.warpSum(acc));
             for (int64_t r = 0; r < rows; ++r)
               for (int64_t q = 0; q < toks; ++q) {
                 int64_t i = r * toks + q;
                 Value store = d.eq(lane, d.index(i % kWarpSize));
                 store = d.andI(store, d.lt(tokIdx[q], total));
                 if (padRows)
                   store = d.andI(store, d.lt(outs[r], d.index(a.m)));
                 d.ifThen(store, [&] {
                   epilogue(d, sums[i], bIdx[q], tIdx[q], outs[r]);
                 });
               }
           });
  };

  // Few tokens: one output per warp; else the register-blocked variant.
  Value few = host.lt(total, host.index(tiling.tokens));
  auto branch = scf::IfOp::create(b, loc, few, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(branch.thenBlock()->getTerminator());
    emitVariant(b, smallName, 1, 1);
    b.setInsertionPoint(branch.elseBlock()->getTerminator());
    emitVariant(b, largeName, tiling.rows, tiling.tokens);
  }
}

/// Writes acc to y[b, t, o].
auto storeTo(Value y) {
  return [y](DeviceBuilder &d, Value acc, Value b, Value t, Value o) {
    d.store(acc, y, {b, t, o});
  };
}

MatmulArgs matmulArgs(OpBuilder &b, Location loc, Value xTensor, Value xBuf,
                      Value wBuf) {
  auto wType = cast<MemRefType>(wBuf.getType());
  MatmulArgs a;
  a.x = xBuf;
  a.w = wBuf;
  a.m = wType.getDimSize(wType.getRank() - 2);
  a.k = wType.getDimSize(wType.getRank() - 1);
  a.batch = dimOf(b, loc, xTensor, 0);
  a.tokens = dimOf(b, loc, xTensor, 1);
  return a;
}

/// [B, T, M] f32 buffer for tokens shaped like `x`.
Value allocTokens(OpBuilder &b, Location loc, Value x, int64_t m) {
  auto xType = cast<RankedTensorType>(x.getType());
  auto type = RankedTensorType::get(
      {xType.getDimSize(0), xType.getDimSize(1), m}, b.getF32Type());
  SmallVector<Value> dyn;
  for (int64_t dim = 0; dim < 2; ++dim)
    if (xType.isDynamicDim(dim))
      dyn.push_back(tensor::DimOp::create(b, loc, x, dim));
  return allocResult(b, loc, type, dyn);
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

struct Lowering {
  OpBuilder &b;
  KernelNamer &name;
  MatmulTiling tiling;

  LogicalResult lower(Operation *op);

  LogicalResult lowerEmbedding(EmbeddingOp op);
  LogicalResult lowerTokenShift(TokenShiftOp op);
  LogicalResult lowerLerp(LerpOp op);
  LogicalResult lowerActivation(ActivationOp op);
  LogicalResult lowerBiasAdd(BiasAddOp op);
  LogicalResult lowerDecay(DecayOp op);
  LogicalResult lowerLayerNorm(LayerNormOp op);
  LogicalResult lowerRmsNorm(RmsNormOp op);
  LogicalResult lowerGroupNorm(GroupNormOp op);
  LogicalResult lowerL2Norm(L2NormOp op);
  LogicalResult lowerBonus(Wkv7BonusOp op);
  LogicalResult lowerLinear(LinearOp op);
  LogicalResult lowerLora(LoraOp op);
  LogicalResult lowerChannelMix(ChannelMixOp op);
  LogicalResult lowerDDLerp(DDLerpOp op);
  LogicalResult lowerWkv4(Wkv4Op op);
  LogicalResult lowerWkv5(Wkv5Op op);
  LogicalResult lowerWkv7(Wkv7Op op);

  /// Normalises rows of `len` channels: group `g` of token (b, t) covers
  /// channels g·len .. (g+1)·len - 1 of x [B, T, G·len].
  void normRows(Location loc, StringRef what, Value x, int64_t groups,
                function_ref<void(DeviceBuilder &, Value b, Value t, Value g,
                                  Value valid, Value lane)>
                    body);
};

LogicalResult Lowering::lower(Operation *op) {
  return TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](EmbeddingOp o) { return lowerEmbedding(o); })
      .Case([&](TokenShiftOp o) { return lowerTokenShift(o); })
      .Case([&](LerpOp o) { return lowerLerp(o); })
      .Case([&](ActivationOp o) { return lowerActivation(o); })
      .Case([&](BiasAddOp o) { return lowerBiasAdd(o); })
      .Case([&](DecayOp o) { return lowerDecay(o); })
      .Case([&](LayerNormOp o) { return lowerLayerNorm(o); })
      .Case([&](RmsNormOp o) { return lowerRmsNorm(o); })
      .Case([&](GroupNormOp o) { return lowerGroupNorm(o); })
      .Case([&](L2NormOp o) { return lowerL2Norm(o); })
      .Case([&](Wkv7BonusOp o) { return lowerBonus(o); })
      .Case([&](LinearOp o) { return lowerLinear(o); })
      .Case([&](LoraOp o) { return lowerLora(o); })
      .Case([&](ChannelMixOp o) { return lowerChannelMix(o); })
      .Case([&](DDLerpOp o) { return lowerDDLerp(o); })
      .Case([&](Wkv4Op o) { return lowerWkv4(o); })
      .Case([&](Wkv5Op o) { return lowerWkv5(o); })
      .Case([&](Wkv7Op o) { return lowerWkv7(o); })
      .Default([](Operation *) { return failure(); });
}

/// out[b, t, :] = table[clamp(tokens[b, t], 0, V - 1), :], one thread per
/// element.
LogicalResult Lowering::lowerEmbedding(EmbeddingOp op) {
  Value table = op.getTable();
  if (!staticShape(table))
    return failure();
  Location loc = op.getLoc();
  int64_t vocab = cast<ShapedType>(table.getType()).getDimSize(0);
  int64_t width = lastDim(table);
  DeviceBuilder h{b, loc};
  Value batch = dimOf(b, loc, op.getTokens(), 0),
        tokens = dimOf(b, loc, op.getTokens(), 1);
  Value ids = readBuffer(b, loc, op.getTokens()),
        tab = readBuffer(b, loc, table);
  auto type = cast<RankedTensorType>(op.getType());
  Value out = allocResult(b, loc, type, dynamicSizes(b, loc, op.getTokens()));
  Value total = h.mul(h.mul(batch, tokens), h.index(width));
  launchElements(
      b, loc, name("embedding"), total, [&](DeviceBuilder &d, Value linear) {
        SmallVector<Value> c =
            delinearize(d, linear, {batch, tokens, d.index(width)});
        Value id =
            memref::LoadOp::create(d.b, d.loc, ids, ValueRange{c[0], c[1]});
        Value idx =
            arith::IndexCastOp::create(d.b, d.loc, d.b.getIndexType(), id);
        idx = arith::MaxSIOp::create(d.b, d.loc, idx, d.index(0));
        idx = arith::MinSIOp::create(d.b, d.loc, idx, d.index(vocab - 1));
        d.store(d.load(tab, {idx, c[2]}), out, c);
      });
  op.getResult().replaceAllUsesWith(resultTensor(b, loc, out));
  return success();
}

/// shifted[b, t] = t == 0 ? prev[b] : x[b, t - 1]; last[b] = x[b, T - 1]; one
/// thread per element of x.
LogicalResult Lowering::lowerTokenShift(TokenShiftOp op) {
  if (!staticLastDim(op.getInput()))
    return failure();
  Location loc = op.getLoc();
  DeviceBuilder h{b, loc};
  int64_t width = lastDim(op.getInput());
  Value batch = dimOf(b, loc, op.getInput(), 0),
        tokens = dimOf(b, loc, op.getInput(), 1);
  Value x = readBuffer(b, loc, op.getInput()),
        prev = readBuffer(b, loc, op.getPrev());
  Value shifted =
      allocResult(b, loc, cast<RankedTensorType>(op.getShifted().getType()),
                  dynamicSizes(b, loc, op.getInput()));
  Value last =
      allocResult(b, loc, cast<RankedTensorType>(op.getLast().getType()),
                  dynamicSizes(b, loc, op.getPrev()));
  Value total = h.mul(h.mul(batch, tokens), h.index(width));
  launchElements(
      b, loc, name("token_shift"), total, [&](DeviceBuilder &d, Value linear) {
        SmallVector<Value> c =
            delinearize(d, linear, {batch, tokens, d.index(width)});
        Value first = d.eq(c[1], d.index(0));
        auto pick = scf::IfOp::create(d.b, d.loc, d.b.getF32Type(), first,
                                      /*withElseRegion=*/true);
        {
          OpBuilder::InsertionGuard guard(d.b);
          d.b.setInsertionPointToStart(pick.thenBlock());
          scf::YieldOp::create(d.b, d.loc, d.load(prev, {c[0], c[2]}));
          d.b.setInsertionPointToStart(pick.elseBlock());
          Value before = d.sub(c[1], d.index(1));
          scf::YieldOp::create(d.b, d.loc, d.load(x, {c[0], before, c[2]}));
        }
        d.store(pick.getResult(0), shifted, c);
        d.ifThen(d.eq(c[1], d.sub(tokens, d.index(1))), [&] {
          d.store(d.load(x, c), last, {c[0], c[2]});
        });
      });
  op.getShifted().replaceAllUsesWith(resultTensor(b, loc, shifted));
  op.getLast().replaceAllUsesWith(resultTensor(b, loc, last));
  return success();
}

/// start + (end - start) * weight, as a fusable linalg.generic.
LogicalResult Lowering::lowerLerp(LerpOp op) {
  Value y = elementwise(b, op.getLoc(), op.getStart(),
                        ValueRange{op.getStart(), op.getEnd(), op.getWeight()},
                        [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          Value diff = arith::SubFOp::create(nb, l, a[1], a[0]);
                          return math::FmaOp::create(nb, l, diff,
                                                     widen(nb, l, a[2]), a[0]);
                        });
  op.getResult().replaceAllUsesWith(y);
  return success();
}

/// Leftovers of chains the fusion passes did not fuse (and the head and
/// residual biases): pointwise kernels.
LogicalResult Lowering::lowerActivation(ActivationOp op) {
  Activation kind = op.getKind();
  Value y = elementwise(b, op.getLoc(), op.getInput(), op.getInput(),
                        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          DeviceBuilder d{nb, l};
                          return activation(d, kind, a[0]);
                        });
  op.getResult().replaceAllUsesWith(y);
  return success();
}

LogicalResult Lowering::lowerBiasAdd(BiasAddOp op) {
  Value y = elementwise(
      b, op.getLoc(), op.getInput(), ValueRange{op.getInput(), op.getBias()},
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return arith::AddFOp::create(nb, l, a[0], widen(nb, l, a[1]));
      });
  op.getResult().replaceAllUsesWith(y);
  return success();
}

LogicalResult Lowering::lowerDecay(DecayOp op) {
  DecayKind kind = op.getKind();
  Value y = elementwise(
      b, op.getLoc(), op.getInput(), op.getInput(),
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        DeviceBuilder d{nb, l};
        if (kind == DecayKind::Sigmoid)
          return d.exp(d.mul(d.f32(-kExpMinusHalf), d.sigmoid(a[0])));
        return d.exp(arith::NegFOp::create(nb, l, d.exp(a[0])));
      });
  op.getResult().replaceAllUsesWith(y);
  return success();
}

void Lowering::normRows(Location loc, StringRef what, Value x, int64_t groups,
                        function_ref<void(DeviceBuilder &, Value b, Value t,
                                          Value g, Value valid, Value lane)>
                            body) {
  DeviceBuilder h{b, loc};
  Value batch = dimOf(b, loc, x, 0), tokens = dimOf(b, loc, x, 1);
  Value rows = h.mul(h.mul(batch, tokens), h.index(groups));
  launchWarpRows(b, loc, name(what), rows,
                 [&](DeviceBuilder &d, Value row, Value valid, Value lane) {
                   Value g = d.rem(row, d.index(groups));
                   Value bt = d.div(row, d.index(groups));
                   body(d, d.div(bt, tokens), d.rem(bt, tokens), g, valid,
                        lane);
                 });
}

/// Shared by layer_norm and group_norm: two-pass mean and centred variance
/// of a row of `len` channels starting at `base`, then
/// (x - mean) / sqrt(var + eps) * weight + bias.
static void normalizeRow(DeviceBuilder &d, Value x, Value w, Value bias,
                         Value y, Value bb, Value t, Value base, Value valid,
                         Value lane, int64_t len, float eps) {
  auto at = [&](DeviceBuilder &e, Value j) { return e.add(base, j); };
  Value sum = d.warpSum(laneSum(d, lane, len, [&](DeviceBuilder &e, Value j) {
    return e.load(x, {bb, t, at(e, j)});
  }));
  Value mean = d.mul(sum, d.f32(1.0 / static_cast<double>(len)));
  Value sq = d.warpSum(laneSum(d, lane, len, [&](DeviceBuilder &e, Value j) {
    Value diff = e.sub(e.load(x, {bb, t, at(e, j)}), mean);
    return e.mul(diff, diff);
  }));
  Value var = d.mul(sq, d.f32(1.0 / static_cast<double>(len)));
  Value denom = math::SqrtOp::create(d.b, d.loc, d.add(var, d.f32(eps)));
  d.ifThen(valid, [&] {
    laneForEach(d, lane, len, [&](DeviceBuilder &e, Value j) {
      Value c = at(e, j);
      Value norm = e.div(e.sub(e.load(x, {bb, t, c}), mean), denom);
      e.store(e.fma(norm, e.load(w, {c}), e.load(bias, {c})), y, {bb, t, c});
    });
  });
}

/// One warp per (b, t) row.
LogicalResult Lowering::lowerLayerNorm(LayerNormOp op) {
  if (!staticLastDim(op.getInput()))
    return failure();
  Location loc = op.getLoc();
  int64_t len = lastDim(op.getInput());
  Value x = readBuffer(b, loc, op.getInput()),
        w = readBuffer(b, loc, op.getWeight()),
        bias = readBuffer(b, loc, op.getBias());
  Value y = allocResult(b, loc, cast<RankedTensorType>(op.getType()),
                        dynamicSizes(b, loc, op.getInput()));
  float eps = op.getEps().convertToFloat();
  normRows(
      loc, "layer_norm", op.getInput(), 1,
      [&](DeviceBuilder &d, Value bb, Value t, Value, Value valid, Value lane) {
        normalizeRow(d, x, w, bias, y, bb, t, d.index(0), valid, lane, len,
                     eps);
      });
  op.getResult().replaceAllUsesWith(resultTensor(b, loc, y));
  return success();
}

/// One warp per (b, t) row: x / sqrt(mean(x²) + eps) * w.
LogicalResult Lowering::lowerRmsNorm(RmsNormOp op) {
  if (!staticLastDim(op.getInput()))
    return failure();
  Location loc = op.getLoc();
  int64_t len = lastDim(op.getInput());
  Value x = readBuffer(b, loc, op.getInput()),
        w = readBuffer(b, loc, op.getWeight());
  Value y = allocResult(b, loc, cast<RankedTensorType>(op.getType()),
                        dynamicSizes(b, loc, op.getInput()));
  float eps = op.getEps().convertToFloat();
  normRows(
      loc, "rms_norm", op.getInput(), 1,
      [&](DeviceBuilder &d, Value bb, Value t, Value, Value valid, Value lane) {
        Value ss =
            d.warpSum(laneSum(d, lane, len, [&](DeviceBuilder &e, Value j) {
              Value v = e.load(x, {bb, t, j});
              return e.mul(v, v);
            }));
        Value meanSq = d.mul(ss, d.f32(1.0 / static_cast<double>(len)));
        Value denom =
            math::SqrtOp::create(d.b, d.loc, d.add(meanSq, d.f32(eps)));
        d.ifThen(valid, [&] {
          laneForEach(d, lane, len, [&](DeviceBuilder &e, Value j) {
            e.store(e.mul(e.div(e.load(x, {bb, t, j}), denom), e.load(w, {j})),
                    y, {bb, t, j});
          });
        });
      });
  op.getResult().replaceAllUsesWith(resultTensor(b, loc, y));
  return success();
}

/// One warp per (b, t, group).
LogicalResult Lowering::lowerGroupNorm(GroupNormOp op) {
  if (!staticLastDim(op.getInput()))
    return failure();
  Location loc = op.getLoc();
  int64_t groups = op.getNumGroups();
  int64_t len = lastDim(op.getInput()) / groups;
  Value x = readBuffer(b, loc, op.getInput()),
        w = readBuffer(b, loc, op.getWeight()),
        bias = readBuffer(b, loc, op.getBias());
  Value y = allocResult(b, loc, cast<RankedTensorType>(op.getType()),
                        dynamicSizes(b, loc, op.getInput()));
  float eps = op.getEps().convertToFloat();
  normRows(loc, "group_norm", op.getInput(), groups,
           [&](DeviceBuilder &d, Value bb, Value t, Value g, Value valid,
               Value lane) {
             normalizeRow(d, x, w, bias, y, bb, t, d.mul(g, d.index(len)),
                          valid, lane, len, eps);
           });
  op.getResult().replaceAllUsesWith(resultTensor(b, loc, y));
  return success();
}

/// One warp per (b, t, head): x / max(||x||, eps).
LogicalResult Lowering::lowerL2Norm(L2NormOp op) {
  if (!staticLastDim(op.getInput()))
    return failure();
  Location loc = op.getLoc();
  int64_t len = op.getHeadSize();
  int64_t heads = lastDim(op.getInput()) / len;
  Value x = readBuffer(b, loc, op.getInput());
  Value y = allocResult(b, loc, cast<RankedTensorType>(op.getType()),
                        dynamicSizes(b, loc, op.getInput()));
  float eps = op.getEps().convertToFloat();
  normRows(loc, "l2_norm", op.getInput(), heads,
           [&](DeviceBuilder &d, Value bb, Value t, Value g, Value valid,
               Value lane) {
             Value base = d.mul(g, d.index(len));
             Value ss = d.warpSum(
                 laneSum(d, lane, len, [&](DeviceBuilder &e, Value j) {
                   Value v = e.load(x, {bb, t, e.add(base, j)});
                   return e.mul(v, v);
                 }));
             Value norm = math::SqrtOp::create(d.b, d.loc, ss);
             Value denom = d.maxF(norm, d.f32(eps));
             d.ifThen(valid, [&] {
               laneForEach(d, lane, len, [&](DeviceBuilder &e, Value j) {
                 Value c = e.add(base, j);
                 e.store(e.div(e.load(x, {bb, t, c}), denom), y, {bb, t, c});
               });
             });
           });
  op.getResult().replaceAllUsesWith(resultTensor(b, loc, y));
  return success();
}

/// One warp per (b, t, head): (Σ_j r·r_k·k) · v.
LogicalResult Lowering::lowerBonus(Wkv7BonusOp op) {
  if (!staticLastDim(op.getR()) || !staticShape(op.getRK()))
    return failure();
  Location loc = op.getLoc();
  auto rkType = cast<ShapedType>(op.getRK().getType());
  int64_t heads = rkType.getDimSize(0), len = rkType.getDimSize(1);
  Value r = readBuffer(b, loc, op.getR()), k = readBuffer(b, loc, op.getK()),
        v = readBuffer(b, loc, op.getV()), rk = readBuffer(b, loc, op.getRK());
  Value y = allocResult(b, loc, cast<RankedTensorType>(op.getType()),
                        dynamicSizes(b, loc, op.getR()));
  normRows(loc, "wkv7_bonus", op.getR(), heads,
           [&](DeviceBuilder &d, Value bb, Value t, Value g, Value valid,
               Value lane) {
             Value base = d.mul(g, d.index(len));
             Value dot = d.warpSum(
                 laneSum(d, lane, len, [&](DeviceBuilder &e, Value j) {
                   Value c = e.add(base, j);
                   Value rkv = e.mul(e.load(r, {bb, t, c}), e.load(rk, {g, j}));
                   return e.mul(rkv, e.load(k, {bb, t, c}));
                 }));
             d.ifThen(valid, [&] {
               laneForEach(d, lane, len, [&](DeviceBuilder &e, Value j) {
                 Value c = e.add(base, j);
                 e.store(e.mul(dot, e.load(v, {bb, t, c})), y, {bb, t, c});
               });
             });
           });
  op.getResult().replaceAllUsesWith(resultTensor(b, loc, y));
  return success();
}

LogicalResult Lowering::lowerLinear(LinearOp op) {
  if (isQ8Weight(op.getWeight().getType()))
    return op.emitOpError() << "has Q8_0 weights, which have CPU kernels only";
  if (!staticShape(op.getWeight()))
    return failure();
  Location loc = op.getLoc();
  Value x = readBuffer(b, loc, op.getInput()),
        w = readBuffer(b, loc, op.getWeight());
  MatmulArgs a = matmulArgs(b, loc, op.getInput(), x, w);
  Value y = allocTokens(b, loc, op.getInput(), a.m);
  emitMatmul(b, loc, name, "linear", a, tiling, storeTo(y));
  op.getResult().replaceAllUsesWith(resultTensor(b, loc, y));
  return success();
}

/// act_out(act(x · downᵀ) · upᵀ + bias): two projections, the activations
/// and the bias applied in their epilogues.
LogicalResult Lowering::lowerLora(LoraOp op) {
  if (!staticShape(op.getDown()) || !staticShape(op.getUp()))
    return failure();
  Location loc = op.getLoc();
  Value x = readBuffer(b, loc, op.getInput()),
        down = readBuffer(b, loc, op.getDown()),
        up = readBuffer(b, loc, op.getUp());
  Value bias = op.getBias() ? readBuffer(b, loc, op.getBias()) : Value();
  Activation inner = op.getActivation(), outer = op.getOutputActivation();
  MatmulArgs first = matmulArgs(b, loc, op.getInput(), x, down);
  Value hidden = allocTokens(b, loc, op.getInput(), first.m);
  emitMatmul(b, loc, name, "lora_down", first, tiling,
             [&](DeviceBuilder &d, Value acc, Value bb, Value t, Value o) {
               d.store(activation(d, inner, acc), hidden, {bb, t, o});
             });
  MatmulArgs second = first;
  second.x = hidden;
  auto upType = cast<MemRefType>(up.getType());
  second.w = up;
  second.m = upType.getDimSize(0);
  second.k = upType.getDimSize(1);
  Value y = allocTokens(b, loc, op.getInput(), second.m);
  emitMatmul(b, loc, name, "lora_up", second, tiling,
             [&](DeviceBuilder &d, Value acc, Value bb, Value t, Value o) {
               Value v = bias ? d.add(acc, d.load(bias, {o})) : acc;
               d.store(activation(d, outer, v), y, {bb, t, o});
             });
  op.getResult().replaceAllUsesWith(resultTensor(b, loc, y));
  return success();
}

/// relu(xk · keyᵀ)² · valueᵀ, optionally gated by σ(xr · receptanceᵀ): the
/// gate and the squared ReLU are epilogues; the hidden [B, T, F] activation
/// is a temporary buffer.
LogicalResult Lowering::lowerChannelMix(ChannelMixOp op) {
  if (isQ8Weight(op.getKey().getType()) ||
      isQ8Weight(op.getValue().getType()) ||
      (op.getReceptance() && isQ8Weight(op.getReceptance().getType())))
    return op.emitOpError() << "has Q8_0 weights, which have CPU kernels only";
  if (!staticShape(op.getKey()) || !staticShape(op.getValue()) ||
      (op.getReceptance() && !staticShape(op.getReceptance())))
    return failure();
  Location loc = op.getLoc();
  Value xk = readBuffer(b, loc, op.getInput()),
        key = readBuffer(b, loc, op.getKey()),
        value = readBuffer(b, loc, op.getValue());
  Value gate;
  if (op.getReceptance()) {
    Value xr = readBuffer(b, loc, op.getReceptanceInput()),
          wr = readBuffer(b, loc, op.getReceptance());
    MatmulArgs ra = matmulArgs(b, loc, op.getReceptanceInput(), xr, wr);
    gate = allocTokens(b, loc, op.getInput(), ra.m);
    emitMatmul(b, loc, name, "channel_mix_receptance", ra, tiling,
               [&](DeviceBuilder &d, Value acc, Value bb, Value t, Value o) {
                 d.store(d.sigmoid(acc), gate, {bb, t, o});
               });
  }
  MatmulArgs ka = matmulArgs(b, loc, op.getInput(), xk, key);
  Value hidden = allocTokens(b, loc, op.getInput(), ka.m);
  emitMatmul(
      b, loc, name, "channel_mix_key", ka, tiling,
      [&](DeviceBuilder &d, Value acc, Value bb, Value t, Value o) {
        d.store(activation(d, Activation::ReluSquare, acc), hidden, {bb, t, o});
      });
  MatmulArgs va = ka;
  auto vType = cast<MemRefType>(value.getType());
  va.x = hidden;
  va.w = value;
  va.m = vType.getDimSize(0);
  va.k = vType.getDimSize(1);
  Value y = allocTokens(b, loc, op.getInput(), va.m);
  emitMatmul(b, loc, name, "channel_mix_value", va, tiling,
             [&](DeviceBuilder &d, Value acc, Value bb, Value t, Value o) {
               Value v = gate ? d.mul(acc, d.load(gate, {bb, t, o})) : acc;
               d.store(v, y, {bb, t, o});
             });
  op.getResult().replaceAllUsesWith(resultTensor(b, loc, y));
  return success();
}

/// RWKV-6 ddlerp: ξ = x + δ·μ_x (a generic), z = tanh(ξ · downᵀ), then one
/// projection per mixed input whose epilogue forms x + δ·(μ_i + m_i).
LogicalResult Lowering::lowerDDLerp(DDLerpOp op) {
  if (!staticShape(op.getDown()) || !staticShape(op.getUp()) ||
      !staticLastDim(op.getInput()))
    return failure();
  Location loc = op.getLoc();
  Value input = op.getInput(), prevT = op.getPrev();
  Value xi = elementwise(
      b, loc, input, ValueRange{input, prevT, op.getMuX()},
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value diff = arith::SubFOp::create(nb, l, a[1], a[0]);
        return math::FmaOp::create(nb, l, diff, widen(nb, l, a[2]), a[0]);
      });
  Value xiBuf = readBuffer(b, loc, xi), down = readBuffer(b, loc, op.getDown()),
        up = readBuffer(b, loc, op.getUp()), x = readBuffer(b, loc, input),
        prev = readBuffer(b, loc, prevT);
  MatmulArgs da = matmulArgs(b, loc, input, xiBuf, down);
  Value z = allocTokens(b, loc, input, da.m);
  emitMatmul(b, loc, name, "ddlerp_down", da, tiling,
             [&](DeviceBuilder &d, Value acc, Value bb, Value t, Value o) {
               d.store(activation(d, Activation::Tanh, acc), z, {bb, t, o});
             });
  auto upType = cast<MemRefType>(up.getType());
  int64_t channels = upType.getDimSize(1), rank = upType.getDimSize(2);
  for (auto [i, muT] : llvm::enumerate(op.getMu())) {
    Value mu = readBuffer(b, loc, muT);
    MatmulArgs ua = da;
    ua.x = z;
    ua.xOffset = static_cast<int64_t>(i) * rank;
    ua.w = up;
    ua.wLead = static_cast<int64_t>(i);
    ua.m = channels;
    ua.k = rank;
    Value y = allocTokens(b, loc, input, channels);
    emitMatmul(b, loc, name, "ddlerp_up", ua, tiling,
               [&](DeviceBuilder &d, Value acc, Value bb, Value t, Value o) {
                 Value xv = d.load(x, {bb, t, o});
                 Value delta = d.sub(d.load(prev, {bb, t, o}), xv);
                 Value m = d.add(d.load(mu, {o}), acc);
                 d.store(d.fma(delta, m, xv), y, {bb, t, o});
               });
    op.getResult(i).replaceAllUsesWith(resultTensor(b, loc, y));
  }
  return success();
}

/// RWKV-4: one thread per (b, channel) keeps (a, b, p) in registers and
/// scans the tokens; channels are independent (rwkv-math §2.2).
LogicalResult Lowering::lowerWkv4(Wkv4Op op) {
  if (!staticLastDim(op.getK()))
    return failure();
  Location loc = op.getLoc();
  int64_t channels = lastDim(op.getK());
  int64_t block = channels % 128 == 0 ? 128 : channels % 64 == 0 ? 64 : 32;
  DeviceBuilder h{b, loc};
  Value batch = dimOf(b, loc, op.getK(), 0),
        tokens = dimOf(b, loc, op.getK(), 1);
  Value k = readBuffer(b, loc, op.getK()), v = readBuffer(b, loc, op.getV()),
        w = readBuffer(b, loc, op.getW()), u = readBuffer(b, loc, op.getU()),
        sa = readBuffer(b, loc, op.getA()), sb = readBuffer(b, loc, op.getB()),
        sp = readBuffer(b, loc, op.getP());
  Value y = allocResult(b, loc, cast<RankedTensorType>(op.getY().getType()),
                        dynamicSizes(b, loc, op.getK()));
  SmallVector<Value> next;
  for (Value s : {op.getNewA(), op.getNewB(), op.getNewP()})
    next.push_back(allocResult(b, loc, cast<RankedTensorType>(s.getType()),
                               dynamicSizes(b, loc, op.getA())));
  Value one = h.index(1);
  launch(b, loc, name("wkv4"),
         {h.index(llvm::divideCeil(channels, block)), batch, one}, block, 1, {},
         [&](DeviceBuilder &d, const LaunchIds &ids) {
           Value c = d.add(d.mul(ids.blockX, d.index(block)), ids.threadX);
           Value bb = ids.blockY;
           d.ifThen(d.lt(c, d.index(channels)), [&] {
             Value wc = d.load(w, {c}), uc = d.load(u, {c});
             SmallVector<Value> init{d.load(sa, {bb, c}), d.load(sb, {bb, c}),
                                     d.load(sp, {bb, c})};
             auto loop = scf::ForOp::create(
                 d.b, d.loc, d.index(0), tokens, d.index(1), init,
                 [&](OpBuilder &lb, Location ll, Value t, ValueRange s) {
                   DeviceBuilder e{lb, ll};
                   Value a = s[0], bs = s[1], p = s[2];
                   Value kt = e.load(k, {bb, t, c}), vt = e.load(v, {bb, t, c});
                   Value ww = e.add(uc, kt);
                   Value q = e.maxF(p, ww);
                   Value e1 = e.exp(e.sub(p, q)), e2 = e.exp(e.sub(ww, q));
                   Value num = e.fma(e1, a, e.mul(e2, vt));
                   Value den = e.fma(e1, bs, e2);
                   if (op.getEps()) // RWKV-2/3: + eps·exp(−q).
                     den = e.fma(e.f32(op.getEps()->convertToFloat()),
                                 e.exp(e.sub(e.f32(0.0), q)), den);
                   e.store(e.div(num, den), y, {bb, t, c});
                   Value pw = e.add(p, wc);
                   Value q2 = e.maxF(pw, kt);
                   Value f1 = e.exp(e.sub(pw, q2)), f2 = e.exp(e.sub(kt, q2));
                   Value na = e.fma(f1, a, e.mul(f2, vt));
                   Value nb = e.fma(f1, bs, f2);
                   scf::YieldOp::create(lb, ll, ValueRange{na, nb, q2});
                 });
             for (int i = 0; i < 3; ++i)
               d.store(loop.getResult(i), next[i], {bb, c});
           });
         });
  op.getY().replaceAllUsesWith(resultTensor(b, loc, y));
  op.getNewA().replaceAllUsesWith(resultTensor(b, loc, next[0]));
  op.getNewB().replaceAllUsesWith(resultTensor(b, loc, next[1]));
  op.getNewP().replaceAllUsesWith(resultTensor(b, loc, next[2]));
  return success();
}

/// Sum of n products (terms(j) for j < n) with four independent partial
/// sums, so the dependency chain is a quarter as long.
Value dot4(DeviceBuilder &d, int64_t n,
           function_ref<std::pair<Value, Value>(int64_t)> terms) {
  SmallVector<Value> acc(4, d.f32(0.0));
  for (int64_t j = 0; j < n; ++j) {
    auto [x, y] = terms(j);
    acc[j % 4] = d.fma(x, y, acc[j % 4]);
  }
  return d.add(d.add(acc[0], acc[1]), d.add(acc[2], acc[3]));
}

/// The scan shared by wkv5 and wkv7, in the design of the official kernels
/// (rwkv-math §6.1): one block per (batch, head), one thread per value row i
/// of the head's state. Thread i holds S[i][0..N) in registers for the whole
/// call and walks the tokens. Per token, the `vectors` per-channel inputs of
/// the head (r, w, k, ...) are staged in shared memory: thread i loads
/// element i (coalesced), then every thread reads all N. Two staging slots
/// alternate by token parity, so one barrier per token suffices, and the
/// next token's elements are loaded into registers before the current one
/// is computed. `step` gets the staged vectors and v_i, returns y_i and the
/// new row.
struct ScanIO {
  DeviceBuilder &d;
  Value slotBuf; ///< shared [2, vectors, N]
  Value slot;
  int64_t n;
  /// Element j of staged vector q.
  Value at(int64_t q, int64_t j) {
    return d.load(slotBuf, {slot, d.index(q), d.index(j)});
  }
};

void emitHeadScan(
    OpBuilder &b, Location loc, StringRef name, Value batch, Value tokens,
    int64_t heads, int64_t n, ArrayRef<Value> vectors, Value v, Value state,
    Value y, Value newState, ArrayRef<MemRefType> extraShared,
    function_ref<void(DeviceBuilder &, ArrayRef<Value> shared, Value base,
                      Value i)>
        prologue,
    function_ref<std::pair<Value, SmallVector<Value>>(
        ScanIO &, ArrayRef<Value> shared, ArrayRef<Value> row, Value vi)>
        step) {
  MLIRContext *ctx = b.getContext();
  DeviceBuilder h{b, loc};
  int64_t nv = static_cast<int64_t>(vectors.size());
  SmallVector<MemRefType> shared{sharedMemRefType(ctx, {2, nv, n})};
  shared.append(extraShared.begin(), extraShared.end());
  launch(b, loc, name, {h.index(heads), batch, h.index(1)}, n, 1, shared,
         [&](DeviceBuilder &d, const LaunchIds &ids) {
           Value i = ids.threadX, head = ids.blockX, bb = ids.blockY;
           Value base = d.mul(head, d.index(n));
           Value ci = d.add(base, i);
           Value stage = ids.shared[0];
           ArrayRef<Value> extra = ArrayRef<Value>(ids.shared).drop_front();
           if (prologue)
             prologue(d, extra, base, i);
           SmallVector<Value> init;
           for (int64_t j = 0; j < n; ++j)
             init.push_back(d.load(state, {bb, head, i, d.index(j)}));
           Value t0 = d.index(0);
           for (Value vec : vectors)
             init.push_back(d.load(vec, {bb, t0, ci}));
           auto loop = scf::ForOp::create(
               d.b, d.loc, d.index(0), tokens, d.index(1), init,
               [&](OpBuilder &lb, Location ll, Value t, ValueRange carried) {
                 DeviceBuilder e{lb, ll};
                 SmallVector<Value> row(carried.take_front(n));
                 ValueRange pre = carried.drop_front(n);
                 Value slot = e.rem(t, e.index(2));
                 for (int64_t q = 0; q < nv; ++q)
                   e.store(pre[q], stage, {slot, e.index(q), i});
                 gpu::BarrierOp::create(lb, ll);
                 // Prefetch the next token's elements (the last token reloads
                 // itself; the values are not used).
                 Value tn =
                     e.min(e.add(t, e.index(1)), e.sub(tokens, e.index(1)));
                 SmallVector<Value> nextPre;
                 for (Value vec : vectors)
                   nextPre.push_back(e.load(vec, {bb, tn, ci}));
                 Value vi = e.load(v, {bb, t, ci});
                 ScanIO io{e, stage, slot, n};
                 auto [yi, newRow] = step(io, extra, row, vi);
                 e.store(yi, y, {bb, t, ci});
                 SmallVector<Value> yielded(newRow);
                 yielded.append(nextPre);
                 scf::YieldOp::create(lb, ll, yielded);
               });
           for (int64_t j = 0; j < n; ++j)
             d.store(loop.getResult(j), newState, {bb, head, i, d.index(j)});
         });
}

/// RWKV-7 (rwkv-math §5.4, kernel form), staged vectors r, w, k, a, b:
///   sa = Σ_j a_j S_j;  S_j ← S_j w_j + sa b_j + v_i k_j;  y_i = Σ_j S_j r_j.
LogicalResult Lowering::lowerWkv7(Wkv7Op op) {
  auto stateType = cast<RankedTensorType>(op.getState().getType());
  if (!staticLastDim(op.getR()) ||
      ShapedType::isDynamic(stateType.getDimSize(1)) ||
      ShapedType::isDynamic(stateType.getDimSize(2)))
    return failure();
  Location loc = op.getLoc();
  int64_t heads = stateType.getDimSize(1), n = stateType.getDimSize(2);
  SmallVector<Value> vectors;
  for (Value t : {op.getR(), op.getW(), op.getK(), op.getA(), op.getB()})
    vectors.push_back(readBuffer(b, loc, t));
  Value v = readBuffer(b, loc, op.getV()),
        state = readBuffer(b, loc, op.getState());
  Value y = allocResult(b, loc, cast<RankedTensorType>(op.getY().getType()),
                        dynamicSizes(b, loc, op.getR()));
  Value newState =
      allocResult(b, loc, cast<RankedTensorType>(op.getNewState().getType()),
                  dynamicSizes(b, loc, op.getState()));
  enum { R, W, K, A, B };
  emitHeadScan(b, loc, name("wkv7"), dimOf(b, loc, op.getR(), 0),
               dimOf(b, loc, op.getR(), 1), heads, n, vectors, v, state, y,
               newState, {}, nullptr,
               [&](ScanIO &io, ArrayRef<Value>, ArrayRef<Value> row, Value vi) {
                 DeviceBuilder &e = io.d;
                 Value sa = dot4(e, n, [&](int64_t j) {
                   return std::make_pair(io.at(A, j), row[j]);
                 });
                 SmallVector<Value> next;
                 for (int64_t j = 0; j < n; ++j) {
                   Value upd = e.fma(sa, io.at(B, j), e.mul(vi, io.at(K, j)));
                   next.push_back(e.fma(row[j], io.at(W, j), upd));
                 }
                 Value yi = dot4(e, n, [&](int64_t j) {
                   return std::make_pair(next[j], io.at(R, j));
                 });
                 return std::make_pair(yi, next);
               });
  op.getY().replaceAllUsesWith(resultTensor(b, loc, y));
  op.getNewState().replaceAllUsesWith(resultTensor(b, loc, newState));
  return success();
}

/// RWKV-5/6 (rwkv-math §3.1, §4.2), staged vectors r, k, w and the bonus u
/// (shared, loaded once):
///   y_i = Σ_j r_j S_j + v_i Σ_j r_j u_j k_j;  S_j ← w_j S_j + k_j v_i.
LogicalResult Lowering::lowerWkv5(Wkv5Op op) {
  auto stateType = cast<RankedTensorType>(op.getState().getType());
  if (!staticLastDim(op.getR()) ||
      ShapedType::isDynamic(stateType.getDimSize(1)) ||
      ShapedType::isDynamic(stateType.getDimSize(2)))
    return failure();
  Location loc = op.getLoc();
  int64_t heads = stateType.getDimSize(1), n = stateType.getDimSize(2);
  SmallVector<Value> vectors;
  for (Value t : {op.getR(), op.getK(), op.getW()})
    vectors.push_back(readBuffer(b, loc, t));
  Value v = readBuffer(b, loc, op.getV()), u = readBuffer(b, loc, op.getU()),
        state = readBuffer(b, loc, op.getState());
  Value y = allocResult(b, loc, cast<RankedTensorType>(op.getY().getType()),
                        dynamicSizes(b, loc, op.getR()));
  Value newState =
      allocResult(b, loc, cast<RankedTensorType>(op.getNewState().getType()),
                  dynamicSizes(b, loc, op.getState()));
  enum { R, K, W };
  emitHeadScan(
      b, loc, name("wkv5"), dimOf(b, loc, op.getR(), 0),
      dimOf(b, loc, op.getR(), 1), heads, n, vectors, v, state, y, newState,
      {sharedMemRefType(b.getContext(), {n})},
      [&](DeviceBuilder &d, ArrayRef<Value> shared, Value base, Value i) {
        // Visible to all threads after the first barrier of the scan.
        d.store(d.load(u, {d.add(base, i)}), shared[0], {i});
      },
      [&](ScanIO &io, ArrayRef<Value> shared, ArrayRef<Value> row, Value vi) {
        DeviceBuilder &e = io.d;
        Value ruk = dot4(e, n, [&](int64_t j) {
          Value uj = e.load(shared[0], {e.index(j)});
          return std::make_pair(e.mul(io.at(R, j), uj), io.at(K, j));
        });
        Value acc = dot4(e, n, [&](int64_t j) {
          return std::make_pair(io.at(R, j), row[j]);
        });
        SmallVector<Value> next;
        for (int64_t j = 0; j < n; ++j)
          next.push_back(e.fma(io.at(W, j), row[j], e.mul(io.at(K, j), vi)));
        return std::make_pair(e.fma(vi, ruk, acc), next);
      });
  op.getY().replaceAllUsesWith(resultTensor(b, loc, y));
  op.getNewState().replaceAllUsesWith(resultTensor(b, loc, newState));
  return success();
}

struct ConvertRwkvToGpuPass
    : rwkv::impl::ConvertRwkvToGpuPassBase<ConvertRwkvToGpuPass> {
  using ConvertRwkvToGpuPassBase::ConvertRwkvToGpuPassBase;

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (linearRows < 1 || linearTokens < 1 || linearRows * linearTokens > 64) {
      fn.emitError() << "convert-rwkv-to-gpu: linear-rows and linear-tokens "
                        "must be positive with a product of at most 64";
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    // Fused ops without GPU kernels of their own are lowered as their parts.
    // rwkv.wkv7_fused: the WKV kernel keeps one
    // value row per thread, so a per-head group norm in its epilogue would
    // need a block reduction per token. Its parts are lowered separately.
    SmallVector<Wkv7FusedOp> fused;
    fn.walk([&](Wkv7FusedOp op) { fused.push_back(op); });
    for (Wkv7FusedOp op : fused) {
      rewriter.setInsertionPoint(op);
      auto [y, state] = op.decompose(rewriter);
      rewriter.replaceOp(op, {y, state});
    }
    // Likewise rwkv.shift_lerp_linear: the projection kernels read x with
    // coalesced loads straight from global memory. The token shift that
    // rwkv-fuse-token-shift left for the next shift state is reused, so the
    // decomposition adds no shift kernels.
    SmallVector<ShiftLerpLinearOp> mixed;
    fn.walk([&](ShiftLerpLinearOp op) { mixed.push_back(op); });
    for (ShiftLerpLinearOp op : mixed) {
      Value shifted;
      for (Operation *user : op.getInput().getUsers())
        if (auto shift = dyn_cast<TokenShiftOp>(user);
            shift && shift.getInput() == op.getInput() &&
            shift.getPrev() == op.getPrev() &&
            shift->getBlock() == op->getBlock() && shift->isBeforeInBlock(op)) {
          shifted = shift.getShifted();
          break;
        }
      rewriter.setInsertionPoint(op);
      rewriter.replaceOp(op, op.decompose(rewriter, shifted));
    }
    // The block language's einsum and per-token reshapes (linalg.generic
    // and tensor.expand_shape from the importer) have no GPU kernels yet.
    WalkResult cpuOnly = fn.walk([&](Operation *op) {
      if (!isa<linalg::GenericOp, tensor::ExpandShapeOp>(op))
        return WalkResult::advance();
      op->emitError() << "could not be lowered for the GPU: the block "
                         "language's "
                      << (isa<linalg::GenericOp>(op) ? "einsum" : "reshape")
                      << " has a CPU lowering only so far (compile for a CPU "
                         "target)";
      return WalkResult::interrupt();
    });
    if (cpuOnly.wasInterrupted())
      return signalPassFailure();
    SmallVector<Operation *> ops;
    fn.walk([&](Operation *op) {
      if (isa<RwkvDialect>(op->getDialect()))
        ops.push_back(op);
    });
    KernelNamer namer(fn);
    Lowering lowering{rewriter, namer, {linearRows, linearTokens}};
    bool failed = false;
    for (Operation *op : ops) {
      rewriter.setInsertionPoint(op);
      if (mlir::failed(lowering.lower(op))) {
        if (isa<CausalAttentionOp, HeadQkOp, Wkv1Op>(op))
          op->emitError() << "could not be lowered for the GPU: "
                          << op->getName()
                          << " has a CPU lowering only so far (compile for a "
                             "CPU target)";
        else
          op->emitError() << "could not be lowered for the GPU: the GPU "
                             "lowering needs static channel counts, head "
                             "sizes and weight shapes";
        failed = true;
        continue;
      }
      rewriter.eraseOp(op);
    }
    if (failed)
      signalPassFailure();
  }
};

} // namespace
