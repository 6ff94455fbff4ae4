/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_model_save_dense: the dense export of tiny-pruned has the original
 * shapes, no pruned_heads, the kept heads' values of the UNPRUNED fixture
 * `tiny` it was cut from (tests/fixtures/gen_fixtures.py) and exact zeros
 * for the pruned heads' Q/K/V rows, biases and output-dense columns; it
 * reloads to the compact model's logits within 1e-5 and PyTorch's within
 * 1e-4, also after a merge. An unpruned model's dense export is its
 * compact one. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "merge_tests.h"

#define TOL_DENSE 1e-5
#define TOL_REF 1e-4

/* tiny-pruned's removed heads (gen_fixtures.py PRUNED). */
static bool removed(int32_t layer, int32_t head) {
  return (layer == 0 && (head == 1 || head == 4)) ||
         (layer == 2 && (head == 0 || head == 2 || head == 3 || head == 5));
}

/* Save @p m dense into a new temporary directory and reload it. */
static tpa_model *dense_roundtrip(const tpa_model *m, char **dir) {
  *dir = temp_dir();
  ck_assert_msg(tpa_model_save_dense(m, *dir) == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_eq(count_entries(*dir), 4);
  tpa_model *r = NULL;
  ck_assert_msg(tpa_model_load(&r, *dir, NULL) == TPA_OK, "reloading: %s", tpa_last_error());
  return r;
}

START_TEST(dense_reload_logits) {
  tpa_model *m = load_fixture("tiny-pruned"), *full = load_fixture("tiny");
  char *dir;
  tpa_model *r = dense_roundtrip(m, &dir);
  /* Full width everywhere: every head back, the unpruned counts. */
  for (int32_t l = 0; l < 3; l++)
    ck_assert_int_eq(tpa_model_layer_num_heads(r, l), 6);
  tpa_param_counts pr = {.size = sizeof pr}, pf = {.size = sizeof pf};
  ck_assert_int_eq(tpa_model_param_counts(r, &pr), TPA_OK);
  ck_assert_int_eq(tpa_model_param_counts(full, &pf), TPA_OK);
  ck_assert_mem_eq(&pr, &pf, sizeof pr);
  /* No pruned_heads key at all (HF would prune again when loading). */
  char *cfg_path = join(dir, "config.json");
  json_error_t err;
  json_t *cfg = json_load_file(cfg_path, 0, &err);
  ck_assert_msg(cfg != NULL, "%s: %s", cfg_path, err.text);
  ck_assert_ptr_null(json_object_get(cfg, "pruned_heads"));
  ck_assert_int_eq(json_integer_value(json_object_get(cfg, "num_attention_heads")), 6);
  json_decref(cfg);
  free(cfg_path);
  size_t n0, n1;
  double ref0, ref1;
  float *a = reference_logits(m, "tiny-pruned/reference.json", &n0, &ref0);
  float *b = reference_logits(r, "tiny-pruned/reference.json", &n1, &ref1);
  ck_assert_uint_eq(n0, n1);
  double d = max_diff(a, b, n0);
  ck_assert_msg(d <= TOL_DENSE, "dense vs compact: %g", d);
  ck_assert_msg(ref1 <= TOL_REF, "dense: %g from PyTorch's logits", ref1);
  /* The pruned heads matter: the unpruned model's logits are elsewhere. */
  float *c = reference_logits(full, "tiny-pruned/reference.json", &n1, NULL);
  ck_assert_msg(max_diff(a, c, n0) > 1e-3, "pruning changed nothing: a vacuous test");
  remove_dir(dir);
  free(dir);
  free(a);
  free(b);
  free(c);
  tpa_model_free(r);
  tpa_model_free(full);
  tpa_model_free(m);
}
END_TEST

static const float *tensor(const tpa__st_file *f, const char *fmt, int32_t layer, size_t count,
                           float **owned) {
  char name[128];
  snprintf(name, sizeof name, fmt, layer);
  const tpa__st_tensor *t = tpa__st_find(f, name);
  ck_assert_msg(t != NULL, "%s: no %s", f->path, name);
  ck_assert_uint_eq(t->numel, count);
  const float *p = NULL;
  ck_assert_msg(tpa__st_as_f32(f, t, &p, owned) == TPA_OK, "%s", tpa_last_error());
  return p;
}

/* Q/K/V rows and biases and O columns, head by head: the kept heads hold
 * tiny's values exactly, the removed heads exact zeros. */
START_TEST(dense_values) {
  tpa_model *m = load_fixture("tiny-pruned");
  char *dir = temp_dir();
  ck_assert_msg(tpa_model_save_dense(m, dir) == TPA_OK, "%s", tpa_last_error());
  char *got_path = join(dir, "model.safetensors"), *want_path = fixture("tiny/model.safetensors");
  tpa__st_file got, want;
  ck_assert_msg(tpa__st_open(&got, got_path) == TPA_OK, "%s", tpa_last_error());
  ck_assert_msg(tpa__st_open(&want, want_path) == TPA_OK, "%s", tpa_last_error());
  ck_assert_uint_eq(got.n, want.n);
  const size_t H = 96, d = 16, A = 96;
  static const char *const rows[] = {"query", "key", "value"};
  size_t zeros = 0;
  for (int32_t l = 0; l < 3; l++) {
    for (int k = 0; k < 3; k++)
      for (int bias = 0; bias < 2; bias++) {
        char fmt[128];
        snprintf(fmt, sizeof fmt, "bert.encoder.layer.%%d.attention.self.%s.%s", rows[k],
                 bias ? "bias" : "weight");
        size_t per_row = bias ? 1 : H;
        float *o1 = NULL, *o2 = NULL;
        const float *g = tensor(&got, fmt, l, A * per_row, &o1);
        const float *w = tensor(&want, fmt, l, A * per_row, &o2);
        for (int32_t h = 0; h < 6; h++)
          for (size_t i = (size_t)h * d * per_row; i < (size_t)(h + 1) * d * per_row; i++) {
            ck_assert_msg(g[i] == (removed(l, h) ? 0.0f : w[i]), "%s layer %d head %d [%zu]", fmt,
                          l, h, i);
            zeros += removed(l, h);
          }
        free(o1);
        free(o2);
      }
    float *o1 = NULL, *o2 = NULL;
    const char *fmt = "bert.encoder.layer.%d.attention.output.dense.weight";
    const float *g = tensor(&got, fmt, l, H * A, &o1), *w = tensor(&want, fmt, l, H * A, &o2);
    for (size_t r = 0; r < H; r++)
      for (size_t c = 0; c < A; c++) {
        bool z = removed(l, (int32_t)(c / d));
        ck_assert_msg(g[r * A + c] == (z ? 0.0f : w[r * A + c]), "%s layer %d [%zu, %zu]", fmt, l,
                      r, c);
        zeros += z;
      }
    free(o1);
    free(o2);
  }
  /* 6 removed heads: 3 * (16 * 96 + 16) Q/K/V values and 96 * 16 O values each. */
  ck_assert_uint_eq(zeros, 6 * (3 * (d * H + d) + H * d));
  /* Every other tensor (output bias included) is tiny's, byte for byte. */
  for (size_t i = 0; i < want.n; i++) {
    const tpa__st_tensor *w = &want.t[i], *g = tpa__st_find(&got, w->name);
    ck_assert_msg(g != NULL, "missing %s", w->name);
    ck_assert_str_eq(tpa__dtype_name(g->dtype), "F32");
    ck_assert_int_eq(g->ndim, w->ndim);
    for (int32_t k = 0; k < w->ndim; k++)
      ck_assert_uint_eq(g->shape[k], w->shape[k]);
    if (!strstr(w->name, "attention.self.") && !strstr(w->name, "attention.output.dense.weight"))
      ck_assert_msg(memcmp(g->data, w->data, w->end - w->begin) == 0, "%s differs", w->name);
  }
  tpa__st_close(&got);
  tpa__st_close(&want);
  remove_dir(dir);
  free(dir);
  free(got_path);
  free(want_path);
  tpa_model_free(m);
}
END_TEST

/* Merge, then dense export: the reloaded model gives the merged compact
 * model's logits and PyTorch's for the adapter. */
START_TEST(dense_after_merge) {
  tpa_model *m = load_fixture("tiny-pruned");
  char *adir = fixture("lora/peft-tiny-pruned"), *dir;
  tpa_lora_set *s = NULL;
  ck_assert_msg(tpa_lora_set_load(&s, m, adir) == TPA_OK, "%s", tpa_last_error());
  ck_assert_msg(tpa_lora_set_merge(s, m) == TPA_OK, "%s", tpa_last_error());
  tpa_model *r = dense_roundtrip(m, &dir);
  size_t n0, n1;
  double ref1;
  float *a = reference_logits(m, "lora/reference.json", &n0, NULL);
  float *b = reference_logits(r, "lora/reference.json", &n1, &ref1);
  ck_assert_uint_eq(n0, n1);
  double d = max_diff(a, b, n0);
  ck_assert_msg(d <= TOL_DENSE, "merged dense vs merged compact: %g", d);
  ck_assert_msg(ref1 <= TOL_REF, "merged dense: %g from PyTorch's logits", ref1);
  remove_dir(dir);
  free(dir);
  free(adir);
  free(a);
  free(b);
  tpa_lora_set_free(s);
  tpa_model_free(r);
  tpa_model_free(m);
}
END_TEST

/* Nothing pruned: the dense and compact exports are the same files. */
START_TEST(unpruned_same_files) {
  tpa_model *m = load_fixture("tiny");
  char *c = temp_dir(), *d = temp_dir();
  ck_assert_msg(tpa_model_save(m, c) == TPA_OK, "%s", tpa_last_error());
  ck_assert_msg(tpa_model_save_dense(m, d) == TPA_OK, "%s", tpa_last_error());
  static const char *const names[] = {"config.json", "model.safetensors", "vocab.txt",
                                      "tokenizer_config.json"};
  for (size_t i = 0; i < 4; i++) {
    char *pc = join(c, names[i]), *pd = join(d, names[i]);
    size_t lc, ld;
    char *bc = read_all(pc, &lc), *bd = read_all(pd, &ld);
    ck_assert_uint_eq(lc, ld);
    ck_assert_msg(memcmp(bc, bd, lc) == 0, "%s differs", names[i]);
    free(bc);
    free(bd);
    free(pc);
    free(pd);
  }
  ck_assert_int_eq(tpa_model_save_dense(NULL, d), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_model_save_dense(m, ""), TPA_ERR_INVALID_ARGUMENT);
  remove_dir(c);
  remove_dir(d);
  free(c);
  free(d);
  tpa_model_free(m);
}
END_TEST

Suite *dense_suite(void) {
  Suite *s = suite_create("dense");
  merge_add_test(s, "dense_reload_logits", dense_reload_logits);
  merge_add_test(s, "dense_values", dense_values);
  merge_add_test(s, "dense_after_merge", dense_after_merge);
  merge_add_test(s, "unpruned_same_files", unpruned_same_files);
  return s;
}
