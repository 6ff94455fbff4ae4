/* SPDX-License-Identifier: Apache-2.0 */
/* config.json through tpa_model_load: the input is the config of a model
 * directory whose other files are the tiny fixture's (model.safetensors,
 * vocab.txt; no tokenizer_config.json). A config the parser accepts is
 * then checked against real tensors, so sizes, labels and pruned_heads
 * reach the loader's shape checks too. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "tpa/model.h"

static tpa_fuzz_file config;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  tpa_fuzz_file_init(&config, "config.json");
  tpa_fuzz_dir_link("config.json", config.path);
  char *weights = tpa_fuzz_fixture_path("tiny/model.safetensors");
  char *vocab = tpa_fuzz_fixture_path("tiny/vocab.txt");
  tpa_fuzz_dir_link("model.safetensors", weights);
  tpa_fuzz_dir_link("vocab.txt", vocab);
  free(weights);
  free(vocab);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tpa_fuzz_file_set(&config, data, size);
  tpa_model *m = NULL;
  if (tpa_fuzz_report("model", tpa_model_load(&m, tpa_fuzz_dir(), NULL)) == TPA_OK) {
    tpa_param_counts counts = {.size = sizeof counts};
    if (tpa_model_param_counts(m, &counts) != TPA_OK)
      abort(); /* a loaded model always has counts */
    tpa_model_free(m);
  }
  return 0;
}
