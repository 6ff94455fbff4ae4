/* SPDX-License-Identifier: Apache-2.0 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "merge_tests.h"

float *dev_logits(const tpa_model *m, const tpa_lora_set *adapter, size_t rows, size_t *n) {
  const char *root = getenv("TPA_SHARED_DATA");
  ck_assert_msg(root != NULL, "TPA_SHARED_DATA is not set");
  char *path = join(root, "glue/SST-2/dev.tsv");
  tpa_dataset_params dp;
  tpa_dataset_params_init(&dp, sizeof dp);
  dp.max_rows = rows;
  tpa_dataset *ds = NULL;
  ck_assert_msg(tpa_dataset_load(&ds, TPA_TASK_SST2, path, &dp) == TPA_OK, "%s", tpa_last_error());
  free(path);
  tpa_predict_params pp;
  tpa_predict_params_init(&pp, sizeof pp);
  pp.adapter = adapter;
  pp.max_seq_length = 64; /* the tiny models' position table */
  pp.batch_size = 16;
  *n = tpa_dataset_size(ds) * 2;
  float *out = calloc(*n, sizeof *out);
  ck_assert_ptr_nonnull(out);
  ck_assert_msg(tpa_model_predict(m, ds, &pp, out, *n) == TPA_OK, "%s", tpa_last_error());
  tpa_dataset_free(ds);
  return out;
}

double max_diff(const float *a, const float *b, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; i++)
    worst = fmax(worst, fabs((double)a[i] - (double)b[i]));
  return worst;
}

void merge_add_test(Suite *s, const char *name, const TTest *t) {
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, t);
  suite_add_tcase(s, tc);
}
