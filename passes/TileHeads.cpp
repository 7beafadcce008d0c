//===- TileHeads.cpp - tile WKV ops over heads, projections over rows -----===//
//
// rwkv-tile-heads and rwkv-tile-rows: tiling at the rwkv level, before the
// ops are lowered. Heads of a WKV op are independent (each has its own
// N x N state and reads only its own N channels: rwkv-math §3.1, §5.4), and
// the output rows of a projection are independent, so both become loops
// over tiles that apply the same op to a slice. The loops are marked
// rwkv.parallel: rwkv-parallelize-loops runs their tiles on OpenMP threads
// (the lowering's own head and row loops inside them then stay serial).
// Every tile computes its outputs with the same operations in the same
// order, so the results are bit-identical to the untiled op.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/TensorSizes.h"

#include "dialect/RwkvOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace rwkv {
#define GEN_PASS_DEF_RWKVTILEHEADSPASS
#define GEN_PASS_DEF_RWKVTILEROWSPASS
#include "passes/Passes.h.inc"
} // namespace rwkv
} // namespace mlir

using namespace mlir;
using namespace mlir::rwkv;

namespace {

/// Marks loops whose iterations write disjoint parts of their results (the
/// attribute convert-rwkv-to-linalg also sets).
constexpr llvm::StringLiteral kParallelAttr = "rwkv.parallel";

/// The slice [offset, offset + size) of `v` along `dim`.
Value sliceAlong(OpBuilder &b, Location loc, Value v, unsigned dim,
                 OpFoldResult offset, int64_t size) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  offsets[dim] = offset;
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] = size;
  auto sliceType = RankedTensorType::get(shape, type.getElementType());
  return tensor::ExtractSliceOp::create(
      b, loc, sliceType, v, offsets,
      sizesWith(b, loc, type, v, dim, b.getIndexAttr(size)), strides);
}

/// Replaces `op` by a loop over `tiles` tiles. For tile g, `sliceOperand`
/// gives each operand's slice (or the operand itself) and each result is
/// inserted along `resultDims[i]` at `g * resultTile[i]`.
void tileOp(
    Operation *op, int64_t tiles, ArrayRef<unsigned> resultDims,
    ArrayRef<int64_t> resultTile,
    function_ref<Value(OpBuilder &, Location, Value operand, Value tile)>
        sliceOperand) {
  OpBuilder b(op);
  Location loc = op->getLoc();
  SmallVector<Value> inits;
  for (auto [i, result] : llvm::enumerate(op->getResults())) {
    auto type = cast<RankedTensorType>(result.getType());
    // The result's dynamic dimensions (batch, tokens) are those of the
    // first operand of the same rank.
    Value like;
    for (Value operand : op->getOperands())
      if (cast<RankedTensorType>(operand.getType()).getRank() ==
              type.getRank() &&
          !like)
        like = operand;
    SmallVector<OpFoldResult> sizes =
        sizesWith(b, loc, type, like, resultDims[i],
                  b.getIndexAttr(type.getDimSize(resultDims[i])));
    inits.push_back(
        tensor::EmptyOp::create(b, loc, sizes, type.getElementType()));
  }
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  Value n = arith::ConstantIndexOp::create(b, loc, tiles);
  auto loop = scf::ForOp::create(
      b, loc, c0, n, c1, inits,
      [&](OpBuilder &lb, Location l, Value g, ValueRange acc) {
        IRMapping mapping;
        for (Value operand : op->getOperands())
          mapping.map(operand, sliceOperand(lb, l, operand, g));
        Operation *tile = lb.clone(*op, mapping);
        SmallVector<Value> next;
        for (auto [i, result] : llvm::enumerate(tile->getResults())) {
          auto type = cast<RankedTensorType>(result.getType());
          SmallVector<int64_t> shape(type.getShape());
          shape[resultDims[i]] = resultTile[i];
          result.setType(RankedTensorType::get(shape, type.getElementType()));
          auto accType = cast<RankedTensorType>(acc[i].getType());
          SmallVector<OpFoldResult> offsets(accType.getRank(),
                                            lb.getIndexAttr(0));
          offsets[resultDims[i]] =
              arith::MulIOp::create(
                  lb, l, g,
                  arith::ConstantIndexOp::create(lb, l, resultTile[i]))
                  .getResult();
          SmallVector<OpFoldResult> strides(accType.getRank(),
                                            lb.getIndexAttr(1));
          next.push_back(tensor::InsertSliceOp::create(
              lb, l, result, acc[i], offsets,
              sizesWith(lb, l, accType, acc[i], resultDims[i],
                        lb.getIndexAttr(resultTile[i])),
              strides));
        }
        scf::YieldOp::create(lb, l, next);
      });
  loop->setAttr(kParallelAttr, b.getUnitAttr());
  op->replaceAllUsesWith(loop.getResults());
  op->erase();
}

struct RwkvTileHeadsPass
    : rwkv::impl::RwkvTileHeadsPassBase<RwkvTileHeadsPass> {
  using RwkvTileHeadsPassBase::RwkvTileHeadsPassBase;

  void runOnOperation() override {
    if (headsPerTile < 1) {
      getOperation().emitError()
          << "rwkv-tile-heads: heads-per-tile must be positive, got "
          << headsPerTile.getValue();
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<Wkv5Op, Wkv7Op, Wkv7FusedOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      // Operands by role: the state [B, H, N, N] and r_k [H, N] are sliced
      // along H; every other operand must be per channel ([B, T, C] or
      // [C]) and is sliced along C.
      Value state, rk;
      if (auto wkv = dyn_cast<Wkv5Op>(op))
        state = wkv.getState();
      else if (auto wkv = dyn_cast<Wkv7Op>(op))
        state = wkv.getState();
      else if (auto wkv = dyn_cast<Wkv7FusedOp>(op))
        state = wkv.getState(), rk = wkv.getRK();
      auto stateType = cast<RankedTensorType>(state.getType());
      int64_t heads = stateType.getDimSize(1), n = stateType.getDimSize(2);
      int64_t hpt = headsPerTile;
      if (hpt >= heads)
        continue;
      if (heads % hpt != 0) {
        op->emitRemark() << "heads not tiled: " << heads
                         << " heads are not a multiple of " << hpt;
        continue;
      }
      int64_t channels = heads * n, width = hpt * n;
      auto perChannel = [&](Value v) {
        auto type = cast<RankedTensorType>(v.getType());
        return (type.getRank() == 3 || type.getRank() == 1) &&
               type.getDimSize(type.getRank() - 1) == channels;
      };
      if (!llvm::all_of(op->getOperands(), [&](Value v) {
            return v == state || v == rk || perChannel(v);
          })) {
        op->emitRemark() << "heads not tiled: an operand is neither the "
                            "state, r_k nor per channel";
        continue;
      }
      auto slice = [&](OpBuilder &b, Location l, Value v, Value g) -> Value {
        auto at = [&](int64_t step) -> OpFoldResult {
          return arith::MulIOp::create(
                     b, l, g, arith::ConstantIndexOp::create(b, l, step))
              .getResult();
        };
        if (v == state)
          return sliceAlong(b, l, v, 1, at(hpt), hpt);
        if (v == rk)
          return sliceAlong(b, l, v, 0, at(hpt), hpt);
        unsigned last = cast<RankedTensorType>(v.getType()).getRank() - 1;
        return sliceAlong(b, l, v, last, at(width), width);
      };
      // Results: the output [B, T, C] along C, the new state along H.
      tileOp(op, heads / hpt, {2, 1}, {width, hpt}, slice);
    }
  }
};

struct RwkvTileRowsPass : rwkv::impl::RwkvTileRowsPassBase<RwkvTileRowsPass> {
  using RwkvTileRowsPassBase::RwkvTileRowsPassBase;

  void runOnOperation() override {
    if (rowsPerTile < 1) {
      getOperation().emitError()
          << "rwkv-tile-rows: rows-per-tile must be positive, got "
          << rowsPerTile.getValue();
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<LinearOp, ShiftLerpLinearOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      Value weight = isa<LinearOp>(op)
                         ? cast<LinearOp>(op).getWeight()
                         : cast<ShiftLerpLinearOp>(op).getWeight();
      auto wType = cast<RankedTensorType>(weight.getType());
      int64_t rows = wType.getDimSize(0), rpt = rowsPerTile;
      if (ShapedType::isDynamic(rows) || rpt >= rows)
        continue;
      if (rows % rpt != 0) {
        op->emitRemark() << "rows not tiled: " << rows
                         << " output rows are not a multiple of " << rpt;
        continue;
      }
      tileOp(op, rows / rpt, {2}, {rpt},
             [&](OpBuilder &b, Location l, Value v, Value g) -> Value {
               if (v != weight)
                 return v;
               OpFoldResult at =
                   arith::MulIOp::create(
                       b, l, g, arith::ConstantIndexOp::create(b, l, rpt))
                       .getResult();
               return sliceAlong(b, l, v, 0, at, rpt);
             });
    }
  }
};

} // namespace
