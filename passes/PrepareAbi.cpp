//===- PrepareAbi.cpp - entry-point calling convention --------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"

#define DEBUG_TYPE "rwkv-prepare-abi"

namespace mlir {
namespace rwkv {
#define GEN_PASS_DEF_RWKVPREPAREABIPASS
#include "passes/Passes.h.inc"
} // namespace rwkv
} // namespace mlir

using namespace mlir;

namespace {

/// Removes the discardable attributes in the `rwkv.` namespace.
DictionaryAttr withoutRwkvAttrs(DictionaryAttr attrs, MLIRContext *ctx) {
  SmallVector<NamedAttribute> kept;
  if (attrs)
    for (NamedAttribute a : attrs)
      if (!a.getName().strref().starts_with("rwkv."))
        kept.push_back(a);
  return DictionaryAttr::get(ctx, kept);
}

struct RwkvPrepareAbiPass
    : rwkv::impl::RwkvPrepareAbiPassBase<RwkvPrepareAbiPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (fn.isPrivate() || fn.isExternal())
        continue;
      fn->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
      for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
        fn.setArgAttrs(i, withoutRwkvAttrs(fn.getArgAttrDict(i), ctx));
        if (isa<TensorType>(fn.getArgument(i).getType()))
          fn.setArgAttr(i,
                        bufferization::BufferizationDialect::kWritableAttrName,
                        BoolAttr::get(ctx, false));
      }
      for (unsigned i = 0; i < fn.getNumResults(); ++i)
        fn.setResultAttrs(i, withoutRwkvAttrs(fn.getResultAttrDict(i), ctx));
    }
  }
};

} // namespace
