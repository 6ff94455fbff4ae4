/* SPDX-License-Identifier: Apache-2.0 */
/* tokenizer.json pre-tokenizers (lib/text/tj_pretok.c) against HF's
 * tokenizers: every case of tests/fixtures/tokenizer/tj_pretok.jsonl.gz
 * (written by gen_tj_pretok.js) is parsed and run, and its pieces must be
 * HF's exactly; the configurations HF refuses must be refused. Then the
 * messages of refused configurations, and what libtpa refuses on purpose. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "text/tj.h"
#include "tj_tests.h"
#include "tpa/common.h"

/* ---- the fixture ---- */

static void fixture_path(char *out, size_t cap) {
  const char *dir = getenv("TPA_FIXTURES");
  ck_assert_msg(dir != NULL, "TPA_FIXTURES is not set (run through meson test)");
  ck_assert_int_lt(snprintf(out, cap, "%s/tokenizer/tj_pretok.jsonl.gz", dir), (int)cap);
}

/* The next line of @p f without its newline into *buf (grown as needed),
 * or NULL at the end. */
static char *next_line(gzFile f, char **buf, size_t *cap) {
  size_t len = 0;
  for (;;) {
    if (len + 1 >= *cap) {
      *cap = *cap ? 2 * *cap : 1 << 16;
      *buf = realloc(*buf, *cap);
      ck_assert_ptr_nonnull(*buf);
    }
    if (!gzgets(f, *buf + len, (int)(*cap - len)))
      return len ? *buf : NULL;
    len += strlen(*buf + len);
    if (len && (*buf)[len - 1] == '\n') {
      (*buf)[len - 1] = '\0';
      return *buf;
    }
  }
}

/* The pieces as a JSON array, for comparison and messages. */
static json_t *pieces_json(const tpa__pieces *p) {
  json_t *a = json_array();
  for (size_t i = 0; i < p->n; i++)
    json_array_append_new(
        a, json_stringn(p->text.s + p->span[i].start, p->span[i].end - p->span[i].start));
  return a;
}

/* At most this many differences are printed in full. */
enum { SHOW = 8 };

/* A difference on stderr; @p line < 0: enough were shown. */
static void report(long line, const json_t *rec, const char *what, const json_t *got) {
  if (line < 0)
    return;
  char *r = json_dumps(rec, JSON_COMPACT | JSON_ENSURE_ASCII);
  char *g = got ? json_dumps(got, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  fprintf(stderr, "tj_pretok.jsonl.gz line %ld: %s\n  case %.600s\n  got  %.600s\n", line, what, r,
          g ? g : "-");
  free(r);
  free(g);
}

/* One fixture line; returns whether libtpa agrees with HF. */
static bool check_case(const char *path, long line, const json_t *rec, tpa__pieces *pieces) {
  tpa__tj_ctx c = {path, "pre_tokenizer"};
  const json_t *cfg = json_object_get(rec, "config");
  tpa__pretok *p = NULL;
  tpa_status st = tpa__pretok_parse(&c, cfg, &p);
  if (json_is_true(json_object_get(rec, "error"))) {
    tpa__pretok_free(p);
    if (st == TPA_ERR_CONFIG)
      return true;
    report(line, rec, st == TPA_OK ? "accepted, HF refuses it" : "not TPA_ERR_CONFIG", NULL);
    return false;
  }
  if (st != TPA_OK) {
    report(line, rec, tpa_last_error(), NULL);
    return false;
  }
  const char *in = json_string_value(json_object_get(rec, "input"));
  st = tpa__pretok_run(p, in, strlen(in), json_is_true(json_object_get(rec, "first")), pieces);
  tpa__pretok_free(p);
  if (st != TPA_OK) {
    report(line, rec, tpa_last_error(), NULL);
    return false;
  }
  json_t *got = pieces_json(pieces);
  bool same = json_equal(got, json_object_get(rec, "pieces"));
  if (!same)
    report(line, rec, "pieces differ", got);
  json_decref(got);
  return same;
}

START_TEST(test_hf_fixture) {
  char path[1024];
  fixture_path(path, sizeof path);
  gzFile f = gzopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char *buf = NULL;
  size_t cap = 0;
  long line = 0, cases = 0, errors = 0, wrong = 0;
  tpa__pieces pieces = {0};
  for (char *s; (s = next_line(f, &buf, &cap)) != NULL;) {
    line++;
    json_error_t jerr;
    json_t *rec = json_loads(s, 0, &jerr);
    ck_assert_msg(rec != NULL, "%s line %ld: %s", path, line, jerr.text);
    errors += json_is_true(json_object_get(rec, "error"));
    cases++;
    if (!check_case(path, wrong < SHOW ? line : -1, rec, &pieces))
      wrong++;
    json_decref(rec);
  }
  gzclose(f);
  free(buf);
  tpa__pieces_free(&pieces);
  ck_assert_msg(cases > 1000 && errors > 10, "%s: only %ld cases (%ld refusals)", path, cases,
                errors);
  ck_assert_msg(wrong == 0, "%ld of %ld cases differ from HF (the first %d on stderr)", wrong,
                cases, SHOW);
}
END_TEST

/* ---- messages and libtpa's own refusals ---- */

/* Parse @p json as the pre-tokenizer of "t.json"; it must be refused with
 * a message containing each of the NULL-terminated @p needles. */
static void expect_refused(const char *json, ...) {
  json_error_t jerr;
  json_t *j = json_loads(json, 0, &jerr);
  ck_assert_msg(j != NULL, "bad test JSON %s: %s", json, jerr.text);
  tpa__tj_ctx c = {"t.json", "pre_tokenizer"};
  tpa__pretok *p = (tpa__pretok *)&c; /* must be reset to NULL */
  tpa_status st = tpa__pretok_parse(&c, j, &p);
  json_decref(j);
  ck_assert_msg(st == TPA_ERR_CONFIG, "%s: status %d", json, (int)st);
  ck_assert_ptr_null(p);
  const char *msg = tpa_last_error();
  ck_assert_msg(strstr(msg, "file t.json: ") == msg, "%s: message \"%s\"", json, msg);
  va_list ap;
  va_start(ap, json);
  for (const char *n; (n = va_arg(ap, const char *)) != NULL;)
    ck_assert_msg(strstr(msg, n) != NULL, "%s: \"%s\" not in \"%s\"", json, n, msg);
  va_end(ap);
}

START_TEST(test_refusals) {
  expect_refused("{\"type\": \"Bogus\"}", "pre_tokenizer: ", "\"Bogus\"", NULL);
  expect_refused("{\"kind\": \"Whitespace\"}", "pre_tokenizer: ", "\"type\"", NULL);
  expect_refused("[\"Whitespace\"]", "pre_tokenizer: ", "not an object", NULL);
  expect_refused("{\"type\": \"Punctuation\", \"behavior\": \"merged_with_previous\"}",
                 "pre_tokenizer: ", "merged_with_previous", "MergedWithPrevious", NULL);
  expect_refused("{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Whitespace\"},"
                 " {\"type\": \"Split\", \"pattern\": {\"String\": \"x\"},"
                 " \"behavior\": \"removed\", \"invert\": false}]}",
                 "pre_tokenizer.pretokenizers[1]: ", "\"removed\"", NULL);
  expect_refused("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(ab\"},"
                 " \"behavior\": \"Isolated\", \"invert\": false}",
                 "pre_tokenizer.pattern: ", "(ab", NULL);
  expect_refused("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"},"
                 " \"behavior\": \"Isolated\"}",
                 "pre_tokenizer: ", "\"invert\"", NULL);
  expect_refused("{\"type\": \"Metaspace\", \"replacement\": \"ab\"}", "\"replacement\"", NULL);
  expect_refused(
      "{\"type\": \"Metaspace\", \"replacement\": \"_\", \"prepend_scheme\": \"sometimes\"}",
      "\"prepend_scheme\"", "sometimes", NULL);
  expect_refused("{\"type\": \"ByteLevel\", \"add_prefix_space\": \"yes\", \"trim_offsets\": true}",
                 "\"add_prefix_space\"", "boolean", NULL);
  expect_refused("{\"type\": \"Digits\"}", "\"individual_digits\"", NULL);
  /* HF has these; libtpa says so rather than guess. */
  expect_refused("{\"type\": \"Delimiter\", \"delimiter\": \"-\"}", "\"Delimiter\"",
                 "not supported", NULL);
  expect_refused("{\"type\": \"UnicodeScripts\"}", "\"UnicodeScripts\"", "not supported", NULL);
  expect_refused("{\"type\": \"FixedLength\", \"length\": 5}", "\"FixedLength\"", "not supported",
                 NULL);
  /* HF cuts at empty regex matches; libtpa's regex layer skips them. */
  expect_refused("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"x*\"},"
                 " \"behavior\": \"Isolated\", \"invert\": false}",
                 "pre_tokenizer.pattern: ", "empty", NULL);
  expect_refused("{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\":"
                 " {\"Regex\": \"\\\\b\"}, \"behavior\": \"Removed\", \"invert\": true}]}",
                 "pre_tokenizer.pretokenizers[0].pattern: ", "empty", NULL);
}
END_TEST

/* No pre-tokenizer (JSON null): the whole text is one piece, none when
 * empty. */
START_TEST(test_null) {
  tpa__tj_ctx c = {"t.json", "pre_tokenizer"};
  tpa__pretok *p = (tpa__pretok *)&c;
  json_t *null = json_null();
  ck_assert_int_eq(tpa__pretok_parse(&c, null, &p), TPA_OK);
  json_decref(null);
  ck_assert_ptr_null(p);
  ck_assert_int_eq(tpa__pretok_parse(&c, NULL, &p), TPA_OK);
  ck_assert_ptr_null(p);
  tpa__pieces out = {0};
  ck_assert_int_eq(tpa__pretok_run(NULL, " a b ", 5, true, &out), TPA_OK);
  ck_assert_uint_eq(out.n, 1);
  ck_assert_str_eq(out.text.s, " a b ");
  ck_assert_int_eq(tpa__pretok_run(NULL, "", 0, false, &out), TPA_OK);
  ck_assert_uint_eq(out.n, 0);
  tpa__pieces_free(&out);
}
END_TEST

/* Running again into the same pieces replaces them; one parsed
 * pre-tokenizer serves any number of runs. */
START_TEST(test_reuse) {
  json_t *j = json_loads("{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Metaspace\","
                         " \"replacement\": \"_\", \"prepend_scheme\": \"first\"}]}",
                         0, NULL);
  ck_assert_ptr_nonnull(j);
  tpa__tj_ctx c = {"t.json", "pre_tokenizer"};
  tpa__pretok *p;
  ck_assert_int_eq(tpa__pretok_parse(&c, j, &p), TPA_OK);
  json_decref(j);
  tpa__pieces out = {0};
  for (int k = 0; k < 3; k++) {
    ck_assert_int_eq(tpa__pretok_run(p, "ab cd", 5, k != 1, &out), TPA_OK);
    ck_assert_uint_eq(out.n, 2);
    const char *want = k != 1 ? "_ab" : "ab";
    ck_assert_uint_eq(out.span[0].end - out.span[0].start, strlen(want));
    ck_assert(memcmp(out.text.s + out.span[0].start, want, strlen(want)) == 0);
  }
  tpa__pieces_free(&out);
  tpa__pretok_free(p);
}
END_TEST

Suite *tj_pretok_suite(void) {
  Suite *s = suite_create("tj_pretok");
  TCase *tc = tcase_create("hf");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_hf_fixture);
  suite_add_tcase(s, tc);
  tc = tcase_create("api");
  tcase_add_test(tc, test_refusals);
  tcase_add_test(tc, test_null);
  tcase_add_test(tc, test_reuse);
  suite_add_tcase(s, tc);
  return s;
}
