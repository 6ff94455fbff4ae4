/* SPDX-License-Identifier: Apache-2.0 */
/* model.safetensors through tpa_model_load: the input is the weights file
 * of a micro BERT (1 layer, hidden 4, 2 heads) whose config.json and
 * vocab.txt are fixed here, so the fuzzer mutates tensor names, dtypes
 * (F32 in place or copied when unaligned, F16, BF16 widened), shapes and
 * offsets as the loader consumes them, not only the header parser that
 * fuzz_safetensors covers. Seeds: fuzz/gen_corpus.py (micro model). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tpa/model.h"

static const char micro_config[] =
    "{\"model_type\": \"bert\", \"hidden_size\": 4, \"num_hidden_layers\": 1,\n"
    " \"num_attention_heads\": 2, \"intermediate_size\": 8, \"vocab_size\": 8,\n"
    " \"max_position_embeddings\": 8, \"type_vocab_size\": 2, \"num_labels\": 2}\n";
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
  if (tpa_fuzz_report("model", tpa_model_load(&m, tpa_fuzz_dir(), NULL)) == TPA_OK) {
    tpa_param_counts counts = {.size = sizeof counts};
    if (tpa_model_param_counts(m, &counts) != TPA_OK || counts.total == 0)
      abort(); /* a loaded model always has parameters */
    tpa_model_free(m);
  }
  return 0;
}
