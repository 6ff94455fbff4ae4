/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_lora_set_create and the set's internal helpers: PEFT's
 * initialisation (A Kaiming-uniform a = sqrt(5), B zero, modules_to_save
 * copies equal to the model's), ranks and alphas per module, exact
 * parameter counts derived by hand, and argument validation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "stages/lora.h"
#include "util.h"

/* tiny-pruned: 3 layers, hidden 96, 6 heads of 16; layers keep 4, 6, 2
 * heads, so attention widths 64, 96, 32. */
static const int32_t pruned_width[3] = {64, 96, 32};

static tpa_lora_set *make(const tpa_model *m, int32_t rank, const int32_t *ranks,
                          const float *alphas, uint64_t seed) {
  tpa_lora_params p;
  tpa_lora_params_init(&p, sizeof p);
  p.rank = rank;
  p.ranks = ranks;
  p.alphas = alphas;
  p.seed = seed;
  tpa_lora_set *s = NULL;
  tpa_status st = tpa_lora_set_create(&s, m, &p);
  ck_assert_msg(st == TPA_OK, "create: %s", tpa_last_error());
  return s;
}

static bool all_zero(const float *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (v[i] != 0.0f)
      return false;
  return true;
}

/* A fresh set changes nothing: B is zero (so B A x = 0) and the weights a
 * forward reads through it are the model's, value for value. */
START_TEST(fresh_is_noop) {
  tpa_model *m = load_fixture("tiny-pruned");
  tpa_lora_set *s = make(m, 8, NULL, NULL, 42);
  for (int32_t l = 0; l < 3; l++)
    for (int32_t k = 0; k < TPA_LORA_MODULES; k++) {
      tpa__lora_mod *mod = tpa__lora_at(s, l, k);
      int32_t in = k == TPA_LORA_OUTPUT ? pruned_width[l] : 96;
      int32_t out = k == TPA_LORA_OUTPUT ? 96 : pruned_width[l];
      ck_assert_int_eq(mod->in, in);
      ck_assert_int_eq(mod->out, out);
      ck_assert(all_zero(mod->b, (size_t)out * 8));
      ck_assert(!all_zero(mod->a, (size_t)8 * in));
    }
  tpa__weights w;
  tpa__layer *layers = NULL;
  ck_assert_int_eq(tpa__lora_effective_weights(s, m, &w, &layers), TPA_OK);
  ck_assert_ptr_nonnull(layers);
  ck_assert_ptr_eq(w.word_emb, m->w.word_emb);
  ck_assert_ptr_eq(w.pool_w, m->w.pool_w);
  ck_assert_ptr_eq(w.emb_ln_g, s->emb_ln_g);
  ck_assert_ptr_eq(w.cls_w, s->cls_w);
  ck_assert_mem_eq(w.emb_ln_g, m->w.emb_ln_g, 96 * sizeof(float));
  ck_assert_mem_eq(w.emb_ln_b, m->w.emb_ln_b, 96 * sizeof(float));
  ck_assert_mem_eq(w.cls_w, m->w.cls_w, 2 * 96 * sizeof(float));
  ck_assert_mem_eq(w.cls_b, m->w.cls_b, 2 * sizeof(float));
  for (int32_t l = 0; l < 3; l++) {
    ck_assert_ptr_eq(w.layer[l].q_w, m->w.layer[l].q_w);
    ck_assert_ptr_eq(w.layer[l].ln1_g, s->ln1_g + l * 96);
    ck_assert_int_eq(w.layer[l].n_heads, m->w.layer[l].n_heads);
    ck_assert_mem_eq(w.layer[l].ln1_g, m->w.layer[l].ln1_g, 96 * sizeof(float));
    ck_assert_mem_eq(w.layer[l].ln1_b, m->w.layer[l].ln1_b, 96 * sizeof(float));
    ck_assert_mem_eq(w.layer[l].ln2_g, m->w.layer[l].ln2_g, 96 * sizeof(float));
    ck_assert_mem_eq(w.layer[l].ln2_b, m->w.layer[l].ln2_b, 96 * sizeof(float));
  }
  /* The model itself still reads its own arrays. */
  ck_assert_ptr_ne(m->w.emb_ln_g, s->emb_ln_g);
  free(layers);
  tpa_lora_set_free(s);
  tpa_model_free(m);
}
END_TEST

/* torch.nn.init.kaiming_uniform_(A, a=sqrt(5)) draws U(-b, b) with
 * b = sqrt(6 / ((1 + a^2) fan_in)) = 1/sqrt(in). Check the law on a large
 * draw (rank 1024): bounds, mean, variance b^2/3 and the central half. */
static void check_uniform(const float *a, size_t n, int32_t in) {
  double b = 1.0 / sqrt((double)in), sum = 0, sq = 0, mx = 0;
  size_t central = 0;
  for (size_t i = 0; i < n; i++) {
    double v = a[i];
    ck_assert_msg(fabs(v) <= (double)(float)b, "value %g beyond bound %g", v, b);
    sum += v;
    sq += v * v;
    mx = fmax(mx, fabs(v));
    central += fabs(v) < b / 2;
  }
  double mean = sum / (double)n, var = sq / (double)n - mean * mean;
  ck_assert_msg(mx > 0.999 * b, "max %g, bound %g", mx, b);
  /* std of the mean is b/sqrt(3n); 5 sigma. */
  ck_assert_msg(fabs(mean) < 5 * b / sqrt(3.0 * (double)n), "mean %g", mean);
  /* std of the mean of v^2 is b^2 sqrt(4/(45 n)): about 0.1% of b^2/3 here. */
  ck_assert_msg(fabs(var / (b * b / 3) - 1) < 0.015, "variance %g, expected %g", var, b * b / 3);
  ck_assert_msg(fabs((double)central / (double)n - 0.5) < 0.01, "central share %g",
                (double)central / (double)n);
}

START_TEST(kaiming_uniform_law) {
  tpa_model *m = load_fixture("tiny-pruned");
  tpa_lora_set *s = make(m, 1024, NULL, NULL, 7);
  check_uniform(tpa__lora_at(s, 0, TPA_LORA_QUERY)->a, (size_t)1024 * 96, 96);
  check_uniform(tpa__lora_at(s, 2, TPA_LORA_OUTPUT)->a, (size_t)1024 * 32, 32);
  check_uniform(tpa__lora_at(s, 0, TPA_LORA_OUTPUT)->a, (size_t)1024 * 64, 64);
  /* Different modules draw different values. */
  ck_assert(memcmp(tpa__lora_at(s, 0, TPA_LORA_QUERY)->a, tpa__lora_at(s, 0, TPA_LORA_KEY)->a,
                   64 * sizeof(float)) != 0);
  tpa_lora_set_free(s);
  tpa_model_free(m);
}
END_TEST

START_TEST(deterministic_per_seed) {
  tpa_model *m = load_fixture("tiny-pruned");
  tpa_lora_set *a = make(m, 8, NULL, NULL, 1234), *b = make(m, 8, NULL, NULL, 1234),
               *c = make(m, 8, NULL, NULL, 1235);
  for (int32_t l = 0; l < 3; l++)
    for (int32_t k = 0; k < TPA_LORA_MODULES; k++) {
      const tpa__lora_mod *x = tpa__lora_at(a, l, k), *y = tpa__lora_at(b, l, k),
                          *z = tpa__lora_at(c, l, k);
      size_t n = (size_t)x->rank * (size_t)x->in * sizeof(float);
      ck_assert_mem_eq(x->a, y->a, n);
      ck_assert(memcmp(x->a, z->a, n) != 0);
    }
  tpa_lora_set_free(a);
  tpa_lora_set_free(b);
  tpa_lora_set_free(c);
  tpa_model_free(m);
}
END_TEST

START_TEST(ranks_and_alphas) {
  tpa_model *m = load_fixture("tiny-pruned");
  tpa_lora_set *s = make(m, 4, NULL, NULL, 42);
  ck_assert_int_eq(tpa_lora_set_rank(s, 2, TPA_LORA_VALUE), 4);
  ck_assert_float_eq(tpa_lora_set_alpha(s, 2, TPA_LORA_VALUE), 8.0f); /* 2 * r */
  ck_assert_int_eq(tpa_lora_set_rank(s, 3, TPA_LORA_QUERY), -1);
  ck_assert_int_eq(tpa_lora_set_rank(s, -1, TPA_LORA_QUERY), -1);
  /* The feed-forward's modules exist (0.6) but take no LoRA by default. */
  ck_assert_int_eq(tpa_lora_set_rank(s, 0, TPA_LORA_INTERMEDIATE), 0);
  ck_assert_int_eq(tpa_lora_set_rank(s, 0, TPA_LORA_FFN_OUTPUT), 0);
  ck_assert_int_eq(tpa_lora_set_rank(s, 0, (tpa_lora_module)6), -1);
  /* Out of range is a fault for both accessors: -1, never "not adapted". */
  ck_assert_float_eq(tpa_lora_set_alpha(s, 3, TPA_LORA_QUERY), -1.0f);
  ck_assert_float_eq(tpa_lora_set_alpha(s, 0, (tpa_lora_module)6), -1.0f);
  ck_assert_float_eq(tpa_lora_set_alpha(NULL, 0, TPA_LORA_QUERY), -1.0f);
  ck_assert_int_eq(tpa_lora_set_rank(NULL, 0, TPA_LORA_QUERY), -1);
  tpa_lora_set_free(s);

  tpa_lora_params p;
  tpa_lora_params_init(&p, sizeof p);
  p.alpha = 5.0f;
  ck_assert_int_eq(tpa_lora_set_create(&s, m, &p), TPA_OK);
  ck_assert_int_eq(tpa_lora_set_rank(s, 1, TPA_LORA_OUTPUT), 8); /* default rank */
  ck_assert_float_eq(tpa_lora_set_alpha(s, 1, TPA_LORA_OUTPUT), 5.0f);
  tpa_lora_set_free(s);

  int32_t ranks[12] = {8, 8, 8, 8, 4, 0, 4, 4, 2, 2, 1, 16};
  float alphas[12] = {0, 3, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0.5f};
  s = make(m, 8, ranks, alphas, 42);
  for (int32_t i = 0; i < 12; i++) {
    int32_t l = i / 4, k = i % 4;
    ck_assert_int_eq(tpa_lora_set_rank(s, l, (tpa_lora_module)k), ranks[i]);
    float want = ranks[i] == 0 ? 0.0f : alphas[i] > 0 ? alphas[i] : 2.0f * (float)ranks[i];
    ck_assert_float_eq(tpa_lora_set_alpha(s, l, (tpa_lora_module)k), want);
  }
  ck_assert_ptr_null(tpa__lora_at(s, 1, TPA_LORA_KEY)->a);
  ck_assert_ptr_null(tpa__lora_at(s, 1, TPA_LORA_KEY)->b);
  tpa_lora_set_free(s);
  tpa_model_free(m);
}
END_TEST

/* Counts derived by hand: a module of rank r costs r * (in + out); the
 * LayerNorms 2 * 96 (embeddings) + 4 * 96 per layer; the classifier
 * 2 * 96 + 2. */
START_TEST(num_params_exact) {
  tpa_model *m = load_fixture("tiny-pruned");
  tpa_lora_set *s = make(m, 8, NULL, NULL, 42);
  /* 4 modules * 8 * (96 + width): 32 * (160 + 192 + 128) = 15360. */
  ck_assert_uint_eq(tpa_lora_set_num_params(s), 15360 + 1344 + 194);
  tpa_lora_set_free(s);
  int32_t ranks[12] = {8, 8, 8, 8, 4, 0, 4, 4, 2, 2, 1, 16};
  s = make(m, 8, ranks, NULL, 42);
  /* layer 0 (width 64): 4 * 8 * 160 = 5120; layer 1 (96): 3 * 4 * 192 =
   * 2304; layer 2 (32): (2 + 2 + 1 + 16) * 128 = 2688. */
  ck_assert_uint_eq(tpa_lora_set_num_params(s), 5120 + 2304 + 2688 + 1344 + 194);
  tpa_lora_set_free(s);
  tpa_model_free(m);
  m = load_fixture("tiny");
  s = make(m, 8, NULL, NULL, 42);
  ck_assert_uint_eq(tpa_lora_set_num_params(s), 3 * 4 * 8 * 192 + 1344 + 194);
  tpa_lora_set_free(s);
  tpa_model_free(m);
  ck_assert_uint_eq(tpa_lora_set_num_params(NULL), 0);
}
END_TEST

static void expect_invalid(const tpa_model *m, const tpa_lora_params *p, const char *needle);

/* The feed-forward's denses: ranks per block from ffn_ranks, sized
 * hidden -> intermediate and back, counted in num_params, validated. */
START_TEST(ffn_ranks) {
  tpa_model *m = load_fixture("tiny-pruned"); /* hidden 96, intermediate 200 */
  int32_t att[12] = {0};
  int32_t ffn[6] = {4, 0, 2, 2, 0, 8};
  float ffn_alphas[6] = {0, 0, 3, 0, 0, 1.5f};
  tpa_lora_params p;
  tpa_lora_params_init(&p, sizeof p);
  p.ranks = att;
  p.ffn_ranks = ffn;
  p.ffn_alphas = ffn_alphas;
  tpa_lora_set *s = NULL;
  ck_assert_msg(tpa_lora_set_create(&s, m, &p) == TPA_OK, "%s", tpa_last_error());
  for (int32_t l = 0; l < 3; l++) {
    ck_assert_int_eq(tpa_lora_set_rank(s, l, TPA_LORA_QUERY), 0);
    for (int k = 0; k < 2; k++) {
      tpa_lora_module mod = k ? TPA_LORA_FFN_OUTPUT : TPA_LORA_INTERMEDIATE;
      int32_t r = ffn[2 * l + k];
      float a = r == 0 ? 0.0f : ffn_alphas[2 * l + k] > 0 ? ffn_alphas[2 * l + k] : 2.0f * r;
      ck_assert_int_eq(tpa_lora_set_rank(s, l, mod), r);
      ck_assert_float_eq(tpa_lora_set_alpha(s, l, mod), a);
      const tpa__lora_mod *lm = tpa__lora_at(s, l, mod);
      ck_assert_int_eq(lm->in, k ? 200 : 96);
      ck_assert_int_eq(lm->out, k ? 96 : 200);
    }
  }
  /* (4 + 2 + 2 + 8) * (96 + 200) A/B values, LayerNorms, classifier. */
  ck_assert_uint_eq(tpa_lora_set_num_params(s), 16 * 296 + 1344 + 194);
  /* A fresh set is a no-op on the FFN too: B starts at zero. */
  const tpa__lora_mod *lm = tpa__lora_at(s, 2, TPA_LORA_FFN_OUTPUT);
  for (int32_t i = 0; i < lm->out * lm->rank; i++)
    ck_assert_float_eq(lm->b[i], 0.0f);
  tpa_lora_set_free(s);
  ffn[3] = 1025;
  expect_invalid(m, &p, "ffn_ranks[3] (layer 1, entry 1)");
  ffn[3] = 2;
  ffn_alphas[2] = -1.0f;
  expect_invalid(m, &p, "ffn_alphas[2]");
  tpa_model_free(m);
}
END_TEST

static void expect_invalid(const tpa_model *m, const tpa_lora_params *p, const char *needle) {
  tpa_lora_set *s = (tpa_lora_set *)1;
  tpa_status st = tpa_lora_set_create(&s, m, p);
  ck_assert_int_eq(st, TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(s);
  ck_assert_msg(strstr(tpa_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"",
                tpa_last_error(), needle);
}

START_TEST(invalid_params) {
  tpa_model *m = load_fixture("tiny");
  tpa_lora_params p;
  tpa_lora_params_init(&p, sizeof p);
  p.rank = 0;
  expect_invalid(m, &p, "rank 0");
  p.rank = 1025;
  expect_invalid(m, &p, "rank 1025");
  p.rank = -3;
  expect_invalid(m, &p, "rank -3");
  p.rank = 8;
  p.alpha = -1.0f;
  expect_invalid(m, &p, "alpha");
  p.alpha = NAN;
  expect_invalid(m, &p, "alpha");
  p.alpha = 0;
  int32_t ranks[12] = {8, 8, 8, 8, 8, -1, 8, 8, 8, 8, 8, 8};
  p.ranks = ranks;
  expect_invalid(m, &p, "ranks[5]");
  ranks[5] = 8;
  float alphas[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, INFINITY};
  p.alphas = alphas;
  expect_invalid(m, &p, "alphas[11]");
  expect_invalid(NULL, NULL, "model is NULL");
  p.size = 3;
  expect_invalid(m, &p, "params");
  ck_assert_int_eq(tpa_lora_set_create(NULL, m, NULL), TPA_ERR_INVALID_ARGUMENT);
  tpa_lora_set_free(NULL);
  tpa_model_free(m);
}
END_TEST

START_TEST(clone_copy_check) {
  tpa_model *m = load_fixture("tiny-pruned"), *full = load_fixture("tiny");
  int32_t ranks[12] = {8, 8, 8, 8, 4, 0, 4, 4, 2, 2, 1, 16};
  tpa_lora_set *s = make(m, 8, ranks, NULL, 42), *z = NULL;
  ck_assert_int_eq(tpa__lora_set_clone_zero(&z, s), TPA_OK);
  tpa__tensor_ref rs[64], rz[64];
  size_t ns = tpa__lora_set_tensors(s, rs, 64), nz = tpa__lora_set_tensors(z, rz, 64);
  ck_assert_uint_eq(ns, nz);
  for (size_t i = 0; i < ns; i++) {
    ck_assert_str_eq(rs[i].name, rz[i].name);
    ck_assert_uint_eq(rs[i].count, rz[i].count);
    ck_assert_ptr_ne(rs[i].data, rz[i].data);
    ck_assert(all_zero(rz[i].data, rz[i].count));
  }
  ck_assert_int_eq(tpa__lora_set_check(z, m), TPA_OK);
  tpa__lora_set_copy(z, s);
  for (size_t i = 0; i < ns; i++)
    ck_assert_mem_eq(rs[i].data, rz[i].data, rs[i].count * sizeof(float));
  /* A set for the pruned model does not fit the unpruned one. */
  ck_assert_int_eq(tpa__lora_set_check(s, full), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "layer 0"));
  tpa__weights w;
  tpa__layer *layers = (tpa__layer *)1;
  ck_assert_int_eq(tpa__lora_effective_weights(s, full, &w, &layers), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(layers);
  tpa_lora_set_free(s);
  tpa_lora_set_free(z);
  tpa_model_free(m);
  tpa_model_free(full);
}
END_TEST

Suite *create_suite(void) {
  Suite *s = suite_create("lora-create");
  struct {
    const char *name;
    const TTest *fn;
  } cases[] = {
      {"fresh_is_noop", fresh_is_noop},
      {"kaiming_uniform_law", kaiming_uniform_law},
      {"deterministic_per_seed", deterministic_per_seed},
      {"ranks_and_alphas", ranks_and_alphas},
      {"ffn_ranks", ffn_ranks},
      {"num_params_exact", num_params_exact},
      {"invalid_params", invalid_params},
      {"clone_copy_check", clone_copy_check},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cases[i].fn);
    suite_add_tcase(s, tc);
  }
  return s;
}
