/* SPDX-License-Identifier: Apache-2.0 */
/* Plan selection (docs/method.md section 6) on hand-made importance tables,
 * each expected plan worked out by hand from the sorted scores in the
 * comments. Tables go through tpa_importance_load, as a user's would. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "prune_tests.h"

/* Sorted ascending: 1:0 .05, 0:1 .10, 1:2 .15, 1:1 .20, 2:1 .25, 0:3 .30,
 * 2:3 .35, 2:0 .40, 0:0 .50, 1:3 .60, 0:2 .70, 2:2 .80. */
static const double distinct[12] = {0.50, 0.10, 0.70, 0.30, 0.05, 0.20,
                                    0.15, 0.60, 0.40, 0.25, 0.80, 0.35};
/* Layer 1 holds the four smallest: 1:1 .01, 1:3 .02, 1:2 .03, 1:0 .04,
 * then 0:1 .10, 2:1 .25, 0:3 .30, 2:3 .35, 2:0 .40, 0:0 .50, 0:2 .70, 2:2 .80. */
static const double weak_layer[12] = {0.50, 0.10, 0.70, 0.30, 0.04, 0.01,
                                      0.03, 0.02, 0.40, 0.25, 0.80, 0.35};

static tpa_prune_plan *plan_n(const tpa_importance *imp, int32_t n, bool allow_empty) {
  tpa_prune_params p;
  tpa_prune_params_init(&p, sizeof p);
  p.num_heads = n;
  p.allow_empty_layers = allow_empty;
  tpa_prune_plan *plan = NULL;
  tpa_status s = tpa_prune_plan_create(&plan, imp, &p);
  ck_assert_msg(s == TPA_OK, "plan of %d heads: %s", n, tpa_last_error());
  return plan;
}

static tpa_prune_plan *plan_threshold(const tpa_importance *imp, double x, bool allow_empty) {
  tpa_prune_params p;
  tpa_prune_params_init(&p, sizeof p);
  p.use_threshold = true;
  p.threshold = x;
  p.num_heads = 1; /* ignored with a threshold */
  p.allow_empty_layers = allow_empty;
  tpa_prune_plan *plan = NULL;
  tpa_status s = tpa_prune_plan_create(&plan, imp, &p);
  ck_assert_msg(s == TPA_OK, "plan below %g: %s", x, tpa_last_error());
  return plan;
}

#define EXPECT_N(imp, n, allow, want)                                                              \
  do {                                                                                             \
    tpa_prune_plan *pl_ = plan_n(imp, n, allow);                                                   \
    assert_plan(pl_, tpa_importance_num_layers(imp), tpa_importance_num_heads(imp), want);         \
    tpa_prune_plan_free(pl_);                                                                      \
  } while (0)

START_TEST(defaults) {
  tpa_prune_params p;
  tpa_prune_params_init(&p, sizeof p);
  ck_assert_uint_eq(p.size, sizeof p);
  ck_assert_int_eq(p.num_heads, -1);
  ck_assert(!p.use_threshold);
  ck_assert(p.threshold == 0.0);
  ck_assert(!p.allow_empty_layers);
}
END_TEST

START_TEST(global_n) {
  tpa_importance *imp = make_importance(3, 4, distinct, NULL);
  EXPECT_N(imp, 0, false, "");
  EXPECT_N(imp, 1, false, "1:0");
  EXPECT_N(imp, 4, false, "1:0 0:1 1:2 1:1");
  EXPECT_N(imp, 5, false, "1:0 0:1 1:2 1:1 2:1");
  EXPECT_N(imp, 6, false, "1:0 0:1 1:2 1:1 2:1 0:3");
  tpa_importance_free(imp);
}
END_TEST

/* round(0.3056 * L * A): 144 -> 44 (the paper), 18 -> 6 (5.5008), 12 -> 4 (3.667). */
START_TEST(default_count) {
  double *big = malloc(144 * sizeof *big);
  ck_assert_ptr_nonnull(big);
  for (int i = 0; i < 144; i++)
    big[i] = 0.001 + (double)((i * 37) % 144) / 144.0; /* distinct */
  tpa_importance *imp = make_importance(12, 12, big, NULL);
  tpa_prune_plan *plan = NULL;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, NULL), TPA_OK);
  ck_assert_int_eq(tpa_prune_plan_num_pruned(plan), 44);
  /* They are the 44 smallest: score rank (i*37 mod 144) below 44. */
  for (int i = 0; i < 144; i++)
    ck_assert(tpa_prune_plan_removes(plan, i / 12, i % 12) == ((i * 37) % 144 < 44));
  tpa_prune_plan_free(plan);
  tpa_importance_free(imp);

  imp = make_importance(3, 6, big, NULL);
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, NULL), TPA_OK);
  ck_assert_int_eq(tpa_prune_plan_num_pruned(plan), 6);
  tpa_prune_plan_free(plan);
  tpa_importance_free(imp);

  imp = make_importance(3, 4, distinct, NULL);
  EXPECT_N(imp, -1, false, "1:0 0:1 1:2 1:1");
  tpa_importance_free(imp);
  free(big);
}
END_TEST

/* Equal scores go toward the lower (layer, head). */
START_TEST(ties) {
  const double flat[6] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
  tpa_importance *imp = make_importance(2, 3, flat, NULL);
  EXPECT_N(imp, 2, false, "0:0 0:1");
  EXPECT_N(imp, 3, false, "0:0 0:1 1:0"); /* 0:2 is layer 0's last head */
  EXPECT_N(imp, 4, false, "0:0 0:1 1:0 1:1");
  EXPECT_N(imp, 3, true, "0:0 0:1 0:2");
  tpa_importance_free(imp);
  /* 1:1 .1 first, then the .3s in (layer, head) order: 0:0, 0:1, 1:0. */
  const double some[6] = {0.3, 0.3, 0.9, 0.3, 0.1, 0.9};
  imp = make_importance(2, 3, some, NULL);
  EXPECT_N(imp, 2, false, "1:1 0:0");
  EXPECT_N(imp, 3, false, "1:1 0:0 0:1");
  EXPECT_N(imp, 4, false, "1:1 0:0 0:1 1:0");
  tpa_importance_free(imp);
}
END_TEST

/* The selection that would empty layer 1 skips its most important head
 * (1:0) and takes the next candidate, so still exactly N go. */
START_TEST(no_empty_layer) {
  tpa_importance *imp = make_importance(3, 4, weak_layer, NULL);
  EXPECT_N(imp, 3, false, "1:1 1:3 1:2");
  EXPECT_N(imp, 4, false, "1:1 1:3 1:2 0:1");
  EXPECT_N(imp, 5, false, "1:1 1:3 1:2 0:1 2:1");
  /* Every layer keeps its best: 0:2, 1:0, 2:2. Asking for more than the
   * 9 removable heads removes those 9. */
  EXPECT_N(imp, 9, false, "1:1 1:3 1:2 0:1 2:1 0:3 2:3 2:0 0:0");
  EXPECT_N(imp, 12, false, "1:1 1:3 1:2 0:1 2:1 0:3 2:3 2:0 0:0");
  tpa_importance_free(imp);
}
END_TEST

START_TEST(allow_empty_layers) {
  tpa_importance *imp = make_importance(3, 4, weak_layer, NULL);
  EXPECT_N(imp, 4, true, "1:1 1:3 1:2 1:0");
  EXPECT_N(imp, 5, true, "1:1 1:3 1:2 1:0 0:1");
  EXPECT_N(imp, 12, true, "0:0 0:1 0:2 0:3 1:0 1:1 1:2 1:3 2:0 2:1 2:2 2:3");
  tpa_importance_free(imp);
}
END_TEST

/* Heads without a score (already pruned) are never chosen and never in
 * the plan; a layer with one scored head left keeps it. Sorted scored
 * heads: 1:3 .01, 0:1 .10, 2:1 .25, 0:3 .30, 2:3 .35, 2:0 .40, 2:2 .80. */
START_TEST(already_pruned) {
  const double n = NAN;
  const double t[12] = {n, 0.10, n, 0.30, n, n, n, 0.01, 0.40, 0.25, 0.80, 0.35};
  tpa_importance *imp = make_importance(3, 4, t, NULL);
  EXPECT_N(imp, 3, false, "0:1 2:1 2:3");
  EXPECT_N(imp, -1, false, "0:1 2:1 2:3 2:0"); /* round(0.3056 * 12) = 4 */
  EXPECT_N(imp, 12, false, "0:1 2:1 2:3 2:0");
  EXPECT_N(imp, 3, true, "1:3 0:1 2:1");
  EXPECT_N(imp, 12, true, "0:1 0:3 1:3 2:0 2:1 2:2 2:3");
  tpa_importance_free(imp);
}
END_TEST

/* Strictly below the threshold; num_heads is ignored. */
START_TEST(threshold) {
  tpa_importance *imp = make_importance(3, 4, distinct, NULL);
  tpa_prune_plan *plan = plan_threshold(imp, 0.25, false); /* 2:1 is exactly .25: kept */
  assert_plan(plan, 3, 4, "1:0 0:1 1:2 1:1");
  tpa_prune_plan_free(plan);
  plan = plan_threshold(imp, 0.0, false);
  assert_plan(plan, 3, 4, "");
  tpa_prune_plan_free(plan);
  tpa_importance_free(imp);

  imp = make_importance(3, 4, weak_layer, NULL);
  plan = plan_threshold(imp, 0.2, false); /* all of layer 1 is below: 1:0 stays */
  assert_plan(plan, 3, 4, "1:1 1:3 1:2 0:1");
  tpa_prune_plan_free(plan);
  plan = plan_threshold(imp, 0.2, true);
  assert_plan(plan, 3, 4, "1:1 1:3 1:2 1:0 0:1");
  tpa_prune_plan_free(plan);
  plan = plan_threshold(imp, 10.0, false);
  assert_plan(plan, 3, 4, "1:1 1:3 1:2 0:1 2:1 0:3 2:3 2:0 0:0");
  tpa_prune_plan_free(plan);
  tpa_importance_free(imp);
}
END_TEST

START_TEST(bad_arguments) {
  tpa_importance *imp = make_importance(3, 4, distinct, NULL);
  tpa_prune_plan *plan = (tpa_prune_plan *)&plan; /* must be reset to NULL */
  tpa_prune_params p;
  tpa_prune_params_init(&p, sizeof p);
  ck_assert_int_eq(tpa_prune_plan_create(NULL, imp, &p), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_prune_plan_create(&plan, NULL, &p), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(plan);
  p.num_heads = 13; /* more than 3 x 4 */
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, &p), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "13"));
  p.num_heads = -2;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, &p), TPA_ERR_INVALID_ARGUMENT);
  p.num_heads = 2;
  p.use_threshold = true;
  p.threshold = NAN;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, &p), TPA_ERR_INVALID_ARGUMENT);
  p.threshold = INFINITY;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, &p), TPA_ERR_INVALID_ARGUMENT);
  p.size = 0;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, &p), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(plan);
  /* The accessors accept NULL and out-of-range indices. */
  ck_assert_int_eq(tpa_prune_plan_num_layers(NULL), 0);
  ck_assert_int_eq(tpa_prune_plan_num_pruned(NULL), 0);
  ck_assert(!tpa_prune_plan_removes(NULL, 0, 0));
  tpa_prune_plan_free(NULL);
  plan = plan_n(imp, 12, true);
  ck_assert(!tpa_prune_plan_removes(plan, 3, 0));
  ck_assert(!tpa_prune_plan_removes(plan, 0, 4));
  ck_assert(!tpa_prune_plan_removes(plan, -1, 0));
  ck_assert(!tpa_prune_plan_removes(plan, 0, -1));
  ck_assert(tpa_prune_plan_removes(plan, 2, 3));
  tpa_prune_plan_free(plan);
  tpa_importance_free(imp);
}
END_TEST

/* A 2 x 2 table with neuron scores, through tpa_importance_load. Layer 0
 * has 5 neurons: by score 3 (.9), then 1 and 4 tied (.5), then 0 (.2),
 * then 2 (.1); layer 1 has 3: 2 (.7), 0 (.6), 1 (.3). */
static tpa_importance *neuron_table(void) {
  char *dir = temp_dir(), *path = join(dir, "imp.json");
  write_text(path, "{\"layers\":2,\"heads\":2,\"examples\":1,\"tokens\":4,"
                   "\"raw\":[[1,2],[3,4]],\"normalized\":[[0.4,0.9],[0.6,0.8]],\"blocks\":[3,7],"
                   "\"ffn_raw\":[[2,5,1,9,5],[6,3,7]],"
                   "\"ffn_normalized\":[[0.2,0.5,0.1,0.9,0.5],[0.6,0.3,0.7]]}");
  tpa_importance *imp = NULL;
  ck_assert_msg(tpa_importance_load(&imp, path) == TPA_OK, "%s", tpa_last_error());
  remove_tree(dir);
  free(path);
  free(dir);
  return imp;
}

/* A neuron-only plan: ffn_keep, or ffn_global when @p global. */
static tpa_prune_plan *plan_neurons(const tpa_importance *imp, double keep, bool global) {
  tpa_prune_params p;
  tpa_prune_params_init(&p, sizeof p);
  p.num_heads = 0;
  *(global ? &p.ffn_global : &p.ffn_keep) = keep;
  tpa_prune_plan *plan = NULL;
  tpa_status s = tpa_prune_plan_create(&plan, imp, &p);
  ck_assert_msg(s == TPA_OK, "%s %g: %s", global ? "ffn_global" : "ffn_keep", keep,
                tpa_last_error());
  return plan;
}

static tpa_prune_plan *plan_ffn(const tpa_importance *imp, double keep) {
  return plan_neurons(imp, keep, false);
}

/* Which neurons of @p layer the plan removes, as a string of 0/1. */
static void expect_neurons(const tpa_prune_plan *plan, int32_t layer, const char *want) {
  char got[16] = {0};
  const int32_t n = tpa_prune_plan_ffn_width(plan, layer);
  ck_assert_int_lt(n, (int32_t)sizeof got);
  for (int32_t j = 0; j < n; j++)
    got[j] = tpa_prune_plan_removes_neuron(plan, layer, j) ? '1' : '0';
  ck_assert_str_eq(got, want);
}

START_TEST(neurons_keep) {
  tpa_importance *imp = neuron_table();
  /* 0.5: floor(2.5 + .5) = 3 of 5 (3, then the tie 1 and 4 both), and
   * floor(1.5 + .5) = 2 of 3 (2, 0). */
  tpa_prune_plan *plan = plan_ffn(imp, 0.5);
  expect_neurons(plan, 0, "10100");
  expect_neurons(plan, 1, "010");
  ck_assert_int_eq(tpa_prune_plan_num_pruned_neurons(plan), 3);
  ck_assert_int_eq(tpa_prune_plan_num_pruned(plan), 0);
  tpa_prune_plan_free(plan);
  /* 0.4: 2 of 5, so the tie between 1 and 4 goes to the lower index;
   * floor(1.2 + .5) = 1 of 3. */
  plan = plan_ffn(imp, 0.4);
  expect_neurons(plan, 0, "10101");
  expect_neurons(plan, 1, "110");
  tpa_prune_plan_free(plan);
  /* 1: everything kept, but the plan has its neuron part. */
  plan = plan_ffn(imp, 1.0);
  expect_neurons(plan, 0, "00000");
  ck_assert_int_eq(tpa_prune_plan_ffn_width(plan, 1), 3);
  ck_assert_int_eq(tpa_prune_plan_num_pruned_neurons(plan), 0);
  /* Accessors out of range. */
  ck_assert(!tpa_prune_plan_removes_neuron(plan, 0, 5));
  ck_assert(!tpa_prune_plan_removes_neuron(plan, 2, 0));
  ck_assert(!tpa_prune_plan_removes_neuron(plan, 0, -1));
  ck_assert(!tpa_prune_plan_removes_neuron(NULL, 0, 0));
  ck_assert_int_eq(tpa_prune_plan_ffn_width(plan, 2), 0);
  ck_assert_int_eq(tpa_prune_plan_ffn_width(NULL, 0), 0);
  ck_assert_int_eq(tpa_prune_plan_num_pruned_neurons(NULL), 0);
  tpa_prune_plan_free(plan);
  /* Heads only: no neuron part. */
  plan = plan_n(imp, 1, false);
  ck_assert_int_eq(tpa_prune_plan_ffn_width(plan, 0), 0);
  tpa_prune_plan_free(plan);
  tpa_importance_free(imp);
}
END_TEST

static tpa_prune_plan *plan_global(const tpa_importance *imp, double keep) {
  return plan_neurons(imp, keep, true);
}

START_TEST(neurons_global) {
  tpa_importance *imp = neuron_table();
  /* All 8 ranked: 0:3 .9, 1:2 .7, 1:0 .6, 0:1 .5, 0:4 .5 (the tie keeps
   * the lower index first), 1:1 .3, 0:0 .2, 0:2 .1. 0.5 keeps
   * floor(4 + .5) = 4: 0:3, 1:2, 1:0, 0:1. */
  tpa_prune_plan *plan = plan_global(imp, 0.5);
  expect_neurons(plan, 0, "10101");
  expect_neurons(plan, 1, "010");
  ck_assert_int_eq(tpa_prune_plan_num_pruned_neurons(plan), 4);
  tpa_prune_plan_free(plan);
  /* 0.1 keeps floor(0.8 + .5) = 1, 0:3; layer 1 still keeps its best, 1:2. */
  plan = plan_global(imp, 0.1);
  expect_neurons(plan, 0, "11101");
  expect_neurons(plan, 1, "110");
  tpa_prune_plan_free(plan);
  /* Both policies at once are refused. */
  tpa_prune_params p;
  tpa_prune_params_init(&p, sizeof p);
  ck_assert(p.ffn_global == 0.0);
  p.ffn_keep = 0.5;
  p.ffn_global = 0.5;
  plan = (tpa_prune_plan *)&plan;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, &p), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "not both"));
  ck_assert_ptr_null(plan);
  p.ffn_keep = 0;
  p.ffn_global = 1.5;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, &p), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "ffn_global"));
  tpa_importance_free(imp);
}
END_TEST

START_TEST(neurons_bad) {
  tpa_importance *imp = neuron_table();
  tpa_prune_params p;
  tpa_prune_params_init(&p, sizeof p);
  ck_assert(p.ffn_keep == 0.0);
  tpa_prune_plan *plan = (tpa_prune_plan *)&plan;
  const double bad[] = {-0.1, 1.5, NAN, INFINITY};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    p.ffn_keep = bad[i];
    ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, &p), TPA_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(tpa_last_error(), "ffn_keep"));
    ck_assert_ptr_null(plan);
  }
  /* 0.1 keeps floor(0.3 + 0.5) = 0 of layer 1's 3. */
  p.ffn_keep = 0.1;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, &p), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "layer 1"));
  /* A table without neuron scores. */
  tpa_importance *heads = make_importance(3, 4, distinct, NULL);
  p.ffn_keep = 0.5;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, heads, &p), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "--ffn"));
  tpa_importance_free(heads);
  tpa_importance_free(imp);
}
END_TEST

/* An older caller's shorter struct: fields past its size take defaults. */
START_TEST(short_params) {
  tpa_importance *imp = make_importance(3, 4, distinct, NULL);
  tpa_prune_params p;
  tpa_prune_params_init(&p, sizeof p);
  p.size = offsetof(tpa_prune_params, use_threshold);
  p.num_heads = 2;
  p.use_threshold = true; /* beyond size: must be ignored */
  p.threshold = 1.0;
  tpa_prune_plan *plan = NULL;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, &p), TPA_OK);
  assert_plan(plan, 3, 4, "1:0 0:1");
  tpa_prune_plan_free(plan);
  tpa_importance_free(imp);
}
END_TEST

Suite *plan_suite(void) {
  Suite *s = suite_create("plan");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"defaults", defaults},
      {"global_n", global_n},
      {"default_count", default_count},
      {"ties", ties},
      {"no_empty_layer", no_empty_layer},
      {"allow_empty_layers", allow_empty_layers},
      {"already_pruned", already_pruned},
      {"threshold", threshold},
      {"bad_arguments", bad_arguments},
      {"short_params", short_params},
      {"neurons_keep", neurons_keep},
      {"neurons_bad", neurons_bad},
      {"neurons_global", neurons_global},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}
