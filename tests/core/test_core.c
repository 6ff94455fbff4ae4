/* SPDX-License-Identifier: Apache-2.0 */
/* Core: version, status strings, per-thread errors, the params protocol. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/params.h"
#include "tpa/tpa.h"

START_TEST(version_matches_macros) {
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", TPA_VERSION_MAJOR, TPA_VERSION_MINOR, TPA_VERSION_PATCH);
  ck_assert_str_eq(tpa_version(), want);
  ck_assert_str_eq(tpa_version(), TPA_VERSION_STRING);
  ck_assert_uint_eq(tpa_version_number(), TPA_VERSION_NUMBER);
  ck_assert_uint_eq(tpa_version_number(),
                    TPA_VERSION_MAJOR * 10000u + TPA_VERSION_MINOR * 100u + TPA_VERSION_PATCH);
}
END_TEST

START_TEST(status_strings_are_distinct) {
  /* Every status up to the last has its own text naming its constant. */
  for (int a = TPA_OK; a <= TPA_ERR_INTERNAL; a++) {
    const char *sa = tpa_status_str((tpa_status)a);
    ck_assert_ptr_nonnull(sa);
    ck_assert_msg(strncmp(sa, "TPA_", 4) == 0, "status %d: %s", a, sa);
    for (int b = a + 1; b <= TPA_ERR_INTERNAL; b++)
      ck_assert_str_ne(sa, tpa_status_str((tpa_status)b));
  }
  ck_assert_str_eq(tpa_status_str(TPA_OK), "TPA_OK: success");
  ck_assert_ptr_nonnull(strstr(tpa_status_str((tpa_status)999), "UNKNOWN"));
}
END_TEST

static void *other_thread(void *arg) {
  (void)arg;
  /* A fresh thread starts with an empty message ... */
  const char *msg = tpa_last_error();
  char *seen = malloc(strlen(msg) + 1);
  if (seen)
    strcpy(seen, msg);
  /* ... and its own error does not leak into the main thread. */
  (void)tpa__error(TPA_ERR_IO, "thread error");
  return seen;
}

START_TEST(last_error_is_per_thread) {
  ck_assert_int_eq(tpa__error(TPA_ERR_JSON, "bad %s at %d", "file.json", 7), TPA_ERR_JSON);
  ck_assert_str_eq(tpa_last_error(), "bad file.json at 7");
  pthread_t t;
  void *seen = NULL;
  ck_assert_int_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
  ck_assert_int_eq(pthread_join(t, &seen), 0);
  ck_assert_str_eq((char *)seen, "");
  free(seen);
  ck_assert_str_eq(tpa_last_error(), "bad file.json at 7");
  ck_assert_int_eq(tpa__error_prefix(TPA_ERR_JSON, "loading %s", "dir"), TPA_ERR_JSON);
  ck_assert_str_eq(tpa_last_error(), "loading dir: bad file.json at 7");
  tpa__error_clear();
  ck_assert_str_eq(tpa_last_error(), "");
}
END_TEST

/* The params protocol: an older caller's shorter struct keeps the newer
 * fields at their defaults. */
typedef struct {
  size_t size;
  int a;
  int b; /* "added in a later version" */
} params_v2;
typedef struct {
  size_t size;
  int a;
} params_v1;

START_TEST(params_read_only_size_bytes) {
  const params_v2 defaults = {sizeof(params_v2), 1, 2};
  params_v1 old;
  tpa__params_init(&old, sizeof old, &defaults, sizeof defaults);
  ck_assert_uint_eq(old.size, sizeof old);
  ck_assert_int_eq(old.a, 1);
  old.a = 10;
  params_v2 got;
  ck_assert(tpa__params_read(&got, sizeof got, &old, &defaults));
  ck_assert_int_eq(got.a, 10);
  ck_assert_int_eq(got.b, 2);
  ck_assert(tpa__params_read(&got, sizeof got, NULL, &defaults));
  ck_assert_int_eq(got.a, 1);
  size_t bad = 0;
  ck_assert(!tpa__params_read(&got, sizeof got, &bad, &defaults));
}
END_TEST

static Suite *core_suite(void) {
  Suite *s = suite_create("core");
  TCase *tc = tcase_create("version");
  tcase_add_test(tc, version_matches_macros);
  suite_add_tcase(s, tc);
  tc = tcase_create("status");
  tcase_add_test(tc, status_strings_are_distinct);
  suite_add_tcase(s, tc);
  tc = tcase_create("errors");
  tcase_add_test(tc, last_error_is_per_thread);
  suite_add_tcase(s, tc);
  tc = tcase_create("params");
  tcase_add_test(tc, params_read_only_size_bytes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(core_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
