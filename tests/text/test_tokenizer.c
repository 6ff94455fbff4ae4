/* SPDX-License-Identifier: Apache-2.0 */
/* Tokenizer: vocab loading and its errors, the public buffer protocol,
 * invalid UTF-8, WordPiece and truncation on cases derived by hand, and
 * (test_golden.c) agreement with HF's tokenizer. Expected values here come
 * from the rules in docs/method.md section 2 worked out on paper for a tiny
 * vocab, and from the vocab's documented ids (shared data README). */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text/tokenizer.h"
#include "text_tests.h"
#include "tpa/tokenizer.h"

/* ---- a tiny vocab in a temporary directory ---- */

static const char tiny_vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n" /* 0-4 */
                                 "un\n##aff\n##able\na\n##a\n"          /* 5-9 */
                                 "hello\n,\nb\n##b\nx\n"                /* 10-14 */
                                 "!\ne\n##e\n\xC3\xA9\n";               /* 15-18: ! e ##e é */

static char tmpdir[256];

static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/tpa-text-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

/* Write @p len bytes as tmpdir/name; the path goes to @p path. */
static void write_file(char *path, size_t cap, const char *name, const char *data, size_t len) {
  snprintf(path, cap, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

static tpa_tokenizer *load_tiny(bool lower) {
  char path[512];
  write_file(path, sizeof path, "tiny.txt", tiny_vocab, sizeof tiny_vocab - 1);
  tpa_tokenizer *tok = NULL;
  ck_assert_msg(tpa_tokenizer_load(&tok, path, lower) == TPA_OK, "%s", tpa_last_error());
  return tok;
}

static tpa_tokenizer *load_real(bool lower) {
  char path[1024];
  text_test_path(path, sizeof path, "TPA_SHARED_DATA", "vocab/bert-base-uncased-vocab.txt");
  tpa_tokenizer *tok = NULL;
  ck_assert_msg(tpa_tokenizer_load(&tok, path, lower) == TPA_OK, "%s", tpa_last_error());
  return tok;
}

/* Tokenize and compare with the ids listed, ending with -1. */
static void expect_ids(const tpa_tokenizer *tok, const char *text, const int32_t *want) {
  int32_t got[256];
  size_t n = 0, nw = 0;
  while (want[nw] >= 0)
    nw++;
  ck_assert_msg(tpa_tokenizer_tokenize(tok, text, got, 256, &n) == TPA_OK, "\"%s\": %s", text,
                tpa_last_error());
  ck_assert_msg(n == nw, "\"%.60s\": %zu ids, want %zu", text, n, nw);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(got[i] == want[i], "\"%.60s\": id %zu is %d, want %d", text, i, got[i], want[i]);
}

/* ---- suite vocab ---- */

START_TEST(vocab_real_ids) {
  tpa_tokenizer *tok = load_real(true);
  /* Ids documented for bert-base-uncased in the shared data README. */
  ck_assert_uint_eq(tpa_tokenizer_vocab_size(tok), 30522);
  ck_assert_int_eq(tpa_tokenizer_token_id(tok, "[PAD]"), 0);
  ck_assert_int_eq(tpa_tokenizer_token_id(tok, "[UNK]"), 100);
  ck_assert_int_eq(tpa_tokenizer_token_id(tok, "[CLS]"), 101);
  ck_assert_int_eq(tpa_tokenizer_token_id(tok, "[SEP]"), 102);
  ck_assert_int_eq(tpa_tokenizer_token_id(tok, "[MASK]"), 103);
  ck_assert_str_eq(tpa_tokenizer_token(tok, 101), "[CLS]");
  ck_assert_int_eq(tpa_tokenizer_token_id(tok, "no-such-token-here"), -1);
  ck_assert_ptr_null(tpa_tokenizer_token(tok, -1));
  ck_assert_ptr_null(tpa_tokenizer_token(tok, 30522));
  ck_assert_ptr_nonnull(tpa_tokenizer_token(tok, 30521));
  /* token() and token_id() are inverse over the whole vocab. */
  for (int32_t id = 0; id < 30522; id++)
    ck_assert_int_eq(tpa_tokenizer_token_id(tok, tpa_tokenizer_token(tok, id)), id);
  tpa_tokenizer_free(tok);
  tpa_tokenizer_free(NULL);
  ck_assert_uint_eq(tpa_tokenizer_vocab_size(NULL), 0);
  ck_assert_int_eq(tpa_tokenizer_token_id(NULL, "a"), -1);
}
END_TEST

/* Load @p data as a vocab; expect @p st and every string of @p needles
 * (NULL-terminated) in the message, which must also name the file. */
static void expect_vocab_error(const char *data, size_t len, tpa_status st,
                               const char *const *needles) {
  char path[512];
  write_file(path, sizeof path, "bad.txt", data, len);
  tpa_tokenizer *tok = (tpa_tokenizer *)&tok; /* must be reset to NULL */
  tpa_status got = tpa_tokenizer_load(&tok, path, true);
  ck_assert_msg(got == st, "status %d (%s), want %d", got, tpa_last_error(), st);
  ck_assert_ptr_null(tok);
  ck_assert_msg(strstr(tpa_last_error(), path), "message does not name the file: %s",
                tpa_last_error());
  for (size_t i = 0; needles[i]; i++)
    ck_assert_msg(strstr(tpa_last_error(), needles[i]), "message lacks \"%s\": %s", needles[i],
                  tpa_last_error());
}

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

START_TEST(vocab_missing_specials) {
  make_tmpdir();
  static const char no_cls[] = "[PAD]\n[UNK]\n[SEP]\na\n";
  expect_vocab_error(no_cls, sizeof no_cls - 1, TPA_ERR_VOCAB, NEEDLES("missing", "[CLS]"));
  static const char no_sep[] = "[PAD]\n[UNK]\n[CLS]\n";
  expect_vocab_error(no_sep, sizeof no_sep - 1, TPA_ERR_VOCAB, NEEDLES("[SEP]"));
  static const char no_unk[] = "[PAD]\n[CLS]\n[SEP]";
  expect_vocab_error(no_unk, sizeof no_unk - 1, TPA_ERR_VOCAB, NEEDLES("[UNK]"));
  static const char no_pad[] = "[UNK]\n[CLS]\n[SEP]\n";
  expect_vocab_error(no_pad, sizeof no_pad - 1, TPA_ERR_VOCAB, NEEDLES("[PAD]"));
  /* Case matters: [cls] is not [CLS]. */
  static const char lower[] = "[pad]\n[unk]\n[cls]\n[sep]\n";
  expect_vocab_error(lower, sizeof lower - 1, TPA_ERR_VOCAB,
                     NEEDLES("[CLS]", "[SEP]", "[UNK]", "[PAD]"));
  expect_vocab_error("", 0, TPA_ERR_VOCAB, NEEDLES("[CLS]", "[SEP]", "[UNK]", "[PAD]"));
  remove_tmpdir();
}
END_TEST

START_TEST(vocab_duplicate_refused) {
  make_tmpdir();
  static const char dup[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\nhello\n";
  expect_vocab_error(dup, sizeof dup - 1, TPA_ERR_VOCAB,
                     NEEDLES("\"hello\"", "lines 5 and 7", "duplicate"));
  /* A trailing blank line is no token, but two blank lines are "" twice. */
  static const char blank[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n\n\n";
  expect_vocab_error(blank, sizeof blank - 1, TPA_ERR_VOCAB, NEEDLES("lines 5 and 6"));
  remove_tmpdir();
}
END_TEST

START_TEST(vocab_bad_bytes) {
  make_tmpdir();
  static const char bad[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nok\nbad\xC3(\n";
  expect_vocab_error(bad, sizeof bad - 1, TPA_ERR_VOCAB, NEEDLES("line 6", "UTF-8"));
  static const char nul[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\0b\n";
  expect_vocab_error(nul, sizeof nul - 1, TPA_ERR_VOCAB, NEEDLES("line 5", "NUL"));
  remove_tmpdir();
}
END_TEST

START_TEST(vocab_not_found_and_not_a_file) {
  make_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/none.txt", tmpdir);
  tpa_tokenizer *tok = NULL;
  ck_assert_int_eq(tpa_tokenizer_load(&tok, path, true), TPA_ERR_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), path));
  ck_assert_int_eq(tpa_tokenizer_load(&tok, tmpdir, true), TPA_ERR_IO);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), tmpdir));
  ck_assert_int_eq(tpa_tokenizer_load(NULL, path, true), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_tokenizer_load(&tok, NULL, true), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(tok);
  remove_tmpdir();
}
END_TEST

START_TEST(vocab_line_ends) {
  make_tmpdir();
  /* CRLF lines and no final newline: ids are line numbers either way. */
  static const char crlf[] = "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\nlast";
  char path[512];
  write_file(path, sizeof path, "crlf.txt", crlf, sizeof crlf - 1);
  tpa_tokenizer *tok = NULL;
  ck_assert_msg(tpa_tokenizer_load(&tok, path, true) == TPA_OK, "%s", tpa_last_error());
  ck_assert_uint_eq(tpa_tokenizer_vocab_size(tok), 6);
  ck_assert_int_eq(tpa_tokenizer_token_id(tok, "hello"), 4);
  ck_assert_str_eq(tpa_tokenizer_token(tok, 4), "hello");
  ck_assert_int_eq(tpa_tokenizer_token_id(tok, "last"), 5);
  tpa_tokenizer_free(tok);
  remove_tmpdir();
}
END_TEST

static Suite *vocab_suite(void) {
  Suite *s = suite_create("vocab");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"real_vocab_ids", vocab_real_ids},
      {"missing_special_tokens", vocab_missing_specials},
      {"duplicate_token", vocab_duplicate_refused},
      {"invalid_bytes", vocab_bad_bytes},
      {"not_found_or_not_a_file", vocab_not_found_and_not_a_file},
      {"line_ends", vocab_line_ends},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

/* ---- suite tokenize ---- */

START_TEST(wordpiece_by_hand) {
  make_tmpdir();
  tpa_tokenizer *tok = load_tiny(true);
  expect_ids(tok, "Hello, UNAFFABLE!", (const int32_t[]){10, 11, 5, 6, 7, 15, -1});
  /* One piece missing ("##x") makes the whole word [UNK]. */
  expect_ids(tok, "unaffablex hello", (const int32_t[]){1, 10, -1});
  expect_ids(tok, "aaa a", (const int32_t[]){8, 9, 9, 8, -1});
  /* 100 characters are still a word, 101 are [UNK]. */
  char w[128];
  memset(w, 'a', 100);
  w[100] = '\0';
  int32_t want[102];
  want[0] = 8;
  for (int i = 1; i < 100; i++)
    want[i] = 9;
  want[100] = -1;
  expect_ids(tok, w, want);
  w[100] = 'a';
  w[101] = '\0';
  expect_ids(tok, w, (const int32_t[]){1, -1});
  /* Special tokens are matched in the raw text, even inside a word. */
  expect_ids(tok, "a[SEP]b[CLS]", (const int32_t[]){8, 3, 12, 2, -1});
  /* Uncased: É -> E + U+0301 -> E -> e; zero-width space dropped, NBSP
   * and ideographic space split. */
  expect_ids(tok,
             "\xC3\x89"
             "a",
             (const int32_t[]){16, 9, -1});
  expect_ids(tok,
             "a\xE2\x80\x8B"
             "a",
             (const int32_t[]){8, 9, -1});
  expect_ids(tok,
             "a\xC2\xA0"
             "a\xE3\x80\x80"
             "b",
             (const int32_t[]){8, 8, 12, -1});
  /* Vertical tab and form feed are controls: dropped, not spaces. */
  expect_ids(tok, "a\va\fa", (const int32_t[]){8, 9, 9, -1});
  expect_ids(tok, "", (const int32_t[]){-1});
  expect_ids(tok, " \t\r\n", (const int32_t[]){-1});
  tpa_tokenizer_free(tok);

  tok = load_tiny(false);
  /* Cased: no lowercasing, no accent stripping. */
  expect_ids(tok,
             "\xC3\x89"
             "a",
             (const int32_t[]){1, -1});
  expect_ids(tok,
             "\xC3\xA9"
             "a Hello",
             (const int32_t[]){18, 9, 1, -1});
  expect_ids(tok, "e\xCC\x81", (const int32_t[]){1, -1}); /* e + U+0301 kept: no match */
  tpa_tokenizer_free(tok);
  remove_tmpdir();
}
END_TEST

START_TEST(buffer_too_small) {
  make_tmpdir();
  tpa_tokenizer *tok = load_tiny(true);
  size_t n = 99;
  /* Size query: TPA_OK and the count, as tpa_model_layer_heads's. */
  ck_assert_int_eq(tpa_tokenizer_tokenize(tok, "hello, hello", NULL, 0, &n), TPA_OK);
  ck_assert_uint_eq(n, 3);
  /* Short buffer: the first cap ids, the full count, nothing past cap. */
  int32_t ids[4] = {-7, -7, -7, -7};
  ck_assert_int_eq(tpa_tokenizer_tokenize(tok, "hello, hello", ids, 2, &n),
                   TPA_ERR_BUFFER_TOO_SMALL);
  ck_assert_uint_eq(n, 3);
  ck_assert_int_eq(ids[0], 10);
  ck_assert_int_eq(ids[1], 11);
  ck_assert_int_eq(ids[2], -7);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "3"));
  /* Exact fit. */
  ck_assert_int_eq(tpa_tokenizer_tokenize(tok, "hello, hello", ids, 3, &n), TPA_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_int_eq(ids[2], 10);
  ck_assert_int_eq(ids[3], -7);
  /* Bad arguments. */
  ck_assert_int_eq(tpa_tokenizer_tokenize(tok, "a", NULL, 1, &n), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_tokenizer_tokenize(tok, NULL, ids, 1, &n), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_tokenizer_tokenize(NULL, "a", ids, 1, &n), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_tokenizer_tokenize(tok, "a", ids, 1, NULL), TPA_ERR_INVALID_ARGUMENT);
  tpa_tokenizer_free(tok);
  remove_tmpdir();
}
END_TEST

static const char *const bad_utf8[] = {
    "\x80",             /* stray continuation byte */
    "a\xC0\x80",        /* overlong NUL */
    "\xC1\xBF",         /* overlong */
    "\xE0\x80\x80",     /* overlong */
    "\xED\xA0\x80",     /* surrogate U+D800 */
    "\xED\xBF\xBF",     /* surrogate U+DFFF */
    "\xF4\x90\x80\x80", /* U+110000 */
    "\xF5\x80\x80\x80", /* no such lead byte */
    "\xFE",
    "\xFF",
    "\xE2\x82",         /* truncated at the end */
    "abc \xF0\x9F\x98", /* truncated emoji */
    "\xE2\x28\xA1",     /* bad continuation */
};

START_TEST(invalid_utf8) {
  make_tmpdir();
  tpa_tokenizer *tok = load_tiny(true);
  int32_t ids[64], types[64];
  size_t n;
  for (size_t i = 0; i < sizeof bad_utf8 / sizeof *bad_utf8; i++) {
    ck_assert_int_eq(tpa_tokenizer_tokenize(tok, bad_utf8[i], ids, 64, &n),
                     TPA_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(tpa_last_error(), "UTF-8"));
    ck_assert_int_eq(tpa_tokenizer_encode(tok, bad_utf8[i], NULL, 16, ids, types, &n),
                     TPA_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(tpa_tokenizer_encode(tok, "a", bad_utf8[i], 16, ids, types, &n),
                     TPA_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(tpa_last_error(), "text b"));
  }
  /* Also past the point where encode stops tokenizing. */
  char text[1024] = "";
  for (int i = 0; i < 200; i++)
    strcat(text, "a ");
  strcat(text, "\xFF");
  ck_assert_int_eq(tpa_tokenizer_encode(tok, text, NULL, 8, ids, types, &n),
                   TPA_ERR_INVALID_ARGUMENT);
  /* The largest scalar value and U+FFFD are valid (U+FFFD is dropped). */
  ck_assert_int_eq(tpa_tokenizer_tokenize(tok, "\xF4\x8F\xBF\xBF", ids, 64, &n), TPA_OK);
  ck_assert_uint_eq(n, 1); /* [UNK] */
  ck_assert_int_eq(tpa_tokenizer_tokenize(tok, "\xEF\xBF\xBD", ids, 64, &n), TPA_OK);
  ck_assert_uint_eq(n, 0);
  tpa_tokenizer_free(tok);
  remove_tmpdir();
}
END_TEST

typedef struct thread_job {
  const tpa_tokenizer *tok;
  const char *text;
  int32_t ids[512];
  size_t n;
  int ok;
} thread_job;

static void *tokenize_many(void *arg) {
  thread_job *j = arg;
  j->ok = 1;
  for (int r = 0; r < 500; r++) {
    int32_t ids[512];
    size_t n;
    if (tpa_tokenizer_tokenize(j->tok, j->text, ids, 512, &n) != TPA_OK || n != j->n ||
        memcmp(ids, j->ids, n * sizeof *ids) != 0)
      j->ok = 0;
  }
  return NULL;
}

START_TEST(shared_between_threads) {
  tpa_tokenizer *tok = load_real(true);
  static const char text[] = "Café naïve résumé, 中文 — the quick brown fox's «jumps» over 😀!";
  thread_job jobs[2];
  for (int t = 0; t < 2; t++) {
    jobs[t].tok = tok;
    jobs[t].text = text;
    ck_assert_int_eq(tpa_tokenizer_tokenize(tok, text, jobs[t].ids, 512, &jobs[t].n), TPA_OK);
  }
  pthread_t th[2];
  for (int t = 0; t < 2; t++)
    ck_assert_int_eq(pthread_create(&th[t], NULL, tokenize_many, &jobs[t]), 0);
  for (int t = 0; t < 2; t++) {
    ck_assert_int_eq(pthread_join(th[t], NULL), 0);
    ck_assert(jobs[t].ok);
  }
  tpa_tokenizer_free(tok);
}
END_TEST

/* Random texts from valid pieces (ASCII, accents, combining marks, CJK,
 * emoji, zero-width space, special tokens) with a stray random byte now and
 * then: every call must either succeed within its bounds or refuse the
 * text as invalid UTF-8 (no crash, no write past max_len). */
START_TEST(random_bytes_never_crash) {
  tpa_tokenizer *tok = load_real(true);
  static const char *const pieces[] = {"a",
                                       "b",
                                       " ",
                                       "  ",
                                       "[SEP]",
                                       "[CLS",
                                       "[",
                                       "]",
                                       "\xC3\xA9",
                                       "e\xCC\x81",
                                       "\xE2\x80\x8B",
                                       "\xE4\xB8\xAD",
                                       "\xF0\x9F\x98\x80",
                                       ",",
                                       "##",
                                       "unaffable",
                                       "\t",
                                       "\xC2\xA0",
                                       "Z"};
  uint32_t seed = 12345;
  char a[600], b[600];
  int32_t ids[40], types[40];
  size_t ok = 0;
  for (int r = 0; r < 20000; r++) {
    char *t[2] = {a, b};
    for (int k = 0; k < 2; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t count = (seed >> 16) % 60, len = 0;
      for (size_t i = 0; i < count; i++) {
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 24) % 64 == 0) {
          char c = (char)((seed >> 8) & 0xFF);
          t[k][len++] = c ? c : ' ';
        } else {
          const char *p = pieces[(seed >> 8) % (sizeof pieces / sizeof *pieces)];
          memcpy(t[k] + len, p, strlen(p));
          len += strlen(p);
        }
      }
      t[k][len] = '\0';
    }
    int32_t max = 3 + r % 30;
    for (int i = 0; i < 40; i++)
      ids[i] = types[i] = -9;
    size_t n = 999;
    tpa_status st = tpa_tokenizer_encode(tok, a, r % 3 ? b : NULL, max, ids, types, &n);
    ck_assert(st == TPA_OK || st == TPA_ERR_INVALID_ARGUMENT);
    if (st != TPA_OK)
      continue;
    ok++;
    ck_assert_uint_le(n, (size_t)max);
    ck_assert_int_eq(ids[0], 101);
    ck_assert_int_eq(ids[n - 1], 102);
    for (size_t i = 0; i < 40; i++) {
      if (i < n) {
        ck_assert(ids[i] >= 0 && ids[i] < 30522);
        ck_assert(types[i] == 0 || types[i] == 1);
      } else {
        ck_assert_int_eq(ids[i], -9);
        ck_assert_int_eq(types[i], -9);
      }
    }
  }
  ck_assert_uint_gt(ok, 100); /* the valid path was exercised too */
  tpa_tokenizer_free(tok);
}
END_TEST

static Suite *tokenize_suite(void) {
  Suite *s = suite_create("tokenize");
  TCase *tc = tcase_create("wordpiece_by_hand");
  tcase_add_test(tc, wordpiece_by_hand);
  suite_add_tcase(s, tc);
  tc = tcase_create("buffer_too_small");
  tcase_add_test(tc, buffer_too_small);
  suite_add_tcase(s, tc);
  tc = tcase_create("invalid_utf8");
  tcase_add_test(tc, invalid_utf8);
  suite_add_tcase(s, tc);
  tc = tcase_create("random_bytes");
  /* About 2.5 s alone; Check's default 4 s ran out when the suite shared
   * the 2 cores with other tests. */
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, random_bytes_never_crash);
  suite_add_tcase(s, tc);
  tc = tcase_create("threads");
  tcase_add_test(tc, shared_between_threads);
  suite_add_tcase(s, tc);
  return s;
}

/* ---- suite truncate ---- */

/* The formula worked by hand: {la, lb, n, keep_a, keep_b}. */
static const size_t formula_cases[][5] = {
    /* nothing to cut */
    {0, 0, 7, 0, 0},
    {2, 2, 7, 2, 2},
    {4, 2, 7, 4, 2},
    {3, 4, 7, 3, 4},
    /* only the longer is cut: target(g) = max(len(s), n - len(s)) */
    {0, 8, 7, 0, 7},
    {2, 8, 7, 2, 5},
    {8, 0, 7, 7, 0},
    {8, 2, 7, 5, 2},
    {200, 30, 125, 95, 30},
    /* both cut: s gets n/2, g gets n/2 + n%2 */
    {4, 4, 7, 3, 4},
    {4, 8, 7, 3, 4},
    {8, 4, 7, 4, 3},
    {8, 8, 7, 3, 4},
    {200, 100, 125, 63, 62},
    {100, 200, 125, 62, 63},
    {100, 100, 125, 62, 63},
    {70, 70, 124, 62, 62},
    /* len(s) > n */
    {5, 5, 0, 0, 0},
    {3, 2, 1, 1, 0},
    {2, 3, 1, 0, 1},
    {20, 19, 13, 7, 6},
};

START_TEST(formula_by_hand) {
  for (size_t i = 0; i < sizeof formula_cases / sizeof *formula_cases; i++) {
    const size_t *c = formula_cases[i];
    size_t ka = 99, kb = 99;
    tpa__truncate_pair(c[0], c[1], c[2], &ka, &kb);
    ck_assert_msg(ka == c[3] && kb == c[4], "la %zu lb %zu n %zu: got %zu %zu, want %zu %zu", c[0],
                  c[1], c[2], ka, kb, c[3], c[4]);
  }
}
END_TEST

static void expect_encode(const tpa_tokenizer *tok, const char *a, const char *b, int32_t max,
                          size_t want_a, int32_t id_a, size_t want_b, int32_t id_b) {
  int32_t ids[256], types[256];
  size_t n = 0;
  ck_assert_msg(tpa_tokenizer_encode(tok, a, b, max, ids, types, &n) == TPA_OK, "%s",
                tpa_last_error());
  size_t len = 2 + want_a + (b ? want_b + 1 : 0);
  ck_assert_uint_eq(n, len);
  ck_assert_int_eq(ids[0], 2);
  for (size_t i = 0; i < want_a; i++)
    ck_assert_int_eq(ids[1 + i], id_a);
  ck_assert_int_eq(ids[1 + want_a], 3);
  for (size_t i = 0; i < want_b; i++)
    ck_assert_int_eq(ids[2 + want_a + i], id_b);
  if (b)
    ck_assert_int_eq(ids[n - 1], 3);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(types[i], i < 2 + want_a ? 0 : 1);
}

static char *repeat(char *buf, const char *word, int times) {
  buf[0] = '\0';
  for (int i = 0; i < times; i++)
    strcat(buf, word);
  return buf;
}

START_TEST(encode_by_hand) {
  make_tmpdir();
  tpa_tokenizer *tok = load_tiny(true);
  char a[1024], b[1024];
  /* Single text: budget max - 2. */
  expect_encode(tok, repeat(a, "a ", 10), NULL, 8, 6, 8, 0, 0);
  expect_encode(tok, repeat(a, "a ", 3), NULL, 8, 3, 8, 0, 0);
  expect_encode(tok, "a", NULL, 2, 0, 8, 0, 0);
  /* Pair, only the longer cut: 10 + 2 at max 11 (n = 8) -> 6 + 2. */
  expect_encode(tok, repeat(a, "a ", 10), "b b", 11, 6, 8, 2, 12);
  /* Empty b still gets its [SEP]. */
  expect_encode(tok, "a", "", 8, 1, 8, 0, 12);
  /* max_len 3 leaves room for the three special tokens only. */
  expect_encode(tok, "a", "b", 3, 0, 8, 0, 12);
  /* Both long, n = 13 odd. Each text is first cut at the end of the word
   * that reaches 16 ids: 20 and 19 one-id words both become 16, equal, so
   * a is "shorter" and b gets the odd token: 6 + 7 (the formula on the
   * full lengths 20 > 19 would give 7 + 6). */
  expect_encode(tok, repeat(a, "a ", 20), repeat(b, "b ", 19), 16, 6, 8, 7, 12);
  /* The cut is per word: 15 one-id words then "aaa" (3 ids) stop a at
   * 18 ids; b stops at 16; a is longer and gets the odd token: 7 + 6. */
  repeat(a, "a ", 15);
  strcat(a, "aaa a a a a");
  expect_encode(tok, a, repeat(b, "b ", 17), 16, 7, 8, 6, 12);
  /* max_len below the special tokens' count is refused. */
  int32_t ids[4], types[4];
  size_t n;
  ck_assert_int_eq(tpa_tokenizer_encode(tok, "a", "b", 2, ids, types, &n),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_tokenizer_encode(tok, "a", NULL, 1, ids, types, &n),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_tokenizer_encode(tok, "a", NULL, -5, ids, types, &n),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_tokenizer_encode(tok, NULL, NULL, 8, ids, types, &n),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_tokenizer_encode(tok, "a", NULL, 8, ids, NULL, &n),
                   TPA_ERR_INVALID_ARGUMENT);
  tpa_tokenizer_free(tok);
  remove_tmpdir();
}
END_TEST

static Suite *truncate_suite(void) {
  Suite *s = suite_create("truncate");
  TCase *tc = tcase_create("formula_by_hand");
  tcase_add_test(tc, formula_by_hand);
  suite_add_tcase(s, tc);
  tc = tcase_create("encode_by_hand");
  tcase_add_test(tc, encode_by_hand);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(vocab_suite());
  srunner_add_suite(sr, tokenize_suite());
  srunner_add_suite(sr, truncate_suite());
  srunner_add_suite(sr, text_golden_suite());
  srunner_add_suite(sr, text_unicode_suite());
  srunner_run_all(sr, CK_VERBOSE);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
