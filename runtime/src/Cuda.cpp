//===- Cuda.cpp - the CUDA driver, loaded at run time ---------------------===//

#include "Cuda.h"

#include "Error.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <mutex>

namespace rwkvrt {

namespace {

// The few driver API types and constants used here (cuda.h is not needed to
// build the runtime).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;
using CUmemoryPool = void *;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_NO_BINARY_FOR_GPU = 209;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED = 115;
constexpr int CU_MEMPOOL_ATTR_RELEASE_THRESHOLD = 4;
constexpr unsigned CU_STREAM_NON_BLOCKING = 1;

/// Driver entry points (the `_v2` names are those cuda.h maps to).
struct Api {
  std::string error; ///< why the driver could not be used
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDriverGetVersion)(int *);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxGetCurrent)(CUcontext *);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
  CUresult (*cuMemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*cuMemsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  // Optional (stream-ordered allocation, CUDA 11.2 and newer).
  CUresult (*cuMemAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*cuMemFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*cuDeviceGetDefaultMemPool)(CUmemoryPool *, CUdevice);
  CUresult (*cuMemPoolSetAttribute)(CUmemoryPool, int, void *);
};

/// The driver API of the library at `path`, loaded once per path (the
/// library stays loaded for the life of the process).
const Api &loadApi(const std::string &path) {
  static std::mutex mutex;
  // Never destroyed, like the libraries (kernels may still run at exit);
  // reachable from here, so leak checkers do not report the Api objects.
  static std::map<std::string, Api *> &loaded =
      *new std::map<std::string, Api *>();
  std::lock_guard<std::mutex> lock(mutex);
  Api *&slot = loaded[path];
  if (slot)
    return *slot;
  slot = new Api();
  Api &a = *slot;
  {
    void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char *why = dlerror();
      a.error = "cannot load the CUDA driver (" + path +
                "): " + (why ? why : "unknown dlopen error");
      return a;
    }
    auto sym = [&](auto &fn, const char *name, bool required = true) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
          dlsym(lib, name));
      if (!fn && required && a.error.empty())
        a.error = "the CUDA driver (" + path + ") lacks " + name +
                  " (a driver for CUDA 11.2 or newer is needed)";
    };
    sym(a.cuInit, "cuInit");
    sym(a.cuDriverGetVersion, "cuDriverGetVersion");
    sym(a.cuGetErrorName, "cuGetErrorName");
    sym(a.cuGetErrorString, "cuGetErrorString");
    sym(a.cuDeviceGetCount, "cuDeviceGetCount");
    sym(a.cuDeviceGet, "cuDeviceGet");
    sym(a.cuDeviceGetName, "cuDeviceGetName");
    sym(a.cuDeviceGetAttribute, "cuDeviceGetAttribute");
    sym(a.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    sym(a.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
    sym(a.cuCtxSetCurrent, "cuCtxSetCurrent");
    sym(a.cuCtxGetCurrent, "cuCtxGetCurrent");
    sym(a.cuMemAlloc, "cuMemAlloc_v2");
    sym(a.cuMemFree, "cuMemFree_v2");
    sym(a.cuMemcpyHtoD, "cuMemcpyHtoD_v2");
    sym(a.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
    sym(a.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
    sym(a.cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
    sym(a.cuMemcpyAsync, "cuMemcpyAsync");
    sym(a.cuMemsetD32Async, "cuMemsetD32Async");
    sym(a.cuMemsetD16Async, "cuMemsetD16Async");
    sym(a.cuStreamCreate, "cuStreamCreate");
    sym(a.cuStreamDestroy, "cuStreamDestroy_v2");
    sym(a.cuStreamSynchronize, "cuStreamSynchronize");
    sym(a.cuModuleLoadData, "cuModuleLoadData");
    sym(a.cuModuleUnload, "cuModuleUnload");
    sym(a.cuModuleGetFunction, "cuModuleGetFunction");
    sym(a.cuLaunchKernel, "cuLaunchKernel");
    sym(a.cuMemAllocAsync, "cuMemAllocAsync", false);
    sym(a.cuMemFreeAsync, "cuMemFreeAsync", false);
    sym(a.cuDeviceGetDefaultMemPool, "cuDeviceGetDefaultMemPool", false);
    sym(a.cuMemPoolSetAttribute, "cuMemPoolSetAttribute", false);
  }
  return a;
}

/// The driver library named by $RWKV_CUDA_DRIVER, else libcuda.so.1.
std::string driverPath() {
  const char *env = std::getenv("RWKV_CUDA_DRIVER");
  return env && *env ? env : "libcuda.so.1";
}

std::string errorText(const Api &a, CUresult r) {
  const char *name = nullptr, *text = nullptr;
  if (a.cuGetErrorName)
    a.cuGetErrorName(r, &name);
  if (a.cuGetErrorString)
    a.cuGetErrorString(r, &text);
  std::string s = name ? name : "CUDA error " + std::to_string(r);
  if (text)
    s += std::string(" (") + text + ")";
  return s;
}

/// Compute capability of a chip name ("sm_90a" -> 90, a = true).
int chipNumber(const std::string &chip, bool *archSpecific = nullptr) {
  int n = std::atoi(chip.c_str() + 3);
  if (archSpecific)
    *archSpecific = !chip.empty() && chip.back() == 'a';
  return n;
}

//===----------------------------------------------------------------------===//
// mgpu* implementation
//===----------------------------------------------------------------------===//

/// What the mgpu* functions act on, per thread (set by GpuCall).
struct CallState {
  const CudaContext *context = nullptr;
  CudaStream *stream = nullptr;
  std::string error;
};

thread_local CallState *current = nullptr;

/// $RWKV_GPU_PROFILE (a file, or "-" for stderr): every kernel launch is
/// synchronized and timed on the host, and a table of calls and time per
/// kernel is written when the process exits. For finding where a GPU model
/// spends its time; it removes the overlap of launches with host work, so
/// it is off by default.
class KernelProfile {
public:
  static KernelProfile &get() {
    static KernelProfile profile;
    return profile;
  }
  bool enabled() const { return !path_.empty(); }
  void name(const void *fn, const char *name) {
    std::lock_guard<std::mutex> lock(mutex_);
    names_[fn] = name;
  }
  void add(const void *fn, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = names_.find(fn);
    Total &t = totals_[it == names_.end() ? "?" : it->second];
    ++t.calls;
    t.seconds += seconds;
  }
  ~KernelProfile() {
    if (!enabled() || totals_.empty())
      return;
    std::FILE *f = path_ == "-" ? stderr : std::fopen(path_.c_str(), "w");
    if (!f) {
      std::fprintf(stderr, "rwkv: cannot write the kernel profile '%s'\n",
                   path_.c_str());
      return;
    }
    std::vector<std::pair<std::string, Total>> rows(totals_.begin(),
                                                    totals_.end());
    std::sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
      return a.second.seconds > b.second.seconds;
    });
    double all = 0;
    for (const auto &r : rows)
      all += r.second.seconds;
    std::fprintf(f, "# kernel\tcalls\ttotal_ms\tmean_us\tshare\n");
    for (const auto &r : rows)
      std::fprintf(f, "%s\t%lld\t%.3f\t%.1f\t%.3f\n", r.first.c_str(),
                   static_cast<long long>(r.second.calls),
                   r.second.seconds * 1e3,
                   r.second.seconds * 1e6 / static_cast<double>(r.second.calls),
                   all > 0 ? r.second.seconds / all : 0.0);
    if (f != stderr)
      std::fclose(f);
  }

private:
  struct Total {
    int64_t calls = 0;
    double seconds = 0;
  };
  KernelProfile() {
    if (const char *env = std::getenv("RWKV_GPU_PROFILE"))
      path_ = env;
  }
  std::string path_;
  std::mutex mutex_;
  std::map<const void *, std::string> names_;
  std::map<std::string, Total> totals_;
};
thread_local std::vector<std::string> unresolved;

const Api &api() { return *static_cast<const Api *>(current->context->api()); }

CUstream currentStream() {
  return current && current->stream ? current->stream->handle() : nullptr;
}

/// Records the first failure of the scope; true if `r` is a failure.
bool failed(CUresult r, const std::string &what) {
  if (r == CUDA_SUCCESS)
    return false;
  if (current && current->error.empty())
    current->error = what + ": " + errorText(api(), r);
  return true;
}

bool skipping() { return !current || !current->error.empty(); }

void record(const std::string &what) {
  if (current && current->error.empty())
    current->error = what;
}

extern "C" {

void *rwkvMgpuModuleLoad(void *data, size_t /*size*/) {
  if (skipping())
    return nullptr;
  CUmodule module = nullptr;
  CUresult r = api().cuModuleLoadData(&module, data);
  if (r == CUDA_ERROR_NO_BINARY_FOR_GPU) {
    record("loading the kernels: the artifact has no code for this GPU (" +
           current->context->description() + "): " + errorText(api(), r));
    return nullptr;
  }
  if (failed(r, "loading the kernels (cuModuleLoadData)"))
    return nullptr;
  return module;
}

void *rwkvMgpuModuleLoadJIT(void *data, int /*optLevel*/) {
  return rwkvMgpuModuleLoad(data, 0);
}

void rwkvMgpuModuleUnload(void *module) {
  if (module && current)
    api().cuModuleUnload(module);
}

void *rwkvMgpuModuleGetFunction(void *module, const char *name) {
  if (skipping())
    return nullptr;
  if (!module) {
    record(std::string("kernel '") + name + "': the kernels are not loaded");
    return nullptr;
  }
  CUfunction fn = nullptr;
  if (failed(api().cuModuleGetFunction(&fn, module, name),
             std::string("finding kernel '") + name + "'"))
    return nullptr;
  if (KernelProfile::get().enabled())
    KernelProfile::get().name(fn, name);
  return fn;
}

void rwkvMgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                          intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                          intptr_t blockZ, int32_t smem, void * /*stream*/,
                          void **params, void **extra, size_t /*count*/) {
  if (skipping() || !function)
    return;
  // An empty grid has nothing to do (the driver would reject it).
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0)
    return;
  if (gridX > 0x7fffffff || gridY > 65535 || gridZ > 65535) {
    record("kernel launch with grid " + std::to_string(gridX) + " x " +
           std::to_string(gridY) + " x " + std::to_string(gridZ) +
           " exceeds the hardware limits");
    return;
  }
  KernelProfile &profile = KernelProfile::get();
  std::chrono::steady_clock::time_point start;
  if (profile.enabled()) {
    if (failed(api().cuStreamSynchronize(currentStream()),
               "synchronizing before a profiled kernel"))
      return;
    start = std::chrono::steady_clock::now();
  }
  if (failed(api().cuLaunchKernel(
                 function, static_cast<unsigned>(gridX),
                 static_cast<unsigned>(gridY), static_cast<unsigned>(gridZ),
                 static_cast<unsigned>(blockX), static_cast<unsigned>(blockY),
                 static_cast<unsigned>(blockZ), static_cast<unsigned>(smem),
                 currentStream(), params, extra),
             "launching a kernel (cuLaunchKernel)"))
    return;
  if (profile.enabled() && !failed(api().cuStreamSynchronize(currentStream()),
                                   "running a profiled kernel"))
    profile.add(function, std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - start)
                              .count());
}

/// All work of a session is on its stream: the stream the generated code
/// asks for is that stream, and waiting on it or destroying it does
/// nothing (the runtime synchronizes when it reads results).
void *rwkvMgpuStreamCreate() {
  CUstream s = currentStream();
  // A non-null handle even on the default stream, so generated null checks
  // (if any) pass; the launches use currentStream() anyway.
  return s ? s : reinterpret_cast<void *>(uintptr_t(1));
}
void rwkvMgpuStreamDestroy(void *) {}
void rwkvMgpuStreamSynchronize(void *) {}
void rwkvMgpuStreamWaitEvent(void *, void *) {}
void *rwkvMgpuEventCreate() { return reinterpret_cast<void *>(uintptr_t(1)); }
void rwkvMgpuEventDestroy(void *) {}
void rwkvMgpuEventSynchronize(void *) {}
void rwkvMgpuEventRecord(void *, void *) {}

void *rwkvMgpuMemAlloc(uint64_t bytes, void * /*stream*/, bool hostShared) {
  if (skipping() || bytes == 0)
    return nullptr;
  if (hostShared) {
    record("the artifact asks for host-shared memory, which the runtime does "
           "not provide");
    return nullptr;
  }
  CUdeviceptr p = 0;
  const Api &a = api();
  CUresult r = current->context->streamOrderedAllocation()
                   ? a.cuMemAllocAsync(&p, bytes, currentStream())
                   : a.cuMemAlloc(&p, bytes);
  if (failed(r,
             "allocating " + std::to_string(bytes) + " bytes of device memory"))
    return nullptr;
  return reinterpret_cast<void *>(static_cast<uintptr_t>(p));
}

void rwkvMgpuMemFree(void *ptr, void * /*stream*/) {
  if (!ptr || !current)
    return;
  const Api &a = api();
  CUdeviceptr p = reinterpret_cast<uintptr_t>(ptr);
  CUresult r = current->context->streamOrderedAllocation()
                   ? a.cuMemFreeAsync(p, currentStream())
                   : a.cuMemFree(p);
  failed(r, "freeing device memory");
}

void rwkvMgpuMemcpy(void *dst, void *src, size_t bytes, void * /*stream*/) {
  if (skipping() || bytes == 0)
    return;
  failed(api().cuMemcpyAsync(reinterpret_cast<uintptr_t>(dst),
                             reinterpret_cast<uintptr_t>(src), bytes,
                             currentStream()),
         "copying device memory");
}

void rwkvMgpuMemset32(void *dst, unsigned value, size_t count, void *) {
  if (skipping() || count == 0)
    return;
  failed(api().cuMemsetD32Async(reinterpret_cast<uintptr_t>(dst), value, count,
                                currentStream()),
         "filling device memory");
}

void rwkvMgpuMemset16(void *dst, unsigned short value, size_t count, void *) {
  if (skipping() || count == 0)
    return;
  failed(api().cuMemsetD16Async(reinterpret_cast<uintptr_t>(dst), value, count,
                                currentStream()),
         "filling device memory");
}

void rwkvMgpuSetDefaultDevice(int32_t) {}

} // extern "C"

struct Entry {
  const char *name;
  void *fn;
};

const Entry kFunctions[] = {
    {"mgpuModuleLoad", reinterpret_cast<void *>(&rwkvMgpuModuleLoad)},
    {"mgpuModuleLoadJIT", reinterpret_cast<void *>(&rwkvMgpuModuleLoadJIT)},
    {"mgpuModuleUnload", reinterpret_cast<void *>(&rwkvMgpuModuleUnload)},
    {"mgpuModuleGetFunction",
     reinterpret_cast<void *>(&rwkvMgpuModuleGetFunction)},
    {"mgpuLaunchKernel", reinterpret_cast<void *>(&rwkvMgpuLaunchKernel)},
    {"mgpuStreamCreate", reinterpret_cast<void *>(&rwkvMgpuStreamCreate)},
    {"mgpuStreamDestroy", reinterpret_cast<void *>(&rwkvMgpuStreamDestroy)},
    {"mgpuStreamSynchronize",
     reinterpret_cast<void *>(&rwkvMgpuStreamSynchronize)},
    {"mgpuStreamWaitEvent", reinterpret_cast<void *>(&rwkvMgpuStreamWaitEvent)},
    {"mgpuEventCreate", reinterpret_cast<void *>(&rwkvMgpuEventCreate)},
    {"mgpuEventDestroy", reinterpret_cast<void *>(&rwkvMgpuEventDestroy)},
    {"mgpuEventSynchronize",
     reinterpret_cast<void *>(&rwkvMgpuEventSynchronize)},
    {"mgpuEventRecord", reinterpret_cast<void *>(&rwkvMgpuEventRecord)},
    {"mgpuMemAlloc", reinterpret_cast<void *>(&rwkvMgpuMemAlloc)},
    {"mgpuMemFree", reinterpret_cast<void *>(&rwkvMgpuMemFree)},
    {"mgpuMemcpy", reinterpret_cast<void *>(&rwkvMgpuMemcpy)},
    {"mgpuMemset32", reinterpret_cast<void *>(&rwkvMgpuMemset32)},
    {"mgpuMemset16", reinterpret_cast<void *>(&rwkvMgpuMemset16)},
    {"mgpuSetDefaultDevice",
     reinterpret_cast<void *>(&rwkvMgpuSetDefaultDevice)},
};

} // namespace

extern "C" void *rwkvResolveGpuFunction(const char *name) {
  for (const Entry &e : kFunctions)
    if (std::strcmp(e.name, name) == 0)
      return e.fn;
  unresolved.push_back(name);
  return nullptr;
}

std::vector<std::string> unresolvedGpuFunctions() {
  std::vector<std::string> names;
  names.swap(unresolved);
  return names;
}

//===----------------------------------------------------------------------===//
// CudaContext, CudaStream, GpuCall
//===----------------------------------------------------------------------===//

CudaContext::CudaContext(const std::string &artifact,
                         const std::vector<std::string> &chips) {
  const Api &a = loadApi(driverPath());
  api_ = &a;
  std::string prefix = artifact + ": this artifact runs on NVIDIA GPUs, but ";
  if (!a.error.empty())
    fail(RWKV_ERROR_DEVICE, prefix + a.error);
  CUresult r = a.cuInit(0);
  if (r != CUDA_SUCCESS)
    fail(RWKV_ERROR_DEVICE,
         prefix + "the CUDA driver found no usable GPU: cuInit failed with " +
             errorText(a, r));
  int count = 0;
  r = a.cuDeviceGetCount(&count);
  if (r != CUDA_SUCCESS || count == 0)
    fail(RWKV_ERROR_DEVICE, prefix + "the CUDA driver reports no GPU");
  int ordinal = 0;
  if (const char *env = std::getenv("RWKV_CUDA_DEVICE"))
    ordinal = std::atoi(env);
  if (ordinal < 0 || ordinal >= count)
    fail(RWKV_ERROR_DEVICE,
         prefix + "RWKV_CUDA_DEVICE=" + std::to_string(ordinal) +
             " does not name one of the " + std::to_string(count) + " GPUs");
  check(a.cuDeviceGet(&device_, ordinal), "cuDeviceGet");
  char name[256] = {0};
  check(a.cuDeviceGetName(name, sizeof(name) - 1, device_), "cuDeviceGetName");
  int major = 0, minor = 0;
  check(a.cuDeviceGetAttribute(
            &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device_),
        "cuDeviceGetAttribute");
  check(a.cuDeviceGetAttribute(
            &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device_),
        "cuDeviceGetAttribute");
  int cc = major * 10 + minor;
  std::string sm = "sm_" + std::to_string(cc);
  description_ =
      "cuda:" + std::to_string(ordinal) + " " + name + " (" + sm + ")";

  // A cubin runs on its chip and later minor versions of the same major
  // (sm_90a only on sm_90); the PTX of the newest chip is JIT-compiled for
  // anything at least as new.
  bool runs = false;
  int newest = 0;
  std::string list;
  for (const std::string &chip : chips) {
    bool archSpecific = false;
    int n = chipNumber(chip, &archSpecific);
    newest = std::max(newest, n);
    if (archSpecific ? n == cc : (n / 10 == major && n <= cc))
      runs = true;
    list += (list.empty() ? "" : ", ") + chip;
  }
  if (newest && newest <= cc)
    runs = true;
  if (!runs)
    fail(RWKV_ERROR_DEVICE, prefix + "it has code for " + list +
                                " and this GPU is " + description_ +
                                "; recompile with rwkvc --target=" + sm);

  check(a.cuDevicePrimaryCtxRetain(&context_, device_),
        "cuDevicePrimaryCtxRetain");
  makeCurrent();
  int poolsSupported = 0;
  if (a.cuMemAllocAsync && a.cuMemFreeAsync && a.cuDeviceGetDefaultMemPool &&
      a.cuMemPoolSetAttribute &&
      a.cuDeviceGetAttribute(&poolsSupported,
                             CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED,
                             device_) == CUDA_SUCCESS &&
      poolsSupported) {
    CUmemoryPool pool = nullptr;
    if (a.cuDeviceGetDefaultMemPool(&pool, device_) == CUDA_SUCCESS) {
      // Keep freed temporaries in the pool between calls.
      uint64_t keep = UINT64_MAX;
      a.cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keep);
      pools_ = true;
    }
  }
}

namespace {
const Api &A(const CudaContext *c) {
  return *static_cast<const Api *>(c->api());
}
} // namespace

CudaContext::~CudaContext() {
  if (context_) {
    A(this).cuCtxSetCurrent(context_);
    A(this).cuDevicePrimaryCtxRelease(device_);
  }
}

void CudaContext::check(int result, const std::string &what) const {
  if (result != CUDA_SUCCESS)
    fail(RWKV_ERROR_DEVICE,
         what + " failed on " +
             (description_.empty() ? std::string("the GPU") : description_) +
             ": " + errorText(*static_cast<const Api *>(api_), result));
}

void CudaContext::makeCurrent() const {
  check(A(this).cuCtxSetCurrent(context_), "cuCtxSetCurrent");
}

DevicePtr CudaContext::alloc(size_t bytes) const {
  CUdeviceptr p = 0;
  if (bytes == 0)
    return 0;
  check(A(this).cuMemAlloc(&p, bytes),
        "allocating " + std::to_string(bytes) + " bytes of device memory");
  return p;
}

void CudaContext::free(DevicePtr p) const {
  if (p)
    A(this).cuMemFree(p);
}

void CudaContext::upload(DevicePtr dst, const void *src, size_t bytes) const {
  if (bytes)
    check(A(this).cuMemcpyHtoD(dst, src, bytes), "copying weights to the GPU");
}

CudaStream::CudaStream(const CudaContext &context) : context_(context) {
  context.makeCurrent();
  context.check(A(&context).cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING),
                "cuStreamCreate");
}

CudaStream::~CudaStream() {
  if (stream_) {
    A(&context_).cuCtxSetCurrent(context_.handle());
    A(&context_).cuStreamSynchronize(stream_);
    A(&context_).cuStreamDestroy(stream_);
  }
}

void CudaStream::upload(DevicePtr dst, const void *src, size_t bytes) {
  if (bytes)
    context_.check(A(&context_).cuMemcpyHtoDAsync(dst, src, bytes, stream_),
                   "copying to the GPU");
}

void CudaStream::download(void *dst, DevicePtr src, size_t bytes) {
  if (bytes)
    context_.check(A(&context_).cuMemcpyDtoHAsync(dst, src, bytes, stream_),
                   "copying from the GPU");
}

void CudaStream::copy(DevicePtr dst, DevicePtr src, size_t bytes) {
  if (bytes)
    context_.check(A(&context_).cuMemcpyDtoDAsync(dst, src, bytes, stream_),
                   "copying device memory");
}

void CudaStream::fill32(DevicePtr dst, uint32_t value, size_t count) {
  if (count)
    context_.check(A(&context_).cuMemsetD32Async(dst, value, count, stream_),
                   "filling device memory");
}

void CudaStream::synchronize() {
  context_.check(A(&context_).cuStreamSynchronize(stream_),
                 "running the model (a kernel or copy failed)");
}

GpuCall::GpuCall(const CudaContext &context, CudaStream *stream) {
  context.makeCurrent();
  auto *state = new CallState{&context, stream, {}};
  previous_ = current;
  current = state;
}

GpuCall::~GpuCall() {
  delete current;
  current = static_cast<CallState *>(previous_);
}

void GpuCall::check(const std::string &what) {
  if (current && !current->error.empty())
    fail(RWKV_ERROR_DEVICE, what + ": " + current->error);
}

} // namespace rwkvrt
