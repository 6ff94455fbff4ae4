/* SPDX-License-Identifier: Apache-2.0 */
/* PEFT adapter loading through tpa_lora_set_load, against the
 * tiny-pruned fixture model (loaded once). The input is
 * adapter_config.json; when it contains a NUL byte, the bytes after the
 * first NUL are adapter_model.safetensors, otherwise the fixture's
 * adapter weights (tests/fixtures/lora/peft-tiny-pruned) are used, so
 * both the config's ranks/alphas/patterns and the tensors' names and
 * shapes are fuzzed. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tpa/lora.h"
#include "tpa/model.h"

static tpa_fuzz_file config, weights;
static tpa_model *model;
static uint8_t *default_weights;
static size_t default_len;
static bool weights_are_default;

static void cleanup(void) {
  tpa_model_free(model);
  free(default_weights);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char *dir = tpa_fuzz_fixture_path("tiny-pruned");
  if (tpa_model_load(&model, dir, NULL) != TPA_OK)
    abort();
  free(dir);
  default_weights =
      tpa_fuzz_read_fixture("lora/peft-tiny-pruned/adapter_model.safetensors", &default_len);
  atexit(cleanup);
  tpa_fuzz_file_init(&config, "adapter_config.json");
  tpa_fuzz_file_init(&weights, "adapter_model.safetensors");
  tpa_fuzz_dir_link("adapter_config.json", config.path);
  tpa_fuzz_dir_link("adapter_model.safetensors", weights.path);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, '\0', size);
  size_t json_len = nul ? (size_t)(nul - data) : size;
  tpa_fuzz_file_set(&config, data, json_len);
  if (nul) {
    tpa_fuzz_file_set(&weights, nul + 1, size - json_len - 1);
    weights_are_default = false;
  } else if (!weights_are_default) {
    tpa_fuzz_file_set(&weights, default_weights, default_len);
    weights_are_default = true;
  }
  tpa_lora_set *set = NULL;
  if (tpa_fuzz_report("adapter", tpa_lora_set_load(&set, model, tpa_fuzz_dir())) == TPA_OK)
    tpa_lora_set_free(set);
  return 0;
}
