/* SPDX-License-Identifier: Apache-2.0 */
/* gzip input: recognised by its magic bytes, equal to the plain file,
 * multi-member streams, and damaged streams reported (not crashed on). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data_tests.h"

/* Compress @p n bytes into a new gzip member with zlib's deflate (the
 * test's own writer; the library only ever inflates). */
static unsigned char *gzip_bytes(const void *data, size_t n, size_t *out_len) {
  z_stream z;
  memset(&z, 0, sizeof z);
  /* windowBits 15 + 16: a gzip wrapper instead of zlib's. */
  ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  size_t cap = deflateBound(&z, (uLong)n) + 64;
  unsigned char *out = malloc(cap);
  ck_assert_ptr_nonnull(out);
  z.next_in = (Bytef *)(uintptr_t)data;
  z.avail_in = (uInt)n;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
  *out_len = cap - z.avail_out;
  deflateEnd(&z);
  return out;
}

START_TEST(committed_gzip_equals_plain) {
  /* mnli_dev_matched.tsv.gz was made by gzip(1) -9n from the .tsv. */
  char *plain = fixture_path("mnli_dev_matched.tsv");
  char *gz = fixture_path("mnli_dev_matched.tsv.gz");
  size_t n;
  unsigned char *raw = (unsigned char *)slurp(gz, &n);
  ck_assert(n > 2 && raw[0] == 0x1f && raw[1] == 0x8b);
  free(raw);
  tpa_dataset *a = load_ok(TPA_TASK_MNLI, plain), *b = load_ok(TPA_TASK_MNLI, gz);
  assert_same_dataset(a, b);
  ck_assert_uint_eq(tpa_dataset_size(b), 4);
  tpa_dataset_free(a);
  tpa_dataset_free(b);
  free(plain);
  free(gz);
}
END_TEST

START_TEST(sst2_train_gzip_equals_plain) {
  char *plain = glue_path("SST-2/train.tsv");
  size_t n, zn;
  char *raw = slurp(plain, &n);
  unsigned char *z = gzip_bytes(raw, n, &zn);
  ck_assert_uint_lt(zn, n / 2);
  char *gz = write_temp("sst2_train.tsv.gz", z, zn);
  /* The same bytes under a name that does not say gzip. */
  char *disguised = write_temp("sst2_train_gz.tsv", z, zn);
  tpa_dataset *a = load_ok(TPA_TASK_SST2, plain);
  tpa_dataset *b = load_ok(TPA_TASK_SST2, gz);
  tpa_dataset *c = load_ok(TPA_TASK_SST2, disguised);
  ck_assert_uint_eq(tpa_dataset_size(b), 67349);
  assert_same_dataset(a, b);
  assert_same_dataset(a, c);
  tpa_dataset_free(a);
  tpa_dataset_free(b);
  tpa_dataset_free(c);
  free(raw);
  free(z);
  free(plain);
  free(gz);
  free(disguised);
}
END_TEST

START_TEST(multi_member_gzip) {
  /* Concatenated members (what `cat a.gz b.gz` makes) read as one file:
   * here the header and the first 100 bytes, then the rest. */
  char *plain = glue_path("RTE/dev.tsv");
  size_t n, z1n, z2n;
  char *raw = slurp(plain, &n);
  unsigned char *z1 = gzip_bytes(raw, 100, &z1n);
  unsigned char *z2 = gzip_bytes(raw + 100, n - 100, &z2n);
  unsigned char *both = malloc(z1n + z2n);
  ck_assert_ptr_nonnull(both);
  memcpy(both, z1, z1n);
  memcpy(both + z1n, z2, z2n);
  char *gz = write_temp("rte_dev_two_members.tsv.gz", both, z1n + z2n);
  tpa_dataset *a = load_ok(TPA_TASK_RTE, plain), *b = load_ok(TPA_TASK_RTE, gz);
  assert_same_dataset(a, b);
  ck_assert_uint_eq(tpa_dataset_size(b), 277);
  tpa_dataset_free(a);
  tpa_dataset_free(b);
  free(raw);
  free(z1);
  free(z2);
  free(both);
  free(plain);
  free(gz);
}
END_TEST

START_TEST(plain_file_named_gz) {
  /* Content decides, not the name. */
  char *gz = write_temp_str("not_really.tsv.gz", "sentence\tlabel\nfine\t1\n");
  tpa_dataset *ds = load_ok(TPA_TASK_SST2, gz);
  ck_assert_uint_eq(tpa_dataset_size(ds), 1);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 0), "fine");
  tpa_dataset_free(ds);
  free(gz);
}
END_TEST

START_TEST(damaged_gzip_is_an_error) {
  char *plain = glue_path("WNLI/train.tsv");
  size_t n, zn;
  char *raw = slurp(plain, &n);
  unsigned char *z = gzip_bytes(raw, n, &zn);
  tpa_dataset *ds = (tpa_dataset *)1;

  /* Cut in the middle of the deflate data. */
  char *cut = write_temp("wnli_cut.tsv.gz", z, zn / 2);
  ck_assert_int_eq(tpa_dataset_load(&ds, TPA_TASK_WNLI, cut, NULL), TPA_ERR_TRUNCATED);
  ck_assert_ptr_null(ds);
  ck_assert_msg(strstr(tpa_last_error(), cut) != NULL, "%s", tpa_last_error());

  /* Only the 8-byte trailer (CRC and size) missing. */
  char *no_trailer = write_temp("wnli_no_trailer.tsv.gz", z, zn - 8);
  ck_assert_int_eq(tpa_dataset_load(&ds, TPA_TASK_WNLI, no_trailer, NULL), TPA_ERR_TRUNCATED);

  /* A wrong CRC-32 in the trailer. */
  unsigned char *bad = malloc(zn);
  ck_assert_ptr_nonnull(bad);
  memcpy(bad, z, zn);
  bad[zn - 8] ^= 0x55;
  char *crc = write_temp("wnli_crc.tsv.gz", bad, zn);
  ck_assert_int_eq(tpa_dataset_load(&ds, TPA_TASK_WNLI, crc, NULL), TPA_ERR_DATA);
  ck_assert_msg(strstr(tpa_last_error(), crc) != NULL, "%s", tpa_last_error());

  /* Garbage in the deflate stream. */
  memcpy(bad, z, zn);
  memset(bad + 20, 0xff, 64);
  char *garbage = write_temp("wnli_garbage.tsv.gz", bad, zn);
  ck_assert_int_eq(tpa_dataset_load(&ds, TPA_TASK_WNLI, garbage, NULL), TPA_ERR_DATA);
  ck_assert_ptr_null(ds);

  /* Just the magic bytes. */
  char *magic = write_temp("magic_only.gz", "\x1f\x8b", 2);
  tpa_status st = tpa_dataset_load(&ds, TPA_TASK_WNLI, magic, NULL);
  ck_assert_msg(st == TPA_ERR_TRUNCATED || st == TPA_ERR_DATA, "%s", tpa_status_str(st));
  ck_assert_ptr_null(ds);

  free(raw);
  free(z);
  free(bad);
  free(plain);
  free(cut);
  free(no_trailer);
  free(crc);
  free(garbage);
  free(magic);
}
END_TEST

Suite *gzip_suite(void) {
  Suite *s = suite_create("gzip");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"committed_gzip", committed_gzip_equals_plain},
      {"sst2_train_gzip", sst2_train_gzip_equals_plain},
      {"multi_member", multi_member_gzip},
      {"plain_named_gz", plain_file_named_gz},
      {"damaged", damaged_gzip_is_an_error},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}
