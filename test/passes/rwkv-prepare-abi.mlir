// RUN: rwkv-opt %s -rwkv-prepare-abi | FileCheck %s

// Tests that public entry points get read-only inputs and a C interface, and
// lose the importer's role attributes; private helpers are left alone.

// CHECK-LABEL: func.func @entry(
// CHECK-SAME: %{{.+}}: tensor<?x64xf32> {bufferization.writable = false},
// CHECK-SAME: %{{.+}}: tensor<64x64xf32> {bufferization.writable = false, keep.me})
// CHECK-SAME: -> tensor<?x64xf32>
// CHECK-SAME: attributes {llvm.emit_c_interface
// CHECK-NOT: rwkv.param
func.func @entry(%x: tensor<?x64xf32> {rwkv.activation = "h"},
                 %w: tensor<64x64xf32> {rwkv.param = "att.key", keep.me})
    -> (tensor<?x64xf32> {rwkv.activation = "h"}) {
  return %x : tensor<?x64xf32>
}

// CHECK-LABEL: func.func private @helper(
// CHECK-SAME: tensor<4xf32> {rwkv.param = "x"})
// CHECK-NOT: llvm.emit_c_interface
func.func private @helper(%x: tensor<4xf32> {rwkv.param = "x"}) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
