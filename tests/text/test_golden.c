/* SPDX-License-Identifier: Apache-2.0 */
/* Agreement with HF's own tokenizer (the Rust `tokenizers` crate), on the
 * golden files that tests/fixtures/tokenizer/gen_golden.js wrote:
 * GLUE rows (re-read here from TPA_SHARED_DATA with a small TSV reader of
 * this test's own) and hand-written nasty strings, uncased and cased, at
 * several max lengths; and every Unicode code point through the
 * normalizer's and pre-tokenizer's character classes. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "text/unicode.h"
#include "gzlines.h"
#include "text_tests.h"
#include "tpa/tokenizer.h"

void text_test_path(char *out, size_t cap, const char *env_var, const char *name) {
  const char *dir = getenv(env_var);
  ck_assert_msg(dir != NULL, "%s is not set (run through meson test)", env_var);
  ck_assert_int_lt(snprintf(out, cap, "%s/%s", dir, name), (int)cap);
}

/* ---- a small GLUE TSV reader: BOM dropped, "\n" lines, tab columns ---- */

typedef struct tsv {
  char name[256];
  char *data;
  char **line; /* data lines, header skipped */
  size_t n;
} tsv;

static tsv tsv_cache[16];
static size_t tsv_count;

static const tsv *tsv_get(const char *name, bool header) {
  for (size_t i = 0; i < tsv_count; i++)
    if (strcmp(tsv_cache[i].name, name) == 0)
      return &tsv_cache[i];
  ck_assert_uint_lt(tsv_count, sizeof tsv_cache / sizeof *tsv_cache);
  tsv *t = &tsv_cache[tsv_count++];
  snprintf(t->name, sizeof t->name, "%s", name);
  char path[1024];
  text_test_path(path, sizeof path, "TPA_SHARED_DATA", name);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  t->data = malloc((size_t)size + 1);
  ck_assert_ptr_nonnull(t->data);
  ck_assert_uint_eq(fread(t->data, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  t->data[size] = '\0';
  char *p = t->data;
  if (strncmp(p, "\xEF\xBB\xBF", 3) == 0)
    p += 3;
  size_t lines = 0;
  for (char *q = p; *q; q++)
    lines += *q == '\n';
  t->line = malloc((lines + 1) * sizeof *t->line);
  ck_assert_ptr_nonnull(t->line);
  bool skip = header;
  while (*p) {
    /* memchr, not strchr: ASan's strict_string_checks (tools/sanitize.sh)
     * makes each strchr scan the whole rest of the file. */
    char *nl = memchr(p, '\n', (size_t)(t->data + size - p));
    if (nl)
      *nl = '\0';
    if (!skip)
      t->line[t->n++] = p;
    skip = false;
    if (!nl)
      break;
    p = nl + 1;
  }
  return t;
}

/* Column @p col of data row @p row, copied (free it). */
static char *tsv_cell(const tsv *t, size_t row, int col) {
  ck_assert_msg(row < t->n, "%s: no row %zu", t->name, row);
  const char *p = t->line[row];
  for (int c = 0; c < col; c++) {
    p = strchr(p, '\t');
    ck_assert_msg(p != NULL, "%s row %zu: no column %d", t->name, row, col);
    p++;
  }
  size_t len = strcspn(p, "\t");
  char *s = malloc(len + 1);
  ck_assert_ptr_nonnull(s);
  memcpy(s, p, len);
  s[len] = '\0';
  return s;
}

/* ---- golden agreement ---- */

enum { MAX_IDS = 4096 };

typedef struct golden_case {
  char where[512]; /* "src row R lower L" */
  const char *a, *b;
  const tpa_tokenizer *tok;
} golden_case;

static size_t mismatches;
static char first_mismatch[2048];

/* Report a difference with the tokens around it. */
static void mismatch(const golden_case *c, const char *what, const int32_t *want, size_t nwant,
                     const int32_t *got, size_t ngot) {
  if (mismatches++)
    return;
  size_t i = 0;
  while (i < nwant && i < ngot && want[i] == got[i])
    i++;
  const char *wt = i < nwant ? tpa_tokenizer_token(c->tok, want[i]) : "(end)";
  const char *gt = i < ngot ? tpa_tokenizer_token(c->tok, got[i]) : "(end)";
  snprintf(first_mismatch, sizeof first_mismatch,
           "%s, %s: first difference at position %zu of %zu (HF) / %zu (libtpa): HF %d \"%s\", "
           "libtpa %d \"%s\"; text a: \"%.200s\"; text b: \"%.200s\"",
           c->where, what, i, nwant, ngot, i < nwant ? want[i] : -1, wt ? wt : "?",
           i < ngot ? got[i] : -1, gt ? gt : "?", c->a, c->b ? c->b : "(none)");
  fprintf(stderr, "golden mismatch: %s\n", first_mismatch);
}

static size_t json_ids(const json_t *arr, int32_t *out, size_t cap) {
  ck_assert_msg(json_is_array(arr), "golden record: ids are not an array");
  size_t n = json_array_size(arr);
  ck_assert_uint_le(n, cap);
  for (size_t i = 0; i < n; i++)
    out[i] = (int32_t)json_integer_value(json_array_get(arr, i));
  return n;
}

static void check_tokenize(const golden_case *c, const char *which, const char *text,
                           const int32_t *want, size_t nwant) {
  static int32_t got[MAX_IDS];
  size_t n = 0;
  tpa_status st = tpa_tokenizer_tokenize(c->tok, text, got, MAX_IDS, &n);
  ck_assert_msg(st == TPA_OK, "%s: tokenize %s: %s", c->where, which, tpa_last_error());
  if (n != nwant || memcmp(got, want, n * sizeof *got) != 0) {
    char what[64];
    snprintf(what, sizeof what, "tokenize %s", which);
    mismatch(c, what, want, nwant, got, n);
  }
}

static void check_record(const json_t *rec, const tpa_tokenizer *lower, const tpa_tokenizer *cased,
                         size_t *n_encodes) {
  static int32_t ia[MAX_IDS], ib[MAX_IDS], want[MAX_IDS], got[MAX_IDS], got_t[MAX_IDS];
  golden_case c = {0};
  const char *src = json_string_value(json_object_get(rec, "src"));
  json_int_t row = json_integer_value(json_object_get(rec, "row"));
  bool is_lower = json_is_true(json_object_get(rec, "lower"));
  ck_assert_ptr_nonnull(src);
  c.tok = is_lower ? lower : cased;
  snprintf(c.where, sizeof c.where, "%s row %lld %s", src, (long long)row,
           is_lower ? "uncased" : "cased");
  char *owned_a = NULL, *owned_b = NULL;
  if (strcmp(src, "nasty") == 0) {
    c.a = json_string_value(json_object_get(rec, "text_a"));
    c.b = json_string_value(json_object_get(rec, "text_b"));
  } else {
    const json_t *cols = json_object_get(rec, "cols");
    const tsv *t = tsv_get(src, json_is_true(json_object_get(rec, "header")));
    c.a = owned_a = tsv_cell(t, (size_t)row, (int)json_integer_value(json_array_get(cols, 0)));
    if (json_array_size(cols) > 1)
      c.b = owned_b = tsv_cell(t, (size_t)row, (int)json_integer_value(json_array_get(cols, 1)));
  }
  ck_assert_ptr_nonnull(c.a);
  size_t na = json_ids(json_object_get(rec, "a"), ia, MAX_IDS);
  size_t nb = c.b ? json_ids(json_object_get(rec, "b"), ib, MAX_IDS) : 0;
  check_tokenize(&c, "a", c.a, ia, na);
  if (c.b)
    check_tokenize(&c, "b", c.b, ib, nb);

  const json_t *encs = json_object_get(rec, "enc");
  for (size_t e = 0; e < json_array_size(encs); e++) {
    const json_t *enc = json_array_get(encs, e);
    int32_t max = (int32_t)json_integer_value(json_array_get(enc, 0));
    size_t ka = (size_t)json_integer_value(json_array_get(enc, 1));
    size_t kb = c.b ? (size_t)json_integer_value(json_array_get(enc, 2)) : 0;
    ck_assert_uint_le(ka, na);
    ck_assert_uint_le(kb, nb);
    /* HF's output, rebuilt as gen_golden.js checked it can be:
     * [CLS] a[:ka] [SEP] (b[:kb] [SEP]); type ids 0 up to the first [SEP]. */
    size_t nw = 0;
    want[nw++] = tpa_tokenizer_token_id(c.tok, "[CLS]");
    memcpy(want + nw, ia, ka * sizeof *ia);
    nw += ka;
    want[nw++] = tpa_tokenizer_token_id(c.tok, "[SEP]");
    size_t first_b = nw;
    if (c.b) {
      memcpy(want + nw, ib, kb * sizeof *ib);
      nw += kb;
      want[nw++] = tpa_tokenizer_token_id(c.tok, "[SEP]");
    }
    size_t n = 0;
    tpa_status st = tpa_tokenizer_encode(c.tok, c.a, c.b, max, got, got_t, &n);
    ck_assert_msg(st == TPA_OK, "%s max %d: %s", c.where, (int)max, tpa_last_error());
    ck_assert_uint_le(n, (size_t)max);
    char what[64];
    snprintf(what, sizeof what, "encode max_len %d", (int)max);
    if (n != nw || memcmp(got, want, n * sizeof *got) != 0) {
      mismatch(&c, what, want, nw, got, n);
    } else {
      for (size_t i = 0; i < n; i++)
        want[i] = i < first_b ? 0 : 1;
      if (memcmp(got_t, want, n * sizeof *got_t) != 0) {
        snprintf(what, sizeof what, "type ids at max_len %d", (int)max);
        mismatch(&c, what, want, n, got_t, n);
      }
    }
    (*n_encodes)++;
  }
  free(owned_a);
  free(owned_b);
}

START_TEST(golden_matches_hf) {
  char vocab[1024], golden[1024];
  text_test_path(vocab, sizeof vocab, "TPA_SHARED_DATA", "vocab/bert-base-uncased-vocab.txt");
  text_test_path(golden, sizeof golden, "TPA_FIXTURES", "tokenizer/golden.jsonl.gz");
  tpa_tokenizer *lower = NULL, *cased = NULL;
  ck_assert_msg(tpa_tokenizer_load(&lower, vocab, true) == TPA_OK, "%s", tpa_last_error());
  ck_assert_msg(tpa_tokenizer_load(&cased, vocab, false) == TPA_OK, "%s", tpa_last_error());
  gzlines g;
  gz_open(&g, golden);
  size_t records = 0, encodes = 0, glue = 0;
  mismatches = 0;
  for (char *line; (line = gz_next(&g));) {
    json_error_t err;
    json_t *rec = json_loads(line, 0, &err);
    ck_assert_msg(rec != NULL, "%s line %zu: %s", golden, records + 1, err.text);
    check_record(rec, lower, cased, &encodes);
    glue += strcmp(json_string_value(json_object_get(rec, "src")), "nasty") != 0;
    json_decref(rec);
    records++;
  }
  gz_close(&g);
  tpa_tokenizer_free(lower);
  tpa_tokenizer_free(cased);
  fprintf(stderr, "golden: %zu records (%zu GLUE rows), %zu encodes, %zu mismatches\n", records,
          glue, encodes, mismatches);
  /* The file must really have been read: it holds about 3400 records. */
  ck_assert_uint_ge(records, 3000);
  ck_assert_uint_ge(glue, 2500);
  ck_assert_msg(mismatches == 0, "%zu cases differ from HF; first: %s", mismatches, first_mismatch);
}
END_TEST

Suite *text_golden_suite(void) {
  Suite *s = suite_create("golden");
  TCase *tc = tcase_create("glue_and_nasty_strings");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, golden_matches_hf);
  suite_add_tcase(s, tc);
  return s;
}

/* ---- every code point ---- */

enum { N_CP = 0x110000, FOLD_CAP = 8 };

START_TEST(every_code_point_matches_hf) {
  char path[1024];
  text_test_path(path, sizeof path, "TPA_FIXTURES", "tokenizer/unicode_sweep.tsv.gz");
  char *cls = calloc(N_CP, 1);
  /* fold[cp] is HF's uncased form when it is not cp itself. */
  uint8_t *nfold = calloc(N_CP, 1);
  uint32_t(*fold)[FOLD_CAP] = calloc(N_CP, sizeof *fold);
  ck_assert(cls && nfold && fold);
  memset(nfold, 0xFF, N_CP); /* 0xFF: maps to itself */
  gzlines g;
  gz_open(&g, path);
  uint32_t run_cp = 0;
  char run_cls = 0;
  size_t lines = 0;
  for (char *line; (line = gz_next(&g)); lines++) {
    char kind = line[0];
    char *p = line + 2;
    uint32_t cp = (uint32_t)strtoul(p, &p, 16);
    ck_assert_uint_lt(cp, N_CP);
    if (kind == 'R') {
      for (uint32_t c = run_cp; c < cp; c++)
        cls[c] = run_cls;
      run_cp = cp;
      run_cls = p[1];
    } else {
      ck_assert_int_eq(kind, 'F');
      uint8_t n = 0;
      for (;;) {
        while (*p == ' ' || *p == '\t')
          p++;
        if (!*p)
          break;
        ck_assert_uint_lt(n, FOLD_CAP);
        fold[cp][n++] = (uint32_t)strtoul(p, &p, 16);
      }
      nfold[cp] = n;
    }
  }
  gz_close(&g);
  for (uint32_t c = run_cp; c < N_CP; c++)
    cls[c] = run_cls;
  ck_assert_uint_gt(lines, 10000);

  size_t bad = 0, checked = 0;
  for (uint32_t cp = 0; cp < N_CP; cp++) {
    if (cp >= 0xD800 && cp <= 0xDFFF)
      continue;
    checked++;
    char mine;
    switch (tpa__uc_clean_class(cp)) {
    case TPA__UC_DROP: mine = 'D'; break;
    case TPA__UC_SPACE: mine = 'W'; break;
    case TPA__UC_CJK: mine = 'C'; break;
    default: mine = tpa__uc_is_punct(cp) ? 'P' : 'O'; break;
    }
    bool ok = mine == cls[cp];
    uint32_t got[TPA__UC_FOLD_MAX];
    size_t ng = 0;
    if (ok && mine != 'D' && mine != 'W') {
      ng = tpa__uc_fold(cp, got);
      if (nfold[cp] == 0xFF)
        ok = ng == 1 && got[0] == cp;
      else
        ok = ng == nfold[cp] && memcmp(got, fold[cp], ng * sizeof *got) == 0;
    }
    if (!ok && bad++ < 20)
      fprintf(stderr, "U+%04X: HF class %c fold %s%X..., libtpa class %c fold %zu cps %X...\n", cp,
              cls[cp], nfold[cp] == 0xFF ? "(itself) " : "",
              nfold[cp] == 0xFF ? cp : (nfold[cp] ? fold[cp][0] : 0), mine, ng, ng ? got[0] : 0);
  }
  free(cls);
  free(nfold);
  free(fold);
  ck_assert_uint_eq(checked, 0x110000 - 0x800);
  ck_assert_msg(bad == 0, "%zu code points differ from HF (first ones on stderr)", bad);
}
END_TEST

Suite *text_unicode_suite(void) {
  Suite *s = suite_create("unicode");
  TCase *tc = tcase_create("every_code_point");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, every_code_point_matches_hf);
  suite_add_tcase(s, tc);
  return s;
}
