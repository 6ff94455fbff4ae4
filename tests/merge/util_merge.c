/* SPDX-License-Identifier: Apache-2.0 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "merge_tests.h"

float *batch_logits(const tpa_model *m, const char *rel, size_t *n_out, double *vs_ref) {
  char *path = fixture(rel);
  json_error_t err;
  json_t *ref = json_load_file(path, 0, &err);
  ck_assert_msg(ref != NULL, "%s: %s", path, err.text);
  free(path);
  const json_t *batches = json_object_get(ref, "batches");
  size_t total = 0, at = 0;
  for (size_t i = 0; i < json_array_size(batches); i++)
    total += json_array_size(json_object_get(json_array_get(batches, i), "logits"));
  ck_assert_uint_gt(total, 0);
  float *out = calloc(total, sizeof *out);
  ck_assert_ptr_nonnull(out);
  double worst = 0;
  for (size_t i = 0; i < json_array_size(batches); i++) {
    const json_t *b = json_array_get(batches, i);
    int32_t B = (int32_t)json_integer_value(json_object_get(b, "batch"));
    int32_t S = (int32_t)json_integer_value(json_object_get(b, "seq"));
    size_t n = (size_t)B * (size_t)S;
    int32_t *ids = calloc(n, sizeof *ids), *types = calloc(n, sizeof *types),
            *mask = calloc(n, sizeof *mask);
    ck_assert(ids && types && mask);
    for (size_t k = 0; k < n; k++) {
      ids[k] = (int32_t)json_integer_value(json_array_get(json_object_get(b, "ids"), k));
      types[k] = (int32_t)json_integer_value(json_array_get(json_object_get(b, "type_ids"), k));
      mask[k] = (int32_t)json_integer_value(json_array_get(json_object_get(b, "mask"), k));
    }
    const json_t *want = json_object_get(b, "logits");
    ck_assert_msg(tpa_model_forward(m, ids, types, mask, B, S, out + at) == TPA_OK, "%s",
                  tpa_last_error());
    for (size_t k = 0; k < json_array_size(want); k++) {
      ck_assert(isfinite(out[at + k]));
      worst = fmax(worst, fabs((double)out[at + k] - json_number_value(json_array_get(want, k))));
    }
    at += json_array_size(want);
    free(ids);
    free(types);
    free(mask);
  }
  json_decref(ref);
  if (vs_ref)
    *vs_ref = worst;
  *n_out = total;
  return out;
}

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
