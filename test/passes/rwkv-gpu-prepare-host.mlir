// RUN: rwkv-opt %s -split-input-file -rwkv-gpu-prepare-host -verify-diagnostics | FileCheck %s

// Tests the host code of a bufferized GPU entry point: the result computed
// into a temporary and copied into its out-parameter is written into the
// out-parameter directly; a strided copy (the last-token slice) becomes a
// copy kernel, a contiguous one a gpu.memcpy; allocations become device
// allocations, freed after their last use.

// CHECK-LABEL: func.func @entry
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x4x8xf32>, %[[OUT:[^:]+]]: memref<?x1x8xf32>)
// CHECK-NOT: memref.alloc
// CHECK: %[[SV:.+]] = memref.subview %[[X]]
// CHECK: %[[TMP:.+]] = gpu.alloc (%{{[^)]+}}) : memref<?x1x8xf32>
// CHECK: gpu.launch {{.+}} module(@rwkv_kernels) function(@entry_copy)
// CHECK:   memref.load %[[SV]]
// CHECK:   memref.store %{{[^ ]+}}, %[[TMP]]
// CHECK: %[[TMP2:.+]] = gpu.alloc (%{{[^)]+}}) : memref<?x1x8xf32>
// CHECK: gpu.memcpy  %[[TMP2]], %[[TMP]] : memref<?x1x8xf32>, memref<?x1x8xf32>
// CHECK: gpu.dealloc  %[[TMP]]
// CHECK: gpu.launch
// CHECK:   memref.load %[[TMP2]]
// CHECK:   memref.store %{{[^ ]+}}, %[[OUT]]
// CHECK: gpu.dealloc  %[[TMP2]]
// CHECK-NOT: memref.copy
// CHECK: return
func.func @entry(%x: memref<?x4x8xf32>, %out: memref<?x1x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d = memref.dim %x, %c0 : memref<?x4x8xf32>
  %sv = memref.subview %x[0, 3, 0] [%d, 1, 8] [1, 1, 1] : memref<?x4x8xf32> to memref<?x1x8xf32, strided<[32, 8, 1], offset: 24>>
  %tmp = memref.alloc(%d) : memref<?x1x8xf32>
  memref.copy %sv, %tmp : memref<?x1x8xf32, strided<[32, 8, 1], offset: 24>> to memref<?x1x8xf32>
  %tmp2 = memref.alloc(%d) : memref<?x1x8xf32>
  memref.copy %tmp, %tmp2 : memref<?x1x8xf32> to memref<?x1x8xf32>
  %res = memref.alloc(%d) : memref<?x1x8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %d, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %tmp2[%bx, %c0, %c0] : memref<?x1x8xf32>
    memref.store %v, %res[%bx, %c0, %c0] : memref<?x1x8xf32>
    gpu.terminator
  }
  memref.copy %res, %out : memref<?x1x8xf32> to memref<?x1x8xf32>
  return
}

// -----

// Tests that host code reading a buffer is rejected: every buffer of a GPU
// entry point is device memory.

func.func @host_read(%x: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{host code of a GPU entry point accesses a buffer (every buffer is device memory)}}
  %v = memref.load %x[%c0] : memref<4xf32>
  return %v : f32
}
