// RUN: rwkv-opt %s -rwkv-expand-memref-copy | FileCheck %s

// Tests that strided copies (which would call memrefCopy from MLIR's runtime
// library) become linalg.copy, and contiguous static copies stay memcpy-able.

// CHECK-LABEL: func.func @strided
// CHECK: linalg.copy ins(%{{.+}} : memref<?x64xf32, strided<[128, 1]>>) outs(%{{.+}} : memref<?x64xf32>)
// CHECK-NOT: memref.copy
func.func @strided(%a: memref<?x64xf32, strided<[128, 1]>>, %b: memref<?x64xf32>) {
  memref.copy %a, %b : memref<?x64xf32, strided<[128, 1]>> to memref<?x64xf32>
  return
}

// CHECK-LABEL: func.func @contiguous
// CHECK: memref.copy
// CHECK-NOT: linalg.copy
func.func @contiguous(%a: memref<4x64xf32>, %b: memref<4x64xf32>) {
  memref.copy %a, %b : memref<4x64xf32> to memref<4x64xf32>
  return
}
