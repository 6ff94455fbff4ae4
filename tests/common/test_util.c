/* SPDX-License-Identifier: Apache-2.0 */
#include "test_util.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEMP_PREFIX "/tmp/tpa-test-"

char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  ck_assert_ptr_nonnull(p);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

char *fixture(const char *rel) {
  const char *root = getenv("TPA_FIXTURES");
  ck_assert_msg(root != NULL, "TPA_FIXTURES is not set");
  return join(root, rel);
}

tpa_model *load_fixture(const char *variant) {
  char *dir = fixture(variant);
  tpa_model *m = NULL;
  tpa_status s = tpa_model_load(&m, dir, NULL);
  ck_assert_msg(s == TPA_OK, "loading %s: %s", dir, tpa_last_error());
  free(dir);
  return m;
}

char *temp_dir(void) {
  char tmpl[] = TEMP_PREFIX "XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(tmpl));
  char *p = malloc(sizeof tmpl);
  ck_assert_ptr_nonnull(p);
  memcpy(p, tmpl, sizeof tmpl);
  return p;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void remove_tree(const char *dir) {
  /* Only our own scratch directories. */
  ck_assert_msg(strncmp(dir, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0, "refusing to remove %s", dir);
  nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  ck_assert_int_ge(n, 0);
  rewind(f);
  char *buf = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  if (len)
    *len = (size_t)n;
  return buf;
}

int32_t *json_ints(const json_t *a, size_t *n) {
  ck_assert(json_is_array(a));
  *n = json_array_size(a);
  int32_t *v = malloc((*n ? *n : 1) * sizeof *v);
  ck_assert_ptr_nonnull(v);
  for (size_t i = 0; i < *n; i++)
    v[i] = (int32_t)json_integer_value(json_array_get(a, i));
  return v;
}

double *json_reals(const json_t *a, size_t *n) {
  ck_assert(json_is_array(a));
  *n = json_array_size(a);
  double *v = malloc((*n ? *n : 1) * sizeof *v);
  ck_assert_ptr_nonnull(v);
  for (size_t i = 0; i < *n; i++)
    v[i] = json_number_value(json_array_get(a, i));
  return v;
}

ref_batch ref_batch_get(const json_t *ref, size_t i) {
  const json_t *b = json_array_get(json_object_get(ref, "batches"), i);
  ck_assert_ptr_nonnull(b);
  ref_batch r;
  size_t n;
  r.batch = (int32_t)json_integer_value(json_object_get(b, "batch"));
  r.seq = (int32_t)json_integer_value(json_object_get(b, "seq"));
  r.ids = json_ints(json_object_get(b, "ids"), &n);
  ck_assert_uint_eq(n, (size_t)r.batch * r.seq);
  r.types = json_ints(json_object_get(b, "type_ids"), &n);
  ck_assert_uint_eq(n, (size_t)r.batch * r.seq);
  r.mask = json_ints(json_object_get(b, "mask"), &n);
  ck_assert_uint_eq(n, (size_t)r.batch * r.seq);
  /* Some references hold inputs only (their logits come from elsewhere). */
  const json_t *lg = json_object_get(b, "logits");
  r.logits = lg ? json_reals(lg, &r.n_logits) : NULL;
  if (!lg)
    r.n_logits = 0;
  return r;
}

void ref_batch_free(ref_batch *r) {
  free(r->ids);
  free(r->types);
  free(r->mask);
  free(r->logits);
}

float *reference_batch_logits(const tpa_model *m, const json_t *ref, size_t i, size_t *n) {
  ref_batch r = ref_batch_get(ref, i);
  tpa_model_config cfg = {.size = sizeof cfg};
  ck_assert_int_eq(tpa_model_get_config(m, &cfg), TPA_OK);
  *n = (size_t)r.batch * (size_t)cfg.num_labels;
  float *out = calloc(*n, sizeof *out);
  ck_assert_ptr_nonnull(out);
  tpa_status s = tpa_model_forward(m, r.ids, r.types, r.mask, r.batch, r.seq, out);
  ck_assert_msg(s == TPA_OK, "forward: %s", tpa_last_error());
  ref_batch_free(&r);
  return out;
}

float *reference_logits(const tpa_model *m, const char *rel, size_t *n_out, double *vs_ref) {
  char *path = fixture(rel);
  json_error_t err;
  json_t *ref = json_load_file(path, 0, &err);
  ck_assert_msg(ref != NULL, "%s: %s", path, err.text);
  free(path);
  const json_t *batches = json_object_get(ref, "batches");
  size_t total = 0;
  for (size_t i = 0; i < json_array_size(batches); i++)
    total += json_array_size(json_object_get(json_array_get(batches, i), "logits"));
  ck_assert_uint_gt(total, 0);
  float *out = calloc(total, sizeof *out);
  ck_assert_ptr_nonnull(out);
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < json_array_size(batches); i++) {
    size_t n;
    float *got = reference_batch_logits(m, ref, i, &n);
    const json_t *want = json_object_get(json_array_get(batches, i), "logits");
    ck_assert_uint_eq(json_array_size(want), n);
    for (size_t k = 0; k < n; k++) {
      ck_assert(isfinite(got[k]));
      worst = fmax(worst, fabs((double)got[k] - json_number_value(json_array_get(want, k))));
    }
    memcpy(out + at, got, n * sizeof *out);
    at += n;
    free(got);
  }
  json_decref(ref);
  if (vs_ref)
    *vs_ref = worst;
  *n_out = total;
  return out;
}
