/* SPDX-License-Identifier: Apache-2.0 */
/* The rank schedule (docs/method.md section 7) on hand-made block importances:
 * the top_k blocks (default ceil(L/3)) get r_high on all four modules,
 * the rest r_low, ties toward the lower layer; and the ranks feed
 * tpa_lora_set_create as they are. */
#include <stdlib.h>
#include <string.h>

#include "prune_tests.h"

/* A table of @p layers blocks with the given block importances. */
static tpa_importance *blocks_table(int32_t layers, const double *blocks) {
  double *norm = malloc((size_t)layers * 2 * sizeof *norm);
  ck_assert_ptr_nonnull(norm);
  for (int32_t i = 0; i < layers * 2; i++)
    norm[i] = 0.5;
  tpa_importance *imp = make_importance(layers, 2, norm, blocks);
  free(norm);
  return imp;
}

/* Ranks of @p imp under @p p; then every block has one rank on its four
 * modules, which must be r_high exactly for the blocks in @p high. */
static void expect_high(const tpa_importance *imp, const tpa_rank_schedule_params *p, int32_t hi,
                        int32_t lo, const char *high) {
  int32_t layers = tpa_importance_num_layers(imp);
  size_t n = (size_t)layers * TPA_LORA_MODULES;
  int32_t *ranks = malloc((n + 1) * sizeof *ranks);
  ck_assert_ptr_nonnull(ranks);
  ranks[n] = -77; /* a guard past the end */
  tpa_status s = tpa_rank_schedule(imp, p, ranks, n);
  ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_eq(ranks[n], -77);
  bool *is_high = calloc((size_t)layers, sizeof *is_high);
  ck_assert_ptr_nonnull(is_high);
  int l, used;
  for (const char *q = high; sscanf(q, " %d%n", &l, &used) == 1; q += used)
    is_high[l] = true;
  for (int32_t b = 0; b < layers; b++)
    for (int m = 0; m < TPA_LORA_MODULES; m++)
      ck_assert_msg(ranks[b * TPA_LORA_MODULES + m] == (is_high[b] ? hi : lo),
                    "block %d module %d: rank %d, expected %d (high: %s)", b, m,
                    ranks[b * TPA_LORA_MODULES + m], is_high[b] ? hi : lo, high);
  free(is_high);
  free(ranks);
}

START_TEST(defaults) {
  tpa_rank_schedule_params p;
  tpa_rank_schedule_params_init(&p, sizeof p);
  ck_assert_uint_eq(p.size, sizeof p);
  ck_assert_int_eq(p.top_k, 0);
  ck_assert_int_eq(p.r_high, 8);
  ck_assert_int_eq(p.r_low, 4);
}
END_TEST

/* BERT-base's 12 blocks: the paper's k = 4 = ceil(12/3); the four largest
 * are 10 (.95), 1 (.9), 4 (.8), 6 (.7). */
START_TEST(paper_shape) {
  const double b[12] = {0.3, 0.9, 0.1, 0.5, 0.8, 0.2, 0.7, 0.05, 0.6, 0.4, 0.95, 0.15};
  tpa_importance *imp = blocks_table(12, b);
  expect_high(imp, NULL, 8, 4, "1 4 6 10");
  tpa_rank_schedule_params p;
  tpa_rank_schedule_params_init(&p, sizeof p);
  p.top_k = 2;
  p.r_high = 16;
  p.r_low = 2;
  expect_high(imp, &p, 16, 2, "1 10");
  p.top_k = 12;
  expect_high(imp, &p, 16, 2, "0 1 2 3 4 5 6 7 8 9 10 11");
  tpa_importance_free(imp);
}
END_TEST

/* k = ceil(L/3) for other depths. */
START_TEST(default_k) {
  const double b[13] = {13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}; /* layer order */
  tpa_importance *imp = blocks_table(3, b);
  expect_high(imp, NULL, 8, 4, "0");
  tpa_importance_free(imp);
  imp = blocks_table(4, b);
  expect_high(imp, NULL, 8, 4, "0 1");
  tpa_importance_free(imp);
  imp = blocks_table(6, b);
  expect_high(imp, NULL, 8, 4, "0 1");
  tpa_importance_free(imp);
  imp = blocks_table(13, b);
  expect_high(imp, NULL, 8, 4, "0 1 2 3 4");
  tpa_importance_free(imp);
  imp = blocks_table(1, b);
  expect_high(imp, NULL, 8, 4, "0");
  tpa_importance_free(imp);
}
END_TEST

START_TEST(ties) {
  const double flat[5] = {1, 1, 1, 1, 1};
  tpa_importance *imp = blocks_table(5, flat); /* k = 2 */
  expect_high(imp, NULL, 8, 4, "0 1");
  tpa_importance_free(imp);
  const double some[5] = {1, 2, 2, 2, 0};
  imp = blocks_table(5, some);
  expect_high(imp, NULL, 8, 4, "1 2");
  tpa_importance_free(imp);
}
END_TEST

/* Plain LoRA: r_high == r_low gives one rank everywhere. */
START_TEST(uniform) {
  const double b[4] = {0.1, 0.4, 0.3, 0.2};
  tpa_importance *imp = blocks_table(4, b);
  tpa_rank_schedule_params p;
  tpa_rank_schedule_params_init(&p, sizeof p);
  p.r_high = p.r_low = 8;
  expect_high(imp, &p, 8, 8, "");
  tpa_importance_free(imp);
}
END_TEST

START_TEST(bad_arguments) {
  const double b[4] = {0.1, 0.4, 0.3, 0.2};
  tpa_importance *imp = blocks_table(4, b);
  int32_t ranks[16];
  tpa_rank_schedule_params p;
  tpa_rank_schedule_params_init(&p, sizeof p);
  ck_assert_int_eq(tpa_rank_schedule(imp, &p, ranks, 15), TPA_ERR_BUFFER_TOO_SMALL);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "16"));
  ck_assert_int_eq(tpa_rank_schedule(NULL, &p, ranks, 16), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_rank_schedule(imp, &p, NULL, 16), TPA_ERR_INVALID_ARGUMENT);
  p.top_k = 5;
  ck_assert_int_eq(tpa_rank_schedule(imp, &p, ranks, 16), TPA_ERR_INVALID_ARGUMENT);
  p.top_k = -1;
  ck_assert_int_eq(tpa_rank_schedule(imp, &p, ranks, 16), TPA_ERR_INVALID_ARGUMENT);
  p.top_k = 0;
  p.r_low = -1;
  ck_assert_int_eq(tpa_rank_schedule(imp, &p, ranks, 16), TPA_ERR_INVALID_ARGUMENT);
  p.r_low = 4;
  p.r_high = 1025;
  ck_assert_int_eq(tpa_rank_schedule(imp, &p, ranks, 16), TPA_ERR_INVALID_ARGUMENT);
  p.size = 0;
  ck_assert_int_eq(tpa_rank_schedule(imp, &p, ranks, 16), TPA_ERR_INVALID_ARGUMENT);
  tpa_importance_free(imp);
}
END_TEST

/* The schedule is ready for tpa_lora_params.ranks: block 1 (the most
 * important of tiny's 3) gets rank 8 and alpha 16, the others 4 and 8. */
START_TEST(feeds_lora_set) {
  const double b[3] = {0.1, 0.5, 0.2};
  tpa_importance *imp = blocks_table(3, b);
  int32_t ranks[3 * TPA_LORA_MODULES];
  ck_assert_int_eq(tpa_rank_schedule(imp, NULL, ranks, 3 * TPA_LORA_MODULES), TPA_OK);
  tpa_model *m = load_fixture("tiny");
  tpa_lora_params lp;
  tpa_lora_params_init(&lp, sizeof lp);
  lp.ranks = ranks;
  tpa_lora_set *set = NULL;
  ck_assert_msg(tpa_lora_set_create(&set, m, &lp) == TPA_OK, "%s", tpa_last_error());
  for (int32_t l = 0; l < 3; l++)
    for (int k = 0; k < TPA_LORA_MODULES; k++) {
      ck_assert_int_eq(tpa_lora_set_rank(set, l, (tpa_lora_module)k), l == 1 ? 8 : 4);
      ck_assert(tpa_lora_set_alpha(set, l, (tpa_lora_module)k) == (l == 1 ? 16.0f : 8.0f));
    }
  tpa_lora_set_free(set);
  tpa_model_free(m);
  tpa_importance_free(imp);
}
END_TEST

Suite *schedule_suite(void) {
  Suite *s = suite_create("rank_schedule");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"defaults", defaults},
      {"paper_shape", paper_shape},
      {"default_k", default_k},
      {"ties", ties},
      {"uniform", uniform},
      {"bad_arguments", bad_arguments},
      {"feeds_lora_set", feeds_lora_set},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}
