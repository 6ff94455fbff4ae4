/* SPDX-License-Identifier: Apache-2.0 */
/* Merge and dense export: tpa_lora_set_merge against the unmerged adapter
 * and PyTorch's logits, tpa_model_save_dense against the unpruned fixture
 * it was cut from. Loading a model runs oneDNN, so the runner does not
 * fork (CK_FORK=no in meson.build).
 *
 * `test_merge --save-dense VARIANT DIR` writes the dense export of a
 * fixture model for check_dense_layout.py to read with its own reader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge_tests.h"

static int save_dense(const char *variant, const char *dir) {
  const char *root = getenv("TPA_FIXTURES");
  char path[4096];
  if (!root || snprintf(path, sizeof path, "%s/%s", root, variant) >= (int)sizeof path) {
    fprintf(stderr, "TPA_FIXTURES is not set or too long\n");
    return 1;
  }
  tpa_model *m = NULL;
  tpa_status s = tpa_model_load(&m, path, NULL);
  if (s == TPA_OK)
    s = tpa_model_save_dense(m, dir);
  if (s != TPA_OK)
    fprintf(stderr, "--save-dense %s %s: %s\n", variant, dir, tpa_last_error());
  tpa_model_free(m);
  return s == TPA_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--save-dense") == 0)
    return save_dense(argv[2], argv[3]);
  SRunner *sr = srunner_create(merge_suite());
  srunner_add_suite(sr, dense_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
