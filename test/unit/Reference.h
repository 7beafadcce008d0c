//===- Reference.h - scalar reference of the RWKV ops (tests only) --------===//
//
// Straightforward double-precision loops written from
// ../shared/docs/rwkv-math.md, independent of the compiler's lowerings. They
// exist only to check generated code; nothing here is used at run time.
// Layouts follow the rwkv dialect: activations [B, T, C] row-major, matrices
// [out, in], WKV state [B, H, N, N] indexed [value][key].
//
//===----------------------------------------------------------------------===//

#ifndef RWKV_TEST_REFERENCE_H
#define RWKV_TEST_REFERENCE_H

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace rwkvref {

using Vec = std::vector<double>;

/// LayerNorm over the last `n` values of each row (§0), biased variance.
inline Vec layerNorm(const Vec &x, const Vec &w, const Vec &b, int64_t n,
                     double eps) {
  Vec y(x.size());
  for (size_t row = 0; row < x.size() / n; ++row) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; ++i)
      mean += x[row * n + i];
    mean /= n;
    for (int64_t i = 0; i < n; ++i)
      var += (x[row * n + i] - mean) * (x[row * n + i] - mean);
    var /= n;
    for (int64_t i = 0; i < n; ++i)
      y[row * n + i] =
          (x[row * n + i] - mean) / std::sqrt(var + eps) * w[i] + b[i];
  }
  return y;
}

/// GroupNorm with `groups` groups over C channels (§0 GN_H).
inline Vec groupNorm(const Vec &x, const Vec &w, const Vec &b, int64_t c,
                     int64_t groups, double eps) {
  Vec y(x.size());
  int64_t n = c / groups;
  for (size_t row = 0; row < x.size() / c; ++row)
    for (int64_t g = 0; g < groups; ++g) {
      const double *xs = &x[row * c + g * n];
      double mean = 0, var = 0;
      for (int64_t i = 0; i < n; ++i)
        mean += xs[i];
      mean /= n;
      for (int64_t i = 0; i < n; ++i)
        var += (xs[i] - mean) * (xs[i] - mean);
      var /= n;
      for (int64_t i = 0; i < n; ++i)
        y[row * c + g * n + i] =
            (xs[i] - mean) / std::sqrt(var + eps) * w[g * n + i] + b[g * n + i];
    }
  return y;
}

/// x / max(||x||, eps) per head of `n` channels (§5.3).
inline Vec l2Norm(const Vec &x, int64_t n, double eps) {
  Vec y(x.size());
  for (size_t h = 0; h < x.size() / n; ++h) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i)
      ss += x[h * n + i] * x[h * n + i];
    double d = std::max(std::sqrt(ss), eps);
    for (int64_t i = 0; i < n; ++i)
      y[h * n + i] = x[h * n + i] / d;
  }
  return y;
}

/// y[r, o] = Σ_i x[r, i] W[o, i] for rows r of width k (§0).
inline Vec linear(const Vec &x, const Vec &w, int64_t k, int64_t m) {
  size_t rows = x.size() / k;
  Vec y(rows * m);
  for (size_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < m; ++o) {
      double s = 0;
      for (int64_t i = 0; i < k; ++i)
        s += x[r * k + i] * w[o * k + i];
      y[r * m + o] = s;
    }
  return y;
}

inline double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

/// v7 decay w = exp(-e^{-1/2} σ(z)) (§5.2); v5/v6 w = exp(-exp(z)).
inline double decaySigmoid(double z) {
  return std::exp(-std::exp(-0.5) * sigmoid(z));
}
inline double decayExpNegExp(double z) { return std::exp(-std::exp(z)); }

/// RWKV-7 WKV kernel form (§5.4) for one batch element: inputs [T, H*N],
/// state [H, N, N] ([value][key]), updated in place; returns y [T, H*N].
inline Vec wkv7(const Vec &r, const Vec &w, const Vec &k, const Vec &v,
                const Vec &a, const Vec &b, Vec &state, int64_t tokens,
                int64_t heads, int64_t n) {
  int64_t c = heads * n;
  Vec y(tokens * c);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      double *s = &state[h * n * n];
      const int64_t o = t * c + h * n;
      for (int64_t i = 0; i < n; ++i) {
        double sa = 0;
        for (int64_t j = 0; j < n; ++j)
          sa += a[o + j] * s[i * n + j];
        double yi = 0;
        for (int64_t j = 0; j < n; ++j) {
          s[i * n + j] =
              s[i * n + j] * w[o + j] + sa * b[o + j] + v[o + i] * k[o + j];
          yi += s[i * n + j] * r[o + j];
        }
        y[o + i] = yi;
      }
    }
  return y;
}

/// RWKV-4 WKV, stable form (§2.2), for one batch element: k, v [T, C];
/// w (log-decay < 0) and u [C]; state a, b, p [C] updated in place.
inline Vec wkv4(const Vec &k, const Vec &v, const Vec &w, const Vec &u, Vec &a,
                Vec &b, Vec &p, int64_t tokens, int64_t c) {
  Vec y(tokens * c);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t i = 0; i < c; ++i) {
      double kk = k[t * c + i], vv = v[t * c + i];
      double ww = u[i] + kk, q = std::max(p[i], ww);
      double e1 = std::exp(p[i] - q), e2 = std::exp(ww - q);
      y[t * c + i] = (e1 * a[i] + e2 * vv) / (e1 * b[i] + e2);
      double pw = p[i] + w[i], q2 = std::max(pw, kk);
      e1 = std::exp(pw - q2);
      e2 = std::exp(kk - q2);
      a[i] = e1 * a[i] + e2 * vv;
      b[i] = e1 * b[i] + e2;
      p[i] = q2;
    }
  return y;
}

/// RWKV-2/3 WKV as RWKV-LM computes it (rwkv-v1-v3 §2.3: model_run.py's
/// RNN), for one batch element: the unscaled sums aa, bb [C] (updated in
/// place), per-channel decay factor exp(w) (w the log-decay < 0), bonus
/// exp(u), and eps in the denominator. k is used as given (the caller
/// clamps it).
inline Vec wkv4Naive(const Vec &k, const Vec &v, const Vec &w, const Vec &u,
                     Vec &aa, Vec &bb, double eps, int64_t tokens, int64_t c) {
  Vec y(tokens * c);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t i = 0; i < c; ++i) {
      double ek = std::exp(k[t * c + i]), vv = v[t * c + i];
      double eu = std::exp(u[i]) * ek;
      y[t * c + i] = (aa[i] + eu * vv) / (bb[i] + eu + eps);
      double decay = std::exp(w[i]);
      aa[i] = decay * aa[i] + ek * vv;
      bb[i] = decay * bb[i] + ek;
    }
  return y;
}

/// Head-QK copy logits (rwkv-v1-v3 §4) for one sequence, written from the
/// definition: `history` holds (key [D], token id) of every position the
/// sequence has seen, this call's included (T of them at the end); the
/// last `queries` positions get y[j][v] = scale · Σ q_j·key(u) over the
/// last L positions up to and including theirs that hold v.
inline Vec headQk(const Vec &q, const std::vector<std::pair<Vec, int>> &history,
                  int64_t queries, int64_t window, int64_t vocab,
                  double scale) {
  const int64_t seen = static_cast<int64_t>(history.size());
  const int64_t d = static_cast<int64_t>(history.front().first.size());
  Vec y(queries * vocab, 0.0);
  for (int64_t j = 0; j < queries; ++j) {
    int64_t s = seen - queries + j;
    for (int64_t u = std::max<int64_t>(0, s - window + 1); u <= s; ++u) {
      double dot = 0;
      for (int64_t i = 0; i < d; ++i)
        dot += q[j * d + i] * history[u].first[i];
      y[j * vocab + history[u].second] += scale * dot;
    }
  }
  return y;
}

/// RWKV-1's time-mix sum (rwkv-v1-v3 §1.3) in its parallel form, for one
/// sequence from position 0: y_t[c] = Σ_{u≤t} time_w[h, L−1−(t−u)] ·
/// alpha[h, u] · beta[h, t] · k_u[c] v_u[c] / Σ_{u≤t} k_u[c], h = c div
/// (width / heads); time_w, alpha, beta are [heads, L], k and v [T, width].
inline Vec wkv1(const Vec &k, const Vec &v, const Vec &timeW, const Vec &alpha,
                const Vec &beta, int64_t tokens, int64_t width, int64_t heads,
                int64_t window) {
  Vec y(tokens * width, 0.0);
  const int64_t size = width / heads;
  for (int64_t c = 0; c < width; ++c) {
    const int64_t h = c / size;
    for (int64_t t = 0; t < tokens; ++t) {
      double num = 0, den = 0;
      for (int64_t u = 0; u <= t; ++u) {
        num += timeW[h * window + window - 1 - (t - u)] *
               alpha[h * window + u] * beta[h * window + t] * k[u * width + c] *
               v[u * width + c];
        den += k[u * width + c];
      }
      y[t * width + c] = num / den;
    }
  }
  return y;
}

/// RWKV-5/6 WKV (§3.1, §4.2) for one batch element, in the [key][value]
/// matrix form of the math doc: y_t = r_tᵀ(diag(u) k_t v_tᵀ + S), then
/// S = diag(w_t) S + k_t v_tᵀ. `state` is [H, N, N] indexed [value][key]
/// (the rwkv dialect's layout), i.e. state[h][i][j] = S[j][i].
inline Vec wkv5(const Vec &r, const Vec &w, const Vec &k, const Vec &v,
                const Vec &u, Vec &state, int64_t tokens, int64_t heads,
                int64_t n) {
  int64_t c = heads * n;
  Vec y(tokens * c, 0.0);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t o = t * c + h * n;
      auto S = [&](int64_t key, int64_t value) -> double & {
        return state[(h * n + value) * n + key];
      };
      for (int64_t value = 0; value < n; ++value) {
        double acc = 0;
        for (int64_t key = 0; key < n; ++key)
          acc += r[o + key] *
                 (u[h * n + key] * k[o + key] * v[o + value] + S(key, value));
        y[o + value] = acc;
      }
      for (int64_t key = 0; key < n; ++key)
        for (int64_t value = 0; value < n; ++value)
          S(key, value) =
              w[o + key] * S(key, value) + k[o + key] * v[o + value];
    }
  return y;
}

} // namespace rwkvref

#endif // RWKV_TEST_REFERENCE_H
