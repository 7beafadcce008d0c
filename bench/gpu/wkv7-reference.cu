//===- wkv7-reference.cu - Hand-written WKV7 kernel of the official design ===//
//
// The baseline of the WKV7 target in docs/PERFORMANCE.md: a straightforward
// CUDA kernel of the official design (rwkv-math §6.1; RWKV-LM
// RWKV-v7/cuda/wkv7.cu): one block per (batch, head), one thread per value
// row i holding its N-long fp32 state row in registers, r/w/k/a/b of each
// token staged in shared memory, time scanned sequentially. State layout
// [B][H][N value][N key] (rwkv-math §5.4):
//
//   sa_i      = Σ_j a_j · S[i][j]
//   S[i][j]   = S[i][j]·w_j + sa_i·b_j + v_i·k_j
//   y_i       = Σ_j S[i][j]·r_j
//
// Built and run by scripts/gpu-check.sh (nvcc -O3 -arch=sm_XX). Inputs are
// [B, T, H, N] fp32, w already the decay factor in (0, 1). Prints one JSON
// line with the timing and a checksum of y and the final state, so the
// generated kernel's results (scripts/gpu-check.sh compares them) and
// speed can be set against it.
//
// Usage: wkv7-reference B T H [reps] [dump-prefix]
//   dump-prefix: also write <prefix>.{inputs,y,state}.f32 (raw fp32) for
//   comparisons.
//===----------------------------------------------------------------------===//

#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

constexpr int N = 64;

#define CHECK(call)                                                            \
  do {                                                                         \
    cudaError_t e = (call);                                                    \
    if (e != cudaSuccess) {                                                    \
      std::fprintf(stderr, "wkv7-reference: %s: %s\n", #call,                  \
                   cudaGetErrorString(e));                                     \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

__global__ void __launch_bounds__(N)
    wkv7(int T, int H, const float *__restrict__ r, const float *__restrict__ w,
         const float *__restrict__ k, const float *__restrict__ v,
         const float *__restrict__ a, const float *__restrict__ b,
         float *__restrict__ y, float *__restrict__ state) {
  const int bh = blockIdx.x, batch = bh / H, head = bh % H, i = threadIdx.x;
  __shared__ float sr[N], sw[N], sk[N], sa[N], sb[N];
  float s[N];
  float *row = state + (static_cast<size_t>(bh) * N + i) * N;
#pragma unroll
  for (int j = 0; j < N; ++j)
    s[j] = row[j];
  for (int t = 0; t < T; ++t) {
    const size_t at = ((static_cast<size_t>(batch) * T + t) * H + head) * N;
    __syncthreads();
    sr[i] = r[at + i];
    sw[i] = w[at + i];
    sk[i] = k[at + i];
    sa[i] = a[at + i];
    sb[i] = b[at + i];
    __syncthreads();
    const float vi = v[at + i];
    float dot = 0.f;
#pragma unroll
    for (int j = 0; j < N; ++j)
      dot += sa[j] * s[j];
    float out = 0.f;
#pragma unroll
    for (int j = 0; j < N; ++j) {
      s[j] = s[j] * sw[j] + dot * sb[j] + vi * sk[j];
      out += s[j] * sr[j];
    }
    y[at + i] = out;
  }
#pragma unroll
  for (int j = 0; j < N; ++j)
    row[j] = s[j];
}

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s B T H [reps] [dump-prefix]\n", argv[0]);
    return 2;
  }
  const int B = std::atoi(argv[1]), T = std::atoi(argv[2]),
            H = std::atoi(argv[3]), reps = argc > 4 ? std::atoi(argv[4]) : 10;
  const std::string dump = argc > 5 ? argv[5] : "";
  const size_t elems = static_cast<size_t>(B) * T * H * N,
               stateElems = static_cast<size_t>(B) * H * N * N;

  // Inputs of the shape real v7 models produce: w in (0.545, 1) (the clamp
  // of rwkv-math §5.4), a = -κ̂ and b = κ̂·α with κ̂ unit per head.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f), pos(0.f, 1.f);
  std::vector<float> host[6];
  for (auto &h : host)
    h.resize(elems);
  for (size_t base = 0; base < elems; base += N) {
    float norm = 0.f, kap[N];
    for (int j = 0; j < N; ++j) {
      kap[j] = u(rng);
      norm += kap[j] * kap[j];
    }
    norm = std::sqrt(norm) + 1e-12f;
    for (int j = 0; j < N; ++j) {
      host[0][base + j] = u(rng);                                // r
      host[1][base + j] = std::exp(-0.6065f * pos(rng));         // w
      host[2][base + j] = u(rng) * 0.5f;                         // k
      host[3][base + j] = u(rng);                                // v
      host[4][base + j] = -kap[j] / norm;                        // a
      host[5][base + j] = kap[j] / norm * pos(rng);              // b
    }
  }
  float *dev[6], *y, *state;
  for (int n = 0; n < 6; ++n) {
    CHECK(cudaMalloc(&dev[n], elems * sizeof(float)));
    CHECK(cudaMemcpy(dev[n], host[n].data(), elems * sizeof(float),
                     cudaMemcpyHostToDevice));
  }
  CHECK(cudaMalloc(&y, elems * sizeof(float)));
  CHECK(cudaMalloc(&state, stateElems * sizeof(float)));

  auto run = [&] {
    CHECK(cudaMemset(state, 0, stateElems * sizeof(float)));
    wkv7<<<B * H, N>>>(T, H, dev[0], dev[1], dev[2], dev[3], dev[4], dev[5], y,
                       state);
    CHECK(cudaGetLastError());
  };
  run(); // warm-up and the results below
  CHECK(cudaDeviceSynchronize());
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  CHECK(cudaEventRecord(start));
  for (int rep = 0; rep < reps; ++rep)
    run();
  CHECK(cudaEventRecord(stop));
  CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  CHECK(cudaEventElapsedTime(&ms, start, stop));
  ms /= reps;

  std::vector<float> hy(elems), hs(stateElems);
  CHECK(cudaMemcpy(hy.data(), y, elems * sizeof(float),
                   cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(hs.data(), state, stateElems * sizeof(float),
                   cudaMemcpyDeviceToHost));
  double ysum = 0, ssum = 0;
  for (float f : hy)
    ysum += std::fabs(f);
  for (float f : hs)
    ssum += std::fabs(f);
  if (!dump.empty()) {
    auto write = [&](const std::string &name, const std::vector<float> &v) {
      FILE *f = std::fopen((dump + "." + name + ".f32").c_str(), "wb");
      if (!f || std::fwrite(v.data(), sizeof(float), v.size(), f) != v.size())
        std::fprintf(stderr, "wkv7-reference: cannot write %s\n",
                     (dump + "." + name).c_str());
      if (f)
        std::fclose(f);
    };
    const char *names[6] = {"r", "w", "k", "v", "a", "b"};
    for (int n = 0; n < 6; ++n)
      write(names[n], host[n]);
    write("y", hy);
    write("state", hs);
  }
  // Bytes the kernel must move: six inputs and y, the state in and out.
  const double bytes = (7.0 * elems + 2.0 * stateElems) * sizeof(float);
  std::printf("{\"kernel\": \"wkv7-reference\", \"B\": %d, \"T\": %d, \"H\": %d, "
              "\"N\": %d, \"ms\": %.4f, \"tokens_per_s\": %.1f, "
              "\"GB_per_s\": %.1f, \"y_abs_sum\": %.6e, "
              "\"state_abs_sum\": %.6e}\n",
              B, T, H, N, ms, B * static_cast<double>(T) / (ms * 1e-3),
              bytes / (ms * 1e-3) / 1e9, ysum, ssum);
  return 0;
}
