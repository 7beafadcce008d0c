//===- LLVMEmitter.cpp - LLVM IR, assembly and objects --------------------===//

#include "codegen/LLVMEmitter.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;
using namespace mlir::rwkv;

namespace {

/// Adds `void <symbol>(void **args)` calling `_mlir_ciface_<name>` with
/// args[0..n-1]: one stable, arity-free symbol per entry point.
LogicalResult addPackedWrapper(llvm::Module &m, const EntryPoint &entry,
                               std::string &error) {
  llvm::Function *callee = m.getFunction("_mlir_ciface_" + entry.name);
  if (!callee) {
    error = "entry point '" + entry.name + "' has no C interface";
    return failure();
  }
  if (callee->arg_size() != entry.args.size()) {
    error = "entry point '" + entry.name + "' takes " +
            std::to_string(callee->arg_size()) +
            " arguments after lowering, the manifest lists " +
            std::to_string(entry.args.size());
    return failure();
  }
  llvm::LLVMContext &ctx = m.getContext();
  auto *ptrTy = llvm::PointerType::get(ctx, 0);
  auto *fnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy},
                                       /*isVarArg=*/false);
  auto *wrapper = llvm::Function::Create(
      fnTy, llvm::GlobalValue::ExternalLinkage, entry.symbol, m);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", wrapper));
  llvm::SmallVector<llvm::Value *> args;
  for (unsigned i = 0; i < callee->arg_size(); ++i) {
    llvm::Value *slot = b.CreateConstGEP1_64(ptrTy, wrapper->getArg(0), i);
    args.push_back(b.CreateLoad(ptrTy, slot));
  }
  b.CreateCall(callee, args);
  b.CreateRetVoid();
  return success();
}

} // namespace

LogicalResult mlir::rwkv::bindAllocator(llvm::Module &m, std::string &error) {
  llvm::LLVMContext &ctx = m.getContext();
  auto *ptrTy = llvm::PointerType::get(ctx, 0);
  auto *voidTy = llvm::Type::getVoidTy(ctx);
  auto *sizeTy = llvm::Type::getInt64Ty(ctx);
  auto *allocTy = llvm::FunctionType::get(ptrTy, {sizeTy}, false);
  auto *releaseTy = llvm::FunctionType::get(voidTy, {ptrTy}, false);

  // One slot per libc function, initialized to it; every call site calls an
  // internal forwarder through the slot (inlined by -O3).
  auto route = [&](StringRef libcName, llvm::FunctionType *type,
                   StringRef slotName) -> llvm::GlobalVariable * {
    llvm::FunctionCallee libc = m.getOrInsertFunction(libcName, type);
    auto *libcFn = cast<llvm::Function>(libc.getCallee());
    auto *slot = new llvm::GlobalVariable(m, ptrTy, /*isConstant=*/false,
                                          llvm::GlobalValue::InternalLinkage,
                                          libcFn, slotName);
    auto *forwarder =
        llvm::Function::Create(type, llvm::GlobalValue::InternalLinkage,
                               ("__rwkv_" + libcName).str(), m);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", forwarder));
    SmallVector<llvm::Value *> args;
    for (llvm::Argument &a : forwarder->args())
      args.push_back(&a);
    llvm::CallInst *call = b.CreateCall(type, b.CreateLoad(ptrTy, slot), args);
    if (type->getReturnType()->isVoidTy())
      b.CreateRetVoid();
    else
      b.CreateRet(call);
    // Calls (not the slot's initializer) go through the forwarder.
    SmallVector<llvm::CallBase *> calls;
    for (llvm::User *u : libcFn->users())
      if (auto *c = dyn_cast<llvm::CallBase>(u))
        if (c->getCalledOperand() == libcFn && c->getFunction() != forwarder)
          calls.push_back(c);
    for (llvm::CallBase *c : calls)
      c->setCalledOperand(forwarder);
    return slot;
  };
  if (llvm::Function *f = m.getFunction("malloc");
      f && f->getFunctionType() != allocTy) {
    error = "unexpected malloc signature in the generated code";
    return failure();
  }
  llvm::GlobalVariable *allocSlot = route("malloc", allocTy, "__rwkv_alloc_fn");
  llvm::GlobalVariable *releaseSlot =
      route("free", releaseTy, "__rwkv_release_fn");

  auto *set = llvm::Function::Create(
      llvm::FunctionType::get(voidTy, {ptrTy, ptrTy}, false),
      llvm::GlobalValue::ExternalLinkage, "rwkv_set_allocator", m);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", set));
  b.CreateStore(set->getArg(0), allocSlot);
  b.CreateStore(set->getArg(1), releaseSlot);
  b.CreateRetVoid();
  return success();
}

std::unique_ptr<llvm::Module> mlir::rwkv::emitLLVMModule(
    ModuleOp module, llvm::LLVMContext &llvmContext, llvm::TargetMachine &tm,
    const CpuTarget &target, ArrayRef<EntryPoint> entries, std::string &error,
    function_ref<LogicalResult(llvm::Module &, std::string &)> prepare) {
  std::unique_ptr<llvm::Module> m =
      translateModuleToLLVMIR(module, llvmContext, "rwkv");
  if (!m) {
    error = "translation to LLVM IR failed";
    return nullptr;
  }
  m->setTargetTriple(tm.getTargetTriple());
  m->setDataLayout(tm.createDataLayout());
  for (const EntryPoint &e : entries)
    if (failed(addPackedWrapper(*m, e, error)))
      return nullptr;
  if (prepare && failed(prepare(*m, error)))
    return nullptr;

  // Generated vectors are sized for the target: let the backend use the full
  // register width (X86 otherwise splits 512-bit vectors on some CPUs).
  std::string width = std::to_string(target.vectorWidth * 32);
  for (llvm::Function &f : *m) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", target.cpu);
    if (!target.features.empty())
      f.addFnAttr("target-features", target.features);
    f.addFnAttr("prefer-vector-width", width);
    f.addFnAttr("min-legal-vector-width", width);
    f.addFnAttr(llvm::Attribute::NoUnwind);
    // Only the rwkv_* wrappers are the library's interface.
    if (!StringRef(f.getName()).starts_with("rwkv_"))
      f.setVisibility(llvm::GlobalValue::HiddenVisibility);
  }

  auto optimize =
      makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0, &tm);
  if (llvm::Error err = optimize(m.get())) {
    error = "LLVM optimization failed: " + llvm::toString(std::move(err));
    return nullptr;
  }
  std::string verifyMessage;
  llvm::raw_string_ostream vos(verifyMessage);
  if (llvm::verifyModule(*m, &vos)) {
    error = "invalid LLVM IR: " + verifyMessage;
    return nullptr;
  }
  return m;
}

void mlir::rwkv::addShapeTable(llvm::Module &module, StringRef table) {
  llvm::Constant *text =
      llvm::ConstantDataArray::getString(module.getContext(), table);
  auto *global = new llvm::GlobalVariable(
      module, text->getType(), /*isConstant=*/true,
      llvm::GlobalValue::ExternalLinkage, text, "rwkv_shape_table");
  global->setVisibility(llvm::GlobalValue::DefaultVisibility);
  global->setAlignment(llvm::Align(1));
}

LogicalResult mlir::rwkv::emitMachineCode(llvm::Module &module,
                                          llvm::TargetMachine &tm,
                                          bool assembly,
                                          llvm::raw_pwrite_stream &os,
                                          std::string &error) {
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr,
                             assembly ? llvm::CodeGenFileType::AssemblyFile
                                      : llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit this file type";
    return failure();
  }
  pm.run(module);
  return success();
}

bool mlir::rwkv::openmpAvailable() {
#ifdef RWKV_OPENMP_LIBDIR
  return llvm::sys::fs::exists(RWKV_OPENMP_LIBDIR "/libomp.so");
#else
  return false;
#endif
}

LogicalResult mlir::rwkv::linkSharedLibrary(StringRef object, StringRef library,
                                            bool openmp, std::string &error) {
  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
  if (!cc)
    cc = llvm::sys::findProgramByName("gcc");
  if (!cc)
    cc = llvm::sys::findProgramByName("clang");
  if (!cc) {
    error = "no C compiler driver (cc, gcc or clang) on PATH to link the "
            "shared library";
    return failure();
  }
  SmallVector<StringRef> args{*cc,
                              "-shared",
                              "-o",
                              library,
                              object,
                              "-Wl,-z,defs",
                              "-Wl,-z,noexecstack",
                              "-lm"};
#ifdef RWKV_OPENMP_LIBDIR
  if (openmp) {
    args.push_back("-L" RWKV_OPENMP_LIBDIR);
    args.push_back("-Wl,-rpath," RWKV_OPENMP_LIBDIR);
    args.push_back("-lomp");
  }
#else
  if (openmp) {
    error = "this rwkvc was built without LLVM's libomp; compile with "
            "--openmp=false";
    return failure();
  }
#endif
  std::string message;
  int rc =
      llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0, &message);
  if (rc != 0) {
    error = "linking " + library.str() + " failed (" + *cc + " exited with " +
            std::to_string(rc) + (message.empty() ? "" : ": " + message) + ")";
    return failure();
  }
  return success();
}
