//===- LowerVector.cpp - progressive vector lowering to 1-D ---------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "rwkv-lower-vector"

namespace mlir {
namespace rwkv {
#define GEN_PASS_DEF_RWKVLOWERVECTORPASS
#include "passes/Passes.h.inc"
} // namespace rwkv
} // namespace mlir

using namespace mlir;

namespace {

struct RwkvLowerVectorPass
    : rwkv::impl::RwkvLowerVectorPassBase<RwkvLowerVectorPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    vector::populateVectorTransferDropUnitDimsPatterns(patterns);
    vector::populateDropUnitDimWithShapeCastPatterns(patterns);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorMultiReductionLoweringPatterns(
        patterns, vector::VectorMultiReductionLowering::InnerReduction);
    vector::populateVectorBroadcastLoweringPatterns(patterns);
    vector::populateVectorShapeCastLoweringPatterns(patterns);
    vector::populateVectorTransposeLoweringPatterns(
        patterns, vector::VectorTransposeLowering::Shuffle1D);
    vector::populateVectorContractLoweringPatterns(
        patterns, vector::VectorContractLowering::OuterProduct);
    vector::populateVectorMaskOpLoweringPatterns(patterns);
    vector::populateVectorTransferLoweringPatterns(patterns,
                                                   /*maxTransferRank=*/1);
    vector::populateScalarVectorTransferLoweringPatterns(
        patterns, /*benefit=*/1, /*allowMultipleUses=*/true);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();

    // Sums of f32 lanes: allow a shuffle tree instead of a serial chain.
    getOperation().walk([](vector::ReductionOp op) {
      if (!isa<FloatType>(op.getType()))
        return;
      op.setFastmath(arith::FastMathFlags(op.getFastmath()) |
                     arith::FastMathFlags::reassoc);
    });
  }
};

} // namespace
