//===- TileAndVectorize.cpp - tile linalg ops and vectorize tiles ---------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"

#define DEBUG_TYPE "rwkv-tile-and-vectorize"

namespace mlir {
namespace rwkv {
#define GEN_PASS_DEF_RWKVTILEANDVECTORIZEPASS
#include "passes/Passes.h.inc"
} // namespace rwkv
} // namespace mlir

using namespace mlir;
using namespace mlir::rwkv;

namespace {

struct RwkvTileAndVectorizePass
    : rwkv::impl::RwkvTileAndVectorizePassBase<RwkvTileAndVectorizePass> {
  using RwkvTileAndVectorizePassBase::RwkvTileAndVectorizePassBase;

  /// Tile sizes for `op`, or failure (with the reason) when it stays scalar.
  FailureOr<SmallVector<int64_t>> chooseTileSizes(linalg::LinalgOp op,
                                                  std::string &why) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
    if (ranges.empty()) {
      why = "it has no loops";
      return failure();
    }
    int64_t last = ranges.back();
    SmallVector<int64_t> tiles(ranges.size(), 1);
    if (ShapedType::isDynamic(last)) {
      // E.g. [B, T] row statistics in the parallel form: one element per
      // tile; still vector ops, so later lowerings see one form.
      if (iters.back() == utils::IteratorType::reduction) {
        why = "its innermost loop is a reduction of dynamic extent";
        return failure();
      }
      for (auto [i, it] : llvm::enumerate(iters))
        if (it == utils::IteratorType::reduction) {
          why = "it reduces over an outer dimension next to a dynamic "
                "innermost one";
          return failure();
        }
      return tiles;
    }
    // Outer reductions are not tiled (kept whole inside the tile).
    for (auto [i, it] : llvm::enumerate(iters))
      if (it == utils::IteratorType::reduction && i + 1 != iters.size()) {
        if (ShapedType::isDynamic(ranges[i])) {
          why = "it reduces over a dynamic outer dimension";
          return failure();
        }
        tiles[i] = 0;
      }
    if (iters.back() == utils::IteratorType::reduction) {
      if (last > maxVectorSize) {
        why = "its innermost reduction is longer than max-vector-size";
        return failure();
      }
      tiles.back() = 0;
      return tiles;
    }
    // Parallel innermost loop: the largest multiple of the vector width (up
    // to 4 registers) that divides the extent, else the whole extent.
    int64_t tile = 0;
    for (int64_t regs = 4; regs >= 1 && !tile; regs /= 2)
      if (last % (regs * vectorWidth) == 0)
        tile = regs * vectorWidth;
    if (!tile) {
      if (last > maxVectorSize) {
        why = "its innermost extent has no vector-width tile and is longer "
              "than max-vector-size";
        return failure();
      }
      tile = last;
    }
    tiles.back() = tile == last ? 0 : tile;
    return tiles;
  }

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    SmallVector<linalg::LinalgOp> candidates;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op.hasPureTensorSemantics())
        candidates.push_back(op);
    });
    IRRewriter rewriter(ctx);
    for (linalg::LinalgOp op : candidates) {
      std::string why;
      FailureOr<SmallVector<int64_t>> tiles = chooseTileSizes(op, why);
      if (failed(tiles)) {
        op->emitRemark() << "not vectorized: " << why;
        continue;
      }
      rewriter.setInsertionPoint(op);
      scf::SCFTilingOptions options;
      options.setTileSizes(getAsIndexOpFoldResult(ctx, *tiles));
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled)) {
        op->emitRemark() << "not vectorized: tiling failed";
        continue;
      }
      rewriter.replaceOp(op, tiled->replacements);
      for (Operation *tiledOp : tiled->tiledOps) {
        rewriter.setInsertionPoint(tiledOp);
        FailureOr<linalg::VectorizationResult> vec =
            linalg::vectorize(rewriter, tiledOp);
        if (failed(vec)) {
          tiledOp->emitRemark() << "not vectorized: linalg::vectorize "
                                   "rejected the tile";
          continue;
        }
        rewriter.replaceOp(tiledOp, vec->replacements);
      }
    }
  }
};

} // namespace
