//===- GpuPrepareHost.cpp - host code of GPU entry points -----------------===//
//
// After bufferization every buffer of a GPU entry point lives in device
// memory and the host code only allocates, launches and copies (see the pass
// description in passes/Passes.td).
//
//===----------------------------------------------------------------------===//

#include "passes/GpuKernels.h"
#include "passes/Passes.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#define DEBUG_TYPE "rwkv-gpu-prepare-host"

namespace mlir {
namespace rwkv {
#define GEN_PASS_DEF_RWKVGPUPREPAREHOSTPASS
#include "passes/Passes.h.inc"
} // namespace rwkv
} // namespace mlir

using namespace mlir;
using namespace mlir::rwkv;
using namespace mlir::rwkv::gpukernels;

namespace {

bool insideKernel(Operation *op) {
  return op->getParentOfType<gpu::LaunchOp>() != nullptr;
}

/// `memref.copy %alloc, %out` where %out is an out-parameter used only by
/// this copy: the kernels can write %out directly. Returns true if elided.
bool elideResultCopy(memref::CopyOp copy, func::FuncOp fn) {
  auto arg = dyn_cast<BlockArgument>(copy.getTarget());
  if (!arg || arg.getOwner() != &fn.getBody().front() || !arg.hasOneUse())
    return false;
  auto alloc = copy.getSource().getDefiningOp<memref::AllocOp>();
  if (!alloc || alloc.getType() != arg.getType() ||
      alloc->getBlock() != copy->getBlock())
    return false;
  SmallVector<Operation *> deallocs;
  for (Operation *user : alloc->getUsers()) {
    if (isa<memref::DeallocOp>(user)) {
      deallocs.push_back(user);
      continue;
    }
    // Any other op that frees memory could free the caller's buffer.
    auto effects = dyn_cast<MemoryEffectOpInterface>(user);
    if (effects && effects.hasEffect<MemoryEffects::Free>())
      return false;
  }
  for (Operation *d : deallocs)
    d->erase();
  copy->erase();
  alloc.getResult().replaceAllUsesWith(arg);
  alloc->erase();
  return true;
}

bool contiguous(MemRefType t) { return t.getLayout().isIdentity(); }

/// Copies between device buffers: a memcpy when both are contiguous, else a
/// kernel with a thread per element.
void lowerCopy(memref::CopyOp copy, KernelNamer &namer) {
  OpBuilder b(copy);
  Location loc = copy.getLoc();
  Value src = copy.getSource(), dst = copy.getTarget();
  auto srcType = cast<MemRefType>(src.getType()),
       dstType = cast<MemRefType>(dst.getType());
  if (contiguous(srcType) && contiguous(dstType)) {
    gpu::MemcpyOp::create(b, loc, /*asyncToken=*/Type(), ValueRange{}, dst,
                          src);
    copy->erase();
    return;
  }
  DeviceBuilder h{b, loc};
  SmallVector<Value> sizes;
  Value total = h.index(1);
  for (int64_t d = 0; d < dstType.getRank(); ++d) {
    Value size = dstType.isDynamicDim(d)
                     ? memref::DimOp::create(b, loc, dst, d).getResult()
                     : h.index(dstType.getDimSize(d));
    sizes.push_back(size);
    total = h.mul(total, size);
  }
  launchElements(
      b, loc, namer("copy"), total, [&](DeviceBuilder &d, Value linear) {
        SmallVector<Value> idx = delinearize(d, linear, sizes);
        d.store(memref::LoadOp::create(d.b, d.loc, src, idx), dst, idx);
      });
  copy->erase();
}

/// Reports host code that touches memory through a memref: every memref of
/// a GPU entry point is device memory.
LogicalResult checkNoHostAccess(func::FuncOp fn) {
  WalkResult result = fn.walk<WalkOrder::PreOrder>([](Operation *op) {
    if (isa<gpu::LaunchOp>(op))
      return WalkResult::skip();
    if (isa<gpu::GPUDialect>(op->getDialect()))
      return WalkResult::advance();
    auto iface = dyn_cast<MemoryEffectOpInterface>(op);
    if (!iface)
      return WalkResult::advance();
    SmallVector<MemoryEffects::EffectInstance> effects;
    iface.getEffects(effects);
    for (auto &e : effects) {
      if (!isa<MemoryEffects::Read, MemoryEffects::Write,
               MemoryEffects::Allocate, MemoryEffects::Free>(e.getEffect()))
        continue;
      Value v = e.getValue();
      if (v && isa<MemRefType>(v.getType())) {
        op->emitError() << "host code of a GPU entry point accesses a buffer "
                           "(every buffer is device memory); expected only "
                           "kernel launches, allocations and copies";
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

/// Frees every host-level allocation right after its last use in the
/// function body (uses through views included). Kernels run in stream order
/// and gpu.dealloc is stream-ordered too, so the buffer is released only
/// after the kernels that read it. (MLIR's ownership-based deallocation does
/// not accept kernels with barriers.)
LogicalResult placeDeallocs(func::FuncOp fn) {
  Block &body = fn.getBody().front();
  SmallVector<memref::AllocOp> allocs;
  for (Operation &op : body)
    if (auto alloc = dyn_cast<memref::AllocOp>(op))
      allocs.push_back(alloc);
  for (memref::AllocOp alloc : allocs) {
    Operation *last = alloc;
    bool freed = false;
    SmallVector<Value> worklist{alloc.getResult()};
    while (!worklist.empty()) {
      Value v = worklist.pop_back_val();
      for (OpOperand &use : v.getUses()) {
        Operation *user = use.getOwner();
        if (isa<memref::DeallocOp>(user)) {
          freed = true;
          continue;
        }
        if (isa<func::ReturnOp>(user))
          return alloc.emitError()
                 << "a buffer of a GPU entry point is returned; results must "
                    "be out-parameters";
        if (auto view = dyn_cast<ViewLikeOpInterface>(user))
          if (view.getViewSource() == v)
            llvm::append_range(worklist, user->getResults());
        Operation *top = body.findAncestorOpInBlock(*user);
        if (!top)
          return alloc.emitError() << "buffer used outside the function body";
        if (last->isBeforeInBlock(top))
          last = top;
      }
    }
    if (freed)
      continue;
    OpBuilder b(fn.getContext());
    b.setInsertionPointAfter(last);
    memref::DeallocOp::create(b, alloc.getLoc(), alloc.getResult());
  }
  return success();
}

struct RwkvGpuPrepareHostPass
    : rwkv::impl::RwkvGpuPrepareHostPassBase<RwkvGpuPrepareHostPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal())
      return;
    SmallVector<memref::CopyOp> copies;
    fn.walk([&](memref::CopyOp c) {
      if (!insideKernel(c))
        copies.push_back(c);
    });
    SmallVector<memref::CopyOp> remaining;
    for (memref::CopyOp c : copies)
      if (!elideResultCopy(c, fn))
        remaining.push_back(c);

    KernelNamer namer(fn);
    for (memref::CopyOp c : remaining)
      lowerCopy(c, namer);
    if (failed(placeDeallocs(fn)))
      return signalPassFailure();

    SmallVector<Operation *> memOps;
    fn.walk([&](Operation *op) {
      if (isa<memref::AllocOp, memref::DeallocOp>(op) && !insideKernel(op))
        memOps.push_back(op);
    });
    for (Operation *op : memOps) {
      OpBuilder b(op);
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        auto gpuAlloc = gpu::AllocOp::create(
            b, op->getLoc(), alloc.getType(), /*asyncToken=*/Type(),
            ValueRange{}, alloc.getDynamicSizes(), alloc.getSymbolOperands(),
            /*hostShared=*/false);
        alloc.getResult().replaceAllUsesWith(gpuAlloc.getMemref());
      } else {
        auto dealloc = cast<memref::DeallocOp>(op);
        gpu::DeallocOp::create(b, op->getLoc(), /*asyncToken=*/Type(),
                               ValueRange{}, dealloc.getMemref());
      }
      op->erase();
    }
    if (failed(checkNoHostAccess(fn)))
      signalPassFailure();
  }
};

} // namespace
