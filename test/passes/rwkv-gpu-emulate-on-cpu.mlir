// RUN: rwkv-opt %s -rwkv-gpu-emulate-on-cpu | FileCheck %s

// Tests that a kernel becomes a CPU function with the kernel's signature,
// its thread and block ids become calls of the emulator's id function
// (kind * 3 + dimension), its barrier a call, and that the module keeps only
// the kernels' twins and the emulator's declarations.

// CHECK-LABEL: func.func @scale_impl(%{{.+}}: memref<?xf32>)
// CHECK: %[[TX:.+]] = arith.constant 0 : i32
// CHECK: call @rwkv_emu_id(%[[TX]]) : (i32) -> index
// CHECK: %[[BX:.+]] = arith.constant 3 : i32
// CHECK: call @rwkv_emu_id(%[[BX]]) : (i32) -> index
// CHECK: call @rwkv_emu_barrier()
// CHECK-NOT: gpu.
// CHECK-DAG: func.func private @rwkv_emu_id(i32) -> index
// CHECK-DAG: func.func private @rwkv_emu_barrier()
module attributes {gpu.container_module} {
  gpu.module @rwkv_kernels {
    gpu.func @scale(%x: memref<?xf32>) kernel {
      %t = gpu.thread_id x
      %b = gpu.block_id x
      %i = arith.addi %t, %b : index
      %v = memref.load %x[%i] : memref<?xf32>
      gpu.barrier
      %w = arith.addf %v, %v : f32
      memref.store %w, %x[%i] : memref<?xf32>
      gpu.return
    }
  }
}
