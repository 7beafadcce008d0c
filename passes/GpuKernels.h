//===- GpuKernels.h - building blocks of the generated GPU kernels -*- C++ -*-//
//
// Shared by the GPU lowering passes (ConvertRwkvToGpu.cpp,
// GpuLaunchElementwise.cpp, GpuPrepareHost.cpp):
//
//  * the tensor/buffer boundary of stage 1: kernels are emitted while the
//    function still has value semantics. Operands are read through
//    `bufferization.to_buffer ... read_only`, results are fresh
//    `memref.alloc`s wrapped in `bufferization.to_tensor restrict writable`,
//    so one-shot bufferization later folds the casts away and keeps handling
//    function boundaries and views;
//  * `gpu.launch` construction: every kernel gets a unique, descriptive name
//    and is outlined into the one gpu.module `@rwkv_kernels`;
//  * device-side arithmetic (index math, f32 loads that widen f16/bf16
//    weights, warp all-reduce with xor shuffles).
//
// Kernels assume the runtime never calls an entry point with zero sequences
// or zero tokens (the runtime rejects both before a call).
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_PASSES_GPUKERNELS_H
#define RWKV_PASSES_GPUKERNELS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringSet.h"

#include <array>
#include <string>

namespace mlir {
namespace rwkv {
namespace gpukernels {

/// The gpu.module every generated kernel is outlined into.
constexpr llvm::StringLiteral kKernelModule = "rwkv_kernels";
/// Threads per warp on every NVIDIA GPU the compiler targets.
constexpr int64_t kWarpSize = 32;

/// Hands out kernel names unique within a module: "<func>_<what>", then
/// "<func>_<what>_1", ... Names already used by launches in the function are
/// taken into account, so several passes can add kernels to one function.
class KernelNamer {
public:
  explicit KernelNamer(func::FuncOp fn);
  std::string operator()(StringRef what);

private:
  std::string prefix;
  llvm::StringSet<> used;
};

//===----------------------------------------------------------------------===//
// Host side (stage 1, value semantics)
//===----------------------------------------------------------------------===//

/// `bufferization.to_buffer %tensor read_only` with an identity-layout memref
/// type: the kernels read it, never write it.
Value readBuffer(OpBuilder &b, Location loc, Value tensor);
/// The dynamic sizes of `tensor` (tensor.dim of each dynamic dimension).
SmallVector<Value> dynamicSizes(OpBuilder &b, Location loc, Value tensor);
/// A fresh buffer of `type`'s shape (f32 elements) for a kernel result.
Value allocResult(OpBuilder &b, Location loc, RankedTensorType type,
                  ValueRange dynamic);
/// The value of a result buffer once the kernels writing it have run.
Value resultTensor(OpBuilder &b, Location loc, Value buffer);

//===----------------------------------------------------------------------===//
// Launches and device-side helpers
//===----------------------------------------------------------------------===//

/// Index and f32 arithmetic inside a kernel body (or on the host for launch
/// sizes). Index operations are unsigned: every index is non-negative.
struct DeviceBuilder {
  OpBuilder &b;
  Location loc;

  Value index(int64_t v);
  Value f32(double v);
  Value add(Value x, Value y);
  Value sub(Value x, Value y);
  Value mul(Value x, Value y);
  Value div(Value x, Value y);
  Value rem(Value x, Value y);
  Value min(Value x, Value y);
  Value ceilDiv(Value x, int64_t d);
  Value lt(Value x, Value y);
  Value eq(Value x, Value y);
  Value andI(Value x, Value y);
  Value select(Value c, Value x, Value y);
  Value fma(Value x, Value y, Value z);
  Value maxF(Value x, Value y);
  Value exp(Value x);
  Value sigmoid(Value x);
  /// Loads an element and widens f16/bf16 to f32.
  Value load(Value memref, ValueRange indices);
  void store(Value v, Value memref, ValueRange indices);
  /// Sum over the 32 lanes of a warp (xor butterfly); every lane gets it.
  /// All lanes of the warp must execute it.
  Value warpSum(Value v);
  /// `scf.if cond { body }` without results.
  void ifThen(Value cond, function_ref<void()> body);
};

/// Ids and sizes visible in a kernel body.
struct LaunchIds {
  Value blockX, blockY, blockZ;
  Value threadX, threadY;
  /// Workgroup (shared memory) buffers, in the order requested.
  SmallVector<Value> shared;
};

/// Creates `gpu.launch` named `name` in @rwkv_kernels with grid (gx, gy, gz)
/// and block (blockX, blockY, 1); `body` fills the region, which is then
/// terminated. `shared` lists workgroup buffers (static memref types,
/// allocated in address space `workgroup`).
gpu::LaunchOp
launch(OpBuilder &b, Location loc, StringRef name, std::array<Value, 3> grid,
       int64_t blockX, int64_t blockY, ArrayRef<MemRefType> shared,
       function_ref<void(DeviceBuilder &, const LaunchIds &)> body);

/// A one-dimensional launch over `total` elements, 256 threads a block:
/// `body` gets the linear element index, already checked against `total`.
gpu::LaunchOp
launchElements(OpBuilder &b, Location loc, StringRef name, Value total,
               function_ref<void(DeviceBuilder &, Value linear)> body);

/// Splits a linear index into coordinates of `sizes` (row-major).
SmallVector<Value> delinearize(DeviceBuilder &d, Value linear,
                               ArrayRef<Value> sizes);

/// Memref type of a workgroup (shared memory) buffer.
MemRefType sharedMemRefType(MLIRContext *ctx, ArrayRef<int64_t> shape);

} // namespace gpukernels
} // namespace rwkv
} // namespace mlir

#endif // RWKV_PASSES_GPUKERNELS_H
