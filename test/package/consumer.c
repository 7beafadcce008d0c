/* A C program that uses only the installed rwkv-runtime package: it loads a
 * compiled model with synthetic weights, evaluates three tokens and prints
 * the most likely next token. Built by check-package.sh twice, once through
 * find_package(rwkv-runtime) and once through pkg-config. */
#include <rwkv/runtime.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s ARTIFACT_DIR\n", argv[0]);
    return 2;
  }
  rwkv_model *model = NULL;
  if (rwkv_model_load_synthetic(argv[1], 1, &model) != RWKV_OK) {
    fprintf(stderr, "load: %s\n", rwkv_last_error());
    return 1;
  }
  rwkv_session *session = NULL;
  if (rwkv_session_create(model, 1, &session) != RWKV_OK) {
    fprintf(stderr, "session: %s\n", rwkv_last_error());
    return 1;
  }
  int64_t vocab = rwkv_model_vocab_size(model);
  float *logits = malloc(sizeof(float) * (size_t)vocab);
  const int32_t tokens[3] = {1, 2, 3};
  if (rwkv_session_eval_sequence(session, tokens, 3, logits) != RWKV_OK) {
    fprintf(stderr, "eval: %s\n", rwkv_last_error());
    return 1;
  }
  int32_t best = 0;
  for (int32_t i = 1; i < vocab; ++i)
    if (logits[i] > logits[best])
      best = i;
  printf("model %s: top token %d (logit %.6f)\n", rwkv_model_name(model), best,
         logits[best]);
  free(logits);
  rwkv_session_free(session);
  rwkv_model_free(model);
  return 0;
}
