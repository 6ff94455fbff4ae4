/* SPDX-License-Identifier: Apache-2.0 */
/* The task table: names, label counts, pair flags, label names, checked
 * against docs/method.md section 3 written out by hand. */
#include <string.h>

#include "data_tests.h"

static const char *const canonical[TPA_TASK_COUNT] = {"cola", "sst2", "mrpc", "stsb", "qqp",
                                                      "mnli", "qnli", "rte",  "wnli"};

START_TEST(names_round_trip) {
  for (int t = 0; t < TPA_TASK_COUNT; t++) {
    ck_assert_str_eq(tpa_task_name((tpa_task)t), canonical[t]);
    tpa_task got = (tpa_task)99;
    ck_assert_int_eq(tpa_task_from_name(canonical[t], &got), TPA_OK);
    ck_assert_int_eq(got, t);
  }
  /* The enum's values are part of the ABI. */
  ck_assert_int_eq(TPA_TASK_COLA, 0);
  ck_assert_int_eq(TPA_TASK_WNLI, 8);
}
END_TEST

START_TEST(names_ignore_case_and_accept_glue_spellings) {
  static const struct {
    const char *name;
    tpa_task task;
  } cases[] = {
      {"CoLA", TPA_TASK_COLA}, {"SST-2", TPA_TASK_SST2}, {"sst-2", TPA_TASK_SST2},
      {"Sst2", TPA_TASK_SST2}, {"STS-B", TPA_TASK_STSB}, {"sts-b", TPA_TASK_STSB},
      {"StsB", TPA_TASK_STSB}, {"MNLI", TPA_TASK_MNLI},  {"QQP", TPA_TASK_QQP},
      {"qNLI", TPA_TASK_QNLI}, {"RTE", TPA_TASK_RTE},    {"WNLI", TPA_TASK_WNLI},
      {"MRPC", TPA_TASK_MRPC},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tpa_task got = (tpa_task)99;
    ck_assert_msg(tpa_task_from_name(cases[i].name, &got) == TPA_OK, "%s: %s", cases[i].name,
                  tpa_last_error());
    ck_assert_int_eq(got, cases[i].task);
  }
}
END_TEST

START_TEST(unknown_names_are_rejected) {
  static const char *const bad[] = {"",      "sst",  "sst_2",   "sst-22", " cola", "cola ",
                                    "colaa", "sts-", "mnli-mm", "s-st2",  "glue",  "rte\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tpa_task got = TPA_TASK_RTE;
    ck_assert_msg(tpa_task_from_name(bad[i], &got) == TPA_ERR_INVALID_ARGUMENT, "\"%s\"", bad[i]);
    ck_assert_int_eq(got, TPA_TASK_RTE); /* untouched on failure */
  }
  tpa_task got;
  ck_assert_int_eq(tpa_task_from_name("sst", &got), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "\"sst\""));
  ck_assert_int_eq(tpa_task_from_name(NULL, &got), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_task_from_name("cola", NULL), TPA_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(label_counts_and_pairs) {
  static const int32_t labels[TPA_TASK_COUNT] = {2, 2, 2, 1, 2, 3, 2, 2, 2};
  static const bool pair[TPA_TASK_COUNT] = {false, false, true, true, true, true, true, true, true};
  for (int t = 0; t < TPA_TASK_COUNT; t++) {
    ck_assert_int_eq(tpa_task_num_labels((tpa_task)t), labels[t]);
    ck_assert_int_eq(tpa_task_is_pair((tpa_task)t), pair[t]);
  }
  ck_assert_int_eq(tpa_task_num_labels((tpa_task)TPA_TASK_COUNT), 0);
  ck_assert_int_eq(tpa_task_num_labels((tpa_task)-1), 0);
  ck_assert(!tpa_task_is_pair((tpa_task)TPA_TASK_COUNT));
  ck_assert_ptr_null(tpa_task_name((tpa_task)TPA_TASK_COUNT));
  ck_assert_ptr_null(tpa_task_name((tpa_task)-1));
}
END_TEST

START_TEST(label_names_in_method_order) {
  ck_assert_str_eq(tpa_task_label_name(TPA_TASK_MNLI, 0), "contradiction");
  ck_assert_str_eq(tpa_task_label_name(TPA_TASK_MNLI, 1), "entailment");
  ck_assert_str_eq(tpa_task_label_name(TPA_TASK_MNLI, 2), "neutral");
  ck_assert_ptr_null(tpa_task_label_name(TPA_TASK_MNLI, 3));
  ck_assert_ptr_null(tpa_task_label_name(TPA_TASK_MNLI, -1));
  ck_assert_str_eq(tpa_task_label_name(TPA_TASK_QNLI, 0), "entailment");
  ck_assert_str_eq(tpa_task_label_name(TPA_TASK_QNLI, 1), "not_entailment");
  ck_assert_str_eq(tpa_task_label_name(TPA_TASK_RTE, 0), "entailment");
  ck_assert_str_eq(tpa_task_label_name(TPA_TASK_RTE, 1), "not_entailment");
  ck_assert_ptr_null(tpa_task_label_name(TPA_TASK_RTE, 2));
  static const tpa_task binary[] = {TPA_TASK_COLA, TPA_TASK_SST2, TPA_TASK_MRPC, TPA_TASK_QQP,
                                    TPA_TASK_WNLI};
  for (size_t i = 0; i < sizeof binary / sizeof binary[0]; i++) {
    ck_assert_str_eq(tpa_task_label_name(binary[i], 0), "0");
    ck_assert_str_eq(tpa_task_label_name(binary[i], 1), "1");
    ck_assert_ptr_null(tpa_task_label_name(binary[i], 2));
  }
  ck_assert_ptr_null(tpa_task_label_name(TPA_TASK_STSB, 0));
  ck_assert_ptr_null(tpa_task_label_name((tpa_task)TPA_TASK_COUNT, 0));
}
END_TEST

Suite *tasks_suite(void) {
  Suite *s = suite_create("tasks");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"names_round_trip", names_round_trip},
      {"names_ignore_case", names_ignore_case_and_accept_glue_spellings},
      {"unknown_names", unknown_names_are_rejected},
      {"label_counts_and_pairs", label_counts_and_pairs},
      {"label_names", label_names_in_method_order},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}
