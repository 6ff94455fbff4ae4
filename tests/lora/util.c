/* SPDX-License-Identifier: Apache-2.0 */
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
  char tmpl[] = "/tmp/tpa-lora-test-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(tmpl));
  char *p = malloc(sizeof tmpl);
  ck_assert_ptr_nonnull(p);
  memcpy(p, tmpl, sizeof tmpl);
  return p;
}

void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char *p = join(dir, e->d_name);
    unlink(p);
    free(p);
  }
  closedir(d);
  rmdir(dir);
}

int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
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
  *len = (size_t)n;
  return buf;
}

void write_all(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot create %s", path);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

float fixture_value(int seed, size_t i) {
  long k = (long)((7 * i + 13 * (size_t)seed) % 97) - 48;
  return (float)((double)k / 256.0);
}
