/* SPDX-License-Identifier: Apache-2.0 */
/* The LoRA set, its PEFT adapter I/O and tpa_model_save, against
 * hand-derived values, PyTorch's initialisation law, an adapter written by
 * tests/fixtures/lora/gen_adapter.py from PEFT's documented layout, and
 * the PyTorch reference logits of the tiny fixtures. Loading a model runs
 * oneDNN, so the runner does not fork (CK_FORK=no in meson.build).
 *
 * `test_lora --save-model VARIANT DIR` and `--save-adapter VARIANT DIR`
 * write a fixture model / a fresh rank-varied adapter for it, for
 * check_hf_layout.py to read with its own safetensors reader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int save_for_python(const char *what, const char *variant, const char *dir) {
  /* Outside a test: no ck_assert helpers here. */
  const char *root = getenv("TPA_FIXTURES");
  char path[4096];
  if (!root || snprintf(path, sizeof path, "%s/%s", root, variant) >= (int)sizeof path) {
    fprintf(stderr, "TPA_FIXTURES is not set or too long\n");
    return 1;
  }
  tpa_model *m = NULL;
  tpa_status s = tpa_model_load(&m, path, NULL);
  if (s == TPA_OK && strcmp(what, "--save-model") == 0) {
    s = tpa_model_save(m, dir);
  } else if (s == TPA_OK) {
    /* Ranks 8 on blocks 0 and 2, 4 on the others, key of block 1 off:
     * the layout needs rank_pattern and a partial target list. */
    int32_t layers = 0;
    tpa_model_config c = {.size = sizeof c};
    s = tpa_model_get_config(m, &c);
    layers = c.num_layers;
    int32_t *ranks = calloc((size_t)layers * TPA_LORA_MODULES, sizeof *ranks);
    for (int32_t i = 0; ranks && i < layers * TPA_LORA_MODULES; i++)
      ranks[i] = (i / TPA_LORA_MODULES) % 2 == 0 ? 8 : 4;
    if (ranks && layers > 1)
      ranks[1 * TPA_LORA_MODULES + TPA_LORA_KEY] = 0;
    tpa_lora_params p;
    tpa_lora_params_init(&p, sizeof p);
    p.ranks = ranks;
    tpa_lora_set *set = NULL;
    if (s == TPA_OK)
      s = tpa_lora_set_create(&set, m, &p);
    if (s == TPA_OK)
      s = tpa_lora_set_save(set, dir);
    tpa_lora_set_free(set);
    free(ranks);
  }
  if (s != TPA_OK)
    fprintf(stderr, "%s %s %s: %s\n", what, variant, dir, tpa_last_error());
  tpa_model_free(m);
  return s == TPA_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc == 4)
    return save_for_python(argv[1], argv[2], argv[3]);
  SRunner *sr = srunner_create(create_suite());
  srunner_add_suite(sr, peft_suite());
  srunner_add_suite(sr, save_suite());
  srunner_add_suite(sr, forward_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
