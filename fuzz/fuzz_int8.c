/* SPDX-License-Identifier: Apache-2.0 */
/* An int8 model.safetensors through tpa_model_load and one forward pass:
 * the micro BERT of fuzz_weights.c with a quantization_config (static
 * activation scales, so input_scale tensors are read too), so the fuzzer
 * mutates I8 weights, their F32 scales, shapes, dtypes and codes as the
 * int8 loader checks them and the int8 forward pass runs them. Seeds:
 * fuzz/gen_corpus.py (micro int8 model). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tpa/infer.h"
#include "tpa/model.h"
#include "tpa/quantize.h"

static const char micro_config[] =
    "{\"model_type\": \"bert\", \"hidden_size\": 4, \"num_hidden_layers\": 1,\n"
    " \"num_attention_heads\": 2, \"intermediate_size\": 8, \"vocab_size\": 8,\n"
    " \"max_position_embeddings\": 8, \"type_vocab_size\": 2, \"num_labels\": 2,\n"
    " \"quantization_config\": {\"quant_method\": \"libtpa_int8\", \"bits\": 8,\n"
    "   \"activations\": \"static\"}}\n";
static const char micro_vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\n##c\n";

static tpa_fuzz_file config, vocab, weights;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  tpa_fuzz_file_init(&config, "config.json");
  tpa_fuzz_file_init(&vocab, "vocab.txt");
  tpa_fuzz_file_init(&weights, "model.safetensors");
  tpa_fuzz_file_set(&config, micro_config, strlen(micro_config));
  tpa_fuzz_file_set(&vocab, micro_vocab, strlen(micro_vocab));
  tpa_fuzz_dir_link("config.json", config.path);
  tpa_fuzz_dir_link("vocab.txt", vocab.path);
  tpa_fuzz_dir_link("model.safetensors", weights.path);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tpa_fuzz_file_set(&weights, data, size);
  tpa_model *m = NULL;
  if (tpa_fuzz_report("model", tpa_model_load(&m, tpa_fuzz_dir(), NULL)) != TPA_OK)
    return 0;
  if (tpa_model_quant_mode(m) != TPA_QUANT_STATIC)
    abort(); /* the config says static */
  /* The loader accepted the codes and scales: a forward pass must run. */
  static const int32_t ids[6] = {2, 5, 6, 3, 0, 0}, mask[6] = {1, 1, 1, 1, 0, 0};
  float logits[4];
  if (tpa_fuzz_report("forward", tpa_model_forward(m, ids, NULL, mask, 2, 3, logits)) != TPA_OK)
    abort();
  tpa_model_free(m);
  return 0;
}
