//===- CompileHarness.cpp - compile one function and call it (tests) ------===//

#include "CompileHarness.h"

#include "codegen/LLVMEmitter.h"
#include "codegen/Manifest.h"
#include "codegen/Target.h"
#include "passes/Pipelines.h"
#include "passes/Registration.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"

#include <dlfcn.h>

using namespace mlir;
using namespace mlir::rwkv;

namespace rwkvtest {

Tensor Tensor::zeros(std::vector<int64_t> shape) {
  Tensor t;
  t.shape = std::move(shape);
  t.data.assign(static_cast<size_t>(t.elements()), 0.0f);
  return t;
}

int64_t Tensor::elements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::unique_ptr<CompiledFunction>
CompiledFunction::compile(const std::string &mlir, const std::string &name,
                          std::string &error,
                          const std::string &pipelineOptions) {
  DialectRegistry registry;
  registerCompilerDialects(registry);
  MLIRContext ctx(registry);
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return success();
  });
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(mlir, &ctx);
  if (!module) {
    error = "parse error: " + diagnostics;
    return nullptr;
  }
  auto fn = module->lookupSymbol<func::FuncOp>(name);
  if (!fn) {
    error = "no function @" + name;
    return nullptr;
  }
  EntryPoint entry;
  entry.name = name;
  entry.symbol = "rwkv_" + name;
  entry.args.resize(fn.getNumArguments() + fn.getNumResults());

  FailureOr<CpuTarget> target = resolveCpuTarget("host", error);
  if (failed(target))
    return nullptr;
  PassManager pm(&ctx, ModuleOp::getOperationName());
  CpuPipelineOptions options;
  if (failed(options.parseFromString(pipelineOptions))) {
    error = "bad pipeline options '" + pipelineOptions + "'";
    return nullptr;
  }
  options.vectorWidth = target->vectorWidth;
  buildCpuPipeline(pm, options);
  if (failed(pm.run(*module))) {
    error = "pipeline failed: " + diagnostics;
    return nullptr;
  }
  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(*target, error);
  if (!tm)
    return nullptr;
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      emitLLVMModule(*module, llvmContext, *tm, *target, {entry}, error);
  if (!llvmModule)
    return nullptr;

  std::unique_ptr<CompiledFunction> out(new CompiledFunction());
  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("rwkv-op-test", dir)) {
    error = "cannot create a temporary directory";
    return nullptr;
  }
  out->dir_ = dir.str().str();
  std::string obj = out->dir_ + "/f.o", so = out->dir_ + "/f.so";
  {
    std::error_code ec;
    llvm::ToolOutputFile file(obj, ec, llvm::sys::fs::OF_None);
    if (ec ||
        failed(emitMachineCode(*llvmModule, *tm, false, file.os(), error)))
      return nullptr;
    file.keep();
  }
  if (failed(linkSharedLibrary(obj, so, /*openmp=*/false, error)))
    return nullptr;
  out->library_ = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!out->library_) {
    error = dlerror();
    return nullptr;
  }
  out->fn_ = reinterpret_cast<void (*)(void **)>(
      dlsym(out->library_, entry.symbol.c_str()));
  if (!out->fn_) {
    error = "missing symbol " + entry.symbol;
    return nullptr;
  }
  return out;
}

CompiledFunction::~CompiledFunction() {
  if (library_)
    dlclose(library_);
  if (!dir_.empty())
    llvm::sys::fs::remove_directories(dir_);
}

void CompiledFunction::call(const std::vector<Tensor *> &args) const {
  std::vector<std::vector<int64_t>> descriptors;
  std::vector<void *> argv;
  descriptors.reserve(args.size());
  for (Tensor *t : args) {
    size_t rank = t->shape.size();
    std::vector<int64_t> d(3 + 2 * rank);
    d[0] = d[1] =
        static_cast<int64_t>(reinterpret_cast<intptr_t>(t->data.data()));
    int64_t stride = 1;
    for (size_t i = rank; i-- > 0;) {
      d[3 + i] = t->shape[i];
      d[3 + rank + i] = stride;
      stride *= t->shape[i];
    }
    descriptors.push_back(std::move(d));
    argv.push_back(descriptors.back().data());
  }
  fn_(argv.data());
}

} // namespace rwkvtest
