/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_metrics_compute against metrics.json (scikit-learn and SciPy via
 * tests/fixtures/data/gen_metrics.py), hand-derived cases, and misuse. */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "data_tests.h"

static const struct {
  const char *key;
  uint32_t bit;
  size_t offset;
} metric_fields[] = {
    {"accuracy", TPA_METRIC_ACCURACY, offsetof(tpa_metrics, accuracy)},
    {"f1", TPA_METRIC_F1, offsetof(tpa_metrics, f1)},
    {"matthews", TPA_METRIC_MATTHEWS, offsetof(tpa_metrics, matthews)},
    {"pearson", TPA_METRIC_PEARSON, offsetof(tpa_metrics, pearson)},
    {"spearman", TPA_METRIC_SPEARMAN, offsetof(tpa_metrics, spearman)},
};

static float *float_array(json_t *arr) {
  ck_assert(json_is_array(arr));
  size_t n = json_array_size(arr);
  float *v = malloc((n ? n : 1) * sizeof *v);
  ck_assert_ptr_nonnull(v);
  for (size_t i = 0; i < n; i++) {
    json_t *x = json_array_get(arr, i);
    ck_assert(json_is_number(x));
    /* Written as the exact double of a float32: this cast is exact. */
    v[i] = (float)json_number_value(x);
  }
  return v;
}

START_TEST(matches_sklearn_and_scipy) {
  char *path = fixture_path("metrics.json");
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  ck_assert_msg(root != NULL, "%s:%d: %s", path, jerr.line, jerr.text);
  json_t *cases = json_object_get(root, "cases");
  ck_assert(json_array_size(cases) >= 20);
  size_t i;
  json_t *c;
  json_array_foreach(cases, i, c) {
    const char *name = json_string_value(json_object_get(c, "name"));
    tpa_task task;
    ck_assert_int_eq(tpa_task_from_name(json_string_value(json_object_get(c, "task")), &task),
                     TPA_OK);
    float *logits = float_array(json_object_get(c, "logits"));
    float *labels = float_array(json_object_get(c, "labels"));
    size_t n = json_array_size(json_object_get(c, "labels"));
    ck_assert_uint_eq(json_array_size(json_object_get(c, "logits")),
                      n * (size_t)tpa_task_num_labels(task));
    tpa_metrics m = {.size = sizeof m};
    tpa_status st = tpa_metrics_compute(task, logits, labels, n, &m);
    ck_assert_msg(st == TPA_OK, "%s: %s", name, tpa_last_error());
    ck_assert_uint_eq(m.count, n);
    ck_assert_uint_eq(m.size, sizeof m);
    json_t *expected = json_object_get(c, "expected");
    for (size_t k = 0; k < sizeof metric_fields / sizeof metric_fields[0]; k++) {
      json_t *want = json_object_get(expected, metric_fields[k].key);
      ck_assert_msg(!!(m.present & metric_fields[k].bit) == (want != NULL), "%s: %s presence", name,
                    metric_fields[k].key);
      if (!want)
        continue;
      double got = *(const double *)((const char *)&m + metric_fields[k].offset);
      ck_assert_msg(fabs(got - json_number_value(want)) <= 1e-9, "%s: %s = %.17g, want %.17g", name,
                    metric_fields[k].key, got, json_number_value(want));
    }
    double want_main = json_number_value(json_object_get(expected, "main"));
    ck_assert_msg(fabs(m.main - want_main) <= 1e-9, "%s: main = %.17g, want %.17g", name, m.main,
                  want_main);
    free(logits);
    free(labels);
  }
  json_decref(root);
  free(path);
}
END_TEST

START_TEST(hand_derived_binary) {
  /* gold 1 1 1 0 0, pred 1 1 0 1 0: TP 2, FN 1, FP 1, TN 1.
   * accuracy 3/5; F1 = 4/6; MCC = (2*1 - 1*1) / sqrt(3*3*2*2) = 1/6. */
  const float logits[] = {0, 1, 0, 1, 1, 0, 0, 1, 1, 0};
  const float labels[] = {1, 1, 1, 0, 0};
  tpa_metrics m = {.size = sizeof m};
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_MRPC, logits, labels, 5, &m), TPA_OK);
  ck_assert_uint_eq(m.present, TPA_METRIC_ACCURACY | TPA_METRIC_F1);
  ck_assert_double_eq_tol(m.accuracy, 0.6, 1e-15);
  ck_assert_double_eq_tol(m.f1, 4.0 / 6.0, 1e-15);
  ck_assert_double_eq_tol(m.main, (0.6 + 4.0 / 6.0) / 2, 1e-15);
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_COLA, logits, labels, 5, &m), TPA_OK);
  ck_assert_uint_eq(m.present, TPA_METRIC_ACCURACY | TPA_METRIC_MATTHEWS);
  ck_assert_double_eq_tol(m.matthews, 1.0 / 6.0, 1e-15);
  ck_assert_double_eq_tol(m.main, 1.0 / 6.0, 1e-15);
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_RTE, logits, labels, 5, &m), TPA_OK);
  ck_assert_uint_eq(m.present, TPA_METRIC_ACCURACY);
  ck_assert_double_eq_tol(m.main, 0.6, 1e-15);
}
END_TEST

START_TEST(hand_derived_regression) {
  /* pred 1 2 3 4, gold 2 4 6 9: Pearson = 0.99438, by hand:
   * dx = -1.5 -0.5 0.5 1.5, dy = -3.25 -1.25 0.75 3.75,
   * sxy = 11.5, sxx = 5, syy = 26.75 -> 11.5 / sqrt(133.75).
   * Ranks equal (monotone): Spearman 1. */
  const float pred[] = {1, 2, 3, 4}, gold[] = {2, 4, 6, 9};
  tpa_metrics m = {.size = sizeof m};
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_STSB, pred, gold, 4, &m), TPA_OK);
  ck_assert_uint_eq(m.present, TPA_METRIC_PEARSON | TPA_METRIC_SPEARMAN);
  ck_assert_double_eq_tol(m.pearson, 11.5 / sqrt(133.75), 1e-14);
  ck_assert_double_eq_tol(m.spearman, 1.0, 1e-14);
  /* Ties: pred 1 1 2, gold 1 2 3 -> ranks 1.5 1.5 3 and 1 2 3:
   * dx = -0.5 -0.5 1, dy = -1 0 1: sxy 1.5, sxx 1.5, syy 2 -> sqrt(3)/2. */
  const float tp[] = {1, 1, 2}, tg[] = {1, 2, 3};
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_STSB, tp, tg, 3, &m), TPA_OK);
  ck_assert_double_eq_tol(m.spearman, sqrt(3.0) / 2, 1e-14);
}
END_TEST

START_TEST(bad_inputs) {
  const float logits[] = {0, 1, 1, 0, 0.5f, 0.25f};
  tpa_metrics m = {.size = sizeof m};
  const float ok[] = {1, 0, 0};
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_SST2, logits, ok, 0, &m), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_SST2, NULL, ok, 3, &m), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_SST2, logits, NULL, 3, &m),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_SST2, logits, ok, 3, NULL),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_metrics_compute((tpa_task)9, logits, ok, 3, &m), TPA_ERR_INVALID_ARGUMENT);
  const float two[] = {1, 2, 0}, half[] = {1, 0.5f, 0}, neg[] = {-1, 0, 0},
              nan_label[] = {1, NAN, 0};
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_SST2, logits, two, 3, &m),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "example 1"));
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_SST2, logits, half, 3, &m),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_SST2, logits, neg, 3, &m),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_SST2, logits, nan_label, 3, &m),
                   TPA_ERR_INVALID_ARGUMENT);
  /* Label 2 is valid for MNLI only. */
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_MNLI, logits, two, 2, &m), TPA_OK);
  const float nan_logits[] = {0, NAN, 1, 0};
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_SST2, nan_logits, ok, 2, &m),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "NaN"));
  const float inf_pred[] = {1, INFINITY}, fine[] = {1, 2};
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_STSB, inf_pred, fine, 2, &m),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_STSB, fine, inf_pred, 2, &m),
                   TPA_ERR_INVALID_ARGUMENT);
  /* Infinite logits are still ordered: argmax works. */
  const float inf_logits[] = {-INFINITY, 0, INFINITY, 0};
  const float inf_gold[] = {1, 0};
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_SST2, inf_logits, inf_gold, 2, &m), TPA_OK);
  ck_assert_double_eq(m.accuracy, 1.0);
  tpa_metrics unsized = {.size = 0};
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_SST2, logits, ok, 3, &unsized),
                   TPA_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(short_struct_is_not_overrun) {
  /* An older caller whose struct ends after `accuracy`: the bytes after
   * it stay untouched. */
  union {
    tpa_metrics m;
    unsigned char bytes[sizeof(tpa_metrics)];
  } u;
  memset(&u, 0xAB, sizeof u);
  size_t cut = offsetof(tpa_metrics, accuracy) + sizeof(double);
  u.m.size = cut;
  const float logits[] = {0, 1, 1, 0}, labels[] = {1, 1};
  ck_assert_int_eq(tpa_metrics_compute(TPA_TASK_MRPC, logits, labels, 2, &u.m), TPA_OK);
  ck_assert_uint_eq(u.m.size, cut);
  ck_assert_double_eq(u.m.accuracy, 0.5);
  ck_assert_uint_eq(u.m.present, TPA_METRIC_ACCURACY | TPA_METRIC_F1);
  for (size_t i = cut; i < sizeof u; i++)
    ck_assert_uint_eq(u.bytes[i], 0xAB);
}
END_TEST

Suite *metrics_suite(void) {
  Suite *s = suite_create("metrics");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"sklearn_scipy_fixture", matches_sklearn_and_scipy}, {"hand_binary", hand_derived_binary},
      {"hand_regression", hand_derived_regression},         {"bad_inputs", bad_inputs},
      {"short_struct", short_struct_is_not_overrun},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}
