/* SPDX-License-Identifier: Apache-2.0 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prune_tests.h"

void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot create %s", path);
  ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
  ck_assert_int_eq(fclose(f), 0);
}

/* A [layers][heads] JSON matrix of @p v, null where NaN. */
static json_t *matrix(int32_t layers, int32_t heads, const double *v) {
  json_t *rows = json_array();
  for (int32_t l = 0; l < layers; l++) {
    json_t *row = json_array();
    for (int32_t h = 0; h < heads; h++) {
      double x = v[(size_t)l * (size_t)heads + (size_t)h];
      json_array_append_new(row, isnan(x) ? json_null() : json_real(x));
    }
    json_array_append_new(rows, row);
  }
  return rows;
}

tpa_importance *make_importance(int32_t layers, int32_t heads, const double *norm,
                                const double *blocks) {
  json_t *root = json_object();
  json_object_set_new(root, "layers", json_integer(layers));
  json_object_set_new(root, "heads", json_integer(heads));
  json_object_set_new(root, "examples", json_integer(10));
  json_object_set_new(root, "tokens", json_integer(100));
  /* The plan reads only the normalised scores; raw gets the same values
   * (a consistent table: every row already has norm 1 or less). */
  json_object_set_new(root, "raw", matrix(layers, heads, norm));
  json_object_set_new(root, "normalized", matrix(layers, heads, norm));
  json_t *b = json_array();
  for (int32_t l = 0; l < layers; l++) {
    double s = 0;
    for (int32_t h = 0; h < heads && !blocks; h++) {
      double x = norm[(size_t)l * (size_t)heads + (size_t)h];
      s += isnan(x) ? 0 : x;
    }
    json_array_append_new(b, json_real(blocks ? blocks[l] : s));
  }
  json_object_set_new(root, "blocks", b);
  char *dir = temp_dir(), *path = join(dir, "importance.json");
  ck_assert_int_eq(json_dump_file(root, path, 0), 0);
  json_decref(root);
  tpa_importance *imp = NULL;
  tpa_status s = tpa_importance_load(&imp, path);
  ck_assert_msg(s == TPA_OK, "tpa_importance_load: %s", tpa_last_error());
  remove_tree(dir);
  free(path);
  free(dir);
  return imp;
}

void assert_plan(const tpa_prune_plan *plan, int32_t layers, int32_t heads, const char *expect) {
  ck_assert_ptr_nonnull(plan);
  bool *want = calloc((size_t)layers * (size_t)heads, sizeof *want);
  ck_assert_ptr_nonnull(want);
  int32_t n = 0, l, h, used;
  for (const char *p = expect; sscanf(p, " %d:%d%n", &l, &h, &used) == 2; p += used) {
    ck_assert(l >= 0 && l < layers && h >= 0 && h < heads);
    want[(size_t)l * (size_t)heads + (size_t)h] = true;
    n++;
  }
  ck_assert_int_eq(tpa_prune_plan_num_layers(plan), layers);
  for (l = 0; l < layers; l++)
    for (h = 0; h < heads; h++)
      ck_assert_msg(tpa_prune_plan_removes(plan, l, h) ==
                        want[(size_t)l * (size_t)heads + (size_t)h],
                    "head %d:%d: plan %s it, expected {%s}", l, h,
                    tpa_prune_plan_removes(plan, l, h) ? "removes" : "keeps", expect);
  ck_assert_int_eq(tpa_prune_plan_num_pruned(plan), n);
  free(want);
}

json_t *prune_reference(void) {
  char *path = fixture("prune/reference.json");
  json_error_t err;
  json_t *j = json_load_file(path, 0, &err);
  ck_assert_msg(j != NULL, "%s: %s", path, err.text);
  free(path);
  return j;
}

const json_t *reference_case(const json_t *ref, const char *name) {
  const json_t *cases = json_object_get(ref, "cases");
  for (size_t i = 0; i < json_array_size(cases); i++) {
    const json_t *c = json_array_get(cases, i);
    if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
      return c;
  }
  ck_abort_msg("no reference case %s", name);
  return NULL;
}

tpa_prune_plan *plan_from_object(const json_t *obj, int32_t layers, int32_t heads) {
  return plan_with_neurons(obj, NULL, layers, heads, 0);
}

tpa_prune_plan *plan_with_neurons(const json_t *heads_obj, const json_t *neurons_obj,
                                  int32_t layers, int32_t heads, int32_t width) {
  json_t *root = json_object();
  json_object_set_new(root, "layers", json_integer(layers));
  json_object_set_new(root, "heads", json_integer(heads));
  json_object_set(root, "pruned_heads", (json_t *)heads_obj);
  if (neurons_obj) {
    json_t *widths = json_array();
    for (int32_t l = 0; l < layers; l++)
      json_array_append_new(widths, json_integer(width));
    json_object_set_new(root, "ffn_widths", widths);
    json_object_set(root, "pruned_neurons", (json_t *)neurons_obj);
  }
  char *dir = temp_dir(), *path = join(dir, "plan.json");
  ck_assert_int_eq(json_dump_file(root, path, 0), 0);
  json_decref(root);
  tpa_prune_plan *plan = NULL;
  tpa_status s = tpa_prune_plan_load(&plan, path);
  ck_assert_msg(s == TPA_OK, "tpa_prune_plan_load: %s", tpa_last_error());
  remove_tree(dir);
  free(path);
  free(dir);
  return plan;
}

double max_case_diff(const tpa_model *m, const json_t *ref, const json_t *c) {
  const json_t *logits = json_object_get(c, "logits");
  size_t nb = json_array_size(json_object_get(ref, "batches"));
  ck_assert_uint_eq(json_array_size(logits), nb);
  ck_assert_uint_ge(nb, 3);
  double worst = 0, biggest = 0;
  for (size_t i = 0; i < nb; i++) {
    size_t n;
    float *got = reference_batch_logits(m, ref, i, &n);
    const json_t *want = json_array_get(logits, i);
    ck_assert_uint_eq(json_array_size(want), n);
    for (size_t k = 0; k < n; k++) {
      double w = json_number_value(json_array_get(want, k)), d = fabs((double)got[k] - w);
      worst = isnan(d) ? INFINITY : fmax(worst, d);
      biggest = fmax(biggest, fabs(w));
    }
    free(got);
  }
  /* A comparison with near-zero logits would test nothing. */
  ck_assert_msg(biggest > 0.5, "reference logits too small (%g)", biggest);
  return worst;
}
