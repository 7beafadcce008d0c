//===- GpuArtifact.cpp - NVIDIA GPU artifacts -----------------------------===//

#include "codegen/GpuArtifact.h"

#include "codegen/LLVMEmitter.h"
#include "codegen/Target.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::rwkv;

bool mlir::rwkv::isGpuTargetName(StringRef name) {
  return name.starts_with("sm_");
}

namespace {

/// The chips the NVVM lowering compiles (LLVM 22's NVPTX backend with the
/// kernels' intrinsics: shfl.sync needs sm_30 and PTX 6.0), with the PTX ISA
/// version LLVM requires for each (NVPTX.td). Every kernel uses at least
/// PTX 8.0 (GpuPipelineOptions::features); chips that need a newer ISA
/// raise it for the whole artifact. Checked chip by chip with
/// `rwkvc --emit=ptx`; names outside this list (sm_51, sm_200, sm_1000)
/// made LLVM's instruction selection abort.
struct GpuChip {
  const char *name;
  unsigned ptx; ///< minimum PTX ISA version x 10
};
const GpuChip kGpuChips[] = {
    {"sm_50", 40},   {"sm_52", 41},  {"sm_53", 42},   {"sm_60", 50},
    {"sm_61", 50},   {"sm_62", 50},  {"sm_70", 60},   {"sm_72", 61},
    {"sm_75", 63},   {"sm_80", 70},  {"sm_86", 71},   {"sm_87", 74},
    {"sm_89", 78},   {"sm_90", 78},  {"sm_90a", 80},  {"sm_100", 86},
    {"sm_100a", 86}, {"sm_103", 88}, {"sm_103a", 88}, {"sm_110", 90},
    {"sm_110a", 90}, {"sm_120", 87}, {"sm_120a", 87}, {"sm_121", 88},
    {"sm_121a", 88}};
constexpr unsigned kBasePtx = 80;

std::string chipList() {
  std::string list;
  for (const GpuChip &c : kGpuChips)
    list += (list.empty() ? "" : ", ") + std::string(c.name);
  return list;
}

} // namespace

FailureOr<GpuTarget> mlir::rwkv::resolveGpuTarget(StringRef name,
                                                  StringRef cudaPath,
                                                  std::string &error) {
  GpuTarget t;
  t.name = name.str();
  SmallVector<StringRef> parts;
  name.split(parts, ',');
  unsigned ptx = kBasePtx;
  for (StringRef chip : parts) {
    chip = chip.trim();
    const GpuChip *known = nullptr;
    for (const GpuChip &c : kGpuChips)
      if (chip == c.name)
        known = &c;
    if (!known) {
      error = ("unknown GPU target '" + chip +
               "' in --target: expected NVIDIA chips the code generator "
               "supports (comma-separated): " +
               chipList())
                  .str();
      return failure();
    }
    ptx = std::max(ptx, known->ptx);
    if (!llvm::is_contained(t.chips, chip.str()))
      t.chips.push_back(chip.str());
  }
  t.ptxFeatures = "+ptx" + std::to_string(ptx);
  if (!cudaPath.empty()) {
    t.cudaPath = cudaPath.str();
  } else {
    for (const char *var : {"CUDA_HOME", "CUDA_PATH"})
      if (std::optional<std::string> v = llvm::sys::Process::GetEnv(var))
        if (!v->empty()) {
          t.cudaPath = *v;
          break;
        }
    if (t.cudaPath.empty())
      t.cudaPath = "/usr/local/cuda";
  }
  return t;
}

std::vector<std::string> mlir::rwkv::supportedGpuChips() {
  std::vector<std::string> out;
  for (const GpuChip &c : kGpuChips)
    out.push_back(c.name);
  return out;
}

/// The sm_XX values `ptxas --help` lists for --gpu-name (empty if it cannot
/// be run or its help has another format).
static std::vector<std::string> ptxasChips(StringRef ptxas) {
  std::vector<std::string> chips;
  SmallString<128> log;
  if (llvm::sys::fs::createTemporaryFile("rwkvc-ptxas-help", "txt", log))
    return chips;
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(log),
                                          StringRef(log)};
  StringRef argv[] = {ptxas, "--help"};
  int rc = llvm::sys::ExecuteAndWait(ptxas, argv, std::nullopt, redirects);
  auto buffer = llvm::MemoryBuffer::getFile(log);
  llvm::sys::fs::remove(log);
  if (rc != 0 || !buffer)
    return chips;
  StringRef help = (*buffer)->getBuffer();
  size_t at = help.find("--gpu-name");
  if (at == StringRef::npos)
    return chips;
  help = help.drop_front(at);
  help = help.take_front(help.find("Default value"));
  for (size_t q; (q = help.find("'sm_")) != StringRef::npos;) {
    help = help.drop_front(q + 1);
    StringRef chip = help.take_until([](char c) { return c == '\''; });
    chips.push_back(chip.str());
    help = help.drop_front(chip.size());
  }
  return chips;
}

static std::string toolkitFile(const GpuTarget &t, StringRef a, StringRef b,
                               StringRef c = "") {
  llvm::SmallString<256> p(t.cudaPath);
  llvm::sys::path::append(p, a, b);
  if (!c.empty())
    llvm::sys::path::append(p, c);
  return p.str().str();
}

LogicalResult mlir::rwkv::checkToolkit(const GpuTarget &target,
                                       bool needAssembler, std::string &error) {
  SmallVector<std::string> needed{
      toolkitFile(target, "nvvm", "libdevice", "libdevice.10.bc")};
  if (needAssembler) {
    needed.push_back(toolkitFile(target, "bin", "ptxas"));
    needed.push_back(toolkitFile(target, "bin", "fatbinary"));
  }
  for (const std::string &f : needed)
    if (!llvm::sys::fs::exists(f)) {
      error = "--target=" + target.name + " needs the CUDA toolkit, but '" + f +
              "' does not exist; pass --cuda-path=DIR or set CUDA_HOME";
      return failure();
    }
  if (!needAssembler)
    return success();
  // ptxas names the chips it assembles in its --gpu-name help; a chip the
  // lowering supports but this toolkit does not (sm_50..sm_72 after CUDA
  // 12, sm_100 before 12.8) is refused here with both lists.
  std::vector<std::string> accepted = ptxasChips(needed[1]);
  if (accepted.empty())
    return success(); // an unknown help format: let ptxas decide
  for (const std::string &chip : target.chips)
    if (!llvm::is_contained(accepted, chip)) {
      std::string list;
      for (const std::string &c : supportedGpuChips())
        if (llvm::is_contained(accepted, c))
          list += (list.empty() ? "" : ", ") + c;
      error = "--target=" + target.name + ": " + needed[1] +
              " cannot assemble " + chip +
              " (this toolkit assembles, of the chips rwkvc supports: " + list +
              "); --emit=ptx writes the PTX without assembling it";
      return failure();
    }
  return success();
}

//===----------------------------------------------------------------------===//
// PTX and kernel information
//===----------------------------------------------------------------------===//

/// Block sizes (.maxntid) and shared memory of every kernel in `ptx`.
static std::vector<GpuKernelInfo> parseKernels(StringRef ptx) {
  std::vector<GpuKernelInfo> kernels;
  std::map<std::string, int64_t> shared;
  SmallVector<StringRef> lines;
  ptx.split(lines, '\n');
  for (StringRef line : lines) {
    line = line.trim();
    if (line.starts_with(".visible .entry ")) {
      StringRef name = line.drop_front(strlen(".visible .entry "));
      name = name.take_until([](char c) { return c == '('; });
      kernels.push_back(GpuKernelInfo{name.str(), {1, 1, 1}, 0, {}, {}});
    } else if (line.starts_with(".maxntid ") && !kernels.empty()) {
      SmallVector<StringRef> dims;
      line.drop_front(strlen(".maxntid ")).split(dims, ',');
      for (size_t i = 0; i < dims.size() && i < 3; ++i)
        (void)dims[i].trim().getAsInteger(10, kernels.back().block[i]);
    } else if (line.starts_with(".shared ")) {
      // .shared .align 4 .b8 __wg_<kernel>_<n>[<bytes>];
      size_t at = line.find("__wg_"), open = line.find('['),
             close = line.find(']');
      if (at == StringRef::npos || open == StringRef::npos ||
          close == StringRef::npos)
        continue;
      StringRef global = line.slice(at + 5, open);
      StringRef kernel = global.rsplit('_').first;
      int64_t bytes = 0;
      if (!line.slice(open + 1, close).getAsInteger(10, bytes))
        shared[kernel.str()] += bytes;
    }
  }
  for (GpuKernelInfo &k : kernels)
    k.sharedBytes = shared[k.name];
  return kernels;
}

LogicalResult mlir::rwkv::collectPtx(ModuleOp module, GpuImages &images,
                                     std::string &error) {
  SmallVector<gpu::BinaryOp> binaries(module.getOps<gpu::BinaryOp>());
  if (binaries.size() != 1) {
    error = "expected one gpu.binary after the GPU pipeline, found " +
            std::to_string(binaries.size());
    return failure();
  }
  for (Attribute a : binaries.front().getObjectsAttr()) {
    auto object = cast<gpu::ObjectAttr>(a);
    auto target = dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget());
    if (!target || object.getFormat() != gpu::CompilationTarget::Assembly) {
      error = "the gpu.binary holds an object that is not NVVM PTX";
      return failure();
    }
    std::string chip = target.getChip().str();
    images.chips.push_back(chip);
    images.ptx[chip] = object.getObject().getValue().str();
  }
  if (images.chips.empty()) {
    error = "the gpu.binary holds no object";
    return failure();
  }
  images.kernels = parseKernels(images.ptx[images.chips.front()]);
  module.walk([&](gpu::LaunchFuncOp launch) {
    std::string host;
    if (auto fn = launch->getParentOfType<LLVM::LLVMFuncOp>())
      host = fn.getName().str();
    else if (auto fn = launch->getParentOfType<FunctionOpInterface>())
      host = fn.getName().str();
    images.entryKernels[host].push_back(launch.getKernelName().str());
  });
  return success();
}

//===----------------------------------------------------------------------===//
// ptxas and fatbinary
//===----------------------------------------------------------------------===//

namespace {

/// A temporary directory removed with its files when the object dies.
struct TempDir {
  llvm::SmallString<256> path;
  ~TempDir() {
    if (!path.empty())
      (void)llvm::sys::fs::remove_directories(path);
  }
  std::string file(StringRef name) const {
    llvm::SmallString<256> p(path);
    llvm::sys::path::append(p, name);
    return p.str().str();
  }
};

LogicalResult writeFile(StringRef path, StringRef data, std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = "cannot write '" + path.str() + "': " + ec.message();
    return failure();
  }
  os << data;
  return success();
}

FailureOr<std::string> readFile(StringRef path, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buffer) {
    error = "cannot read '" + path.str() + "': " + buffer.getError().message();
    return failure();
  }
  return (*buffer)->getBuffer().str();
}

/// Runs `args` (args[0] is the program); on failure the error quotes the
/// tail of its output.
LogicalResult run(ArrayRef<std::string> args, StringRef log,
                  std::string &error) {
  SmallVector<StringRef> argv(args.begin(), args.end());
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(log),
                                          StringRef(log)};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(args[0], argv, std::nullopt, redirects, 0,
                                     0, &message);
  if (rc == 0)
    return success();
  std::string output;
  if (auto buffer = llvm::MemoryBuffer::getFile(log))
    output = (*buffer)->getBuffer().take_back(4000).str();
  error = llvm::sys::path::filename(args[0]).str() + " failed (exit " +
          std::to_string(rc) + (message.empty() ? "" : ", " + message) + ")" +
          (output.empty() ? "" : ":\n" + output);
  return failure();
}

/// Records registers and spills from a `ptxas -v` log.
void parsePtxasLog(StringRef log, StringRef chip,
                   std::vector<GpuKernelInfo> &kernels) {
  std::map<std::string, GpuKernelInfo *> byName;
  for (GpuKernelInfo &k : kernels)
    byName[k.name] = &k;
  GpuKernelInfo *current = nullptr;
  SmallVector<StringRef> lines;
  log.split(lines, '\n');
  for (StringRef line : lines) {
    size_t at = line.find("Compiling entry function '");
    if (at != StringRef::npos) {
      StringRef name =
          line.drop_front(at + 26).take_until([](char c) { return c == '\''; });
      auto it = byName.find(name.str());
      current = it == byName.end() ? nullptr : it->second;
      continue;
    }
    if (!current)
      continue;
    size_t used = line.find("Used ");
    if (used != StringRef::npos) {
      int64_t regs = 0;
      StringRef rest = line.drop_front(used + 5);
      if (!rest.take_until([](char c) { return c == ' '; })
               .getAsInteger(10, regs))
        current->registers[chip.str()] = regs;
    }
    size_t spill = line.find(" bytes spill stores");
    if (spill != StringRef::npos) {
      StringRef head = line.take_front(spill).rtrim();
      int64_t bytes = 0;
      if (!head.rsplit(' ').second.getAsInteger(10, bytes))
        current->spillBytes[chip.str()] = bytes;
    }
  }
}

} // namespace

LogicalResult mlir::rwkv::assembleImages(const GpuTarget &target,
                                         GpuImages &images,
                                         std::string &error) {
  TempDir dir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("rwkvc-gpu", dir.path)) {
    error = "cannot create a temporary directory: " + ec.message();
    return failure();
  }
  std::string ptxas = toolkitFile(target, "bin", "ptxas"),
              fatbinary = toolkitFile(target, "bin", "fatbinary");
  std::vector<std::string> fatArgs{fatbinary, "-64",
                                   "--create=" + dir.file("kernels.fatbin")};
  for (const std::string &chip : images.chips) {
    std::string ptxPath = dir.file("kernels." + chip + ".ptx"),
                cubinPath = dir.file("kernels." + chip + ".cubin"),
                log = dir.file("ptxas." + chip + ".log");
    if (failed(writeFile(ptxPath, images.ptx[chip], error)) ||
        failed(
            run({ptxas, "-arch=" + chip, "-O3", "-v", ptxPath, "-o", cubinPath},
                log, error)))
      return failure();
    FailureOr<std::string> cubin = readFile(cubinPath, error);
    FailureOr<std::string> logText = readFile(log, error);
    if (failed(cubin) || failed(logText))
      return failure();
    images.cubin[chip] = std::move(*cubin);
    parsePtxasLog(*logText, chip, images.kernels);
    fatArgs.push_back("--image3=kind=elf,sm=" + chip.substr(3) +
                      ",file=" + cubinPath);
  }
  // PTX of the newest chip: drivers JIT it for GPUs newer than every cubin.
  std::string newest = images.chips.front();
  auto number = [](const std::string &chip) {
    unsigned n = 0;
    (void)StringRef(chip)
        .drop_front(3)
        .take_while(llvm::isDigit)
        .getAsInteger(10, n);
    return n;
  };
  for (const std::string &chip : images.chips)
    if (number(chip) > number(newest))
      newest = chip;
  fatArgs.push_back("--image3=kind=ptx,sm=" + newest.substr(3) +
                    ",file=" + dir.file("kernels." + newest + ".ptx"));
  if (failed(run(fatArgs, dir.file("fatbinary.log"), error)))
    return failure();
  FailureOr<std::string> fatbin = readFile(dir.file("kernels.fatbin"), error);
  if (failed(fatbin))
    return failure();
  images.fatbin = std::move(*fatbin);
  return success();
}

void mlir::rwkv::embedFatbin(ModuleOp module, const GpuImages &images) {
  for (gpu::BinaryOp binary : module.getOps<gpu::BinaryOp>()) {
    auto first = cast<gpu::ObjectAttr>(binary.getObjectsAttr()[0]);
    MLIRContext *ctx = module.getContext();
    auto object = gpu::ObjectAttr::get(
        ctx, first.getTarget(), gpu::CompilationTarget::Fatbin,
        StringAttr::get(ctx, images.fatbin), DictionaryAttr(), nullptr);
    binary.setObjectsAttr(ArrayAttr::get(ctx, {object}));
  }
}

//===----------------------------------------------------------------------===//
// Host module: runtime binding
//===----------------------------------------------------------------------===//

namespace {

/// Removes `llvm.global_ctors`/`dtors` named `global` and returns the
/// functions it listed, by ascending priority.
SmallVector<llvm::Function *> takeStructors(llvm::Module &m, StringRef global) {
  SmallVector<std::pair<uint64_t, llvm::Function *>> found;
  llvm::GlobalVariable *g = m.getGlobalVariable(global);
  if (!g)
    return {};
  if (auto *array = dyn_cast<llvm::ConstantArray>(g->getInitializer()))
    for (llvm::Use &u : array->operands())
      if (auto *entry = dyn_cast<llvm::ConstantStruct>(u.get()))
        if (auto *fn = dyn_cast<llvm::Function>(entry->getOperand(1)))
          found.emplace_back(
              cast<llvm::ConstantInt>(entry->getOperand(0))->getZExtValue(),
              fn);
  g->eraseFromParent();
  // Stable by priority (a plain insertion sort: a handful of entries, and
  // libstdc++'s stable_sort trips a deprecation warning).
  for (size_t i = 1; i < found.size(); ++i)
    for (size_t j = i; j > 0 && found[j].first < found[j - 1].first; --j)
      std::swap(found[j], found[j - 1]);
  SmallVector<llvm::Function *> fns;
  for (auto &f : found)
    fns.push_back(f.second);
  return fns;
}

void defineCaller(llvm::Module &m, StringRef name,
                  ArrayRef<llvm::Function *> callees) {
  llvm::LLVMContext &ctx = m.getContext();
  auto *fn = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), false),
      llvm::GlobalValue::ExternalLinkage, name, m);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  for (llvm::Function *callee : callees)
    b.CreateCall(callee);
  b.CreateRetVoid();
}

} // namespace

/// Turns every declared function named `prefix`* into a forwarder through a
/// pointer and adds `int <bindName>(void *(*resolve)(const char *))`, which
/// fills the pointers and returns how many stayed null.
static LogicalResult bindCalls(llvm::Module &m, StringRef prefix,
                               StringRef bindName, std::string &error) {
  llvm::LLVMContext &ctx = m.getContext();
  auto *ptrTy = llvm::PointerType::get(ctx, 0);
  auto *i32 = llvm::Type::getInt32Ty(ctx);

  SmallVector<llvm::Function *> runtimeFns;
  for (llvm::Function &f : m)
    if (f.isDeclaration() && f.getName().starts_with(prefix))
      runtimeFns.push_back(&f);
  if (runtimeFns.empty()) {
    error = ("the generated code calls no " + prefix + "* function").str();
    return failure();
  }

  auto *resolveTy = llvm::FunctionType::get(ptrTy, {ptrTy}, false);
  auto *bind =
      llvm::Function::Create(llvm::FunctionType::get(i32, {ptrTy}, false),
                             llvm::GlobalValue::ExternalLinkage, bindName, m);
  llvm::IRBuilder<> bb(llvm::BasicBlock::Create(ctx, "entry", bind));
  llvm::Value *missing = bb.getInt32(0);

  for (llvm::Function *f : runtimeFns) {
    std::string name = f->getName().str();
    auto *slot = new llvm::GlobalVariable(
        m, ptrTy, /*isConstant=*/false, llvm::GlobalValue::InternalLinkage,
        llvm::ConstantPointerNull::get(ptrTy), "__rwkv_gpu_fn_" + name);
    // The declaration becomes a forwarder through the slot.
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", f));
    llvm::Value *target = b.CreateLoad(ptrTy, slot);
    SmallVector<llvm::Value *> args;
    for (llvm::Argument &a : f->args())
      args.push_back(&a);
    llvm::CallInst *call = b.CreateCall(f->getFunctionType(), target, args);
    if (f->getReturnType()->isVoidTy())
      b.CreateRetVoid();
    else
      b.CreateRet(call);
    f->setLinkage(llvm::GlobalValue::InternalLinkage);

    llvm::Value *nameStr =
        bb.CreateGlobalString(name, "__rwkv_gpu_name_" + name);
    llvm::Value *ptr = bb.CreateCall(resolveTy, bind->getArg(0), {nameStr});
    bb.CreateStore(ptr, slot);
    missing = bb.CreateAdd(missing, bb.CreateZExt(bb.CreateIsNull(ptr), i32));
  }
  bb.CreateRet(missing);
  return success();
}

LogicalResult mlir::rwkv::bindGpuRuntime(llvm::Module &m, std::string &error) {
  if (failed(bindCalls(m, "mgpu", "rwkv_gpu_bind", error)))
    return failure();
  defineCaller(m, "rwkv_gpu_load", takeStructors(m, "llvm.global_ctors"));
  SmallVector<llvm::Function *> dtors = takeStructors(m, "llvm.global_dtors");
  std::reverse(dtors.begin(), dtors.end());
  defineCaller(m, "rwkv_gpu_unload", dtors);
  return success();
}

//===----------------------------------------------------------------------===//
// Emulation (tests)
//===----------------------------------------------------------------------===//

LogicalResult mlir::rwkv::emitGpuEmulation(ModuleOp stage1, StringRef path,
                                           std::string &error) {
  OwningOpRef<ModuleOp> module(cast<ModuleOp>(stage1->clone()));
  MLIRContext *ctx = stage1.getContext();
  PassManager pm(ctx, ModuleOp::getOperationName());
  std::string diagnostics;
  {
    ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
      diagnostics += d.str() + "\n";
      return success();
    });
    auto pipeline = parsePassPipeline(
        "builtin.module(rwkv-gpu-emulate-on-cpu, lower-affine, "
        "convert-scf-to-cf, expand-strided-metadata, finalize-memref-to-llvm, "
        "convert-math-to-llvm, convert-math-to-libm, convert-arith-to-llvm, "
        "convert-index-to-llvm, convert-func-to-llvm, convert-cf-to-llvm, "
        "convert-ub-to-llvm, reconcile-unrealized-casts)");
    if (failed(pipeline)) {
      error = "invalid emulation pipeline";
      return failure();
    }
    static_cast<OpPassManager &>(pm) = *pipeline;
    if (failed(pm.run(*module))) {
      error = "lowering the kernels for emulation failed: " + diagnostics;
      return failure();
    }
  }
  CpuTarget host = baselineX86Target();
  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(host, error);
  if (!tm)
    return failure();
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> m =
      translateModuleToLLVMIR(*module, llvmContext, "rwkv_emulation");
  if (!m) {
    error = "translating the emulated kernels to LLVM IR failed";
    return failure();
  }
  m->setTargetTriple(tm->getTargetTriple());
  m->setDataLayout(tm->createDataLayout());
  // void <kernel>(void **params): params[i] points to argument i, as for
  // cuLaunchKernel.
  auto *ptrTy = llvm::PointerType::get(llvmContext, 0);
  SmallVector<llvm::Function *> impls;
  for (llvm::Function &f : *m)
    if (!f.isDeclaration() && f.getName().ends_with("_impl"))
      impls.push_back(&f);
  for (llvm::Function *impl : impls) {
    impl->setLinkage(llvm::GlobalValue::InternalLinkage);
    auto *wrapper = llvm::Function::Create(
        llvm::FunctionType::get(llvm::Type::getVoidTy(llvmContext), {ptrTy},
                                false),
        llvm::GlobalValue::ExternalLinkage,
        impl->getName().drop_back(strlen("_impl")), *m);
    llvm::IRBuilder<> b(
        llvm::BasicBlock::Create(llvmContext, "entry", wrapper));
    SmallVector<llvm::Value *> args;
    for (llvm::Argument &a : impl->args()) {
      llvm::Value *slot = b.CreateLoad(
          ptrTy, b.CreateConstGEP1_64(ptrTy, wrapper->getArg(0), a.getArgNo()));
      args.push_back(b.CreateLoad(a.getType(), slot));
    }
    b.CreateCall(impl, args);
    b.CreateRetVoid();
  }
  if (failed(bindCalls(*m, "rwkv_emu_", "rwkv_emu_bind", error)))
    return failure();
  auto optimize =
      makeOptimizingTransformer(/*optLevel=*/2, /*sizeLevel=*/0, tm.get());
  if (llvm::Error err = optimize(m.get())) {
    error = "LLVM optimization failed: " + llvm::toString(std::move(err));
    return failure();
  }
  std::string obj = (path + ".o").str();
  {
    std::error_code ec;
    llvm::ToolOutputFile file(obj, ec, llvm::sys::fs::OF_None);
    if (ec) {
      error = "cannot write '" + obj + "': " + ec.message();
      return failure();
    }
    if (failed(emitMachineCode(*m, *tm, /*assembly=*/false, file.os(), error)))
      return failure();
    file.keep();
  }
  LogicalResult linked = linkSharedLibrary(obj, path, /*openmp=*/false, error);
  llvm::sys::fs::remove(obj);
  return linked;
}

//===----------------------------------------------------------------------===//
// Files and manifest
//===----------------------------------------------------------------------===//

llvm::json::Object mlir::rwkv::deviceManifest(const GpuTarget &target,
                                              const GpuImages &images) {
  llvm::json::Array chips, files, kernels;
  for (const std::string &chip : images.chips) {
    chips.push_back(chip);
    files.push_back(
        llvm::json::Object{{"chip", chip},
                           {"ptx", "kernels." + chip + ".ptx"},
                           {"cubin", "kernels." + chip + ".cubin"}});
  }
  for (const GpuKernelInfo &k : images.kernels) {
    llvm::json::Object regs, spills;
    for (auto &[chip, n] : k.registers)
      regs[chip] = n;
    for (auto &[chip, n] : k.spillBytes)
      spills[chip] = n;
    kernels.push_back(llvm::json::Object{
        {"name", k.name},
        {"block", llvm::json::Array{k.block[0], k.block[1], k.block[2]}},
        {"shared_bytes", k.sharedBytes},
        {"registers", std::move(regs)},
        {"spill_bytes", std::move(spills)}});
  }
  llvm::json::Object launches;
  for (auto &[entry, names] : images.entryKernels) {
    if (StringRef(entry).starts_with("_mlir_ciface_"))
      continue;
    llvm::json::Array list;
    for (const std::string &n : names)
      list.push_back(n);
    launches[entry] = std::move(list);
  }
  return llvm::json::Object{{"kind", "cuda"},
                            {"target", target.name},
                            {"chips", std::move(chips)},
                            {"fatbin", "kernels.fatbin"},
                            {"embedded", true},
                            {"images", std::move(files)},
                            {"kernels", std::move(kernels)},
                            {"launches", std::move(launches)}};
}

void mlir::rwkv::printPtx(const GpuImages &images, llvm::raw_ostream &os) {
  for (const std::string &chip : images.chips)
    os << "// chip " << chip << "\n" << images.ptx.at(chip) << "\n";
}

LogicalResult mlir::rwkv::writeImages(StringRef dir, const GpuImages &images,
                                      std::string &error) {
  auto path = [&](StringRef name) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    return p.str().str();
  };
  for (const std::string &chip : images.chips)
    if (failed(writeFile(path("kernels." + chip + ".ptx"), images.ptx.at(chip),
                         error)) ||
        failed(writeFile(path("kernels." + chip + ".cubin"),
                         images.cubin.at(chip), error)))
      return failure();
  return writeFile(path("kernels.fatbin"), images.fatbin, error);
}
