/* SPDX-License-Identifier: Apache-2.0 */
/* tokenizer.json model components (lib/text/tj_model.c) against HF's
 * tokenizers: the ids of every piece in tests/fixtures/tokenizer/
 * tj_model.jsonl.gz (made by gen_tj_model.js with HF's Node binding), the
 * models HF refuses to load, and by hand: the vocabulary interface, the
 * errors and their locations, a 250k-token vocabulary, threads. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "text/tj.h"
#include "gzlines.h"
#include "tj_tests.h"
#include "tpa/common.h"

/* ---- helpers ---- */

static const tpa__tj_ctx model_ctx = {"test.json", "model"};

/* Parse the model in JSON text @p text (status returned, *out set on
 * success). */
static tpa_status parse_text(const char *text, tpa__tmodel **out) {
  json_error_t err;
  json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
  ck_assert_msg(j != NULL, "bad test JSON %s: %s", text, err.text);
  tpa_status st = tpa__tmodel_parse(&model_ctx, j, out);
  json_decref(j);
  return st;
}

static tpa__tmodel *parse_ok(const char *text) {
  tpa__tmodel *m = NULL;
  ck_assert_msg(parse_text(text, &m) == TPA_OK, "%s: %s", text, tpa_last_error());
  ck_assert_ptr_nonnull(m);
  return m;
}

/* Ids of piece @p s as a string "1 2 3" (or "error N"), for comparisons
 * with readable failures. */
static void encode_str(const tpa__tmodel *m, const char *s, size_t len, char *out, size_t cap) {
  tpa__idvec ids = {0};
  tpa_status st = tpa__tmodel_encode(m, s, len, &ids);
  size_t k = 0;
  out[0] = '\0';
  if (st != TPA_OK)
    snprintf(out, cap, "error %d", (int)st);
  else
    for (size_t i = 0; i < ids.n && k + 16 < cap; i++)
      k += (size_t)snprintf(out + k, cap - k, "%s%d", i ? " " : "", (int)ids.v[i]);
  tpa__idvec_free(&ids);
}

static void expect_ids(const tpa__tmodel *m, const char *s, const char *want) {
  char got[512];
  encode_str(m, s, strlen(s), got, sizeof got);
  ck_assert_msg(strcmp(got, want) == 0, "\"%s\": got [%s], want [%s]", s, got, want);
}

/* ---- agreement with HF ---- */

/* HF's ids of a fixture line as a string like encode_str's. */
static void want_str(const json_t *r, char *out, size_t cap) {
  const json_t *ids = json_object_get(r, "ids");
  size_t k = 0;
  out[0] = '\0';
  if (!ids) {
    snprintf(out, cap, "error %d", (int)TPA_ERR_INVALID_ARGUMENT);
    return;
  }
  for (size_t i = 0; i < json_array_size(ids) && k + 16 < cap; i++)
    k += (size_t)snprintf(out + k, cap - k, "%s%d", i ? " " : "",
                          (int)json_integer_value(json_array_get(ids, i)));
}

/* Lines: {"name", "model", "piece", "ids"} starts a model, {"piece",
 * "ids"} (or "error" where HF fails) continues it, {"name", "model",
 * "load_error"} is a model HF refuses. Every mismatch is counted and the
 * first few printed, then the test fails. */
START_TEST(test_hf_fixture) {
  char path[1024];
  const char *dir = getenv("TPA_FIXTURES");
  ck_assert_msg(dir != NULL, "TPA_FIXTURES is not set (run through meson test)");
  snprintf(path, sizeof path, "%s/tokenizer/tj_model.jsonl.gz", dir);
  gzlines g;
  gz_open(&g, path);
  tpa__tmodel *m = NULL;
  char name[128] = "";
  size_t models = 0, refused = 0, pieces = 0, bad = 0, line_no = 0;
  static char got[1 << 16], want[1 << 16];
  for (char *line; (line = gz_next(&g));) {
    line_no++;
    json_error_t err;
    json_t *r = json_loads(line, 0, &err);
    ck_assert_msg(r != NULL, "%s line %zu: %s", path, line_no, err.text);
    if (json_object_get(r, "model")) {
      tpa__tmodel_free(m);
      m = NULL;
      snprintf(name, sizeof name, "%s", json_string_value(json_object_get(r, "name")));
      tpa__tj_ctx c = {"tj_model.jsonl.gz", "model"};
      tpa_status st = tpa__tmodel_parse(&c, json_object_get(r, "model"), &m);
      if (json_object_get(r, "load_error")) {
        refused++;
        if (st != TPA_ERR_CONFIG && bad++ < 20)
          fprintf(stderr, "%s: HF refuses it (%s), libtpa: status %d\n", name,
                  json_string_value(json_object_get(r, "load_error")), (int)st);
        tpa__tmodel_free(m);
        m = NULL;
        json_decref(r);
        continue;
      }
      ck_assert_msg(st == TPA_OK, "model %s: %s", name, tpa_last_error());
      models++;
    }
    ck_assert_msg(m != NULL, "line %zu: a piece without a model", line_no);
    const json_t *piece = json_object_get(r, "piece");
    encode_str(m, json_string_value(piece), json_string_length(piece), got, sizeof got);
    want_str(r, want, sizeof want);
    pieces++;
    if (strcmp(got, want) != 0 && bad++ < 20)
      fprintf(stderr, "%s: \"%s\": libtpa [%s], HF [%s]\n", name, json_string_value(piece), got,
              want);
    json_decref(r);
  }
  tpa__tmodel_free(m);
  gz_close(&g);
  ck_assert_msg(bad == 0, "%zu differences from HF (first ones above)", bad);
  /* Not vacuous: the file has all its models and pieces. */
  ck_assert_uint_ge(models, 25);
  ck_assert_uint_ge(refused, 20);
  ck_assert_uint_ge(pieces, 6000);
}
END_TEST

/* ---- the vocabulary interface ---- */

START_TEST(test_vocab_interface) {
  /* ids with holes and out of file order */
  tpa__tmodel *m = parse_ok("{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\","
                            "\"continuing_subword_prefix\":\"##\",\"max_input_chars_per_word\":100,"
                            "\"vocab\":{\"a\":7,\"[UNK]\":3,\"##b\":0}}");
  ck_assert_str_eq(tpa__tmodel_type(m), "WordPiece");
  ck_assert_uint_eq(tpa__tmodel_vocab_size(m), 8);
  ck_assert_int_eq(tpa__tmodel_token_id(m, "a", 1), 7);
  ck_assert_int_eq(tpa__tmodel_token_id(m, "##b", 3), 0);
  ck_assert_int_eq(tpa__tmodel_token_id(m, "##", 2), -1);
  ck_assert_int_eq(tpa__tmodel_token_id(m, "ab", 1), 7); /* length counts */
  ck_assert_str_eq(tpa__tmodel_token(m, 3), "[UNK]");
  ck_assert_str_eq(tpa__tmodel_token(m, 0), "##b");
  ck_assert_ptr_null(tpa__tmodel_token(m, 1));
  ck_assert_ptr_null(tpa__tmodel_token(m, 8));
  ck_assert_ptr_null(tpa__tmodel_token(m, -1));
  expect_ids(m, "ab", "7 0");
  expect_ids(m, "abc", "3");
  tpa__tmodel_free(m);

  m = parse_ok(
      "{\"type\":\"Unigram\",\"unk_id\":1,\"vocab\":[[\"a\",-1],[\"<unk>\",0],[\"b\",-2]]}");
  ck_assert_str_eq(tpa__tmodel_type(m), "Unigram");
  ck_assert_uint_eq(tpa__tmodel_vocab_size(m), 3);
  ck_assert_int_eq(tpa__tmodel_token_id(m, "b", 1), 2);
  ck_assert_str_eq(tpa__tmodel_token(m, 1), "<unk>");
  ck_assert_ptr_null(tpa__tmodel_token(m, 3));
  tpa__tmodel_free(m);

  m = parse_ok("{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}");
  ck_assert_str_eq(tpa__tmodel_type(m), "BPE");
  ck_assert_uint_eq(tpa__tmodel_vocab_size(m), 0);
  ck_assert_ptr_null(tpa__tmodel_token(m, 0));
  expect_ids(m, "abc", ""); /* no unk: unknown characters are dropped */
  tpa__tmodel_free(m);

  m = parse_ok("{\"type\":\"WordLevel\",\"unk_token\":\"?\",\"vocab\":{\"?\":1,\"hello\":0}}");
  ck_assert_str_eq(tpa__tmodel_type(m), "WordLevel");
  expect_ids(m, "hello", "0");
  expect_ids(m, "hell", "1");
  tpa__tmodel_free(m);
}
END_TEST

/* ---- errors: TPA_ERR_CONFIG naming the file and the JSON location ---- */

typedef struct bad_case {
  const char *json;
  const char *where; /* expected in the message */
} bad_case;

#define WP                                                                                         \
  "\"type\":\"WordPiece\",\"continuing_subword_prefix\":\"##\",\"max_input_chars_per_word\":9,"
#define BPE_AB "\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"

static const bad_case bad_cases[] = {
    /* merges naming a token not in the vocabulary, or giving one that is not */
    {"{" BPE_AB "\"merges\":[[\"a\",\"b\"],[\"a\",\"zz\"]]}", "model.merges[1]: token \"zz\""},
    {"{" BPE_AB "\"merges\":[\"a b\",\"b a\"]}", "model.merges[1]: the merged token"},
    {"{" BPE_AB "\"merges\":[\"#version: 0.2\",\"a q\"]}", "model.merges[1]: token \"q\""},
    /* merges entries of neither form, or of both */
    {"{" BPE_AB "\"merges\":[[\"a\",\"b\"],5]}", "model.merges[1]: is not a pair"},
    {"{" BPE_AB "\"merges\":[[\"a\",\"b\"],\"a b\"]}", "model.merges[1]: is not a pair"},
    {"{" BPE_AB "\"merges\":[\"a b\",[\"a\",\"b\"]]}", "model.merges[1]: is not a string"},
    {"{" BPE_AB "\"merges\":[[\"a\"]]}", "model.merges[0]: is not a pair"},
    {"{" BPE_AB "\"merges\":[[\"a\",\"b\",\"ab\"]]}", "model.merges[0]: is not a pair"},
    {"{" BPE_AB "\"merges\":[[\"a\",1]]}", "model.merges[0]: is not a pair"},
    {"{" BPE_AB "\"merges\":[\"ab\"]}", "model.merges[0]: \"ab\" is not two tokens"},
    {"{" BPE_AB "\"merges\":[\"a  b\"]}", "model.merges[0]: \"a  b\" is not two tokens"},
    {"{" BPE_AB "\"merges\":{}}", "model: \"merges\" is not an array"},
    {"{" BPE_AB "\"merges\":[],\"dropout\":2}", "\"dropout\""},
    {"{" BPE_AB "\"merges\":[],\"fuse_unk\":1}", "\"fuse_unk\" is not a boolean"},
    {"{\"type\":\"BPE\",\"vocab\":{\"a\":0}}", "model: missing \"merges\""},
    {"{\"type\":\"BPE\",\"merges\":[]}", "model: missing \"vocab\""},
    {"{\"type\":\"BPE\",\"continuing_subword_prefix\":\"##\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"
     "\"merges\":[[\"a\",\"b\"]]}",
     "model.merges[0]: token \"b\" is shorter than continuing_subword_prefix"},
    /* Unigram scores that are not numbers; NaN cannot get here (JSON has
     * none and jansson refuses it) */
    {"{\"type\":\"Unigram\",\"vocab\":[[\"a\",0],[\"b\",\"x\"]]}",
     "model.vocab[1]: the score of \"b\" is not a number"},
    {"{\"type\":\"Unigram\",\"vocab\":[[\"a\",0],[\"b\",null]]}", "model.vocab[1]: the score"},
    {"{\"type\":\"Unigram\",\"vocab\":[[\"a\",0],[\"b\",true]]}", "model.vocab[1]: the score"},
    {"{\"type\":\"Unigram\",\"vocab\":[[\"a\",0],[\"b\"]]}",
     "model.vocab[1]: is not [piece, score]"},
    {"{\"type\":\"Unigram\",\"vocab\":[[\"a\",0],[1,0]]}", "model.vocab[1]: is not [piece, score]"},
    {"{\"type\":\"Unigram\",\"vocab\":[[\"a\",0],[\"b\",0,1]]}", "model.vocab[1]: is not [piece"},
    {"{\"type\":\"Unigram\",\"vocab\":{\"a\":0}}", "model: \"vocab\" is not an array"},
    /* duplicate tokens and ids */
    {"{\"type\":\"Unigram\",\"vocab\":[[\"a\",0],[\"b\",0],[\"a\",-1]]}",
     "model.vocab[2]: token \"a\" appears twice"},
    {"{" WP "\"unk_token\":\"u\",\"vocab\":{\"u\":0,\"a\":1,\"b\":1}}",
     "model.vocab: tokens \"a\" and \"b\" both have id 1"},
    {"{\"type\":\"WordLevel\",\"unk_token\":\"u\",\"vocab\":{\"u\":4,\"a\":4}}", "both have id 4"},
    /* ids out of range */
    {"{" WP "\"unk_token\":\"u\",\"vocab\":{\"u\":0,\"a\":-1}}",
     "model.vocab: the id of token \"a\""},
    {"{" WP "\"unk_token\":\"u\",\"vocab\":{\"u\":0,\"a\":2147483648}}", "model.vocab: the id"},
    {"{" WP "\"unk_token\":\"u\",\"vocab\":{\"u\":0,\"a\":1.0}}", "model.vocab: the id"},
    {"{" WP "\"unk_token\":\"u\",\"vocab\":{\"u\":0,\"a\":\"1\"}}", "model.vocab: the id"},
    {"{\"type\":\"Unigram\",\"unk_id\":2,\"vocab\":[[\"a\",0],[\"b\",0]]}",
     "\"unk_id\" is not the index of one of the vocabulary's 2 pieces"},
    {"{\"type\":\"Unigram\",\"unk_id\":-1,\"vocab\":[[\"a\",0]]}", "\"unk_id\""},
    {"{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[]}", "\"unk_id\""},
    {"{\"type\":\"Unigram\",\"unk_id\":\"0\",\"vocab\":[[\"a\",0]]}", "\"unk_id\""},
    /* unk_token not in the vocabulary */
    {"{" WP "\"unk_token\":\"[UNK]\",\"vocab\":{\"a\":0}}", "model: unk_token \"[UNK]\" is not"},
    {"{\"type\":\"WordLevel\",\"unk_token\":\"?\",\"vocab\":{\"a\":0}}", "unk_token \"?\" is not"},
    {"{" BPE_AB "\"merges\":[],\"unk_token\":\"<unk>\"}", "unk_token \"<unk>\" is not"},
    /* fields HF requires */
    {"{\"type\":\"WordPiece\",\"unk_token\":\"a\",\"continuing_subword_prefix\":\"##\","
     "\"vocab\":{\"a\":0}}",
     "missing \"max_input_chars_per_word\""},
    {"{" WP "\"vocab\":{\"a\":0}}", "missing \"unk_token\""},
    {"{\"type\":\"WordLevel\",\"vocab\":{\"a\":0}}", "missing \"unk_token\""},
    {"{\"type\":\"WordPiece\",\"unk_token\":\"a\",\"continuing_subword_prefix\":null,"
     "\"max_input_chars_per_word\":5,\"vocab\":{\"a\":0}}",
     "\"continuing_subword_prefix\" is not a string"},
    {"{" WP "\"unk_token\":\"a\",\"vocab\":[[\"a\",0]]}", "\"vocab\" is not an object"},
    /* types */
    {"{\"type\":\"SentencePiece\",\"vocab\":{}}", "model: unknown model type \"SentencePiece\""},
    {"{\"type\":3}", "model: \"type\" is not a string"},
    {"{\"vocab\":{\"a\":0}}", "model: no \"type\""},
    {"[]", "model: is not an object"},
    {"null", "model: is not an object"},
};

START_TEST(test_errors) {
  const bad_case *b = &bad_cases[_i];
  tpa__tmodel *m = (tpa__tmodel *)&m; /* must be reset to NULL */
  tpa_status st = parse_text(b->json, &m);
  ck_assert_msg(st == TPA_ERR_CONFIG, "%s: status %d, want TPA_ERR_CONFIG", b->json, (int)st);
  ck_assert_ptr_null(m);
  const char *msg = tpa_last_error();
  ck_assert_msg(strncmp(msg, "file test.json: ", 16) == 0, "%s: %s", b->json, msg);
  ck_assert_msg(strstr(msg, b->where) != NULL, "%s: message \"%s\" lacks \"%s\"", b->json, msg,
                b->where);
}
END_TEST

/* ---- encoding details HF's fixture cannot show ---- */

START_TEST(test_encode_edges) {
  const char *models[] = {
      "{\"type\":\"WordPiece\",\"unk_token\":\"u\",\"continuing_subword_prefix\":\"##\","
      "\"max_input_chars_per_word\":5,\"vocab\":{\"u\":0,\"a\":1,\"##a\":2}}",
      "{\"type\":\"BPE\",\"unk_token\":\"u\",\"vocab\":{\"u\":0,\"a\":1,\"aa\":2},\"merges\":[\"a "
      "a\"]}",
      "{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"u\",0],[\"a\",-1],[\"aa\",-1.5]]}",
      "{\"type\":\"WordLevel\",\"unk_token\":\"u\",\"vocab\":{\"u\":0,\"a\":1}}",
  };
  for (size_t k = 0; k < 4; k++) {
    tpa__tmodel *m = parse_ok(models[k]);
    /* encode appends: what the vector held stays in place */
    tpa__idvec ids = {0};
    ck_assert_int_eq(tpa__idvec_push(&ids, 77), TPA_OK);
    ck_assert_int_eq(tpa__tmodel_encode(m, "aaa", 3, &ids), TPA_OK);
    ck_assert_uint_ge(ids.n, 2);
    ck_assert_int_eq(ids.v[0], 77);
    /* only the text's bytes are read, not up to a NUL */
    size_t n = ids.n;
    ck_assert_int_eq(tpa__tmodel_encode(m, "aXYZ", 1, &ids), TPA_OK);
    ck_assert_uint_eq(ids.n, n + 1);
    ck_assert_int_eq(ids.v[n], 1);
    /* invalid UTF-8 is refused */
    ck_assert_int_eq(tpa__tmodel_encode(m, "a\xC3", 2, &ids), TPA_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(tpa__tmodel_encode(m, "\xED\xA0\x80", 3, &ids), TPA_ERR_INVALID_ARGUMENT);
    /* an empty piece gives nothing (HF's pipeline never hands one to its
     * model; HF's encode("") is [] with each of them) */
    ids.n = 0;
    ck_assert_int_eq(tpa__tmodel_encode(m, "", 0, &ids), TPA_OK);
    ck_assert_uint_eq(ids.n, 0);
    tpa__idvec_free(&ids);
    tpa__tmodel_free(m);
  }
  /* Unigram without unk_id fails on an unknown character, as HF */
  tpa__tmodel *m = parse_ok("{\"type\":\"Unigram\",\"vocab\":[[\"a\",-1],[\"b\",-2],[\"ab\",-1]]}");
  expect_ids(m, "aab", "0 2");
  tpa__idvec ids = {0};
  ck_assert_int_eq(tpa__tmodel_encode(m, "ab!", 3, &ids), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "\"!\""));
  tpa__tmodel_free(m);
  /* "b" has no piece of its own, but HF only fails when unk would be on
   * a best path so far: not inside "ab", but alone */
  m = parse_ok("{\"type\":\"Unigram\",\"vocab\":[[\"a\",-1],[\"ab\",-1]]}");
  expect_ids(m, "ab", "1");
  expect_ids(m, "aba", "1 0");
  ck_assert_int_eq(tpa__tmodel_encode(m, "abb", 3, &ids), TPA_ERR_INVALID_ARGUMENT);
  tpa__idvec_free(&ids);
  tpa__tmodel_free(m);
  /* dropout is read but not applied */
  m = parse_ok("{\"type\":\"BPE\",\"dropout\":0.9,\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"
               "\"merges\":[[\"a\",\"b\"]]}");
  for (int i = 0; i < 50; i++)
    expect_ids(m, "abab", "2 2");
  tpa__tmodel_free(m);
}
END_TEST

/* ---- a 250k-token vocabulary ---- */

/* Every string of 1..5 letters of "abcdefghij" (111110 tokens) and the
 * merge (all but the last letter, the last letter) for each longer one;
 * plus WordLevel words up to 250k tokens. */
START_TEST(test_large_vocab) {
  json_t *vocab = json_object(), *merges = json_array(), *wl = json_object();
  char t[8];
  int32_t id = 0;
  for (int len = 1; len <= 5; len++) {
    long count = 1;
    for (int i = 0; i < len; i++)
      count *= 10;
    for (long x = 0; x < count; x++) {
      long y = x;
      for (int i = len - 1; i >= 0; i--, y /= 10)
        t[i] = (char)('a' + y % 10);
      t[len] = '\0';
      json_object_set_new(vocab, t, json_integer(id++));
      if (len > 1) {
        char left[8];
        memcpy(left, t, (size_t)len - 1);
        left[len - 1] = '\0';
        json_array_append_new(merges, json_pack("[ss]", left, t + len - 1));
      }
    }
  }
  for (int32_t i = 0; i < 250000; i++) {
    snprintf(t, sizeof t, "w%06d", (int)i);
    json_object_set_new(wl, t, json_integer(i));
  }
  json_object_set_new(wl, "<unk>", json_integer(250000));
  json_t *bj = json_pack("{s:s, s:o, s:o}", "type", "BPE", "vocab", vocab, "merges", merges);
  json_t *wj = json_pack("{s:s, s:o, s:s}", "type", "WordLevel", "vocab", wl, "unk_token", "<unk>");
  tpa__tmodel *b = NULL, *w = NULL;
  ck_assert_msg(tpa__tmodel_parse(&model_ctx, bj, &b) == TPA_OK, "%s", tpa_last_error());
  ck_assert_msg(tpa__tmodel_parse(&model_ctx, wj, &w) == TPA_OK, "%s", tpa_last_error());
  json_decref(bj);
  json_decref(wj);
  ck_assert_uint_eq(tpa__tmodel_vocab_size(b), 111110);
  ck_assert_uint_eq(tpa__tmodel_vocab_size(w), 250001);
  for (int32_t i = 0; i < 250000; i++) {
    snprintf(t, sizeof t, "w%06d", (int)i);
    ck_assert_int_eq(tpa__tmodel_token_id(w, t, 7), i);
    ck_assert_str_eq(tpa__tmodel_token(w, i), t);
  }
  /* Token "xy..." has id 10 + 100 + ... + its number in base 10 among
   * the strings of its length; merge ranks follow the same order. Worked
   * through HF's queue by hand: lowest rank first, leftmost on ties, and
   * queued pairs that a merge has changed are skipped. */
  ck_assert_int_eq(tpa__tmodel_token_id(b, "abcde", 5), 11110 + 1234);
  expect_ids(b, "abcd", "11 33");   /* ab (rank 1), cd (23) before ab+c (112) */
  expect_ids(b, "abcde", "11 344"); /* then cd+e (334); ab+cd is no merge */
  expect_ids(b, "aaaaa", "10 110"); /* aa aa a, then aa+a at the right only */
  expect_ids(b, "jjjjjj", "109 109 109");
  expect_ids(w, "w123456", "123456");
  expect_ids(w, "w1234567", "250000");
  tpa__tmodel_free(b);
  tpa__tmodel_free(w);
}
END_TEST

/* ---- threads share one model ---- */

typedef struct job {
  const tpa__tmodel *m;
  const char *const *text;
  size_t n;
  char (*out)[256];
} job;

static void *run_job(void *arg) {
  job *j = arg;
  for (int round = 0; round < 20; round++)
    for (size_t i = 0; i < j->n; i++)
      encode_str(j->m, j->text[i], strlen(j->text[i]), j->out[i], sizeof j->out[i]);
  return NULL;
}

START_TEST(test_threads) {
  static const char *const text[] = {
      "abcabcabc",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "cabbage",
      "Ωabc",
      "bbbbbbbb",
      "a",
      "cbacbacbacba"};
  enum { N = sizeof text / sizeof *text, THREADS = 4 };
  const char *models[] = {
      "{\"type\":\"BPE\",\"unk_token\":\"u\",\"vocab\":{\"u\":0,\"a\":1,\"b\":2,\"c\":3,\"ab\":4,"
      "\"bc\":5,\"abc\":6,\"aa\":7,\"aaaa\":8},\"merges\":[\"a b\",\"b c\",\"ab c\",\"a a\",\"aa "
      "aa\"]}",
      "{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"u\",0],[\"a\",-1],[\"b\",-2],[\"c\",-1],"
      "[\"ab\",-2.5],[\"abc\",-3],[\"aa\",-1.75]]}",
  };
  for (size_t k = 0; k < 2; k++) {
    tpa__tmodel *m = parse_ok(models[k]);
    static char want[N][256], got[THREADS][N][256];
    for (size_t i = 0; i < N; i++)
      encode_str(m, text[i], strlen(text[i]), want[i], sizeof want[i]);
    pthread_t th[THREADS];
    job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
      jobs[t] = (job){m, text, N, got[t]};
      ck_assert_int_eq(pthread_create(&th[t], NULL, run_job, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
      ck_assert_int_eq(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < THREADS; t++)
      for (size_t i = 0; i < N; i++)
        ck_assert_str_eq(got[t][i], want[i]);
    tpa__tmodel_free(m);
  }
}
END_TEST

Suite *tj_model_suite(void) {
  Suite *s = suite_create("tj_model");
  TCase *tc = tcase_create("hf");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_hf_fixture);
  suite_add_tcase(s, tc);
  tc = tcase_create("interface");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_vocab_interface);
  tcase_add_loop_test(tc, test_errors, 0, (int)(sizeof bad_cases / sizeof *bad_cases));
  tcase_add_test(tc, test_encode_edges);
  tcase_add_test(tc, test_large_vocab);
  tcase_add_test(tc, test_threads);
  suite_add_tcase(s, tc);
  return s;
}
