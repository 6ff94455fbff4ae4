/* SPDX-License-Identifier: Apache-2.0 */
/* Tables of one's own (tpa_dataset_load_table): CSV quoting as RFC 4180
 * and Python's csv module read it, TSV, JSON Lines values and escapes,
 * gzip, columns by name and number, label classes, unlabeled files, the
 * stratified split, and every kind of bad input with its file, line and
 * column in the message and no dataset returned. */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data_tests.h"

static tpa_dataset *table_ok(const char *path, const tpa_table_params *p) {
  tpa_dataset *ds = NULL;
  tpa_status st = tpa_dataset_load_table(&ds, path, p);
  ck_assert_msg(st == TPA_OK, "%s: %s", path, tpa_last_error());
  ck_assert_ptr_nonnull(ds);
  return ds;
}

static tpa_dataset *table_str(const char *name, const char *text, const tpa_table_params *p) {
  char *path = write_temp_str(name, text);
  tpa_dataset *ds = table_ok(path, p);
  free(path);
  return ds;
}

/* Load must fail with @p want and a message holding "NAME:LINE" (line 0:
 * only the name) and @p part. */
static void table_bad(const char *name, const void *data, size_t n, const tpa_table_params *p,
                      tpa_status want, size_t line, const char *part) {
  char *path = write_temp(name, data, n);
  tpa_dataset *ds = (tpa_dataset *)1;
  tpa_status st = tpa_dataset_load_table(&ds, path, p);
  const char *msg = tpa_last_error();
  ck_assert_msg(st == want, "%s: status %s, want %s (%s)", name, tpa_status_str(st),
                tpa_status_str(want), msg);
  ck_assert_ptr_null(ds);
  char where[4200];
  if (line)
    snprintf(where, sizeof where, "%s:%zu:", path, line);
  else
    snprintf(where, sizeof where, "%s", path);
  ck_assert_msg(strstr(msg, where), "%s: message '%s' lacks '%s'", name, msg, where);
  ck_assert_msg(strstr(msg, part), "%s: message '%s' lacks '%s'", name, msg, part);
  free(path);
}

static void bad_str(const char *name, const char *text, const tpa_table_params *p, size_t line,
                    const char *part) {
  table_bad(name, text, strlen(text), p, TPA_ERR_DATA, line, part);
}

static tpa_table_params params(void) {
  tpa_table_params p;
  tpa_table_params_init(&p, sizeof p);
  return p;
}

/* ------------------------------------------------------------------------ */

START_TEST(csv_quoting) {
  /* Quoted commas, doubled quotes, CRLF, a newline inside quotes, a quote
   * inside an unquoted field (kept, as Python's csv does), empty last
   * field in the pair. */
  const char *csv = "sentence,label,other\r\n"
                    "\"a, b\",1,x\r\n"
                    "\"she said \"\"hi\"\"\",0,\r\n"
                    "\"two\nlines\",1,\"\"\r\n"
                    "it's 5\" tall,0,y\n";
  tpa_table_params p = params();
  tpa_dataset *ds = table_str("q.csv", csv, &p);
  ck_assert_uint_eq(tpa_dataset_size(ds), 4);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 0), "a, b");
  ck_assert_str_eq(tpa_dataset_text_a(ds, 1), "she said \"hi\"");
  ck_assert_str_eq(tpa_dataset_text_a(ds, 2), "two\nlines");
  ck_assert_str_eq(tpa_dataset_text_a(ds, 3), "it's 5\" tall");
  ck_assert_ptr_null(tpa_dataset_text_b(ds, 0));
  ck_assert_int_eq(tpa_dataset_num_labels(ds), 2);
  ck_assert(tpa_dataset_has_labels(ds));
  ck_assert_float_eq(tpa_dataset_label(ds, 0), 1.0f);
  ck_assert_float_eq(tpa_dataset_label(ds, 1), 0.0f);
  ck_assert_str_eq(tpa_dataset_column(ds, TPA_ROLE_TEXT), "sentence");
  ck_assert_str_eq(tpa_dataset_column(ds, TPA_ROLE_LABEL), "label");
  ck_assert_ptr_null(tpa_dataset_column(ds, TPA_ROLE_TEXT_PAIR));
  ck_assert_int_eq(tpa_dataset_task(ds), TPA_TASK_COUNT);
  tpa_dataset_free(ds);
  /* A last line ending in CR without LF, quoted or not. */
  ds = table_str("cr.csv", "text,label\r\na,x\r\n\"b\",y\r", &p);
  ck_assert_str_eq(tpa_dataset_label_name(ds, 1), "y");
  ck_assert_str_eq(tpa_dataset_text_a(ds, 1), "b");
  tpa_dataset_free(ds);
  ds = table_str("cr2.csv", "text,label\r\na,x\r\nb,y\r", &p);
  ck_assert_str_eq(tpa_dataset_label_name(ds, 1), "y");
  tpa_dataset_free(ds);
}
END_TEST

START_TEST(tsv_keeps_quotes) {
  tpa_table_params p = params();
  tpa_dataset *ds =
      table_str("t.tsv", "\xEF\xBB\xBFtext\tlabel\n\"quoted\" word\tb\nplain\ta\n\n\n", &p);
  ck_assert_uint_eq(tpa_dataset_size(ds), 2);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 0), "\"quoted\" word");
  /* Strings in byte order: a = 0, b = 1. */
  ck_assert_str_eq(tpa_dataset_label_name(ds, 0), "a");
  ck_assert_str_eq(tpa_dataset_label_name(ds, 1), "b");
  ck_assert_float_eq(tpa_dataset_label(ds, 0), 1.0f);
  tpa_dataset_free(ds);
}
END_TEST

START_TEST(jsonl_values) {
  const char *jsonl =
      "{\"text\": \"caf\\u00e9 \\\"x\\\"\\n\", \"label\": 10, \"meta\": {\"a\": [1, {\"b\": "
      "\"]\"}]}}\n"
      "\n"
      "  {\"label\": 2, \"text\": \"\\ud83d\\ude00 smile\", \"text\": \"last wins\"}  \n"
      "{\"text\": 3.5e1, \"label\": 2}\n"
      "{\"text\": true, \"label\": -1, \"x\": null}\n";
  tpa_table_params p = params();
  tpa_dataset *ds = table_str("v.jsonl", jsonl, &p);
  ck_assert_uint_eq(tpa_dataset_size(ds), 4);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 0), "caf\xC3\xA9 \"x\"\n");
  ck_assert_str_eq(tpa_dataset_text_a(ds, 1), "last wins");
  ck_assert_str_eq(tpa_dataset_text_a(ds, 2), "3.5e1");
  ck_assert_str_eq(tpa_dataset_text_a(ds, 3), "true");
  /* Integers in numeric order: -1, 2, 10. */
  ck_assert_int_eq(tpa_dataset_num_labels(ds), 3);
  ck_assert_str_eq(tpa_dataset_label_name(ds, 0), "-1");
  ck_assert_str_eq(tpa_dataset_label_name(ds, 1), "2");
  ck_assert_str_eq(tpa_dataset_label_name(ds, 2), "10");
  ck_assert_float_eq(tpa_dataset_label(ds, 0), 2.0f);
  ck_assert_float_eq(tpa_dataset_label(ds, 3), 0.0f);
  tpa_dataset_free(ds);
  /* A surrogate pair decodes to one 4-byte character. */
  p.label_column = "";
  ds = table_str("s.ndjson", "{\"text\": \"\\ud83d\\ude00\"}\n", &p);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 0), "\xF0\x9F\x98\x80");
  ck_assert(!tpa_dataset_has_labels(ds));
  tpa_dataset_free(ds);
}
END_TEST

START_TEST(gzip_and_format) {
  const char *csv = "text,label\nx,a\ny,b\n";
  /* gzip under a .csv.gz name: the format comes from the name without .gz */
  char *gz_path = write_temp_str("g.csv.gz", "");
  gzFile gz = gzopen(gz_path, "wb");
  ck_assert_ptr_nonnull(gz);
  ck_assert_int_eq(gzputs(gz, csv), (int)strlen(csv));
  ck_assert_int_eq(gzclose(gz), Z_OK);
  tpa_table_params p = params();
  tpa_dataset *ds = table_ok(gz_path, &p);
  ck_assert_uint_eq(tpa_dataset_size(ds), 2);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 1), "y");
  tpa_dataset_free(ds);
  free(gz_path);
  /* An unknown extension needs the format; given, it wins. */
  char *txt = write_temp_str("data.txt", csv);
  ds = (tpa_dataset *)1;
  ck_assert_int_eq(tpa_dataset_load_table(&ds, txt, &p), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(ds);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "cannot tell the format"));
  p.format = TPA_TABLE_CSV;
  ds = table_ok(txt, &p);
  ck_assert_uint_eq(tpa_dataset_size(ds), 2);
  tpa_dataset_free(ds);
  p.format = (tpa_table_format)9;
  ck_assert_int_eq(tpa_dataset_load_table(&ds, txt, &p), TPA_ERR_INVALID_ARGUMENT);
  free(txt);
}
END_TEST

START_TEST(columns_by_name_and_number) {
  const char *csv = "id,question,sentence,label\n7,why?,because.,yes\n8,who?,me.,no\n";
  tpa_table_params p = params();
  /* Automatic: question with sentence as its pair. */
  tpa_dataset *ds = table_str("c.csv", csv, &p);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 0), "why?");
  ck_assert_str_eq(tpa_dataset_text_b(ds, 0), "because.");
  ck_assert_str_eq(tpa_dataset_column(ds, TPA_ROLE_TEXT_PAIR), "sentence");
  tpa_dataset_free(ds);
  /* By number, and a named text without a pair. */
  p.text_column = "3";
  p.label_column = "4";
  ds = table_str("c.csv", csv, &p);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 1), "me.");
  ck_assert_ptr_null(tpa_dataset_text_b(ds, 1));
  ck_assert_str_eq(tpa_dataset_column(ds, TPA_ROLE_TEXT), "sentence");
  tpa_dataset_free(ds);
  /* An explicit pair; "" turns the automatic pair off. */
  p = params();
  p.text_column = "sentence";
  p.text_pair_column = "question";
  ds = table_str("c.csv", csv, &p);
  ck_assert_str_eq(tpa_dataset_text_b(ds, 0), "why?");
  tpa_dataset_free(ds);
  p = params();
  p.text_pair_column = "";
  ds = table_str("c.csv", csv, &p);
  ck_assert_ptr_null(tpa_dataset_text_b(ds, 0));
  tpa_dataset_free(ds);
}
END_TEST

START_TEST(labels_given_and_ids) {
  const char *csv = "text,label\nx,pos\ny,neg\nz,pos\n";
  static const char *const names[] = {"neg", "pos", "neutral"};
  tpa_table_params p = params();
  p.labels = names;
  p.num_labels = 3;
  tpa_dataset *ds = table_str("l.csv", csv, &p);
  ck_assert_int_eq(tpa_dataset_num_labels(ds), 3);
  ck_assert_float_eq(tpa_dataset_label(ds, 0), 1.0f);
  ck_assert_float_eq(tpa_dataset_label(ds, 1), 0.0f);
  ck_assert_str_eq(tpa_dataset_label_name(ds, 2), "neutral");
  ck_assert_ptr_null(tpa_dataset_label_name(ds, 3));
  tpa_dataset_free(ds);
  /* Integer labels are class ids when no class name is an integer. */
  ds = table_str("i.csv", "text,label\nx,2\ny,0\n", &p);
  ck_assert_float_eq(tpa_dataset_label(ds, 0), 2.0f);
  tpa_dataset_free(ds);
  bad_str("i3.csv", "text,label\nx,3\n", &p, 2, "label \"3\" in column \"label\" is not one");
  /* A given list must be at least 2 distinct names. */
  static const char *const twice[] = {"a", "a"};
  p.labels = twice;
  p.num_labels = 2;
  char *path = write_temp_str("i.csv", "text,label\nx,a\n");
  tpa_dataset *bad = NULL;
  ck_assert_int_eq(tpa_dataset_load_table(&bad, path, &p), TPA_ERR_INVALID_ARGUMENT);
  p.num_labels = 1;
  ck_assert_int_eq(tpa_dataset_load_table(&bad, path, &p), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(bad);
  free(path);
}
END_TEST

START_TEST(unlabeled_and_required) {
  tpa_table_params p = params();
  tpa_dataset *ds = table_str("u.csv", "index,sentence\n0,hello\n1,world\n", &p);
  ck_assert(!tpa_dataset_has_labels(ds));
  ck_assert_int_eq(tpa_dataset_num_labels(ds), 0);
  ck_assert(isnan(tpa_dataset_label(ds, 1)));
  ck_assert_ptr_null(tpa_dataset_column(ds, TPA_ROLE_LABEL));
  tpa_dataset *kept = NULL, *held = NULL;
  ck_assert_int_eq(tpa_dataset_split(ds, 0.5, 1, &kept, &held), TPA_ERR_INVALID_ARGUMENT);
  tpa_dataset_free(ds);
  p.require_labels = true;
  bad_str("u.csv", "index,sentence\n0,hello\n", &p, 0, "no column \"label\"");
  /* "" never reads labels, even when the column exists. */
  p = params();
  p.label_column = "";
  ds = table_str("u2.csv", "text,label\nx,\n", &p);
  ck_assert(!tpa_dataset_has_labels(ds));
  tpa_dataset_free(ds);
}
END_TEST

START_TEST(regression_values) {
  tpa_table_params p = params();
  p.regression = true;
  tpa_dataset *ds = table_str("r.jsonl",
                              "{\"text\": \"a\", \"label\": 0.25}\n"
                              "{\"text\": \"b\", \"label\": \"-3e2\"}\n",
                              &p);
  ck_assert_int_eq(tpa_dataset_num_labels(ds), 1);
  ck_assert_float_eq(tpa_dataset_label(ds, 0), 0.25f);
  ck_assert_float_eq(tpa_dataset_label(ds, 1), -300.0f);
  ck_assert_ptr_null(tpa_dataset_label_name(ds, 0));
  tpa_dataset_free(ds);
}
END_TEST

START_TEST(max_rows) {
  tpa_table_params p = params();
  p.max_rows = 2;
  /* The third row is broken but never read. */
  tpa_dataset *ds = table_str("m.csv", "text,label\na,0\nb,1\n\"broken\n", &p);
  ck_assert_uint_eq(tpa_dataset_size(ds), 2);
  tpa_dataset_free(ds);
}
END_TEST

START_TEST(split_stratified) {
  /* 60 of class a, 30 of b, 10 of c: a 20% split holds 12, 6 and 2. */
  size_t cap = 100 * 16 + 32, at = 0;
  char *csv = malloc(cap);
  ck_assert_ptr_nonnull(csv);
  at += (size_t)snprintf(csv, cap, "text,label\n");
  for (int i = 0; i < 100; i++)
    at += (size_t)snprintf(csv + at, cap - at, "t%d,%s\n", i, i < 60 ? "a" : i < 90 ? "b" : "c");
  tpa_table_params p = params();
  tpa_dataset *ds = table_str("sp.csv", csv, &p);
  free(csv);
  tpa_dataset *kept = NULL, *held = NULL;
  ck_assert_int_eq(tpa_dataset_split(ds, 0.2, 7, &kept, &held), TPA_OK);
  ck_assert_uint_eq(tpa_dataset_size(held), 20);
  ck_assert_uint_eq(tpa_dataset_size(kept), 80);
  int count[3] = {0, 0, 0};
  for (size_t i = 0; i < tpa_dataset_size(held); i++)
    count[(int)tpa_dataset_label(held, i)]++;
  ck_assert_int_eq(count[0], 12);
  ck_assert_int_eq(count[1], 6);
  ck_assert_int_eq(count[2], 2);
  ck_assert_str_eq(tpa_dataset_label_name(held, 2), "c");
  /* File order kept, and every example in exactly one part. */
  int seen[100] = {0};
  tpa_dataset *parts[2] = {kept, held};
  for (int k = 0; k < 2; k++) {
    int last = -1;
    for (size_t i = 0; i < tpa_dataset_size(parts[k]); i++) {
      int idx = atoi(tpa_dataset_text_a(parts[k], i) + 1);
      ck_assert_int_gt(idx, last);
      last = idx;
      seen[idx]++;
    }
  }
  for (int i = 0; i < 100; i++)
    ck_assert_int_eq(seen[i], 1);
  /* The same seed gives the same split; the parts outlive the source. */
  tpa_dataset *kept2 = NULL, *held2 = NULL;
  ck_assert_int_eq(tpa_dataset_split(ds, 0.2, 7, &kept2, &held2), TPA_OK);
  tpa_dataset_free(ds);
  for (size_t i = 0; i < tpa_dataset_size(held); i++)
    ck_assert_str_eq(tpa_dataset_text_a(held, i), tpa_dataset_text_a(held2, i));
  tpa_dataset_free(kept);
  tpa_dataset_free(held);
  tpa_dataset_free(kept2);
  tpa_dataset_free(held2);
}
END_TEST

START_TEST(split_tiny) {
  tpa_table_params p = params();
  tpa_dataset *ds = table_str("tiny.csv", "text,label\na,x\nb,y\nc,y\n", &p);
  tpa_dataset *kept = NULL, *held = NULL;
  /* 10% of 1 and of 2 round to 0: one y is held out all the same. */
  ck_assert_int_eq(tpa_dataset_split(ds, 0.1, 1, &kept, &held), TPA_OK);
  ck_assert_uint_eq(tpa_dataset_size(held), 1);
  ck_assert_float_eq(tpa_dataset_label(held, 0), 1.0f);
  tpa_dataset_free(kept);
  tpa_dataset_free(held);
  ck_assert_int_eq(tpa_dataset_split(ds, 1.0, 1, &kept, &held), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_dataset_split(ds, 0.0, 1, &kept, &held), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(kept);
  ck_assert_ptr_null(held);
  tpa_dataset_free(ds);
  /* Every class single: nothing can be held out. */
  ds = table_str("single.csv", "text,label\na,x\nb,y\n", &p);
  ck_assert_int_eq(tpa_dataset_split(ds, 0.5, 1, &kept, &held), TPA_ERR_INVALID_ARGUMENT);
  tpa_dataset_free(ds);
}
END_TEST

START_TEST(glue_test_layout) {
  /* GLUE's test.tsv files: index and texts, no label. */
  char *path = write_temp_str("test.tsv", "index\tsentence\n0\tit is a great movie\n1\tbad\n");
  tpa_dataset *ds = load_ok(TPA_TASK_SST2, path);
  ck_assert_uint_eq(tpa_dataset_size(ds), 2);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 0), "it is a great movie");
  ck_assert(!tpa_dataset_has_labels(ds));
  ck_assert(isnan(tpa_dataset_label(ds, 0)));
  tpa_dataset_free(ds);
  free(path);
  path = write_temp_str("rte_test.tsv", "index\tsentence1\tsentence2\n0\tA man.\tA person.\n");
  ds = load_ok(TPA_TASK_RTE, path);
  ck_assert_str_eq(tpa_dataset_text_b(ds, 0), "A person.");
  ck_assert(!tpa_dataset_has_labels(ds));
  tpa_dataset_free(ds);
  free(path);
  path = write_temp_str("qqp_test.tsv", "id\tquestion1\tquestion2\n0\tWhy?\tHow?\n");
  ds = load_ok(TPA_TASK_QQP, path);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 0), "Why?");
  tpa_dataset_free(ds);
  free(path);
  path = write_temp_str("cola_test.tsv", "index\tsentence\n0\tThe book was read.\n");
  ds = load_ok(TPA_TASK_COLA, path);
  ck_assert_str_eq(tpa_dataset_text_a(ds, 0), "The book was read.");
  tpa_dataset_free(ds);
  free(path);
  /* A labelled file with an index column stays labelled. */
  path =
      write_temp_str("rte_dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\n");
  ds = load_ok(TPA_TASK_RTE, path);
  ck_assert(tpa_dataset_has_labels(ds));
  ck_assert_float_eq(tpa_dataset_label(ds, 0), 0.0f);
  tpa_dataset_free(ds);
  free(path);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Bad input: one test each, exact line and column                           */

START_TEST(bad_ragged_row) {
  tpa_table_params p = params();
  bad_str("rag.csv", "text,label,x\na,0,1\nb,1\n", &p, 3, "2 fields but the header has 3");
  bad_str("rag.tsv", "text\tlabel\na\t0\textra\n", &p, 2, "3 fields but the header has 2");
}
END_TEST

START_TEST(bad_unterminated_quote) {
  tpa_table_params p = params();
  bad_str("uq.csv", "text,label\na,0\n\"never closed,1\nmore\n", &p, 3,
          "unterminated quoted field");
  bad_str("aq.csv", "text,label\n\"x\"y,0\n", &p, 2, "text after the closing quote of field 1");
}
END_TEST

START_TEST(bad_duplicate_header) {
  tpa_table_params p = params();
  bad_str("dup.csv", "text,label,text\na,0,b\n", &p, 1, "column name \"text\" appears twice");
}
END_TEST

START_TEST(bad_empty_text) {
  tpa_table_params p = params();
  bad_str("empty.csv", "text,label\na,0\n,1\n", &p, 3, "empty text in column \"text\"");
  bad_str("empty.jsonl", "{\"text\": \"\", \"label\": 0}\n", &p, 1, "empty text in column");
  bad_str("nolabel.csv", "text,label\na,\n", &p, 2, "empty label in column \"label\"");
}
END_TEST

START_TEST(bad_utf8_and_nul) {
  tpa_table_params p = params();
  bad_str("u8.csv", "text,label\nok,0\nbad \xC3\x28 byte,1\n", &p, 3, "invalid UTF-8 at byte 5");
  table_bad("nul.csv", "text,label\nok,0\nnu\0l,1\n", 20, &p, TPA_ERR_DATA, 3, "NUL byte");
  bad_str("nul.jsonl", "{\"text\": \"a\\u0000b\", \"label\": 1}\n", &p, 1, "NUL character");
  bad_str("sur.jsonl", "{\"text\": \"\\ud800\", \"label\": 1}\n", &p, 1, "unpaired surrogate");
}
END_TEST

START_TEST(bad_json_lines) {
  tpa_table_params p = params();
  bad_str("arr.jsonl", "{\"text\": \"a\", \"label\": 0}\n[1, 2]\n", &p, 2,
          "the line is not a JSON object");
  bad_str("two.jsonl", "{\"text\": \"a\", \"label\": 0} {\"text\": \"b\"}\n", &p, 1,
          "text after the object");
  bad_str("null.jsonl", "{\"text\": null, \"label\": 0}\n", &p, 1,
          "key \"text\" (the text) is null");
  bad_str("nest.jsonl", "{\"text\": \"a\", \"label\": [0]}\n", &p, 1,
          "key \"label\" (the label) is an array or object");
  bad_str("miss.jsonl", "{\"text\": \"a\", \"label\": 0}\n{\"label\": 1}\n", &p, 2,
          "no key \"text\"");
  bad_str("num.jsonl", "{\"text\": 01, \"label\": 0}\n", &p, 1, "expected ',' or '}'");
  bad_str("esc.jsonl", "{\"text\": \"\\q\", \"label\": 0}\n", &p, 1, "invalid escape");
  bad_str("open.jsonl", "{\"text\": \"abc\n", &p, 1, "unterminated string");
}
END_TEST

START_TEST(bad_regression_label) {
  tpa_table_params p = params();
  p.regression = true;
  bad_str("nan.csv", "text,label\na,1.5\nb,nan\n", &p, 3,
          "\"nan\" in column \"label\" is not a finite number");
  bad_str("inf.jsonl", "{\"text\": \"a\", \"label\": 1e999}\n", &p, 1, "is not a finite number");
  bad_str("bool.jsonl", "{\"text\": \"a\", \"label\": true}\n", &p, 1, "is not a finite number");
}
END_TEST

START_TEST(bad_single_class) {
  tpa_table_params p = params();
  bad_str("one.csv", "text,label\na,yes\nb,yes\n", &p, 2, "at least 2 classes");
}
END_TEST

START_TEST(bad_missing_column) {
  tpa_table_params p = params();
  p.text_column = "review";
  bad_str("mc.csv", "body,stars\na,1\n", &p, 0,
          "no column \"review\" for the text column (the file has \"body\", \"stars\")");
  p = params();
  bad_str("auto.csv", "body,stars\na,1\n", &p, 0, "no text column");
  p.label_column = "grade";
  bad_str("lab.jsonl", "{\"text\": \"a\"}\n", &p, 0, "no column \"grade\" for the label column");
  p = params();
  p.text_column = "9";
  bad_str("num.csv", "text,label\na,1\n", &p, 0, "no column \"9\"");
}
END_TEST

START_TEST(bad_empty_files) {
  tpa_table_params p = params();
  bad_str("none.csv", "", &p, 0, "empty file");
  bad_str("hdr.csv", "text,label\n\n", &p, 1, "no examples after the header");
  tpa_dataset *ds = (tpa_dataset *)1;
  char *dir = temp_subdir("adir.csv");
  ck_assert_int_eq(tpa_dataset_load_table(&ds, dir, &p), TPA_ERR_IO);
  ck_assert_ptr_null(ds);
  free(dir);
  ck_assert_int_eq(tpa_dataset_load_table(&ds, "/nonexistent/x.csv", &p), TPA_ERR_NOT_FOUND);
}
END_TEST

/* Resident high-water mark of this process in kB (Check runs each test in
 * a child of its own, so the mark starts near the runner's size). */
static long vm_hwm_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  ck_assert_ptr_nonnull(f);
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
      break;
  fclose(f);
  return kb;
}

START_TEST(long_line_bounded_memory) {
  /* One 100 MB text field: loading takes about its size in memory (the
   * buffer is parsed in place), not a multiple of the file. */
  const size_t len = 100u << 20;
  char *text = malloc(len + 64);
  ck_assert_ptr_nonnull(text);
  size_t at = (size_t)snprintf(text, 64, "text,label\n");
  memset(text + at, 'w', len);
  at += len;
  at += (size_t)snprintf(text + at, 64, ",1\nb,0\n");
  char *path = write_temp("long.csv", text, at);
  free(text);
  const long before = vm_hwm_kb();
  tpa_table_params p = params();
  tpa_dataset *ds = table_ok(path, &p);
  const long grew = vm_hwm_kb() - before;
  ck_assert_uint_eq(strlen(tpa_dataset_text_a(ds, 0)), len);
  tpa_dataset_free(ds);
  ck_assert_msg(grew < 2 * (long)(len >> 10), "peak grew by %ld kB for a %zu kB line", grew,
                len >> 10);
  free(path);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Metrics of a table's classes against scikit-learn and SciPy               */

static float *floats(const json_t *arr, size_t *n) {
  *n = json_array_size(arr);
  float *v = malloc((*n ? *n : 1) * sizeof *v);
  ck_assert_ptr_nonnull(v);
  for (size_t i = 0; i < *n; i++)
    v[i] = (float)json_number_value(json_array_get(arr, i));
  return v;
}

/* A dataset whose label space has @p k classes (1: regression). */
static tpa_dataset *label_space(int32_t k) {
  tpa_table_params p = params();
  const char *names[16];
  char buf[16][8];
  ck_assert_int_le(k, 16);
  for (int32_t i = 0; i < k; i++) {
    snprintf(buf[i], sizeof buf[i], "c%d", (int)i);
    names[i] = buf[i];
  }
  if (k == 1) {
    p.regression = true;
    return table_str("space.csv", "text,label\na,0.5\n", &p);
  }
  p.labels = names;
  p.num_labels = k;
  return table_str("space.csv", "text,label\na,c0\n", &p);
}

START_TEST(metrics_match_sklearn) {
  char *path = fixture_path("table_metrics.json");
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  ck_assert_msg(root != NULL, "%s: %s", path, jerr.text);
  const json_t *cases = json_object_get(root, "cases");
  ck_assert_int_ge(json_array_size(cases), 8);
  static const struct {
    const char *key;
    uint32_t bit;
  } keys[] = {{"accuracy", TPA_METRIC_ACCURACY},
              {"macro_f1", TPA_METRIC_MACRO_F1},
              {"f1", TPA_METRIC_F1},
              {"matthews", TPA_METRIC_MATTHEWS},
              {"pearson", TPA_METRIC_PEARSON},
              {"spearman", TPA_METRIC_SPEARMAN}};
  size_t i;
  json_t *c;
  json_array_foreach(cases, i, c) {
    const char *name = json_string_value(json_object_get(c, "name"));
    const int32_t k = (int32_t)json_integer_value(json_object_get(c, "num_labels"));
    size_t nl, ny;
    float *logits = floats(json_object_get(c, "logits"), &nl);
    float *labels = floats(json_object_get(c, "labels"), &ny);
    ck_assert_uint_eq(nl, ny * (size_t)k);
    tpa_dataset *ds = label_space(k);
    tpa_metrics m = {.size = sizeof m};
    tpa_metrics_extra x = {.size = sizeof x};
    ck_assert_msg(tpa_dataset_metrics(ds, logits, labels, ny, &m, &x) == TPA_OK, "%s: %s", name,
                  tpa_last_error());
    const json_t *want = json_object_get(c, "expected");
    ck_assert_uint_eq(m.count, ny);
    for (size_t j = 0; j < sizeof keys / sizeof keys[0]; j++) {
      const json_t *w = json_object_get(want, keys[j].key);
      ck_assert_msg((w != NULL) == ((m.present & keys[j].bit) != 0), "%s: %s present %d", name,
                    keys[j].key, (int)((m.present & keys[j].bit) != 0));
      if (w)
        ck_assert_msg(fabs(tpa_metrics_value(&m, &x, keys[j].bit) - json_number_value(w)) < 1e-9,
                      "%s: %s = %.12g, want %.12g", name, keys[j].key,
                      tpa_metrics_value(&m, &x, keys[j].bit), json_number_value(w));
    }
    ck_assert(fabs(m.main - json_number_value(json_object_get(want, "main"))) < 1e-9);
    tpa_dataset_free(ds);
    free(logits);
    free(labels);
  }
  json_decref(root);
  free(path);
}
END_TEST

START_TEST(metric_names) {
  uint32_t bit = 0;
  ck_assert_int_eq(tpa_metric_from_name("macro_f1", &bit), TPA_OK);
  ck_assert_uint_eq(bit, TPA_METRIC_MACRO_F1);
  ck_assert_int_eq(tpa_metric_from_name("mcc", &bit), TPA_OK);
  ck_assert_uint_eq(bit, TPA_METRIC_MATTHEWS);
  ck_assert_int_eq(tpa_metric_from_name("bleu", &bit), TPA_ERR_INVALID_ARGUMENT);
  ck_assert(isnan(tpa_metrics_value(NULL, NULL, TPA_METRIC_ACCURACY)));
  tpa_metrics m = {.size = sizeof m, .present = TPA_METRIC_ACCURACY, .accuracy = 0.5};
  ck_assert(tpa_metrics_value(&m, NULL, TPA_METRIC_ACCURACY) == 0.5);
  ck_assert(isnan(tpa_metrics_value(&m, NULL, TPA_METRIC_F1)));
  /* Macro-F1 lives in the extra struct: none, or one too small, is NaN. */
  m.present |= TPA_METRIC_MACRO_F1;
  tpa_metrics_extra x = {.size = sizeof x, .macro_f1 = 0.25};
  ck_assert(isnan(tpa_metrics_value(&m, NULL, TPA_METRIC_MACRO_F1)));
  ck_assert(tpa_metrics_value(&m, &x, TPA_METRIC_MACRO_F1) == 0.25);
  x.size = sizeof(size_t);
  ck_assert(isnan(tpa_metrics_value(&m, &x, TPA_METRIC_MACRO_F1)));
  /* A label outside the classes is refused. */
  tpa_dataset *ds = label_space(3);
  const float logits[3] = {0, 1, 0}, bad = 3.0f;
  ck_assert_int_eq(tpa_dataset_metrics(ds, logits, &bad, 1, &m, NULL), TPA_ERR_INVALID_ARGUMENT);
  /* The embedded struct keeps its 0.3 layout (tpa_epoch_report holds it). */
  ck_assert_uint_eq(sizeof(tpa_metrics), offsetof(tpa_metrics, count) + sizeof(uint64_t));
  tpa_dataset_free(ds);
}
END_TEST

Suite *table_suite(void) {
  Suite *s = suite_create("table");
  TCase *tc = tcase_create("read");
  tcase_add_test(tc, csv_quoting);
  tcase_add_test(tc, tsv_keeps_quotes);
  tcase_add_test(tc, jsonl_values);
  tcase_add_test(tc, gzip_and_format);
  tcase_add_test(tc, columns_by_name_and_number);
  tcase_add_test(tc, labels_given_and_ids);
  tcase_add_test(tc, unlabeled_and_required);
  tcase_add_test(tc, regression_values);
  tcase_add_test(tc, max_rows);
  tcase_add_test(tc, split_stratified);
  tcase_add_test(tc, split_tiny);
  tcase_add_test(tc, glue_test_layout);
  suite_add_tcase(s, tc);
  TCase *bad = tcase_create("bad input");
  tcase_add_test(bad, bad_ragged_row);
  tcase_add_test(bad, bad_unterminated_quote);
  tcase_add_test(bad, bad_duplicate_header);
  tcase_add_test(bad, bad_empty_text);
  tcase_add_test(bad, bad_utf8_and_nul);
  tcase_add_test(bad, bad_json_lines);
  tcase_add_test(bad, bad_regression_label);
  tcase_add_test(bad, bad_single_class);
  tcase_add_test(bad, bad_missing_column);
  tcase_add_test(bad, bad_empty_files);
  suite_add_tcase(s, bad);
  TCase *met = tcase_create("metrics");
  tcase_add_test(met, metrics_match_sklearn);
  tcase_add_test(met, metric_names);
  suite_add_tcase(s, met);
  TCase *big = tcase_create("long line");
  tcase_set_timeout(big, 60);
  tcase_add_test(big, long_line_bounded_memory);
  suite_add_tcase(s, big);
  return s;
}
