//===- OpTests.cpp - compiled rwkv ops vs the scalar reference ------------===//
//
// Each test compiles one rwkv op (batch 2, several tokens, shapes chosen to
// hit remainder paths of the vector code) through the CPU pipeline and
// rwkvc's code generator, runs it on random inputs and compares with
// Reference.h in double precision.
//
//===----------------------------------------------------------------------===//

#include "CompileHarness.h"
#include "Reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

using rwkvref::Vec;
using rwkvtest::CompiledFunction;
using rwkvtest::Tensor;

namespace {

/// Tolerance for f32 results against the double reference: a few ulp of the
/// polynomial exp/tanh plus f32 accumulation of up to a few hundred terms.
constexpr double kTol = 2e-5;

Tensor random(std::vector<int64_t> shape, double lo, double hi, unsigned seed) {
  Tensor t = Tensor::zeros(std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  for (float &x : t.data)
    x = static_cast<float>(dist(gen));
  return t;
}

Vec toDouble(const Tensor &t) { return Vec(t.data.begin(), t.data.end()); }

void expectClose(const Tensor &got, const Vec &want, double tol = kTol) {
  ASSERT_EQ(got.data.size(), want.size());
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    double err = std::abs(got.data[i] - want[i]) / (1.0 + std::abs(want[i]));
    if (err > worst) {
      worst = err;
      at = i;
    }
  }
  EXPECT_LE(worst, tol) << "worst relative error at element " << at << ": got "
                        << got.data[at] << ", want " << want[at];
}

std::unique_ptr<CompiledFunction> compile(const std::string &mlir) {
  std::string error;
  auto fn = CompiledFunction::compile(mlir, "f", error);
  EXPECT_TRUE(fn) << error;
  return fn;
}

} // namespace

TEST(Ops, LayerNorm) {
  auto fn = compile(R"(
    func.func @f(%x: tensor<2x3x96xf32>, %w: tensor<96xf32>, %b: tensor<96xf32>) -> tensor<2x3x96xf32> {
      %y = rwkv.layer_norm %x, %w, %b {eps = 1.0e-5 : f32} : tensor<2x3x96xf32>, tensor<96xf32>
      return %y : tensor<2x3x96xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor x = random({2, 3, 96}, -3, 3, 1), w = random({96}, 0.5, 1.5, 2),
         b = random({96}, -1, 1, 3), y = Tensor::zeros({2, 3, 96});
  fn->call({&x, &w, &b, &y});
  expectClose(
      y, rwkvref::layerNorm(toDouble(x), toDouble(w), toDouble(b), 96, 1e-5));
}

TEST(Ops, GroupNorm) {
  auto fn = compile(R"(
    func.func @f(%x: tensor<2x3x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<2x3x64xf32> {
      %y = rwkv.group_norm %x, %w, %b {num_groups = 8, eps = 6.4e-4 : f32} : tensor<2x3x64xf32>, tensor<64xf32>
      return %y : tensor<2x3x64xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor x = random({2, 3, 64}, -2, 2, 4), w = random({64}, 0.5, 1.5, 5),
         b = random({64}, -1, 1, 6), y = Tensor::zeros({2, 3, 64});
  fn->call({&x, &w, &b, &y});
  expectClose(y, rwkvref::groupNorm(toDouble(x), toDouble(w), toDouble(b), 64,
                                    8, 6.4e-4));
}

TEST(Ops, L2Norm) {
  auto fn = compile(R"(
    func.func @f(%x: tensor<2x3x64xf32>) -> tensor<2x3x64xf32> {
      %y = rwkv.l2_norm %x {head_size = 16} : tensor<2x3x64xf32>
      return %y : tensor<2x3x64xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor x = random({2, 3, 64}, -2, 2, 7), y = Tensor::zeros({2, 3, 64});
  // One all-zero head: the eps clamp must give zeros, not NaN.
  for (int i = 0; i < 16; ++i)
    x.data[16 + i] = 0.0f;
  fn->call({&x, &y});
  expectClose(y, rwkvref::l2Norm(toDouble(x), 16, 1e-12));
}

TEST(Ops, TokenShift) {
  auto fn = compile(R"(
    func.func @f(%x: tensor<2x3x64xf32>, %p: tensor<2x64xf32>) -> (tensor<2x3x64xf32>, tensor<2x64xf32>) {
      %s, %l = rwkv.token_shift %x, %p : tensor<2x3x64xf32>, tensor<2x64xf32>
      return %s, %l : tensor<2x3x64xf32>, tensor<2x64xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor x = random({2, 3, 64}, -1, 1, 8), p = random({2, 64}, -1, 1, 9);
  Tensor s = Tensor::zeros({2, 3, 64}), l = Tensor::zeros({2, 64});
  fn->call({&x, &p, &s, &l});
  Vec ws(s.data.size()), wl(l.data.size());
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 64; ++c) {
      ws[(b * 3) * 64 + c] = p.data[b * 64 + c];
      for (int t = 1; t < 3; ++t)
        ws[(b * 3 + t) * 64 + c] = x.data[(b * 3 + t - 1) * 64 + c];
      wl[b * 64 + c] = x.data[(b * 3 + 2) * 64 + c];
    }
  expectClose(s, ws, 0.0);
  expectClose(l, wl, 0.0);
}

TEST(Ops, Lerp) {
  auto fn = compile(R"(
    func.func @f(%a: tensor<2x3x64xf32>, %b: tensor<2x3x64xf32>, %mu: tensor<64xf32>, %t: tensor<2x3x64xf32>)
        -> (tensor<2x3x64xf32>, tensor<2x3x64xf32>) {
      %x = rwkv.lerp %a, %b, %mu : tensor<2x3x64xf32>, tensor<64xf32>
      %y = rwkv.lerp %a, %b, %t : tensor<2x3x64xf32>, tensor<2x3x64xf32>
      return %x, %y : tensor<2x3x64xf32>, tensor<2x3x64xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor a = random({2, 3, 64}, -1, 1, 10), b = random({2, 3, 64}, -1, 1, 11),
         mu = random({64}, 0, 1, 12), t = random({2, 3, 64}, 0, 1, 13);
  Tensor x = Tensor::zeros({2, 3, 64}), y = Tensor::zeros({2, 3, 64});
  fn->call({&a, &b, &mu, &t, &x, &y});
  Vec wx(x.data.size()), wy(y.data.size());
  for (size_t i = 0; i < wx.size(); ++i) {
    wx[i] = a.data[i] + (double(b.data[i]) - a.data[i]) * mu.data[i % 64];
    wy[i] = a.data[i] + (double(b.data[i]) - a.data[i]) * t.data[i];
  }
  expectClose(x, wx);
  expectClose(y, wy);
}

TEST(Ops, LinearWithRemainders) {
  // K = 40 (vector width shrinks to 8), M = 24 (row blocks of 4), 6 rows.
  auto fn = compile(R"(
    func.func @f(%x: tensor<2x3x40xf32>, %w: tensor<24x40xf32>) -> tensor<2x3x24xf32> {
      %y = rwkv.linear %x, %w : tensor<2x3x40xf32>, tensor<24x40xf32> -> tensor<2x3x24xf32>
      return %y : tensor<2x3x24xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor x = random({2, 3, 40}, -1, 1, 14), w = random({24, 40}, -1, 1, 15),
         y = Tensor::zeros({2, 3, 24});
  fn->call({&x, &w, &y});
  expectClose(y, rwkvref::linear(toDouble(x), toDouble(w), 40, 24));
}

TEST(Ops, LinearOddSizes) {
  // K = 37 and M = 13: scalar lanes and single-row blocks.
  auto fn = compile(R"(
    func.func @f(%x: tensor<1x1x37xf32>, %w: tensor<13x37xf32>) -> tensor<1x1x13xf32> {
      %y = rwkv.linear %x, %w : tensor<1x1x37xf32>, tensor<13x37xf32> -> tensor<1x1x13xf32>
      return %y : tensor<1x1x13xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor x = random({1, 1, 37}, -1, 1, 16), w = random({13, 37}, -1, 1, 17),
         y = Tensor::zeros({1, 1, 13});
  fn->call({&x, &w, &y});
  expectClose(y, rwkvref::linear(toDouble(x), toDouble(w), 37, 13));
}

TEST(Ops, Lora) {
  auto fn = compile(R"(
    func.func @f(%x: tensor<2x2x64xf32>, %d: tensor<32x64xf32>, %u: tensor<64x32xf32>, %b: tensor<64xf32>)
        -> (tensor<2x2x64xf32>, tensor<2x2x64xf32>, tensor<2x2x64xf32>) {
      %z = rwkv.lora %x, %d, %u bias %b activation tanh : tensor<2x2x64xf32>, tensor<32x64xf32>, tensor<64x32xf32>, tensor<64xf32> -> tensor<2x2x64xf32>
      %a = rwkv.lora %x, %d, %u bias %b output_activation sigmoid : tensor<2x2x64xf32>, tensor<32x64xf32>, tensor<64x32xf32>, tensor<64xf32> -> tensor<2x2x64xf32>
      %g = rwkv.lora %x, %d, %u activation sigmoid : tensor<2x2x64xf32>, tensor<32x64xf32>, tensor<64x32xf32> -> tensor<2x2x64xf32>
      return %z, %a, %g : tensor<2x2x64xf32>, tensor<2x2x64xf32>, tensor<2x2x64xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor x = random({2, 2, 64}, -1, 1, 18), d = random({32, 64}, -0.3, 0.3, 19),
         u = random({64, 32}, -0.3, 0.3, 20), b = random({64}, -1, 1, 21);
  Tensor z = Tensor::zeros({2, 2, 64}), a = z, g = z;
  fn->call({&x, &d, &u, &b, &z, &a, &g});
  Vec h = rwkvref::linear(toDouble(x), toDouble(d), 64, 32);
  Vec ht = h, hs = h;
  for (double &v : ht)
    v = std::tanh(v);
  for (double &v : hs)
    v = rwkvref::sigmoid(v);
  Vec wz = rwkvref::linear(ht, toDouble(u), 32, 64);
  Vec wa = rwkvref::linear(h, toDouble(u), 32, 64);
  Vec wg = rwkvref::linear(hs, toDouble(u), 32, 64);
  for (size_t i = 0; i < wz.size(); ++i) {
    wz[i] += b.data[i % 64];
    wa[i] = rwkvref::sigmoid(wa[i] + b.data[i % 64]);
  }
  expectClose(z, wz);
  expectClose(a, wa);
  expectClose(g, wg);
}

TEST(Ops, Decay) {
  auto fn = compile(R"(
    func.func @f(%z: tensor<2x3x64xf32>) -> (tensor<2x3x64xf32>, tensor<2x3x64xf32>) {
      %a = rwkv.decay sigmoid %z : tensor<2x3x64xf32>
      %b = rwkv.decay exp_neg_exp %z : tensor<2x3x64xf32>
      return %a, %b : tensor<2x3x64xf32>, tensor<2x3x64xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor z = random({2, 3, 64}, -6, 3, 22);
  Tensor a = Tensor::zeros({2, 3, 64}), b = a;
  fn->call({&z, &a, &b});
  Vec wa(a.data.size()), wb(b.data.size());
  for (size_t i = 0; i < wa.size(); ++i) {
    wa[i] = rwkvref::decaySigmoid(z.data[i]);
    wb[i] = rwkvref::decayExpNegExp(z.data[i]);
  }
  expectClose(a, wa);
  expectClose(b, wb);
  for (float w : a.data) {
    EXPECT_GT(w, 0.545f);
    EXPECT_LT(w, 1.0f);
  }
}

TEST(Ops, Wkv7) {
  // B = 2, T = 4, H = 2, N = 16, a random (non-zero) incoming state.
  auto fn = compile(R"(
    func.func @f(%r: tensor<2x4x32xf32>, %w: tensor<2x4x32xf32>, %k: tensor<2x4x32xf32>, %v: tensor<2x4x32xf32>,
                 %a: tensor<2x4x32xf32>, %b: tensor<2x4x32xf32>, %s: tensor<2x2x16x16xf32>)
        -> (tensor<2x4x32xf32>, tensor<2x2x16x16xf32>) {
      %y, %s1 = rwkv.wkv7 %r, %w, %k, %v, %a, %b, %s : tensor<2x4x32xf32>, tensor<2x2x16x16xf32>
      return %y, %s1 : tensor<2x4x32xf32>, tensor<2x2x16x16xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor r = random({2, 4, 32}, -1, 1, 23), w = random({2, 4, 32}, 0.55, 1, 24),
         k = random({2, 4, 32}, -1, 1, 25), v = random({2, 4, 32}, -1, 1, 26),
         kh = random({2, 4, 32}, -1, 1, 27),
         alpha = random({2, 4, 32}, 0, 1, 28),
         s = random({2, 2, 16, 16}, -0.5, 0.5, 29);
  // a = -κ̂, b = κ̂ ⊙ α with κ̂ unit-norm per head, as RWKV-7 feeds them.
  Vec khat = rwkvref::l2Norm(toDouble(kh), 16, 1e-12);
  Tensor a = kh, b = kh;
  for (size_t i = 0; i < khat.size(); ++i) {
    a.data[i] = static_cast<float>(-khat[i]);
    b.data[i] = static_cast<float>(khat[i] * alpha.data[i]);
  }
  Tensor y = Tensor::zeros({2, 4, 32}), s1 = Tensor::zeros({2, 2, 16, 16});
  const Tensor sBefore = s;
  fn->call({&r, &w, &k, &v, &a, &b, &s, &y, &s1});
  // Inputs are read-only (weights are shared between sessions and threads).
  EXPECT_EQ(s.data, sBefore.data) << "the incoming state was overwritten";

  Vec wy, ws;
  for (int bi = 0; bi < 2; ++bi) {
    auto slice = [&](const Tensor &t, int64_t n) {
      return Vec(t.data.begin() + bi * n, t.data.begin() + (bi + 1) * n);
    };
    Vec state = slice(s, 512);
    Vec yb = rwkvref::wkv7(slice(r, 128), slice(w, 128), slice(k, 128),
                           slice(v, 128), slice(a, 128), slice(b, 128), state,
                           4, 2, 16);
    wy.insert(wy.end(), yb.begin(), yb.end());
    ws.insert(ws.end(), state.begin(), state.end());
  }
  expectClose(y, wy);
  expectClose(s1, ws);
}

TEST(Ops, Wkv7Bonus) {
  auto fn = compile(R"(
    func.func @f(%r: tensor<2x3x64xf32>, %k: tensor<2x3x64xf32>, %v: tensor<2x3x64xf32>, %rk: tensor<4x16xf32>)
        -> tensor<2x3x64xf32> {
      %u = rwkv.wkv7_bonus %r, %k, %v, %rk : tensor<2x3x64xf32>, tensor<4x16xf32>
      return %u : tensor<2x3x64xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor r = random({2, 3, 64}, -1, 1, 30), k = random({2, 3, 64}, -1, 1, 31),
         v = random({2, 3, 64}, -1, 1, 32), rk = random({4, 16}, -1, 1, 33);
  Tensor u = Tensor::zeros({2, 3, 64});
  fn->call({&r, &k, &v, &rk, &u});
  Vec want(u.data.size());
  for (int row = 0; row < 6; ++row)
    for (int h = 0; h < 4; ++h) {
      double dot = 0;
      for (int j = 0; j < 16; ++j) {
        int c = row * 64 + h * 16 + j;
        dot += double(r.data[c]) * k.data[c] * rk.data[h * 16 + j];
      }
      for (int i = 0; i < 16; ++i)
        want[row * 64 + h * 16 + i] = dot * v.data[row * 64 + h * 16 + i];
    }
  expectClose(u, want);
}

TEST(Ops, ChannelMix) {
  auto fn = compile(R"(
    func.func @f(%x: tensor<2x3x32xf32>, %k: tensor<96x32xf32>, %v: tensor<32x96xf32>) -> tensor<2x3x32xf32> {
      %y = rwkv.channel_mix %x, %k, %v : tensor<2x3x32xf32>, tensor<96x32xf32>, tensor<32x96xf32> -> tensor<2x3x32xf32>
      return %y : tensor<2x3x32xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor x = random({2, 3, 32}, -1, 1, 34), k = random({96, 32}, -0.5, 0.5, 35),
         v = random({32, 96}, -0.5, 0.5, 36), y = Tensor::zeros({2, 3, 32});
  fn->call({&x, &k, &v, &y});
  Vec h = rwkvref::linear(toDouble(x), toDouble(k), 32, 96);
  for (double &e : h)
    e = e > 0 ? e * e : 0.0;
  expectClose(y, rwkvref::linear(h, toDouble(v), 96, 32));
}

TEST(Ops, Embedding) {
  auto fn = compile(R"(
    func.func @f(%t: tensor<2x3xi32>, %e: tensor<50x64xf32>) -> tensor<2x3x64xf32> {
      %x = rwkv.embedding %t, %e : tensor<2x3xi32>, tensor<50x64xf32> -> tensor<2x3x64xf32>
      return %x : tensor<2x3x64xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor tokens = Tensor::zeros({2, 3}), table = random({50, 64}, -1, 1, 37);
  const int32_t ids[6] = {0, 49, 7, 7, 23, 1};
  std::memcpy(tokens.data.data(), ids, sizeof(ids));
  Tensor x = Tensor::zeros({2, 3, 64});
  fn->call({&tokens, &table, &x});
  Vec want;
  for (int32_t id : ids)
    want.insert(want.end(), table.data.begin() + id * 64,
                table.data.begin() + (id + 1) * 64);
  expectClose(x, want, 0.0);
}

TEST(Ops, Wkv4) {
  // B = 2, T = 5, C = 24 (vector lanes shrink to 8); the first call starts
  // from the fresh state p = -1e30.
  auto fn = compile(R"(
    func.func @f(%k: tensor<2x5x24xf32>, %v: tensor<2x5x24xf32>, %w: tensor<24xf32>, %u: tensor<24xf32>,
                 %a: tensor<2x24xf32>, %b: tensor<2x24xf32>, %p: tensor<2x24xf32>)
        -> (tensor<2x5x24xf32>, tensor<2x24xf32>, tensor<2x24xf32>, tensor<2x24xf32>) {
      %y, %a1, %b1, %p1 = rwkv.wkv4 %k, %v, %w, %u, %a, %b, %p : tensor<2x5x24xf32>, tensor<24xf32>, tensor<2x24xf32>
      return %y, %a1, %b1, %p1 : tensor<2x5x24xf32>, tensor<2x24xf32>, tensor<2x24xf32>, tensor<2x24xf32>
    })");
  ASSERT_TRUE(fn);
  // Large keys exercise the running maximum (exp(40) overflows nothing).
  Tensor k = random({2, 5, 24}, -40, 40, 38), v = random({2, 5, 24}, -2, 2, 39),
         w = random({24}, -5, -0.01, 40), u = random({24}, -1, 1, 41);
  Tensor a = Tensor::zeros({2, 24}), b = a, p = a;
  for (int i = 0; i < 24; ++i) // batch 1 starts mid-sequence
    p.data[i] = -1e30f;
  for (int i = 24; i < 48; ++i) {
    a.data[i] = 0.3f;
    b.data[i] = 1.5f;
    p.data[i] = 2.0f;
  }
  Tensor y = Tensor::zeros({2, 5, 24}), a1 = Tensor::zeros({2, 24}), b1 = a1,
         p1 = a1;
  fn->call({&k, &v, &w, &u, &a, &b, &p, &y, &a1, &b1, &p1});
  Vec wy, wa, wb, wp;
  for (int bi = 0; bi < 2; ++bi) {
    auto slice = [&](const Tensor &t, int64_t n) {
      return Vec(t.data.begin() + bi * n, t.data.begin() + (bi + 1) * n);
    };
    Vec sa = slice(a, 24), sb = slice(b, 24), sp = slice(p, 24);
    Vec yb = rwkvref::wkv4(slice(k, 120), slice(v, 120), toDouble(w),
                           toDouble(u), sa, sb, sp, 5, 24);
    wy.insert(wy.end(), yb.begin(), yb.end());
    wa.insert(wa.end(), sa.begin(), sa.end());
    wb.insert(wb.end(), sb.begin(), sb.end());
    wp.insert(wp.end(), sp.begin(), sp.end());
  }
  expectClose(y, wy);
  expectClose(a1, wa);
  expectClose(b1, wb);
  expectClose(p1, wp);
  for (float x : y.data)
    ASSERT_TRUE(std::isfinite(x));
}

/// RWKV-2/3's WKV numerics: rwkv.wkv4 with eps against RWKV-LM's naive
/// unscaled sums in double. Sequence 0 has keys near −30, where the
/// denominator is eps-dominated (without eps the output would be ~v, with
/// it ~1e-5·v); sequence 1 keys up to the clamp bound 60 (e^60 ≈ 1e26 in
/// the naive sums). Errors are relative to each sequence's largest output.
TEST(Ops, Wkv4Eps) {
  auto fn = compile(R"(
    func.func @f(%k: tensor<2x6x24xf32>, %v: tensor<2x6x24xf32>, %w: tensor<24xf32>, %u: tensor<24xf32>,
                 %a: tensor<2x24xf32>, %b: tensor<2x24xf32>, %p: tensor<2x24xf32>)
        -> (tensor<2x6x24xf32>, tensor<2x24xf32>, tensor<2x24xf32>, tensor<2x24xf32>) {
      %y, %a1, %b1, %p1 = rwkv.wkv4 %k, %v, %w, %u, %a, %b, %p {eps = 1.0e-08 : f32} : tensor<2x6x24xf32>, tensor<24xf32>, tensor<2x24xf32>
      return %y, %a1, %b1, %p1 : tensor<2x6x24xf32>, tensor<2x24xf32>, tensor<2x24xf32>, tensor<2x24xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor k = random({2, 6, 24}, -35, -25, 60),
         v = random({2, 6, 24}, -2, 2, 61), w = random({24}, -5, -0.01, 62),
         u = random({24}, -1, 1, 63);
  Tensor high = random({6, 24}, -5, 60, 64);
  std::copy(high.data.begin(), high.data.end(), k.data.begin() + 144);
  Tensor a = Tensor::zeros({2, 24}), b = a, p = a;
  std::fill(p.data.begin(), p.data.end(), -1e30f);
  Tensor y = Tensor::zeros({2, 6, 24}), a1 = Tensor::zeros({2, 24}), b1 = a1,
         p1 = a1;
  fn->call({&k, &v, &w, &u, &a, &b, &p, &y, &a1, &b1, &p1});
  auto check = [](const char *what, const Vec &got, const Vec &want) {
    double peak = 0, worst = 0;
    for (double x : want)
      peak = std::max(peak, std::abs(x));
    for (size_t i = 0; i < want.size(); ++i)
      worst = std::max(worst, std::abs(got[i] - want[i]) / peak);
    EXPECT_LT(worst, 1e-5) << what << " (largest " << peak << ")";
  };
  for (int bi = 0; bi < 2; ++bi) {
    SCOPED_TRACE(bi == 0 ? "keys near -30" : "keys up to 60");
    auto slice = [&](const Tensor &t, int64_t n) {
      return Vec(t.data.begin() + bi * n, t.data.begin() + (bi + 1) * n);
    };
    Vec aa(24, 0.0), bb(24, 0.0);
    Vec want = rwkvref::wkv4Naive(slice(k, 144), slice(v, 144), toDouble(w),
                                  toDouble(u), aa, bb, 1e-8, 6, 24);
    check("y", slice(y, 144), want);
    // The scaled state is the unscaled sums times e^-p.
    Vec ga = slice(a1, 24), gb = slice(b1, 24), gp = slice(p1, 24);
    for (int i = 0; i < 24; ++i) {
      ga[i] *= std::exp(gp[i]);
      gb[i] *= std::exp(gp[i]);
    }
    check("aa", ga, aa);
    check("bb", gb, bb);
  }
}

/// Head-QK copy logits over a ring buffer (L = 5 rows, D = 12 to hit the
/// vector remainder, V = 7): sequence 0 starts empty and gets 4 tokens
/// (window not yet full), sequence 1 has seen 8 positions (count kept
/// wrapped as 5 + 3) and gets 4 more, so its window reaches back into the
/// buffer across the wrap. Every position's query (Tq = T), against the
/// definition over the whole history; then the buffer's rows and counts.
TEST(Ops, HeadQk) {
  auto fn = compile(R"(
    func.func @f(%q: tensor<2x4x12xf32>, %k: tensor<2x4x12xf32>, %t: tensor<2x4xi32>,
                 %ck: tensor<2x5x12xf32>, %ct: tensor<2x5xf32>, %n: tensor<2x1xf32>)
        -> (tensor<2x4x7xf32>, tensor<2x5x12xf32>, tensor<2x5xf32>, tensor<2x1xf32>) {
      %y, %ck1, %ct1, %n1 = rwkv.head_qk %q, %k, %t, %ck, %ct, %n {scale = 0.25 : f32, vocab = 7 : i64}
          : tensor<2x4x12xf32>, tensor<2x4x12xf32>, tensor<2x4xi32>, tensor<2x5x12xf32>, tensor<2x5xf32>, tensor<2x1xf32> -> tensor<2x4x7xf32>
      return %y, %ck1, %ct1, %n1 : tensor<2x4x7xf32>, tensor<2x5x12xf32>, tensor<2x5xf32>, tensor<2x1xf32>
    })");
  ASSERT_TRUE(fn);
  const int64_t L = 5, D = 12, V = 7, T = 4;
  Tensor q = random({2, T, D}, -1, 1, 70), k = random({2, T, D}, -1, 1, 71);
  Tensor tokens = Tensor::zeros({2, T});
  const int32_t ids[8] = {3, 0, 3, 6, 2, 2, 5, 4};
  std::memcpy(tokens.data.data(), ids, sizeof(ids));
  // Sequence 1's earlier 8 positions: 0..7, the last 5 (3..7) in rows
  // 3, 4, 0, 1, 2.
  Tensor old = random({8, D}, -1, 1, 72);
  const int oldIds[8] = {1, 2, 3, 2, 6, 5, 2, 0};
  Tensor ck = Tensor::zeros({2, L, D}), ct = Tensor::zeros({2, L}),
         n = Tensor::zeros({2, 1});
  for (int u = 3; u < 8; ++u) {
    std::copy(old.data.begin() + u * D, old.data.begin() + (u + 1) * D,
              ck.data.begin() + (L + u % L) * D);
    ct.data[L + u % L] = static_cast<float>(oldIds[u]);
  }
  n.data[1] = 5 + 3; // 8 positions seen, wrapped: L + 8 mod L
  Tensor y = Tensor::zeros({2, T, V}), ck1 = Tensor::zeros({2, L, D}),
         ct1 = Tensor::zeros({2, L}), n1 = Tensor::zeros({2, 1});
  fn->call({&q, &k, &tokens, &ck, &ct, &n, &y, &ck1, &ct1, &n1});
  Vec want;
  std::vector<std::vector<std::pair<Vec, int>>> histories(2);
  for (int u = 0; u < 8; ++u)
    histories[1].emplace_back(
        Vec(old.data.begin() + u * D, old.data.begin() + (u + 1) * D),
        oldIds[u]);
  for (int bi = 0; bi < 2; ++bi) {
    for (int t = 0; t < T; ++t)
      histories[bi].emplace_back(Vec(k.data.begin() + (bi * T + t) * D,
                                     k.data.begin() + (bi * T + t + 1) * D),
                                 ids[bi * T + t]);
    Vec qb(q.data.begin() + bi * T * D, q.data.begin() + (bi + 1) * T * D);
    Vec yb = rwkvref::headQk(qb, histories[bi], T, L, V, 0.25);
    want.insert(want.end(), yb.begin(), yb.end());
  }
  expectClose(y, want);
  // The buffer holds position u in row u mod L; the count is wrapped.
  for (int bi = 0; bi < 2; ++bi) {
    int64_t seen = static_cast<int64_t>(histories[bi].size());
    for (int64_t u = std::max<int64_t>(0, seen - L); u < seen; ++u) {
      int64_t row = u % L;
      EXPECT_EQ(ct1.data[bi * L + row], histories[bi][u].second) << u;
      for (int64_t i = 0; i < D; ++i)
        EXPECT_EQ(ck1.data[(bi * L + row) * D + i], histories[bi][u].first[i]);
    }
    EXPECT_EQ(n1.data[bi], seen < L ? seen : L + seen % L) << bi;
  }
}

/// RWKV-1's wkv1 against the Toeplitz-matrix form in double: sequence 0
/// from position 0, sequence 1 continuing after 2 positions whose history
/// rows and den it is given; then the history rows, den and count.
TEST(Ops, Wkv1) {
  auto fn = compile(R"(
    func.func @f(%k: tensor<2x4x16xf32>, %v: tensor<2x4x16xf32>, %w: tensor<2x6xf32>,
                 %al: tensor<2x6xf32>, %be: tensor<2x6xf32>, %hist: tensor<2x6x16xf32>,
                 %den: tensor<2x16xf32>, %n: tensor<2x1xf32>)
        -> (tensor<2x4x16xf32>, tensor<2x6x16xf32>, tensor<2x16xf32>, tensor<2x1xf32>) {
      %y, %h1, %d1, %n1 = rwkv.wkv1 %k, %v, %w, %al, %be, %hist, %den, %n
          : tensor<2x4x16xf32>, tensor<2x6xf32>, tensor<2x6x16xf32>, tensor<2x16xf32>, tensor<2x1xf32>
      return %y, %h1, %d1, %n1 : tensor<2x4x16xf32>, tensor<2x6x16xf32>, tensor<2x16xf32>, tensor<2x1xf32>
    })");
  ASSERT_TRUE(fn);
  const int64_t T = 4, A = 16, H = 2, L = 6, early = 2;
  Tensor k = random({2, T, A}, 0.1, 3, 80), v = random({2, T, A}, -1, 1, 81);
  Tensor w = random({H, L}, 0.2, 1.2, 82), al = random({H, L}, 0.8, 1.2, 83),
         be = random({H, L}, 0.8, 1.2, 84);
  // Sequence 1's two earlier positions.
  Tensor k0 = random({early, A}, 0.1, 3, 85),
         v0 = random({early, A}, -1, 1, 86);
  Tensor hist = Tensor::zeros({2, L, A}), den = Tensor::zeros({2, A}),
         n = Tensor::zeros({2, 1});
  for (int64_t u = 0; u < early; ++u)
    for (int64_t c = 0; c < A; ++c) {
      hist.data[(L + u) * A + c] = al.data[(c / (A / H)) * L + u] *
                                   k0.data[u * A + c] * v0.data[u * A + c];
      den.data[A + c] += k0.data[u * A + c];
    }
  n.data[1] = early;
  Tensor y = Tensor::zeros({2, T, A}), h1 = Tensor::zeros({2, L, A}),
         d1 = Tensor::zeros({2, A}), n1 = Tensor::zeros({2, 1});
  fn->call({&k, &v, &w, &al, &be, &hist, &den, &n, &y, &h1, &d1, &n1});
  for (int bi = 0; bi < 2; ++bi) {
    SCOPED_TRACE(bi);
    const int64_t start = bi == 0 ? 0 : early, total = start + T;
    Vec ks, vs;
    if (bi == 1) {
      ks = toDouble(k0);
      vs = toDouble(v0);
    }
    ks.insert(ks.end(), k.data.begin() + bi * T * A,
              k.data.begin() + (bi + 1) * T * A);
    vs.insert(vs.end(), v.data.begin() + bi * T * A,
              v.data.begin() + (bi + 1) * T * A);
    Vec all = rwkvref::wkv1(ks, vs, toDouble(w), toDouble(al), toDouble(be),
                            total, A, H, L);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < A; ++c) {
        EXPECT_NEAR(y.data[(bi * T + t) * A + c], all[(start + t) * A + c],
                    1e-5 * (1 + std::abs(all[(start + t) * A + c])))
            << t << "," << c;
        double e = al.data[(c / (A / H)) * L + start + t] *
                   ks[(start + t) * A + c] * vs[(start + t) * A + c];
        EXPECT_NEAR(h1.data[(bi * L + start + t) * A + c], e, 1e-5) << t;
      }
    for (int64_t c = 0; c < A; ++c) {
      double sum = 0;
      for (int64_t u = 0; u < total; ++u)
        sum += ks[u * A + c];
      EXPECT_NEAR(d1.data[bi * A + c], sum, 1e-5 * sum);
    }
    EXPECT_EQ(n1.data[bi], static_cast<float>(total));
  }
}

TEST(Ops, Wkv5) {
  // B = 2, T = 3, H = 4, N = 8 with per-token decay (the RWKV-6 form).
  auto fn = compile(R"(
    func.func @f(%r: tensor<2x3x32xf32>, %w: tensor<2x3x32xf32>, %k: tensor<2x3x32xf32>, %v: tensor<2x3x32xf32>,
                 %u: tensor<32xf32>, %s: tensor<2x4x8x8xf32>) -> (tensor<2x3x32xf32>, tensor<2x4x8x8xf32>) {
      %y, %s1 = rwkv.wkv5 %r, %w, %k, %v, %u, %s : tensor<2x3x32xf32>, tensor<32xf32>, tensor<2x4x8x8xf32>
      return %y, %s1 : tensor<2x3x32xf32>, tensor<2x4x8x8xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor r = random({2, 3, 32}, -1, 1, 42), w = random({2, 3, 32}, 0.01, 1, 43),
         k = random({2, 3, 32}, -1, 1, 44), v = random({2, 3, 32}, -1, 1, 45),
         u = random({32}, -1, 1, 46), s = random({2, 4, 8, 8}, -1, 1, 47);
  Tensor y = Tensor::zeros({2, 3, 32}), s1 = Tensor::zeros({2, 4, 8, 8});
  fn->call({&r, &w, &k, &v, &u, &s, &y, &s1});
  Vec wy, ws;
  for (int bi = 0; bi < 2; ++bi) {
    auto slice = [&](const Tensor &t, int64_t n) {
      return Vec(t.data.begin() + bi * n, t.data.begin() + (bi + 1) * n);
    };
    Vec state = slice(s, 256);
    Vec yb = rwkvref::wkv5(slice(r, 96), slice(w, 96), slice(k, 96),
                           slice(v, 96), toDouble(u), state, 3, 4, 8);
    wy.insert(wy.end(), yb.begin(), yb.end());
    ws.insert(ws.end(), state.begin(), state.end());
  }
  expectClose(y, wy);
  expectClose(s1, ws);
}

namespace {

/// wkv5 on B = 2 sequences of `tokens` tokens, `heads` heads of size `n`,
/// compiled with the CPU pipeline options `options`, against the double
/// reference. The decays are w = exp(-exp(d)) with d uniform in
/// [dLo, dHi] (RWKV-6's form, rwkv-math §4.2), optionally with some exact
/// 0 and 1 mixed in.
void checkWkv5(int64_t tokens, int64_t heads, int64_t n,
               const std::string &options, double dLo, double dHi,
               bool exactEnds, unsigned seed) {
  const int64_t c = heads * n;
  std::string act =
      "tensor<2x" + std::to_string(tokens) + "x" + std::to_string(c) + "xf32>";
  std::string u = "tensor<" + std::to_string(c) + "xf32>";
  std::string st = "tensor<2x" + std::to_string(heads) + "x" +
                   std::to_string(n) + "x" + std::to_string(n) + "xf32>";
  std::string mlir = "func.func @f(%r: " + act + ", %w: " + act +
                     ", %k: " + act + ", %v: " + act + ", %u: " + u +
                     ", %s: " + st + ") -> (" + act + ", " + st + ") {\n" +
                     "  %y, %s1 = rwkv.wkv5 %r, %w, %k, %v, %u, %s : " + act +
                     ", " + u + ", " + st + "\n  return %y, %s1 : " + act +
                     ", " + st + "\n}\n";
  std::string error;
  auto fn = CompiledFunction::compile(mlir, "f", error, options);
  ASSERT_TRUE(fn) << error;
  Tensor r = random({2, tokens, c}, -1, 1, seed),
         w = random({2, tokens, c}, dLo, dHi, seed + 1),
         k = random({2, tokens, c}, -1, 1, seed + 2),
         v = random({2, tokens, c}, -1, 1, seed + 3),
         uu = random({c}, -1, 1, seed + 4),
         s = random({2, heads, n, n}, -1, 1, seed + 5);
  for (size_t i = 0; i < w.data.size(); ++i) {
    w.data[i] = static_cast<float>(std::exp(-std::exp(double(w.data[i]))));
    if (exactEnds && i % 7 == 3)
      w.data[i] = (i / 7) % 2 ? 1.0f : 0.0f;
  }
  Tensor y = Tensor::zeros({2, tokens, c}), s1 = Tensor::zeros(s.shape);
  fn->call({&r, &w, &k, &v, &uu, &s, &y, &s1});
  Vec wy, ws;
  const int64_t act1 = tokens * c, st1 = heads * n * n;
  for (int64_t bi = 0; bi < 2; ++bi) {
    auto slice = [&](const Tensor &t, int64_t len) {
      return Vec(t.data.begin() + bi * len, t.data.begin() + (bi + 1) * len);
    };
    Vec state = slice(s, st1);
    Vec yb =
        rwkvref::wkv5(slice(r, act1), slice(w, act1), slice(k, act1),
                      slice(v, act1), toDouble(uu), state, tokens, heads, n);
    wy.insert(wy.end(), yb.begin(), yb.end());
    ws.insert(ws.end(), state.begin(), state.end());
  }
  for (float x : y.data)
    ASSERT_TRUE(std::isfinite(x)) << options;
  for (float x : s1.data)
    ASSERT_TRUE(std::isfinite(x)) << options;
  SCOPED_TRACE(options + ", T = " + std::to_string(tokens) +
               ", N = " + std::to_string(n));
  expectClose(y, wy);
  expectClose(s1, ws);
}

} // namespace

/// The diagonal-decay chunk form (rwkv-math §6.2): T = 37 is two full
/// chunks of 16 and a partial one (or 3 of 12 and 1, 6 of 6 and 1, 7 of 5
/// and 2 with token blocks of 1); head sizes 8, 32 and 64 (one block of
/// value rows: the whole row fits 4 registers) and 128 (several blocks of
/// one register width each); a short prompt in one partial chunk; and the
/// per-token scan at the same shapes.
TEST(Ops, Wkv5ChunkForm) {
  checkWkv5(37, 4, 8, "wkv5-chunk=16", -3, 1, false, 300);
  checkWkv5(37, 2, 64, "wkv5-chunk=16", -3, 1, false, 310);
  checkWkv5(37, 2, 64, "wkv5-chunk=12", -3, 1, false, 320);
  checkWkv5(37, 2, 32, "wkv5-chunk=6", -3, 1, false, 330);
  checkWkv5(37, 1, 128, "wkv5-chunk=5", -3, 1, false, 335);
  checkWkv5(5, 2, 64, "wkv5-chunk=16", -3, 1, false, 340);
  checkWkv5(37, 2, 64, "wkv5-chunk=0", -3, 1, false, 350);
}

/// Decays from 0.9997 down to exp(-e^6) = 0 in f32, with exact 0 and 1
/// mixed in: a form that factorised exp(E_t - G_s) into exp(E_t)·exp(-G_s)
/// would overflow (rwkv-math §6.2); the product form must stay finite and
/// exact.
TEST(Ops, Wkv5ChunkFormStrongDecay) {
  checkWkv5(37, 2, 64, "wkv5-chunk=16", -8, 6, true, 400);
  checkWkv5(40, 4, 8, "wkv5-chunk=8", -8, 6, true, 410);
}

namespace {

/// wkv7 on B = 2 sequences, like checkWkv5: w = exp(-exp(d)) with d uniform
/// in [dLo, dHi] (RWKV-7 bounds it to [e^-0.6065, 1): d ≤ -0.5), a = -κ̂ and
/// b = κ̂ ⊙ α with κ̂ unit-norm per head, as RWKV-7 feeds them.
void checkWkv7(int64_t tokens, int64_t heads, int64_t n,
               const std::string &options, double dLo, double dHi,
               unsigned seed) {
  const int64_t c = heads * n;
  std::string act =
      "tensor<2x" + std::to_string(tokens) + "x" + std::to_string(c) + "xf32>";
  std::string st = "tensor<2x" + std::to_string(heads) + "x" +
                   std::to_string(n) + "x" + std::to_string(n) + "xf32>";
  std::string mlir =
      "func.func @f(%r: " + act + ", %w: " + act + ", %k: " + act +
      ", %v: " + act + ", %a: " + act + ", %b: " + act + ", %s: " + st +
      ") -> (" + act + ", " + st + ") {\n" +
      "  %y, %s1 = rwkv.wkv7 %r, %w, %k, %v, %a, %b, %s : " + act + ", " + st +
      "\n  return %y, %s1 : " + act + ", " + st + "\n}\n";
  std::string error;
  auto fn = CompiledFunction::compile(mlir, "f", error, options);
  ASSERT_TRUE(fn) << error;
  Tensor r = random({2, tokens, c}, -1, 1, seed),
         w = random({2, tokens, c}, dLo, dHi, seed + 1),
         k = random({2, tokens, c}, -1, 1, seed + 2),
         v = random({2, tokens, c}, -1, 1, seed + 3),
         kh = random({2, tokens, c}, -1, 1, seed + 4),
         alpha = random({2, tokens, c}, 0, 1, seed + 5),
         s = random({2, heads, n, n}, -0.5, 0.5, seed + 6);
  for (float &x : w.data)
    x = static_cast<float>(std::exp(-std::exp(double(x))));
  Vec khat = rwkvref::l2Norm(toDouble(kh), n, 1e-12);
  Tensor a = kh, b = kh;
  for (size_t i = 0; i < khat.size(); ++i) {
    a.data[i] = static_cast<float>(-khat[i]);
    b.data[i] = static_cast<float>(khat[i] * alpha.data[i]);
  }
  Tensor y = Tensor::zeros({2, tokens, c}), s1 = Tensor::zeros(s.shape);
  fn->call({&r, &w, &k, &v, &a, &b, &s, &y, &s1});
  Vec wy, ws;
  const int64_t act1 = tokens * c, st1 = heads * n * n;
  for (int64_t bi = 0; bi < 2; ++bi) {
    auto slice = [&](const Tensor &t, int64_t len) {
      return Vec(t.data.begin() + bi * len, t.data.begin() + (bi + 1) * len);
    };
    Vec state = slice(s, st1);
    Vec yb = rwkvref::wkv7(slice(r, act1), slice(w, act1), slice(k, act1),
                           slice(v, act1), slice(a, act1), slice(b, act1),
                           state, tokens, heads, n);
    wy.insert(wy.end(), yb.begin(), yb.end());
    ws.insert(ws.end(), state.begin(), state.end());
  }
  for (float x : y.data)
    ASSERT_TRUE(std::isfinite(x)) << options;
  for (float x : s1.data)
    ASSERT_TRUE(std::isfinite(x)) << options;
  SCOPED_TRACE(options + ", T = " + std::to_string(tokens) +
               ", N = " + std::to_string(n));
  expectClose(y, wy);
  expectClose(s1, ws);
}

} // namespace

/// The DPLR chunk form (rwkv-math §6.3) against the reference: full and
/// partial chunks, head sizes 8, 32, 64 and 128 (several blocks of value
/// rows, ũ carried between them), decays in RWKV-7's range and (last case)
/// down to exp(-e^6) = 0 in f32, which it also handles exactly.
TEST(Ops, Wkv7ChunkForm) {
  checkWkv7(37, 4, 8, "wkv7-chunk=16", -3, -0.5, 500);
  checkWkv7(37, 2, 64, "wkv7-chunk=16", -3, -0.5, 510);
  checkWkv7(37, 2, 32, "wkv7-chunk=6", -3, -0.5, 520);
  checkWkv7(37, 1, 128, "wkv7-chunk=5", -3, -0.5, 525);
  checkWkv7(5, 2, 64, "wkv7-chunk=16", -3, -0.5, 530);
  checkWkv7(37, 2, 64, "wkv7-chunk=8", -8, 6, 540);
}

TEST(Ops, DDLerp) {
  // K = 3 mixed inputs, rank D = 8, C = 32.
  auto fn = compile(R"(
    func.func @f(%x: tensor<2x2x32xf32>, %sx: tensor<2x2x32xf32>, %mx: tensor<32xf32>, %m0: tensor<32xf32>,
                 %m1: tensor<32xf32>, %m2: tensor<32xf32>, %down: tensor<24x32xf32>, %up: tensor<3x32x8xf32>)
        -> (tensor<2x2x32xf32>, tensor<2x2x32xf32>, tensor<2x2x32xf32>) {
      %a, %b, %c = rwkv.ddlerp %x, %sx, %mx [%m0, %m1, %m2], %down, %up
          : tensor<2x2x32xf32>, tensor<32xf32> [tensor<32xf32>, tensor<32xf32>, tensor<32xf32>],
            tensor<24x32xf32>, tensor<3x32x8xf32> -> tensor<2x2x32xf32>, tensor<2x2x32xf32>, tensor<2x2x32xf32>
      return %a, %b, %c : tensor<2x2x32xf32>, tensor<2x2x32xf32>, tensor<2x2x32xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor x = random({2, 2, 32}, -1, 1, 48), sx = random({2, 2, 32}, -1, 1, 49),
         mx = random({32}, 0, 1, 50), down = random({24, 32}, -0.5, 0.5, 51),
         up = random({3, 32, 8}, -0.5, 0.5, 52);
  Tensor mu[3] = {random({32}, 0, 1, 53), random({32}, 0, 1, 54),
                  random({32}, 0, 1, 55)};
  Tensor out[3] = {Tensor::zeros({2, 2, 32}), Tensor::zeros({2, 2, 32}),
                   Tensor::zeros({2, 2, 32})};
  fn->call({&x, &sx, &mx, &mu[0], &mu[1], &mu[2], &down, &up, &out[0], &out[1],
            &out[2]});
  // rwkv-math §4.1 with δ = x_{t-1} - x_t.
  Vec xi(x.data.size());
  for (size_t i = 0; i < xi.size(); ++i)
    xi[i] = x.data[i] + (double(sx.data[i]) - x.data[i]) * mx.data[i % 32];
  Vec z = rwkvref::linear(xi, toDouble(down), 32, 24);
  for (double &e : z)
    e = std::tanh(e);
  for (int m = 0; m < 3; ++m) {
    Vec zm, upm(up.data.begin() + m * 256, up.data.begin() + (m + 1) * 256);
    for (int row = 0; row < 4; ++row)
      zm.insert(zm.end(), z.begin() + row * 24 + m * 8,
                z.begin() + row * 24 + (m + 1) * 8);
    Vec lora = rwkvref::linear(zm, upm, 8, 32);
    Vec want(xi.size());
    for (size_t i = 0; i < want.size(); ++i)
      want[i] = x.data[i] + (double(sx.data[i]) - x.data[i]) *
                                (mu[m].data[i % 32] + lora[i]);
    expectClose(out[m], want);
  }
}

TEST(Ops, GatedChannelMix) {
  auto fn = compile(R"(
    func.func @f(%xk: tensor<2x3x32xf32>, %xr: tensor<2x3x32xf32>, %k: tensor<64x32xf32>, %v: tensor<32x64xf32>,
                 %r: tensor<32x32xf32>) -> tensor<2x3x32xf32> {
      %y = rwkv.channel_mix %xk, %k, %v gate(%xr, %r : tensor<2x3x32xf32>, tensor<32x32xf32>)
          : tensor<2x3x32xf32>, tensor<64x32xf32>, tensor<32x64xf32> -> tensor<2x3x32xf32>
      return %y : tensor<2x3x32xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor xk = random({2, 3, 32}, -1, 1, 56), xr = random({2, 3, 32}, -1, 1, 57),
         k = random({64, 32}, -0.5, 0.5, 58),
         v = random({32, 64}, -0.5, 0.5, 59),
         r = random({32, 32}, -0.5, 0.5, 60), y = Tensor::zeros({2, 3, 32});
  fn->call({&xk, &xr, &k, &v, &r, &y});
  Vec h = rwkvref::linear(toDouble(xk), toDouble(k), 32, 64);
  for (double &e : h)
    e = e > 0 ? e * e : 0.0;
  Vec want = rwkvref::linear(h, toDouble(v), 64, 32);
  Vec gate = rwkvref::linear(toDouble(xr), toDouble(r), 32, 32);
  for (size_t i = 0; i < want.size(); ++i)
    want[i] *= rwkvref::sigmoid(gate[i]);
  expectClose(y, want);
}

/// The recurrent form (T = 1) lowers wkv5/wkv7 to the row-in-register
/// kernel, the parallel form to the transposed-state scan: check both.
TEST(Ops, Wkv7SingleToken) {
  auto fn = compile(R"(
    func.func @f(%r: tensor<2x1x32xf32>, %w: tensor<2x1x32xf32>, %k: tensor<2x1x32xf32>, %v: tensor<2x1x32xf32>,
                 %a: tensor<2x1x32xf32>, %b: tensor<2x1x32xf32>, %s: tensor<2x2x16x16xf32>)
        -> (tensor<2x1x32xf32>, tensor<2x2x16x16xf32>) {
      %y, %s1 = rwkv.wkv7 %r, %w, %k, %v, %a, %b, %s : tensor<2x1x32xf32>, tensor<2x2x16x16xf32>
      return %y, %s1 : tensor<2x1x32xf32>, tensor<2x2x16x16xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor r = random({2, 1, 32}, -1, 1, 61), w = random({2, 1, 32}, 0.55, 1, 62),
         k = random({2, 1, 32}, -1, 1, 63), v = random({2, 1, 32}, -1, 1, 64),
         a = random({2, 1, 32}, -0.3, 0.3, 65),
         b = random({2, 1, 32}, -0.3, 0.3, 66),
         s = random({2, 2, 16, 16}, -0.5, 0.5, 67);
  Tensor y = Tensor::zeros({2, 1, 32}), s1 = Tensor::zeros({2, 2, 16, 16});
  fn->call({&r, &w, &k, &v, &a, &b, &s, &y, &s1});
  Vec wy, ws;
  for (int bi = 0; bi < 2; ++bi) {
    auto slice = [&](const Tensor &t, int64_t n) {
      return Vec(t.data.begin() + bi * n, t.data.begin() + (bi + 1) * n);
    };
    Vec state = slice(s, 512);
    Vec yb =
        rwkvref::wkv7(slice(r, 32), slice(w, 32), slice(k, 32), slice(v, 32),
                      slice(a, 32), slice(b, 32), state, 1, 2, 16);
    wy.insert(wy.end(), yb.begin(), yb.end());
    ws.insert(ws.end(), state.begin(), state.end());
  }
  expectClose(y, wy);
  expectClose(s1, ws);
}

TEST(Ops, Wkv5SingleToken) {
  auto fn = compile(R"(
    func.func @f(%r: tensor<2x1x32xf32>, %w: tensor<2x1x32xf32>, %k: tensor<2x1x32xf32>, %v: tensor<2x1x32xf32>,
                 %u: tensor<32xf32>, %s: tensor<2x4x8x8xf32>) -> (tensor<2x1x32xf32>, tensor<2x4x8x8xf32>) {
      %y, %s1 = rwkv.wkv5 %r, %w, %k, %v, %u, %s : tensor<2x1x32xf32>, tensor<32xf32>, tensor<2x4x8x8xf32>
      return %y, %s1 : tensor<2x1x32xf32>, tensor<2x4x8x8xf32>
    })");
  ASSERT_TRUE(fn);
  Tensor r = random({2, 1, 32}, -1, 1, 68), w = random({2, 1, 32}, 0.01, 1, 69),
         k = random({2, 1, 32}, -1, 1, 70), v = random({2, 1, 32}, -1, 1, 71),
         u = random({32}, -1, 1, 72), s = random({2, 4, 8, 8}, -1, 1, 73);
  Tensor y = Tensor::zeros({2, 1, 32}), s1 = Tensor::zeros({2, 4, 8, 8});
  fn->call({&r, &w, &k, &v, &u, &s, &y, &s1});
  Vec wy, ws;
  for (int bi = 0; bi < 2; ++bi) {
    auto slice = [&](const Tensor &t, int64_t n) {
      return Vec(t.data.begin() + bi * n, t.data.begin() + (bi + 1) * n);
    };
    Vec state = slice(s, 256);
    Vec yb = rwkvref::wkv5(slice(r, 32), slice(w, 32), slice(k, 32),
                           slice(v, 32), toDouble(u), state, 1, 4, 8);
    wy.insert(wy.end(), yb.begin(), yb.end());
    ws.insert(ws.end(), state.begin(), state.end());
  }
  expectClose(y, wy);
  expectClose(s1, ws);
}
