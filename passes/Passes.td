//===- Passes.td - rwkv passes ---------------------------*- tablegen -*-===//
//
// Lowering and transformation passes of the rwkv compiler. Flags follow MLIR
// conventions: `convert-rwkv-to-<dialect>` for dialect conversions and
// `rwkv-<verb>-<object>` for transformations.
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_PASSES_TD
#define RWKV_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//

def ConvertRwkvToLinalgPass : Pass<"convert-rwkv-to-linalg", "func::FuncOp"> {
  let summary = "Lower rwkv ops to linalg, tensor, scf and vector on tensors";
  let description = [{
    Rewrites every rwkv op into upstream ops with value semantics:

    * Pointwise and reduction ops (`layer_norm`, `group_norm`, `l2_norm`,
      `lerp`, `decay`, `wkv7_bonus`, activations) become `linalg.generic`s
      that later passes fuse, tile and vectorize. Norms use two passes
      (mean, then centred variance) in f32.
    * `token_shift` and `embedding` become `tensor` slicing (copies).
    * `linear` (and the projections inside `lora`, `ddlerp` and
      `channel_mix`) become a register- and cache-blocked kernel:
      `linear-tokens` rows of `x` times `linear-rows` rows of `W` are
      accumulated in `vector<Vxf32>` registers (`V` = `vector-width`, reduced
      until it divides K) and reduced horizontally once; tokens are processed
      in chunks of `linear-chunk` so each chunk streams `W` once. With one
      token per call (decode) `W` is streamed once, row-contiguously, which is
      what a memory-bound step needs.
    * `wkv5`/`wkv7` become a per-head scan over tokens on the head's state
      transposed to [key][value] for the call: value rows are independent
      (rwkv-math §5.4), so blocks of `vector-width` rows are updated with
      vertical FMAs and no horizontal reduction. With `wkv5-chunk=L > 0`,
      `wkv5` calls of more than one token use the diagonal-decay chunk form
      instead (rwkv-math §6.2): per chunk of L tokens (the last may be
      shorter) two N×N register-blocked products (outputs from the chunk's
      incoming state, and the state update) and an L×L intra-chunk matrix,
      with every decay factor a product of w's, so no exponent can overflow.
      With `wkv7-chunk=L > 0`, `wkv7` (and `wkv7_fused`, decomposed first)
      of several tokens use the DPLR chunk form (rwkv-math §6.3): four
      intra-chunk matrices, forward substitution for the `sa` rows, then
      the same register-blocked products. Functions compiled for one token
      (the recurrent form, static T = 1) always use the scan. `wkv4` becomes batch →
      channel-chunk → time loops with (a, b, p) in registers.

    The output still uses tensors; bufferization comes later in the pipeline.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes per vector register (16 for AVX-512, 8 for AVX2)">,
    Option<"linearRows", "linear-rows", "int64_t", /*default=*/"4",
           "output rows (of W) per register block of the linear kernel">,
    Option<"linearTokens", "linear-tokens", "int64_t", /*default=*/"4",
           "tokens (rows of x) per register block of the linear kernel">,
    Option<"linearChunk", "linear-chunk", "int64_t", /*default=*/"64",
           "tokens per cache block of the linear kernel">,
    Option<"wkv5Chunk", "wkv5-chunk", "int64_t", /*default=*/"0",
           "tokens per chunk of the wkv5 chunk form for calls of several "
           "tokens (0: the per-token scan)">,
    Option<"wkv7Chunk", "wkv7-chunk", "int64_t", /*default=*/"0",
           "tokens per chunk of the wkv7 (DPLR) chunk form for calls of "
           "several tokens (0: the per-token scan)">
  ];
}

def ConvertRwkvToGpuPass : Pass<"convert-rwkv-to-gpu", "func::FuncOp"> {
  let summary = "Lower rwkv ops to GPU kernels (gpu.launch) on device buffers";
  let description = [{
    Stage 1 of the NVIDIA pipeline. While the function still has value
    semantics, every rwkv op becomes one or more `gpu.launch` kernels that
    read their operands through `bufferization.to_buffer ... read_only` and
    write fresh `memref.alloc` buffers, whose values re-enter the tensor world
    through `bufferization.to_tensor restrict writable`. One-shot
    bufferization later folds these casts away. Every kernel is named after
    the function and the op (`time_mix_1_wkv7`) and is outlined into the
    gpu.module `@rwkv_kernels`.

    * `wkv5`/`wkv7`: the design of the official CUDA kernels (rwkv-math
      §6.1): one block per (batch, head), one thread per value row i; the
      thread keeps its state row in registers for the whole call and the
      time loop runs inside the kernel. Per token the head's r/w/k/a/b (or
      r/k/w) are staged in shared memory (two slots alternating by token
      parity, one barrier per token) and the next token's are prefetched
      into registers. Dot products use four partial sums. State in f32.
    * `wkv4`: one thread per (batch, channel), (a, b, p) in registers.
    * `linear`, and the projections inside `lora`, `channel_mix` and
      `ddlerp`: a warp computes `linear-rows` outputs for `linear-tokens`
      tokens; lanes stride over K (coalesced loads of W and x), partial dot
      products stay in registers and are reduced with xor shuffles. The host
      picks a one-output-one-token variant when B·T < `linear-tokens`
      (decode). Activations, bias, gate and the ddlerp mix run in the
      epilogue; intermediate activations ([B, T, F], the LoRA hidden) are
      temporary buffers.
    * `layer_norm`, `group_norm`, `l2_norm`, `wkv7_bonus`: one warp per row
      (or head) with shuffle reductions; norms are two-pass in f32.
    * `embedding`, `token_shift`: one thread per element.
    * `lerp`, `decay`: `linalg.generic`s, fused with the glue arithmetic and
      turned into kernels by `rwkv-gpu-launch-elementwise`.

    Ops with dynamic channel counts, head sizes or weight shapes are
    reported as errors.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"
  ];
  let options = [
    Option<"linearRows", "linear-rows", "int64_t", /*default=*/"4",
           "outputs per warp of the register-blocked projection kernel">,
    Option<"linearTokens", "linear-tokens", "int64_t", /*default=*/"8",
           "tokens per warp of the register-blocked projection kernel; "
           "calls with fewer tokens (B*T) use the one-token kernel">
  ];
}

//===----------------------------------------------------------------------===//
// Transformations
//===----------------------------------------------------------------------===//

def RwkvTileSequencePass : Pass<"rwkv-tile-sequence", "func::FuncOp"> {
  let summary = "Run a parallel-form block in chunks of tokens, carrying its state";
  let description = [{
    Every rwkv op is causal along the token axis and gets what it needs from
    earlier tokens through an explicit state (the token-shift row, the WKV
    state), so a block function computes the same result chunk by chunk
    when its state results are fed back as its state arguments. For each
    function with state arguments (`rwkv.state`) and a dynamic token count
    (the parallel form), this pass wraps the body in

    ```
    scf.for %t0 = 0 to T step chunk-size iter_args(outputs, states)
      activations[:, t0 : t0 + len]  ->  body  ->  insert_slice / next state
    ```

    with `len = min(chunk-size, T - t0)` (T need not be a multiple). A next
    state need not be equivalent to the carried one (the token-shift state
    is a slice of the chunk), so the CPU pipeline bufferizes with
    `allow-return-allocs-from-loops`. Every
    intermediate activation of the block is then `[B, len, C]` and stays in
    cache, and the WKV scans continue their state across chunks. Every
    token sees the same operations in the same order as untiled (state
    transposes are exact moves), so results are bit-identical. (With a WKV
    chunk form, `convert-rwkv-to-linalg{wkv5-chunk, wkv7-chunk}`, that
    holds when the chunk size is a multiple of the WKV chunk: WKV chunks
    then start at the same tokens.) Functions
    without state
    (embedding, head) and the recurrent form (T = 1) are left alone; a
    function with a state whose roles do not fit the scheme (a state result
    without its argument, an activation that is not `[B, T, ...]`) is left
    alone with a remark.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
  let options = [
    Option<"chunkSize", "chunk-size", "int64_t", /*default=*/"64",
           "tokens per chunk">
  ];
}

def RwkvTileHeadsPass : Pass<"rwkv-tile-heads", "func::FuncOp"> {
  let summary = "Tile WKV ops (wkv5, wkv7, wkv7_fused) over groups of heads";
  let description = [{
    Heads are independent (each has its own `N × N` state and reads only
    its own `N` channels: rwkv-math §3.1, §5.4), so a WKV op over `H` heads
    becomes a loop over `H / heads-per-tile` tiles, each applying the same
    op to its channels `[g·hpt·N, (g+1)·hpt·N)` of every `[B, T, C]` and
    `[C]` operand and to its heads of the state and of `r_k`, and inserting
    its outputs. The loop is marked `rwkv.parallel`, so
    `rwkv-parallelize-loops` runs tiles on threads (the lowering's head loop
    inside a tile then stays serial): the tile size is the grain of the
    threads' work. Results are bit-identical. Ops with fewer heads than a
    tile are left alone; a head count that is not a multiple of the tile is
    left alone with a remark.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
  let options = [
    Option<"headsPerTile", "heads-per-tile", "int64_t", /*default=*/"4",
           "heads per tile">
  ];
}

def RwkvTileRowsPass : Pass<"rwkv-tile-rows", "func::FuncOp"> {
  let summary = "Tile projections (linear, shift_lerp_linear) over output rows";
  let description = [{
    Output rows of a projection are independent, so `y = x · Wᵀ` with `W`
    `[M, K]` becomes a loop over `M / rows-per-tile` tiles, each multiplying
    by its rows of `W` and inserting its columns of `y`. The loop is marked
    `rwkv.parallel` (see `rwkv-tile-heads`); each tile streams a contiguous
    block of `W`. Results are bit-identical. Projections with fewer rows
    than a tile are left alone; a row count that is not a multiple of the
    tile is left alone with a remark. LoRAs and channel mixes keep their
    fused form.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
  let options = [
    Option<"rowsPerTile", "rows-per-tile", "int64_t", /*default=*/"256",
           "output rows per tile">
  ];
}

def RwkvTileAndVectorizePass
    : Pass<"rwkv-tile-and-vectorize", "func::FuncOp"> {
  let summary = "Tile linalg ops on tensors and vectorize the tiles";
  let description = [{
    For every `linalg` op with tensor semantics and a static innermost
    dimension: tiles all outer dimensions by 1 (they become `scf.for` loops),
    tiles a parallel innermost dimension by a multiple of `vector-width` that
    divides it, keeps a reduction innermost dimension whole, and vectorizes
    the tile with `linalg::vectorize`. Ops with a dynamic parallel innermost
    dimension (the [B, T] row statistics of the parallel form) are tiled by 1
    everywhere. Ops that reduce over a dynamic innermost dimension, or whose
    innermost extent is longer than `max-vector-size` without a fitting tile,
    stay scalar and are reported with a remark.
  }];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes per vector register (16 for AVX-512, 8 for AVX2)">,
    Option<"maxVectorSize", "max-vector-size", "int64_t", /*default=*/"4096",
           "largest innermost extent vectorized whole">
  ];
}

def RwkvGpuLaunchElementwisePass
    : Pass<"rwkv-gpu-launch-elementwise", "func::FuncOp"> {
  let summary = "Turn parallel linalg.generic ops on tensors into GPU kernels";
  let description = [{
    Stage 1 of the NVIDIA pipeline, after `convert-rwkv-to-gpu` and
    elementwise fusion. Each `linalg.generic` with tensor semantics and only
    parallel iterators becomes a `gpu.launch` with one thread per output
    element (256 per block): the thread delinearizes its index, loads every
    input through its indexing map (broadcasts included), runs the generic's
    body and stores the results into fresh buffers, at the same tensor/buffer
    boundary as `convert-rwkv-to-gpu`. Generics with reductions, or on
    buffers, are left alone with a remark.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"
  ];
}

def RwkvGpuPrepareHostPass : Pass<"rwkv-gpu-prepare-host", "func::FuncOp"> {
  let summary = "Make the bufferized host code of GPU entry points device-only";
  let description = [{
    Runs after bufferization (with results as out-parameters). In a GPU
    entry point every buffer is device memory, so:

    * a result computed into a temporary and copied into its out-parameter
      is written into the out-parameter directly (the copy and the
      temporary disappear);
    * every temporary is freed right after its last use in the function
      body (through views too; frees are stream-ordered like the kernels),
      and host `memref.alloc`/`memref.dealloc` become
      `gpu.alloc`/`gpu.dealloc`. MLIR's ownership-based deallocation is not
      used: it rejects kernels with barriers;
    * `memref.copy` becomes `gpu.memcpy` between contiguous buffers, else a
      copy kernel (e.g. the last-token slice of the prompt form's head);
    * any other host access to a buffer is an error.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect"];
}

def RwkvGpuEmulateOnCpuPass : Pass<"rwkv-gpu-emulate-on-cpu", "ModuleOp"> {
  let summary = "Test infrastructure: GPU kernels as CPU functions for a SIMT emulator";
  let description = [{
    Not part of any compilation pipeline. Replaces the module's contents by
    its GPU kernels rewritten as CPU functions `@<kernel>_impl` with the
    kernel's signature: thread/block ids and sizes become calls to
    `@rwkv_emu_id(kind * 3 + dim)`, `gpu.barrier` a call to
    `@rwkv_emu_barrier`, xor shuffles calls to `@rwkv_emu_shuffle_xor_f32`,
    and workgroup buffers private globals (the emulator runs one block at a
    time). `rwkvc --gpu-emulation` compiles the result for the host into
    `kernels.emu.so`, which the test driver `libfake-cuda.so` runs with one
    fiber per GPU thread, so GPU artifacts are checked numerically on
    machines without a GPU.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::memref::MemRefDialect"
  ];
}

def RwkvLowerVectorPass : Pass<"rwkv-lower-vector", "func::FuncOp"> {
  let summary = "Lower n-D vector ops to the 1-D forms LLVM codegen expects";
  let description = [{
    Applies MLIR's progressive vector lowerings in one greedy rewrite: drops
    unit dimensions of transfers, lowers transfer permutation maps and
    broadcasts, multi-reductions (inner-reduction strategy), shape casts and
    transposes, and unrolls transfers to rank 1. Floating-point
    `vector.reduction` ops are marked `reassoc` so LLVM emits a shuffle tree
    instead of a serial chain: our sums are not order-sensitive beyond f32
    rounding.
  }];
  let dependentDialects = [
    "::mlir::vector::VectorDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect"
  ];
}

def RwkvFuseChannelMixPass
    : Pass<"rwkv-fuse-channel-mix", "func::FuncOp"> {
  let summary = "Fuse channel-mix chains into rwkv.channel_mix";
  let description = [{
    Rewrites `linear(activation relu_square(linear(x_k, K)), V)`, optionally
    gated by `arith.mulf` with `activation sigmoid(linear(x_r, R))` (RWKV-4
    to 6, rwkv-math §2.3), into one `rwkv.channel_mix`, whose lowering keeps
    the F-wide hidden activations inside the block. A chain whose key
    activations (or whose receptance) are used outside it is not fused (or
    fused without the gate), with a remark.
  }];
}

def RwkvFuseLoraPass : Pass<"rwkv-fuse-lora", "func::FuncOp"> {
  let summary = "Fuse LoRA chains into rwkv.lora";
  let description = [{
    Rewrites `linear(activation?(linear(x, down)), up)`, optionally followed
    by `bias_add` and an output `activation` that are used only there, into
    one `rwkv.lora` (rwkv-math §4.1, §5.2). Only low-rank chains fuse (the
    middle width is smaller than the input width); a chain whose hidden
    activations are used elsewhere, or whose middle activation is
    `relu_square` (a channel mix; run `rwkv-fuse-channel-mix` first), is
    left alone with a remark.
  }];
}

def RwkvFuseTokenShiftPass : Pass<"rwkv-fuse-token-shift", "func::FuncOp"> {
  let summary = "Fold token-shift mixes into the projections they feed";
  let description = [{
    Rewrites `rwkv.linear(rwkv.lerp(x, xs, mu), W)` with
    `xs, _ = rwkv.token_shift(x, prev)` (either lerp order: RWKV-6/7 weight
    the previous token, RWKV-4/5 the current one) and a per-channel `mu`
    into `rwkv.shift_lerp_linear`, whose lowering mixes each cache block of
    tokens right before the projection multiplies it. Run it after
    `rwkv-fuse-lora` and `rwkv-fuse-channel-mix`, which take their chains'
    first projection as it is. A mix that feeds no `rwkv.linear` is left
    alone, and one that also feeds a LoRA or a channel mix is kept for
    those, with a remark.
  }];
}

def RwkvFuseWkvOutputPass : Pass<"rwkv-fuse-wkv-output", "func::FuncOp"> {
  let summary = "Fuse the RWKV-7 WKV with its group norm, bonus and gate";
  let description = [{
    Rewrites `rwkv.wkv7`, followed by `rwkv.group_norm` with one group per
    head, `arith.addf` with the `rwkv.wkv7_bonus` of the same r, k and v,
    and optionally `arith.mulf` with the output gate (rwkv-math §5.5), into
    one `rwkv.wkv7_fused`. The CPU lowering then normalises, adds the bonus
    and gates each head's output for a token while the WKV scan still
    holds it in registers, instead of writing the WKV output and reading it
    back three times. A chain whose WKV output, normalised output or bonus
    is used elsewhere, whose group norm's groups are not the heads, or
    whose new state is used before the chain ends is left alone with a
    remark.
  }];
}

def RwkvParallelizeLoopsPass
    : Pass<"rwkv-parallelize-loops", "func::FuncOp"> {
  let summary = "Turn loops marked rwkv.parallel into scf.parallel";
  let description = [{
    `convert-rwkv-to-linalg` marks the loops whose iterations write disjoint
    parts of their results with `rwkv.parallel`: the output-row blocks of
    every projection (`linear`, and those inside `lora`, `ddlerp` and
    `channel_mix`), the heads of the `wkv5`/`wkv7` scans and the channel
    blocks of `wkv4`. After bufferization such a loop carries no values, and
    this pass rewrites it into an `scf.parallel` (which
    `convert-scf-to-openmp` turns into an OpenMP worksharing loop). The
    order of iterations never changes the arithmetic, so results are
    bit-identical for every thread count.

    Before the rewrite, scratch buffers are privatized: an allocation made
    before the loop whose every use (through views) is inside it, such as a
    head's transposed state after bufferization merged the per-iteration
    temporaries, is re-allocated and freed in each iteration.

    A marked loop that still carries values (bufferization could not make it
    write in place) or that is nested in an already parallel loop stays
    serial, with a remark that says why.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def RwkvPrepareAbiPass : Pass<"rwkv-prepare-abi", "ModuleOp"> {
  let summary = "Fix the calling convention of entry points before bufferization";
  let description = [{
    For every public `func.func`:

    * marks each argument `bufferization.writable = false`: generated code
      never writes its inputs. Weights are shared by every session of a model
      (and by threads), and the runtime may pass the same state buffer to
      several calls, so in-place updates of inputs are not allowed; results
      go to caller-owned out-parameters (`buffer-results-to-out-params`);
    * requests a C interface (`llvm.emit_c_interface`), the ABI the artifact
      wrappers call;
    * drops the importer's `rwkv.*` argument and result role attributes, which
      the driver has already recorded in the manifest.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
}

def RwkvExpandMemrefCopyPass
    : Pass<"rwkv-expand-memref-copy", "func::FuncOp"> {
  let summary = "Turn non-contiguous memref.copy into linalg.copy loops";
  let description = [{
    `memref.copy` between buffers that are not both statically shaped and
    contiguous lowers to a call to `memrefCopy` from MLIR's C runner
    library, which a standalone shared library cannot depend on. This pass
    rewrites such copies into `linalg.copy`, which later lowers to plain
    loops. Contiguous copies are left alone: they lower to `llvm.memcpy`.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def RwkvApproximateMathPass : Pass<"rwkv-approximate-math"> {
  let summary = "Replace math ops by polynomial approximations";
  let description = [{
    Rewrites `math.exp`, `math.tanh`, `math.log`, `math.erf` and friends on
    f32 scalars and vectors into the polynomial approximations MLIR provides
    (`populateMathPolynomialApproximationPatterns`), so vector code needs no
    libm calls and stays vectorized. The approximations are accurate to a few
    ulp in f32.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect"
  ];
}

#endif // RWKV_PASSES_TD
