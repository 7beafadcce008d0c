//===- Registration.cpp - dialects and passes the compiler uses -----------===//
//
// The only translation unit that includes the "register everything" headers:
// they dominate compile time, so no other file should.
//
//===----------------------------------------------------------------------===//

#include "passes/Registration.h"

#include "dialect/RwkvDialect.h"
#include "passes/Passes.h"
#include "passes/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include <mutex>

void mlir::rwkv::registerCompilerDialects(DialectRegistry &registry) {
  registry.insert<RwkvDialect>();
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
}

void mlir::rwkv::registerCompilerPasses() {
  // Idempotent: the pipeline builders call it too, since textual pipelines
  // resolve pass names through the global registry.
  static std::once_flag once;
  std::call_once(once, [] {
    registerAllPasses();
    registerRwkvPasses();
    registerPipelines();
  });
}
