//===- ApproximateMath.cpp - polynomial approximations of math ops --------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "rwkv-approximate-math"

namespace mlir {
namespace rwkv {
#define GEN_PASS_DEF_RWKVAPPROXIMATEMATHPASS
#include "passes/Passes.h.inc"
} // namespace rwkv
} // namespace mlir

using namespace mlir;

namespace {

struct RwkvApproximateMathPass
    : rwkv::impl::RwkvApproximateMathPassBase<RwkvApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // rsqrt's approximation needs AVX2 intrinsics; sqrt stays an LLVM
    // intrinsic (exact, vectorizable).
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return name != math::RsqrtOp::getOperationName();
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
