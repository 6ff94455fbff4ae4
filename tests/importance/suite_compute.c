/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_importance_compute against the PyTorch reference tables (per-example
 * autograd in float64, every example run alone, unpadded), independence
 * from the batch size, the sample limit, already pruned models, and the
 * argument checks. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char RTE[] = "glue/RTE/dev.tsv";
static const char SST2[] = "glue/SST-2/dev.tsv";

/* Float32 engine against a float64 reference. */
#define REL 1e-5

static tpa_importance *compute_ffn(const tpa_model *m, const tpa_dataset *ds, size_t samples,
                                   int32_t batch, bool ffn) {
  tpa_importance_params p;
  tpa_importance_params_init(&p, sizeof p);
  p.samples = samples;
  p.batch_size = batch;
  p.ffn = ffn;
  tpa_importance *imp = NULL;
  tpa_status s = tpa_importance_compute(&imp, m, ds, &p);
  ck_assert_msg(s == TPA_OK, "importance: %s", tpa_last_error());
  ck_assert_ptr_nonnull(imp);
  return imp;
}

static tpa_importance *compute(const tpa_model *m, const tpa_dataset *ds, size_t samples,
                               int32_t batch) {
  return compute_ffn(m, ds, samples, batch, false);
}

static void check_case(const char *variant, tpa_task task, const char *file, size_t samples,
                       const char *ref_name) {
  tpa_model *m = load_fixture(variant);
  tpa_dataset *ds = load_data(task, file, 0); /* the whole file: samples limits */
  tpa_importance *imp = compute(m, ds, samples, 32);
  ref_table ref;
  ref_load(&ref, ref_name);
  expect_table(imp, &ref, REL);
  ref_free(&ref);
  tpa_importance_free(imp);
  tpa_dataset_free(ds);
  tpa_model_free(m);
}

START_TEST(defaults) {
  tpa_importance_params p;
  tpa_importance_params_init(&p, sizeof p);
  ck_assert_uint_eq(p.size, sizeof p);
  ck_assert_uint_eq(p.samples, 2000);
  ck_assert_int_eq(p.batch_size, 32);
  ck_assert_int_eq(p.max_seq_length, 0);
  ck_assert_ptr_null(p.progress);
  ck_assert(!p.ffn);
}
END_TEST

START_TEST(torch_rte) {
  check_case("tiny", TPA_TASK_RTE, RTE, 40, "tiny_rte40");
}
END_TEST

START_TEST(torch_sst2) {
  /* Lengths from 9 to 50 tokens: batches really are padded. */
  check_case("tiny", TPA_TASK_SST2, SST2, 40, "tiny_sst2_40");
}
END_TEST

START_TEST(torch_pruned) {
  /* Heads {0: [1, 4], 2: [0, 2, 3, 5]} are absent: null in the reference,
   * unscored here; the others match a model without them. */
  check_case("tiny-pruned", TPA_TASK_RTE, RTE, 40, "pruned_rte40");
  tpa_model *m = load_fixture("tiny-pruned");
  tpa_dataset *ds = load_data(TPA_TASK_RTE, RTE, 5);
  tpa_importance *imp = compute(m, ds, 0, 32);
  ck_assert(!tpa_importance_has_head(imp, 0, 1));
  ck_assert(!tpa_importance_has_head(imp, 2, 5));
  ck_assert(tpa_importance_has_head(imp, 1, 0));
  /* Normalisation runs over the kept heads only: unit L2 norm per layer. */
  for (int32_t l = 0; l < 3; l++) {
    double sq = 0;
    for (int32_t h = 0; h < 6; h++)
      if (tpa_importance_has_head(imp, l, h))
        sq += pow(tpa_importance_normalized(imp, l, h), 2);
    ck_assert_double_eq_tol(sq, 1.0, 1e-12);
  }
  tpa_importance_free(imp);
  tpa_dataset_free(ds);
  tpa_model_free(m);
}
END_TEST

START_TEST(torch_ffn) {
  /* Neurons with heads, padded batches of several sizes (3: uneven). */
  tpa_model *m = load_fixture("tiny");
  tpa_dataset *ds = load_data(TPA_TASK_SST2, SST2, 40);
  ref_table ref;
  ref_load(&ref, "tiny_sst2_40_ffn");
  ck_assert_int_eq(ref.ffn_width, 200);
  const int32_t sizes[] = {3, 32};
  for (size_t i = 0; i < 2; i++) {
    tpa_importance *imp = compute_ffn(m, ds, 0, sizes[i], true);
    expect_table(imp, &ref, REL);
    tpa_importance_free(imp);
  }
  ref_free(&ref);
  tpa_dataset_free(ds);
  tpa_model_free(m);
}
END_TEST

START_TEST(torch_ffn_pruned) {
  /* A model whose heads are pruned: every neuron is still scored. */
  tpa_model *m = load_fixture("tiny-pruned");
  tpa_dataset *ds = load_data(TPA_TASK_RTE, RTE, 0);
  ref_table ref;
  ref_load(&ref, "pruned_rte40_ffn");
  tpa_importance *imp = compute_ffn(m, ds, 40, 32, true);
  expect_table(imp, &ref, REL);
  for (int32_t l = 0; l < 3; l++) {
    double sq = 0;
    for (int32_t j = 0; j < tpa_importance_ffn_width(imp, l); j++)
      sq += pow(tpa_importance_ffn_normalized(imp, l, j), 2);
    ck_assert_double_eq_tol(sq, 1.0, 1e-12);
  }
  /* Out of range and tables without neurons. */
  ck_assert(isnan(tpa_importance_ffn_raw(imp, 0, 200)));
  ck_assert(isnan(tpa_importance_ffn_raw(imp, 3, 0)));
  ck_assert(isnan(tpa_importance_ffn_normalized(imp, 0, -1)));
  ck_assert_int_eq(tpa_importance_ffn_width(imp, -1), 0);
  ck_assert(!tpa_importance_has_ffn(NULL));
  ck_assert_int_eq(tpa_importance_ffn_width(NULL, 0), 0);
  tpa_importance *heads = compute(m, ds, 4, 32);
  ck_assert(!tpa_importance_has_ffn(heads));
  ck_assert_int_eq(tpa_importance_ffn_width(heads, 0), 0);
  ck_assert(isnan(tpa_importance_ffn_raw(heads, 0, 0)));
  tpa_importance_free(heads);
  tpa_importance_free(imp);
  ref_free(&ref);
  tpa_dataset_free(ds);
  tpa_model_free(m);
}
END_TEST

START_TEST(samples_limit) {
  /* The first 17 rows in file order, from the full file. */
  check_case("tiny", TPA_TASK_RTE, RTE, 17, "tiny_rte17");
  /* samples 0 = every row; more samples than rows = every row. */
  tpa_model *m = load_fixture("tiny");
  tpa_dataset *ds = load_data(TPA_TASK_RTE, RTE, 17);
  ref_table ref;
  ref_load(&ref, "tiny_rte17");
  for (int i = 0; i < 2; i++) {
    tpa_importance *imp = compute(m, ds, i == 0 ? 0 : 2000, 32);
    expect_table(imp, &ref, REL);
    tpa_importance_free(imp);
  }
  ref_free(&ref);
  tpa_dataset_free(ds);
  tpa_model_free(m);
}
END_TEST

START_TEST(batch_size_invariance) {
  tpa_model *m = load_fixture("tiny");
  tpa_dataset *ds = load_data(TPA_TASK_SST2, SST2, 40);
  ref_table ref;
  ref_load(&ref, "tiny_sst2_40");
  tpa_importance *one = compute(m, ds, 0, 1);
  const int32_t sizes[] = {3, 32, 40, 64};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    tpa_importance *imp = compute(m, ds, 0, sizes[i]);
    expect_table(imp, &ref, REL);
    /* Against batch 1: float rounding only. */
    for (int32_t l = 0; l < 3; l++)
      for (int32_t h = 0; h < 6; h++) {
        const double a = tpa_importance_raw(one, l, h), b = tpa_importance_raw(imp, l, h);
        ck_assert_msg(fabs(a - b) <= 2e-6 * fabs(a), "batch %d: raw[%d][%d] %.9g vs %.9g", sizes[i],
                      l, h, b, a);
      }
    tpa_importance_free(imp);
  }
  expect_table(one, &ref, REL);
  tpa_importance_free(one);
  ref_free(&ref);
  tpa_dataset_free(ds);
  tpa_model_free(m);
}
END_TEST

static bool cancel_after_first(void *user, const char *stage, uint64_t done, uint64_t total) {
  int *calls = user;
  ck_assert_str_eq(stage, "importance");
  ck_assert_uint_le(done, total);
  ck_assert_uint_eq(total, 10);
  return ++*calls < 2;
}

static bool count_calls(void *user, const char *stage, uint64_t done, uint64_t total) {
  (void)stage;
  int *calls = user;
  ck_assert_uint_le(done, total);
  ++*calls;
  return true;
}

START_TEST(progress_and_cancel) {
  tpa_model *m = load_fixture("tiny");
  tpa_dataset *ds = load_data(TPA_TASK_SST2, SST2, 10);
  tpa_importance_params p;
  tpa_importance_params_init(&p, sizeof p);
  p.batch_size = 4;
  int calls = 0;
  p.progress = count_calls;
  p.user = &calls;
  tpa_importance *imp = NULL;
  ck_assert_int_eq(tpa_importance_compute(&imp, m, ds, &p), TPA_OK);
  ck_assert_int_eq(calls, 3); /* batches of 4, 4, 2 */
  tpa_importance_free(imp);
  calls = 0;
  p.progress = cancel_after_first;
  imp = (tpa_importance *)&calls; /* must be reset to NULL */
  ck_assert_int_eq(tpa_importance_compute(&imp, m, ds, &p), TPA_ERR_CANCELLED);
  ck_assert_ptr_null(imp);
  tpa_dataset_free(ds);
  tpa_model_free(m);
}
END_TEST

START_TEST(bad_arguments) {
  tpa_model *m = load_fixture("tiny");
  tpa_dataset *ds = load_data(TPA_TASK_SST2, SST2, 4);
  tpa_importance *imp = NULL;
  tpa_importance_params p;
  tpa_importance_params_init(&p, sizeof p);
  ck_assert_int_eq(tpa_importance_compute(NULL, m, ds, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_importance_compute(&imp, NULL, ds, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_importance_compute(&imp, m, NULL, NULL), TPA_ERR_INVALID_ARGUMENT);
  p.batch_size = 0;
  ck_assert_int_eq(tpa_importance_compute(&imp, m, ds, &p), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "batch_size"));
  tpa_importance_params_init(&p, sizeof p);
  p.max_seq_length = 65; /* the fixture has 64 positions */
  ck_assert_int_eq(tpa_importance_compute(&imp, m, ds, &p), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "max_seq_length"));
  p.size = 2; /* smaller than the size field itself */
  ck_assert_int_eq(tpa_importance_compute(&imp, m, ds, &p), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(imp);
  /* A regression task on a two-label model. */
  tpa_dataset *stsb = load_data(TPA_TASK_STSB, "glue/STS-B/dev.tsv", 4);
  ck_assert_int_eq(tpa_importance_compute(&imp, m, stsb, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "labels"));
  tpa_dataset_free(stsb);
  /* A shorter params struct (an older caller) still works: defaults. */
  tpa_importance_params old;
  tpa_importance_params_init(&old, offsetof(tpa_importance_params, batch_size));
  ck_assert_int_eq(tpa_importance_compute(&imp, m, ds, &old), TPA_OK);
  ck_assert_uint_eq(tpa_importance_examples(imp), 4);
  tpa_importance_free(imp);
  tpa_dataset_free(ds);
  tpa_model_free(m);
}
END_TEST

START_TEST(accessors_out_of_range) {
  tpa_model *m = load_fixture("tiny");
  tpa_dataset *ds = load_data(TPA_TASK_SST2, SST2, 2);
  tpa_importance *imp = compute(m, ds, 0, 32);
  ck_assert(!tpa_importance_has_head(imp, 3, 0));
  ck_assert(!tpa_importance_has_head(imp, 0, 6));
  ck_assert(!tpa_importance_has_head(imp, -1, 0));
  ck_assert(isnan(tpa_importance_raw(imp, 0, -1)));
  ck_assert(isnan(tpa_importance_normalized(imp, 3, 0)));
  ck_assert(isnan(tpa_importance_block(imp, 3)));
  ck_assert(isnan(tpa_importance_block(NULL, 0)));
  ck_assert_int_eq(tpa_importance_num_layers(NULL), 0);
  ck_assert_int_eq(tpa_importance_num_heads(NULL), 0);
  ck_assert_uint_eq(tpa_importance_examples(NULL), 0);
  ck_assert_uint_eq(tpa_importance_tokens(NULL), 0);
  ck_assert(!tpa_importance_has_head(NULL, 0, 0));
  tpa_importance_free(imp);
  tpa_importance_free(NULL);
  tpa_dataset_free(ds);
  tpa_model_free(m);
}
END_TEST

Suite *compute_suite(void) {
  Suite *s = suite_create("importance-compute");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"defaults", defaults},
      {"torch reference (RTE, 64-token rows)", torch_rte},
      {"torch reference (SST-2, padded batches)", torch_sst2},
      {"torch reference, neurons (SST-2)", torch_ffn},
      {"torch reference, neurons of a pruned model", torch_ffn_pruned},
      {"already pruned model", torch_pruned},
      {"samples limit", samples_limit},
      {"batch size invariance", batch_size_invariance},
      {"progress and cancel", progress_and_cancel},
      {"bad arguments", bad_arguments},
      {"accessors out of range", accessors_out_of_range},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}
