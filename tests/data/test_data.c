/* SPDX-License-Identifier: Apache-2.0 */
/* GLUE data and metrics: the test executable's main and shared helpers.
 * Suites: tasks (name table), dataset (real GLUE files and fixtures),
 * gzip, errors (malformed input), metrics (against scikit-learn/SciPy). */
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_tests.h"

static char temp_dir[4096];

static char *join3(const char *a, const char *b, const char *c) {
  size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
  char *s = malloc(n);
  ck_assert_ptr_nonnull(s);
  snprintf(s, n, "%s%s%s", a, b, c);
  return s;
}

static const char *env_dir(const char *var) {
  const char *v = getenv(var);
  ck_assert_msg(v && *v, "%s is not set (run through meson test)", var);
  return v;
}

char *glue_path(const char *rel) {
  return join3(env_dir("TPA_SHARED_DATA"), "/glue/", rel);
}

char *fixture_path(const char *rel) {
  return join3(env_dir("TPA_FIXTURES"), "/data/", rel);
}

char *write_temp(const char *name, const void *data, size_t n) {
  char *path = join3(temp_dir, "/", name);
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot create %s", path);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
  return path;
}

char *write_temp_str(const char *name, const char *text) {
  return write_temp(name, text, strlen(text));
}

char *temp_subdir(const char *name) {
  char *path = join3(temp_dir, "/", name);
  ck_assert_int_eq(mkdir(path, 0700), 0);
  return path;
}

char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  ck_assert_ptr_nonnull(buf);
  size_t got;
  while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      ck_assert_ptr_nonnull(buf);
    }
  }
  fclose(f);
  *n = len;
  return buf;
}

tpa_dataset *load_ok(tpa_task task, const char *path) {
  tpa_dataset *ds = NULL;
  tpa_status st = tpa_dataset_load(&ds, task, path, NULL);
  ck_assert_msg(st == TPA_OK, "loading %s: %s", path, tpa_last_error());
  ck_assert_ptr_nonnull(ds);
  return ds;
}

static bool same_str(const char *a, const char *b) {
  return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

void assert_same_dataset(const tpa_dataset *a, const tpa_dataset *b) {
  ck_assert_int_eq(tpa_dataset_task(a), tpa_dataset_task(b));
  ck_assert_uint_eq(tpa_dataset_size(a), tpa_dataset_size(b));
  for (size_t i = 0; i < tpa_dataset_size(a); i++) {
    ck_assert_msg(same_str(tpa_dataset_text_a(a, i), tpa_dataset_text_a(b, i)),
                  "text a of example %zu differs", i);
    ck_assert_msg(same_str(tpa_dataset_text_b(a, i), tpa_dataset_text_b(b, i)),
                  "text b of example %zu differs", i);
    ck_assert_msg(tpa_dataset_label(a, i) == tpa_dataset_label(b, i),
                  "label of example %zu differs", i);
  }
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(temp_dir, sizeof temp_dir, "%s/tpa-test-data-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(temp_dir)) {
    perror("mkdtemp");
    return 1;
  }
  SRunner *sr = srunner_create(tasks_suite());
  srunner_add_suite(sr, dataset_suite());
  srunner_add_suite(sr, gzip_suite());
  srunner_add_suite(sr, errors_suite());
  srunner_add_suite(sr, metrics_suite());
  srunner_add_suite(sr, table_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  nftw(temp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
