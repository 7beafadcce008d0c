//===- Scratch.h - reuse of the generated code's temporaries ----*- C++ -*-===//
//
// A CPU artifact allocates the temporaries of a call (activations between
// the kernels, privatized scratch of parallel loops) with malloc and frees
// them before the call returns. Large blocks come from mmap each time, so
// every prefill call would fault in and zero tens of megabytes again
// (measured: ~12% of a 2-thread 0.1B prefill in the kernel's page-fault
// path). The runtime hands such artifacts (those exporting
// `rwkv_set_allocator`, see codegen/LLVMEmitter.h) these two functions
// instead: freed blocks are kept per thread, by exact size, and handed out
// again for the next request of that size. A thread keeps at most
// kScratchCacheBytes; what does not fit goes back to libc. The caches are
// released when their thread exits.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_RUNTIME_SCRATCH_H
#define RWKV_RUNTIME_SCRATCH_H

#include <cstddef>
#include <cstdint>

namespace rwkvrt {

/// Bytes of freed blocks one thread keeps for reuse.
constexpr size_t kScratchCacheBytes = size_t(512) << 20;

extern "C" {
/// malloc-compatible (16-byte aligned); never returns a block of another
/// size class than asked for.
void *rwkvScratchAlloc(size_t bytes);
/// free-compatible: any pointer from rwkvScratchAlloc (from any thread), or
/// null.
void rwkvScratchFree(void *p);
}

/// Bytes currently kept by the calling thread (tests).
size_t scratchCachedBytes();

} // namespace rwkvrt

#endif // RWKV_RUNTIME_SCRATCH_H
