/* SPDX-License-Identifier: Apache-2.0 */
/* Malformed input: each case names the status, the line that the message
 * must point at ("FILE:LINE: ") and a phrase of the message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_tests.h"

#define STSB_HEADER                                                                                \
  "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
#define STSB_ROW(score) "0\tg\tf\t2012\t0001\tnone\tnone\tA man.\tA person.\t" score "\n"
#define RTE_HEADER "index\tsentence1\tsentence2\tlabel\n"
#define RTE_OK "0\tA dog runs.\tAn animal moves.\tentailment\n"

static int counter;

/* Load @p content as @p task; expect @p status with "PATH:LINE: " and
 * @p phrase in the message, and no dataset. */
static void expect_error_n(tpa_task task, const char *content, size_t len, tpa_status status,
                           int line, const char *phrase) {
  char name[64];
  snprintf(name, sizeof name, "bad_%d.tsv", counter++);
  char *path = write_temp(name, content, len);
  tpa_dataset *ds = (tpa_dataset *)1;
  tpa_status st = tpa_dataset_load(&ds, task, path, NULL);
  ck_assert_msg(st == status, "%s: got %s (%s), want %s", name, tpa_status_str(st),
                tpa_last_error(), tpa_status_str(status));
  ck_assert_ptr_null(ds);
  char where[4200];
  snprintf(where, sizeof where, "%s:%d: ", path, line);
  ck_assert_msg(strncmp(tpa_last_error(), where, strlen(where)) == 0,
                "message \"%s\" does not start with \"%s\"", tpa_last_error(), where);
  ck_assert_msg(strstr(tpa_last_error(), phrase) != NULL, "message \"%s\" lacks \"%s\"",
                tpa_last_error(), phrase);
  free(path);
}

static void expect_error(tpa_task task, const char *content, tpa_status status, int line,
                         const char *phrase) {
  expect_error_n(task, content, strlen(content), status, line, phrase);
}

START_TEST(missing_file_and_directory) {
  tpa_dataset *ds = (tpa_dataset *)1;
  ck_assert_int_eq(tpa_dataset_load(&ds, TPA_TASK_RTE, "/nonexistent/dir/train.tsv", NULL),
                   TPA_ERR_NOT_FOUND);
  ck_assert_ptr_null(ds);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "/nonexistent/dir/train.tsv"));
  char *dir = temp_subdir("a_directory");
  ck_assert_int_eq(tpa_dataset_load(&ds, TPA_TASK_RTE, dir, NULL), TPA_ERR_IO);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), dir));
  free(dir);
}
END_TEST

START_TEST(bad_arguments) {
  tpa_dataset *ds = (tpa_dataset *)1;
  char *path = glue_path("WNLI/dev.tsv");
  ck_assert_int_eq(tpa_dataset_load(NULL, TPA_TASK_WNLI, path, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_dataset_load(&ds, TPA_TASK_WNLI, NULL, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(ds);
  ck_assert_int_eq(tpa_dataset_load(&ds, (tpa_task)9, path, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_dataset_load(&ds, (tpa_task)-1, path, NULL), TPA_ERR_INVALID_ARGUMENT);
  tpa_dataset_params p = {.size = 0, .max_rows = 0};
  ck_assert_int_eq(tpa_dataset_load(&ds, TPA_TASK_WNLI, path, &p), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(ds);
  free(path);
}
END_TEST

START_TEST(too_few_columns) {
  expect_error(TPA_TASK_RTE, RTE_HEADER RTE_OK RTE_OK "2\tonly one sentence\n" RTE_OK, TPA_ERR_DATA,
               4, "2 columns, rte needs at least 4");
  /* CoLA has no header: its line 2 is its second example. */
  expect_error(TPA_TASK_COLA, "gj04\t1\t\tFine.\ngj04\t1\n", TPA_ERR_DATA, 2,
               "2 columns, cola needs at least 4");
  /* A row that lost its tabs altogether. */
  expect_error(TPA_TASK_SST2, "sentence\tlabel\nno tab here\n", TPA_ERR_DATA, 2,
               "1 column, sst2 needs at least 2");
  /* MNLI with only the first ten columns: the label would be sentence2. */
  expect_error(TPA_TASK_MNLI,
               "h0\th1\th2\th3\th4\th5\th6\th7\th8\th9\th10\th11\n"
               "0\t1\t1e\tfiction\t( a )\t( b )\t(a)\t(b)\tA.\tneutral\n",
               TPA_ERR_DATA, 2, "10 columns, mnli needs at least 11");
  expect_error(TPA_TASK_QQP,
               "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n1\t2\t3\tq?\tp?\n",
               TPA_ERR_DATA, 2, "5 columns, qqp needs at least 6");
  expect_error(TPA_TASK_STSB,
               STSB_HEADER STSB_ROW("1.0") "0\tg\tf\t2012\t0001\tnone\tnone\tA.\tB.\n",
               TPA_ERR_DATA, 3, "9 columns, stsb needs at least 10");
  expect_error(TPA_TASK_MRPC,
               "\xEF\xBB\xBFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
               "1\t1\t2\tA.\tB.\n1\t1\t2\tA.\n",
               TPA_ERR_DATA, 3, "4 columns, mrpc needs at least 5");
}
END_TEST

START_TEST(unknown_labels) {
  expect_error(TPA_TASK_SST2, "sentence\tlabel\nok\t1\nbad\t2\n", TPA_ERR_DATA, 3,
               "unknown label \"2\" (expected 0, 1)");
  expect_error(TPA_TASK_SST2, "sentence\tlabel\nempty label\t\n", TPA_ERR_DATA, 2,
               "unknown label \"\"");
  expect_error(TPA_TASK_SST2, "sentence\tlabel\nspace\t1 \n", TPA_ERR_DATA, 2,
               "unknown label \"1 \"");
  expect_error(TPA_TASK_RTE, RTE_HEADER RTE_OK "1\tA.\tB.\tneutral\n", TPA_ERR_DATA, 3,
               "unknown label \"neutral\" (expected entailment, not_entailment)");
  expect_error(TPA_TASK_QNLI, RTE_HEADER "1\tA?\tB.\tEntailment\n", TPA_ERR_DATA, 2,
               "unknown label \"Entailment\"");
  expect_error(TPA_TASK_MNLI,
               "h0\th1\th2\th3\th4\th5\th6\th7\th8\th9\th10\th11\n"
               "0\t1\t1e\tfiction\t( a )\t( b )\t(a)\t(b)\tA.\tB.\tneutral\tentailment\n"
               "0\t1\t1e\tfiction\t( a )\t( b )\t(a)\t(b)\tA.\tB.\tneutral\t-\n",
               TPA_ERR_DATA, 3,
               "unknown label \"-\" (expected contradiction, entailment, neutral)");
  expect_error(TPA_TASK_COLA, "gj04\t1\t\tFine.\ngj04\t1\t\tFine.\ngj04\t*\t\tBad.\n", TPA_ERR_DATA,
               3, "unknown label \"*\"");
  expect_error(TPA_TASK_WNLI, RTE_HEADER "0\tA.\tB.\tentailment\n", TPA_ERR_DATA, 2,
               "unknown label \"entailment\"");
}
END_TEST

START_TEST(bad_stsb_scores) {
  static const char *const not_numbers[] = {"abc", "",  "3.8x", " 3.8", "3.8 ", "nan", "inf",
                                            "1e",  ".", "+",    "--1",  "0x1",  "1,5", "e5"};
  for (size_t i = 0; i < sizeof not_numbers / sizeof not_numbers[0]; i++) {
    char content[512];
    snprintf(content, sizeof content, STSB_HEADER STSB_ROW("1.0") STSB_ROW("%s"), not_numbers[i]);
    expect_error(TPA_TASK_STSB, content, TPA_ERR_DATA, 3, "is not a number");
  }
  static const char *const out_of_range[] = {"5.001", "-0.5", "1e3", "6", "-1e-9", "1e99999"};
  for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++) {
    char content[512];
    snprintf(content, sizeof content, STSB_HEADER STSB_ROW("%s"), out_of_range[i]);
    expect_error(TPA_TASK_STSB, content, TPA_ERR_DATA, 2, "outside 0 to 5");
  }
}
END_TEST

START_TEST(invalid_utf8) {
  /* Each byte string breaks UTF-8 in a different way, inside sentence1 of
   * line 3; the message gives the byte's position within the line. */
  static const struct {
    const char *bytes;
    const char *what;
  } bad[] = {
      {"\xC0\xAF", "overlong 2-byte"},
      {"\xE0\x80\xAF", "overlong 3-byte"},
      {"\xF0\x80\x80\xAF", "overlong 4"},
      {"\x80", "lone continuation"},
      {"\xED\xA0\x80", "surrogate"},
      {"\xF4\x90\x80\x80", "past U+10FFFF"},
      {"\xF5\x80\x80\x80", "F5 lead"},
      {"\xFF", "FF"},
      {"\xE2\x82", "cut 3-byte sequence"},
      {"\xC3"
       "x",
       "lead without continuation"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char content[512];
    snprintf(content, sizeof content, RTE_HEADER RTE_OK "1\tab%scd\tB.\tentailment\n",
             bad[i].bytes);
    /* "1\tab" is 4 bytes: the bad sequence starts at byte 5. */
    expect_error(TPA_TASK_RTE, content, TPA_ERR_DATA, 3, "invalid UTF-8 at byte 5");
  }
  /* A sequence cut by the end of the file (no final newline). */
  expect_error(TPA_TASK_SST2, "sentence\tlabel\nok\t1\nend\t1\xE2\x82", TPA_ERR_DATA, 3,
               "invalid UTF-8 at byte 6");
  /* A NUL byte would silently cut the C string. */
  expect_error_n(TPA_TASK_SST2, "sentence\tlabel\nab\0cd\t1\n", 23, TPA_ERR_DATA, 2,
                 "NUL byte at byte 3");
  /* Well-formed multi-byte text of every length loads. */
  char *path = write_temp_str("utf8_ok.tsv", "sentence\tlabel\n"
                                             "\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 "
                                             "\xF4\x8F\xBF\xBF \xEE\x80\x80\t1\n");
  tpa_dataset *ds = load_ok(TPA_TASK_SST2, path);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 0),
                   "\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF \xEE\x80\x80");
  tpa_dataset_free(ds);
  free(path);
}
END_TEST

START_TEST(empty_files) {
  expect_error(TPA_TASK_SST2, "", TPA_ERR_DATA, 1, "no examples");
  expect_error(TPA_TASK_COLA, "", TPA_ERR_DATA, 1, "no examples");
  expect_error(TPA_TASK_SST2, "sentence\tlabel\n", TPA_ERR_DATA, 1, "no examples after the header");
  expect_error(TPA_TASK_SST2, "sentence\tlabel", TPA_ERR_DATA, 1, "no examples");
  expect_error(TPA_TASK_MRPC, "\xEF\xBB\xBF", TPA_ERR_DATA, 1, "no examples");
  expect_error(TPA_TASK_COLA, "\n\r\n\n", TPA_ERR_DATA, 1, "no examples");
}
END_TEST

START_TEST(blank_line_inside) {
  expect_error(TPA_TASK_RTE, RTE_HEADER RTE_OK "\n" RTE_OK, TPA_ERR_DATA, 3, "empty line");
  expect_error(TPA_TASK_RTE, RTE_HEADER RTE_OK RTE_OK "\r\n" RTE_OK, TPA_ERR_DATA, 4, "empty line");
  /* Line numbers keep counting across CRLF lines. */
  expect_error(TPA_TASK_RTE,
               "index\tsentence1\tsentence2\tlabel\r\n0\tA.\tB.\tentailment\r\n"
               "1\tA.\tB.\tnot_entailment\r\n2\tA.\tB.\tmaybe\r\n",
               TPA_ERR_DATA, 4, "unknown label \"maybe\"");
}
END_TEST

Suite *errors_suite(void) {
  Suite *s = suite_create("errors");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"missing_file", missing_file_and_directory},
      {"bad_arguments", bad_arguments},
      {"too_few_columns", too_few_columns},
      {"unknown_labels", unknown_labels},
      {"bad_stsb_scores", bad_stsb_scores},
      {"invalid_utf8", invalid_utf8},
      {"empty_files", empty_files},
      {"blank_line_inside", blank_line_inside},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}
