//===- long-run.cpp - a long sequence in both forms (soak test) -----------===//
//
// Feeds one long token sequence to a compiled model twice through the C API:
// token by token in the recurrent form, and in the parallel form in calls of
// 64 to 4096 tokens (sizes drawn from a fixed generator). Every call's logits
// must be finite, and the two sessions must end in the same state: max
// |a - b| / max(1, |a|) over the state within --tolerance (1e-5). Prints one
// summary line per checkpoint (every --report tokens) and exits 1 on the
// first failure. docs/ROBUSTNESS.md records the 1M-token runs; a short run is
// part of the lit suite (test/e2e/long-run.test).
//
// Usage: rwkv-long-run --model DIR [--weights FILE] [--tokens N]
//                      [--seed S] [--report N] [--tolerance X]
//
//===----------------------------------------------------------------------===//

#include "rwkv/runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

int fail(const std::string &what) {
  std::fprintf(stderr, "rwkv-long-run: error: %s\n", what.c_str());
  return 1;
}

bool finite(const std::vector<float> &v, size_t &at) {
  for (at = 0; at < v.size(); ++at)
    if (!std::isfinite(v[at]))
      return false;
  return true;
}

/// max |a - b| / max(1, |a|).
double stateDistance(const std::vector<float> &a, const std::vector<float> &b,
                     size_t &worst) {
  double d = 0;
  worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double e = std::fabs(double(a[i]) - double(b[i])) /
               std::max(1.0, std::fabs(double(a[i])));
    if (e > d) {
      d = e;
      worst = i;
    }
  }
  return d;
}

} // namespace

int main(int argc, char **argv) {
  std::string model, weights;
  long long total = 1000000, report = 100000;
  unsigned seed = 1;
  double tolerance = 1e-5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "rwkv-long-run: error: %s needs a value\n",
                     a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model")
      model = value();
    else if (a == "--weights")
      weights = value();
    else if (a == "--tokens")
      total = std::atoll(value().c_str());
    else if (a == "--report")
      report = std::atoll(value().c_str());
    else if (a == "--seed")
      seed = static_cast<unsigned>(std::atoll(value().c_str()));
    else if (a == "--tolerance")
      tolerance = std::atof(value().c_str());
    else
      return fail("unknown argument '" + a + "'");
  }
  if (model.empty() || total < 1 || report < 1)
    return fail("usage: rwkv-long-run --model DIR [--weights FILE] "
                "[--tokens N] [--seed S] [--report N] [--tolerance X]");

  rwkv_model *m = nullptr;
  rwkv_status st = weights.empty()
                       ? rwkv_model_load_synthetic(model.c_str(), seed, &m)
                       : rwkv_model_load(model.c_str(), weights.c_str(), &m);
  if (st != RWKV_OK)
    return fail(rwkv_last_error());
  if (!rwkv_model_has_parallel(m))
    return fail("the artifact has no parallel form");
  const int64_t vocab = rwkv_model_vocab_size(m);
  rwkv_session *rec = nullptr, *par = nullptr;
  if (rwkv_session_create(m, 1, &rec) != RWKV_OK ||
      rwkv_session_create(m, 1, &par) != RWKV_OK ||
      rwkv_session_set_mode(rec, RWKV_MODE_RECURRENT) != RWKV_OK ||
      rwkv_session_set_mode(par, RWKV_MODE_PARALLEL) != RWKV_OK)
    return fail(rwkv_last_error());

  // Text-like tokens: a Zipf-ish draw over the vocabulary, so some ids repeat
  // often and some are rare.
  std::mt19937_64 gen(seed);
  std::vector<int32_t> tokens(static_cast<size_t>(total));
  for (int32_t &t : tokens) {
    double u = std::uniform_real_distribution<double>(0.0, 1.0)(gen);
    t = static_cast<int32_t>(std::min<double>(
        double(vocab - 1), std::floor(std::pow(double(vocab), u) - 1.0)));
  }

  std::vector<float> logits(static_cast<size_t>(vocab)),
      parLogits(static_cast<size_t>(vocab));
  std::vector<float> a(static_cast<size_t>(rwkv_session_state_size(rec))),
      b(a.size());
  std::printf("model %s, %lld tokens, state %zu floats, tolerance %.1e\n",
              rwkv_model_name(m), total, a.size(), tolerance);
  auto start = std::chrono::steady_clock::now();
  long long done = 0, calls = 0;
  size_t at = 0;
  while (done < total) {
    long long next = std::min(total, (done / report + 1) * report);
    // Recurrent: one token per call.
    for (long long t = done; t < next; ++t) {
      if (rwkv_session_eval(rec, &tokens[static_cast<size_t>(t)],
                            logits.data()) != RWKV_OK)
        return fail(rwkv_last_error());
      if (!finite(logits, at))
        return fail("recurrent logits not finite after token " +
                    std::to_string(t) + " (index " + std::to_string(at) + ")");
    }
    // Parallel: calls of 64 to 4096 tokens (the last one shorter).
    for (long long t = done; t < next;) {
      long long n = std::uniform_int_distribution<long long>(64, 4096)(gen);
      n = std::min(n, next - t);
      if (rwkv_session_set_chunk_size(par, n) != RWKV_OK ||
          rwkv_session_eval_sequence(par, &tokens[static_cast<size_t>(t)], n,
                                     parLogits.data()) != RWKV_OK)
        return fail(rwkv_last_error());
      if (!finite(parLogits, at))
        return fail("parallel logits not finite after token " +
                    std::to_string(t + n - 1) + " (index " +
                    std::to_string(at) + ")");
      t += n;
      ++calls;
    }
    done = next;
    if (rwkv_session_get_state(rec, a.data()) != RWKV_OK ||
        rwkv_session_get_state(par, b.data()) != RWKV_OK)
      return fail(rwkv_last_error());
    size_t worst = 0;
    double d = stateDistance(a, b, worst);
    size_t notFinite = 0;
    bool ok = finite(a, notFinite);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    std::printf("%10lld tokens  %7lld parallel calls  state distance %.2e "
                "(element %zu: %.6g vs %.6g)  %s  %.0f s\n",
                done, calls, d, worst, a[worst], b[worst],
                ok ? "finite" : "NOT FINITE", seconds);
    std::fflush(stdout);
    if (!ok)
      return fail("recurrent state not finite at element " +
                  std::to_string(notFinite));
    if (!(d <= tolerance))
      return fail("the states differ by " + std::to_string(d) + " after " +
                  std::to_string(done) + " tokens (tolerance " +
                  std::to_string(tolerance) + ")");
  }
  std::printf("ok: finite throughout, final states agree within %.1e\n",
              tolerance);
  rwkv_session_free(rec);
  rwkv_session_free(par);
  rwkv_model_free(m);
  return 0;
}
