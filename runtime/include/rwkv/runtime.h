/*===- rwkv/runtime.h - the rwkv-mlir runtime C API ----------------------===*
 *
 * Loads an artifact produced by `rwkvc` (a directory with model.so and
 * manifest.json), binds weights from a checkpoint, keeps per-sequence state
 * and evaluates tokens. The runtime contains no RWKV math: every operation
 * that runs is generated code from the artifact; this library allocates,
 * loads and calls.
 *
 * Threading: a model is immutable after loading and may be shared by
 * sessions on different threads; a session must be used by one thread at a
 * time.
 *
 * CPU features: an artifact records the ISA extensions its code uses; loading
 * fails with RWKV_ERROR_CPU if the host lacks one. The environment variable
 * RWKV_HIDE_CPU_FEATURES (comma-separated names, e.g. "avx512f") makes the
 * runtime treat those extensions as absent.
 *
 * NVIDIA GPUs: artifacts compiled with `rwkvc --target=sm_80[,sm_90...]` run
 * on a GPU through the CUDA driver, which the runtime loads at run time
 * (libcuda.so.1, or the library named by RWKV_CUDA_DRIVER); the runtime
 * itself needs no CUDA to build or run. Loading such an artifact fails with
 * RWKV_ERROR_DEVICE when there is no driver, no GPU, or the GPU is not one
 * the artifact has code for. RWKV_CUDA_DEVICE picks the GPU (default 0).
 * Weights are copied to the GPU once at load; every session keeps its state
 * and activations in GPU memory and runs on its own CUDA stream. Kernel
 * failures are reported by the call that observes them (RWKV_ERROR_DEVICE);
 * the session should then be discarded.
 *
 * Artifacts: model.so records the shapes and bindings its code was compiled
 * for (rwkv_shape_table); loading fails with RWKV_ERROR_FORMAT when
 * manifest.json disagrees with it (e.g. a manifest edited by hand), naming
 * the first record that differs.
 *
 * Errors: functions return an rwkv_status; the message of the last failing
 * call on the calling thread is available from rwkv_last_error(). Messages
 * name the file, the tensor or manifest entry and what was expected.
 *
 *===----------------------------------------------------------------------===*/

#ifndef RWKV_RUNTIME_H
#define RWKV_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define RWKV_API __attribute__((visibility("default")))
#else
#define RWKV_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the artifact ABI this runtime writes and accepts (manifest
 * abi_version); version-2 (CPU) artifacts are accepted too. */
#define RWKV_RUNTIME_ABI_VERSION 3

typedef enum rwkv_status {
  RWKV_OK = 0,
  RWKV_ERROR_IO = 1,       /* a file could not be opened, read or mapped */
  RWKV_ERROR_FORMAT = 2,   /* malformed or truncated manifest/checkpoint */
  RWKV_ERROR_MISMATCH = 3, /* checkpoint and compiled model disagree */
  RWKV_ERROR_CPU = 4,      /* the host CPU lacks a feature the code needs */
  RWKV_ERROR_ARGUMENT = 5, /* invalid argument (null pointer, bad token) */
  RWKV_ERROR_INTERNAL = 6,
  RWKV_ERROR_DEVICE = 7, /* GPU artifact: no CUDA driver or usable GPU, or a
                           GPU operation (allocation, kernel) failed */
  RWKV_ERROR_NUMERIC = 8 /* a value turned NaN or Inf, found by a session's
                            rwkv_session_set_check_finite */
} rwkv_status;

typedef struct rwkv_model rwkv_model;
typedef struct rwkv_session rwkv_session;

/* Message of the last failing call on this thread ("" if none). The pointer
 * stays valid until the next failing call on the same thread. */
RWKV_API const char *rwkv_last_error(void);

/* Loads the artifact in `artifact_dir` and binds weights from
 * `weights_path`; the format is detected from the file:
 *   - BlinkDL .pth (a torch.save zip archive): a flat state_dict of f32, f16
 *     or bf16 tensors, read by a restricted unpickler that rejects every
 *     pickle opcode and global a state_dict does not need (naming it);
 *   - safetensors (F32, F16, BF16), e.g. fla / Hugging Face RWKV-7 files;
 *   - rwkv.cpp .bin (FP32, FP16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0);
 *   - llama.cpp GGUF v2/v3 (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0;
 *     dimensions reversed to torch order as for .bin).
 * Tensors are found through the tensor names the spec's [checkpoint] table
 * gave the compiler. The file is memory-mapped; dense f32 tensors are used
 * in place, others are converted to f32 once (state and decay math stay in
 * f32 in the generated code). On success *out owns the model. */
RWKV_API rwkv_status rwkv_model_load(const char *artifact_dir,
                                     const char *weights_path,
                                     rwkv_model **out);

/* Lists the tensors of a weights file (BlinkDL .pth, safetensors, rwkv.cpp
 * .bin, GGUF), in name order: `fn` is called once per tensor with its name, its
 * dtype as the file stores it ("f32", "f16", "bf16", "q5_1", ...), its rank
 * and its shape (torch order, outermost first). For writing a spec's
 * [checkpoint.tensors] against an unfamiliar file. */
typedef void (*rwkv_tensor_fn)(const char *name, const char *dtype,
                               int64_t rank, const int64_t *shape, void *user);
RWKV_API rwkv_status rwkv_weights_list_tensors(const char *weights_path,
                                               rwkv_tensor_fn fn, void *user);

/* As rwkv_model_load, with deterministic synthetic weights drawn from the
 * per-parameter distributions the compiler recorded in the manifest. */
RWKV_API rwkv_status rwkv_model_load_synthetic(const char *artifact_dir,
                                               uint64_t seed, rwkv_model **out);

RWKV_API void rwkv_model_free(rwkv_model *model);

RWKV_API int64_t rwkv_model_vocab_size(const rwkv_model *model);
RWKV_API int64_t rwkv_model_n_layer(const rwkv_model *model);
RWKV_API int64_t rwkv_model_d_model(const rwkv_model *model);
/* Bytes of weights the generated code reads per evaluated token step. */
RWKV_API int64_t rwkv_model_weight_bytes(const rwkv_model *model);
/* Of those, the bytes read in place from the memory-mapped checkpoint (dense,
 * aligned f32 tensors that need no transpose); the rest was converted to f32
 * at load (f16, bf16, quantized or transposed tensors). */
RWKV_API int64_t rwkv_model_mapped_weight_bytes(const rwkv_model *model);
/* Name of the spec the artifact was compiled from. */
RWKV_API const char *rwkv_model_name(const rwkv_model *model);
/* Where the model runs: "cpu", or for GPU artifacts the GPU, e.g.
 * "cuda:0 NVIDIA H200 (sm_90)". */
RWKV_API const char *rwkv_model_device(const rwkv_model *model);

/* Creates a session of `batch` independent sequences, each in the fresh
 * state of the model (token shift zero, WKV state at its initial value). */
RWKV_API rwkv_status rwkv_session_create(rwkv_model *model, int64_t batch,
                                         rwkv_session **out);
RWKV_API void rwkv_session_free(rwkv_session *session);

/* Returns every sequence of the session to the fresh state. */
RWKV_API rwkv_status rwkv_session_reset(rwkv_session *session);

/* How a session evaluates several tokens per sequence. */
typedef enum rwkv_mode {
  RWKV_MODE_AUTO = 0,      /* parallel form for n_tokens > 1, else recurrent */
  RWKV_MODE_RECURRENT = 1, /* one token per call of the generated code */
  RWKV_MODE_PARALLEL = 2   /* T tokens per call (error if not compiled in) */
} rwkv_mode;

/* Evaluates one token per sequence (tokens[batch]) and advances the state.
 * If `logits` is not NULL, writes batch x vocab_size float32 logits of the
 * next token. Tokens must lie in [0, vocab_size). */
RWKV_API rwkv_status rwkv_session_eval(rwkv_session *session,
                                       const int32_t *tokens, float *logits);

/* Evaluates n_tokens tokens per sequence (tokens[batch][n_tokens], row
 * major) and advances the state; `logits` (if not NULL) receives
 * batch x vocab_size logits after the last token. The session's mode picks
 * the form; the parallel form runs at most the session's chunk size of
 * tokens per call. Both forms end in the same state up to f32 rounding. */
RWKV_API rwkv_status rwkv_session_eval_sequence(rwkv_session *session,
                                                const int32_t *tokens,
                                                int64_t n_tokens,
                                                float *logits);

/* As rwkv_session_eval_sequence, but `logits` (required) receives the
 * logits after every token: batch x n_tokens x vocab_size float32, for
 * checking a model against a reference in one call. The recurrent form
 * works for every artifact; the parallel form needs an artifact built with
 * `rwkvc --all-logits` (else RWKV_ERROR_ARGUMENT; in RWKV_MODE_AUTO such an
 * artifact is run in the recurrent form). */
RWKV_API rwkv_status rwkv_session_eval_sequence_all(rwkv_session *session,
                                                    const int32_t *tokens,
                                                    int64_t n_tokens,
                                                    float *logits);

/* Ragged batch: sequence b gets lengths[b] tokens (0 to skip it); the
 * tokens of all sequences are back to back in `tokens`. logits, if not NULL,
 * is batch x vocab_size; the rows of sequences with length 0 are not
 * written. Consecutive sequences of equal length share calls. */
RWKV_API rwkv_status rwkv_session_eval_ragged(rwkv_session *session,
                                              const int32_t *tokens,
                                              const int64_t *lengths,
                                              float *logits);

RWKV_API rwkv_status rwkv_session_set_mode(rwkv_session *session,
                                           rwkv_mode mode);

/* Tokens per parallel call (>= 1). Long prompts are fed in chunks of this
 * many tokens, bounding activation memory. Default: as many tokens (64 to
 * 4096) as keep one [batch, tokens, d_model] f32 activation within 32 MiB. */
RWKV_API rwkv_status rwkv_session_set_chunk_size(rwkv_session *session,
                                                 int64_t tokens);

/* Threads for the artifact's parallel loops (projection rows, WKV heads),
 * used by this session's evaluations: 0 (the default) means every CPU the
 * process may run on. Results are bit-identical for every count. Artifacts
 * compiled with --openmp=false are single-threaded and ignore it. */
RWKV_API rwkv_status rwkv_session_set_threads(rwkv_session *session,
                                              int64_t threads);

/* The largest thread count rwkv_session_set_threads accepts: 4 per CPU the
 * process may run on, at least 64 (more threads than that only oversubscribe
 * the machine, and very large counts make the OpenMP runtime abort the
 * process). Larger counts fail with RWKV_ERROR_ARGUMENT naming the limit. */
RWKV_API int64_t rwkv_thread_limit(void);

/* Non-finite detection (off by default). With `enable` != 0, every output
 * of every generated-code call of the session's evaluations is scanned for
 * NaN and Inf; the first one found fails the evaluation with
 * RWKV_ERROR_NUMERIC, the message naming the entry point, layer, output,
 * element, sequence and token position, and the input that already held a
 * non-finite value (a checkpoint tensor by name, or a state) or that every
 * input was finite. Costs a pass over every output (and a download on GPUs);
 * meant for finding where NaN logits come from. */
RWKV_API rwkv_status rwkv_session_set_check_finite(rwkv_session *session,
                                                   int enable);

/* Per-entry-point CPU/GPU profile of the session's evaluations. With
 * `enable`, every call of a generated entry point (embed, time_mix_N,
 * channel_mix_N, head, ...) is timed (wall clock around the call; GPU
 * sessions synchronize after each call) and counted, and what collected
 * before is cleared; 0 stops collecting and keeps it. */
RWKV_API rwkv_status rwkv_session_set_profile(rwkv_session *session,
                                              int enable);
/* The profile as a text table, one row per entry point, slowest first:
 * calls, total ms, share of the profiled time, ms per call, MB and MFLOP
 * per call (independent of the timing), GB/s (bytes
 * of every argument the call reads or writes: weights, states,
 * activations; the embedding table by the rows gathered) and GFLOP/s (2
 * per element of every matrix parameter and token through it; the head
 * counts one token per sequence). Elementwise work, norms and the WKV
 * recurrence are not counted as FLOPs, so GFLOP/s is a lower bound, meant
 * for the projection-bound entry points. Writes at most `size` bytes
 * (NUL-terminated) to `buffer` and the full length (without the NUL) to
 * `*needed`; call with size 0 to ask. */
RWKV_API rwkv_status rwkv_session_profile(const rwkv_session *session,
                                          char *buffer, size_t size,
                                          size_t *needed);

/* Whether the artifact was compiled with the parallel form. */
RWKV_API int rwkv_model_has_parallel(const rwkv_model *model);

/* Number of floats of recurrent state of the whole session (all sequences).
 * Layout: sequence-major; per sequence, per layer, the manifest's per-layer
 * states in order (rwkv.cpp's: ffn shift, att shift, WKV state), then the
 * model's own states (per_layer false in the manifest: RWKV-1/2/3's head-QK
 * key window), row-major. */
RWKV_API int64_t rwkv_session_state_size(const rwkv_session *session);
RWKV_API rwkv_status rwkv_session_get_state(const rwkv_session *session,
                                            float *state);
RWKV_API rwkv_status rwkv_session_set_state(rwkv_session *session,
                                            const float *state);

/* Saves the whole session state to a versioned file ("RWKVSTAT", version 1,
 * the spec's SHA-256, batch, layers, state shapes, then the values in the
 * rwkv_session_get_state layout). Loading checks every field and fails with
 * RWKV_ERROR_MISMATCH for another spec or batch size, and with
 * RWKV_ERROR_FORMAT for a truncated file (naming its size and the size a
 * state file of this model has), trailing bytes or a non-finite value.
 * Saving reports any failed write (e.g. a full disk) as RWKV_ERROR_IO. */
RWKV_API rwkv_status rwkv_session_save_state(const rwkv_session *session,
                                             const char *path);
RWKV_API rwkv_status rwkv_session_load_state(rwkv_session *session,
                                             const char *path);

/* Loads a state-tuning file: a checkpoint holding a learned initial WKV state
 * per layer (blocks.N.att.time_state, [H][value][key] as BlinkDL's trainer
 * writes it, which is the runtime's layout). Every sequence starts from it,
 * now and after rwkv_session_reset; token-shift states start at zero. */
RWKV_API rwkv_status rwkv_session_load_state_tuning(rwkv_session *session,
                                                    const char *path);

/*===--------------------------------------------------------------------===*
 * Tokenizers
 *
 * The RWKV World tokenizer (rwkv_vocab_v20230424.txt: `<id> <python
 * literal> <byte length>` per line) encodes by greedy longest match over the
 * UTF-8 bytes; ids 1..256 are single bytes, so any byte string encodes, and
 * id 0 is end of text. The byte tokenizer maps byte b to id b + offset.
 * Tokenizers are immutable and may be shared between threads.
 *===--------------------------------------------------------------------===*/

typedef struct rwkv_tokenizer rwkv_tokenizer;

/* Loads a World vocab file; errors name the file and line. */
RWKV_API rwkv_status rwkv_tokenizer_load_world(const char *vocab_path,
                                               rwkv_tokenizer **out);
/* A byte-level tokenizer: id = byte + offset; offset 0 (256 ids) for
 * byte-level models such as rwkv.cpp's tiny ones, 1 (257 ids, id 0 = end of
 * text) for World-compatible ids. */
RWKV_API rwkv_status rwkv_tokenizer_create_bytes(int32_t offset,
                                                 rwkv_tokenizer **out);
RWKV_API void rwkv_tokenizer_free(rwkv_tokenizer *tokenizer);
/* Largest id + 1. */
RWKV_API int64_t rwkv_tokenizer_vocab_size(const rwkv_tokenizer *tokenizer);

/* Encodes `n_bytes` of text. Writes at most `capacity` ids to `ids` and the
 * number of ids of the whole text to *n_ids; if that exceeds `capacity`,
 * returns RWKV_ERROR_ARGUMENT and the caller retries with a larger array
 * (ids may be NULL when capacity is 0). */
RWKV_API rwkv_status rwkv_tokenizer_encode(const rwkv_tokenizer *tokenizer,
                                           const char *text, size_t n_bytes,
                                           int32_t *ids, size_t capacity,
                                           size_t *n_ids);

/* The bytes of one token (not NUL-terminated, possibly part of a UTF-8
 * character); valid while the tokenizer lives. */
RWKV_API rwkv_status rwkv_tokenizer_token_bytes(const rwkv_tokenizer *tokenizer,
                                                int32_t id, const char **bytes,
                                                size_t *n_bytes);

/* A streaming decoder: feed generated tokens, get printable UTF-8 back. An
 * incomplete UTF-8 sequence at the end of a token is held until the next
 * tokens complete it; ill-formed bytes become U+FFFD (as Python's
 * decode('utf-8', errors='replace')). */
typedef struct rwkv_decoder rwkv_decoder;
RWKV_API rwkv_status rwkv_decoder_create(const rwkv_tokenizer *tokenizer,
                                         rwkv_decoder **out);
RWKV_API void rwkv_decoder_free(rwkv_decoder *decoder);
/* Appends a token; *text (NUL-terminated, valid until the next call on the
 * decoder) receives the text that is complete now, possibly "". */
RWKV_API rwkv_status rwkv_decoder_push(rwkv_decoder *decoder, int32_t token,
                                       const char **text, size_t *n_bytes);
/* Ends the stream: U+FFFD if an incomplete sequence is held, else "". */
RWKV_API rwkv_status rwkv_decoder_finish(rwkv_decoder *decoder,
                                         const char **text, size_t *n_bytes);

/*===--------------------------------------------------------------------===*
 * Sampling
 *
 * As the rwkv pip package's PIPELINE (ChatRWKV): presence and frequency
 * penalties on the tokens generated so far (logit -= presence + count *
 * frequency, counts decaying by penalty_decay per token), softmax, top-k,
 * top-p, temperature (p^(1/T); T <= 0 is greedy), then a draw from a
 * generator seeded by `seed` (the same seed gives the same tokens on every
 * platform).
 *===--------------------------------------------------------------------===*/

typedef struct rwkv_sampler_params {
  float temperature;       /* default 1.0 */
  float top_p;             /* (0, 1], default 0.85 */
  int32_t top_k;           /* 0 = no limit (default) */
  float presence_penalty;  /* default 0.2 */
  float frequency_penalty; /* default 0.2 */
  float penalty_decay;     /* [0, 1], default 0.996 */
  uint64_t seed;           /* default 0 */
} rwkv_sampler_params;

typedef struct rwkv_sampler rwkv_sampler;

/* The defaults above (those of the rwkv pip package's PIPELINE_ARGS). */
RWKV_API rwkv_sampler_params rwkv_sampler_default_params(void);
RWKV_API rwkv_status rwkv_sampler_create(const rwkv_sampler_params *params,
                                         int64_t vocab_size,
                                         rwkv_sampler **out);
RWKV_API void rwkv_sampler_free(rwkv_sampler *sampler);
/* Draws the next token from `logits` (vocab_size floats, not modified). */
RWKV_API rwkv_status rwkv_sampler_sample(rwkv_sampler *sampler,
                                         const float *logits, int32_t *token);
/* Records a generated token for the penalties with `weight` (the pip
 * package uses 0 for tokens that decode to a space, tab or digit, else 1). */
RWKV_API rwkv_status rwkv_sampler_accept(rwkv_sampler *sampler, int32_t token,
                                         float weight);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RWKV_RUNTIME_H */
