/* SPDX-License-Identifier: Apache-2.0 */
#include "test_util.h"

#include <ftw.h>
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
