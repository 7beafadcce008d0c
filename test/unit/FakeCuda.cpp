//===- FakeCuda.cpp - a CUDA driver that emulates the GPU (tests) ---------===//
//
// Test infrastructure, never shipped: a stand-in for libcuda.so.1 that the
// runtime loads through RWKV_CUDA_DRIVER. It implements the driver API
// subset the runtime uses with host memory as "device" memory and runs
// kernels on the CPU:
//
//  * cuModuleLoadData checks that the image is a fat binary and loads the
//    emulation library named by RWKV_FAKE_CUDA_KERNELS (kernels.emu.so,
//    written by `rwkvc --gpu-emulation`: every kernel compiled for the host
//    with the GPU's parameter ABI);
//  * cuLaunchKernel runs the grid block by block; the threads of a block are
//    fibers (ucontext) scheduled round-robin. A thread runs until it
//    finishes or reaches a barrier (block-wide) or a shuffle (warp-wide:
//    all live threads of its 32-lane warp); a deadlock (threads waiting at
//    different points) aborts with a message.
//
// Environment: RWKV_FAKE_CUDA_DEVICES (number of GPUs, default 1),
// RWKV_FAKE_CUDA_CC (compute capability, default 90). The C function
// rwkvFakeCudaLiveAllocations() reports the allocations not yet freed.
//
//===----------------------------------------------------------------------===//

#include <atomic>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <ucontext.h>
#include <vector>

namespace {

using CUresult = int;
constexpr CUresult kSuccess = 0, kInvalidValue = 1, kOutOfMemory = 2,
                   kNoDevice = 100, kInvalidImage = 200, kNotFound = 500,
                   kLaunchFailed = 719;

std::atomic<int64_t> liveAllocations{0};

struct Function {
  void (*fn)(void **) = nullptr;
  std::string name;
};

struct Module {
  void *library = nullptr;
  /// One Function per name, owned by the module (as the driver's are).
  std::map<std::string, std::unique_ptr<Function>> functions;
  std::mutex mutex;
};

//===----------------------------------------------------------------------===//
// SIMT emulation
//===----------------------------------------------------------------------===//

enum class Wait { None, Warp, Block };

struct Fiber {
  ucontext_t context; ///< first entry
  jmp_buf jump;       ///< later switches (no signal-mask system calls)
  bool started = false;
  int64_t tid[3] = {0, 0, 0};
  int64_t linear = 0;
  Wait wait = Wait::None;
  bool done = false;
  float slot = 0;
};

struct BlockRun {
  std::vector<Fiber> fibers;
  ucontext_t scheduler;
  jmp_buf schedulerJump;
  int64_t bid[3], bdim[3], gdim[3];
  Fiber *current = nullptr;
  void (*fn)(void **) = nullptr;
  void **params = nullptr;
};

thread_local BlockRun *running = nullptr;

void yieldToScheduler(Wait w) {
  Fiber *f = running->current;
  f->wait = w;
  if (!_setjmp(f->jump))
    _longjmp(running->schedulerJump, 1);
}

/// Runs `f` until it finishes or waits.
void resume(BlockRun &run, Fiber &f) {
  run.current = &f;
  if (_setjmp(run.schedulerJump))
    return;
  if (!f.started) {
    f.started = true;
    swapcontext(&run.scheduler, &f.context);
  } else {
    _longjmp(f.jump, 1);
  }
}

extern "C" int64_t emuId(int32_t code) {
  int kind = code / 3, dim = code % 3;
  switch (kind) {
  case 0:
    return running->current->tid[dim];
  case 1:
    return running->bid[dim];
  case 2:
    return running->bdim[dim];
  default:
    return running->gdim[dim];
  }
}

extern "C" void emuBarrier() { yieldToScheduler(Wait::Block); }

extern "C" float emuShuffleXor(float value, int32_t offset, int32_t width) {
  Fiber *f = running->current;
  f->slot = value;
  yieldToScheduler(Wait::Warp); // every lane has published its value
  int64_t lane = f->linear % 32, base = f->linear - lane;
  int64_t partner = base + ((lane ^ offset) % width);
  float r = partner < static_cast<int64_t>(running->fibers.size())
                ? running->fibers[partner].slot
                : value;
  yieldToScheduler(Wait::Warp); // every lane has read before slots change
  return r;
}

void *resolveEmu(const char *name) {
  if (!std::strcmp(name, "rwkv_emu_id"))
    return reinterpret_cast<void *>(&emuId);
  if (!std::strcmp(name, "rwkv_emu_barrier"))
    return reinterpret_cast<void *>(&emuBarrier);
  if (!std::strcmp(name, "rwkv_emu_shuffle_xor_f32"))
    return reinterpret_cast<void *>(&emuShuffleXor);
  return nullptr;
}

void fiberMain() {
  Fiber *f = running->current;
  running->fn(running->params);
  f->done = true;
  _longjmp(running->schedulerJump, 1);
}

/// Runs one block; returns false on a deadlock.
bool runBlock(BlockRun &run, std::vector<char> &stacks, size_t stackSize,
              const std::string &kernel) {
  size_t n = run.fibers.size();
  for (size_t i = 0; i < n; ++i) {
    Fiber &f = run.fibers[i];
    f.wait = Wait::None;
    f.done = false;
    f.started = false;
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = stacks.data() + i * stackSize;
    f.context.uc_stack.ss_size = stackSize;
    f.context.uc_link = &run.scheduler;
    makecontext(&f.context, fiberMain, 0);
  }
  while (true) {
    bool ran = false;
    for (Fiber &f : run.fibers)
      if (!f.done && f.wait == Wait::None) {
        resume(run, f);
        ran = true;
      }
    bool allDone = true, released = false;
    for (const Fiber &f : run.fibers)
      allDone = allDone && f.done;
    if (allDone)
      return true;
    // A warp whose live threads all wait at a shuffle continues.
    for (size_t w = 0; w < n; w += 32) {
      bool any = false, all = true;
      for (size_t i = w; i < std::min(n, w + 32); ++i) {
        if (run.fibers[i].done)
          continue;
        any = true;
        all = all && run.fibers[i].wait == Wait::Warp;
      }
      if (any && all) {
        for (size_t i = w; i < std::min(n, w + 32); ++i)
          run.fibers[i].wait = Wait::None;
        released = true;
      }
    }
    // The block continues once every live thread waits at the barrier.
    bool barrier = true;
    for (const Fiber &f : run.fibers)
      if (!f.done && f.wait != Wait::Block)
        barrier = false;
    if (barrier) {
      for (Fiber &f : run.fibers)
        f.wait = Wait::None;
      released = true;
    }
    if (!ran && !released) {
      std::fprintf(stderr,
                   "fake-cuda: kernel '%s' deadlocks: threads wait at "
                   "different barriers or shuffles\n",
                   kernel.c_str());
      return false;
    }
  }
}

} // namespace

extern "C" {

__attribute__((visibility("default"))) int64_t
rwkvFakeCudaLiveAllocations() {
  return liveAllocations.load();
}

#define API extern "C" __attribute__((visibility("default"))) CUresult

API cuInit(unsigned) { return kSuccess; }
API cuDriverGetVersion(int *v) {
  *v = 13000;
  return kSuccess;
}
API cuGetErrorName(CUresult r, const char **s) {
  switch (r) {
  case kInvalidValue:
    *s = "CUDA_ERROR_INVALID_VALUE";
    break;
  case kOutOfMemory:
    *s = "CUDA_ERROR_OUT_OF_MEMORY";
    break;
  case kNoDevice:
    *s = "CUDA_ERROR_NO_DEVICE";
    break;
  case kInvalidImage:
    *s = "CUDA_ERROR_INVALID_IMAGE";
    break;
  case kNotFound:
    *s = "CUDA_ERROR_NOT_FOUND";
    break;
  case kLaunchFailed:
    *s = "CUDA_ERROR_LAUNCH_FAILED";
    break;
  default:
    *s = "CUDA_ERROR_UNKNOWN";
  }
  return kSuccess;
}
API cuGetErrorString(CUresult r, const char **s) {
  *s = r == kSuccess ? "no error" : "emulated failure";
  return kSuccess;
}
API cuDeviceGetCount(int *n) {
  const char *env = std::getenv("RWKV_FAKE_CUDA_DEVICES");
  *n = env ? std::atoi(env) : 1;
  return kSuccess;
}
API cuDeviceGet(int *d, int ordinal) {
  *d = ordinal;
  return kSuccess;
}
API cuDeviceGetName(char *name, int len, int) {
  std::snprintf(name, static_cast<size_t>(len), "rwkv-mlir emulated GPU");
  return kSuccess;
}
API cuDeviceGetAttribute(int *v, int attr, int) {
  const char *env = std::getenv("RWKV_FAKE_CUDA_CC");
  int cc = env ? std::atoi(env) : 90;
  if (attr == 75)
    *v = cc / 10;
  else if (attr == 76)
    *v = cc % 10;
  else if (attr == 115)
    *v = 1; // memory pools
  else
    *v = 0;
  return kSuccess;
}
API cuDevicePrimaryCtxRetain(void **ctx, int) {
  static int dummy;
  *ctx = &dummy;
  return kSuccess;
}
API cuDevicePrimaryCtxRelease_v2(int) { return kSuccess; }
API cuCtxSetCurrent(void *) { return kSuccess; }
API cuCtxGetCurrent(void **ctx) {
  *ctx = nullptr;
  return kSuccess;
}

API cuMemAlloc_v2(unsigned long long *p, size_t bytes) {
  void *m = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!m)
    return kOutOfMemory;
  ++liveAllocations;
  *p = reinterpret_cast<uintptr_t>(m);
  return kSuccess;
}
API cuMemFree_v2(unsigned long long p) {
  if (p) {
    --liveAllocations;
    std::free(reinterpret_cast<void *>(p));
  }
  return kSuccess;
}
API cuMemAllocAsync(unsigned long long *p, size_t bytes, void *) {
  return cuMemAlloc_v2(p, bytes);
}
API cuMemFreeAsync(unsigned long long p, void *) { return cuMemFree_v2(p); }
API cuDeviceGetDefaultMemPool(void **pool, int) {
  static int dummy;
  *pool = &dummy;
  return kSuccess;
}
API cuMemPoolSetAttribute(void *, int, void *) { return kSuccess; }

API cuMemcpyHtoD_v2(unsigned long long dst, const void *src, size_t n) {
  std::memcpy(reinterpret_cast<void *>(dst), src, n);
  return kSuccess;
}
API cuMemcpyHtoDAsync_v2(unsigned long long dst, const void *src, size_t n,
                         void *) {
  return cuMemcpyHtoD_v2(dst, src, n);
}
API cuMemcpyDtoHAsync_v2(void *dst, unsigned long long src, size_t n, void *) {
  std::memcpy(dst, reinterpret_cast<void *>(src), n);
  return kSuccess;
}
API cuMemcpyDtoDAsync_v2(unsigned long long dst, unsigned long long src,
                         size_t n, void *) {
  std::memmove(reinterpret_cast<void *>(dst), reinterpret_cast<void *>(src), n);
  return kSuccess;
}
API cuMemcpyAsync(unsigned long long dst, unsigned long long src, size_t n,
                  void *s) {
  return cuMemcpyDtoDAsync_v2(dst, src, n, s);
}
API cuMemsetD32Async(unsigned long long dst, unsigned v, size_t n, void *) {
  auto *p = reinterpret_cast<uint32_t *>(dst);
  for (size_t i = 0; i < n; ++i)
    p[i] = v;
  return kSuccess;
}
API cuMemsetD16Async(unsigned long long dst, unsigned short v, size_t n,
                     void *) {
  auto *p = reinterpret_cast<uint16_t *>(dst);
  for (size_t i = 0; i < n; ++i)
    p[i] = v;
  return kSuccess;
}
API cuStreamCreate(void **s, unsigned) {
  static int dummy;
  *s = &dummy;
  return kSuccess;
}
API cuStreamDestroy_v2(void *) { return kSuccess; }
API cuStreamSynchronize(void *) { return kSuccess; }

API cuModuleLoadData(void **module, const void *image) {
  uint32_t magic = 0;
  std::memcpy(&magic, image, sizeof(magic));
  if (magic != 0xBA55ED50u) {
    std::fprintf(stderr, "fake-cuda: the kernel image is not a fat binary\n");
    return kInvalidImage;
  }
  const char *path = std::getenv("RWKV_FAKE_CUDA_KERNELS");
  if (!path) {
    std::fprintf(stderr, "fake-cuda: RWKV_FAKE_CUDA_KERNELS is not set\n");
    return kInvalidImage;
  }
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "fake-cuda: %s\n", dlerror());
    return kInvalidImage;
  }
  auto bind = reinterpret_cast<int (*)(void *(*)(const char *))>(
      dlsym(lib, "rwkv_emu_bind"));
  if (!bind || bind(&resolveEmu) != 0)
    return kInvalidImage;
  *module = new Module{lib};
  return kSuccess;
}
API cuModuleUnload(void *module) {
  auto *m = static_cast<Module *>(module);
  dlclose(m->library);
  delete m;
  return kSuccess;
}
API cuModuleGetFunction(void **fn, void *module, const char *name) {
  auto *m = static_cast<Module *>(module);
  std::lock_guard<std::mutex> lock(m->mutex);
  std::unique_ptr<Function> &f = m->functions[name];
  if (!f) {
    void *sym = dlsym(m->library, name);
    if (!sym) {
      m->functions.erase(name);
      return kNotFound;
    }
    f.reset(new Function{reinterpret_cast<void (*)(void **)>(sym), name});
  }
  *fn = f.get();
  return kSuccess;
}

API cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz,
                   unsigned bx, unsigned by, unsigned bz, unsigned, void *,
                   void **params, void **) {
  auto *f = static_cast<Function *>(function);
  if (!gx || !gy || !gz || !bx || !by || !bz || bx * by * bz > 1024)
    return kInvalidValue;
  constexpr size_t kStack = 64 * 1024;
  static thread_local std::vector<char> stacks;
  size_t threads = size_t(bx) * by * bz;
  if (stacks.size() < threads * kStack)
    stacks.resize(threads * kStack);
  BlockRun run;
  run.fibers.resize(threads);
  for (size_t i = 0; i < threads; ++i) {
    Fiber &fb = run.fibers[i];
    fb.linear = static_cast<int64_t>(i);
    fb.tid[0] = static_cast<int64_t>(i % bx);
    fb.tid[1] = static_cast<int64_t>((i / bx) % by);
    fb.tid[2] = static_cast<int64_t>(i / (size_t(bx) * by));
  }
  run.bdim[0] = bx, run.bdim[1] = by, run.bdim[2] = bz;
  run.gdim[0] = gx, run.gdim[1] = gy, run.gdim[2] = gz;
  run.fn = f->fn;
  run.params = params;
  BlockRun *outer = running;
  running = &run;
  bool ok = true;
  for (unsigned z = 0; z < gz && ok; ++z)
    for (unsigned y = 0; y < gy && ok; ++y)
      for (unsigned x = 0; x < gx && ok; ++x) {
        run.bid[0] = x, run.bid[1] = y, run.bid[2] = z;
        ok = runBlock(run, stacks, kStack, f->name);
      }
  running = outer;
  return ok ? kSuccess : kLaunchFailed;
}

} // extern "C"
