//===- rwkv-run.cpp - run, benchmark or score a compiled RWKV model -------===//
//
// Inspect:    rwkv-run --model DIR [--weights FILE] [--tokens 34,105,110]
//                      [--logits-out FILE [--all-logits]] [--top K]
//                      [--bench N] [--prefill N] [--batch B] [--mode M]
// Generate:   rwkv-run --model DIR --weights FILE --vocab FILE|bytes
//                      --prompt TEXT -n N [--temperature T] [--top-p P]
//                      [--top-k K] [--presence-penalty A]
//                      [--frequency-penalty B] [--penalty-decay D]
//                      [--stop STR]... [--seed S]
// Perplexity: rwkv-run --model DIR --weights FILE --vocab FILE|bytes
//                      --perplexity TEXT_FILE [--json]
//
// Everything runs through the runtime's C API. Inspect mode evaluates the
// tokens from a fresh state, prints the top-K next tokens, optionally writes
// the last logits (little-endian float32) and, with --bench, times N greedy
// decode steps. Generate mode tokenizes the prompt, then streams N sampled
// tokens to stdout as UTF-8 (statistics go to stderr). Both can start from
// a saved state (--load-state) or a state-tuning file (--state-tuning) and
// save the final state (--save-state). --perplexity scores a text file;
// --json prints one machine-readable report instead of the text. The tool
// depends on the runtime only (CLI11 parses the command line), not on LLVM.
//
//===----------------------------------------------------------------------===//

#include "rwkv/runtime.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <numeric>
#include <string>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

/// The command line. Names and defaults are those of the LLVM-based tool
/// this replaced (its scripts keep working); the groups are what --help
/// shows.
struct Options {
  std::string modelDir, listTensors, weightsPath, tokenList = "0", logitsOut;
  bool allLogits = false;
  unsigned topK = 5, benchTokens = 0;
  uint64_t syntheticSeed = 0;
  // Generation.
  std::string prompt, vocabPath;
  unsigned numTokens = 100;
  float temperature = 1.0f, topP = 0.85f;
  int topKSample = 0;
  float presencePenalty = 0.2f, frequencyPenalty = 0.2f, penaltyDecay = 0.996f;
  std::vector<std::string> stopStrings;
  uint64_t seed = 0;
  // Evaluation.
  std::string perplexity;
  bool json = false;
  // State.
  std::string loadState, saveState, stateTuning;
  // Tuning.
  std::string mode = "auto";
  unsigned chunk = 0, threads = 0, batchSize = 1, prefillTokens = 0;
  // Debugging.
  bool checkFinite = false;
  bool profile = false;

  bool promptGiven = false; ///< --prompt on the command line (even empty)
  bool generating() const { return promptGiven; }
};
Options opt;

/// printf to a stream; the tool's only formatting helper.
void print(std::FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void print(std::FILE *f, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  std::vfprintf(f, fmt, args);
  va_end(args);
}

/// On a terminal, messages start by erasing a progress line that may be
/// drawn (a no-op on an empty line).
const char *lineStart() { return isatty(STDERR_FILENO) ? "\r\033[K" : ""; }

int die(const std::string &what) {
  print(stderr, "%srwkv-run: error: %s\n", lineStart(), what.c_str());
  return 1;
}

void warn(const std::string &what) {
  print(stderr, "%srwkv-run: warning: %s\n", lineStart(), what.c_str());
}

/// Warns when logits are not all finite (NaN/Inf from the weights or a
/// loaded state would otherwise print as ordinary numbers).
void warnIfNotFinite(const std::vector<float> &logits, const char *what) {
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
std::string writeFile(const std::string &path, const void *data, size_t n) {
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

bool parseTokens(const std::string &text, std::vector<int32_t> &out) {
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

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// Progress of long work on stderr, only when stderr is a terminal
/// (quiet in scripts and logs); one line rewritten in place.
class Progress {
public:
  Progress(const char *what, int64_t total)
      : what_(what), total_(total), shown_(isatty(STDERR_FILENO) != 0) {}
  void update(int64_t done) {
    if (!shown_ || secondsSince(last_) < 0.25)
      return;
    last_ = std::chrono::steady_clock::now();
    print(stderr, "\r%s: %lld / %lld tokens", what_,
          static_cast<long long>(done), static_cast<long long>(total_));
    std::fflush(stderr);
    drawn_ = true;
  }
  ~Progress() {
    if (drawn_)
      print(stderr, "\r\033[K");
  }

private:
  const char *what_;
  int64_t total_;
  bool shown_, drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

/// A one-line note on stderr while something long runs, only when stderr
/// is a terminal; cut to the terminal's width (a wrapped line could not be
/// erased) and erased by clear() or at the end of the scope.
class Note {
public:
  explicit Note(const std::string &text) {
    if (text.empty() || !isatty(STDERR_FILENO))
      return;
    std::string line = text;
    struct winsize ws {};
    size_t width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col
                       ? ws.ws_col
                       : 80;
    if (line.size() >= width)
      line.resize(width - 1);
    print(stderr, "%s", line.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }
  ~Note() { clear(); }
  void clear() {
    if (drawn_)
      print(stderr, "\r\033[K");
    drawn_ = false;
  }

private:
  bool drawn_ = false;
};

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

/// The tokenizer --vocab names (a World vocabulary file, or "bytes"), or an
/// error message naming `needer`.
std::string loadTokenizer(rwkv_model *model, const char *needer,
                          TokenizerPtr &tok) {
  if (opt.vocabPath.empty())
    return std::string(needer) +
           " needs --vocab (a World vocab file, or 'bytes')";
  bool world = opt.vocabPath != "bytes";
  if ((world ? rwkv_tokenizer_load_world(opt.vocabPath.c_str(), tok.out())
             : rwkv_tokenizer_create_bytes(0, tok.out())) != RWKV_OK)
    return rwkv_last_error();
  const int64_t vocab = rwkv_model_vocab_size(model);
  if (rwkv_tokenizer_vocab_size(tok) > vocab)
    return "the tokenizer has " +
           std::to_string(rwkv_tokenizer_vocab_size(tok)) +
           " ids, more than the model's vocabulary of " + std::to_string(vocab);
  return "";
}

/// Token ids of `text`, or an error message.
std::string encode(rwkv_tokenizer *tok, const std::string &text,
                   std::vector<int32_t> &ids) {
  size_t n = 0;
  rwkv_tokenizer_encode(tok, text.data(), text.size(), nullptr, 0, &n);
  ids.resize(n);
  if (n && rwkv_tokenizer_encode(tok, text.data(), text.size(), ids.data(), n,
                                 &n) != RWKV_OK)
    return rwkv_last_error();
  return "";
}

/// Generate mode: tokenize --prompt, evaluate it, then sample --n tokens,
/// streaming the text.
int generate(rwkv_model *model, rwkv_session *session,
             std::vector<float> &logits) {
  TokenizerPtr tok;
  if (std::string error = loadTokenizer(model, "--prompt", tok); !error.empty())
    return die(error);
  const bool world = opt.vocabPath != "bytes";
  const int64_t vocab = rwkv_model_vocab_size(model);
  std::vector<int32_t> ids;
  if (std::string error = encode(tok, opt.prompt, ids); !error.empty())
    return die(error);
  if (ids.empty())
    return die("--prompt is empty");

  rwkv_sampler_params params = rwkv_sampler_default_params();
  params.temperature = opt.temperature;
  params.top_p = opt.topP;
  params.top_k = opt.topKSample;
  params.presence_penalty = opt.presencePenalty;
  params.frequency_penalty = opt.frequencyPenalty;
  params.penalty_decay = opt.penaltyDecay;
  params.seed = opt.seed;
  SamplerPtr sampler;
  DecoderPtr decoder;
  if (rwkv_sampler_create(&params, vocab, sampler.out()) != RWKV_OK ||
      rwkv_decoder_create(tok, decoder.out()) != RWKV_OK)
    return die(rwkv_last_error());

  auto start = std::chrono::steady_clock::now();
  {
    // One call (splitting the prompt would move the parallel form's chunk
    // boundaries and change the rounding); on a terminal, a note while it
    // runs, erased when done.
    Note note(ids.size() >= 1024
                  ? "rwkv-run: evaluating the prompt (" +
                        std::to_string(ids.size()) + " tokens) ..."
                  : "");
    if (rwkv_session_eval_sequence(session, ids.data(),
                                   static_cast<int64_t>(ids.size()),
                                   logits.data()) != RWKV_OK) {
      note.clear();
      return die(rwkv_last_error());
    }
  }
  double prefill = secondsSince(start);
  warnIfNotFinite(logits, "logits after the prompt");

  StopFilter out(opt.stopStrings);
  const std::string unweighted = " \t0123456789";
  unsigned generated = 0;
  bool stopped = false;
  start = std::chrono::steady_clock::now();
  while (generated < opt.numTokens && !stopped) {
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
  print(stderr,
        "prompt   %zu tokens in %.3f s (%.1f tok/s); generated %u tokens in "
        "%.3f s (%.1f tok/s)%s\n",
        ids.size(), prefill, ids.size() / prefill, generated, decode,
        generated / decode, stopped ? "; stopped at a stop string" : "");
  return 0;
}

/// --perplexity FILE: the text's tokens through one sequence, in pieces of
/// up to 256 tokens with the logits of every position; the negative log
/// likelihood of each token given the ones before it (every token but the
/// first), as perplexity, nats per token and bits per byte of the scored
/// tokens' bytes (what rwkv.cpp's measure_perplexity and llama.cpp's
/// llama-perplexity report). The session's mode decides the form: the
/// parallel one needs an artifact built with rwkvc --all-logits (auto falls
/// back to the recurrent form).
int perplexity(rwkv_model *model, rwkv_session *session,
               nlohmann::json &report) {
  TokenizerPtr tok;
  if (std::string error = loadTokenizer(model, "--perplexity", tok);
      !error.empty())
    return die(error);
  std::ifstream in(opt.perplexity, std::ios::binary);
  if (!in)
    return die("--perplexity: cannot read '" + opt.perplexity +
               "': " + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (in.bad())
    return die("--perplexity: cannot read '" + opt.perplexity +
               "': " + std::strerror(errno));
  std::vector<int32_t> ids;
  if (std::string error = encode(tok, text, ids); !error.empty())
    return die(error);
  if (ids.size() < 2)
    return die("--perplexity: '" + opt.perplexity + "' has " +
               std::to_string(ids.size()) +
               " tokens; scoring needs at least 2 (each token is predicted "
               "from the ones before it)");
  const int64_t vocab = rwkv_model_vocab_size(model);
  const int64_t n = static_cast<int64_t>(ids.size()), piece = 256;
  std::vector<float> logits(static_cast<size_t>(piece * vocab));
  double nll = 0;
  int64_t bytes = 0;
  Progress progress("perplexity", n);
  auto start = std::chrono::steady_clock::now();
  for (int64_t at = 0; at + 1 < n; at += piece) {
    // Positions at … at + len − 1 predict the tokens after them.
    int64_t len = std::min(piece, n - 1 - at);
    if (rwkv_session_eval_sequence_all(session, ids.data() + at, len,
                                       logits.data()) != RWKV_OK)
      return die(rwkv_last_error());
    for (int64_t t = 0; t < len; ++t) {
      const float *row = logits.data() + t * vocab;
      double peak = *std::max_element(row, row + vocab), sum = 0;
      for (int64_t v = 0; v < vocab; ++v)
        sum += std::exp(static_cast<double>(row[v]) - peak);
      int32_t next = ids[static_cast<size_t>(at + t + 1)];
      double term = peak + std::log(sum) - static_cast<double>(row[next]);
      if (!std::isfinite(term))
        return die("--perplexity: the logits at position " +
                   std::to_string(at + t) +
                   " are not finite; rerun with --check-finite to find the "
                   "tensor, layer and position where they first appear");
      nll += term;
      const char *b = nullptr;
      size_t blen = 0;
      if (rwkv_tokenizer_token_bytes(tok, next, &b, &blen) != RWKV_OK)
        return die(rwkv_last_error());
      bytes += static_cast<int64_t>(blen);
    }
    progress.update(at + len);
  }
  double seconds = secondsSince(start);
  const int64_t scored = n - 1;
  double perTok = nll / static_cast<double>(scored);
  double bpb = nll / std::log(2.0) / static_cast<double>(bytes);
  report["perplexity"] = {{"file", opt.perplexity},
                          {"tokens", n},
                          {"scored_tokens", scored},
                          {"scored_bytes", bytes},
                          {"nll_nats", nll},
                          {"nats_per_token", perTok},
                          {"perplexity", std::exp(perTok)},
                          {"bits_per_byte", bpb},
                          {"seconds", seconds}};
  if (!opt.json)
    print(stdout,
          "perplexity  %s: %lld tokens, %lld scored (%lld bytes): perplexity "
          "%.6f, %.6f nats/token, %.6f bits/byte (%.1f tok/s)\n",
          opt.perplexity.c_str(), static_cast<long long>(n),
          static_cast<long long>(scored), static_cast<long long>(bytes),
          std::exp(perTok), perTok, bpb, n / seconds);
  return 0;
}

/// The command line, with the options grouped as --help shows them.
void defineOptions(CLI::App &app) {
  const char *input = "Input", *output = "Output", *generation = "Generation",
             *state = "State", *tuning = "Tuning", *bench = "Benchmark",
             *debug = "Debugging";
  app.add_option("--model", opt.modelDir, "Artifact directory written by rwkvc")
      ->type_name("DIR")
      ->group(input);
  app.add_option("--weights", opt.weightsPath,
                 "Checkpoint: .pth, safetensors, GGUF or rwkv.cpp .bin "
                 "(synthetic weights if omitted)")
      ->type_name("FILE")
      ->group(input);
  app.add_option("--synthetic-seed", opt.syntheticSeed,
                 "Seed of the synthetic weights")
      ->group(input);
  app.add_option("--tokens", opt.tokenList,
                 "Comma-separated prompt token ids (inspect mode)")
      ->type_name("IDS")
      ->capture_default_str()
      ->group(input);
  app.add_option("--vocab", opt.vocabPath,
                 "World vocab file (rwkv_vocab_v20230424.txt), or 'bytes' for "
                 "byte-level models (id = byte)")
      ->type_name("FILE")
      ->group(input);
  app.add_option("--list-tensors", opt.listTensors,
                 "Print the tensors of a weights file (.pth, safetensors, "
                 "GGUF, rwkv.cpp .bin): name, dtype, shape; then exit")
      ->type_name("FILE")
      ->group(input);

  app.add_option("--logits-out", opt.logitsOut,
                 "Write the last token's logits (little-endian float32)")
      ->type_name("FILE")
      ->group(output);
  app.add_flag("--all-logits", opt.allLogits,
               "With --logits-out: the logits after every prompt token, "
               "[batch][tokens][vocab] (the parallel form needs an artifact "
               "built with rwkvc --all-logits)")
      ->group(output);
  app.add_option("--top", opt.topK, "How many top next tokens to print")
      ->capture_default_str()
      ->group(output);
  app.add_option("--perplexity", opt.perplexity,
                 "Score a text file (needs --vocab): perplexity, nats per "
                 "token and bits per byte")
      ->type_name("FILE")
      ->group(output);
  app.add_flag("--json", opt.json,
               "Print one JSON object on stdout instead of the text report "
               "(model, prompt, top tokens, benchmark, perplexity)")
      ->group(output);

  app.add_option("--prompt", opt.prompt,
                 "Generate: the prompt text (needs --vocab); the output "
                 "streams to stdout")
      ->type_name("TEXT")
      ->group(generation);
  app.add_option("-n", opt.numTokens, "Tokens to generate")
      ->capture_default_str()
      ->group(generation);
  app.add_option("--temperature", opt.temperature,
                 "Sampling temperature (0: greedy)")
      ->capture_default_str()
      ->group(generation);
  app.add_option("--top-p", opt.topP, "Nucleus sampling threshold")
      ->capture_default_str()
      ->group(generation);
  app.add_option("--top-k", opt.topKSample,
                 "Sample among the K most likely (0: all)")
      ->capture_default_str()
      ->group(generation);
  app.add_option("--presence-penalty", opt.presencePenalty,
                 "Subtracted from the logit of every generated token")
      ->capture_default_str()
      ->group(generation);
  app.add_option("--frequency-penalty", opt.frequencyPenalty,
                 "Subtracted per (decayed) occurrence of a generated token")
      ->capture_default_str()
      ->group(generation);
  app.add_option("--penalty-decay", opt.penaltyDecay,
                 "Per-token decay of the occurrence counts")
      ->capture_default_str()
      ->group(generation);
  app.add_option("--stop", opt.stopStrings,
                 "Stop when the output contains this string (not printed; "
                 "repeatable)")
      ->type_name("STR")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->allow_extra_args(false)
      ->group(generation);
  app.add_option("--seed", opt.seed, "Sampling seed")
      ->capture_default_str()
      ->group(generation);

  app.add_option("--load-state", opt.loadState,
                 "Start from a saved session state")
      ->type_name("FILE")
      ->group(state);
  app.add_option("--save-state", opt.saveState, "Save the final session state")
      ->type_name("FILE")
      ->group(state);
  app.add_option("--state-tuning", opt.stateTuning,
                 "Start from a state-tuning checkpoint "
                 "(blocks.N.att.time_state)")
      ->type_name("FILE")
      ->group(state);

  app.add_option("--mode", opt.mode,
                 "Prompt evaluation: auto (parallel form for prompts), "
                 "recurrent or parallel")
      ->capture_default_str()
      ->group(tuning);
  app.add_option("--chunk", opt.chunk,
                 "Tokens per parallel call (0: the runtime's default, as many "
                 "as keep one activation within 32 MiB)")
      ->capture_default_str()
      ->group(tuning);
  app.add_option("--num-threads", opt.threads,
                 "Threads for the model's parallel loops (0: all CPUs)")
      ->capture_default_str()
      ->group(tuning);
  app.add_option("--batch", opt.batchSize,
                 "Sequences evaluated side by side (inspect and benchmark "
                 "modes): sequence b gets --tokens rotated left by b, "
                 "--logits-out gets every sequence's row")
      ->capture_default_str()
      ->group(tuning);

  app.add_option("--bench", opt.benchTokens,
                 "After the prompt, time this many greedy decode steps")
      ->capture_default_str()
      ->group(bench);
  app.add_option("--prefill", opt.prefillTokens,
                 "Time a synthetic prompt of this many tokens first")
      ->capture_default_str()
      ->group(bench);

  app.add_flag("--check-finite", opt.checkFinite,
               "Check every output of every layer for NaN/Inf and stop at the "
               "first, naming the tensor, layer and token position (slow)")
      ->group(debug);
  app.add_flag("--profile", opt.profile,
               "Time every entry point (embed, each layer's time and channel "
               "mix, head) and print calls, time, share, GB/s and GFLOP/s to "
               "stderr at the end (after --prefill: the prompt and the "
               "benchmark)")
      ->group(debug);
}

int runMain();

/// CLI11's layout with one blank line between option groups (not two), so
/// the whole help fits on one screen.
class CompactFormatter : public CLI::Formatter {
public:
  std::string make_group(std::string group, bool isPositional,
                         std::vector<const CLI::Option *> opts) const override {
    std::string out = group + ":\n";
    for (const CLI::Option *o : opts)
      out += make_option(o, isPositional);
    return out;
  }
  std::string make_usage(const CLI::App *app, std::string name) const override {
    return CLI::Formatter::make_usage(app, std::move(name)) + "\n";
  }
};

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"rwkv-run: run, benchmark or score a compiled RWKV model "
               "(through the runtime's C API)\n\n"
               "  inspect:    rwkv-run --model DIR [--weights FILE] "
               "[--tokens 34,105,110]\n"
               "  generate:   rwkv-run --model DIR --weights FILE --vocab "
               "FILE|bytes --prompt TEXT -n N\n"
               "  benchmark:  rwkv-run --model DIR --prefill 512 --bench 128\n"
               "  perplexity: rwkv-run --model DIR --weights FILE --vocab "
               "FILE|bytes --perplexity TEXT_FILE",
               "rwkv-run"};
  // As with most command-line tools, a repeated option's last value wins
  // (scripts append overrides to a base command line).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.formatter(std::make_shared<CompactFormatter>());
  defineOptions(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    if (e.get_exit_code() == 0)
      return app.exit(e);
    return die(std::string(e.what()) + " (see rwkv-run --help)");
  }
  opt.promptGiven = app.count("--prompt") > 0;
  int rc = runMain();
  // Output that could not be written is an error, not exit 0 (e.g. stdout
  // on a full disk).
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    return die(std::string("cannot write to standard output: ") +
               std::strerror(errno ? errno : EIO));
  return rc;
}

namespace {

int runMain() {
  if (opt.threads > rwkv_thread_limit()) {
    warn("--num-threads=" + std::to_string(opt.threads) + " is more than the " +
         std::to_string(rwkv_thread_limit()) +
         " threads a session accepts on this machine; using " +
         std::to_string(rwkv_thread_limit()));
    opt.threads = static_cast<unsigned>(rwkv_thread_limit());
  }
  if (!opt.listTensors.empty()) {
    auto show = [](const char *name, const char *dtype, int64_t rank,
                   const int64_t *shape, void *) {
      std::string dims;
      for (int64_t d = 0; d < rank; ++d)
        dims += (d ? ", " : "") + std::to_string(shape[d]);
      print(stdout, "%-40s %-5s [%s]\n", name, dtype, dims.c_str());
    };
    if (rwkv_weights_list_tensors(opt.listTensors.c_str(), show, nullptr) !=
        RWKV_OK)
      return die(rwkv_last_error());
    return 0;
  }
  if (opt.modelDir.empty())
    return die("--model DIR is required (the artifact directory written by "
               "rwkvc), unless --list-tensors is given");
  std::vector<int32_t> tokens;
  if (!parseTokens(opt.tokenList, tokens))
    return die("--tokens must be a comma-separated list of non-negative "
               "integers, got '" +
               opt.tokenList + "'");
  if (opt.generating() && !opt.perplexity.empty())
    return die("--prompt (generate) and --perplexity (score) are separate "
               "runs; give one of them");
  if (opt.json && opt.generating())
    return die("--json reports inspect, benchmark and perplexity runs; "
               "generation (--prompt) streams text");

  if (opt.batchSize == 0)
    return die("--batch must be at least 1");
  if (opt.batchSize > 1 && opt.generating())
    return die("--batch applies to inspect and benchmark modes; generation "
               "(--prompt) runs one sequence");
  if (opt.batchSize > 1 && !opt.perplexity.empty())
    return die("--batch applies to inspect and benchmark modes; "
               "--perplexity scores one sequence");

  ModelPtr model;
  // Loading converts what cannot be used in place (f16, quantized blocks):
  // say what is happening on a terminal, erased when done.
  Note loadNote(opt.weightsPath.empty()
                    ? ""
                    : "rwkv-run: loading " + opt.weightsPath + " ...");
  rwkv_status st =
      opt.weightsPath.empty()
          ? rwkv_model_load_synthetic(opt.modelDir.c_str(), opt.syntheticSeed,
                                      model.out())
          : rwkv_model_load(opt.modelDir.c_str(), opt.weightsPath.c_str(),
                            model.out());
  loadNote.clear();
  if (st != RWKV_OK)
    return die(rwkv_last_error());
  const int64_t vocab = rwkv_model_vocab_size(model);
  nlohmann::json report;
  report["model"] = {{"name", rwkv_model_name(model)},
                     {"n_layer", rwkv_model_n_layer(model)},
                     {"d_model", rwkv_model_d_model(model)},
                     {"vocab_size", vocab},
                     {"device", rwkv_model_device(model)},
                     {"weights", opt.weightsPath.empty()
                                     ? nlohmann::json(nullptr)
                                     : nlohmann::json(opt.weightsPath)},
                     {"weight_bytes", rwkv_model_weight_bytes(model)}};
  // In generate mode stdout carries only the generated text; with --json
  // only the report.
  std::FILE *info = opt.json ? nullptr : opt.generating() ? stderr : stdout;
  if (info) {
    print(info, "model    %s (%lld layers, d_model %lld, vocab %lld)\n",
          rwkv_model_name(model),
          static_cast<long long>(rwkv_model_n_layer(model)),
          static_cast<long long>(rwkv_model_d_model(model)),
          static_cast<long long>(vocab));
    if (opt.weightsPath.empty())
      print(info, "weights  synthetic (seed %llu)\n",
            static_cast<unsigned long long>(opt.syntheticSeed));
    else
      print(info,
            "weights  %s (%.1f MB, %.1f MB used in place from the mapped "
            "file)\n",
            opt.weightsPath.c_str(), rwkv_model_weight_bytes(model) / 1e6,
            rwkv_model_mapped_weight_bytes(model) / 1e6);
  }

  const size_t B = opt.batchSize;
  SessionPtr session;
  if (rwkv_session_create(model, static_cast<int64_t>(B), session.out()) !=
      RWKV_OK)
    return die(rwkv_last_error());
  if (!opt.stateTuning.empty() &&
      rwkv_session_load_state_tuning(session, opt.stateTuning.c_str()) !=
          RWKV_OK)
    return die(rwkv_last_error());
  if (!opt.loadState.empty() &&
      rwkv_session_load_state(session, opt.loadState.c_str()) != RWKV_OK)
    return die(rwkv_last_error());
  rwkv_mode m = opt.mode == "recurrent"  ? RWKV_MODE_RECURRENT
                : opt.mode == "parallel" ? RWKV_MODE_PARALLEL
                : opt.mode == "auto"     ? RWKV_MODE_AUTO
                                         : static_cast<rwkv_mode>(-1);
  if (static_cast<int>(m) < 0)
    return die("--mode must be auto, recurrent or parallel, got '" + opt.mode +
               "'");
  if (rwkv_session_set_mode(session, m) != RWKV_OK ||
      (opt.chunk > 0 &&
       rwkv_session_set_chunk_size(session, opt.chunk) != RWKV_OK) ||
      rwkv_session_set_threads(session, opt.threads) != RWKV_OK ||
      rwkv_session_set_check_finite(session, opt.checkFinite) != RWKV_OK ||
      (opt.profile && rwkv_session_set_profile(session, 1) != RWKV_OK))
    return die(rwkv_last_error());
  std::vector<float> logits(B * static_cast<size_t>(vocab));
  const char *threadsText =
      opt.threads ? nullptr : "all"; // printed as a number otherwise
  std::string threadsStr =
      threadsText ? threadsText : std::to_string(opt.threads);

  auto finish = [&]() {
    if (opt.profile) {
      size_t needed = 0;
      rwkv_session_profile(session, nullptr, 0, &needed);
      std::string table(needed + 1, '\0');
      if (rwkv_session_profile(session, table.data(), table.size(), &needed) !=
          RWKV_OK)
        return die(rwkv_last_error());
      table.resize(needed);
      print(stderr,
            "profile (wall time per entry point; GB/s: bytes of its "
            "arguments, GFLOP/s: its matrix parameters)\n%s",
            table.c_str());
    }
    if (!opt.saveState.empty() &&
        rwkv_session_save_state(session, opt.saveState.c_str()) != RWKV_OK)
      return die(rwkv_last_error());
    if (opt.json)
      print(stdout, "%s\n", report.dump(2).c_str());
    return 0;
  };

  if (opt.prefillTokens > 0) {
    // Deterministic pseudo-random prompt, then back to a fresh state.
    std::vector<int32_t> synthetic(B * opt.prefillTokens);
    for (size_t i = 0; i < synthetic.size(); ++i)
      synthetic[i] = static_cast<int32_t>((i * 2654435761u) %
                                          static_cast<uint64_t>(vocab));
    auto start = std::chrono::steady_clock::now();
    if (rwkv_session_eval_sequence(session, synthetic.data(), opt.prefillTokens,
                                   logits.data()) != RWKV_OK)
      return die(rwkv_last_error());
    double seconds = secondsSince(start);
    report["prefill"] = {{"tokens", opt.prefillTokens},
                         {"batch", B},
                         {"seconds", seconds},
                         {"tokens_per_second", B * opt.prefillTokens / seconds},
                         {"mode", opt.mode},
                         {"threads", opt.threads}};
    if (!opt.json)
      print(stdout,
            "prefill  %u tokens in %.3f s: %.1f tok/s (batch %zu, %s, %s "
            "threads)\n",
            opt.prefillTokens, seconds, B * opt.prefillTokens / seconds, B,
            opt.mode.c_str(), threadsStr.c_str());
    if (rwkv_session_reset(session) != RWKV_OK)
      return die(rwkv_last_error());
  }

  if (opt.generating()) {
    int rc = generate(model, session, logits);
    return rc ? rc : finish();
  }
  if (!opt.perplexity.empty()) {
    int rc = perplexity(model, session, report);
    return rc ? rc : finish();
  }

  std::vector<int32_t> batchTokens;
  for (size_t b = 0; b < B; ++b)
    for (size_t i = 0; i < tokens.size(); ++i)
      batchTokens.push_back(tokens[(i + b) % tokens.size()]);
  // Every position's logits, or the last one's.
  std::vector<float> everyPosition;
  if (opt.allLogits) {
    if (opt.logitsOut.empty())
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
  warnIfNotFinite(opt.allLogits ? everyPosition : logits, "logits");

  std::vector<int32_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  unsigned k = std::min<unsigned>(opt.topK, static_cast<unsigned>(vocab));
  std::partial_sort(
      order.begin(), order.begin() + k, order.end(),
      [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  report["prompt"] = tokens;
  report["top"] = nlohmann::json::array();
  for (unsigned i = 0; i < k; ++i)
    report["top"].push_back({{"token", order[i]}, {"logit", logits[order[i]]}});
  if (!opt.json) {
    print(stdout, "prompt   %zu tokens:", tokens.size());
    for (int32_t t : tokens)
      print(stdout, " %d", t);
    print(stdout, "\ntop-%u next tokens:\n", k);
    for (unsigned i = 0; i < k; ++i) {
      int32_t id = order[i];
      print(stdout, "  %2u. token %6d  logit %10.5f", i + 1, id, logits[id]);
      if (vocab <= 256 && id >= 32 && id < 127)
        print(stdout, "  '%c'", static_cast<char>(id));
      print(stdout, "\n");
    }
  }

  if (!opt.logitsOut.empty()) {
    const std::vector<float> &out = opt.allLogits ? everyPosition : logits;
    std::string error =
        writeFile(opt.logitsOut, out.data(), out.size() * sizeof(float));
    if (!error.empty())
      return die("--logits-out: " + error);
  }

  if (opt.benchTokens > 0) {
    std::vector<int32_t> next(B, order[0]);
    auto start = std::chrono::steady_clock::now();
    for (unsigned i = 0; i < opt.benchTokens; ++i) {
      if (rwkv_session_eval(session, next.data(), logits.data()) != RWKV_OK)
        return die(rwkv_last_error());
      for (size_t b = 0; b < B; ++b) {
        auto row = logits.begin() + static_cast<std::ptrdiff_t>(b * vocab);
        next[b] =
            static_cast<int32_t>(std::max_element(row, row + vocab) - row);
      }
    }
    double seconds = secondsSince(start);
    // The weights' total size, embedding table included (a step reads one
    // row of it): an upper bound on the bytes a step streams.
    double mb = rwkv_model_weight_bytes(model) / 1e6;
    report["decode"] = {{"steps", opt.benchTokens},
                        {"batch", B},
                        {"seconds", seconds},
                        {"tokens_per_second", B * opt.benchTokens / seconds},
                        {"threads", opt.threads}};
    if (!opt.json)
      print(stdout,
            "decode   %u steps in %.3f s: %.1f tok/s (batch %zu, %s threads, "
            "weights %.1f MB incl. the embedding table)\n",
            opt.benchTokens, seconds, B * opt.benchTokens / seconds, B,
            threadsStr.c_str(), mb);
    // Peak resident memory of the whole run (weights, state, activations,
    // the runtime and the code), against the weights' bytes.
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    double rss = static_cast<double>(usage.ru_maxrss) * 1024;
    report["memory"] = {{"peak_rss_bytes", rss},
                        {"weight_bytes", rwkv_model_weight_bytes(model)},
                        {"state_bytes", rwkv_session_state_size(session) * 4}};
    if (!opt.json)
      print(stdout, "memory   peak RSS %.1f MB = %.2fx the weights\n",
            rss / 1e6, rss / 1e6 / mb);
  }
  return finish();
}

} // namespace
