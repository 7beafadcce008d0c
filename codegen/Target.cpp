//===- Target.cpp - x86-64 code generation targets ------------------------===//

#include "codegen/Target.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <mutex>

using namespace mlir;
using namespace mlir::rwkv;

namespace {

/// x86-64 ISA extensions the runtime knows how to check (runtime/src/Cpu.cpp
/// carries the same list). Only these are recorded in manifests.
const char *const kCheckableFeatures[] = {
    "sse4.1",      "sse4.2",     "popcnt",       "avx",
    "avx2",        "fma",        "f16c",         "bmi",
    "bmi2",        "avx512f",    "avx512cd",     "avx512dq",
    "avx512bw",    "avx512vl",   "avx512ifma",   "avx512vbmi",
    "avx512vbmi2", "avx512vnni", "avx512bitalg", "avx512vpopcntdq",
    "avx512bf16",  "avx512fp16", "gfni",         "vpclmulqdq",
    "vaes"};

const char *const kV3[] = {"sse4.1", "sse4.2", "popcnt", "avx", "avx2",
                           "fma",    "f16c",   "bmi",    "bmi2"};
const char *const kV4Extra[] = {"avx512f", "avx512cd", "avx512dq", "avx512bw",
                                "avx512vl"};

void initTargets() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
  });
}

} // namespace

CpuTarget mlir::rwkv::baselineX86Target() {
  CpuTarget t;
  t.name = "x86-64";
  t.triple = "x86_64-unknown-linux-gnu";
  t.cpu = "x86-64";
  t.vectorWidth = 4;
  return t;
}

FailureOr<CpuTarget> mlir::rwkv::resolveCpuTarget(StringRef name,
                                                  std::string &error) {
  CpuTarget t;
  t.name = name.str();
  t.triple = "x86_64-unknown-linux-gnu";
  if (name == "host") {
    t.cpu = llvm::sys::getHostCPUName().str();
    llvm::StringMap<bool> host = llvm::sys::getHostCPUFeatures();
    std::string features;
    for (auto &kv : host) {
      if (!features.empty())
        features += ",";
      features += (kv.second ? "+" : "-") + kv.first().str();
    }
    t.features = features;
    for (const char *f : kCheckableFeatures) {
      auto it = host.find(f);
      if (it != host.end() && it->second)
        t.isaFeatures.push_back(f);
    }
  } else if (name == "x86-64-v3" || name == "x86-64-v4") {
    t.cpu = name.str();
    t.isaFeatures.assign(std::begin(kV3), std::end(kV3));
    if (name == "x86-64-v4")
      t.isaFeatures.insert(t.isaFeatures.end(), std::begin(kV4Extra),
                           std::end(kV4Extra));
  } else {
    error = ("unknown --target '" + name +
             "'; expected host, x86-64-v3, x86-64-v4 or NVIDIA chips "
             "(sm_80, sm_90, ...)")
                .str();
    return failure();
  }
  auto has = [&](StringRef f) { return llvm::is_contained(t.isaFeatures, f); };
  if (!has("avx2") || !has("fma")) {
    error = "target '" + t.name + "' (" + t.cpu +
            ") lacks AVX2/FMA; rwkv-mlir generates code for x86-64-v3 and up";
    return failure();
  }
  t.vectorWidth = has("avx512f") ? 16 : 8;
  return t;
}

std::unique_ptr<llvm::TargetMachine>
mlir::rwkv::createTargetMachine(const CpuTarget &target, std::string &error) {
  initTargets();
  llvm::Triple triple(target.triple);
  const llvm::Target *llvmTarget =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget)
    return nullptr;
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(llvmTarget->createTargetMachine(
      triple, target.cpu, target.features, options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    error = "cannot create an LLVM target machine for " + target.cpu;
  return tm;
}
