// RUN: rwkv-opt %s -rwkv-approximate-math | FileCheck %s

// Tests that exp and tanh on vectors become polynomials (no libm calls),
// while sqrt stays an exact intrinsic.

// CHECK-LABEL: func.func @approximate
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK: math.fma {{.+}} : vector<16xf32>
// CHECK: math.sqrt %{{.+}} : vector<16xf32>
func.func @approximate(%x: vector<16xf32>) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>) {
  %e = math.exp %x : vector<16xf32>
  %t = math.tanh %x : vector<16xf32>
  %s = math.sqrt %x : vector<16xf32>
  return %e, %t, %s : vector<16xf32>, vector<16xf32>, vector<16xf32>
}
