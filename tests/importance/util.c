/* SPDX-License-Identifier: Apache-2.0 */
#include "util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *shared(const char *rel) {
  const char *root = getenv("TPA_SHARED_DATA");
  ck_assert_msg(root != NULL, "TPA_SHARED_DATA is not set");
  return join(root, rel);
}

tpa_dataset *load_data(tpa_task task, const char *rel, size_t rows) {
  char *path = shared(rel);
  tpa_dataset_params p;
  tpa_dataset_params_init(&p, sizeof p);
  p.max_rows = rows;
  tpa_dataset *ds = NULL;
  tpa_status s = tpa_dataset_load(&ds, task, path, &p);
  ck_assert_msg(s == TPA_OK, "loading %s: %s", path, tpa_last_error());
  free(path);
  return ds;
}

char *temp_path(const char *name) {
  char tmpl[] = "/tmp/tpa-importance-test-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(tmpl));
  return join(tmpl, name);
}

void remove_temp(char *path) {
  unlink(path);
  char *slash = strrchr(path, '/');
  *slash = '\0';
  rmdir(path);
  free(path);
}

void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot create %s", path);
  ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
  ck_assert_int_eq(fclose(f), 0);
}

static void ref_matrix(const json_t *root, const char *key, const ref_table *t, double *dst) {
  const json_t *rows = json_object_get(root, key);
  ck_assert_msg(json_is_array(rows) && json_array_size(rows) == (size_t)t->layers, "%s", key);
  for (int32_t l = 0; l < t->layers; l++) {
    const json_t *row = json_array_get(rows, (size_t)l);
    ck_assert(json_is_array(row) && json_array_size(row) == (size_t)t->heads);
    for (int32_t h = 0; h < t->heads; h++) {
      const json_t *v = json_array_get(row, (size_t)h);
      dst[l * t->heads + h] = json_is_null(v) ? NAN : json_number_value(v);
    }
  }
}

void ref_load(ref_table *t, const char *name) {
  char rel[256];
  snprintf(rel, sizeof rel, "importance/%s.json", name);
  char *path = fixture(rel);
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err);
  ck_assert_msg(root != NULL, "%s: %s", path, err.text);
  free(path);
  memset(t, 0, sizeof *t);
  t->layers = (int32_t)json_integer_value(json_object_get(root, "layers"));
  t->heads = (int32_t)json_integer_value(json_object_get(root, "heads"));
  t->examples = (uint64_t)json_integer_value(json_object_get(root, "examples"));
  t->tokens = (uint64_t)json_integer_value(json_object_get(root, "tokens"));
  ck_assert(t->layers > 0 && t->heads > 0);
  t->raw = calloc((size_t)(t->layers * t->heads), sizeof *t->raw);
  t->norm = calloc((size_t)(t->layers * t->heads), sizeof *t->norm);
  t->blocks = calloc((size_t)t->layers, sizeof *t->blocks);
  ck_assert(t->raw && t->norm && t->blocks);
  ref_matrix(root, "raw", t, t->raw);
  ref_matrix(root, "normalized", t, t->norm);
  const json_t *b = json_object_get(root, "blocks");
  for (int32_t l = 0; l < t->layers; l++)
    t->blocks[l] = json_number_value(json_array_get(b, (size_t)l));
  const json_t *fr = json_object_get(root, "ffn_raw"),
               *fn = json_object_get(root, "ffn_normalized");
  if (fr) {
    t->ffn_width = (int32_t)json_array_size(json_array_get(fr, 0));
    ck_assert(t->ffn_width > 0);
    const size_t n = (size_t)t->layers * (size_t)t->ffn_width;
    t->ffn_raw = calloc(n, sizeof *t->ffn_raw);
    t->ffn_norm = calloc(n, sizeof *t->ffn_norm);
    ck_assert(t->ffn_raw && t->ffn_norm);
    for (int32_t l = 0; l < t->layers; l++) {
      const json_t *r = json_array_get(fr, (size_t)l), *q = json_array_get(fn, (size_t)l);
      ck_assert(json_array_size(r) == (size_t)t->ffn_width &&
                json_array_size(q) == (size_t)t->ffn_width);
      for (int32_t j = 0; j < t->ffn_width; j++) {
        t->ffn_raw[l * t->ffn_width + j] = json_number_value(json_array_get(r, (size_t)j));
        t->ffn_norm[l * t->ffn_width + j] = json_number_value(json_array_get(q, (size_t)j));
      }
    }
  }
  json_decref(root);
}

void ref_free(ref_table *t) {
  free(t->raw);
  free(t->norm);
  free(t->blocks);
  free(t->ffn_raw);
  free(t->ffn_norm);
  memset(t, 0, sizeof *t);
}

/* Within @p rel of @p want, plus @p abs for scores far below their
 * layer's (float32 rounding is relative to the largest terms). */
static void expect_near(double got, double want, double rel, double abs, const char *what, int l,
                        int h) {
  ck_assert_msg(fabs(got - want) <= rel * fabs(want) + abs,
                "%s[%d][%d]: got %.10g, want %.10g (rel err %.3g)", what, l, h, got, want,
                fabs(got - want) / fabs(want));
}

static void expect_close(double got, double want, double rel, const char *what, int l, int h) {
  expect_near(got, want, rel, 1e-12, what, l, h);
}

static double row_norm(const double *v, int32_t n) {
  double sq = 0;
  for (int32_t j = 0; j < n; j++)
    sq += v[j] * v[j];
  return sqrt(sq);
}

void expect_table(const tpa_importance *imp, const ref_table *ref, double rel) {
  ck_assert_int_eq(tpa_importance_num_layers(imp), ref->layers);
  ck_assert_int_eq(tpa_importance_num_heads(imp), ref->heads);
  ck_assert_uint_eq(tpa_importance_examples(imp), ref->examples);
  ck_assert_uint_eq(tpa_importance_tokens(imp), ref->tokens);
  for (int32_t l = 0; l < ref->layers; l++) {
    for (int32_t h = 0; h < ref->heads; h++) {
      const double want = ref->raw[l * ref->heads + h];
      if (isnan(want)) {
        ck_assert_msg(!tpa_importance_has_head(imp, l, h), "head %d.%d should be unscored", l, h);
        ck_assert(isnan(tpa_importance_raw(imp, l, h)));
        ck_assert(isnan(tpa_importance_normalized(imp, l, h)));
        continue;
      }
      ck_assert_msg(tpa_importance_has_head(imp, l, h), "head %d.%d should be scored", l, h);
      expect_close(tpa_importance_raw(imp, l, h), want, rel, "raw", l, h);
      expect_close(tpa_importance_normalized(imp, l, h), ref->norm[l * ref->heads + h], rel,
                   "normalized", l, h);
    }
    expect_close(tpa_importance_block(imp, l), ref->blocks[l], rel, "blocks", l, -1);
  }
  ck_assert_int_eq(tpa_importance_has_ffn(imp), ref->ffn_width > 0);
  for (int32_t l = 0; l < ref->layers; l++) {
    ck_assert_int_eq(tpa_importance_ffn_width(imp, l), ref->ffn_width);
    if (ref->ffn_width == 0)
      continue;
    /* Hundreds of neurons span six decades: the small ones are compared
     * to the layer's L2 norm (1 for the normalised scores). */
    const double scale = row_norm(ref->ffn_raw + l * ref->ffn_width, ref->ffn_width);
    for (int32_t j = 0; j < ref->ffn_width; j++) {
      expect_near(tpa_importance_ffn_raw(imp, l, j), ref->ffn_raw[l * ref->ffn_width + j], rel,
                  rel * 1e-2 * scale, "ffn_raw", l, j);
      expect_near(tpa_importance_ffn_normalized(imp, l, j), ref->ffn_norm[l * ref->ffn_width + j],
                  rel, rel * 1e-2, "ffn_normalized", l, j);
    }
  }
}
