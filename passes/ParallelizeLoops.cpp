//===- ParallelizeLoops.cpp - marked scf.for loops to scf.parallel --------===//
//
// convert-rwkv-to-linalg marks the loops whose iterations write disjoint
// parts of their results (output-row blocks of a projection, heads of a WKV
// scan, channel blocks of wkv4) with `rwkv.parallel`. After bufferization
// such a loop carries no values and its iterations are independent, so it
// becomes an scf.parallel, which convert-scf-to-openmp turns into an OpenMP
// worksharing loop. Reordering iterations does not change any arithmetic:
// results are bit-identical for every thread count.
//
// Scratch buffers are privatized first: bufferization may place a
// temporary of the loop body (e.g. a head's transposed state) in one
// allocation before the loop, shared by all iterations. An allocation whose
// every use (through views) is inside the loop holds nothing across
// iterations (loop-carried values are iter_args, and such loops are not
// parallelized), so each iteration gets its own.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir {
namespace rwkv {
#define GEN_PASS_DEF_RWKVPARALLELIZELOOPSPASS
#include "passes/Passes.h.inc"
} // namespace rwkv
} // namespace mlir

using namespace mlir;

namespace {

/// Collects `value`'s users, following view-like ops (subview,
/// collapse_shape, ...) into `views`. Returns false if the buffer escapes in
/// a way privatization cannot follow (a view with several sources).
bool collectUses(Value value, SmallVectorImpl<Operation *> &users,
                 SmallVectorImpl<Operation *> &views) {
  for (Operation *user : value.getUsers()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(user);
        view && view.getViewSource() == value && user->getNumResults() == 1) {
      views.push_back(user);
      if (!collectUses(user->getResult(0), users, views))
        return false;
      continue;
    }
    users.push_back(user);
  }
  return true;
}

/// Gives every iteration of `loop` its own copy of the allocations that
/// are only used inside it.
void privatizeScratch(scf::ForOp loop, IRRewriter &rewriter) {
  auto func = loop->getParentOfType<FunctionOpInterface>();
  DominanceInfo dominance(func);
  SmallVector<memref::AllocOp> allocs;
  func->walk([&](memref::AllocOp alloc) {
    if (!loop->isAncestor(alloc) &&
        dominance.properlyDominates(alloc.getOperation(), loop.getOperation()))
      allocs.push_back(alloc);
  });
  for (memref::AllocOp alloc : allocs) {
    SmallVector<Operation *> users, views;
    if (!collectUses(alloc.getResult(), users, views))
      continue;
    bool usedInside = false, private_ = true;
    for (Operation *user : users) {
      if (isa<memref::DeallocOp>(user) && !loop->isAncestor(user))
        continue;
      if (!loop->isAncestor(user)) {
        private_ = false;
        break;
      }
      usedInside = true;
    }
    if (!private_ || !usedInside)
      continue;
    // Clone the allocation and the views made outside the loop at the top
    // of the body; free the copy at the end of the iteration.
    Block *body = loop.getBody();
    rewriter.setInsertionPointToStart(body);
    IRMapping map;
    rewriter.clone(*alloc, map);
    SmallVector<Operation *> outsideViews;
    for (Operation *view : views)
      if (!loop->isAncestor(view))
        outsideViews.push_back(view);
    llvm::sort(outsideViews, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
    for (Operation *view : outsideViews)
      rewriter.clone(*view, map);
    rewriter.setInsertionPoint(body->getTerminator());
    memref::DeallocOp::create(rewriter, alloc.getLoc(),
                              map.lookup(alloc.getResult()));
    auto inLoop = [&](OpOperand &use) {
      return loop->isAncestor(use.getOwner());
    };
    rewriter.replaceUsesWithIf(alloc.getResult(), map.lookup(alloc.getResult()),
                               inLoop);
    for (Operation *view : outsideViews)
      rewriter.replaceUsesWithIf(view->getResult(0),
                                 map.lookup(view->getResult(0)), inLoop);
    for (Operation *view : llvm::reverse(outsideViews))
      if (view->use_empty())
        rewriter.eraseOp(view);
    for (Operation *user :
         llvm::make_early_inc_range(alloc.getResult().getUsers()))
      if (isa<memref::DeallocOp>(user))
        rewriter.eraseOp(user);
    if (alloc->use_empty())
      rewriter.eraseOp(alloc);
  }
}

struct RwkvParallelizeLoopsPass
    : rwkv::impl::RwkvParallelizeLoopsPassBase<RwkvParallelizeLoopsPass> {
  void runOnOperation() override {
    SmallVector<scf::ForOp> marked;
    getOperation().walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
      if (loop->hasAttr(rwkv::kParallelLoopAttr))
        marked.push_back(loop);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ForOp loop : marked) {
      loop->removeAttr(rwkv::kParallelLoopAttr);
      if (loop.getNumResults() != 0) {
        loop.emitRemark() << "loop not parallelized: it still carries "
                          << loop.getNumResults()
                          << " value(s) after bufferization";
        continue;
      }
      // Nested inside another parallel loop: the outer one already spreads
      // the work, and nested OpenMP regions would only add overhead.
      if (loop->getParentOfType<scf::ParallelOp>()) {
        loop.emitRemark() << "loop not parallelized: nested in a parallel "
                             "loop";
        continue;
      }
      privatizeScratch(loop, rewriter);
      rewriter.setInsertionPoint(loop);
      auto par = scf::ParallelOp::create(
          rewriter, loop.getLoc(), ValueRange{loop.getLowerBound()},
          ValueRange{loop.getUpperBound()}, ValueRange{loop.getStep()},
          ValueRange{});
      Block *body = par.getBody();
      // Move the loop body before the scf.reduce terminator of the new loop.
      Block *old = loop.getBody();
      rewriter.eraseOp(old->getTerminator());
      rewriter.inlineBlockBefore(old, body->getTerminator(),
                                 {par.getInductionVars()[0]});
      rewriter.eraseOp(loop);
    }
  }
};

} // namespace
