//===- GpuEmulation.cpp - GPU kernels as CPU functions (tests) ------------===//
//
// Test infrastructure: turns the kernels of gpu.module @rwkv_kernels into
// CPU functions that a SIMT emulator (test/unit/FakeCuda.cpp) runs one
// thread at a time, so the generated kernels and host code can be checked
// numerically on a machine without a GPU (see the pass description in
// passes/Passes.td).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/AttrTypeSubElements.h"

#define DEBUG_TYPE "rwkv-gpu-emulate-on-cpu"

namespace mlir {
namespace rwkv {
#define GEN_PASS_DEF_RWKVGPUEMULATEONCPUPASS
#include "passes/Passes.h.inc"
} // namespace rwkv
} // namespace mlir

using namespace mlir;

namespace {

constexpr StringLiteral kIdFn = "rwkv_emu_id";
constexpr StringLiteral kBarrierFn = "rwkv_emu_barrier";
constexpr StringLiteral kShuffleFn = "rwkv_emu_shuffle_xor_f32";

/// Code of an id query: kind * 3 + dimension, kind 0 thread id, 1 block id,
/// 2 block size, 3 grid size.
int32_t idCode(int kind, gpu::Dimension dim) {
  return kind * 3 + static_cast<int32_t>(dim);
}

struct RwkvGpuEmulateOnCpuPass
    : rwkv::impl::RwkvGpuEmulateOnCpuPassBase<RwkvGpuEmulateOnCpuPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    Location loc = module.getLoc();
    IndexType index = b.getIndexType();
    auto declare = [&](StringRef name, FunctionType type) {
      auto fn = func::FuncOp::create(b, loc, name, type);
      fn.setPrivate();
    };
    declare(kIdFn, b.getFunctionType({b.getI32Type()}, {index}));
    declare(kBarrierFn, b.getFunctionType({}, {}));
    declare(kShuffleFn,
            b.getFunctionType({b.getF32Type(), b.getI32Type(), b.getI32Type()},
                              {b.getF32Type()}));

    SmallVector<gpu::GPUModuleOp> gpuModules(module.getOps<gpu::GPUModuleOp>());
    for (gpu::GPUModuleOp gpuModule : gpuModules)
      for (auto kernel :
           llvm::make_early_inc_range(gpuModule.getOps<gpu::GPUFuncOp>()))
        if (failed(convertKernel(kernel, module)))
          return signalPassFailure();

    // Only the kernels and their globals remain.
    for (Operation &op : llvm::make_early_inc_range(*module.getBody()))
      if (!isa<func::FuncOp, memref::GlobalOp>(op) ||
          (isa<func::FuncOp>(op) &&
           !cast<func::FuncOp>(op).getSymName().ends_with("_impl") &&
           !cast<func::FuncOp>(op).isPrivate()))
        op.erase();

    // Workgroup memory is ordinary memory on the CPU.
    AttrTypeReplacer replacer;
    replacer.addReplacement([](MemRefType t) -> std::optional<Type> {
      if (!t.getMemorySpace())
        return std::nullopt;
      return MemRefType::get(t.getShape(), t.getElementType(), t.getLayout());
    });
    replacer.recursivelyReplaceElementsIn(module, /*replaceAttrs=*/true,
                                          /*replaceLocs=*/false,
                                          /*replaceTypes=*/true);
  }

  LogicalResult convertKernel(gpu::GPUFuncOp kernel, ModuleOp module) {
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    b.setInsertionPoint(kernel->getParentOp());
    Location loc = kernel.getLoc();
    std::string name = (kernel.getName() + "_impl").str();
    unsigned inputs = kernel.getFunctionType().getNumInputs();
    unsigned numWorkgroup = kernel.getNumWorkgroupAttributions();
    if (kernel.getNumPrivateAttributions() != 0)
      return kernel.emitError() << "private attributions are not emulated";
    auto fn = func::FuncOp::create(b, loc, name, kernel.getFunctionType());
    Region &body = fn.getBody();
    body.takeBody(kernel.getBody());
    Block &entry = body.front();

    // Workgroup attributions become globals: the emulator runs one block at
    // a time, so all threads of the running block share them.
    OpBuilder entryBuilder = OpBuilder::atBlockBegin(&entry);
    for (unsigned i = 0; i < numWorkgroup; ++i) {
      BlockArgument arg = entry.getArgument(inputs + i);
      auto type = cast<MemRefType>(arg.getType());
      auto plain = MemRefType::get(type.getShape(), type.getElementType());
      std::string global =
          "__emu_wg_" + kernel.getName().str() + "_" + std::to_string(i);
      b.setInsertionPointToStart(module.getBody());
      memref::GlobalOp::create(b, loc, global, b.getStringAttr("private"),
                               plain, Attribute(), /*constant=*/false,
                               IntegerAttr());
      Value g = memref::GetGlobalOp::create(entryBuilder, loc, plain, global);
      arg.replaceAllUsesWith(g);
    }
    entry.eraseArguments(inputs, numWorkgroup);

    SmallVector<Operation *> gpuOps;
    fn.walk([&](Operation *op) {
      if (isa<gpu::GPUDialect>(op->getDialect()))
        gpuOps.push_back(op);
    });
    for (Operation *op : gpuOps) {
      OpBuilder ob(op);
      Location l = op->getLoc();
      auto id = [&](int kind, gpu::Dimension dim) {
        Value code = arith::ConstantIntOp::create(ob, l, ob.getI32Type(),
                                                  idCode(kind, dim));
        return func::CallOp::create(ob, l, kIdFn, ob.getIndexType(),
                                    ValueRange{code})
            .getResult(0);
      };
      if (auto t = dyn_cast<gpu::ThreadIdOp>(op)) {
        t.replaceAllUsesWith(id(0, t.getDimension()));
      } else if (auto t = dyn_cast<gpu::BlockIdOp>(op)) {
        t.replaceAllUsesWith(id(1, t.getDimension()));
      } else if (auto t = dyn_cast<gpu::BlockDimOp>(op)) {
        t.replaceAllUsesWith(id(2, t.getDimension()));
      } else if (auto t = dyn_cast<gpu::GridDimOp>(op)) {
        t.replaceAllUsesWith(id(3, t.getDimension()));
      } else if (isa<gpu::BarrierOp>(op)) {
        func::CallOp::create(ob, l, kBarrierFn, TypeRange{}, ValueRange{});
      } else if (auto s = dyn_cast<gpu::ShuffleOp>(op)) {
        if (s.getMode() != gpu::ShuffleMode::XOR ||
            !s.getValue().getType().isF32())
          return op->emitError() << "only f32 xor shuffles are emulated";
        Value r = func::CallOp::create(
                      ob, l, kShuffleFn, ob.getF32Type(),
                      ValueRange{s.getValue(), s.getOffset(), s.getWidth()})
                      .getResult(0);
        s.getShuffleResult().replaceAllUsesWith(r);
        s.getValid().replaceAllUsesWith(
            arith::ConstantIntOp::create(ob, l, ob.getI1Type(), 1));
      } else if (isa<gpu::ReturnOp>(op)) {
        func::ReturnOp::create(ob, l);
      } else {
        return op->emitError() << "no CPU emulation for this GPU operation";
      }
      op->erase();
    }
    kernel.erase();
    return success();
  }
};

} // namespace
