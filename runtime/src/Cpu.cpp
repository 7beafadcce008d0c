//===- Cpu.cpp - host CPU feature checks ----------------------------------===//
//
// The manifest lists the ISA extensions the generated code may use (LLVM
// names, see codegen/Target.cpp). Loading code that uses an extension the
// host lacks would die with SIGILL on the first call, so the runtime checks
// first. __builtin_cpu_supports also accounts for OS support (XSAVE state).
//
//===----------------------------------------------------------------------===//

#include "Model.h"

#include <cstdlib>
#include <cstring>

namespace rwkvrt {

namespace {

struct Feature {
  const char *name;
  bool (*supported)();
};

#define RWKV_FEATURE(str)                                                      \
  Feature {                                                                    \
    str, [] { return __builtin_cpu_supports(str) != 0; }                       \
  }

const Feature kFeatures[] = {
    RWKV_FEATURE("sse4.1"),       RWKV_FEATURE("sse4.2"),
    RWKV_FEATURE("popcnt"),       RWKV_FEATURE("avx"),
    RWKV_FEATURE("avx2"),         RWKV_FEATURE("fma"),
    RWKV_FEATURE("f16c"),         RWKV_FEATURE("bmi"),
    RWKV_FEATURE("bmi2"),         RWKV_FEATURE("avx512f"),
    RWKV_FEATURE("avx512cd"),     RWKV_FEATURE("avx512dq"),
    RWKV_FEATURE("avx512bw"),     RWKV_FEATURE("avx512vl"),
    RWKV_FEATURE("avx512ifma"),   RWKV_FEATURE("avx512vbmi"),
    RWKV_FEATURE("avx512vbmi2"),  RWKV_FEATURE("avx512vnni"),
    RWKV_FEATURE("avx512bitalg"), RWKV_FEATURE("avx512vpopcntdq"),
    RWKV_FEATURE("avx512bf16"),   RWKV_FEATURE("avx512fp16"),
    RWKV_FEATURE("gfni"),         RWKV_FEATURE("vpclmulqdq"),
    RWKV_FEATURE("vaes"),
};

#undef RWKV_FEATURE

} // namespace

void checkHostCpu(const Manifest &manifest) {
  __builtin_cpu_init();
  // Comma-separated features to treat as absent (testing, or to refuse
  // artifacts that use an extension known to be slow on this host).
  std::string hidden;
  if (const char *env = std::getenv("RWKV_HIDE_CPU_FEATURES"))
    hidden = std::string(",") + env + ",";
  std::string missing;
  for (const std::string &name : manifest.cpuFeatures) {
    const Feature *found = nullptr;
    for (const Feature &f : kFeatures)
      if (name == f.name)
        found = &f;
    if (!found)
      fail(RWKV_ERROR_CPU, manifest.path +
                               ": the artifact needs CPU feature '" + name +
                               "', which this runtime cannot check");
    if (!found->supported() ||
        hidden.find("," + name + ",") != std::string::npos)
      missing += (missing.empty() ? "" : ", ") + name;
  }
  if (!missing.empty())
    fail(RWKV_ERROR_CPU,
         manifest.path + ": the artifact was compiled for " +
             manifest.targetCpu + " and needs CPU features this host lacks: " +
             missing + "; recompile with rwkvc --target=host (or x86-64-v3)");
}

} // namespace rwkvrt
