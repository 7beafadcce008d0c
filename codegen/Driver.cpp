//===- Driver.cpp - rwkvc: spec to artifacts ------------------------------===//

#include "codegen/Driver.h"

#include "codegen/GpuArtifact.h"
#include "codegen/LLVMEmitter.h"
#include "codegen/Manifest.h"
#include "codegen/Target.h"
#include "importer/Importer.h"
#include "importer/Spec.h"
#include "passes/Pipelines.h"
#include "passes/Registration.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"

#include <chrono>
#include <mutex>

using namespace mlir;
using namespace mlir::rwkv;
namespace cl = llvm::cl;

namespace {

/// Stopping points of the pipeline, in order. Linalg is a stage of the CPU
/// pipeline; Gpu, Nvvm and Ptx of the NVIDIA one.
enum class Stage {
  Rwkv,
  RwkvFused,
  Linalg,
  Gpu,
  Nvvm,
  LLVMDialect,
  Ptx,
  LLVMIR,
  Asm,
  Obj,
  So
};

// rwkvc --help shows these categories only; LLVM's own options (and the
// MLIR ones not adopted into debugCat below) are behind --help-hidden.
cl::OptionCategory inputCat("Input and output");
cl::OptionCategory targetCat("Target");
cl::OptionCategory tuningCat("Tuning (kernel tiling and chunking)");
cl::OptionCategory debugCat("Debugging");

struct Options {
  cl::opt<std::string> input{cl::Positional, cl::desc("<spec.toml>"),
                             cl::Required, cl::cat(inputCat)};
  cl::opt<std::string> output{
      "o",
      cl::desc("Output: a directory for --emit=so (model.so, model.o, "
               "manifest.json), else a file (default: stdout)"),
      cl::value_desc("path"), cl::init(""), cl::cat(inputCat)};
  cl::opt<std::string> target{
      "target",
      cl::desc("Code generation target: host, x86-64-v3 (AVX2), x86-64-v4 "
               "(AVX-512), or NVIDIA GPUs, several comma-separated (e.g. "
               "sm_80,sm_90): sm_50, sm_52, sm_53, sm_60, sm_61, sm_62, "
               "sm_70, sm_72, sm_75, sm_80, sm_86, sm_87, sm_89, sm_90, "
               "sm_90a, sm_100, sm_100a, sm_103, sm_103a, sm_110, sm_110a, "
               "sm_120, sm_120a, sm_121, sm_121a (artifacts also need a "
               "ptxas that assembles the chip)"),
      cl::init("host"), cl::cat(targetCat)};
  cl::opt<std::string> cudaPath{
      "cuda-path",
      cl::desc("CUDA toolkit root for GPU targets (libdevice, ptxas, "
               "fatbinary); default $CUDA_HOME, $CUDA_PATH or /usr/local/cuda"),
      cl::value_desc("dir"), cl::init(""), cl::cat(targetCat)};
  cl::opt<Stage> emit{
      "emit", cl::desc("Stop after this stage and print or write it"),
      cl::values(clEnumValN(Stage::Rwkv, "rwkv", "rwkv dialect, as imported"),
                 clEnumValN(Stage::RwkvFused, "rwkv-fused",
                            "rwkv dialect after the fusion passes"),
                 clEnumValN(Stage::Linalg, "linalg",
                            "CPU: fused, vectorized linalg/vector/scf on "
                            "tensors"),
                 clEnumValN(Stage::Gpu, "gpu",
                            "GPU: host code launching the kernels of "
                            "gpu.module @rwkv_kernels"),
                 clEnumValN(Stage::Nvvm, "nvvm",
                            "GPU: kernels lowered to the NVVM dialect"),
                 clEnumValN(Stage::LLVMDialect, "llvm",
                            "MLIR LLVM dialect (GPU: host code, PTX in "
                            "gpu.binary)"),
                 clEnumValN(Stage::Ptx, "ptx", "GPU: PTX of every chip"),
                 clEnumValN(Stage::LLVMIR, "llvm-ir", "optimized LLVM IR"),
                 clEnumValN(Stage::Asm, "asm", "target assembly"),
                 clEnumValN(Stage::Obj, "obj", "ELF object file"),
                 clEnumValN(Stage::So, "so",
                            "shared library + manifest in the -o directory")),
      cl::init(Stage::So), cl::cat(inputCat)};
  // Kernel tiling (see convert-rwkv-to-linalg); defaults are tuned for
  // Zen 4 class cores.
  cl::opt<int64_t> linearRows{
      "linear-rows",
      cl::desc("Rows of W per linear register block (default 4)"), cl::init(4),
      cl::cat(tuningCat)};
  cl::opt<int64_t> linearTokens{
      "linear-tokens",
      cl::desc("Tokens per linear register block (default 4; GPU: per warp, "
               "default 8)"),
      cl::init(4), cl::cat(tuningCat)};
  cl::opt<int64_t> linearChunk{
      "linear-chunk", cl::desc("Tokens per linear cache block (default 64)"),
      cl::init(64), cl::cat(tuningCat)};
  cl::opt<int64_t> sequenceChunk{
      "sequence-chunk",
      cl::desc("Tokens per chunk of the parallel-form block functions "
               "(rwkv-tile-sequence; default 64, 0: none)"),
      cl::init(64), cl::cat(tuningCat)};
  cl::opt<int64_t> wkv5Chunk{
      "wkv5-chunk",
      cl::desc("Tokens per chunk of the RWKV-5/6 WKV chunk form in prompt "
               "calls (0: per-token scan)"),
      cl::init(0), cl::cat(tuningCat)};
  cl::opt<int64_t> wkv7Chunk{
      "wkv7-chunk",
      cl::desc("Tokens per chunk of the RWKV-7 WKV (DPLR) chunk form in "
               "prompt calls (0: per-token scan)"),
      cl::init(0), cl::cat(tuningCat)};
  cl::opt<int64_t> headTile{
      "head-tile",
      cl::desc("Heads per tile of the WKV ops (rwkv-tile-heads; 0: none)"),
      cl::init(0), cl::cat(tuningCat)};
  cl::opt<int64_t> rowTile{
      "row-tile",
      cl::desc("Output rows per tile of the projections (rwkv-tile-rows; 0: "
               "none)"),
      cl::init(0), cl::cat(tuningCat)};
  cl::opt<bool> remarks{
      "remarks",
      cl::desc("Print the optimization remarks of the passes: fusions and "
               "tilings they declined, and why"),
      cl::init(false), cl::cat(debugCat)};
  cl::opt<bool> verifyDiagnostics{
      "verify-diagnostics",
      cl::desc("Check that emitted diagnostics match expected-* lines in the "
               "spec (for tests)"),
      cl::init(false), cl::cat(debugCat)};
  cl::opt<bool> openmp{
      "openmp",
      cl::desc("Run projections, WKV heads and channel blocks on OpenMP "
               "threads (the runtime picks the count; default: on when "
               "LLVM's libomp is installed)"),
      cl::init(openmpAvailable()), cl::cat(targetCat)};
  cl::opt<bool> gpuEmulation{
      "gpu-emulation",
      cl::desc("Test infrastructure (GPU targets, --emit=so): also write "
               "kernels.emu.so, the kernels compiled for the host for the "
               "SIMT emulator of the test driver"),
      cl::init(false), cl::Hidden, cl::cat(debugCat)};
  cl::opt<std::string> mode{
      "mode",
      cl::desc("Entry-point forms to build: recurrent (one token per call, "
               "decode), parallel (T tokens per call, prefill) or both"),
      cl::init("both"), cl::cat(inputCat)};
  cl::opt<bool> allLogits{
      "all-logits",
      cl::desc("Also build a parallel-form head over every token "
               "(entry head_all), so the runtime can return the logits of "
               "every position of a prompt in one call "
               "(rwkv_session_eval_sequence_all, rwkv-run --all-logits)"),
      cl::init(false), cl::cat(inputCat)};
};

/// Writes `content` to `path`, or stdout when `path` is empty.

/// Progress of a compile on stderr while it is a terminal (quiet in
/// scripts, logs and tests): one line, rewritten as the stages and the
/// module-level passes go by, with the elapsed time; erased at the end and
/// before any diagnostic.
class CompileProgress {
public:
  explicit CompileProgress(bool wanted)
      : shown_(wanted && llvm::sys::Process::StandardErrIsDisplayed()) {}
  ~CompileProgress() { clear(); }
  void stage(const Twine &what) {
    if (!shown_)
      return;
    std::lock_guard<std::mutex> lock(mutex_);
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
            .count();
    std::string line = ("rwkvc: " + what).str();
    // Within the terminal's width (a wrapped line could not be erased);
    // long paths keep their end.
    unsigned columns = llvm::sys::Process::StandardErrColumns();
    size_t room = (columns ? columns : 80) - 12;
    if (line.size() > room && room > 20)
      line = line.substr(0, room / 2 - 2) + "..." +
             line.substr(line.size() - (room - room / 2 - 1));
    llvm::errs() << llvm::formatv("\r\033[K{0} [{1:f1} s]", line, s);
    llvm::errs().flush();
    drawn_ = true;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!drawn_)
      return;
    llvm::errs() << "\r\033[K";
    llvm::errs().flush();
    drawn_ = false;
  }
  /// Reports each module-level pass of `pm` as a stage ("lowering:
  /// convert-rwkv-to-linalg").
  void attach(PassManager &pm, StringRef phase) {
    if (shown_)
      pm.addInstrumentation(std::make_unique<Instrumentation>(*this, phase));
  }

private:
  struct Instrumentation : PassInstrumentation {
    Instrumentation(CompileProgress &p, StringRef phase)
        : progress(p), phase(phase.str()) {}
    void runBeforePass(Pass *pass, Operation *op) override {
      // Nested pipelines (adaptors) have no flag of their own.
      if (isa<ModuleOp>(op) && !pass->getArgument().empty())
        progress.stage(phase + ": " + pass->getArgument());
    }
    CompileProgress &progress;
    std::string phase;
  };
  bool shown_, drawn_ = false;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point start_ =
      std::chrono::steady_clock::now();
};

CompileProgress *progress = nullptr; ///< the running compile's, if any

LogicalResult fail(const Twine &message) {
  if (progress)
    progress->clear();
  llvm::errs() << "rwkvc: error: " << message << "\n";
  return failure();
}

void stage(const Twine &what) {
  if (progress)
    progress->stage(what);
}

LogicalResult writeOutput(StringRef path,
                          function_ref<void(llvm::raw_ostream &)> content) {
  if (progress)
    progress->clear();
  std::string error;
  auto file = openOutputFile(path.empty() ? "-" : path, &error);
  if (!file) {
    llvm::errs() << "rwkvc: error: " << error << "\n";
    return failure();
  }
  content(file->os());
  file->keep();
  return success();
}

/// The NVIDIA flow after import: GPU pipeline, PTX, cubins and fat binary,
/// host library and manifest.
/// The stages after LLVM IR, shared by the CPU and GPU flows:
/// --emit=llvm-ir|asm|obj write that output and set `done`; --emit=so
/// writes <dir>/model.o and links <dir>/model.so (with libomp when
/// `openmp`), leaving the images and the manifest to the caller.
LogicalResult emitLibrary(const Options &opts, llvm::Module &llvmModule,
                          llvm::TargetMachine &tm, bool openmp,
                          TimingScope &timing, bool &done) {
  done = true;
  std::string error;
  if (opts.emit == Stage::LLVMIR)
    return writeOutput(opts.output, [&](llvm::raw_ostream &os) {
      llvmModule.print(os, nullptr);
    });
  TimingScope codegenTiming = timing.nest("LLVM code generation");
  stage("LLVM code generation");
  if (opts.emit == Stage::Asm || opts.emit == Stage::Obj) {
    if (progress) // the output may go to this terminal
      progress->clear();
    std::string path = opts.output.empty() ? "-" : opts.output.getValue();
    auto file = openOutputFile(path, &error);
    if (!file)
      return fail(error);
    if (failed(emitMachineCode(llvmModule, tm, opts.emit == Stage::Asm,
                               file->os(), error)))
      return fail(error);
    file->keep();
    return success();
  }
  done = false;
  if (opts.output.empty())
    return fail("--emit=so needs an output directory: -o DIR");
  if (std::error_code ec = llvm::sys::fs::create_directories(opts.output))
    return fail("cannot create '" + opts.output + "': " + ec.message());
  llvm::SmallString<256> objPath(opts.output), soPath(opts.output);
  llvm::sys::path::append(objPath, "model.o");
  llvm::sys::path::append(soPath, "model.so");
  {
    auto file = openOutputFile(objPath, &error);
    if (!file)
      return fail(error);
    if (failed(emitMachineCode(llvmModule, tm, /*assembly=*/false, file->os(),
                               error)))
      return fail(error);
    file->keep();
  }
  codegenTiming.stop();
  TimingScope linkTiming = timing.nest("link shared library");
  stage("linking " + soPath);
  if (failed(linkSharedLibrary(objPath, soPath, openmp, error)))
    return fail(error);
  return success();
}

LogicalResult compileGpu(const Options &opts, MLIRContext &ctx,
                         const Spec &spec, ModuleOp module,
                         ArrayRef<EntryPoint> entries) {
  if (opts.emit == Stage::Linalg)
    return fail("--emit=linalg is a stage of the CPU pipeline; for "
                "--target=" +
                opts.target +
                " use --emit=gpu, nvvm, llvm, ptx, llvm-ir, asm, obj or so");
  std::string error;
  FailureOr<GpuTarget> target =
      resolveGpuTarget(opts.target, opts.cudaPath, error);
  if (failed(target))
    return fail(error);
  bool needsPtx = opts.emit != Stage::Gpu && opts.emit != Stage::Nvvm;
  bool needsAssembler =
      needsPtx && opts.emit != Stage::Ptx && opts.emit != Stage::LLVMDialect;
  if (needsPtx && failed(checkToolkit(*target, needsAssembler, error)))
    return fail(error);

  DefaultTimingManager timingManager;
  applyDefaultTimingManagerCLOptions(timingManager);
  TimingScope timing = timingManager.getRootScope();
  PassManager pm(&ctx, ModuleOp::getOperationName());
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  pm.enableTiming(timing);
  if (progress)
    progress->attach(pm, "lowering");
  GpuPipelineOptions pipelineOptions;
  pipelineOptions.chips = target->chips;
  pipelineOptions.cudaPath = target->cudaPath;
  pipelineOptions.features = target->ptxFeatures;
  if (opts.linearRows.getNumOccurrences())
    pipelineOptions.linearRows = opts.linearRows.getValue();
  if (opts.linearTokens.getNumOccurrences())
    pipelineOptions.linearTokens = opts.linearTokens.getValue();
  buildGpuKernelPipeline(pm, pipelineOptions);
  bool emulate = opts.gpuEmulation && opts.emit == Stage::So;
  if (emulate) {
    // Stop after stage 1: the emulation library is built from the kernels
    // before they are lowered to NVVM.
    if (opts.output.empty())
      return fail("--emit=so needs an output directory: -o DIR");
    if (failed(pm.run(module)))
      return failure();
    if (std::error_code ec = llvm::sys::fs::create_directories(opts.output))
      return fail("cannot create '" + opts.output + "': " + ec.message());
    llvm::SmallString<256> emuPath(opts.output);
    llvm::sys::path::append(emuPath, "kernels.emu.so");
    TimingScope emuTiming = timing.nest("kernels for the emulator");
    if (failed(emitGpuEmulation(module, emuPath, error)))
      return fail(error);
    pm.clear();
  }
  if (opts.emit != Stage::Gpu)
    buildGpuNvvmPipeline(pm, pipelineOptions);
  if (needsPtx)
    buildGpuHostPipeline(pm, pipelineOptions);
  if (failed(pm.run(module)))
    return failure();
  if (opts.emit == Stage::Gpu || opts.emit == Stage::Nvvm ||
      opts.emit == Stage::LLVMDialect)
    return writeOutput(opts.output,
                       [&](llvm::raw_ostream &os) { module->print(os); });

  GpuImages images;
  if (failed(collectPtx(module, images, error)))
    return fail(error);
  if (opts.emit == Stage::Ptx)
    return writeOutput(opts.output,
                       [&](llvm::raw_ostream &os) { printPtx(images, os); });
  {
    TimingScope asmTiming = timing.nest("ptxas + fatbinary");
    if (failed(assembleImages(*target, images, error)))
      return fail(error);
  }
  embedFatbin(module, images);

  // Host code: baseline x86-64, it only allocates, launches and copies.
  CpuTarget host = baselineX86Target();
  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(host, error);
  if (!tm)
    return fail(error);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule;
  {
    TimingScope llvmTiming = timing.nest("LLVM IR translation + -O3");
    stage("LLVM IR translation + -O3");
    llvmModule = emitLLVMModule(module, llvmContext, *tm, host, entries, error,
                                bindGpuRuntime);
  }
  if (!llvmModule)
    return fail(error);
  addShapeTable(*llvmModule, shapeTable(spec, entries));
  // --emit=so: model.so (host code + embedded fat binary), the images and
  // the manifest.
  bool done = false;
  LogicalResult emitted =
      emitLibrary(opts, *llvmModule, *tm, /*openmp=*/false, timing, done);
  if (failed(emitted) || done)
    return emitted;
  llvm::SmallString<256> manifestPath(opts.output);
  llvm::sys::path::append(manifestPath, "manifest.json");
  if (failed(writeImages(opts.output, images, error)))
    return fail(error);
  llvm::json::Object manifest = buildManifest(spec, host, entries, "model.so");
  manifest["device"] = deviceManifest(*target, images);
  return writeOutput(manifestPath, [&](llvm::raw_ostream &os) {
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest)))
       << "\n";
  });
}

/// Runs the compiler; diagnostics go through the context's handler.
LogicalResult compile(const Options &opts, MLIRContext &ctx,
                      StringRef specText) {
  std::optional<Spec> spec = parseSpec(specText, opts.input, &ctx);
  if (!spec)
    return failure();

  ImportOptions importOptions;
  if (opts.mode != "both" && opts.mode != "recurrent" &&
      opts.mode != "parallel")
    return fail("unknown --mode '" + opts.mode +
                "'; expected both, recurrent or parallel");
  importOptions.recurrent = opts.mode != "parallel";
  importOptions.parallel = opts.mode != "recurrent";
  importOptions.allLogits = opts.allLogits;
  stage("importing " + opts.input);
  OwningOpRef<ModuleOp> module = importSpec(*spec, &ctx, importOptions);
  if (!module || failed(verify(*module)))
    return failure();
  if (opts.emit == Stage::Rwkv)
    return writeOutput(opts.output,
                       [&](llvm::raw_ostream &os) { module->print(os); });
  if (opts.emit == Stage::RwkvFused) {
    PassManager pm(&ctx, ModuleOp::getOperationName());
    if (failed(applyPassManagerCLOptions(pm)))
      return failure();
    buildFusionPipeline(pm);
    if (failed(pm.run(*module)))
      return failure();
    return writeOutput(opts.output,
                       [&](llvm::raw_ostream &os) { module->print(os); });
  }

  std::vector<EntryPoint> entries = collectEntryPoints(*module);
  if (isGpuTargetName(opts.target)) {
    for (const ParamInfo &p : spec->parameters())
      if (p.dtype == "q8_0")
        return fail(opts.input + ": parameter '" + p.name +
                    "' is q8_0 (spec [precision]), which has CPU kernels "
                    "only; compile for --target=" +
                    opts.target + " with precision f32 or bf16");
    return compileGpu(opts, ctx, *spec, *module, entries);
  }
  if (opts.emit == Stage::Gpu || opts.emit == Stage::Nvvm ||
      opts.emit == Stage::Ptx)
    return fail("--emit=gpu, nvvm and ptx need an NVIDIA target, e.g. "
                "--target=sm_80 or --target=sm_80,sm_90");
  std::string error;
  FailureOr<CpuTarget> target = resolveCpuTarget(opts.target, error);
  if (failed(target))
    return fail(error);

  // One pass manager for the whole lowering, so --mlir-print-ir-*,
  // --mlir-timing and crash reproducers see it as one pipeline.
  DefaultTimingManager timingManager;
  applyDefaultTimingManagerCLOptions(timingManager);
  TimingScope timing = timingManager.getRootScope();
  PassManager pm(&ctx, ModuleOp::getOperationName());
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  pm.enableTiming(timing);
  if (progress)
    progress->attach(pm, "lowering");
  CpuPipelineOptions pipelineOptions;
  pipelineOptions.vectorWidth = target->vectorWidth;
  pipelineOptions.linearRows = opts.linearRows.getValue();
  pipelineOptions.linearTokens = opts.linearTokens.getValue();
  pipelineOptions.linearChunk = opts.linearChunk.getValue();
  pipelineOptions.sequenceChunk = opts.sequenceChunk.getValue();
  pipelineOptions.wkv5Chunk = opts.wkv5Chunk.getValue();
  pipelineOptions.wkv7Chunk = opts.wkv7Chunk.getValue();
  pipelineOptions.headTile = opts.headTile.getValue();
  pipelineOptions.rowTile = opts.rowTile.getValue();
  pipelineOptions.openmp = opts.openmp.getValue();
  buildCpuTensorPipeline(pm, pipelineOptions);
  if (opts.emit != Stage::Linalg)
    buildCpuLLVMPipeline(pm, pipelineOptions);
  if (failed(pm.run(*module)))
    return failure();
  if (opts.emit == Stage::Linalg || opts.emit == Stage::LLVMDialect)
    return writeOutput(opts.output,
                       [&](llvm::raw_ostream &os) { module->print(os); });

  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(*target, error);
  if (!tm)
    return fail(error);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule;
  {
    TimingScope llvmTiming = timing.nest("LLVM IR translation + -O3");
    stage("LLVM IR translation + -O3");
    llvmModule = emitLLVMModule(*module, llvmContext, *tm, *target, entries,
                                error, bindAllocator);
  }
  if (!llvmModule)
    return fail(error);
  addShapeTable(*llvmModule, shapeTable(*spec, entries));
  // --emit=so: <dir>/model.o, <dir>/model.so, <dir>/manifest.json.
  bool done = false;
  LogicalResult emitted =
      emitLibrary(opts, *llvmModule, *tm, opts.openmp, timing, done);
  if (failed(emitted) || done)
    return emitted;
  llvm::SmallString<256> manifestPath(opts.output);
  llvm::sys::path::append(manifestPath, "manifest.json");
  llvm::json::Object manifest =
      buildManifest(*spec, *target, entries, "model.so");
  manifest["threading"] = opts.openmp ? "openmp" : "none";
  return writeOutput(manifestPath, [&](llvm::raw_ostream &os) {
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest)))
       << "\n";
  });
}

} // namespace

int mlir::rwkv::compilerMain(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  // Pass names must be known before parsing --mlir-print-ir-after=<pass>.
  registerCompilerPasses();
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  Options opts;
  // The MLIR options people inspecting a lowering reach for; everything else
  // LLVM and MLIR register stays available behind --help-hidden.
  auto &registered = cl::getRegisteredOptions();
  for (StringRef name :
       {"mlir-print-ir-after-all", "mlir-print-ir-before-all",
        "mlir-print-ir-after", "mlir-print-ir-tree-dir", "mlir-timing",
        "mlir-pass-statistics", "mlir-pass-pipeline-crash-reproducer"}) {
    auto it = registered.find(name);
    if (it != registered.end())
      it->second->addCategory(debugCat);
  }
  // Hidden, not ReallyHidden (what cl::HideUnrelatedOptions sets), so that
  // --help-hidden still lists them.
  for (auto &entry : registered) {
    cl::Option *o = entry.second;
    bool ours = llvm::any_of(o->Categories, [](cl::OptionCategory *c) {
      return c == &inputCat || c == &targetCat || c == &tuningCat ||
             c == &debugCat || c->getName() == "Generic Options";
    });
    if (!ours && o->getOptionHiddenFlag() == cl::NotHidden)
      o->setHiddenFlag(cl::Hidden);
  }
  cl::ParseCommandLineOptions(
      argc, argv,
      "rwkvc: compile an RWKV model spec (TOML) to a shared library and "
      "manifest\n");

  DialectRegistry registry;
  registerCompilerDialects(registry);
  MLIRContext ctx(registry);

  llvm::SourceMgr sourceMgr;
  auto buffer = llvm::MemoryBuffer::getFile(opts.input, /*IsText=*/true);
  if (!buffer) {
    llvm::errs() << "rwkvc: error: cannot read spec '" << opts.input
                 << "': " << buffer.getError().message() << "\n";
    return 1;
  }
  StringRef text = (*buffer)->getBuffer();
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());

  if (opts.verifyDiagnostics) {
    SourceMgrDiagnosticVerifierHandler handler(sourceMgr, &ctx);
    (void)compile(opts, ctx, text);
    return failed(handler.verify()) ? 1 : 0;
  }
  SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);
  // Remarks (declined fusions) only on request; registered last, so it sees
  // every diagnostic first and passes the others on.
  ctx.getDiagEngine().registerHandler([&](Diagnostic &diag) {
    return success(diag.getSeverity() == DiagnosticSeverity::Remark &&
                   !opts.remarks);
  });
  // IR dumps, timing reports and statistics go to the same terminal: no
  // progress line with them.
  bool reports = false;
  for (StringRef name :
       {"mlir-print-ir-after-all", "mlir-print-ir-before-all",
        "mlir-print-ir-after", "mlir-print-ir-before", "mlir-timing",
        "mlir-pass-statistics", "mlir-print-ir-after-change",
        "mlir-print-ir-after-failure"}) {
    auto it = registered.find(name);
    reports |= it != registered.end() && it->second->getNumOccurrences() > 0;
  }
  CompileProgress compileProgress(!reports);
  progress = &compileProgress;
  // Runs before the handlers above: the progress line goes before any
  // diagnostic is printed.
  ctx.getDiagEngine().registerHandler([&](Diagnostic &diag) {
    if (diag.getSeverity() != DiagnosticSeverity::Remark || opts.remarks)
      compileProgress.clear();
    return failure();
  });
  bool ok = succeeded(compile(opts, ctx, text));
  progress = nullptr;
  return ok ? 0 : 1;
}
