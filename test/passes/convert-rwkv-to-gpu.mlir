// RUN: rwkv-opt %s -split-input-file -convert-rwkv-to-gpu -cse | FileCheck %s

// Tests that wkv7 becomes the official kernel design: one block per
// (head, batch), one thread per value row (16 here), the state row carried
// through the token loop in registers (16 values) next to the 5 prefetched
// per-token elements, staging in shared memory [2 slots][r w k a b][N] with
// one barrier per token. Operands are read-only buffers; results are fresh
// buffers that re-enter the tensor world as restrict/writable tensors.

// CHECK-LABEL: func.func @wkv7
// CHECK-SAME: (%[[R:.+]]: tensor<?x?x32xf32>, %{{[^ ,)]+}}: tensor<?x?x32xf32>, %{{[^ ,)]+}}: tensor<?x?x32xf32>, %{{[^ ,)]+}}: tensor<?x?x32xf32>, %{{[^ ,)]+}}: tensor<?x?x32xf32>, %{{[^ ,)]+}}: tensor<?x?x32xf32>, %[[S:.+]]: tensor<?x2x16x16xf32>)
// CHECK-DAG: %[[RB:.+]] = bufferization.to_buffer %[[R]] read_only : tensor<?x?x32xf32> to memref<?x?x32xf32>
// CHECK-DAG: %[[SB:.+]] = bufferization.to_buffer %[[S]] read_only : tensor<?x2x16x16xf32> to memref<?x2x16x16xf32>
// CHECK-DAG: %[[Y:.+]] = memref.alloc(%{{[^ ,)]+}}, %{{[^ ,)]+}}) : memref<?x?x32xf32>
// CHECK-DAG: %[[NS:.+]] = memref.alloc(%{{[^ ,)]+}}) : memref<?x2x16x16xf32>
// CHECK-DAG: %[[B:.+]] = tensor.dim %[[R]], %c0
// CHECK-DAG: %[[T:.+]] = tensor.dim %[[R]], %c1
// CHECK: gpu.launch blocks(%[[HEAD:[^ ,)]+]], %[[BI:[^ ,)]+]], %{{[^ ,)]+}}) in (%{{[^ ,)]+}} = %c2, %{{[^ ,)]+}} = %[[B]], %{{[^ ,)]+}} = %c1)
// CHECK-SAME: threads(%[[I:[^ ,)]+]], %{{[^ ,)]+}}, %{{[^ ,)]+}}) in (%{{[^ ,)]+}} = %c16, %{{[^ ,)]+}} = %c1, %{{[^ ,)]+}} = %c1)
// CHECK-SAME: module(@rwkv_kernels) function(@wkv7_wkv7)
// CHECK-SAME: workgroup(%[[SH:[^ ,)]+]] : memref<2x5x16xf32, #gpu.address_space<workgroup>>)
// CHECK: memref.load %[[SB]][%[[BI]], %[[HEAD]], %[[I]], %c0]
// CHECK: %{{[^ ,)]+}}:21 = scf.for %[[TI:[^ ,)]+]] = %c0 to %[[T]] step %c1 iter_args(
// CHECK:   %[[SLOT:[^ ,)]+]] = arith.remui %[[TI]], %c2
// CHECK:   memref.store %{{[^ ,)]+}}, %[[SH]][%[[SLOT]], %c0, %[[I]]]
// CHECK:   gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK:   memref.load %[[RB]][%[[BI]], %{{[^ ,)]+}}, %{{[^ ,)]+}}]
// CHECK:   math.fma
// CHECK:   memref.store %{{[^ ,)]+}}, %[[Y]][%[[BI]], %[[TI]], %{{[^ ,)]+}}]
// CHECK:   scf.yield
// CHECK: memref.store %{{[^ ,)]+}}, %[[NS]][%[[BI]], %[[HEAD]], %[[I]], %c15]
// CHECK: gpu.terminator
// CHECK-DAG: %[[YT:.+]] = bufferization.to_tensor %[[Y]] restrict writable
// CHECK-DAG: %[[NST:.+]] = bufferization.to_tensor %[[NS]] restrict writable
// CHECK: return %[[YT]], %[[NST]]
func.func @wkv7(%r: tensor<?x?x32xf32>, %w: tensor<?x?x32xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x32xf32>, %a: tensor<?x?x32xf32>, %b: tensor<?x?x32xf32>, %s: tensor<?x2x16x16xf32>) -> (tensor<?x?x32xf32>, tensor<?x2x16x16xf32>) {
  %y, %s1 = rwkv.wkv7 %r, %w, %k, %v, %a, %b, %s : tensor<?x?x32xf32>, tensor<?x2x16x16xf32>
  return %y, %s1 : tensor<?x?x32xf32>, tensor<?x2x16x16xf32>
}

// -----

// Tests that wkv7_fused is lowered as its parts (it has no kernel of its
// own): the WKV kernel, the group norm and bonus kernels, then the add and
// the gate on tensors for rwkv-gpu-launch-elementwise.

// CHECK-LABEL: func.func @wkv7_fused
// CHECK: function(@wkv7_fused_wkv7)
// CHECK: function(@wkv7_fused_group_norm)
// CHECK: function(@wkv7_fused_wkv7_bonus)
// CHECK: %[[SUM:.+]] = arith.addf %{{.+}} : tensor<?x?x32xf32>
// CHECK: arith.mulf %[[SUM]], %{{.+}} : tensor<?x?x32xf32>
func.func @wkv7_fused(%r: tensor<?x?x32xf32>, %s: tensor<?x2x16x16xf32>, %lw: tensor<32xf32>, %rk: tensor<2x16xf32>) -> (tensor<?x?x32xf32>, tensor<?x2x16x16xf32>) {
  %o, %s1 = rwkv.wkv7_fused %r, %r, %r, %r, %r, %r, %s norm(%lw, %lw) bonus(%rk) gate(%r : tensor<?x?x32xf32>) {eps = 6.4e-04 : f32} : tensor<?x?x32xf32>, tensor<?x2x16x16xf32>, tensor<32xf32>, tensor<2x16xf32>
  return %o, %s1 : tensor<?x?x32xf32>, tensor<?x2x16x16xf32>
}

// -----

// Tests that shift_lerp_linear is lowered as its parts on the GPU, reusing
// the token shift left for the next shift state: one shift kernel, not one
// per projection.

// CHECK-LABEL: func.func @shift_lerp_linear
// CHECK-COUNT-1: function(@shift_lerp_linear_token_shift)
// CHECK-NOT: function(@shift_lerp_linear_token_shift
// CHECK: return
func.func @shift_lerp_linear(%x: tensor<?x?x32xf32>, %prev: tensor<?x32xf32>, %m: tensor<32xf32>, %w: tensor<32x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x32xf32>) {
  %xs, %last = rwkv.token_shift %x, %prev : tensor<?x?x32xf32>, tensor<?x32xf32>
  %a = rwkv.shift_lerp_linear previous %x, %prev, %m, %w : tensor<?x?x32xf32>, tensor<?x32xf32>, tensor<32xf32>, tensor<32x32xf32> -> tensor<?x?x32xf32>
  %b = rwkv.shift_lerp_linear previous %x, %prev, %m, %w : tensor<?x?x32xf32>, tensor<?x32xf32>, tensor<32xf32>, tensor<32x32xf32> -> tensor<?x?x32xf32>
  return %a, %b, %last : tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?x32xf32>
}

// -----

// Tests that wkv5 stages r, k, w per token and the bonus u once.

// CHECK-LABEL: func.func @wkv5
// CHECK: gpu.launch
// CHECK-SAME: function(@wkv5_wkv5)
// CHECK-SAME: workgroup(%[[SH:[^ ,)]+]] : memref<2x3x16xf32, #gpu.address_space<workgroup>>, %[[U:[^ ,)]+]] : memref<16xf32, #gpu.address_space<workgroup>>)
// CHECK: memref.store %{{[^ ,)]+}}, %[[U]][%{{[^ ,)]+}}]
// CHECK: scf.for {{.+}} -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK:   gpu.barrier
func.func @wkv5(%r: tensor<?x1x32xf32>, %w: tensor<?x1x32xf32>, %k: tensor<?x1x32xf32>, %v: tensor<?x1x32xf32>, %u: tensor<32xf32>, %s: tensor<?x2x16x16xf32>) -> (tensor<?x1x32xf32>, tensor<?x2x16x16xf32>) {
  %y, %s1 = rwkv.wkv5 %r, %w, %k, %v, %u, %s : tensor<?x1x32xf32>, tensor<32xf32>, tensor<?x2x16x16xf32>
  return %y, %s1 : tensor<?x1x32xf32>, tensor<?x2x16x16xf32>
}

// -----

// Tests that wkv4 runs one thread per (channel, batch) with the three state
// values carried through the token loop.

// CHECK-LABEL: func.func @wkv4
// CHECK: gpu.launch blocks({{[^)]+}}) in (%{{[^ ]+}} = %c1, %{{[^ ]+}} = %dim, %{{[^ ]+}} = %c1) threads({{[^)]+}}) in (%{{[^ ]+}} = %c64
// CHECK-SAME: function(@wkv4_wkv4)
// CHECK: scf.for {{.+}} -> (f32, f32, f32)
// CHECK:   arith.maximumf
// CHECK:   math.exp
func.func @wkv4(%k: tensor<?x1x64xf32>, %v: tensor<?x1x64xf32>, %w: tensor<64xf32>, %u: tensor<64xf32>, %a: tensor<?x64xf32>, %b: tensor<?x64xf32>, %p: tensor<?x64xf32>) -> (tensor<?x1x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %y, %a1, %b1, %p1 = rwkv.wkv4 %k, %v, %w, %u, %a, %b, %p : tensor<?x1x64xf32>, tensor<64xf32>, tensor<?x64xf32>
  return %y, %a1, %b1, %p1 : tensor<?x1x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// Tests that linear emits two projection kernels selected on the host by
// B*T: one output and one token per warp (48 outputs / 4 warps = 12 blocks
// in y) and the register-blocked 4 outputs x 8 tokens per warp (3 blocks in
// y, 32 accumulators). Lanes stride over K, f16 weights are widened, and the
// dot products are reduced with five xor shuffles.

// CHECK-LABEL: func.func @linear
// CHECK: %[[N:.+]] = arith.muli
// CHECK: %[[FEW:.+]] = arith.cmpi ult, %[[N]], %c8
// CHECK: scf.if %[[FEW]] {
// CHECK:   gpu.launch blocks({{[^)]+}}) in ({{[^,]+}}, %{{[^ ]+}} = %c12, {{[^)]+}}) threads({{[^)]+}}) in (%{{[^ ]+}} = %c32, %{{[^ ]+}} = %c4
// CHECK-SAME: function(@linear_linear)
// CHECK:     scf.for {{.+}} -> (f32)
// CHECK:       arith.extf %{{[^ ,)]+}} : f16 to f32
// CHECK:       math.fma
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: } else {
// CHECK:   gpu.launch blocks({{[^)]+}}) in ({{[^,]+}}, %{{[^ ]+}} = %c3, {{[^)]+}}) threads
// CHECK-SAME: function(@linear_linear_tiled)
// CHECK:     %{{[^ ,)]+}}:32 = scf.for
// CHECK-COUNT-32: math.fma
// CHECK:     scf.yield
func.func @linear(%x: tensor<?x?x64xf32>, %w: tensor<48x64xf16>) -> tensor<?x?x48xf32> {
  %y = rwkv.linear %x, %w : tensor<?x?x64xf32>, tensor<48x64xf16> -> tensor<?x?x48xf32>
  return %y : tensor<?x?x48xf32>
}

// -----

// Tests that lora applies its activations in the epilogues of its two
// projections and that the hidden activation is a temporary buffer.

// CHECK-LABEL: func.func @lora
// CHECK: %[[H:.+]] = memref.alloc(%{{[^ ,)]+}}) : memref<?x1x32xf32>
// CHECK: function(@lora_lora_down)
// CHECK: math.tanh
// CHECK: memref.store %{{[^ ,)]+}}, %[[H]]
// CHECK: function(@lora_lora_up)
// CHECK: memref.load %[[H]]
func.func @lora(%x: tensor<?x1x64xf32>, %d: tensor<32x64xf32>, %u: tensor<64x32xf32>, %b: tensor<64xf32>) -> tensor<?x1x64xf32> {
  %y = rwkv.lora %x, %d, %u bias %b activation tanh : tensor<?x1x64xf32>, tensor<32x64xf32>, tensor<64x32xf32>, tensor<64xf32> -> tensor<?x1x64xf32>
  return %y : tensor<?x1x64xf32>
}

// -----

// Tests that layer_norm runs one warp per row (32 x 4 threads), two
// shuffle reductions (mean, then centred variance) and stores only for real
// rows.

// CHECK-LABEL: func.func @layer_norm
// CHECK: gpu.launch {{.+}} threads({{[^)]+}}) in (%{{[^ ]+}} = %c32, %{{[^ ]+}} = %c4, {{[^)]+}}) module(@rwkv_kernels) function(@layer_norm_layer_norm)
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: math.sqrt
// CHECK: scf.if
// CHECK:   scf.for
// CHECK:     arith.divf
// CHECK:     memref.store
func.func @layer_norm(%x: tensor<?x1x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x1x64xf32> {
  %y = rwkv.layer_norm %x, %w, %b {eps = 1.0e-05 : f32} : tensor<?x1x64xf32>, tensor<64xf32>
  return %y : tensor<?x1x64xf32>
}

// -----

// Tests that pointwise ops become linalg.generic (fused and launched
// later), not kernels.

// CHECK-LABEL: func.func @lerp
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
// CHECK:   arith.subf
// CHECK:   math.fma
func.func @lerp(%x: tensor<?x1x64xf32>, %y: tensor<?x1x64xf32>, %mu: tensor<64xf32>) -> tensor<?x1x64xf32> {
  %r = rwkv.lerp %x, %y, %mu : tensor<?x1x64xf32>, tensor<64xf32>
  return %r : tensor<?x1x64xf32>
}

// -----

// Tests the token shift: t = 0 reads the carried state, the last token is
// the next state.

// CHECK-LABEL: func.func @token_shift
// CHECK: function(@token_shift_token_shift)
// CHECK: scf.if %{{[^ ,)]+}} -> (f32)
// CHECK: memref.load %{{[^ ,)]+}}[%{{[^ ,)]+}}, %{{[^ ,)]+}}] : memref<?x64xf32>
// CHECK: } else {
// CHECK: arith.subi
func.func @token_shift(%x: tensor<?x?x64xf32>, %p: tensor<?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x64xf32>) {
  %s, %l = rwkv.token_shift %x, %p : tensor<?x?x64xf32>, tensor<?x64xf32>
  return %s, %l : tensor<?x?x64xf32>, tensor<?x64xf32>
}
