/* SPDX-License-Identifier: Apache-2.0 */
/* AdamW, the schedule and clipping against PyTorch's own values
 * (tests/fixtures/train/optim.json, from gen_train_fixtures.py), plus
 * hand-derived cases and the shuffle generator's properties. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stages/optim.h"
#include "train_tests.h"

static void read_floats(const json_t *arr, float *out, size_t n) {
  ck_assert_uint_eq(json_array_size(arr), n);
  for (size_t i = 0; i < n; i++)
    out[i] = (float)json_number_value(json_array_get(arr, i));
}

/* Eight steps of AdamW with clipping and the warmup schedule, on a
 * decayed weight and an undecayed bias, as torch ran them. */
START_TEST(adamw_matches_torch) {
  json_t *root = load_optim_fixture();
  const json_t *c = json_object_get(root, "adamw");
  const double lr = json_number_value(json_object_get(c, "lr"));
  const double wd = json_number_value(json_object_get(c, "weight_decay"));
  const int64_t total = json_integer_value(json_object_get(c, "total_steps"));
  const double ratio = json_number_value(json_object_get(c, "warmup_ratio"));
  const double max_norm = json_number_value(json_object_get(c, "max_grad_norm"));
  const int64_t warmup = tpa__warmup_steps(ratio, total);
  ck_assert_int_eq(warmup, json_integer_value(json_object_get(c, "warmup_steps")));
  float w[12], b[4], gw[12], gb[4], mw[12] = {0}, vw[12] = {0}, mb[4] = {0}, vb[4] = {0};
  float want_w[12], want_b[4];
  read_floats(json_object_get(c, "w0"), w, 12);
  read_floats(json_object_get(c, "b0"), b, 4);
  const tpa__adamw opt = {0.9, 0.999, 1e-8, wd};
  const json_t *steps = json_object_get(c, "steps");
  ck_assert_int_eq((int64_t)json_array_size(steps), total);
  for (int64_t t = 0; t < total; t++) {
    const json_t *s = json_array_get(steps, (size_t)t);
    read_floats(json_object_get(s, "gw"), gw, 12);
    read_floats(json_object_get(s, "gb"), gb, 4);
    tpa__grad_span spans[2] = {{gw, 12}, {gb, 4}};
    const double norm = tpa__clip_grad_norm(spans, 2, max_norm);
    const double want_norm = json_number_value(json_object_get(s, "norm"));
    ck_assert_msg(fabs(norm - want_norm) <= 1e-6 * want_norm, "step %d: norm %.9g, torch %.9g",
                  (int)t, norm, want_norm);
    const double rate = tpa__linear_lr(lr, t, warmup, total);
    ck_assert_double_eq_tol(rate, json_number_value(json_object_get(s, "lr")), 1e-15);
    tpa__adamw_update(&opt, t + 1, rate, true, w, gw, mw, vw, 12);
    tpa__adamw_update(&opt, t + 1, rate, false, b, gb, mb, vb, 4);
    read_floats(json_object_get(s, "w"), want_w, 12);
    read_floats(json_object_get(s, "b"), want_b, 4);
    for (int i = 0; i < 12; i++)
      ck_assert_msg(fabsf(w[i] - want_w[i]) <= 2e-6f * (1 + fabsf(want_w[i])),
                    "step %d w[%d]: %.9g, torch %.9g", (int)t, i, w[i], want_w[i]);
    for (int i = 0; i < 4; i++)
      ck_assert_msg(fabsf(b[i] - want_b[i]) <= 2e-6f * (1 + fabsf(want_b[i])),
                    "step %d b[%d]: %.9g, torch %.9g", (int)t, i, b[i], want_b[i]);
  }
  json_decref(root);
}
END_TEST

/* The first update by hand: m = 0.1 g, v = 0.001 g^2, bias-corrected
 * ratio m_hat / sqrt(v_hat) = sign(g), so p moves by lr (plus decay). */
START_TEST(adamw_first_step_by_hand) {
  const tpa__adamw opt = {0.9, 0.999, 1e-8, 0.5};
  float p[2] = {1.0f, -2.0f}, g[2] = {0.25f, -4.0f}, m[2] = {0}, v[2] = {0};
  tpa__adamw_update(&opt, 1, 0.1, true, p, g, m, v, 2);
  /* p * (1 - 0.1 * 0.5) - 0.1 * sign(g) (eps is negligible) */
  ck_assert_float_eq_tol(p[0], 0.95f - 0.1f, 1e-6f);
  ck_assert_float_eq_tol(p[1], -1.9f + 0.1f, 1e-6f);
  ck_assert_float_eq_tol(m[0], 0.025f, 1e-9f);
  ck_assert_float_eq_tol(v[1], 0.016f, 1e-8f);
  /* Without decay the value only moves by the step. */
  float q = 1.0f, gq = 1.0f, mq = 0, vq = 0;
  tpa__adamw_update(&opt, 1, 0.1, false, &q, &gq, &mq, &vq, 1);
  ck_assert_float_eq_tol(q, 0.9f, 1e-6f);
}
END_TEST

START_TEST(schedule_matches_torch) {
  json_t *root = load_optim_fixture();
  const json_t *c = json_object_get(root, "schedule");
  const int64_t total = json_integer_value(json_object_get(c, "total_steps"));
  const double ratio = json_number_value(json_object_get(c, "warmup_ratio"));
  const double peak = json_number_value(json_object_get(c, "peak"));
  const int64_t warmup = tpa__warmup_steps(ratio, total);
  ck_assert_int_eq(warmup, json_integer_value(json_object_get(c, "warmup_steps")));
  const json_t *lrs = json_object_get(c, "lrs");
  for (size_t t = 0; t < json_array_size(lrs); t++)
    ck_assert_msg(fabs(tpa__linear_lr(peak, (int64_t)t, warmup, total) -
                       json_number_value(json_array_get(lrs, t))) < 1e-15,
                  "step %zu", t);
  json_decref(root);
}
END_TEST

START_TEST(schedule_edges) {
  /* HF's get_warmup_steps: ceil(ratio * total). */
  ck_assert_int_eq(tpa__warmup_steps(0.06, 100), 6);
  ck_assert_int_eq(tpa__warmup_steps(0.06, 101), 7);
  ck_assert_int_eq(tpa__warmup_steps(0.0, 100), 0);
  ck_assert_int_eq(tpa__warmup_steps(1.0, 10), 10);
  /* No warmup: the first step uses the peak, the last 1/total of it. */
  ck_assert_double_eq(tpa__linear_lr(2.0, 0, 0, 4), 2.0);
  ck_assert_double_eq(tpa__linear_lr(2.0, 3, 0, 4), 0.5);
  ck_assert_double_eq(tpa__linear_lr(2.0, 4, 0, 4), 0.0);
  ck_assert_double_eq(tpa__linear_lr(2.0, 9, 0, 4), 0.0);
  /* Warmup: 0, then rising. */
  ck_assert_double_eq(tpa__linear_lr(1.0, 0, 2, 10), 0.0);
  ck_assert_double_eq(tpa__linear_lr(1.0, 1, 2, 10), 0.5);
  ck_assert_double_eq(tpa__linear_lr(1.0, 2, 2, 10), 1.0);
}
END_TEST

/* Norm 5 (3-4-0 over two tensors): clipped to 1 by 1/(5+1e-6); a norm
 * under the limit leaves the gradients bit for bit. */
START_TEST(clipping_by_hand) {
  float a[2] = {3.0f, 0.0f}, b[1] = {4.0f};
  tpa__grad_span s[2] = {{a, 2}, {b, 1}};
  ck_assert_double_eq_tol(tpa__grad_global_norm(s, 2), 5.0, 1e-12);
  double n = tpa__clip_grad_norm(s, 2, 1.0);
  ck_assert_double_eq_tol(n, 5.0, 1e-12);
  ck_assert_float_eq_tol(a[0], (float)(3.0 / (5.0 + 1e-6)), 1e-7f);
  ck_assert_float_eq_tol(b[0], (float)(4.0 / (5.0 + 1e-6)), 1e-7f);
  float c[2] = {0.3f, 0.4f};
  tpa__grad_span sc = {c, 2};
  tpa__clip_grad_norm(&sc, 1, 1.0);
  ck_assert(c[0] == 0.3f && c[1] == 0.4f);
  /* max_norm 0 = no clipping. */
  float d[1] = {100.0f};
  tpa__grad_span sd = {d, 1};
  ck_assert_double_eq(tpa__clip_grad_norm(&sd, 1, 0.0), 100.0);
  ck_assert(d[0] == 100.0f);
}
END_TEST

START_TEST(shuffle_is_seeded_permutation) {
  enum { N = 1000 };
  size_t a[N], b[N], c[N];
  for (size_t i = 0; i < N; i++)
    a[i] = b[i] = c[i] = i;
  uint64_t s1 = 42, s2 = 42, s3 = 43;
  tpa__rng_shuffle(&s1, a, N);
  tpa__rng_shuffle(&s2, b, N);
  tpa__rng_shuffle(&s3, c, N);
  ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
  ck_assert_int_ne(memcmp(a, c, sizeof a), 0);
  ck_assert_uint_eq(s1, s2);
  bool seen[N] = {false};
  size_t fixed = 0;
  for (size_t i = 0; i < N; i++) {
    ck_assert_uint_lt(a[i], N);
    ck_assert(!seen[a[i]]);
    seen[a[i]] = true;
    fixed += a[i] == i;
  }
  ck_assert_uint_lt(fixed, 10); /* a real shuffle leaves ~1 element in place */
  /* Each bound's values come out equally often (chi-square, 5 bins). */
  uint64_t st = 7;
  int bins[5] = {0};
  for (int i = 0; i < 50000; i++)
    bins[tpa__rng_below(&st, 5)]++;
  double chi = 0;
  for (int i = 0; i < 5; i++)
    chi += (bins[i] - 10000.0) * (bins[i] - 10000.0) / 10000.0;
  ck_assert_double_lt(chi, 20.0);
  ck_assert_uint_ne(tpa__mix64(42, 1), tpa__mix64(42, 2));
  ck_assert_uint_ne(tpa__mix64(42, 1), tpa__mix64(43, 1));
}
END_TEST

Suite *optim_suite(void) {
  Suite *s = suite_create("optim");
  TCase *tc = tcase_create("adamw");
  tcase_add_test(tc, adamw_matches_torch);
  tcase_add_test(tc, adamw_first_step_by_hand);
  suite_add_tcase(s, tc);
  tc = tcase_create("schedule");
  tcase_add_test(tc, schedule_matches_torch);
  tcase_add_test(tc, schedule_edges);
  suite_add_tcase(s, tc);
  tc = tcase_create("clipping");
  tcase_add_test(tc, clipping_by_hand);
  suite_add_tcase(s, tc);
  tc = tcase_create("shuffle");
  tcase_add_test(tc, shuffle_is_seeded_permutation);
  suite_add_tcase(s, tc);
  return s;
}
