//===- CApi.cpp - the C API over Model and Session ------------------------===//

#include "rwkv/runtime.h"

#include "Model.h"
#include "Sampler.h"
#include "Tokenizer.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

struct rwkv_model {
  std::unique_ptr<rwkvrt::Model> impl;
};
struct rwkv_session {
  std::unique_ptr<rwkvrt::Session> impl;
};
struct rwkv_tokenizer {
  std::unique_ptr<rwkvrt::Tokenizer> impl;
};
struct rwkv_decoder {
  const rwkvrt::Tokenizer *tokenizer;
  rwkvrt::Utf8Stream stream;
  std::string text;
};
struct rwkv_sampler {
  std::unique_ptr<rwkvrt::Sampler> impl;
};

namespace {

thread_local std::string lastError;

/// Runs `body`, mapping exceptions to a status and the thread's message.
template <typename Fn> rwkv_status guarded(Fn &&body) {
  try {
    body();
    return RWKV_OK;
  } catch (const rwkvrt::Error &e) {
    lastError = e.what();
    return e.status();
  } catch (const std::bad_alloc &) {
    lastError = "out of memory";
    return RWKV_ERROR_INTERNAL;
  } catch (const std::length_error &e) {
    // A size no check caught (a bug: sizes from files are checked).
    lastError = std::string("internal error: a size too large to allocate (") +
                e.what() + ")";
    return RWKV_ERROR_INTERNAL;
  } catch (const std::exception &e) {
    lastError = std::string("internal error: ") + e.what();
    return RWKV_ERROR_INTERNAL;
  }
}

rwkv_status nullArgument(const char *what) {
  lastError = std::string(what) + " must not be NULL";
  return RWKV_ERROR_ARGUMENT;
}

} // namespace

extern "C" {

const char *rwkv_last_error(void) { return lastError.c_str(); }

rwkv_status rwkv_model_load(const char *artifact_dir, const char *weights_path,
                            rwkv_model **out) {
  if (!artifact_dir || !weights_path || !out)
    return nullArgument("artifact_dir, weights_path and out");
  return guarded([&] {
    std::shared_ptr<const rwkvrt::Checkpoint> ck =
        rwkvrt::Checkpoint::open(weights_path);
    auto model = std::make_unique<rwkv_model>();
    model->impl = std::make_unique<rwkvrt::Model>(artifact_dir, ck, 0);
    *out = model.release();
  });
}

rwkv_status rwkv_weights_list_tensors(const char *weights_path,
                                      rwkv_tensor_fn fn, void *user) {
  if (!weights_path || !fn)
    return nullArgument("weights_path and fn");
  return guarded([&] {
    std::unique_ptr<rwkvrt::Checkpoint> ck =
        rwkvrt::Checkpoint::open(weights_path);
    for (const auto &[name, t] : ck->tensors())
      fn(name.c_str(), t.typeName.c_str(), static_cast<int64_t>(t.shape.size()),
         t.shape.data(), user);
  });
}

rwkv_status rwkv_model_load_synthetic(const char *artifact_dir, uint64_t seed,
                                      rwkv_model **out) {
  if (!artifact_dir || !out)
    return nullArgument("artifact_dir and out");
  return guarded([&] {
    auto model = std::make_unique<rwkv_model>();
    model->impl = std::make_unique<rwkvrt::Model>(artifact_dir, nullptr, seed);
    *out = model.release();
  });
}

void rwkv_model_free(rwkv_model *model) { delete model; }

int64_t rwkv_model_vocab_size(const rwkv_model *model) {
  return model ? model->impl->manifest().vocabSize : 0;
}
int64_t rwkv_model_n_layer(const rwkv_model *model) {
  return model ? model->impl->manifest().nLayer : 0;
}
int64_t rwkv_model_d_model(const rwkv_model *model) {
  return model ? model->impl->manifest().dModel : 0;
}
int64_t rwkv_model_weight_bytes(const rwkv_model *model) {
  return model ? model->impl->weightBytes() : 0;
}

int64_t rwkv_model_mapped_weight_bytes(const rwkv_model *model) {
  return model ? model->impl->mappedWeightBytes() : 0;
}
const char *rwkv_model_name(const rwkv_model *model) {
  return model ? model->impl->manifest().specName.c_str() : "";
}

const char *rwkv_model_device(const rwkv_model *model) {
  return model ? model->impl->device().c_str() : "";
}

rwkv_status rwkv_session_create(rwkv_model *model, int64_t batch,
                                rwkv_session **out) {
  if (!model || !out)
    return nullArgument("model and out");
  return guarded([&] {
    auto session = std::make_unique<rwkv_session>();
    session->impl = std::make_unique<rwkvrt::Session>(*model->impl, batch);
    *out = session.release();
  });
}

void rwkv_session_free(rwkv_session *session) { delete session; }

rwkv_status rwkv_session_reset(rwkv_session *session) {
  if (!session)
    return nullArgument("session");
  return guarded([&] { session->impl->reset(); });
}

rwkv_status rwkv_session_eval(rwkv_session *session, const int32_t *tokens,
                              float *logits) {
  if (!session || !tokens)
    return nullArgument("session and tokens");
  return guarded([&] { session->impl->eval(tokens, 1, logits); });
}

rwkv_status rwkv_session_eval_sequence(rwkv_session *session,
                                       const int32_t *tokens, int64_t n_tokens,
                                       float *logits) {
  if (!session || !tokens)
    return nullArgument("session and tokens");
  return guarded([&] { session->impl->eval(tokens, n_tokens, logits); });
}

rwkv_status rwkv_session_eval_sequence_all(rwkv_session *session,
                                           const int32_t *tokens,
                                           int64_t n_tokens, float *logits) {
  if (!session || !tokens || !logits)
    return nullArgument("session, tokens and logits");
  return guarded([&] { session->impl->evalAll(tokens, n_tokens, logits); });
}

rwkv_status rwkv_session_eval_ragged(rwkv_session *session,
                                     const int32_t *tokens,
                                     const int64_t *lengths, float *logits) {
  if (!session || !tokens || !lengths)
    return nullArgument("session, tokens and lengths");
  return guarded([&] { session->impl->evalRagged(tokens, lengths, logits); });
}

rwkv_status rwkv_session_save_state(const rwkv_session *session,
                                    const char *path) {
  if (!session || !path)
    return nullArgument("session and path");
  return guarded([&] { session->impl->saveState(path); });
}

rwkv_status rwkv_session_load_state(rwkv_session *session, const char *path) {
  if (!session || !path)
    return nullArgument("session and path");
  return guarded([&] { session->impl->loadState(path); });
}

rwkv_status rwkv_session_load_state_tuning(rwkv_session *session,
                                           const char *path) {
  if (!session || !path)
    return nullArgument("session and path");
  return guarded([&] {
    auto ck = rwkvrt::Checkpoint::open(path);
    session->impl->loadStateTuning(*ck);
  });
}

rwkv_status rwkv_session_set_mode(rwkv_session *session, rwkv_mode mode) {
  if (!session)
    return nullArgument("session");
  if (mode != RWKV_MODE_AUTO && mode != RWKV_MODE_RECURRENT &&
      mode != RWKV_MODE_PARALLEL) {
    lastError = "unknown mode " + std::to_string(static_cast<int>(mode));
    return RWKV_ERROR_ARGUMENT;
  }
  return guarded([&] {
    session->impl->setMode(mode == RWKV_MODE_AUTO ? rwkvrt::Session::Mode::Auto
                           : mode == RWKV_MODE_RECURRENT
                               ? rwkvrt::Session::Mode::Recurrent
                               : rwkvrt::Session::Mode::Parallel);
  });
}

rwkv_status rwkv_session_set_threads(rwkv_session *session, int64_t threads) {
  if (!session)
    return nullArgument("session");
  return guarded([&] { session->impl->setThreads(threads); });
}

rwkv_status rwkv_session_set_check_finite(rwkv_session *session, int enable) {
  if (!session)
    return nullArgument("session");
  return guarded([&] { session->impl->setCheckFinite(enable != 0); });
}

rwkv_status rwkv_session_set_profile(rwkv_session *session, int enable) {
  if (!session)
    return nullArgument("session");
  return guarded([&] { session->impl->setProfile(enable != 0); });
}

rwkv_status rwkv_session_profile(const rwkv_session *session, char *buffer,
                                 size_t size, size_t *needed) {
  if (!session)
    return nullArgument("session");
  if (!needed)
    return nullArgument("needed");
  if (size && !buffer)
    return nullArgument("buffer");
  return guarded([&] {
    std::string text = session->impl->profileReport();
    *needed = text.size();
    if (size) {
      size_t n = std::min(size - 1, text.size());
      std::memcpy(buffer, text.data(), n);
      buffer[n] = '\0';
    }
  });
}

int64_t rwkv_thread_limit(void) { return rwkvrt::threadLimit(); }

rwkv_status rwkv_session_set_chunk_size(rwkv_session *session, int64_t tokens) {
  if (!session)
    return nullArgument("session");
  return guarded([&] { session->impl->setChunkSize(tokens); });
}

int rwkv_model_has_parallel(const rwkv_model *model) {
  return model && model->impl->hasParallel() ? 1 : 0;
}

int64_t rwkv_session_state_size(const rwkv_session *session) {
  return session ? session->impl->stateSize() : 0;
}

rwkv_status rwkv_session_get_state(const rwkv_session *session, float *state) {
  if (!session || !state)
    return nullArgument("session and state");
  return guarded([&] { session->impl->getState(state); });
}

rwkv_status rwkv_session_set_state(rwkv_session *session, const float *state) {
  if (!session || !state)
    return nullArgument("session and state");
  return guarded([&] { session->impl->setState(state); });
}

//===----------------------------------------------------------------------===//
// Tokenizers
//===----------------------------------------------------------------------===//

rwkv_status rwkv_tokenizer_load_world(const char *vocab_path,
                                      rwkv_tokenizer **out) {
  if (!vocab_path || !out)
    return nullArgument("vocab_path and out");
  return guarded([&] {
    auto tok = std::make_unique<rwkv_tokenizer>();
    tok->impl = rwkvrt::Tokenizer::loadWorld(vocab_path);
    *out = tok.release();
  });
}

rwkv_status rwkv_tokenizer_create_bytes(int32_t offset, rwkv_tokenizer **out) {
  if (!out)
    return nullArgument("out");
  return guarded([&] {
    auto tok = std::make_unique<rwkv_tokenizer>();
    tok->impl = rwkvrt::Tokenizer::bytes(offset);
    *out = tok.release();
  });
}

void rwkv_tokenizer_free(rwkv_tokenizer *tokenizer) { delete tokenizer; }

int64_t rwkv_tokenizer_vocab_size(const rwkv_tokenizer *tokenizer) {
  return tokenizer ? tokenizer->impl->vocabSize() : 0;
}

rwkv_status rwkv_tokenizer_encode(const rwkv_tokenizer *tokenizer,
                                  const char *text, size_t n_bytes,
                                  int32_t *ids, size_t capacity,
                                  size_t *n_ids) {
  if (!tokenizer || (!text && n_bytes) || (!ids && capacity) || !n_ids)
    return nullArgument("tokenizer, text, ids and n_ids");
  rwkv_status status = guarded([&] {
    std::vector<int32_t> out =
        tokenizer->impl->encode(std::string_view(text, n_bytes));
    *n_ids = out.size();
    std::copy(out.begin(), out.begin() + std::min(capacity, out.size()), ids);
  });
  if (status == RWKV_OK && *n_ids > capacity) {
    lastError = "the text encodes to " + std::to_string(*n_ids) +
                " tokens, more than the capacity of " +
                std::to_string(capacity);
    return RWKV_ERROR_ARGUMENT;
  }
  return status;
}

rwkv_status rwkv_tokenizer_token_bytes(const rwkv_tokenizer *tokenizer,
                                       int32_t id, const char **bytes,
                                       size_t *n_bytes) {
  if (!tokenizer || !bytes || !n_bytes)
    return nullArgument("tokenizer, bytes and n_bytes");
  return guarded([&] {
    std::string_view b = tokenizer->impl->tokenBytes(id);
    *bytes = b.data();
    *n_bytes = b.size();
  });
}

rwkv_status rwkv_decoder_create(const rwkv_tokenizer *tokenizer,
                                rwkv_decoder **out) {
  if (!tokenizer || !out)
    return nullArgument("tokenizer and out");
  return guarded([&] {
    *out = new rwkv_decoder{tokenizer->impl.get(), {}, {}};
  });
}

void rwkv_decoder_free(rwkv_decoder *decoder) { delete decoder; }

rwkv_status rwkv_decoder_push(rwkv_decoder *decoder, int32_t token,
                              const char **text, size_t *n_bytes) {
  if (!decoder || !text || !n_bytes)
    return nullArgument("decoder, text and n_bytes");
  return guarded([&] {
    decoder->text = decoder->stream.push(decoder->tokenizer->tokenBytes(token));
    *text = decoder->text.c_str();
    *n_bytes = decoder->text.size();
  });
}

rwkv_status rwkv_decoder_finish(rwkv_decoder *decoder, const char **text,
                                size_t *n_bytes) {
  if (!decoder || !text || !n_bytes)
    return nullArgument("decoder, text and n_bytes");
  return guarded([&] {
    decoder->text = decoder->stream.finish();
    *text = decoder->text.c_str();
    *n_bytes = decoder->text.size();
  });
}

//===----------------------------------------------------------------------===//
// Sampling
//===----------------------------------------------------------------------===//

rwkv_sampler_params rwkv_sampler_default_params(void) {
  rwkvrt::SamplerParams d;
  return rwkv_sampler_params{
      d.temperature,      d.topP,         d.topK, d.presencePenalty,
      d.frequencyPenalty, d.penaltyDecay, d.seed};
}

rwkv_status rwkv_sampler_create(const rwkv_sampler_params *params,
                                int64_t vocab_size, rwkv_sampler **out) {
  if (!params || !out)
    return nullArgument("params and out");
  return guarded([&] {
    rwkvrt::SamplerParams p;
    p.temperature = params->temperature;
    p.topP = params->top_p;
    p.topK = params->top_k;
    p.presencePenalty = params->presence_penalty;
    p.frequencyPenalty = params->frequency_penalty;
    p.penaltyDecay = params->penalty_decay;
    p.seed = params->seed;
    auto s = std::make_unique<rwkv_sampler>();
    s->impl = std::make_unique<rwkvrt::Sampler>(p, vocab_size);
    *out = s.release();
  });
}

void rwkv_sampler_free(rwkv_sampler *sampler) { delete sampler; }

rwkv_status rwkv_sampler_sample(rwkv_sampler *sampler, const float *logits,
                                int32_t *token) {
  if (!sampler || !logits || !token)
    return nullArgument("sampler, logits and token");
  return guarded([&] { *token = sampler->impl->sample(logits); });
}

rwkv_status rwkv_sampler_accept(rwkv_sampler *sampler, int32_t token,
                                float weight) {
  if (!sampler)
    return nullArgument("sampler");
  return guarded([&] { sampler->impl->accept(token, weight); });
}

} // extern "C"
