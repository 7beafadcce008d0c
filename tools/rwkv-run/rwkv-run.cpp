//===- rwkv-run.cpp - run or benchmark a compiled RWKV model --------------===//
//
// rwkv-run --model DIR [--weights FILE] [--tokens 34,105,110]
//          [--logits-out FILE] [--top K] [--bench N] [--seed S]
//
// Evaluates the tokens from a fresh state through the runtime's C API,
// prints the top-K next tokens, optionally writes the last logits
// (little-endian float32) and, with --bench, times N greedy decode steps.
//
//===----------------------------------------------------------------------===//

#include "rwkv/runtime.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

namespace cl = llvm::cl;

static cl::opt<std::string>
    modelDir("model", cl::desc("Artifact directory written by rwkvc"),
             cl::value_desc("dir"), cl::Required);
static cl::opt<std::string> weightsPath(
    "weights",
    cl::desc("Checkpoint (rwkv.cpp .bin); synthetic weights if omitted"),
    cl::value_desc("file"), cl::init(""));
static cl::opt<std::string>
    tokenList("tokens", cl::desc("Comma-separated prompt token ids"),
              cl::value_desc("ids"), cl::init("0"));
static cl::opt<std::string>
    logitsOut("logits-out",
              cl::desc("Write the last token's logits (little-endian float32)"),
              cl::value_desc("file"), cl::init(""));
static cl::opt<unsigned>
    topK("top", cl::desc("How many top next tokens to print"), cl::init(5));
static cl::opt<unsigned> benchTokens(
    "bench", cl::desc("After the prompt, time this many greedy decode steps"),
    cl::init(0));
static cl::opt<uint64_t> seed("seed", cl::desc("Seed of the synthetic weights"),
                              cl::init(0));

static cl::opt<std::string>
    mode("mode",
         cl::desc("Prompt evaluation: auto (parallel form for "
                  "prompts), recurrent or parallel"),
         cl::init("auto"));
static cl::opt<unsigned> chunk("chunk", cl::desc("Tokens per parallel call"),
                               cl::init(256));
static cl::opt<unsigned> prefillTokens(
    "prefill",
    cl::desc("Benchmark: time a synthetic prompt of this many tokens first"),
    cl::init(0));

static int die(const std::string &what) {
  llvm::errs() << "rwkv-run: error: " << what << "\n";
  return 1;
}

static bool parseTokens(const std::string &text, std::vector<int32_t> &out) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    std::string item = text.substr(
        pos, end == std::string::npos ? std::string::npos : end - pos);
    char *rest = nullptr;
    long v = std::strtol(item.c_str(), &rest, 10);
    if (item.empty() || *rest != '\0' || v < 0 || v > INT32_MAX)
      return false;
    out.push_back(static_cast<int32_t>(v));
    if (end == std::string::npos)
      break;
    pos = end + 1;
  }
  return !out.empty();
}

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(
      argc, argv, "rwkv-run: run or benchmark a compiled RWKV model\n");
  std::vector<int32_t> tokens;
  if (!parseTokens(tokenList, tokens))
    return die("--tokens must be a comma-separated list of non-negative "
               "integers, got '" +
               tokenList + "'");

  rwkv_model *model = nullptr;
  rwkv_status st =
      weightsPath.empty()
          ? rwkv_model_load_synthetic(modelDir.c_str(), seed, &model)
          : rwkv_model_load(modelDir.c_str(), weightsPath.c_str(), &model);
  if (st != RWKV_OK)
    return die(rwkv_last_error());
  const int64_t vocab = rwkv_model_vocab_size(model);
  llvm::outs() << "model    " << rwkv_model_name(model) << " ("
               << rwkv_model_n_layer(model) << " layers, d_model "
               << rwkv_model_d_model(model) << ", vocab " << vocab << ")\n";
  if (weightsPath.empty())
    llvm::outs() << "weights  synthetic (seed " << seed << ")\n";
  else
    llvm::outs() << "weights  " << weightsPath << "\n";

  rwkv_session *session = nullptr;
  if (rwkv_session_create(model, 1, &session) != RWKV_OK)
    return die(rwkv_last_error());
  rwkv_mode m = mode == "recurrent"  ? RWKV_MODE_RECURRENT
                : mode == "parallel" ? RWKV_MODE_PARALLEL
                : mode == "auto"     ? RWKV_MODE_AUTO
                                     : static_cast<rwkv_mode>(-1);
  if (static_cast<int>(m) < 0)
    return die("--mode must be auto, recurrent or parallel, got '" + mode +
               "'");
  if (rwkv_session_set_mode(session, m) != RWKV_OK ||
      rwkv_session_set_chunk_size(session, chunk) != RWKV_OK)
    return die(rwkv_last_error());
  std::vector<float> logits(static_cast<size_t>(vocab));

  if (prefillTokens > 0) {
    // Deterministic pseudo-random prompt, then back to a fresh state.
    std::vector<int32_t> prompt(prefillTokens);
    for (unsigned i = 0; i < prefillTokens; ++i)
      prompt[i] = static_cast<int32_t>((i * 2654435761u) %
                                       static_cast<uint64_t>(vocab));
    auto start = std::chrono::steady_clock::now();
    if (rwkv_session_eval_sequence(session, prompt.data(), prefillTokens,
                                   logits.data()) != RWKV_OK)
      return die(rwkv_last_error());
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    llvm::outs() << llvm::format(
        "prefill  %u tokens in %.3f s: %.1f tok/s (batch 1, %s)\n",
        static_cast<unsigned>(prefillTokens), seconds, prefillTokens / seconds,
        mode.c_str());
    if (rwkv_session_reset(session) != RWKV_OK)
      return die(rwkv_last_error());
  }

  if (rwkv_session_eval_sequence(session, tokens.data(),
                                 static_cast<int64_t>(tokens.size()),
                                 logits.data()) != RWKV_OK)
    return die(rwkv_last_error());

  llvm::outs() << "prompt   " << tokens.size() << " tokens:";
  for (int32_t t : tokens)
    llvm::outs() << " " << t;
  llvm::outs() << "\n";
  std::vector<int32_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  unsigned k = std::min<unsigned>(topK, static_cast<unsigned>(vocab));
  std::partial_sort(
      order.begin(), order.begin() + k, order.end(),
      [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  llvm::outs() << "top-" << k << " next tokens:\n";
  for (unsigned i = 0; i < k; ++i) {
    int32_t id = order[i];
    llvm::outs() << llvm::format("  %2u. token %6d  logit %10.5f", i + 1, id,
                                 logits[id]);
    if (vocab <= 256 && id >= 32 && id < 127)
      llvm::outs() << "  '" << static_cast<char>(id) << "'";
    llvm::outs() << "\n";
  }

  if (!logitsOut.empty()) {
    std::FILE *f = std::fopen(logitsOut.c_str(), "wb");
    if (!f || std::fwrite(logits.data(), sizeof(float), logits.size(), f) !=
                  logits.size())
      return die("cannot write '" + logitsOut + "'");
    std::fclose(f);
  }

  if (benchTokens > 0) {
    int32_t next = order[0];
    auto start = std::chrono::steady_clock::now();
    for (unsigned i = 0; i < benchTokens; ++i) {
      if (rwkv_session_eval(session, &next, logits.data()) != RWKV_OK)
        return die(rwkv_last_error());
      next = static_cast<int32_t>(
          std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    double mb = rwkv_model_weight_bytes(model) / 1e6;
    llvm::outs() << llvm::format(
        "decode   %u tokens in %.3f s: %.1f tok/s (batch 1, 1 thread, "
        "%.1f MB of weights per token, %.2f GB/s)\n",
        static_cast<unsigned>(benchTokens), seconds, benchTokens / seconds, mb,
        benchTokens * mb / 1e3 / seconds);
  }
  rwkv_session_free(session);
  rwkv_model_free(model);
  return 0;
}
