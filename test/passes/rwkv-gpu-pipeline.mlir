// RUN: rwkv-opt %s --rwkv-gpu-kernel-pipeline | FileCheck %s
// RUN: rwkv-opt %s --rwkv-gpu-pipeline="chips=sm_80,sm_90" --dump-pass-pipeline 2>&1 >/dev/null | FileCheck %s --check-prefix=PIPE

// Tests GPU stage 1 on an entry point: the kernels are outlined into the
// one module @rwkv_kernels under descriptive names, the host code launches
// them asynchronously on one stream, allocates temporaries on the device,
// and the result is written straight into the out-parameter.

// CHECK-LABEL: func.func @time_mix
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x1x64xf32>, %[[W:[^:]+]]: memref<64xf32>, %[[B:[^:]+]]: memref<64xf32>, %[[OUT:[^:]+]]: memref<?x1x64xf32>)
// CHECK: %[[T0:.+]] = gpu.wait async
// CHECK: %[[TMP:.+]], %[[T1:.+]] = gpu.alloc async [%[[T0]]] (%{{[^)]+}}) : memref<?x1x64xf32>
// CHECK: %[[T2:.+]] = gpu.launch_func async [%[[T1]]] @rwkv_kernels::@time_mix_layer_norm {{.+}} args({{.+}}%[[TMP]] : memref<?x1x64xf32>)
// CHECK: %[[T3:.+]] = gpu.launch_func async [%[[T2]]] @rwkv_kernels::@time_mix_elementwise {{.+}}%[[OUT]] : memref<?x1x64xf32>)
// CHECK: %[[T4:.+]] = gpu.dealloc async [%[[T3]]] %[[TMP]]
// CHECK: gpu.wait [%[[T4]]]
// CHECK: gpu.module @rwkv_kernels
// CHECK:   gpu.func @time_mix_layer_norm({{.+}}) kernel attributes {known_block_size = array<i32: 32, 4, 1>}
// CHECK:     gpu.shuffle  xor
// CHECK:   gpu.func @time_mix_elementwise({{.+}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK:     arith.addf
func.func @time_mix(%x: tensor<?x1x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x1x64xf32> {
  %y = rwkv.layer_norm %x, %w, %b {eps = 1.0e-05 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
  %z = arith.addf %x, %y : tensor<?x1x64xf32>
  return %z : tensor<?x1x64xf32>
}

// PIPE: convert-rwkv-to-gpu{linear-rows=4 linear-tokens=8}
// PIPE: rwkv-gpu-launch-elementwise
// PIPE: one-shot-bufferize
// PIPE: rwkv-gpu-prepare-host
// PIPE: gpu-kernel-outlining
// PIPE: gpu-async-region
// PIPE: nvvm-attach-target{{.*}}chip=sm_80
// PIPE: nvvm-attach-target{{.*}}chip=sm_90
// PIPE: convert-gpu-to-nvvm
// PIPE: gpu-to-llvm
// PIPE: gpu-module-to-binary{{.*}}format=isa
