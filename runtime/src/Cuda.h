//===- Cuda.h - the CUDA driver, loaded at run time -------------*- C++ -*-===//
//
// GPU artifacts (rwkvc --target=sm_XX) run through the CUDA driver API,
// which this file loads with dlopen (libcuda.so.1, or the library named by
// $RWKV_CUDA_DRIVER when a model is loaded; each library is loaded once):
// the runtime builds and runs where no CUDA is installed, and a GPU artifact
// fails to load there with RWKV_ERROR_DEVICE.
//
// The generated host code calls MLIR's GPU runtime functions (mgpu*:
// module load, kernel launch, device allocation, copies). The runtime
// implements them here and hands them to the artifact through
// `rwkv_gpu_bind`. They act on the calling thread's GpuCall: its context and
// the session's stream. All work of a session goes to that one stream, so
// the generated code's stream synchronizations are not needed and do
// nothing; temporaries are allocated and freed stream-ordered
// (cuMemAllocAsync / cuMemFreeAsync on a pool that keeps its memory). The
// first failing driver call is recorded and later calls of the same scope
// are skipped (frees still run); GpuCall::check() reports it.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_RUNTIME_CUDA_H
#define RWKV_RUNTIME_CUDA_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rwkvrt {

/// Device address.
using DevicePtr = uint64_t;

/// The device of a GPU model: the driver, the chosen GPU and its primary
/// context. Construction throws Error(RWKV_ERROR_DEVICE) when there is no
/// driver, no GPU, or the GPU is not covered by the artifact's `chips`.
class CudaContext {
public:
  CudaContext(const std::string &artifact,
              const std::vector<std::string> &chips);
  ~CudaContext();
  CudaContext(const CudaContext &) = delete;
  CudaContext &operator=(const CudaContext &) = delete;

  /// "cuda:0 NVIDIA H200 (sm_90)".
  const std::string &description() const { return description_; }
  /// Makes the context current on the calling thread.
  void makeCurrent() const;

  /// Synchronous helpers (loading, sessions' setup).
  DevicePtr alloc(size_t bytes) const;
  void free(DevicePtr p) const;
  void upload(DevicePtr dst, const void *src, size_t bytes) const;

  /// Throws Error(RWKV_ERROR_DEVICE) naming `what` if `result` is not
  /// CUDA_SUCCESS.
  void check(int result, const std::string &what) const;

  void *handle() const { return context_; }
  bool streamOrderedAllocation() const { return pools_; }
  /// The driver's entry points (internal to Cuda.cpp).
  const void *api() const { return api_; }

private:
  const void *api_ = nullptr;
  std::string description_;
  int device_ = 0;
  void *context_ = nullptr;
  bool pools_ = false;
};

/// A stream of a session.
class CudaStream {
public:
  explicit CudaStream(const CudaContext &context);
  ~CudaStream();
  CudaStream(const CudaStream &) = delete;
  CudaStream &operator=(const CudaStream &) = delete;

  void *handle() const { return stream_; }
  const CudaContext &context() const { return context_; }
  void upload(DevicePtr dst, const void *src, size_t bytes);
  void download(void *dst, DevicePtr src, size_t bytes);
  void copy(DevicePtr dst, DevicePtr src, size_t bytes);
  void fill32(DevicePtr dst, uint32_t value, size_t count);
  /// Waits for the stream; throws if a kernel or copy failed.
  void synchronize();

private:
  const CudaContext &context_;
  void *stream_ = nullptr;
};

/// The scope of one call into generated code on this thread: makes the
/// context current and routes the artifact's mgpu* calls to `stream` (null
/// while loading or unloading kernels).
class GpuCall {
public:
  GpuCall(const CudaContext &context, CudaStream *stream);
  ~GpuCall();
  GpuCall(const GpuCall &) = delete;
  GpuCall &operator=(const GpuCall &) = delete;
  /// Throws Error(RWKV_ERROR_DEVICE) if an mgpu* call failed in this scope;
  /// `what` names the call ("entry point 'time_mix_0'").
  void check(const std::string &what);

private:
  void *previous_;
};

/// The resolver handed to the artifact's `rwkv_gpu_bind`: the address of
/// the runtime's implementation of an mgpu* function, or null (the name is
/// then recorded for unresolvedGpuFunctions()).
extern "C" void *rwkvResolveGpuFunction(const char *name);
/// Names rwkvResolveGpuFunction could not resolve on this thread since the
/// last call (which clears the list).
std::vector<std::string> unresolvedGpuFunctions();

} // namespace rwkvrt

#endif // RWKV_RUNTIME_CUDA_H
