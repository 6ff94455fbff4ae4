/* SPDX-License-Identifier: Apache-2.0 */
/* tokenizer.json normalizers (lib/text/tj_normalize.c) against HF's
 * tokenizers: every case of tests/fixtures/tokenizer/tj_norm.jsonl.gz
 * (gen_tj_norm.js: hard strings through each configuration, configurations
 * HF refuses, and code point sweeps), byte for byte; then the errors and
 * limits HF has no golden output for (malformed charsmaps, which make HF
 * panic, and what libtpa refuses on purpose). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "text/tj.h"
#include "text/utf8.h"
#include "gzlines.h"
#include "tj_tests.h"
#include "tpa/common.h"

/* ---- fixture lines ---- */

/* The fixture @p name under $TPA_FIXTURES/tokenizer. */
static void fixture_open(gzlines *g, const char *name) {
  const char *dir = getenv("TPA_FIXTURES");
  ck_assert_msg(dir != NULL, "TPA_FIXTURES is not set (run through meson test)");
  char path[1024];
  ck_assert_int_lt(snprintf(path, sizeof path, "%s/tokenizer/%s", dir, name), (int)sizeof path);
  gz_open(g, path);
}

/* ---- helpers ---- */

static tpa__tj_ctx ctx(void) {
  tpa__tj_ctx c = {"tokenizer.json", "normalizer"};
  return c;
}

/* Parse a normalizer written as JSON text. */
static tpa_status parse_text(const char *text, tpa__norm **out) {
  json_error_t err;
  json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
  ck_assert_msg(j != NULL, "bad test JSON %s: %s", text, err.text);
  tpa__tj_ctx c = ctx();
  tpa_status st = tpa__norm_parse(&c, j, out);
  json_decref(j);
  return st;
}

static bool same(const tpa__buf *b, const char *s, size_t len) {
  return b->len == len && (len == 0 || memcmp(b->s, s, len) == 0);
}

/* Up to 20 mismatches are printed; the test fails if there is any. */
static int report(int failures, const char *what, const char *config, const char *in, size_t in_len,
                  const char *want, size_t want_len, const tpa__buf *got) {
  if (failures < 20) {
    json_t *a = json_stringn(in, in_len), *b = json_stringn(want, want_len);
    json_t *c = json_stringn(got->s ? got->s : "", got->len);
    char *sa = json_dumps(a, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
    char *sb = json_dumps(b, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
    char *sc = json_dumps(c, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
    fprintf(stderr, "tj_norm %s: config %.300s\n  input %.300s\n  HF    %.300s\n  tpa   %.300s\n",
            what, config, sa, sb, sc);
    free(sa), free(sb), free(sc);
    json_decref(a), json_decref(b), json_decref(c);
  }
  return failures + 1;
}

/* ---- sweeps ---- */

typedef struct probe {
  const char *pre, *suf, *opre, *osuf;
  size_t npre, nsuf, nopre, nosuf;
  uint32_t skip_lo, skip_hi; /* a range left out (Hangul syllables) */
} probe;

static const char *member(const json_t *o, const char *key, const char *def, size_t def_len,
                          size_t *len) {
  const json_t *v = json_object_get(o, key);
  if (!v) {
    *len = def_len;
    return def;
  }
  ck_assert(json_is_string(v));
  *len = json_string_length(v);
  return json_string_value(v);
}

static probe probe_of(const json_t *sw) {
  probe p = {0};
  p.pre = member(sw, "prefix", "", 0, &p.npre);
  p.suf = member(sw, "suffix", "", 0, &p.nsuf);
  p.opre = member(sw, "out_prefix", p.pre, p.npre, &p.nopre);
  p.osuf = member(sw, "out_suffix", p.suf, p.nsuf, &p.nosuf);
  p.skip_lo = 1;
  const json_t *skip = json_object_get(sw, "skip");
  if (skip) {
    p.skip_lo = (uint32_t)json_integer_value(json_array_get(skip, 0));
    p.skip_hi = (uint32_t)json_integer_value(json_array_get(skip, 1));
  }
  return p;
}

/* Mark the code points of s[0..len) in @p set. */
static void mark_chars(const char *s, size_t len, unsigned char *set) {
  for (size_t i = 0; i < len;) {
    uint32_t c;
    size_t k = tpa__utf8_decode((const unsigned char *)s + i, len - i, &c);
    ck_assert_uint_gt(k, 0);
    set[c] = 1;
    i += k;
  }
}

/* Append a unit prefix X suffix. No ck_assert here: Check records every
 * assertion, which would cost more than the normalizing. */
static bool append_unit(tpa__buf *b, const char *pre, size_t npre, uint32_t cp, const char *suf,
                        size_t nsuf) {
  char u[4];
  return tpa__buf_append(b, pre, npre) == TPA_OK &&
         tpa__buf_append(b, u, tpa__utf8_encode(cp, u)) == TPA_OK &&
         tpa__buf_append(b, suf, nsuf) == TPA_OK;
}

/* A sweep line: the listed units give HF's output; every other code point
 * X gives out_prefix X out_suffix, checked in one run of all of them. */
static int check_sweep(const tpa__norm *n, const char *config, const json_t *sw, const char *in,
                       size_t in_len, int failures) {
  probe p = probe_of(sw);
  /* skip[cp]: 1 listed, 2 not swept (the probe's own characters) */
  unsigned char *skip = calloc(0x110000, 1);
  ck_assert_ptr_nonnull(skip);
  mark_chars(p.pre, p.npre, skip);
  mark_chars(p.suf, p.nsuf, skip);
  for (uint32_t cp = 0; cp < 0x110000; cp++)
    if (skip[cp] || (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= p.skip_lo && cp <= p.skip_hi))
      skip[cp] = 2;
  bool ok = true;
  for (size_t i = 0; i < in_len && ok;) { /* the input is units: prefix X suffix */
    uint32_t cp = 0;
    size_t k = 0;
    ok = in_len - i > p.npre + p.nsuf && memcmp(in + i, p.pre, p.npre) == 0 &&
         (k = tpa__utf8_decode((const unsigned char *)in + i + p.npre, in_len - i - p.npre, &cp)) >
             0 &&
         in_len - i - p.npre - k >= p.nsuf && memcmp(in + i + p.npre + k, p.suf, p.nsuf) == 0;
    skip[cp] = 1;
    i += p.npre + k + p.nsuf;
  }
  ck_assert_msg(ok, "sweep input is not made of its units: %s", config);
  tpa__buf rest = {0}, want = {0}, got = {0};
  for (uint32_t cp = 0; cp < 0x110000 && ok; cp++)
    if (!skip[cp])
      ok = append_unit(&rest, p.pre, p.npre, cp, p.suf, p.nsuf) &&
           append_unit(&want, p.opre, p.nopre, cp, p.osuf, p.nosuf);
  ck_assert(ok);
  ck_assert_int_eq(tpa__norm_run(n, rest.s, rest.len, &got), TPA_OK);
  if (!same(&got, want.s, want.len)) {
    /* Find the code points that differ, one by one, for the message. */
    tpa__buf u = {0}, w = {0};
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
      if (skip[cp])
        continue;
      tpa__buf_clear(&u), tpa__buf_clear(&w);
      if (!append_unit(&u, p.pre, p.npre, cp, p.suf, p.nsuf) ||
          !append_unit(&w, p.opre, p.nopre, cp, p.osuf, p.nosuf) ||
          tpa__norm_run(n, u.s, u.len, &got) != TPA_OK || !same(&got, w.s, w.len))
        failures = report(failures, "sweep (unlisted)", config, u.s, u.len, w.s, w.len, &got);
    }
    tpa__buf_free(&u), tpa__buf_free(&w);
  }
  tpa__buf_free(&rest), tpa__buf_free(&want), tpa__buf_free(&got);
  free(skip);
  return failures;
}

/* ---- the golden file ---- */

typedef struct golden {
  tpa__norm *norm;
  char *config; /* its JSON, for messages */
  int failures;
  size_t cases, errors, sweeps;
} golden;

/* A line with "config": parse it (HF refused it if "error" is true). */
static bool golden_config(golden *g, const json_t *line, const json_t *config) {
  tpa__norm_free(g->norm);
  g->norm = NULL;
  free(g->config);
  g->config = json_dumps(config, JSON_COMPACT);
  tpa__tj_ctx c = ctx();
  tpa_status st = tpa__norm_parse(&c, config, &g->norm);
  if (json_is_true(json_object_get(line, "error"))) {
    g->errors++;
    if (st != TPA_ERR_CONFIG) {
      fprintf(stderr, "tj_norm: HF refuses %.300s, libtpa accepts it\n", g->config);
      g->failures++;
    }
    return false;
  }
  if (st != TPA_OK) {
    fprintf(stderr, "tj_norm: cannot parse %.300s: %s\n", g->config, tpa_last_error());
    g->failures++;
    return false;
  }
  return true;
}

static void golden_line(golden *g, const char *text, bool *usable) {
  json_error_t err;
  json_t *line = json_loads(text, JSON_ALLOW_NUL, &err);
  ck_assert_msg(line != NULL, "tj_norm.jsonl: %s", err.text);
  const json_t *config = json_object_get(line, "config");
  if (config)
    *usable = golden_config(g, line, config);
  const json_t *in = json_object_get(line, "input"), *out = json_object_get(line, "output");
  if (in && *usable) {
    const char *s = json_string_value(in), *want = json_string_value(out);
    size_t len = json_string_length(in), want_len = json_string_length(out);
    tpa__buf got = {0};
    tpa_status st = tpa__norm_run(g->norm, s, len, &got);
    ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
    const json_t *sw = json_object_get(line, "sweep");
    if (!same(&got, want, want_len))
      g->failures =
          report(g->failures, sw ? "sweep" : "case", g->config, s, len, want, want_len, &got);
    if (sw) {
      g->failures = check_sweep(g->norm, g->config, sw, s, len, g->failures);
      g->sweeps++;
    } else {
      g->cases++;
    }
    tpa__buf_free(&got);
  }
  json_decref(line);
}

START_TEST(test_golden) {
  gzlines f;
  fixture_open(&f, "tj_norm.jsonl.gz");
  golden g = {0};
  bool usable = false;
  for (char *l; (l = gz_next(&f));)
    golden_line(&g, l, &usable);
  gz_close(&f);
  tpa__norm_free(g.norm);
  free(g.config);
  fprintf(stderr, "tj_norm: %zu cases, %zu refused configs, %zu sweeps, %d failures\n", g.cases,
          g.errors, g.sweeps, g.failures);
  ck_assert_uint_gt(g.cases, 5000);
  ck_assert_uint_gt(g.errors, 20);
  ck_assert_uint_gt(g.sweeps, 10);
  ck_assert_int_eq(g.failures, 0);
}
END_TEST

/* ---- hand-written cases ---- */

/* Run @p n (parsed from @p config) on @p in and compare with @p want. */
static void check_run(const char *config, const char *in, const char *want) {
  tpa__norm *n = NULL;
  ck_assert_msg(parse_text(config, &n) == TPA_OK, "%s: %s", config, tpa_last_error());
  tpa__buf got = {0};
  ck_assert_int_eq(tpa__norm_run(n, in, strlen(in), &got), TPA_OK);
  ck_assert_msg(same(&got, want, strlen(want)), "%s on \"%s\": \"%s\", want \"%s\"", config, in,
                got.s ? got.s : "", want);
  tpa__buf_free(&got);
  tpa__norm_free(n);
}

/* Parsing @p config fails with TPA_ERR_CONFIG and a message holding @p what. */
static void check_refused(const char *config, const char *what) {
  tpa__norm *n = (tpa__norm *)1;
  ck_assert_msg(parse_text(config, &n) == TPA_ERR_CONFIG, "%s: accepted", config);
  ck_assert_ptr_null(n);
  ck_assert_msg(strstr(tpa_last_error(), what) != NULL, "%s: message \"%s\" lacks \"%s\"", config,
                tpa_last_error(), what);
}

START_TEST(test_null_and_identity) {
  tpa__norm *n = (tpa__norm *)1;
  ck_assert_int_eq(parse_text("null", &n), TPA_OK);
  ck_assert_ptr_null(n);
  tpa__buf got = {0};
  ck_assert_int_eq(tpa__norm_run(NULL, "A\xC3\x89", 3, &got), TPA_OK);
  ck_assert(same(&got, "A\xC3\x89", 3));
  /* An empty result is an empty C string, not NULL. */
  check_run("{\"type\": \"Sequence\", \"normalizers\": []}", "", "");
  ck_assert_int_eq(parse_text("{\"type\": \"NFC\"}", &n), TPA_OK);
  ck_assert_int_eq(tpa__norm_run(n, "", 0, &got), TPA_OK);
  ck_assert_ptr_nonnull(got.s);
  ck_assert_str_eq(got.s, "");
  /* Output cleared first, then written. */
  ck_assert_int_eq(tpa__norm_run(n, "e\xCC\x81", 3, &got), TPA_OK);
  ck_assert(same(&got, "\xC3\xA9", 2));
  tpa__norm_free(n);
  tpa__buf_free(&got);
}
END_TEST

START_TEST(test_refused_configs) {
  check_refused("{\"type\": \"ByteLevel\"}", "\"ByteLevel\" is not supported");
  check_refused("{\"type\": \"Foo\"}", "normalizer: normalizer type \"Foo\"");
  check_refused("{}", "no \"type\"");
  check_refused("{\"type\": 3}", "\"type\" is not a string");
  check_refused("[1]", "not a JSON object");
  check_refused("{\"type\": \"Strip\", \"strip_left\": true}", "\"strip_right\" is missing");
  check_refused("{\"type\": \"BertNormalizer\", \"clean_text\": true, \"handle_chinese_chars\": "
                "true, \"lowercase\": \"yes\"}",
                "\"lowercase\" is not a boolean");
  check_refused("{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"(\"}, \"content\": \"\"}",
                "does not compile");
  check_refused("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}, {\"type\": "
                "\"Sequence\", \"normalizers\": [{\"type\": \"Prepend\"}]}]}",
                "normalizer.normalizers[1].normalizers[0]: \"prepend\" is missing");
  /* HF puts Replace's content at every empty match; tpa__regex_find_all
   * skips them, so such patterns are refused (HF accepts them). */
  check_refused("{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"x*\"}, \"content\": \"-\"}",
                "can match the empty string");
  check_refused("{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"\"}, \"content\": \"-\"}",
                "can match the empty string");
  check_refused("{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"\\\\b\"}, \"content\": \"-\"}",
                "can match the empty string");
  check_refused(
      "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"(?=\\\\d)\"}, \"content\": \"\"}",
      "can match the empty string");
  /* A Regex that only matches non-empty text is fine. */
  check_run("{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"x+\"}, \"content\": \"-\"}",
            "axxbx", "a-b-");
}
END_TEST

START_TEST(test_invalid_utf8) {
  tpa__norm *n = NULL;
  ck_assert_int_eq(parse_text("{\"type\": \"Lowercase\"}", &n), TPA_OK);
  tpa__buf got = {0};
  ck_assert_int_eq(tpa__norm_run(n, "ab\xC3", 3, &got), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa__norm_run(n, "\xED\xA0\x80", 3, &got), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa__norm_run(NULL, "\xFF", 1, &got), TPA_ERR_INVALID_ARGUMENT);
  /* NUL is a character like any other: the string has a length. */
  ck_assert_int_eq(tpa__norm_run(n, "A\0B", 3, &got), TPA_OK);
  ck_assert(same(&got, "a\0b", 3));
  tpa__norm_free(n);
  tpa__buf_free(&got);
}
END_TEST

/* ---- hand-built charsmaps ---- */

/* A charsmap blob being built: the u32 header, units, strings. */
typedef struct blob {
  unsigned char b[8192];
  size_t len;
} blob;

static void put_u32(blob *x, uint32_t v) {
  for (int i = 0; i < 4; i++)
    x->b[x->len++] = (unsigned char)(v >> (8 * i));
}

/* The map {"a": value} over @p units units (the root's children at
 * 256 ^ byte, the leaf's value at unit 512), then @p strings. */
static void build_map(blob *x, uint32_t header, size_t units, uint32_t value, const char *strings,
                      size_t nstrings) {
  x->len = 0;
  put_u32(x, header);
  for (size_t i = 0; i < units; i++) {
    uint32_t u = 0;
    if (i == 0)
      u = 256u << 10; /* root: children at 256 ^ byte */
    else if (i == (256 ^ 'a'))
      u = 'a' | 1u << 8 | (uint32_t)((256 ^ 'a') ^ 512) << 10; /* "a", a leaf at 512 */
    else if (i == 512)
      u = 0x80000000u | value;
    put_u32(x, u);
  }
  memcpy(x->b + x->len, strings, nstrings);
  x->len += nstrings;
}

static char *base64(const unsigned char *b, size_t n) {
  static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *s = malloc(n / 3 * 4 + 5), *p = s;
  ck_assert_ptr_nonnull(s);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0) |
                 (i + 2 < n ? b[i + 2] : 0);
    *p++ = a[v >> 18];
    *p++ = a[(v >> 12) & 63];
    *p++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
    *p++ = i + 2 < n ? a[v & 63] : '=';
  }
  *p = '\0';
  return s;
}

/* Parse a Precompiled normalizer of charsmap @p b64 (a base64 string). */
static tpa_status parse_map(const char *b64, tpa__norm **n) {
  json_t *j = json_pack("{s:s, s:s}", "type", "Precompiled", "precompiled_charsmap", b64);
  ck_assert_ptr_nonnull(j);
  tpa__tj_ctx c = ctx();
  tpa_status st = tpa__norm_parse(&c, j, n);
  json_decref(j);
  return st;
}

static void check_map(const blob *x, const char *what) {
  char *s = base64(x->b, x->len);
  tpa__norm *n = NULL;
  tpa_status st = parse_map(s, &n);
  if (!what) {
    ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
    tpa__buf got = {0};
    ck_assert_int_eq(tpa__norm_run(n, "xay a", 5, &got), TPA_OK);
    ck_assert_msg(same(&got, "xby b", 5), "got %s", got.s);
    tpa__buf_free(&got);
  } else {
    ck_assert_int_eq(st, TPA_ERR_CONFIG);
    ck_assert_msg(strstr(tpa_last_error(), what), "\"%s\" lacks \"%s\"", tpa_last_error(), what);
  }
  tpa__norm_free(n);
  free(s);
}

START_TEST(test_charsmap_errors) {
  blob x;
  build_map(&x, 768 * 4, 768, 0, "b", 2); /* "b\0" */
  check_map(&x, NULL);
  build_map(&x, 768 * 4 + 3, 768, 0, "b", 2); /* a size not a multiple of 4: as HF, fine */
  check_map(&x, NULL);
  build_map(&x, 768 * 4, 768, 0, "b", 1); /* the last string without its NUL */
  check_map(&x, NULL);
  build_map(&x, 769 * 4, 768, 0, "b", 2);
  check_map(&x, "larger than the map");
  build_map(&x, 0, 0, 0, "b", 2);
  check_map(&x, "the trie is empty");
  build_map(&x, 768 * 4, 768, 3, "b", 2); /* value past the strings */
  check_map(&x, "leaf at unit");
  build_map(&x, 768 * 4, 768, 1, "\xC3\xA9", 3); /* value inside a character */
  check_map(&x, "leaf at unit");
  build_map(&x, 768 * 4, 768, 0, "\xFF", 2);
  check_map(&x, "not UTF-8");
  build_map(&x, 500 * 4, 500, 0, "b", 2); /* root's children up to 511 */
  check_map(&x, "out of range");
  /* Base64 as HF's decoder takes it. */
  tpa__norm *n = NULL;
  ck_assert_int_eq(parse_map("AAA=", &n), TPA_ERR_CONFIG); /* 2 bytes */
  ck_assert(strstr(tpa_last_error(), "too short"));
  static const char *const bad[] = {"AAAA AA==", "AAAAAAA==", "AAAA====",     "AAAAAB==", "AAAAA",
                                    "=AAAAAA=",  "AAAA-_==",  "AAAAAA==AAAA", "AAAAAR"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ck_assert_msg(parse_map(bad[i], &n) == TPA_ERR_CONFIG, "%s accepted", bad[i]);
    ck_assert_msg(strstr(tpa_last_error(), "not base64"), "%s: %s", bad[i], tpa_last_error());
  }
  /* Padding is optional (HF: "AAAAAA" and "AAAAAA=" decode too); these
   * give 4 zero bytes, an empty trie. */
  static const char *const empty[] = {"AAAAAA", "AAAAAA=", "AAAAAA=="};
  for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
    ck_assert_int_eq(parse_map(empty[i], &n), TPA_ERR_CONFIG);
    ck_assert_msg(strstr(tpa_last_error(), "empty"), "%s: %s", empty[i], tpa_last_error());
  }
  check_refused("{\"type\": \"Precompiled\"}", "\"precompiled_charsmap\" is missing");
  check_refused("{\"type\": \"Precompiled\", \"precompiled_charsmap\": null}", "is not a string");
}
END_TEST

/* Random damage to a valid map: whatever parses must run without reading
 * out of bounds (tools/sanitize.sh runs this under ASan). */
START_TEST(test_charsmap_damage) {
  blob good, x;
  build_map(&good, 768 * 4, 768, 0, "b\0cd\xC3\xA9", 7);
  uint32_t r = 14;
  static const char *const texts[] = {"a", "abc", "\xC3\xA9\xCC\x81", "\xE4\xB8\xAD", "\x01\x7F"};
  size_t parsed = 0;
  for (int round = 0; round < 3000; round++) {
    x = good;
    for (int k = 0; k < 1 + round % 4; k++) {
      r = r * 1664525u + 1013904223u;
      size_t at = (r >> 8) % x.len;
      r = r * 1664525u + 1013904223u;
      x.b[at] = (unsigned char)(r >> 24);
    }
    char *s = base64(x.b, x.len);
    tpa__norm *n = NULL;
    if (parse_map(s, &n) == TPA_OK) {
      parsed++;
      tpa__buf got = {0};
      for (size_t t = 0; t < sizeof texts / sizeof *texts; t++)
        ck_assert_int_eq(tpa__norm_run(n, texts[t], strlen(texts[t]), &got), TPA_OK);
      tpa__buf_free(&got);
    }
    tpa__norm_free(n);
    free(s);
  }
  ck_assert_uint_gt(parsed, 100);
}
END_TEST

Suite *tj_norm_suite(void) {
  Suite *s = suite_create("tj_norm");
  TCase *tc = tcase_create("golden");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_golden);
  suite_add_tcase(s, tc);
  tc = tcase_create("errors");
  tcase_add_test(tc, test_null_and_identity);
  tcase_add_test(tc, test_refused_configs);
  tcase_add_test(tc, test_invalid_utf8);
  tcase_add_test(tc, test_charsmap_errors);
  tcase_add_test(tc, test_charsmap_damage);
  suite_add_tcase(s, tc);
  return s;
}
