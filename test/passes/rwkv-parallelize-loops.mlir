// RUN: rwkv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(rwkv-parallelize-loops))' -verify-diagnostics | FileCheck %s

// Tests that a marked loop without loop-carried values (what a projection's
// output-row loop becomes after bufferization) turns into scf.parallel with
// the same bounds and body.

// CHECK-LABEL: func.func @rows
// CHECK-NOT: scf.for
// CHECK: scf.parallel (%[[N:.+]]) = (%{{.+}}) to (%{{.+}}) step (%{{.+}}) {
// CHECK:   memref.load %{{.+}}[%[[N]]]
// CHECK:   memref.store %{{.+}}, %{{.+}}[%[[N]]]
// CHECK:   scf.reduce
// CHECK-NOT: rwkv.parallel
func.func @rows(%x: memref<64xf32>, %y: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  scf.for %n = %c0 to %c64 step %c1 {
    %v = memref.load %x[%n] : memref<64xf32>
    %w = arith.mulf %v, %v : f32
    memref.store %w, %y[%n] : memref<64xf32>
  } {rwkv.parallel}
  return
}

// -----

// Tests that unmarked loops are left alone.

// CHECK-LABEL: func.func @unmarked
// CHECK: scf.for
// CHECK-NOT: scf.parallel
func.func @unmarked(%x: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %f = arith.constant 1.0 : f32
  scf.for %n = %c0 to %c64 step %c1 {
    memref.store %f, %x[%n] : memref<64xf32>
  }
  return
}

// -----

// Tests that a marked loop that still carries a value stays serial, with a
// remark that says why.

// CHECK-LABEL: func.func @carried
// CHECK: scf.for {{.+}} iter_args
// CHECK-NOT: scf.parallel
func.func @carried(%x: memref<64xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant 0.0 : f32
  // expected-remark @below {{loop not parallelized: it still carries 1 value(s) after bufferization}}
  %s = scf.for %n = %c0 to %c64 step %c1 iter_args(%acc = %z) -> (f32) {
    %v = memref.load %x[%n] : memref<64xf32>
    %a = arith.addf %acc, %v : f32
    scf.yield %a : f32
  } {rwkv.parallel}
  return %s : f32
}

// -----

// Tests that only the outer of two nested marked loops (batch rows, then
// heads) becomes parallel; the inner one is reported.

// CHECK-LABEL: func.func @nested
// CHECK: scf.parallel
// CHECK:   scf.for
// CHECK-NOT: scf.parallel
func.func @nested(%x: memref<4x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %f = arith.constant 1.0 : f32
  scf.for %b = %c0 to %c4 step %c1 {
    // expected-remark @below {{loop not parallelized: nested in a parallel loop}}
    scf.for %n = %c0 to %c64 step %c1 {
      memref.store %f, %x[%b, %n] : memref<4x64xf32>
    } {rwkv.parallel}
  } {rwkv.parallel}
  return
}

// -----

// Tests that a scratch buffer bufferization placed before the loop and used
// only inside it (a head's transposed state) is privatized: each iteration
// allocates and frees its own. A buffer also read after the loop stays
// shared.

// CHECK-LABEL: func.func @scratch
// CHECK-SAME: (%[[X:.+]]: memref<4x8xf32>, %[[OUT:.+]]: memref<8xf32>)
// CHECK: %[[SHARED:.+]] = memref.alloc() : memref<8xf32>
// CHECK-NOT: memref.alloc
// CHECK: scf.parallel (%[[H:.+]]) =
// CHECK:   %[[PRIV:.+]] = memref.alloc() : memref<8xf32>
// CHECK:   %[[VIEW:.+]] = memref.subview %[[PRIV]][0] [4] [1]
// CHECK:   memref.store %{{.+}}, %[[VIEW]]
// CHECK:   memref.load %[[PRIV]]
// CHECK:   memref.dealloc %[[PRIV]]
// CHECK: memref.copy %[[SHARED]], %[[OUT]]
// CHECK: memref.dealloc %[[SHARED]]
// CHECK-NOT: memref.dealloc
func.func @scratch(%x: memref<4x8xf32>, %out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %f = arith.constant 1.0 : f32
  %scratch = memref.alloc() : memref<8xf32>
  %view = memref.subview %scratch[0] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1]>>
  %shared = memref.alloc() : memref<8xf32>
  scf.for %h = %c0 to %c4 step %c1 {
    memref.store %f, %view[%h] : memref<4xf32, strided<[1]>>
    %v = memref.load %scratch[%h] : memref<8xf32>
    memref.store %v, %x[%h, %h] : memref<4x8xf32>
    memref.store %v, %shared[%h] : memref<8xf32>
  } {rwkv.parallel}
  memref.copy %shared, %out : memref<8xf32> to memref<8xf32>
  memref.dealloc %scratch : memref<8xf32>
  memref.dealloc %shared : memref<8xf32>
  return
}
