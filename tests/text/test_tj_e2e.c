/* SPDX-License-Identifier: Apache-2.0 */
/* Whole tokenizer.json files through tpa_tokenizer_load_json and
 * tpa_tokenizer_encode against what HF's tokenizers encodes with them
 * (tests/fixtures/tokenizer/gen_tj_e2e.js): BERT's layout over the
 * bert-base-uncased vocab (read from the shared data, not copied), a
 * RoBERTa-like byte-level BPE and an XLM-R-like Unigram, on GLUE rows,
 * pairs, hard strings and special tokens in the text, at several max
 * lengths. Also: the BERT file gives what vocab.txt gives. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "tj_tests.h"
#include "text/tokenizer.h"
#include "tpa/tokenizer.h"

enum { MAX_IDS = 1024 };

static void env_path(char *out, size_t cap, const char *var, const char *rel) {
  const char *dir = getenv(var);
  ck_assert_msg(dir != NULL, "%s is not set (run through meson test)", var);
  ck_assert_int_lt(snprintf(out, cap, "%s/%s", dir, rel), (int)cap);
}

/* A tokenizer file of the fixtures; the BERT ones get their vocab map
 * from the shared vocab.txt, written to a temporary copy. */
static tpa_tokenizer *load_fixture(const char *name) {
  char path[4096], vocab[4096];
  env_path(path, sizeof path, "TPA_FIXTURES", "tokenizer/tj/");
  ck_assert_int_lt(strlen(path) + strlen(name) + 6, sizeof path);
  strcat(path, name);
  strcat(path, ".json");
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err);
  ck_assert_msg(root != NULL, "%s: %s", path, err.text);
  json_t *model = json_object_get(root, "model");
  char tmp[] = "/tmp/tpa-tj-XXXXXX";
  bool temp = json_is_string(json_object_get(model, "vocab"));
  if (temp) {
    env_path(vocab, sizeof vocab, "TPA_SHARED_DATA", "vocab/bert-base-uncased-vocab.txt");
    FILE *f = fopen(vocab, "r");
    ck_assert_msg(f != NULL, "cannot open %s", vocab);
    json_t *map = json_object();
    char line[1024];
    json_int_t id = 0;
    while (fgets(line, sizeof line, f)) {
      line[strcspn(line, "\r\n")] = '\0';
      json_object_set_new(map, line, json_integer(id++));
    }
    fclose(f);
    json_object_set_new(model, "vocab", map);
    int fd = mkstemp(tmp);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(json_dump_file(root, tmp, 0), 0);
  }
  json_decref(root);
  tpa_tokenizer *tok = NULL;
  tpa_status st = tpa_tokenizer_load_json(&tok, temp ? tmp : path);
  if (temp)
    unlink(tmp);
  ck_assert_msg(st == TPA_OK, "%s: %s", name, tpa_last_error());
  return tok;
}

static const char *const NAMES[] = {"bert-uncased", "bert-cased", "roberta-like", "xlmr-like"};
enum { N_TOK = sizeof NAMES / sizeof NAMES[0] };

static int32_t ints(const json_t *arr, int32_t *out) {
  size_t n = json_array_size(arr);
  ck_assert_uint_le(n, MAX_IDS);
  for (size_t i = 0; i < n; i++)
    out[i] = (int32_t)json_integer_value(json_array_get(arr, i));
  return (int32_t)n;
}

/* Every case of the golden file for tokenizer @p which, through @p tok
 * (freed here). */
static void run_cases(int which, tpa_tokenizer *tok) {
  char path[4096];
  env_path(path, sizeof path, "TPA_FIXTURES", "tokenizer/tj_e2e.jsonl.gz");
  gzFile gz = gzopen(path, "rb");
  ck_assert_msg(gz != NULL, "cannot open %s", path);
  static char line[1 << 20];
  int32_t want[MAX_IDS], want_t[MAX_IDS], got[MAX_IDS], got_t[MAX_IDS];
  size_t cases = 0, failed = 0;
  char first_fail[600] = "";
  while (gzgets(gz, line, sizeof line)) {
    json_error_t err;
    json_t *c = json_loads(line, 0, &err);
    ck_assert_msg(c != NULL, "bad golden line: %s", err.text);
    if (strcmp(json_string_value(json_object_get(c, "tokenizer")), NAMES[which]) != 0) {
      json_decref(c);
      continue;
    }
    const char *a = json_string_value(json_object_get(c, "a"));
    const char *b = json_string_value(json_object_get(c, "b")); /* NULL for null */
    const int32_t max_len = (int32_t)json_integer_value(json_object_get(c, "max_len"));
    const int32_t nw = ints(json_object_get(c, "ids"), want);
    ints(json_object_get(c, "type_ids"), want_t);
    size_t n = 0;
    tpa_status st = tpa_tokenizer_encode(tok, a, b, max_len, got, got_t, &n);
    bool same = st == TPA_OK && n == (size_t)nw && memcmp(got, want, n * sizeof *got) == 0 &&
                memcmp(got_t, want_t, n * sizeof *got_t) == 0;
    cases++;
    if (!same && failed++ == 0)
      snprintf(first_fail, sizeof first_fail, "a=\"%.60s\" b=%s max_len %d: %s, %zu ids (want %d)",
               a, b ? "(pair)" : "-", (int)max_len, st == TPA_OK ? "differs" : tpa_last_error(), n,
               (int)nw);
    json_decref(c);
  }
  gzclose(gz);
  tpa_tokenizer_free(tok);
  ck_assert_msg(cases > 100, "%s: only %zu cases", NAMES[which], cases);
  ck_assert_msg(failed == 0, "%s: %zu of %zu cases differ from HF; first: %s", NAMES[which], failed,
                cases, first_fail);
}

START_TEST(matches_hf) {
  run_cases(_i, load_fixture(NAMES[_i]));
}
END_TEST

/* RoBERTa's vocab.json + merges.txt (no tokenizer.json) make the same
 * tokenizer as roberta-like.json, which has RobertaConverter's layout. */
START_TEST(roberta_slow_files) {
  char path[4096];
  env_path(path, sizeof path, "TPA_FIXTURES", "tokenizer/tj/roberta-like.json");
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err);
  ck_assert_msg(root != NULL, "%s: %s", path, err.text);
  const json_t *model = json_object_get(root, "model");
  char dir[] = "/tmp/tpa-tj-bpe-XXXXXX", vocab[64], merges[64];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(vocab, sizeof vocab, "%s/vocab.json", dir);
  snprintf(merges, sizeof merges, "%s/merges.txt", dir);
  ck_assert_int_eq(json_dump_file(json_object_get(model, "vocab"), vocab, 0), 0);
  FILE *f = fopen(merges, "w");
  ck_assert_ptr_nonnull(f);
  fputs("#version: 0.2\n", f);
  size_t i;
  const json_t *m;
  json_array_foreach(json_object_get(model, "merges"), i, m)
      fprintf(f, "%s\n", json_string_value(m));
  ck_assert_int_eq(fclose(f), 0);
  json_decref(root);
  tpa_tokenizer *tok = NULL;
  ck_assert_msg(tpa__tokenizer_load_bpe_files(&tok, vocab, merges) == TPA_OK, "%s",
                tpa_last_error());
  unlink(vocab);
  unlink(merges);
  rmdir(dir);
  ck_assert_ptr_nonnull(strstr(tpa_tokenizer_describe(tok), "BPE; normalizer none, pre-tokenizer "
                                                            "ByteLevel, post-processor "
                                                            "RobertaProcessing"));
  run_cases(2, tok);
}
END_TEST

/* bert-base's tokenizer.json and its vocab.txt are one tokenizer. */
START_TEST(bert_json_equals_vocab_txt) {
  tpa_tokenizer *json = load_fixture("bert-uncased"), *txt = NULL;
  char vocab[4096];
  env_path(vocab, sizeof vocab, "TPA_SHARED_DATA", "vocab/bert-base-uncased-vocab.txt");
  ck_assert_int_eq(tpa_tokenizer_load(&txt, vocab, true), TPA_OK);
  ck_assert_uint_eq(tpa_tokenizer_vocab_size(json), tpa_tokenizer_vocab_size(txt));
  ck_assert_int_eq(tpa_tokenizer_token_id(json, "[MASK]"), tpa_tokenizer_token_id(txt, "[MASK]"));
  ck_assert_str_eq(tpa_tokenizer_token(json, 2023), tpa_tokenizer_token(txt, 2023));
  static const char *const texts[] = {"Hello, World! naïve café", "[CLS] already [SEP] here",
                                      "中文 and emoji 🤗", ""};
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    int32_t a[64], at[64], b[64], bt[64];
    size_t na = 0, nb = 0;
    ck_assert_int_eq(tpa_tokenizer_encode(json, texts[i], "pair text", 64, a, at, &na), TPA_OK);
    ck_assert_int_eq(tpa_tokenizer_encode(txt, texts[i], "pair text", 64, b, bt, &nb), TPA_OK);
    ck_assert_uint_eq(na, nb);
    ck_assert_mem_eq(a, b, na * sizeof *a);
    ck_assert_mem_eq(at, bt, na * sizeof *at);
  }
  ck_assert_ptr_nonnull(strstr(tpa_tokenizer_describe(json), "WordPiece"));
  tpa_tokenizer_free(json);
  tpa_tokenizer_free(txt);
}
END_TEST

static void load_bad(const char *text, const char *part) {
  char tmp[] = "/tmp/tpa-tj-bad-XXXXXX";
  int fd = mkstemp(tmp);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  tpa_tokenizer *tok = (tpa_tokenizer *)1;
  tpa_status st = tpa_tokenizer_load_json(&tok, tmp);
  const char *msg = tpa_last_error();
  ck_assert_msg(st == TPA_ERR_CONFIG, "status %s for %s (%s)", tpa_status_str(st), text, msg);
  ck_assert_ptr_null(tok);
  ck_assert_msg(strstr(msg, tmp) && strstr(msg, part), "message '%s' lacks the file or '%s'", msg,
                part);
  unlink(tmp);
}

START_TEST(bad_files) {
  load_bad("[1, 2]", "object");
  load_bad("{\"normalizer\": null}", "model: missing");
  load_bad("{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}, \"unk_token\": \"a\"}, "
           "\"post_processor\": {\"type\": \"Fancy\"}}",
           "post-processor type \"Fancy\" is not supported");
  load_bad("{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}, \"unk_token\": \"a\"}, "
           "\"added_tokens\": [{\"id\": 5}]}",
           "added_tokens[0]");
  load_bad("{\"model\": {\"type\": \"WordLevel\", \"vocab\": {\"a\": 0}, \"unk_token\": \"a\"}, "
           "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": "
           "{\"id\": \"[X]\", \"type_id\": 0}}], \"pair\": [], \"special_tokens\": {}}}",
           "special token \"[X]\" is not in special_tokens");
}
END_TEST

Suite *tj_e2e_suite(void) {
  Suite *s = suite_create("tj_e2e");
  TCase *tc = tcase_create("hf");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, matches_hf, 0, N_TOK);
  tcase_add_test(tc, bert_json_equals_vocab_txt);
  tcase_add_test(tc, roberta_slow_files);
  tcase_add_test(tc, bad_files);
  suite_add_tcase(s, tc);
  return s;
}
