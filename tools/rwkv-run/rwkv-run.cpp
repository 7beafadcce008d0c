//===- rwkv-run.cpp - run or benchmark a compiled RWKV model --------------===//
//
// Inspect:   rwkv-run --model DIR [--weights FILE] [--tokens 34,105,110]
//                     [--logits-out FILE] [--top K] [--bench N]
//                     [--prefill N] [--batch B] [--mode M]
// Generate:  rwkv-run --model DIR --weights FILE --vocab FILE|bytes
//                     --prompt TEXT -n N [--temperature T] [--top-p P]
//                     [--top-k K] [--presence-penalty A]
//                     [--frequency-penalty B] [--penalty-decay D]
//                     [--stop STR]... [--seed S]
//
// Everything runs through the runtime's C API. Inspect mode evaluates the
// tokens from a fresh state, prints the top-K next tokens, optionally writes
// the last logits (little-endian float32) and, with --bench, times N greedy
// decode steps. Generate mode tokenizes the prompt, then streams N sampled
// tokens to stdout as UTF-8 (statistics go to stderr). Both can start from
// a saved state (--load-state) or a state-tuning file (--state-tuning) and
// save the final state (--save-state).
//
//===----------------------------------------------------------------------===//

#include "rwkv/runtime.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

namespace cl = llvm::cl;

static cl::opt<std::string>
    modelDir("model", cl::desc("Artifact directory written by rwkvc"),
             cl::value_desc("dir"));
static cl::opt<std::string> listTensors(
    "list-tensors",
    cl::desc("Print the tensors of a weights file (.pth, safetensors, "
             "rwkv.cpp .bin): name, dtype, shape; then exit"),
    cl::value_desc("file"));
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
static cl::opt<bool> allLogits(
    "all-logits",
    cl::desc("With --logits-out: write the logits after every prompt token, "
             "[batch][tokens][vocab] (the parallel form needs an artifact "
             "built with rwkvc --all-logits)"),
    cl::init(false));
static cl::opt<unsigned>
    topK("top", cl::desc("How many top next tokens to print"), cl::init(5));
static cl::opt<unsigned> benchTokens(
    "bench", cl::desc("After the prompt, time this many greedy decode steps"),
    cl::init(0));
static cl::opt<uint64_t>
    syntheticSeed("synthetic-seed", cl::desc("Seed of the synthetic weights"),
                  cl::init(0));

static cl::OptionCategory genCat("Generation");
static cl::opt<std::string>
    prompt("prompt", cl::desc("Generate: the prompt text (needs --vocab)"),
           cl::value_desc("text"), cl::cat(genCat));
static cl::opt<std::string> vocabPath(
    "vocab",
    cl::desc("World vocab file (rwkv_vocab_v20230424.txt), or 'bytes' for "
             "byte-level models (id = byte)"),
    cl::value_desc("file"), cl::cat(genCat));
static cl::opt<unsigned> numTokens("n", cl::desc("Tokens to generate"),
                                   cl::init(100), cl::cat(genCat));
static cl::opt<float> temperature("temperature",
                                  cl::desc("Sampling temperature (0: greedy)"),
                                  cl::init(1.0f), cl::cat(genCat));
static cl::opt<float> topP("top-p", cl::desc("Nucleus sampling threshold"),
                           cl::init(0.85f), cl::cat(genCat));
static cl::opt<int> topKSample("top-k",
                               cl::desc("Sample among the K most likely (0: "
                                        "all)"),
                               cl::init(0), cl::cat(genCat));
static cl::opt<float> presencePenalty("presence-penalty",
                                      cl::desc("Subtracted from the logit of "
                                               "every generated token"),
                                      cl::init(0.2f), cl::cat(genCat));
static cl::opt<float> frequencyPenalty(
    "frequency-penalty",
    cl::desc("Subtracted per (decayed) occurrence of a generated token"),
    cl::init(0.2f), cl::cat(genCat));
static cl::opt<float> penaltyDecay("penalty-decay",
                                   cl::desc("Per-token decay of the "
                                            "occurrence counts"),
                                   cl::init(0.996f), cl::cat(genCat));
static cl::list<std::string>
    stopStrings("stop",
                cl::desc("Stop when the output contains this string "
                         "(not printed; repeatable)"),
                cl::cat(genCat));
static cl::opt<uint64_t> seed("seed", cl::desc("Sampling seed"), cl::init(0),
                              cl::cat(genCat));

static cl::OptionCategory stateCat("State");
static cl::opt<std::string>
    loadState("load-state", cl::desc("Start from a saved session state"),
              cl::value_desc("file"), cl::cat(stateCat));
static cl::opt<std::string> saveState("save-state",
                                      cl::desc("Save the final session state"),
                                      cl::value_desc("file"),
                                      cl::cat(stateCat));
static cl::opt<std::string> stateTuning(
    "state-tuning",
    cl::desc("Start from a state-tuning checkpoint (blocks.N.att.time_state)"),
    cl::value_desc("file"), cl::cat(stateCat));

static cl::opt<std::string>
    mode("mode",
         cl::desc("Prompt evaluation: auto (parallel form for "
                  "prompts), recurrent or parallel"),
         cl::init("auto"));
static cl::opt<unsigned>
    chunk("chunk",
          cl::desc("Tokens per parallel call (0: the runtime's default, as "
                   "many as keep one activation within 32 MiB)"),
          cl::init(0));
static cl::opt<unsigned>
    threads("num-threads",
            cl::desc("Threads for the model's parallel loops (0: all CPUs)"),
            cl::init(0));
static cl::opt<bool> checkFinite(
    "check-finite",
    cl::desc("Check every output of every layer for NaN/Inf and stop at the "
             "first, naming the tensor, layer and token position (slow)"),
    cl::init(false));
static cl::opt<unsigned> batchSize(
    "batch",
    cl::desc("Sequences evaluated side by side (inspect and benchmark modes): "
             "sequence b gets --tokens rotated left by b, --logits-out gets "
             "every sequence's row; throughput counts all of them"),
    cl::init(1));
static cl::opt<unsigned> prefillTokens(
    "prefill",
    cl::desc("Benchmark: time a synthetic prompt of this many tokens first"),
    cl::init(0));

static int die(const std::string &what) {
  llvm::errs() << "rwkv-run: error: " << what << "\n";
  return 1;
}

static void warn(const std::string &what) {
  llvm::errs() << "rwkv-run: warning: " << what << "\n";
}

/// Warns when logits are not all finite (NaN/Inf from the weights or a
/// loaded state would otherwise print as ordinary numbers).
static void warnIfNotFinite(const std::vector<float> &logits,
                            const char *what) {
  size_t bad = 0, first = 0;
  for (size_t i = logits.size(); i-- > 0;)
    if (!std::isfinite(logits[i]))
      ++bad, first = i;
  if (bad)
    warn(std::to_string(bad) + " of " + std::to_string(logits.size()) + " " +
         what + " are not finite (NaN or Inf; the first at index " +
         std::to_string(first) +
         "); rerun with --check-finite to find the tensor, layer and "
         "position where they first appear");
}

/// Writes `n` bytes to `path`, checking every step (a full disk shows up at
/// fwrite, fflush or fclose); returns an error message or "".
static std::string writeFile(const std::string &path, const void *data,
                             size_t n) {
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return "cannot open '" + path + "' for writing: " + std::strerror(errno);
  size_t written = std::fwrite(data, 1, n, f);
  int err = written == n && std::fflush(f) == 0 ? 0 : errno;
  if (std::fclose(f) != 0 && !err)
    err = errno;
  if (written != n || err)
    return "cannot write '" + path + "': " + std::strerror(err ? err : EIO) +
           (written != n ? " (" + std::to_string(written) + " of " +
                               std::to_string(n) + " bytes written)"
                         : std::string());
  return "";
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

/// Prints generated text, holding back any tail that may begin a stop
/// string; returns true once a stop string has appeared.
class StopFilter {
public:
  explicit StopFilter(const std::vector<std::string> &stops) : stops_(stops) {}

  bool feed(const std::string &text) {
    pending_ += text;
    size_t cut = std::string::npos;
    for (const std::string &s : stops_)
      if (!s.empty())
        cut = std::min(cut, pending_.find(s));
    if (cut != std::string::npos) {
      emit(pending_.substr(0, cut));
      pending_.clear();
      return true;
    }
    // Keep the longest suffix that is a proper prefix of a stop string.
    size_t keep = 0;
    for (const std::string &s : stops_)
      for (size_t n = std::min(s.size() - 1, pending_.size()); n > keep; --n)
        if (pending_.compare(pending_.size() - n, n, s, 0, n) == 0) {
          keep = n;
          break;
        }
    emit(pending_.substr(0, pending_.size() - keep));
    pending_.erase(0, pending_.size() - keep);
    return false;
  }
  void finish() { emit(pending_); }

private:
  static void emit(const std::string &text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
  const std::vector<std::string> &stops_;
  std::string pending_;
};

static double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// Generate mode: tokenize --prompt, evaluate it, then sample --n tokens,
/// streaming the text.
/// Frees a C API object when it goes out of scope (every return path,
/// errors included).
template <typename T, void (*Free)(T *)> struct Owned {
  T *p = nullptr;
  Owned() = default;
  Owned(const Owned &) = delete;
  Owned &operator=(const Owned &) = delete;
  ~Owned() {
    if (p)
      Free(p);
  }
  T **out() { return &p; }
  operator T *() const { return p; }
};
using ModelPtr = Owned<rwkv_model, rwkv_model_free>;
using SessionPtr = Owned<rwkv_session, rwkv_session_free>;
using TokenizerPtr = Owned<rwkv_tokenizer, rwkv_tokenizer_free>;
using SamplerPtr = Owned<rwkv_sampler, rwkv_sampler_free>;
using DecoderPtr = Owned<rwkv_decoder, rwkv_decoder_free>;

static int generate(rwkv_model *model, rwkv_session *session,
                    std::vector<float> &logits) {
  if (vocabPath.empty())
    return die("--prompt needs --vocab (a World vocab file, or 'bytes')");
  TokenizerPtr tok;
  bool world = vocabPath != "bytes";
  if ((world ? rwkv_tokenizer_load_world(vocabPath.c_str(), tok.out())
             : rwkv_tokenizer_create_bytes(0, tok.out())) != RWKV_OK)
    return die(rwkv_last_error());
  const int64_t vocab = rwkv_model_vocab_size(model);
  if (rwkv_tokenizer_vocab_size(tok) > vocab)
    return die(
        "the tokenizer has " + std::to_string(rwkv_tokenizer_vocab_size(tok)) +
        " ids, more than the model's vocabulary of " + std::to_string(vocab));
  size_t n = 0;
  rwkv_tokenizer_encode(tok, prompt.data(), prompt.size(), nullptr, 0, &n);
  std::vector<int32_t> ids(n);
  if (n == 0)
    return die("--prompt is empty");
  if (rwkv_tokenizer_encode(tok, prompt.data(), prompt.size(), ids.data(), n,
                            &n) != RWKV_OK)
    return die(rwkv_last_error());

  rwkv_sampler_params params = rwkv_sampler_default_params();
  params.temperature = temperature;
  params.top_p = topP;
  params.top_k = topKSample;
  params.presence_penalty = presencePenalty;
  params.frequency_penalty = frequencyPenalty;
  params.penalty_decay = penaltyDecay;
  params.seed = seed;
  SamplerPtr sampler;
  DecoderPtr decoder;
  if (rwkv_sampler_create(&params, vocab, sampler.out()) != RWKV_OK ||
      rwkv_decoder_create(tok, decoder.out()) != RWKV_OK)
    return die(rwkv_last_error());

  auto start = std::chrono::steady_clock::now();
  if (rwkv_session_eval_sequence(session, ids.data(),
                                 static_cast<int64_t>(ids.size()),
                                 logits.data()) != RWKV_OK)
    return die(rwkv_last_error());
  double prefill = secondsSince(start);
  warnIfNotFinite(logits, "logits after the prompt");

  std::vector<std::string> stops(stopStrings.begin(), stopStrings.end());
  StopFilter out(stops);
  const std::string unweighted = " \t0123456789";
  unsigned generated = 0;
  bool stopped = false;
  start = std::chrono::steady_clock::now();
  while (generated < numTokens && !stopped) {
    int32_t next = 0;
    if (rwkv_sampler_sample(sampler, logits.data(), &next) != RWKV_OK)
      return die(rwkv_last_error());
    if (world && next == 0) // end of text
      break;
    const char *bytes = nullptr;
    size_t len = 0;
    if (rwkv_tokenizer_token_bytes(tok, next, &bytes, &len) != RWKV_OK)
      return die(rwkv_last_error());
    // As the pip package: spaces, tabs and digits do not count as repeats.
    bool plain = unweighted.find(std::string(bytes, len)) != std::string::npos;
    rwkv_sampler_accept(sampler, next, plain ? 0.0f : 1.0f);
    const char *text = nullptr;
    if (rwkv_decoder_push(decoder, next, &text, &len) != RWKV_OK)
      return die(rwkv_last_error());
    stopped = out.feed(std::string(text, len));
    ++generated;
    // Evaluated even after the last one, so a saved state has every token.
    if (rwkv_session_eval(session, &next, logits.data()) != RWKV_OK)
      return die(rwkv_last_error());
  }
  if (!stopped) {
    const char *text = nullptr;
    size_t len = 0;
    rwkv_decoder_finish(decoder, &text, &len);
    stopped = out.feed(std::string(text, len));
    if (!stopped)
      out.finish();
  }
  double decode = secondsSince(start);
  std::fputs("\n", stdout);
  llvm::errs() << llvm::format(
      "prompt   %zu tokens in %.3f s (%.1f tok/s); generated %u tokens in "
      "%.3f s (%.1f tok/s)%s\n",
      ids.size(), prefill, ids.size() / prefill, generated, decode,
      generated / decode, stopped ? "; stopped at a stop string" : "");
  return 0;
}

static int runMain();

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(
      argc, argv, "rwkv-run: run or benchmark a compiled RWKV model\n");
  int rc = runMain();
  // Output that could not be written is an error, not exit 0 (e.g. stdout
  // on a full disk).
  std::fflush(stdout);
  llvm::outs().flush();
  if (std::ferror(stdout) || llvm::outs().has_error()) {
    std::error_code ec = llvm::outs().error();
    llvm::outs().clear_error();
    return die("cannot write to standard output" +
               (ec ? ": " + ec.message() : std::string()));
  }
  return rc;
}

static int runMain() {
  if (threads > rwkv_thread_limit()) {
    warn("--num-threads=" + std::to_string(threads) + " is more than the " +
         std::to_string(rwkv_thread_limit()) +
         " threads a session accepts on this machine; using " +
         std::to_string(rwkv_thread_limit()));
    threads = static_cast<unsigned>(rwkv_thread_limit());
  }
  if (!listTensors.empty()) {
    auto print = [](const char *name, const char *dtype, int64_t rank,
                    const int64_t *shape, void *) {
      std::string dims;
      for (int64_t d = 0; d < rank; ++d)
        dims += (d ? ", " : "") + std::to_string(shape[d]);
      llvm::outs() << llvm::left_justify(name, 40) << " "
                   << llvm::left_justify(dtype, 5) << " [" << dims << "]\n";
    };
    if (rwkv_weights_list_tensors(listTensors.c_str(), print, nullptr) !=
        RWKV_OK)
      return die(rwkv_last_error());
    return 0;
  }
  if (modelDir.empty())
    return die("--model DIR is required (the artifact directory written by "
               "rwkvc), unless --list-tensors is given");
  std::vector<int32_t> tokens;
  if (!parseTokens(tokenList, tokens))
    return die("--tokens must be a comma-separated list of non-negative "
               "integers, got '" +
               tokenList + "'");

  ModelPtr model;
  rwkv_status st =
      weightsPath.empty()
          ? rwkv_model_load_synthetic(modelDir.c_str(), syntheticSeed,
                                      model.out())
          : rwkv_model_load(modelDir.c_str(), weightsPath.c_str(), model.out());
  if (st != RWKV_OK)
    return die(rwkv_last_error());
  const int64_t vocab = rwkv_model_vocab_size(model);
  // In generate mode stdout carries only the generated text.
  llvm::raw_ostream &info =
      prompt.getNumOccurrences() ? llvm::errs() : llvm::outs();
  info << "model    " << rwkv_model_name(model) << " ("
       << rwkv_model_n_layer(model) << " layers, d_model "
       << rwkv_model_d_model(model) << ", vocab " << vocab << ")\n";
  if (weightsPath.empty())
    info << "weights  synthetic (seed " << syntheticSeed << ")\n";
  else
    info << "weights  " << weightsPath << " ("
         << llvm::format("%.1f", rwkv_model_weight_bytes(model) / 1e6)
         << " MB, "
         << llvm::format("%.1f", rwkv_model_mapped_weight_bytes(model) / 1e6)
         << " MB used in place from the mapped file)\n";

  if (batchSize == 0)
    return die("--batch must be at least 1");
  if (batchSize > 1 && prompt.getNumOccurrences())
    return die("--batch applies to inspect and benchmark modes; generation "
               "(--prompt) runs one sequence");
  const size_t B = batchSize;
  SessionPtr session;
  if (rwkv_session_create(model, static_cast<int64_t>(B), session.out()) !=
      RWKV_OK)
    return die(rwkv_last_error());
  if (!stateTuning.empty() &&
      rwkv_session_load_state_tuning(session, stateTuning.c_str()) != RWKV_OK)
    return die(rwkv_last_error());
  if (!loadState.empty() &&
      rwkv_session_load_state(session, loadState.c_str()) != RWKV_OK)
    return die(rwkv_last_error());
  rwkv_mode m = mode == "recurrent"  ? RWKV_MODE_RECURRENT
                : mode == "parallel" ? RWKV_MODE_PARALLEL
                : mode == "auto"     ? RWKV_MODE_AUTO
                                     : static_cast<rwkv_mode>(-1);
  if (static_cast<int>(m) < 0)
    return die("--mode must be auto, recurrent or parallel, got '" + mode +
               "'");
  if (rwkv_session_set_mode(session, m) != RWKV_OK ||
      (chunk > 0 && rwkv_session_set_chunk_size(session, chunk) != RWKV_OK) ||
      rwkv_session_set_threads(session, threads) != RWKV_OK ||
      rwkv_session_set_check_finite(session, checkFinite) != RWKV_OK)
    return die(rwkv_last_error());
  std::vector<float> logits(B * static_cast<size_t>(vocab));

  if (prefillTokens > 0) {
    // Deterministic pseudo-random prompt, then back to a fresh state.
    std::vector<int32_t> prompt(B * prefillTokens);
    for (size_t i = 0; i < prompt.size(); ++i)
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
        "prefill  %u tokens in %.3f s: %.1f tok/s (batch %u, %s, %s threads)\n",
        static_cast<unsigned>(prefillTokens), seconds,
        B * prefillTokens / seconds, static_cast<unsigned>(B), mode.c_str(),
        threads ? std::to_string(threads).c_str() : "all");
    if (rwkv_session_reset(session) != RWKV_OK)
      return die(rwkv_last_error());
  }

  if (prompt.getNumOccurrences()) {
    int rc = generate(model, session, logits);
    if (rc == 0 && !saveState.empty() &&
        rwkv_session_save_state(session, saveState.c_str()) != RWKV_OK)
      rc = die(rwkv_last_error());
    return rc;
  }

  std::vector<int32_t> batchTokens;
  for (size_t b = 0; b < B; ++b)
    for (size_t i = 0; i < tokens.size(); ++i)
      batchTokens.push_back(tokens[(i + b) % tokens.size()]);
  // Every position's logits, or the last one's.
  std::vector<float> everyPosition;
  if (allLogits) {
    if (logitsOut.empty())
      return die("--all-logits needs --logits-out FILE");
    const size_t n = tokens.size(), v = static_cast<size_t>(vocab);
    everyPosition.resize(B * n * v);
    if (rwkv_session_eval_sequence_all(session, batchTokens.data(),
                                       static_cast<int64_t>(n),
                                       everyPosition.data()) != RWKV_OK)
      return die(rwkv_last_error());
    for (size_t b = 0; b < B; ++b)
      std::copy_n(everyPosition.begin() + ((b * n + n - 1) * v), v,
                  logits.begin() + b * v);
  } else if (rwkv_session_eval_sequence(session, batchTokens.data(),
                                        static_cast<int64_t>(tokens.size()),
                                        logits.data()) != RWKV_OK) {
    return die(rwkv_last_error());
  }
  warnIfNotFinite(allLogits ? everyPosition : logits, "logits");

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
    const std::vector<float> &out = allLogits ? everyPosition : logits;
    std::string error =
        writeFile(logitsOut, out.data(), out.size() * sizeof(float));
    if (!error.empty())
      return die("--logits-out: " + error);
  }

  if (benchTokens > 0) {
    std::vector<int32_t> next(B, order[0]);
    auto start = std::chrono::steady_clock::now();
    for (unsigned i = 0; i < benchTokens; ++i) {
      if (rwkv_session_eval(session, next.data(), logits.data()) != RWKV_OK)
        return die(rwkv_last_error());
      for (size_t b = 0; b < B; ++b) {
        auto row = logits.begin() + static_cast<std::ptrdiff_t>(b * vocab);
        next[b] =
            static_cast<int32_t>(std::max_element(row, row + vocab) - row);
      }
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    // The weights' total size, embedding table included (a step reads one
    // row of it): an upper bound on the bytes a step streams.
    double mb = rwkv_model_weight_bytes(model) / 1e6;
    llvm::outs() << llvm::format(
        "decode   %u steps in %.3f s: %.1f tok/s (batch %u, %s threads, "
        "weights %.1f MB incl. the embedding table)\n",
        static_cast<unsigned>(benchTokens), seconds, B * benchTokens / seconds,
        static_cast<unsigned>(B),
        threads ? std::to_string(threads).c_str() : "all", mb);
  }
  if (!saveState.empty() &&
      rwkv_session_save_state(session, saveState.c_str()) != RWKV_OK)
    return die(rwkv_last_error());
  return 0;
}
