//===- ExpandMemrefCopy.cpp - non-contiguous copies to linalg.copy --------===//

#include "passes/Passes.h"

#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/IR/PatternMatch.h"

#define DEBUG_TYPE "rwkv-expand-memref-copy"

namespace mlir {
namespace rwkv {
#define GEN_PASS_DEF_RWKVEXPANDMEMREFCOPYPASS
#include "passes/Passes.h.inc"
} // namespace rwkv
} // namespace mlir

using namespace mlir;

namespace {

struct RwkvExpandMemrefCopyPass
    : rwkv::impl::RwkvExpandMemrefCopyPassBase<RwkvExpandMemrefCopyPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp op) {
      auto source = cast<MemRefType>(op.getSource().getType());
      auto target = cast<MemRefType>(op.getTarget().getType());
      if (!memref::isStaticShapeAndContiguousRowMajor(source) ||
          !memref::isStaticShapeAndContiguousRowMajor(target))
        copies.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (memref::CopyOp op : copies) {
      rewriter.setInsertionPoint(op);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(op, op.getSource(),
                                                  op.getTarget());
    }
  }
};

} // namespace
