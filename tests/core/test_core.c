/* SPDX-License-Identifier: Apache-2.0 */
/* Core: version, status strings, per-thread errors, the params protocol. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/params.h"
#include "stages/importance.h"
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
  const size_t known = TPA__PARAMS_END(params_v2, b);
  params_v1 old;
  tpa__params_init(&old, sizeof old, &defaults, sizeof defaults);
  ck_assert_uint_eq(old.size, sizeof old);
  ck_assert_int_eq(old.a, 1);
  old.a = 10;
  params_v2 got;
  ck_assert_int_eq(tpa__params_read(&got, sizeof got, known, &old, &defaults, "f", "params_v2"),
                   TPA_OK);
  ck_assert_int_eq(got.a, 10);
  ck_assert_int_eq(got.b, 2);
  ck_assert_uint_eq(got.size, sizeof got);
  ck_assert_int_eq(tpa__params_read(&got, sizeof got, known, NULL, &defaults, "f", "params_v2"),
                   TPA_OK);
  ck_assert_int_eq(got.a, 1);
  size_t bad = 0;
  ck_assert_int_eq(tpa__params_read(&got, sizeof got, known, &bad, &defaults, "f", "params_v2"),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "params_v2"));
}
END_TEST

/* A caller built against newer headers: its longer struct is accepted
 * while every byte past the fields this library knows is zero, and
 * refused (naming the function, the struct and the byte) when one is
 * set: that would be a setting the library silently ignores. */
typedef struct {
  size_t size;
  int a;
  int b;
  double c; /* "added in a later version" */
} params_v3;

START_TEST(params_newer_caller_needs_a_zero_tail) {
  const params_v2 defaults = {sizeof(params_v2), 1, 2};
  const size_t known = TPA__PARAMS_END(params_v2, b);
  params_v3 newer;
  memset(&newer, 0, sizeof newer);
  newer.size = sizeof newer;
  newer.a = 5;
  newer.b = 6;
  params_v2 got;
  ck_assert_int_eq(tpa__params_read(&got, sizeof got, known, &newer, &defaults, "fn", "params_v2"),
                   TPA_OK);
  ck_assert_int_eq(got.a, 5);
  ck_assert_int_eq(got.b, 6);
  ck_assert_uint_eq(got.size, sizeof got);
  newer.c = 0.5;
  ck_assert_int_eq(tpa__params_read(&got, sizeof got, known, &newer, &defaults, "fn", "params_v2"),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "fn: params_v2: byte "));
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "past the 16 bytes"));
}
END_TEST

/* A 2 x 2 importance table with every head scored. */
static tpa_importance *scored_table(void) {
  tpa_importance *imp = NULL;
  ck_assert_int_eq(tpa__importance_alloc(&imp, 2, 2), TPA_OK);
  for (int i = 0; i < 4; i++) {
    imp->raw[i] = 0.1 * (i + 1);
    imp->norm[i] = 0.2 * (i + 1);
  }
  imp->block[0] = imp->raw[0] + imp->raw[1];
  imp->block[1] = imp->raw[2] + imp->raw[3];
  return imp;
}

/* Padding counts: a field appended into a struct's tail padding leaves
 * sizeof unchanged, so "same size" is no proof the caller sets nothing
 * new. Checked through the public API on a struct that has such padding
 * (tpa_rank_schedule_params: three int32 after a size_t, 4 bytes of tail
 * padding on LP64). */
START_TEST(params_padding_past_the_last_field_is_checked) {
  const size_t end = TPA__PARAMS_END(tpa_rank_schedule_params, r_low);
  ck_assert_uint_lt(end, sizeof(tpa_rank_schedule_params));
  tpa_importance *imp = scored_table();
  union {
    tpa_rank_schedule_params p;
    unsigned char bytes[sizeof(tpa_rank_schedule_params) + 16];
  } u;
  memset(&u, 0, sizeof u);
  tpa_rank_schedule_params_init(&u.p, sizeof u.p);
  int32_t ranks[2 * TPA_LORA_MODULES];
  ck_assert_msg(tpa_rank_schedule(imp, &u.p, ranks, 2 * TPA_LORA_MODULES) == TPA_OK, "%s",
                tpa_last_error());
  u.bytes[end] = 1; /* a "new field" in the padding */
  ck_assert_int_eq(tpa_rank_schedule(imp, &u.p, ranks, 2 * TPA_LORA_MODULES),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "tpa_rank_schedule_params"));
  u.bytes[end] = 0;
  u.p.size = sizeof u.bytes; /* a longer struct from newer headers, zero tail */
  ck_assert_int_eq(tpa_rank_schedule(imp, &u.p, ranks, 2 * TPA_LORA_MODULES), TPA_OK);
  u.bytes[sizeof u.bytes - 1] = 7;
  ck_assert_int_eq(tpa_rank_schedule(imp, &u.p, ranks, 2 * TPA_LORA_MODULES),
                   TPA_ERR_INVALID_ARGUMENT);
  tpa_importance_free(imp);
}
END_TEST

/* Every public params struct refuses a set byte past its last field
 * (each named here from the public headers: a field appended later
 * without teaching the library makes this test fail). */
START_TEST(params_every_public_struct_checks_its_tail) {
  union {
    size_t size;
    unsigned char bytes[512];
  } u;
#define TAIL(type, last)                                                                           \
  do {                                                                                             \
    memset(&u, 0, sizeof u);                                                                       \
    u.size = sizeof(type) + 8;                                                                     \
    u.bytes[TPA__PARAMS_END(type, last)] = 1;                                                      \
  } while (0)
  TAIL(tpa_model_load_params, user);
  tpa_model *m = NULL;
  ck_assert_int_eq(tpa_model_load(&m, "/nonexistent", (tpa_model_load_params *)&u),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "tpa_model_load_params"));
  TAIL(tpa_dataset_params, max_rows);
  tpa_dataset *ds = NULL;
  ck_assert_int_eq(tpa_dataset_load(&ds, TPA_TASK_SST2, "/nonexistent", (tpa_dataset_params *)&u),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "tpa_dataset_params"));
  tpa_importance *imp = scored_table();
  TAIL(tpa_rank_schedule_params, r_low);
  int32_t ranks[2];
  ck_assert_int_eq(tpa_rank_schedule(imp, (tpa_rank_schedule_params *)&u, ranks, 2),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "tpa_rank_schedule_params"));
  tpa_importance_free(imp);
#undef TAIL
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
  tcase_add_test(tc, params_newer_caller_needs_a_zero_tail);
  tcase_add_test(tc, params_padding_past_the_last_field_is_checked);
  tcase_add_test(tc, params_every_public_struct_checks_its_tail);
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
