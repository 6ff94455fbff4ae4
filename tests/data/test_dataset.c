/* SPDX-License-Identifier: Apache-2.0 */
/* Loading real GLUE files (row counts from shared/data/README.md, rows
 * spot-checked against `awk -F'\t'`), the synthetic MNLI/QQP fixtures,
 * BOM and CRLF handling, params, accessors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data_tests.h"

static const struct {
  const char *file;
  tpa_task task;
  size_t rows;
} real_files[] = {
    {"RTE/train.tsv", TPA_TASK_RTE, 2490},     {"RTE/dev.tsv", TPA_TASK_RTE, 277},
    {"MRPC/train.tsv", TPA_TASK_MRPC, 3668},   {"MRPC/dev.tsv", TPA_TASK_MRPC, 408},
    {"WNLI/train.tsv", TPA_TASK_WNLI, 635},    {"WNLI/dev.tsv", TPA_TASK_WNLI, 71},
    {"CoLA/train.tsv", TPA_TASK_COLA, 8551},   {"CoLA/dev.tsv", TPA_TASK_COLA, 1043},
    {"SST-2/train.tsv", TPA_TASK_SST2, 67349}, {"SST-2/dev.tsv", TPA_TASK_SST2, 872},
    {"STS-B/train.tsv", TPA_TASK_STSB, 5749},  {"STS-B/dev.tsv", TPA_TASK_STSB, 1500},
    {"QNLI/dev.tsv", TPA_TASK_QNLI, 5463},
};

START_TEST(real_files_have_readme_row_counts) {
  for (size_t i = 0; i < sizeof real_files / sizeof real_files[0]; i++) {
    char *path = glue_path(real_files[i].file);
    tpa_dataset *ds = load_ok(real_files[i].task, path);
    ck_assert_msg(tpa_dataset_size(ds) == real_files[i].rows, "%s: %zu rows, want %zu",
                  real_files[i].file, tpa_dataset_size(ds), real_files[i].rows);
    ck_assert_int_eq(tpa_dataset_task(ds), real_files[i].task);
    /* Every example has its texts (b exactly for pair tasks) and a label
     * the task allows. */
    bool pair = tpa_task_is_pair(real_files[i].task);
    int32_t k = tpa_task_num_labels(real_files[i].task);
    for (size_t j = 0; j < tpa_dataset_size(ds); j++) {
      ck_assert_ptr_nonnull(tpa_dataset_text_a(ds, j));
      ck_assert_int_eq(tpa_dataset_text_b(ds, j) != NULL, pair);
      float y = tpa_dataset_label(ds, j);
      if (k == 1)
        ck_assert(y >= 0.0f && y <= 5.0f);
      else
        ck_assert(y == 0.0f || y == 1.0f || (k == 3 && y == 2.0f));
    }
    tpa_dataset_free(ds);
    free(path);
  }
}
END_TEST

#define MRPC_TRAIN_0_A                                                                             \
  "Amrozi accused his brother , whom he called \" the witness \" , of deliberately distorting "    \
  "his evidence ."

/* Expected values come from `awk -F'\t' 'NR==L{print $C}'` on the shared
 * files (example index = L - 2 with a header, L - 1 for CoLA). */
static const struct {
  const char *file;
  tpa_task task;
  size_t index;
  const char *a, *b;
  float label;
} spots[] = {
    {"CoLA/train.tsv", TPA_TASK_COLA, 0,
     "Our friends won't buy this analysis, let alone the next one we propose.", NULL, 1},
    {"CoLA/train.tsv", TPA_TASK_COLA, 845, "Jos\xc3\xa9 likes cabbage, and Holly does too.", NULL,
     1},
    /* The last line of CoLA's dev.tsv has no newline. */
    {"CoLA/dev.tsv", TPA_TASK_COLA, 1042, "John talked to Bill about himself.", NULL, 1},
    {"SST-2/train.tsv", TPA_TASK_SST2, 0, "hide new secretions from the parental units ", NULL, 0},
    {"SST-2/train.tsv", TPA_TASK_SST2, 67348,
     "this new jangle of noise , mayhem and stupidity must be a serious contender for the "
     "title . ",
     NULL, 0},
    {"SST-2/dev.tsv", TPA_TASK_SST2, 0, "it 's a charming and often affecting journey . ", NULL, 1},
    {"SST-2/dev.tsv", TPA_TASK_SST2, 17,
     "audrey tatou has a knack for picking roles that magnify her outrageous charm , and in "
     "this literate french comedy , she 's as morning-glory exuberant as she was in "
     "am\xc3\xa9lie . ",
     NULL, 1},
    {"MRPC/train.tsv", TPA_TASK_MRPC, 0, MRPC_TRAIN_0_A,
     "Referring to him as only \" the witness \" , Amrozi accused his brother of deliberately "
     "distorting his evidence .",
     1},
    {"MRPC/train.tsv", TPA_TASK_MRPC, 3667,
     "The 30-year bond US30YT = RR rose 22 / 32 for a yield of 4.31 percent , versus 4.35 "
     "percent at Wednesday 's close .",
     "The 30-year bond US30YT = RR grew 1-3 / 32 for a yield of 4.30 percent , down from 4.35 "
     "percent late Wednesday .",
     0},
    {"MRPC/dev.tsv", TPA_TASK_MRPC, 0,
     "He said the foodservice pie business doesn 't fit the company 's long-term growth "
     "strategy .",
     "\" The foodservice pie business does not fit our long-term growth strategy .", 1},
    {"STS-B/dev.tsv", TPA_TASK_STSB, 0, "A man with a hard hat is dancing.",
     "A man wearing a hard hat is dancing.", 5.0f},
    {"STS-B/dev.tsv", TPA_TASK_STSB, 5, "A woman is cutting an onion.", "A man is cutting onions.",
     2.615f},
    {"STS-B/dev.tsv", TPA_TASK_STSB, 1275, "Egyptian president moves into Mubarak's old office",
     "Egypt's President-Elect Morsi Starts to Form Government", 2.33333333333333f},
    {"STS-B/dev.tsv", TPA_TASK_STSB, 1499,
     "New video shows US police officers beating mentally-ill man",
     "New York police officer critically wounded in hatchet attack", 0.0f},
    {"STS-B/train.tsv", TPA_TASK_STSB, 2120, "lets assume we have % white and % black.",
     "Imagine a place that's % white and % black.", 3.77777777777778f},
    {"QNLI/dev.tsv", TPA_TASK_QNLI, 0,
     "What came into force after the new constitution was herald?",
     "As of that day, the new constitution heralding the Second Republic came into force.", 0},
    {"QNLI/dev.tsv", TPA_TASK_QNLI, 5462, "Who discovered this and where did they come from?",
     "The development of this fertile soil allowed agriculture and silviculture in the "
     "previously hostile environment; meaning that large portions of the Amazon rainforest are "
     "probably the result of centuries of human management, rather than naturally occurring "
     "as has previously been supposed.",
     1},
    {"RTE/train.tsv", TPA_TASK_RTE, 0, "No Weapons of Mass Destruction Found in Iraq Yet.",
     "Weapons of Mass Destruction Found in Iraq.", 1},
    {"RTE/dev.tsv", TPA_TASK_RTE, 276,
     "Danny Kennedy, Greenpeace campaigns director, said: \"The burden of proof in the Scott "
     "Parkin expulsion case lies morally with the Commonwealth, to prove that he is a danger. "
     "When the Government brought in anti-terror legislation, they promised the public that "
     "these laws would only be used to confront a real and present risk of a terrorist attack, "
     "not a sweep-all approach against citizens. Peace is not terrorism. Peace is not a threat "
     "to national security. No democratic government should expel a foreign citizen because "
     "[it] opposes his political opinions.\"",
     "Greenpeace director said that peace is terrorism.", 1},
    {"WNLI/train.tsv", TPA_TASK_WNLI, 0,
     "I stuck a pin through a carrot. When I pulled the pin out, it had a hole.",
     "The carrot had a hole.", 1},
    {"WNLI/dev.tsv", TPA_TASK_WNLI, 70,
     "George got free tickets to the play, but he gave them to Eric, because he was not "
     "particularly eager to see it.",
     "Eric was not particularly eager to see it.", 0},
};

START_TEST(real_rows_match_awk) {
  for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
    char *path = glue_path(spots[i].file);
    tpa_dataset *ds = load_ok(spots[i].task, path);
    size_t j = spots[i].index;
    ck_assert_msg(j < tpa_dataset_size(ds), "%s", spots[i].file);
    ck_assert_str_eq(tpa_dataset_text_a(ds, j), spots[i].a);
    if (spots[i].b)
      ck_assert_str_eq(tpa_dataset_text_b(ds, j), spots[i].b);
    else
      ck_assert_ptr_null(tpa_dataset_text_b(ds, j));
    ck_assert_msg(tpa_dataset_label(ds, j) == spots[i].label, "%s[%zu]: label %.9g, want %.9g",
                  spots[i].file, j, (double)tpa_dataset_label(ds, j), (double)spots[i].label);
    tpa_dataset_free(ds);
    free(path);
  }
}
END_TEST

START_TEST(mrpc_bom_is_skipped) {
  /* MRPC's files start with EF BB BF before the header. */
  char *path = glue_path("MRPC/train.tsv");
  size_t n;
  char *raw = slurp(path, &n);
  ck_assert(n > 3 && memcmp(raw, "\xEF\xBB\xBFQuality\t", 11) == 0);
  free(raw);
  tpa_dataset *ds = load_ok(TPA_TASK_MRPC, path);
  ck_assert_uint_eq(tpa_dataset_size(ds), 3668);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 0), MRPC_TRAIN_0_A);
  tpa_dataset_free(ds);
  free(path);

  /* With and without a BOM, the same examples; a U+FEFF that is not at
   * the file's start is text and stays. */
  const char *body = "sentence\tlabel\n\xEF\xBB\xBFstarts with a BOM\t1\nplain\t0\n";
  char *plain = write_temp_str("bom_plain.tsv", body);
  char *bom_text = malloc(strlen(body) + 4);
  ck_assert_ptr_nonnull(bom_text);
  memcpy(bom_text, "\xEF\xBB\xBF", 3);
  strcpy(bom_text + 3, body);
  char *with_bom = write_temp_str("bom_with.tsv", bom_text);
  tpa_dataset *a = load_ok(TPA_TASK_SST2, plain), *b = load_ok(TPA_TASK_SST2, with_bom);
  assert_same_dataset(a, b);
  ck_assert_uint_eq(tpa_dataset_size(a), 2);
  ck_assert_str_eq(tpa_dataset_text_a(a, 0), "\xEF\xBB\xBFstarts with a BOM");
  tpa_dataset_free(a);
  tpa_dataset_free(b);

  /* CoLA has no header: the BOM sits before its first example, which must
   * still load (and be counted). */
  char *cola =
      write_temp_str("bom_cola.tsv", "\xEF\xBB\xBFgj04\t1\t\tFirst.\ngj04\t0\t*\tSecond.\n");
  a = load_ok(TPA_TASK_COLA, cola);
  ck_assert_uint_eq(tpa_dataset_size(a), 2);
  ck_assert_str_eq(tpa_dataset_text_a(a, 0), "First.");
  ck_assert(tpa_dataset_label(a, 0) == 1.0f && tpa_dataset_label(a, 1) == 0.0f);
  tpa_dataset_free(a);
  free(plain);
  free(with_bom);
  free(bom_text);
  free(cola);
}
END_TEST

/* Convert LF to CRLF (test side) and compare with the original. */
static char *crlf_copy(const char *src, const char *name) {
  size_t n;
  char *raw = slurp(src, &n);
  char *out = malloc(2 * n + 1);
  ck_assert_ptr_nonnull(out);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (raw[i] == '\n')
      out[m++] = '\r';
    out[m++] = raw[i];
  }
  char *path = write_temp(name, out, m);
  free(raw);
  free(out);
  return path;
}

START_TEST(crlf_equals_lf) {
  static const struct {
    const char *file;
    tpa_task task;
  } files[] = {{"RTE/dev.tsv", TPA_TASK_RTE},
               {"STS-B/dev.tsv", TPA_TASK_STSB},
               {"CoLA/dev.tsv", TPA_TASK_COLA},
               {"SST-2/dev.tsv", TPA_TASK_SST2}};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char *path = glue_path(files[i].file);
    char name[64];
    snprintf(name, sizeof name, "crlf_%zu.tsv", i);
    char *crlf = crlf_copy(path, name);
    tpa_dataset *a = load_ok(files[i].task, path), *b = load_ok(files[i].task, crlf);
    assert_same_dataset(a, b);
    tpa_dataset_free(a);
    tpa_dataset_free(b);
    free(path);
    free(crlf);
  }
}
END_TEST

START_TEST(mnli_label_is_last_column) {
  /* Train: 12 columns, label1 then gold_label; dev: 16 columns with five
   * annotator labels. Rows where label1 differs from gold_label show that
   * the last column is the one used. */
  char *train = fixture_path("mnli_train.tsv");
  tpa_dataset *ds = load_ok(TPA_TASK_MNLI, train);
  ck_assert_uint_eq(tpa_dataset_size(ds), 5);
  static const float train_labels[] = {0, 1, 2, 1, 2}; /* last row: label1 contradiction */
  for (size_t i = 0; i < 5; i++)
    ck_assert(tpa_dataset_label(ds, i) == train_labels[i]);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 0), "The committee met twice before lunch.");
  ck_assert_str_eq(tpa_dataset_text_b(ds, 0), "The committee never met.");
  ck_assert_str_eq(tpa_dataset_text_a(ds, 3), "The caf\xc3\xa9 opened at nine.");
  ck_assert_str_eq(tpa_dataset_text_b(ds, 3), "The caf\xc3\xa9 was open in the morning.");
  tpa_dataset_free(ds);
  free(train);

  char *dev = fixture_path("mnli_dev_matched.tsv");
  ds = load_ok(TPA_TASK_MNLI, dev);
  ck_assert_uint_eq(tpa_dataset_size(ds), 4);
  static const float dev_labels[] = {0, 0, 1, 2}; /* row 2: label1 neutral, gold entailment */
  for (size_t i = 0; i < 4; i++)
    ck_assert(tpa_dataset_label(ds, i) == dev_labels[i]);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 2), "He fixed the bike with a wrench.");
  ck_assert_str_eq(tpa_dataset_text_b(ds, 2), "He used a tool.");
  tpa_dataset_free(ds);
  free(dev);
}
END_TEST

START_TEST(qqp_columns) {
  char *path = fixture_path("qqp_train.tsv");
  tpa_dataset *ds = load_ok(TPA_TASK_QQP, path);
  ck_assert_uint_eq(tpa_dataset_size(ds), 4);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 0), "How do I learn to cook rice?");
  ck_assert_str_eq(tpa_dataset_text_b(ds, 0), "What is the best way to cook rice?");
  ck_assert_str_eq(tpa_dataset_text_a(ds, 3), "O\xc3\xb9 est la gare ?");
  ck_assert_str_eq(tpa_dataset_text_b(ds, 3), "Where is the train station?");
  static const float labels[] = {1, 0, 1, 0};
  for (size_t i = 0; i < 4; i++)
    ck_assert(tpa_dataset_label(ds, i) == labels[i]);
  tpa_dataset_free(ds);
  free(path);
}
END_TEST

START_TEST(extra_columns_and_empty_fields) {
  /* Columns beyond the task's are ignored; an empty text is a valid (if
   * useless) example; trailing blank lines are not examples. */
  char *path = write_temp_str("extra.tsv", "index\ts1\ts2\tlabel\textra\n"
                                           "0\t\tsecond\tentailment\tx\ty\n"
                                           "1\tfirst\t\tnot_entailment\n\n\r\n\n");
  tpa_dataset *ds = load_ok(TPA_TASK_RTE, path);
  ck_assert_uint_eq(tpa_dataset_size(ds), 2);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 0), "");
  ck_assert_str_eq(tpa_dataset_text_b(ds, 0), "second");
  ck_assert_str_eq(tpa_dataset_text_b(ds, 1), "");
  ck_assert(tpa_dataset_label(ds, 0) == 0.0f && tpa_dataset_label(ds, 1) == 1.0f);
  tpa_dataset_free(ds);
  free(path);
}
END_TEST

START_TEST(stsb_score_forms) {
  /* Accepted spellings of 0-5 and their values (by hand). */
  char *path = write_temp_str("stsb_forms.tsv",
                              "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\t"
                              "sentence1\tsentence2\tscore\n"
                              "0\tg\tf\ty\t0\tn\tn\ta\tb\t0\n"
                              "1\tg\tf\ty\t0\tn\tn\ta\tb\t5\n"
                              "2\tg\tf\ty\t0\tn\tn\ta\tb\t5.000\n"
                              "3\tg\tf\ty\t0\tn\tn\ta\tb\t.5\n"
                              "4\tg\tf\ty\t0\tn\tn\ta\tb\t4.\n"
                              "5\tg\tf\ty\t0\tn\tn\ta\tb\t+4.2\n"
                              "6\tg\tf\ty\t0\tn\tn\ta\tb\t25e-1\n"
                              "7\tg\tf\ty\t0\tn\tn\ta\tb\t0e999\n"
                              "8\tg\tf\ty\t0\tn\tn\ta\tb\t-0.0\n"
                              "9\tg\tf\ty\t0\tn\tn\ta\tb\t0.0000000000000000000000000001\n"
                              "10\tg\tf\ty\t0\tn\tn\ta\tb\t3.14159265358979323846264338\n");
  tpa_dataset *ds = load_ok(TPA_TASK_STSB, path);
  static const float want[] = {
      0.0f, 5.0f, 5.0f, 0.5f, 4.0f, 4.2f, 2.5f, 0.0f, 0.0f, 1e-28f, 3.14159265358979323846264338f};
  ck_assert_uint_eq(tpa_dataset_size(ds), sizeof want / sizeof want[0]);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    ck_assert_msg(tpa_dataset_label(ds, i) == want[i], "row %zu: %.9g", i,
                  (double)tpa_dataset_label(ds, i));
  tpa_dataset_free(ds);
  free(path);
}
END_TEST

START_TEST(max_rows_and_params_size) {
  char *path = glue_path("SST-2/train.tsv");
  tpa_dataset *all = load_ok(TPA_TASK_SST2, path);
  tpa_dataset_params p;
  tpa_dataset_params_init(&p, sizeof p);
  ck_assert_uint_eq(p.size, sizeof p);
  ck_assert_uint_eq(p.max_rows, 0);
  p.max_rows = 5;
  tpa_dataset *five = NULL;
  ck_assert_int_eq(tpa_dataset_load(&five, TPA_TASK_SST2, path, &p), TPA_OK);
  ck_assert_uint_eq(tpa_dataset_size(five), 5);
  for (size_t i = 0; i < 5; i++) {
    ck_assert_str_eq(tpa_dataset_text_a(five, i), tpa_dataset_text_a(all, i));
    ck_assert(tpa_dataset_label(five, i) == tpa_dataset_label(all, i));
  }
  ck_assert_ptr_null(tpa_dataset_text_a(five, 5));
  tpa_dataset_free(five);

  /* More than the file has: everything. */
  p.max_rows = 1000000;
  tpa_dataset *more = NULL;
  ck_assert_int_eq(tpa_dataset_load(&more, TPA_TASK_SST2, path, &p), TPA_OK);
  ck_assert_uint_eq(tpa_dataset_size(more), 67349);
  tpa_dataset_free(more);

  /* An older caller's struct that ends before max_rows: defaults. */
  struct {
    size_t size;
  } old = {sizeof(size_t)};
  tpa_dataset *dflt = NULL;
  ck_assert_int_eq(
      tpa_dataset_load(&dflt, TPA_TASK_SST2, path, (const tpa_dataset_params *)(void *)&old),
      TPA_OK);
  ck_assert_uint_eq(tpa_dataset_size(dflt), 67349);
  tpa_dataset_free(dflt);
  tpa_dataset_free(all);
  free(path);
}
END_TEST

START_TEST(accessors_out_of_range) {
  char *path = glue_path("WNLI/dev.tsv");
  tpa_dataset *ds = load_ok(TPA_TASK_WNLI, path);
  size_t n = tpa_dataset_size(ds);
  ck_assert_ptr_null(tpa_dataset_text_a(ds, n));
  ck_assert_ptr_null(tpa_dataset_text_b(ds, n));
  ck_assert(isnan(tpa_dataset_label(ds, n)));
  ck_assert(isnan(tpa_dataset_label(ds, (size_t)-1)));
  ck_assert_ptr_null(tpa_dataset_text_a(NULL, 0));
  ck_assert_ptr_null(tpa_dataset_text_b(NULL, 0));
  ck_assert(isnan(tpa_dataset_label(NULL, 0)));
  ck_assert_uint_eq(tpa_dataset_size(NULL), 0);
  ck_assert_ptr_null(tpa_task_name(tpa_dataset_task(NULL)));
  tpa_dataset_free(NULL);
  tpa_dataset_free(ds);
  free(path);
}
END_TEST

START_TEST(sst2_train_load_time) {
  /* Reported, not asserted (the machine is shared): the README's claim
   * that a 67k-row file loads in milliseconds comes from this line. */
  char *path = glue_path("SST-2/train.tsv");
  struct timespec t0, t1;
  double best = 1e9;
  for (int rep = 0; rep < 5; rep++) {
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tpa_dataset *ds = load_ok(TPA_TASK_SST2, path);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_uint_eq(tpa_dataset_size(ds), 67349);
    tpa_dataset_free(ds);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    best = ms < best ? ms : best;
  }
  printf("SST-2 train.tsv (67349 rows): loaded in %.2f ms (best of 5)\n", best);
  free(path);
}
END_TEST

Suite *dataset_suite(void) {
  Suite *s = suite_create("dataset");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"real_row_counts", real_files_have_readme_row_counts},
      {"real_rows_match_awk", real_rows_match_awk},
      {"bom", mrpc_bom_is_skipped},
      {"crlf", crlf_equals_lf},
      {"mnli_last_column", mnli_label_is_last_column},
      {"qqp_columns", qqp_columns},
      {"extra_columns_empty_fields", extra_columns_and_empty_fields},
      {"stsb_score_forms", stsb_score_forms},
      {"max_rows_params", max_rows_and_params_size},
      {"accessors", accessors_out_of_range},
      {"load_time", sst2_train_load_time},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}
