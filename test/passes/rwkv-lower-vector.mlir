// RUN: rwkv-opt %s -split-input-file -rwkv-lower-vector | FileCheck %s

// Tests that multi-reductions become 1-D reductions marked reassoc, so LLVM
// emits a shuffle tree rather than a serial chain of adds.

// CHECK-LABEL: func.func @multi_reduction
// CHECK: vector.reduction <add>, %{{.+}} fastmath<reassoc> : vector<96xf32> into f32
// CHECK-NOT: vector.multi_reduction
func.func @multi_reduction(%v: vector<1x96xf32>, %acc: vector<1xf32>) -> vector<1xf32> {
  %r = vector.multi_reduction <add>, %v, %acc [1] : vector<1x96xf32> to vector<1xf32>
  return %r : vector<1xf32>
}

// -----

// Tests that existing reductions get reassoc, and integer ones are untouched.

// CHECK-LABEL: func.func @reductions
// CHECK: vector.reduction <add>, %{{.+}} fastmath<reassoc> : vector<16xf32> into f32
// CHECK: vector.reduction <add>, %{{.+}} : vector<16xi32> into i32
func.func @reductions(%f: vector<16xf32>, %i: vector<16xi32>) -> (f32, i32) {
  %a = vector.reduction <add>, %f : vector<16xf32> into f32
  %b = vector.reduction <add>, %i : vector<16xi32> into i32
  return %a, %b : f32, i32
}

// -----

// Tests that arithmetic on vectors with unit dimensions is done on the
// rank-1 vector (the unit dimensions are peeled off with extract/insert).

// CHECK-LABEL: func.func @unit_dim_arith
// CHECK: %[[A:.+]] = vector.extract %{{.+}}[0, 0] : vector<32xf32> from vector<1x1x32xf32>
// CHECK: arith.addf %[[A]], %{{.+}} : vector<32xf32>
func.func @unit_dim_arith(%m: memref<4x2x32xf32>, %i: index, %j: index) {
  %c0 = arith.constant 0 : index
  %p = arith.constant 0.0 : f32
  %v = vector.transfer_read %m[%i, %j, %c0], %p {in_bounds = [true, true, true]} : memref<4x2x32xf32>, vector<1x1x32xf32>
  %s = arith.addf %v, %v : vector<1x1x32xf32>
  vector.transfer_write %s, %m[%i, %j, %c0] {in_bounds = [true, true, true]} : vector<1x1x32xf32>, memref<4x2x32xf32>
  return
}

// -----

// Tests that transfers over unit memref dimensions become rank-1 loads and
// stores.

// CHECK-LABEL: func.func @unit_memref
// CHECK: %[[V:.+]] = vector.load {{.+}} : memref<32xf32{{.*}}>, vector<32xf32>
// CHECK: vector.store %{{.+}}, {{.+}} : memref<32xf32{{.*}}>, vector<32xf32>
func.func @unit_memref(%m: memref<1x1x32xf32>) {
  %c0 = arith.constant 0 : index
  %p = arith.constant 0.0 : f32
  %v = vector.transfer_read %m[%c0, %c0, %c0], %p {in_bounds = [true, true, true]} : memref<1x1x32xf32>, vector<1x1x32xf32>
  %s = arith.addf %v, %v : vector<1x1x32xf32>
  vector.transfer_write %s, %m[%c0, %c0, %c0] {in_bounds = [true, true, true]} : vector<1x1x32xf32>, memref<1x1x32xf32>
  return
}
