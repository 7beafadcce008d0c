//===- ReferenceModel.cpp - scalar RWKV forward pass (tests only) ---------===//

#include "ReferenceModel.h"

#include "Reference.h"

#include <stdexcept>

namespace rwkvref {

namespace {

Vec add(Vec a, const Vec &b) {
  for (size_t i = 0; i < a.size(); ++i)
    a[i] += b[i];
  return a;
}

Vec mul(Vec a, const Vec &b) {
  for (size_t i = 0; i < a.size(); ++i)
    a[i] *= b[i];
  return a;
}

Vec map(Vec a, double (*f)(double)) {
  for (double &x : a)
    x = f(x);
  return a;
}

double tanhOf(double x) { return std::tanh(x); }
double expOf(double x) { return std::exp(x); }

/// Repeats each of the H per-head values over its N channels.
Vec perHead(const Vec &h, int64_t n) {
  Vec out;
  for (double x : h)
    out.insert(out.end(), static_cast<size_t>(n), x);
  return out;
}

} // namespace

ReferenceModel::ReferenceModel(ModelConfig config, Weights w)
    : cfg(std::move(config)), weights(std::move(w)) {
  size_t layers = static_cast<size_t>(cfg.layers),
         c = static_cast<size_t>(cfg.c);
  attShift.assign(layers, Vec(c, 0.0));
  ffnShift.assign(layers, Vec(c, 0.0));
  wkvState.assign(layers,
                  Vec(static_cast<size_t>(cfg.heads * cfg.n * cfg.n), 0.0));
  a.assign(layers, Vec(c, 0.0));
  b.assign(layers, Vec(c, 0.0));
  p.assign(layers, Vec(c, -1e30));
}

const Vec &ReferenceModel::w(const std::string &name, int64_t layer) const {
  auto it = weights.find(name);
  if (it == weights.end())
    throw std::runtime_error("reference: no weight " + name);
  return it->second.size() == 1 ? it->second[0] : it->second.at(layer);
}

Vec ReferenceModel::timeMix(const Vec &x, int64_t l) {
  const int64_t c = cfg.c, h = cfg.heads, n = cfg.n;
  Vec sx = attShift[l];
  attShift[l] = x;

  // Token shift (§2.1, §3.1, §4.1, §5.1).
  std::map<std::string, Vec> xs;
  if (cfg.tokenShift == "ddlerp") {
    Vec d(c), xi(c);
    const Vec &muX = w("att.time_maa_x", l);
    for (int64_t i = 0; i < c; ++i) {
      d[i] = sx[i] - x[i];
      xi[i] = x[i] + d[i] * muX[i];
    }
    const Vec &down = w("att.time_maa_w1", l), &up = w("att.time_maa_w2", l);
    int64_t k = static_cast<int64_t>(cfg.timeMixInputs.size());
    int64_t rank = static_cast<int64_t>(down.size()) / (k * c);
    Vec z = map(linear(xi, down, c, k * rank), tanhOf);
    for (int64_t m = 0; m < k; ++m) {
      const std::string &name = cfg.timeMixInputs[m];
      Vec zm(z.begin() + m * rank, z.begin() + (m + 1) * rank);
      Vec upm(up.begin() + m * c * rank, up.begin() + (m + 1) * c * rank);
      Vec lora = linear(zm, upm, rank, c);
      const Vec &mu = w("att.time_maa_" + name, l);
      Vec out(c);
      for (int64_t i = 0; i < c; ++i)
        out[i] = x[i] + d[i] * (mu[i] + lora[i]);
      xs[name] = out;
    }
  } else {
    bool prev = cfg.tokenShift == "lerp_previous";
    for (const std::string &name : cfg.timeMixInputs) {
      const Vec &mu = w((prev ? "att.x_" : "att.time_mix_") + name, l);
      Vec out(c);
      for (int64_t i = 0; i < c; ++i)
        out[i] = prev ? x[i] + (sx[i] - x[i]) * mu[i]
                      : sx[i] + (x[i] - sx[i]) * mu[i];
      xs[name] = out;
    }
  }

  Vec r = linear(xs["r"], w("att.receptance", l), c, c);
  if (cfg.receptance == "sigmoid")
    r = map(r, sigmoid);
  Vec k = linear(xs["k"], w("att.key", l), c, c);
  Vec v = linear(xs["v"], w("att.value", l), c, c);

  // Decay (log-decay for wkv4).
  Vec decay(c);
  auto lora = [&](const Vec &in, const std::string &down, const std::string &up,
                  double (*inner)(double)) {
    const Vec &dw = w(down, l), &uw = w(up, l);
    int64_t rank = static_cast<int64_t>(dw.size()) / c;
    Vec hidden = linear(in, dw, c, rank);
    if (inner)
      hidden = map(hidden, inner);
    return linear(hidden, uw, rank, c);
  };
  if (cfg.decay == "static" || cfg.decay == "static_per_head") {
    Vec d = w("att.time_decay", l);
    if (cfg.decay == "static_per_head")
      d = perHead(d, n);
    for (int64_t i = 0; i < c; ++i)
      decay[i] =
          cfg.wkv == "wkv4" ? -std::exp(d[i]) : std::exp(-std::exp(d[i]));
  } else if (cfg.decay == "lora_exp") {
    Vec d = add(w("att.time_decay", l), lora(xs["w"], "att.time_decay_w1",
                                             "att.time_decay_w2", tanhOf));
    for (int64_t i = 0; i < c; ++i)
      decay[i] = std::exp(-std::exp(d[i]));
  } else {
    Vec z = add(w("att.w0", l), lora(xs["w"], "att.w1", "att.w2", tanhOf));
    for (int64_t i = 0; i < c; ++i)
      decay[i] = decaySigmoid(z[i]);
  }

  // Bonus.
  Vec u;
  if (cfg.bonus == "time_first")
    u = w("att.time_first", l);
  else if (cfg.bonus == "u")
    u = w("att.time_faaaa", l);
  else if (cfg.bonus == "u_exp")
    u = map(w("att.time_first", l), expOf);
  else if (cfg.bonus == "u_exp_per_head")
    u = perHead(map(w("att.time_first", l), expOf), n);

  // Value residual (§5.2).
  if (cfg.valueResidual) {
    if (l == 0) {
      vFirst = v;
    } else {
      Vec nu =
          map(add(w("att.v0", l), lora(xs["v"], "att.v1", "att.v2", nullptr)),
              sigmoid);
      for (int64_t i = 0; i < c; ++i)
        v[i] += nu[i] * (vFirst[i] - v[i]);
    }
  }

  Vec y, kTilde;
  if (cfg.wkv == "wkv4") {
    y = mul(r, wkv4(k, v, decay, u, a[l], b[l], p[l], 1, c));
  } else if (cfg.wkv == "wkv5") {
    y = wkv5(r, decay, k, v, u, wkvState[l], 1, h, n);
  } else {
    Vec alpha =
        map(add(w("att.a0", l), lora(xs["a"], "att.a1", "att.a2", nullptr)),
            sigmoid);
    Vec kappa = mul(k, w("att.k_k", l));
    Vec kHat = l2Norm(kappa, n, 1e-12);
    const Vec &ka = w("att.k_a", l);
    Vec aa(c), bb(c);
    kTilde.resize(c);
    for (int64_t i = 0; i < c; ++i) {
      aa[i] = -kHat[i];
      bb[i] = kHat[i] * alpha[i];
      kTilde[i] = k[i] + (k[i] * alpha[i] - k[i]) * ka[i];
    }
    y = wkv7(r, decay, kTilde, v, aa, bb, wkvState[l], 1, h, n);
  }

  Vec o = y;
  if (cfg.outputNorm == "group_norm")
    o = groupNorm(o, w("att.ln_x.weight", l), w("att.ln_x.bias", l), c, h,
                  cfg.groupNormEps);
  if (cfg.bonus == "rk_after_norm") {
    const Vec &rk = w("att.r_k", l);
    for (int64_t hh = 0; hh < h; ++hh) {
      double dot = 0;
      for (int64_t j = 0; j < n; ++j)
        dot += r[hh * n + j] * kTilde[hh * n + j] * rk[hh * n + j];
      for (int64_t i = 0; i < n; ++i)
        o[hh * n + i] += dot * v[hh * n + i];
    }
  }
  if (cfg.gate == "silu") {
    Vec g = linear(xs["g"], w("att.gate", l), c, c);
    for (double &x : g)
      x *= sigmoid(x);
    o = mul(o, g);
  } else if (cfg.gate == "lora_sigmoid") {
    o = mul(o, lora(xs["g"], "att.g1", "att.g2", sigmoid));
  }
  Vec out = linear(o, w("att.output", l), c, c);
  if (cfg.residualBias)
    out = add(out, w("att.output.bias", l));
  if (cfg.attentionWidth > 0) {
    // softmax_s(q·k_s / √D) over every token so far, this one included.
    const int64_t d = cfg.attentionWidth;
    if (attnKeys.empty()) {
      attnKeys.resize(static_cast<size_t>(cfg.layers));
      attnValues.resize(static_cast<size_t>(cfg.layers));
    }
    Vec q = linear(x, w("att.attn_q", l), c, d);
    attnKeys[l].push_back(linear(x, w("att.attn_k", l), c, d));
    attnValues[l].push_back(linear(x, w("att.attn_v", l), c, d));
    std::vector<double> scores;
    double top = -1e300;
    for (const Vec &k : attnKeys[l]) {
      double dot = 0;
      for (int64_t i = 0; i < d; ++i)
        dot += q[i] * k[i];
      scores.push_back(dot / std::sqrt(static_cast<double>(d)));
      top = std::max(top, scores.back());
    }
    Vec y(d, 0.0);
    double sum = 0;
    for (size_t s = 0; s < scores.size(); ++s) {
      double p = std::exp(scores[s] - top);
      sum += p;
      for (int64_t i = 0; i < d; ++i)
        y[i] += p * attnValues[l][s][i];
    }
    for (double &e : y)
      e /= sum;
    out = add(out, linear(y, w("att.attn_o", l), d, c));
  }
  return out;
}

Vec ReferenceModel::channelMix(const Vec &x, int64_t l) {
  const int64_t c = cfg.c, f = cfg.ffn;
  if (cfg.mlp == "swiglu") {
    Vec gate = linear(x, w("mlp.gate", l), c, f);
    Vec up = linear(x, w("mlp.up", l), c, f);
    for (int64_t i = 0; i < f; ++i)
      gate[i] = gate[i] * sigmoid(gate[i]) * up[i];
    return linear(gate, w("mlp.down", l), f, c);
  }
  Vec sx = ffnShift[l];
  ffnShift[l] = x;
  bool prev = cfg.channelMixShift == "lerp_previous";
  auto mix = [&](const char *name) {
    const Vec &mu = w(std::string(prev ? "ffn.x_" : "ffn.time_mix_") + name, l);
    Vec out(c);
    for (int64_t i = 0; i < c; ++i)
      out[i] =
          prev ? x[i] + (sx[i] - x[i]) * mu[i] : sx[i] + (x[i] - sx[i]) * mu[i];
    return out;
  };
  Vec hidden = linear(mix("k"), w("ffn.key", l), c, f);
  for (double &e : hidden)
    e = e > 0 ? e * e : 0.0;
  Vec o = linear(hidden, w("ffn.value", l), f, c);
  if (cfg.residualBias)
    o = add(o, w("ffn.value.bias", l));
  if (cfg.channelMix == "relu_square_gated")
    o = mul(o, map(linear(mix("r"), w("ffn.receptance", l), c, c), sigmoid));
  if (cfg.tokenGate) {
    const Vec &table = w("ffn.token_gate", l);
    Vec z = linear(x, w("ffn.gate", l), c, c);
    for (int64_t i = 0; i < c; ++i)
      o[i] *= sigmoid(z[i] + table[token * c + i]);
  }
  return o;
}

Vec ReferenceModel::step(int32_t tok) {
  const int64_t c = cfg.c;
  token = tok;
  // LN(x) with weight and bias, or RMSNorm(x) = x / sqrt(mean(x²) + eps) · w.
  auto norm = [&](const Vec &x, const std::string &name, int64_t l) {
    if (cfg.blockNorm == "rms_norm") {
      const Vec &g = w(name + ".weight", l);
      double ss = 0;
      for (double v : x)
        ss += v * v;
      double inv =
          1.0 / std::sqrt(ss / static_cast<double>(c) + cfg.rmsNormEps);
      Vec out(c);
      for (int64_t i = 0; i < c; ++i)
        out[i] = x[i] * inv * g[i];
      return out;
    }
    return layerNorm(x, w(name + ".weight", l), w(name + ".bias", l), c,
                     cfg.layerNormEps);
  };
  const Vec &emb = w("emb", 0);
  Vec x(emb.begin() + tok * c, emb.begin() + (tok + 1) * c);
  if (cfg.ln0)
    x = layerNorm(x, w("ln0.weight", 0), w("ln0.bias", 0), c, cfg.layerNormEps);
  for (int64_t l = 0; l < cfg.layers; ++l) {
    x = add(x, timeMix(norm(x, "ln1", l), l));
    x = add(x, channelMix(norm(x, "ln2", l), l));
  }
  x = norm(x, "ln_out", 0);
  Vec logits = linear(x, w("head", 0), c, cfg.vocab);
  if (cfg.headBias)
    logits = add(logits, w("head.bias", 0));
  return logits;
}

} // namespace rwkvref
