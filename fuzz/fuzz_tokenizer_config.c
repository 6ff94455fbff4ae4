/* SPDX-License-Identifier: Apache-2.0 */
/* tokenizer_config.json: read by tpa__config_load (the first step of
 * tpa_model_load) next to a valid config.json, the tiny fixture's. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "model/config.h"

static tpa_fuzz_file tconfig;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  tpa_fuzz_file_init(&tconfig, "tokenizer_config.json");
  tpa_fuzz_dir_link("tokenizer_config.json", tconfig.path);
  char *config = tpa_fuzz_fixture_path("tiny/config.json");
  tpa_fuzz_dir_link("config.json", config);
  free(config);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tpa_fuzz_file_set(&tconfig, data, size);
  tpa__config cfg;
  bool *pruned = NULL;
  if (tpa_fuzz_report("config", tpa__config_load(tpa_fuzz_dir(), &cfg, &pruned)) == TPA_OK) {
    tpa__config_free(&cfg);
    free(pruned);
  } else if (pruned) {
    abort(); /* documented: *pruned is NULL on failure */
  }
  return 0;
}
