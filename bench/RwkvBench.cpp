//===- RwkvBench.cpp - rwkv-mlir benchmarks (Google Benchmark) ------------===//
//
// Everything docs/PERFORMANCE.md reports, measured in one run:
//
//   Machine/*        the machine's limits: streaming read bandwidth (1 and
//                    all threads) and peak f32 FMA throughput of one core
//   Kernel/*         single generated kernels (WKV7 and WKV5 at H=12 N=64
//                    T=512, each as the per-token scan and in its chunk
//                    form at several chunk lengths, the linear kernel at
//                    0.1B shapes), compiled through the same pipeline as
//                    rwkvc for the host
//   Blas/*           OpenBLAS cblas_sgemm (1 thread) at the linear kernel's
//                    shapes, when the build found OpenBLAS: the comparison
//                    issue 4 asks for (generated GEMM against a BLAS)
//   Model/*          the RWKV-7 0.1B spec compiled by rwkvc, synthetic f32
//                    weights, through the runtime's C API: decode (one token
//                    per call) and prefill of 512 tokens
//   Compile/*        rwkvc wall time for the 0.1B spec
//
// Counters: tok/s, GB/s, GFLOP/s; bench/report.py turns the JSON output into
// the markdown table with the roofline.
//
//===----------------------------------------------------------------------===//

#include "CompileHarness.h"
#include "rwkv/runtime.h"

#include <benchmark/benchmark.h>
#include <immintrin.h>
#ifdef RWKV_BENCH_OPENBLAS
#include <cblas.h>
#endif

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using rwkvtest::CompiledFunction;
using rwkvtest::Tensor;

namespace {

//===----------------------------------------------------------------------===//
// Machine limits
//===----------------------------------------------------------------------===//

/// Sums [p, p + n) as four interleaved streams (n a multiple of 128): the
/// access pattern of the generated GEMV, which reads several weight rows at
/// once.
__attribute__((target("avx512f"))) float sumStreams512(const float *p,
                                                       size_t n) {
  size_t q = n / 4;
  __m512 s[8];
  for (auto &v : s)
    v = _mm512_setzero_ps();
  for (size_t i = 0; i < q; i += 32)
    for (int st = 0; st < 4; ++st) {
      s[2 * st] = _mm512_add_ps(s[2 * st], _mm512_load_ps(p + st * q + i));
      s[2 * st + 1] =
          _mm512_add_ps(s[2 * st + 1], _mm512_load_ps(p + st * q + i + 16));
    }
  for (int j = 1; j < 8; ++j)
    s[0] = _mm512_add_ps(s[0], s[j]);
  return _mm512_reduce_add_ps(s[0]);
}

__attribute__((target("avx2"))) float sumStreams256(const float *p, size_t n) {
  size_t q = n / 4;
  __m256 s[8];
  for (auto &v : s)
    v = _mm256_setzero_ps();
  for (size_t i = 0; i < q; i += 16)
    for (int st = 0; st < 4; ++st) {
      s[2 * st] = _mm256_add_ps(s[2 * st], _mm256_load_ps(p + st * q + i));
      s[2 * st + 1] =
          _mm256_add_ps(s[2 * st + 1], _mm256_load_ps(p + st * q + i + 8));
    }
  for (int j = 1; j < 8; ++j)
    s[0] = _mm256_add_ps(s[0], s[j]);
  float out[8];
  _mm256_storeu_ps(out, s[0]);
  return out[0] + out[7];
}

/// Streaming reads of a 1 GiB buffer (far beyond any cache), split over
/// `threads` threads; each thread reads 4 interleaved streams.
void MemoryBandwidth(benchmark::State &state) {
  const size_t n = size_t(1) << 28; // floats: 1 GiB
  static float *buffer = [] {
    float *b =
        static_cast<float *>(std::aligned_alloc(64, (size_t(1) << 28) * 4));
    for (size_t i = 0; i < (size_t(1) << 28); ++i)
      b[i] = static_cast<float>(i & 1023);
    return b;
  }();
  const int threads = static_cast<int>(state.range(0));
  const bool avx512 = __builtin_cpu_supports("avx512f");
  float sink = 0;
  for (auto _ : state) {
    std::vector<std::thread> pool;
    std::vector<float> partial(threads);
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        size_t len = n / threads / 128 * 128;
        const float *p = buffer + len * t;
        partial[t] = avx512 ? sumStreams512(p, len) : sumStreams256(p, len);
      });
    for (auto &th : pool)
      th.join();
    for (float p : partial)
      sink += p;
  }
  benchmark::DoNotOptimize(sink);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * n * 4);
}

/// 12 independent chains of FMAs on full-width registers: enough to cover
/// the FMA latency on current x86 cores.
volatile float kMul = 0.999999f, kAdd = 1e-7f; // opaque to the optimizer

__attribute__((target("avx512f"))) float fmaLoop512(int64_t iterations) {
  __m512 acc[12];
  for (int j = 0; j < 12; ++j)
    acc[j] = _mm512_set1_ps(1.0f + j * 1e-3f);
  const __m512 m = _mm512_set1_ps(kMul), a = _mm512_set1_ps(kAdd);
  for (int64_t i = 0; i < iterations; ++i) {
    for (int j = 0; j < 12; ++j)
      acc[j] = _mm512_fmadd_ps(acc[j], m, a);
    benchmark::ClobberMemory();
  }
  for (int j = 1; j < 12; ++j)
    acc[0] = _mm512_add_ps(acc[0], acc[j]);
  return _mm512_reduce_add_ps(acc[0]);
}

__attribute__((target("avx2,fma"))) float fmaLoop256(int64_t iterations) {
  __m256 acc[12];
  for (int j = 0; j < 12; ++j)
    acc[j] = _mm256_set1_ps(1.0f + j * 1e-3f);
  const __m256 m = _mm256_set1_ps(kMul), a = _mm256_set1_ps(kAdd);
  for (int64_t i = 0; i < iterations; ++i) {
    for (int j = 0; j < 12; ++j)
      acc[j] = _mm256_fmadd_ps(acc[j], m, a);
    benchmark::ClobberMemory();
  }
  for (int j = 1; j < 12; ++j)
    acc[0] = _mm256_add_ps(acc[0], acc[j]);
  float out[8];
  _mm256_storeu_ps(out, acc[0]);
  return out[0];
}

/// Peak f32 FMA rate of one core: 12 independent accumulator chains of the
/// widest vectors the CPU has (AVX-512 or AVX2).
void PeakFma(benchmark::State &state) {
  const int64_t iterations = 20'000'000;
  bool avx512 = __builtin_cpu_supports("avx512f");
  const double lanes = avx512 ? 16 : 8;
  double sink = 0;
  for (auto _ : state)
    sink += avx512 ? fmaLoop512(iterations) : fmaLoop256(iterations);
  benchmark::DoNotOptimize(sink);
  state.counters["FLOP"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * iterations * 12 * lanes * 2,
      benchmark::Counter::kIsRate);
  state.SetLabel(avx512 ? "avx512" : "avx2");
}

//===----------------------------------------------------------------------===//
// Generated kernels
//===----------------------------------------------------------------------===//

Tensor randomTensor(std::vector<int64_t> shape, float lo, float hi,
                    unsigned seed) {
  Tensor t = Tensor::zeros(std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float &x : t.data)
    x = dist(gen);
  return t;
}

std::unique_ptr<CompiledFunction>
compileOrDie(const std::string &mlir, const std::string &options = "") {
  std::string error;
  auto fn = CompiledFunction::compile(mlir, "f", error, options);
  if (!fn) {
    std::fprintf(stderr, "rwkv-bench: cannot compile kernel: %s\n",
                 error.c_str());
    std::exit(1);
  }
  return fn;
}

/// RWKV-7 WKV alone: B = 1, H = 12, N = 64, T = 512 (the 0.1B model's
/// shapes), state in and out, in the form chosen by the argument: 0 = the
/// per-token scan (the default), L = the DPLR chunk form with chunks of L
/// tokens (rwkv-math §6.3). Compiled without OpenMP: one thread.
void Wkv7(benchmark::State &state) {
  const int64_t chunk = state.range(0);
  auto fn = compileOrDie(R"(
    func.func @f(%r: tensor<1x512x768xf32>, %w: tensor<1x512x768xf32>, %k: tensor<1x512x768xf32>,
                 %v: tensor<1x512x768xf32>, %a: tensor<1x512x768xf32>, %b: tensor<1x512x768xf32>,
                 %s: tensor<1x12x64x64xf32>) -> (tensor<1x512x768xf32>, tensor<1x12x64x64xf32>) {
      %y, %s1 = rwkv.wkv7 %r, %w, %k, %v, %a, %b, %s : tensor<1x512x768xf32>, tensor<1x12x64x64xf32>
      return %y, %s1 : tensor<1x512x768xf32>, tensor<1x12x64x64xf32>
    })",
                         "wkv7-chunk=" + std::to_string(chunk));
  Tensor r = randomTensor({1, 512, 768}, -1, 1, 1),
         w = randomTensor({1, 512, 768}, 0.55f, 1, 2),
         k = randomTensor({1, 512, 768}, -1, 1, 3),
         v = randomTensor({1, 512, 768}, -1, 1, 4),
         a = randomTensor({1, 512, 768}, -0.1f, 0, 5),
         b = randomTensor({1, 512, 768}, 0, 0.1f, 6),
         s = Tensor::zeros({1, 12, 64, 64}), y = Tensor::zeros({1, 512, 768}),
         s1 = Tensor::zeros({1, 12, 64, 64});
  for (auto _ : state)
    fn->call({&r, &w, &k, &v, &a, &b, &s, &y, &s1});
  state.counters["tok"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 512,
                         benchmark::Counter::kIsRate);
}

/// RWKV-5/6 WKV alone at the same shapes, per-token decay (RWKV-6), in the
/// form chosen by the argument: 0 = per-token scan, L = chunk form with
/// chunks of L tokens (rwkv-math §6.2). One thread.
void Wkv5(benchmark::State &state) {
  const int64_t chunk = state.range(0);
  auto fn = compileOrDie(R"(
    func.func @f(%r: tensor<1x512x768xf32>, %w: tensor<1x512x768xf32>, %k: tensor<1x512x768xf32>,
                 %v: tensor<1x512x768xf32>, %u: tensor<768xf32>,
                 %s: tensor<1x12x64x64xf32>) -> (tensor<1x512x768xf32>, tensor<1x12x64x64xf32>) {
      %y, %s1 = rwkv.wkv5 %r, %w, %k, %v, %u, %s : tensor<1x512x768xf32>, tensor<768xf32>, tensor<1x12x64x64xf32>
      return %y, %s1 : tensor<1x512x768xf32>, tensor<1x12x64x64xf32>
    })",
                         "wkv5-chunk=" + std::to_string(chunk));
  Tensor r = randomTensor({1, 512, 768}, -1, 1, 1),
         w = randomTensor({1, 512, 768}, 0.3f, 1, 2),
         k = randomTensor({1, 512, 768}, -1, 1, 3),
         v = randomTensor({1, 512, 768}, -1, 1, 4),
         u = randomTensor({768}, -1, 1, 5), s = Tensor::zeros({1, 12, 64, 64}),
         y = Tensor::zeros({1, 512, 768}), s1 = Tensor::zeros({1, 12, 64, 64});
  for (auto _ : state)
    fn->call({&r, &w, &k, &v, &u, &s, &y, &s1});
  state.counters["tok"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 512,
                         benchmark::Counter::kIsRate);
}

/// The linear kernel at prefill shapes: T = 512 tokens, [out, in] weights.
void Linear(benchmark::State &state) {
  const int64_t in = state.range(0), out = state.range(1);
  std::string shapes = "512x" + std::to_string(in);
  std::string mlir =
      "func.func @f(%x: tensor<1x" + shapes + "xf32>, %w: tensor<" +
      std::to_string(out) + "x" + std::to_string(in) +
      "xf32>) -> tensor<1x512x" + std::to_string(out) +
      "xf32> {\n  %y = rwkv.linear %x, %w : tensor<1x" + shapes +
      "xf32>, tensor<" + std::to_string(out) + "x" + std::to_string(in) +
      "xf32> -> tensor<1x512x" + std::to_string(out) +
      "xf32>\n  return %y : tensor<1x512x" + std::to_string(out) + "xf32>\n}\n";
  auto fn = compileOrDie(mlir);
  Tensor x = randomTensor({1, 512, in}, -1, 1, 7),
         w = randomTensor({out, in}, -0.1f, 0.1f, 8),
         y = Tensor::zeros({1, 512, out});
  for (auto _ : state)
    fn->call({&x, &w, &y});
  state.counters["FLOP"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 2 * 512 * in * out,
      benchmark::Counter::kIsRate);
}

#ifdef RWKV_BENCH_OPENBLAS
/// y = x · Wᵀ by OpenBLAS on one thread, same shapes and data as Linear.
void BlasLinear(benchmark::State &state) {
  const int64_t in = state.range(0), out = state.range(1), tokens = 512;
  openblas_set_num_threads(1);
  Tensor x = randomTensor({1, tokens, in}, -1, 1, 7),
         w = randomTensor({out, in}, -0.1f, 0.1f, 8),
         y = Tensor::zeros({1, tokens, out});
  for (auto _ : state)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tokens, out, in, 1.0f,
                x.data.data(), in, w.data.data(), in, 0.0f, y.data.data(), out);
  state.counters["FLOP"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * 2 * tokens * in * out,
      benchmark::Counter::kIsRate);
}
#endif

//===----------------------------------------------------------------------===//
// The 0.1B model through the runtime
//===----------------------------------------------------------------------===//

std::string compileSpec(const std::string &spec) {
  fs::path dir =
      fs::temp_directory_path() / ("rwkv-bench-" + std::to_string(::getpid()) +
                                   "-" + fs::path(spec).stem().string());
  std::string cmd = std::string(RWKVC_PATH) + " '" + std::string(RWKV_SPECS) +
                    "/" + spec + "' -o '" + dir.string() + "'";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "rwkv-bench: %s failed\n", cmd.c_str());
    std::exit(1);
  }
  return dir.string();
}

rwkv_model *loadSynthetic(const std::string &spec) {
  std::string dir = compileSpec(spec);
  rwkv_model *m = nullptr;
  if (rwkv_model_load_synthetic(dir.c_str(), 0, &m) != RWKV_OK) {
    std::fprintf(stderr, "rwkv-bench: %s\n", rwkv_last_error());
    std::exit(1);
  }
  return m;
}

rwkv_model *model01b() {
  static rwkv_model *model = loadSynthetic("rwkv7-goose-0.1b.toml");
  return model;
}

/// The same model with bf16 projection weights.
rwkv_model *model01bBf16() {
  static rwkv_model *model = loadSynthetic("rwkv7-goose-0.1b-bf16.toml");
  return model;
}

template <rwkv_model *(*Model)()> void Decode(benchmark::State &state) {
  rwkv_model *model = Model();
  rwkv_session *s = nullptr;
  rwkv_session_create(model, 1, &s);
  rwkv_session_set_threads(s, state.range(0));
  std::vector<float> logits(static_cast<size_t>(rwkv_model_vocab_size(model)));
  int32_t token = 0;
  for (auto _ : state) {
    rwkv_session_eval(s, &token, logits.data());
    token = (token + 7919) % 65536;
  }
  rwkv_session_free(s);
  state.counters["tok"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["weight_bytes_per_tok"] =
      static_cast<double>(rwkv_model_weight_bytes(model));
}

void Prefill(benchmark::State &state) {
  rwkv_model *model = model01b();
  const int64_t n = state.range(0);
  std::vector<int32_t> prompt(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    prompt[i] = static_cast<int32_t>((i * 2654435761u) % 65536);
  std::vector<float> logits(static_cast<size_t>(rwkv_model_vocab_size(model)));
  rwkv_session *s = nullptr;
  rwkv_session_create(model, 1, &s);
  rwkv_session_set_chunk_size(s, n);
  rwkv_session_set_threads(s, state.range(1));
  for (auto _ : state) {
    rwkv_session_reset(s);
    rwkv_session_eval_sequence(s, prompt.data(), n, logits.data());
  }
  rwkv_session_free(s);
  state.counters["tok"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * n, benchmark::Counter::kIsRate);
}

void CompileSpec(benchmark::State &state) {
  for (auto _ : state) {
    std::string dir = compileSpec("rwkv7-goose-0.1b.toml");
    fs::remove_all(dir);
  }
}

} // namespace

BENCHMARK(MemoryBandwidth)
    ->Name("Machine/ReadBandwidth")
    ->Arg(1)
    ->Arg(2)
    ->ArgName("threads")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);
BENCHMARK(PeakFma)->Name("Machine/PeakFma")->Unit(benchmark::kMillisecond);
BENCHMARK(Wkv7)
    ->Name("Kernel/Wkv7/H12_N64_T512")
    ->Arg(0)
    ->Arg(4)
    ->Arg(8)
    ->Arg(16)
    ->Arg(32)
    ->ArgName("chunk")
    ->Unit(benchmark::kMillisecond);
BENCHMARK(Wkv5)
    ->Name("Kernel/Wkv5/H12_N64_T512")
    ->Arg(0)
    ->Arg(4)
    ->Arg(8)
    ->Arg(16)
    ->Arg(32)
    ->Arg(64)
    ->ArgName("chunk")
    ->Unit(benchmark::kMillisecond);
BENCHMARK(Linear)
    ->Name("Kernel/Linear/T512")
    ->Args({768, 768})
    ->Args({768, 3072})
    ->Args({3072, 768})
    ->ArgNames({"in", "out"})
    ->Unit(benchmark::kMillisecond);
#ifdef RWKV_BENCH_OPENBLAS
BENCHMARK(BlasLinear)
    ->Name("Blas/Sgemm/T512")
    ->Args({768, 768})
    ->Args({768, 3072})
    ->Args({3072, 768})
    ->ArgNames({"in", "out"})
    ->Unit(benchmark::kMillisecond);
#endif
BENCHMARK(Decode<model01bBf16>)
    ->Name("Model/rwkv7-0.1b-bf16/Decode")
    ->Arg(1)
    ->Arg(2)
    ->ArgName("threads")
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);
BENCHMARK(Decode<model01b>)
    ->Name("Model/rwkv7-0.1b/Decode")
    ->Arg(1)
    ->Arg(2)
    ->ArgName("threads")
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);
BENCHMARK(Prefill)
    ->Name("Model/rwkv7-0.1b/Prefill")
    ->Args({512, 1})
    ->Args({512, 2})
    ->ArgNames({"tokens", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);
BENCHMARK(CompileSpec)
    ->Name("Compile/rwkv7-0.1b")
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

BENCHMARK_MAIN();
