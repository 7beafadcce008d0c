//===- GpuLaunchElementwise.cpp - parallel linalg.generic to kernels ------===//
//
// Turns every all-parallel linalg.generic with tensor semantics into one GPU
// kernel with a thread per output element (see passes/Passes.td). Runs after
// linalg-fuse-elementwise-ops, so a fused chain of pointwise ops becomes one
// kernel that reads each input once.
//
//===----------------------------------------------------------------------===//

#include "passes/GpuKernels.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/IRMapping.h"

#define DEBUG_TYPE "rwkv-gpu-launch-elementwise"

namespace mlir {
namespace rwkv {
#define GEN_PASS_DEF_RWKVGPULAUNCHELEMENTWISEPASS
#include "passes/Passes.h.inc"
} // namespace rwkv
} // namespace mlir

using namespace mlir;
using namespace mlir::rwkv;
using namespace mlir::rwkv::gpukernels;

namespace {

/// Why `op` cannot become an elementwise kernel, or "" if it can.
std::string unsupportedReason(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics())
    return "it does not have tensor semantics";
  if (op.getNumReductionLoops() != 0)
    return "it has reduction iterators";
  for (OpOperand &init : op.getDpsInitsMutable())
    if (!op.getMatchingIndexingMap(&init).isPermutation())
      return "an output indexing map is not a permutation";
  return "";
}

/// Index of `expr` (dims only, plus constants) applied to `ivs`.
Value applyExpr(DeviceBuilder &d, AffineMap map, unsigned result,
                ValueRange ivs) {
  AffineExpr expr = map.getResult(result);
  if (auto dim = dyn_cast<AffineDimExpr>(expr))
    return ivs[dim.getPosition()];
  if (auto cst = dyn_cast<AffineConstantExpr>(expr))
    return d.index(cst.getValue());
  return affine::AffineApplyOp::create(
      d.b, d.loc, AffineMap::get(map.getNumDims(), 0, expr), ivs);
}

SmallVector<Value> applyMap(DeviceBuilder &d, AffineMap map, ValueRange ivs) {
  SmallVector<Value> idx;
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    idx.push_back(applyExpr(d, map, r, ivs));
  return idx;
}

void lowerGeneric(linalg::GenericOp op, KernelNamer &namer,
                  OpBuilder &builder) {
  Location loc = op.getLoc();
  builder.setInsertionPoint(op);
  DeviceBuilder h{builder, loc};

  // Loop bounds: the sizes of the first output (its map is a permutation).
  OpOperand *init0 = op.getDpsInitOperand(0);
  AffineMap initMap = op.getMatchingIndexingMap(init0);
  auto initType = cast<RankedTensorType>(init0->get().getType());
  SmallVector<Value> bounds(op.getNumLoops());
  for (unsigned r = 0; r < initMap.getNumResults(); ++r) {
    unsigned loop = cast<AffineDimExpr>(initMap.getResult(r)).getPosition();
    bounds[loop] =
        initType.isDynamicDim(r)
            ? tensor::DimOp::create(builder, loc, init0->get(), r).getResult()
            : h.index(initType.getDimSize(r));
  }
  Value total = h.index(1);
  for (Value b : bounds)
    total = h.mul(total, b);

  // Inputs (and outputs whose initial value the body reads) as buffers.
  Block &body = op.getRegion().front();
  SmallVector<Value> inputs;
  for (OpOperand *in : op.getDpsInputOperands())
    inputs.push_back(isa<RankedTensorType>(in->get().getType())
                         ? readBuffer(builder, loc, in->get())
                         : in->get());
  SmallVector<Value> initsRead, results;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    BlockArgument arg = op.getMatchingBlockArgument(&init);
    initsRead.push_back(arg.use_empty() ? Value()
                                        : readBuffer(builder, loc, init.get()));
    auto type = cast<RankedTensorType>(init.get().getType());
    results.push_back(allocResult(builder, loc, type,
                                  dynamicSizes(builder, loc, init.get())));
  }

  launchElements(
      builder, loc, namer("elementwise"), total,
      [&](DeviceBuilder &d, Value linear) {
        SmallVector<Value> ivs = delinearize(d, linear, bounds);
        IRMapping map;
        for (auto [i, in] : llvm::enumerate(op.getDpsInputOperands())) {
          BlockArgument arg = op.getMatchingBlockArgument(in);
          if (arg.use_empty())
            continue;
          Value v = inputs[i];
          if (isa<MemRefType>(v.getType()))
            v = memref::LoadOp::create(
                d.b, d.loc, v, applyMap(d, op.getMatchingIndexingMap(in), ivs));
          map.map(arg, v);
        }
        for (auto [i, init] : llvm::enumerate(op.getDpsInitsMutable())) {
          if (!initsRead[i])
            continue;
          map.map(op.getMatchingBlockArgument(&init),
                  memref::LoadOp::create(
                      d.b, d.loc, initsRead[i],
                      applyMap(d, op.getMatchingIndexingMap(&init), ivs)));
        }
        for (Operation &inner : body.without_terminator()) {
          if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
            map.map(index.getResult(), ivs[index.getDim()]);
            continue;
          }
          d.b.clone(inner, map);
        }
        auto yield = cast<linalg::YieldOp>(body.getTerminator());
        for (auto [i, init] : llvm::enumerate(op.getDpsInitsMutable()))
          d.store(map.lookupOrDefault(yield.getOperand(i)), results[i],
                  applyMap(d, op.getMatchingIndexingMap(&init), ivs));
      });

  for (auto [i, buffer] : llvm::enumerate(results))
    op.getResult(i).replaceAllUsesWith(resultTensor(builder, loc, buffer));
  op.erase();
}

struct RwkvGpuLaunchElementwisePass
    : rwkv::impl::RwkvGpuLaunchElementwisePassBase<
          RwkvGpuLaunchElementwisePass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    SmallVector<linalg::GenericOp> generics;
    // Only generics of the function body: not those inside kernels.
    fn.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (auto generic = dyn_cast<linalg::GenericOp>(op))
        generics.push_back(generic);
      return WalkResult::advance();
    });
    KernelNamer namer(fn);
    OpBuilder builder(&getContext());
    for (linalg::GenericOp op : generics) {
      std::string why = unsupportedReason(op);
      if (!why.empty()) {
        op.emitRemark() << "not turned into a GPU kernel: " << why;
        continue;
      }
      lowerGeneric(op, namer, builder);
    }
  }
};

} // namespace
