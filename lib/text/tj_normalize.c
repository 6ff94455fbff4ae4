/* SPDX-License-Identifier: Apache-2.0 */
/* tokenizer.json normalizers (see tj.h), as HF's `tokenizers` 0.23 runs
 * them (tokenizers/src/normalizers/, and the spm_precompiled 0.1.4 crate
 * for Precompiled). Each normalizer maps a whole string to a string; HF's
 * alignment bookkeeping is not needed since libtpa keeps no offsets.
 *
 * Unicode data: utf8proc (Unicode 15) where HF uses the crates
 * unicode-normalization-alignments (decompositions, combining classes,
 * combining marks: Unicode 9), unicode_categories (BertNormalizer's
 * classes), unicode-segmentation (graphemes) and Rust's char::to_lowercase.
 * Where those tables and utf8proc disagree, unicode_compat.c (categories,
 * lowercase) and the tables below (normalization) say what HF does;
 * tests/text/test_tj_norm.c sweeps every code point through each
 * normalizer against HF. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/alloc.h"
#include "core/error.h"
#include "text/tj.h"
#include "text/unicode.h"
#include "text/unicode_compat.h"
#include "text/utf8.h"

typedef enum kind {
  K_BERT,
  K_NFC,
  K_NFD,
  K_NFKC,
  K_NFKD,
  K_NMT,
  K_LOWERCASE,
  K_STRIP_ACCENTS,
  K_STRIP,
  K_REPLACE,
  K_PREPEND,
  K_PRECOMPILED,
  K_SEQUENCE
} kind;

/* A sentencepiece precompiled_charsmap: a Darts double-array trie over
 * UTF-8 bytes whose leaves are offsets into NUL-separated replacement
 * strings. */
typedef struct charsmap {
  uint32_t *unit;
  size_t n_units;
  char *normalized;
  size_t norm_len;
} charsmap;

struct tpa__norm {
  kind kind;
  bool clean_text, chinese, strip_accents, lowercase; /* BertNormalizer */
  bool left, right;                                   /* Strip */
  char *text; /* Replace's String pattern, Prepend's string */
  size_t text_len;
  char *content; /* Replace */
  size_t content_len;
  tpa__regex *re;    /* Replace with a Regex pattern */
  charsmap map;      /* Precompiled */
  tpa__norm **child; /* Sequence */
  size_t n_child;
};

/* ------------------------------------------------------------------------ */
/* Code points                                                               */

/* A string as code points, for the steps that look at several at once. */
typedef struct cps {
  utf8proc_int32_t *v;
  size_t n, cap;
} cps;

static tpa_status cps_push(cps *c, utf8proc_int32_t cp) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    utf8proc_int32_t *v = tpa__malloc_array(cap, sizeof *v);
    if (!v)
      return TPA__NO_MEMORY("normalizer");
    if (c->n)
      memcpy(v, c->v, c->n * sizeof *v);
    free(c->v);
    c->v = v;
    c->cap = cap;
  }
  c->v[c->n++] = cp;
  return TPA_OK;
}

static void cps_free(cps *c) {
  free(c->v);
  memset(c, 0, sizeof *c);
}

/* The code point at s[i] of a string known to be valid UTF-8 (checked once
 * in tpa__norm_run; every step writes valid UTF-8). Returns its length. */
static size_t next_cp(const char *s, size_t len, size_t i, uint32_t *cp) {
  uint32_t v = 0;
  size_t k = tpa__utf8_decode((const unsigned char *)s + i, len - i, &v);
  *cp = v;
  return k ? k : 1;
}

static tpa_status cps_decode(const char *s, size_t len, cps *out) {
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < len && st == TPA_OK;) {
    uint32_t cp;
    i += next_cp(s, len, i, &cp);
    st = cps_push(out, (utf8proc_int32_t)cp);
  }
  return st;
}

static tpa_status put_cp(tpa__buf *out, uint32_t cp) {
  char b[4];
  return tpa__buf_append(out, b, tpa__utf8_encode(cp, b));
}

static tpa_status cps_encode(const cps *c, tpa__buf *out) {
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < c->n && st == TPA_OK; i++)
    st = put_cp(out, (uint32_t)c->v[i]);
  return st;
}

/* Valid UTF-8 (NUL allowed: the string has a length). */
static size_t utf8_bad_at(const char *s, size_t len) {
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    size_t k = tpa__utf8_decode((const unsigned char *)s + i, len - i, &cp);
    if (k == 0)
      return i;
    i += k;
  }
  return len;
}

/* The general category HF's unicode_categories crate gives @p cp. */
static int hf_category(uint32_t cp) {
  int cat;
  if (tpa__uc_compat_category(cp, &cat))
    return cat;
  return utf8proc_category((utf8proc_int32_t)cp);
}

/* Rust's char::to_lowercase: one code point, except U+0130 (İ), the only
 * character whose unconditional lowercase is two. No final-sigma rule:
 * Rust maps each character alone. Returns the count written to @p out. */
static size_t lower_cp(uint32_t cp, uint32_t out[2]) {
  if (cp < 0x80) {
    out[0] = cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp;
    return 1;
  }
  if (cp == 0x130) {
    out[0] = 'i';
    out[1] = 0x307;
    return 2;
  }
  if (!tpa__uc_compat_lower(cp, &out[0]))
    out[0] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
  return 1;
}

/* ------------------------------------------------------------------------ */
/* HF's normalization tables                                                 */

/* unicode-normalization-alignments 0.1.12 (NFC..NFKD, BertNormalizer's
 * NFD, StripAccents' marks) has Unicode 9 tables; utf8proc 2.8 has Unicode
 * 15. Characters assigned since are unknown to HF: no decomposition,
 * combining class 0, not a mark. These ranges are where that changes the
 * result, as the code point sweeps of tests/fixtures/tokenizer/
 * tj_norm.jsonl.gz found them (test_tj_norm names any code point that
 * disagrees). unicode_compat.c has the one canonical decomposition. */
typedef struct cp_range {
  uint32_t lo, hi;
} cp_range;

/* Combining class 0 for HF, not for utf8proc. */
static const cp_range hf_ccc_zero[] = {
    {0x07FD, 0x07FD},   {0x0898, 0x089F},   {0x08CA, 0x08D3},   {0x09FE, 0x09FE},
    {0x0C3C, 0x0C3C},   {0x0D3B, 0x0D3C},   {0x0EBA, 0x0EBA},   {0x1715, 0x1715},
    {0x1ABF, 0x1ACE},   {0x1DF6, 0x1DFA},   {0xA82C, 0xA82C},   {0x10D24, 0x10D27},
    {0x10EAB, 0x10EAC}, {0x10EFD, 0x10EFF}, {0x10F46, 0x10F50}, {0x10F82, 0x10F85},
    {0x11070, 0x11070}, {0x1133B, 0x1133B}, {0x1145E, 0x1145E}, {0x11839, 0x1183A},
    {0x1193D, 0x1193E}, {0x11943, 0x11943}, {0x119E0, 0x119E0}, {0x11A34, 0x11A34},
    {0x11A47, 0x11A47}, {0x11A99, 0x11A99}, {0x11D42, 0x11D42}, {0x11D44, 0x11D45},
    {0x11D97, 0x11D97}, {0x11F41, 0x11F42}, {0x16FF0, 0x16FF1}, {0x1E08F, 0x1E08F},
    {0x1E130, 0x1E136}, {0x1E2AE, 0x1E2AE}, {0x1E2EC, 0x1E2EF}, {0x1E4EC, 0x1E4EF},
};

/* No compatibility decomposition for HF (NFKC, NFKD). */
static const cp_range hf_no_compat[] = {
    {0x32FF, 0x32FF},   {0xA7F2, 0xA7F4},   {0xAB69, 0xAB69},
    {0x10781, 0x10785}, {0x10787, 0x107B0}, {0x107B2, 0x107BA},
    {0x1E030, 0x1E06D}, {0x1F16C, 0x1F16C}, {0x1FBF0, 0x1FBF9},
};

/* HF's is_combining_mark is the opposite of utf8proc's Mn/Mc/Me: new
 * marks, and U+1CF2..U+1CF3, marks in Unicode 9 but letters now. */
static const cp_range hf_mark_flip[] = {
    {0x07FD, 0x07FD},   {0x0898, 0x089F},   {0x08CA, 0x08D3},   {0x09FE, 0x09FE},
    {0x0AFA, 0x0AFF},   {0x0B55, 0x0B55},   {0x0C04, 0x0C04},   {0x0C3C, 0x0C3C},
    {0x0CF3, 0x0CF3},   {0x0D00, 0x0D00},   {0x0D3B, 0x0D3C},   {0x0D81, 0x0D81},
    {0x0EBA, 0x0EBA},   {0x0ECE, 0x0ECE},   {0x1715, 0x1715},   {0x180F, 0x180F},
    {0x1ABF, 0x1ACE},   {0x1CF2, 0x1CF3},   {0x1CF7, 0x1CF7},   {0x1DF6, 0x1DFA},
    {0xA82C, 0xA82C},   {0xA8FF, 0xA8FF},   {0x10D24, 0x10D27}, {0x10EAB, 0x10EAC},
    {0x10EFD, 0x10EFF}, {0x10F46, 0x10F50}, {0x10F82, 0x10F85}, {0x11070, 0x11070},
    {0x11073, 0x11074}, {0x110C2, 0x110C2}, {0x11145, 0x11146}, {0x111C9, 0x111C9},
    {0x111CE, 0x111CF}, {0x11241, 0x11241}, {0x1133B, 0x1133B}, {0x1145E, 0x1145E},
    {0x1182C, 0x1183A}, {0x11930, 0x11935}, {0x11937, 0x11938}, {0x1193B, 0x1193E},
    {0x11940, 0x11940}, {0x11942, 0x11943}, {0x119D1, 0x119D7}, {0x119DA, 0x119E0},
    {0x119E4, 0x119E4}, {0x11A01, 0x11A0A}, {0x11A33, 0x11A39}, {0x11A3B, 0x11A3E},
    {0x11A47, 0x11A47}, {0x11A51, 0x11A5B}, {0x11A8A, 0x11A99}, {0x11D31, 0x11D36},
    {0x11D3A, 0x11D3A}, {0x11D3C, 0x11D3D}, {0x11D3F, 0x11D45}, {0x11D47, 0x11D47},
    {0x11D8A, 0x11D8E}, {0x11D90, 0x11D91}, {0x11D93, 0x11D97}, {0x11EF3, 0x11EF6},
    {0x11F00, 0x11F01}, {0x11F03, 0x11F03}, {0x11F34, 0x11F3A}, {0x11F3E, 0x11F42},
    {0x13440, 0x13440}, {0x13447, 0x13455}, {0x16F4F, 0x16F4F}, {0x16F7F, 0x16F87},
    {0x16FE4, 0x16FE4}, {0x16FF0, 0x16FF1}, {0x1CF00, 0x1CF2D}, {0x1CF30, 0x1CF46},
    {0x1E08F, 0x1E08F}, {0x1E130, 0x1E136}, {0x1E2AE, 0x1E2AE}, {0x1E2EC, 0x1E2EF},
    {0x1E4EC, 0x1E4EF},
};

static bool in_ranges(const cp_range *r, size_t n, uint32_t cp) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cp < r[mid].lo)
      hi = mid;
    else if (cp > r[mid].hi)
      lo = mid + 1;
    else
      return true;
  }
  return false;
}

#define IN_RANGES(table, cp) in_ranges(table, sizeof table / sizeof *table, cp)

/* ------------------------------------------------------------------------ */
/* Unicode normalization forms                                               */

enum { DECOMP_MAX = 32 }; /* longest full decomposition: 18 (U+FDFA, NFKD) */

/* The canonical combining class HF gives @p cp. */
static int ccc(utf8proc_int32_t cp) {
  int c = utf8proc_get_property(cp)->combining_class;
  return c && IN_RANGES(hf_ccc_zero, (uint32_t)cp) ? 0 : c;
}

/* Canonical ordering of the marks v[a..b) (all of combining class > 0): a
 * stable sort by class. Counting sort, so a long run of marks in hostile
 * text costs linear time. */
static void order_run(utf8proc_int32_t *v, size_t a, size_t b, utf8proc_int32_t *tmp) {
  if (b - a < 2)
    return;
  size_t start[257] = {0};
  for (size_t i = a; i < b; i++)
    start[ccc(v[i]) + 1]++;
  for (int k = 1; k <= 256; k++)
    start[k] += start[k - 1];
  for (size_t i = a; i < b; i++)
    tmp[start[ccc(v[i])]++] = v[i];
  memcpy(v + a, tmp, (b - a) * sizeof *v);
}

static tpa_status canonical_order(cps *c) {
  utf8proc_int32_t *tmp = tpa__malloc_array(c->n, sizeof *tmp);
  if (!tmp)
    return TPA__NO_MEMORY("normalizer");
  for (size_t i = 0; i < c->n;) {
    if (ccc(c->v[i]) == 0) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < c->n && ccc(c->v[j]) != 0)
      j++;
    order_run(c->v, i, j, tmp);
    i = j;
  }
  free(tmp);
  return TPA_OK;
}

/* NFD or NFKD of @p in into @p out: full decomposition, as far as HF's
 * tables know it, then canonical order. */
static tpa_status decompose(const cps *in, bool compat, cps *out) {
  tpa_status st = TPA_OK;
  utf8proc_option_t opt = UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0);
  for (size_t i = 0; i < in->n && st == TPA_OK; i++) {
    utf8proc_int32_t d[DECOMP_MAX];
    utf8proc_ssize_t nd = 1;
    d[0] = in->v[i];
    uint32_t cp = (uint32_t)in->v[i];
    if (!tpa__uc_compat_no_decomposition(cp) && !(compat && IN_RANGES(hf_no_compat, cp))) {
      int boundclass = UTF8PROC_BOUNDCLASS_START;
      nd = utf8proc_decompose_char(in->v[i], d, DECOMP_MAX, opt, &boundclass);
      if (nd < 1 || nd > DECOMP_MAX) { /* cannot happen; keep the character */
        d[0] = in->v[i];
        nd = 1;
      }
    }
    for (utf8proc_ssize_t k = 0; k < nd && st == TPA_OK; k++)
      st = cps_push(out, d[k]);
  }
  return st == TPA_OK ? canonical_order(out) : st;
}

/* The primary composite of the pair (a, b), or -1: utf8proc composes a
 * two-character buffer (which includes Hangul's arithmetic and honours the
 * composition exclusions), unless HF does not know the composite. */
static utf8proc_int32_t compose_pair(utf8proc_int32_t a, utf8proc_int32_t b) {
  if (b < 0x300) /* no composition has a second character below U+0300 */
    return -1;
  utf8proc_int32_t buf[2] = {a, b};
  utf8proc_ssize_t n = utf8proc_normalize_utf32(buf, 2, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
  return n == 1 && !tpa__uc_compat_no_decomposition((uint32_t)buf[0]) ? buf[0] : -1;
}

/* Canonical composition of v[0..n) in place (UAX #15): each character
 * joins the last starter unless a character between them blocks it. It is
 * utf8proc's loop with HF's combining classes, which decide the blocking;
 * returns the new length. */
static size_t compose(utf8proc_int32_t *v, size_t n) {
  size_t w = 0, starter = 0;
  bool have_starter = false;
  int max_ccc = -1; /* highest class since the starter */
  for (size_t r = 0; r < n; r++) {
    utf8proc_int32_t c = v[r];
    int cc = ccc(c);
    if (have_starter && cc > max_ccc) {
      utf8proc_int32_t comp = compose_pair(v[starter], c);
      if (comp >= 0) {
        v[starter] = comp;
        continue;
      }
    }
    v[w] = c;
    if (cc == 0) {
      starter = w;
      have_starter = true;
      max_ccc = -1;
    } else if (cc > max_ccc) {
      max_ccc = cc;
    }
    w++;
  }
  return w;
}

/* One of NFC, NFD, NFKC, NFKD of s[0..len) appended to @p out. */
static tpa_status run_nf(const char *s, size_t len, bool compat, bool composed, tpa__buf *out) {
  cps in = {0}, d = {0};
  tpa_status st = cps_decode(s, len, &in);
  if (st == TPA_OK)
    st = decompose(&in, compat, &d);
  if (st == TPA_OK && composed)
    d.n = compose(d.v, d.n);
  if (st == TPA_OK)
    st = cps_encode(&d, out);
  cps_free(&in);
  cps_free(&d);
  return st;
}

/* ------------------------------------------------------------------------ */
/* BertNormalizer                                                            */

/* clean_text: drop NUL, U+FFFD and control characters, make whitespace a
 * space (unicode.c's classes are HF's). */
static void bert_clean(cps *c) {
  size_t k = 0;
  for (size_t i = 0; i < c->n; i++) {
    tpa__uc_clean cls = tpa__uc_clean_class((uint32_t)c->v[i]);
    if (cls == TPA__UC_DROP)
      continue;
    c->v[k++] = cls == TPA__UC_SPACE ? ' ' : c->v[i];
  }
  c->n = k;
}

/* handle_chinese_chars: a space on each side of every CJK ideograph. */
static tpa_status bert_chinese(const cps *in, cps *out) {
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < in->n && st == TPA_OK; i++) {
    /* Ideographs are never dropped or whitespace, so the class says CJK
     * for exactly HF's is_chinese_char. */
    bool cjk = tpa__uc_clean_class((uint32_t)in->v[i]) == TPA__UC_CJK;
    if (cjk)
      st = cps_push(out, ' ');
    if (st == TPA_OK)
      st = cps_push(out, in->v[i]);
    if (cjk && st == TPA_OK)
      st = cps_push(out, ' ');
  }
  return st;
}

/* strip_accents: NFD of the whole string, then nonspacing marks (Mn) go. */
static tpa_status bert_strip(const cps *in, cps *out) {
  tpa_status st = decompose(in, false, out);
  size_t k = 0;
  for (size_t i = 0; i < out->n; i++)
    if (hf_category((uint32_t)out->v[i]) != UTF8PROC_CATEGORY_MN)
      out->v[k++] = out->v[i];
  out->n = k;
  return st;
}

static tpa_status bert_lower(const cps *in, cps *out) {
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < in->n && st == TPA_OK; i++) {
    uint32_t l[2];
    size_t nl = lower_cp((uint32_t)in->v[i], l);
    for (size_t k = 0; k < nl && st == TPA_OK; k++)
      st = cps_push(out, (utf8proc_int32_t)l[k]);
  }
  return st;
}

/* A step wrote @p b: it becomes the next step's input, and a's memory the
 * next step's (empty) output. */
static void next_step(cps *a, cps *b) {
  cps t = *a;
  *a = *b;
  *b = t;
  b->n = 0;
}

/* HF's steps in HF's order, each from one code point vector to the next. */
static tpa_status run_bert(const tpa__norm *n, const char *s, size_t len, tpa__buf *out) {
  cps a = {0}, b = {0};
  tpa_status st = cps_decode(s, len, &a);
  if (st == TPA_OK && n->clean_text)
    bert_clean(&a);
  if (st == TPA_OK && n->chinese && (st = bert_chinese(&a, &b)) == TPA_OK)
    next_step(&a, &b);
  if (st == TPA_OK && n->strip_accents && (st = bert_strip(&a, &b)) == TPA_OK)
    next_step(&a, &b);
  if (st == TPA_OK && n->lowercase && (st = bert_lower(&a, &b)) == TPA_OK)
    next_step(&a, &b);
  if (st == TPA_OK)
    st = cps_encode(&a, out);
  cps_free(&a);
  cps_free(&b);
  return st;
}

/* ------------------------------------------------------------------------ */
/* Character by character: Nmt, Lowercase, StripAccents                     */

/* sentencepiece's NMT cleanup: some controls go, some spaces become ' '. */
static tpa_status run_nmt(const char *s, size_t len, tpa__buf *out) {
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < len && st == TPA_OK;) {
    uint32_t c;
    i += next_cp(s, len, i, &c);
    if ((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
        c == 0x8F || c == 0x9F)
      continue;
    if (c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D || c == 0x1680 ||
        (c >= 0x200B && c <= 0x200F) || c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF ||
        c == 0xFFFD)
      c = ' ';
    st = put_cp(out, c);
  }
  return st;
}

static tpa_status run_lowercase(const char *s, size_t len, tpa__buf *out) {
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < len && st == TPA_OK;) {
    uint32_t c, l[2];
    i += next_cp(s, len, i, &c);
    size_t nl = lower_cp(c, l);
    for (size_t k = 0; k < nl && st == TPA_OK; k++)
      st = put_cp(out, l[k]);
  }
  return st;
}

/* unicode-normalization's is_combining_mark: categories Mn, Mc, Me (of
 * Unicode 9). */
static bool is_combining_mark(uint32_t cp) {
  int cat = utf8proc_category((utf8proc_int32_t)cp);
  bool mark =
      cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME;
  return mark != IN_RANGES(hf_mark_flip, cp);
}

/* StripAccents removes marks only: it does not decompose first, so "é"
 * stays unless an NFD or NFKD runs before it (HF's pipelines do that). */
static tpa_status run_strip_accents(const char *s, size_t len, tpa__buf *out) {
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < len && st == TPA_OK;) {
    uint32_t c;
    size_t k = next_cp(s, len, i, &c);
    if (!is_combining_mark(c))
      st = tpa__buf_append(out, s + i, k);
    i += k;
  }
  return st;
}

/* ------------------------------------------------------------------------ */
/* Strip, Replace, Prepend                                                   */

/* Leading and/or trailing Unicode whitespace (Rust's char::is_whitespace). */
static tpa_status run_strip(const tpa__norm *n, const char *s, size_t len, tpa__buf *out) {
  size_t first = len, end = 0; /* first non-space character, end of the last */
  for (size_t i = 0; i < len;) {
    uint32_t c;
    size_t k = next_cp(s, len, i, &c);
    if (!tpa__uc_is_space(c)) {
      if (first == len)
        first = i;
      end = i + k;
    }
    i += k;
  }
  size_t a = n->left ? first : 0, b = n->right ? end : len;
  return a < b ? tpa__buf_append(out, s + a, b - a) : TPA_OK;
}

/* A String pattern matches literally, leftmost first, without overlaps.
 * An empty pattern matches at every character boundary of a non-empty
 * string (Oniguruma's empty matches, which HF's Replace keeps). */
static tpa_status replace_literal(const tpa__norm *n, const char *s, size_t len, tpa__buf *out) {
  tpa_status st = TPA_OK;
  if (n->text_len == 0) {
    if (len == 0)
      return TPA_OK;
    for (size_t i = 0; i < len && st == TPA_OK;) {
      uint32_t c;
      size_t k = next_cp(s, len, i, &c);
      st = tpa__buf_append(out, n->content, n->content_len);
      if (st == TPA_OK)
        st = tpa__buf_append(out, s + i, k);
      i += k;
    }
    return st == TPA_OK ? tpa__buf_append(out, n->content, n->content_len) : st;
  }
  size_t at = 0;
  while (st == TPA_OK) {
    const char *m = memmem(s + at, len - at, n->text, n->text_len);
    if (!m)
      break;
    size_t ms = (size_t)(m - s);
    st = tpa__buf_append(out, s + at, ms - at);
    if (st == TPA_OK)
      st = tpa__buf_append(out, n->content, n->content_len);
    at = ms + n->text_len;
  }
  return st == TPA_OK ? tpa__buf_append(out, s + at, len - at) : st;
}

static tpa_status replace_regex(const tpa__norm *n, const char *s, size_t len, tpa__buf *out) {
  tpa__pieces m = {0};
  tpa_status st = tpa__regex_find_all(n->re, s, len, &m);
  size_t at = 0;
  for (size_t i = 0; i < m.n && st == TPA_OK; i++) {
    st = tpa__buf_append(out, s + at, m.span[i].start - at);
    if (st == TPA_OK)
      st = tpa__buf_append(out, n->content, n->content_len);
    at = m.span[i].end;
  }
  if (st == TPA_OK)
    st = tpa__buf_append(out, s + at, len - at);
  tpa__pieces_free(&m);
  return st;
}

/* HF prepends only to a non-empty string. */
static tpa_status run_prepend(const tpa__norm *n, const char *s, size_t len, tpa__buf *out) {
  if (len == 0)
    return TPA_OK;
  tpa_status st = tpa__buf_append(out, n->text, n->text_len);
  return st == TPA_OK ? tpa__buf_append(out, s, len) : st;
}

/* ------------------------------------------------------------------------ */
/* Precompiled (sentencepiece charsmap)                                      */

/* Fields of a Darts-clone unit, as spm_precompiled reads them. */
static bool unit_has_leaf(uint32_t u) {
  return (u >> 8) & 1;
}
static uint32_t unit_value(uint32_t u) {
  return u & 0x7FFFFFFFu;
}
static uint32_t unit_label(uint32_t u) {
  return u & 0x800000FFu;
}
static size_t unit_offset(uint32_t u) {
  return (size_t)(u >> 10) << ((u & (1u << 9)) >> 6);
}

/* Keys are at most one grapheme under 6 bytes or one character: no lookup
 * walks deeper than this, so the parse-time check stops there too. */
enum { KEY_MAX = 5 };

/* spm_precompiled's transform: walk the trie along @p key (up to a NUL
 * byte) and take the FIRST leaf met, i.e. the shortest prefix of the key
 * that has an entry, whether or not it covers the whole key. Returns the
 * offset of the replacement in normalized[], or -1. Every index is
 * bounds-checked, so even an unchecked map cannot be read out of range. */
static long trie_lookup(const charsmap *m, const unsigned char *key, size_t len) {
  size_t pos = unit_offset(m->unit[0]);
  for (size_t i = 0; i < len && key[i]; i++) {
    pos ^= key[i];
    if (pos >= m->n_units)
      return -1;
    uint32_t u = m->unit[pos];
    if (unit_label(u) != key[i])
      return -1;
    pos ^= unit_offset(u);
    if (unit_has_leaf(u)) {
      if (pos >= m->n_units || unit_value(m->unit[pos]) > m->norm_len)
        return -1;
      return (long)unit_value(m->unit[pos]);
    }
  }
  return -1;
}

/* The replacement of one key appended to @p out; *found false if none. */
static tpa_status map_key(const charsmap *m, const char *key, size_t len, tpa__buf *out,
                          bool *found) {
  long at = trie_lookup(m, (const unsigned char *)key, len);
  *found = at >= 0;
  if (!*found)
    return TPA_OK;
  const char *r = m->normalized + at;
  return tpa__buf_append(out, r, strnlen(r, m->norm_len - (size_t)at));
}

/* One grapheme: looked up whole when shorter than 6 bytes, else (or when
 * the whole has no entry) character by character. This is HF's rule,
 * which sentencepiece itself does not have; see spm_precompiled. */
static tpa_status map_grapheme(const charsmap *m, const char *g, size_t len, tpa__buf *out) {
  bool found = false;
  tpa_status st = TPA_OK;
  if (len < 6 && ((st = map_key(m, g, len, out, &found)) != TPA_OK || found))
    return st;
  for (size_t i = 0; i < len && st == TPA_OK;) {
    uint32_t c;
    size_t k = next_cp(g, len, i, &c);
    st = map_key(m, g + i, k, out, &found);
    if (st == TPA_OK && !found)
      st = tpa__buf_append(out, g + i, k);
    i += k;
  }
  return st;
}

/* Extended grapheme clusters (UAX #29) by utf8proc, as HF's
 * unicode-segmentation finds them. */
static tpa_status run_precompiled(const tpa__norm *n, const char *s, size_t len, tpa__buf *out) {
  tpa_status st = TPA_OK;
  utf8proc_int32_t state = 0;
  uint32_t c = 0;
  size_t k = len ? next_cp(s, len, 0, &c) : 0;
  for (size_t start = 0; start < len && st == TPA_OK;) {
    size_t end = start + k;
    uint32_t prev = c;
    while (end < len) {
      k = next_cp(s, len, end, &c);
      if (utf8proc_grapheme_break_stateful((utf8proc_int32_t)prev, (utf8proc_int32_t)c, &state))
        break;
      prev = c;
      end += k;
    }
    st = map_grapheme(&n->map, s + start, end - start, out);
    start = end;
  }
  return st;
}

/* ------------------------------------------------------------------------ */
/* Running                                                                   */

static tpa_status apply(const tpa__norm *n, const char *s, size_t len, tpa__buf *out);

/* Each normalizer's output is the next one's input; two scratch buffers
 * alternate and the last step writes @p out. */
static tpa_status run_sequence(const tpa__norm *n, const char *s, size_t len, tpa__buf *out) {
  if (n->n_child == 0)
    return tpa__buf_append(out, s, len);
  tpa__buf tmp[2] = {{0}, {0}};
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < n->n_child && st == TPA_OK; i++) {
    tpa__buf *dst = i + 1 == n->n_child ? out : &tmp[i & 1];
    if (dst != out)
      tpa__buf_clear(dst);
    st = apply(n->child[i], s, len, dst);
    s = dst->s ? dst->s : "";
    len = dst->len;
  }
  tpa__buf_free(&tmp[0]);
  tpa__buf_free(&tmp[1]);
  return st;
}

/* s[0..len) normalized by @p n, appended to @p out (never aliasing s). */
static tpa_status apply(const tpa__norm *n, const char *s, size_t len, tpa__buf *out) {
  switch (n->kind) {
  case K_BERT: return run_bert(n, s, len, out);
  case K_NFC: return run_nf(s, len, false, true, out);
  case K_NFD: return run_nf(s, len, false, false, out);
  case K_NFKC: return run_nf(s, len, true, true, out);
  case K_NFKD: return run_nf(s, len, true, false, out);
  case K_NMT: return run_nmt(s, len, out);
  case K_LOWERCASE: return run_lowercase(s, len, out);
  case K_STRIP_ACCENTS: return run_strip_accents(s, len, out);
  case K_STRIP: return run_strip(n, s, len, out);
  case K_REPLACE: return n->re ? replace_regex(n, s, len, out) : replace_literal(n, s, len, out);
  case K_PREPEND: return run_prepend(n, s, len, out);
  case K_PRECOMPILED: return run_precompiled(n, s, len, out);
  case K_SEQUENCE: return run_sequence(n, s, len, out);
  }
  return tpa__error(TPA_ERR_INTERNAL, "normalizer of unknown kind %d", (int)n->kind);
}

tpa_status tpa__norm_run(const tpa__norm *n, const char *s, size_t len, tpa__buf *out) {
  tpa__buf_clear(out);
  size_t bad = utf8_bad_at(s, len);
  if (bad < len)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "normalizer: text is not valid UTF-8 at byte %zu (0x%02X)", bad,
                      (unsigned char)s[bad]);
  tpa_status st = n ? apply(n, s, len, out) : tpa__buf_append(out, s, len);
  /* An empty result is "" too, never a NULL string. */
  return st == TPA_OK ? tpa__buf_append(out, "", 0) : st;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */

static tpa_status req(const tpa__tj_ctx *c, const json_t *obj, const char *key, const json_t **v) {
  *v = json_object_get(obj, key);
  return *v ? TPA_OK : tpa__tj_error(c, "\"%s\" is missing", key);
}

/* A member HF requires (absent or null is an error, as in HF). */
static tpa_status req_bool(const tpa__tj_ctx *c, const json_t *obj, const char *key, bool *out) {
  const json_t *v;
  tpa_status st = req(c, obj, key, &v);
  if (st != TPA_OK)
    return st;
  if (!json_is_boolean(v))
    return tpa__tj_error(c, "\"%s\" is not a boolean", key);
  *out = json_is_true(v);
  return TPA_OK;
}

/* A copy of a required string member (it may hold NUL: kept with its length). */
static tpa_status copy_string(const tpa__tj_ctx *c, const json_t *v, const char *key, char **out,
                              size_t *len) {
  if (!json_is_string(v))
    return tpa__tj_error(c, "\"%s\" is not a string", key);
  *len = json_string_length(v);
  *out = malloc(*len + 1);
  if (!*out)
    return TPA__NO_MEMORY("normalizer");
  memcpy(*out, json_string_value(v), *len + 1);
  return TPA_OK;
}

static tpa_status req_string(const tpa__tj_ctx *c, const json_t *obj, const char *key, char **out,
                             size_t *len) {
  const json_t *v;
  tpa_status st = req(c, obj, key, &v);
  return st == TPA_OK ? copy_string(c, v, key, out, len) : st;
}

static tpa_status parse_bert(const tpa__tj_ctx *c, const json_t *j, tpa__norm *n) {
  tpa_status st;
  if ((st = req_bool(c, j, "clean_text", &n->clean_text)) != TPA_OK ||
      (st = req_bool(c, j, "handle_chinese_chars", &n->chinese)) != TPA_OK ||
      (st = req_bool(c, j, "lowercase", &n->lowercase)) != TPA_OK)
    return st;
  /* strip_accents is optional: null or absent follows lowercase. */
  return tpa__tj_bool(c, j, "strip_accents", n->lowercase, &n->strip_accents);
}

static tpa_status parse_strip(const tpa__tj_ctx *c, const json_t *j, tpa__norm *n) {
  tpa_status st = req_bool(c, j, "strip_left", &n->left);
  return st == TPA_OK ? req_bool(c, j, "strip_right", &n->right) : st;
}

/* True when @p re matches the empty string at the start of a few probe
 * strings. HF's Replace puts its content at every empty match, which
 * tpa__regex_find_all does not report; such patterns are refused rather
 * than run differently. The probe wraps the pattern so that an empty match
 * becomes a one-character one. */
static tpa_status matches_empty(const tpa__tj_ctx *c, const char *pattern, bool *out) {
  static const char *const probe[] = {"a", "A", "0",        " ",           "\n",
                                      "_", "-", "\xC3\xA9", "\xE4\xB8\xAD"};
  static const char pre[] = "\\A(?:", post[] = ")(?<![\\s\\S])[\\s\\S]";
  *out = false;
  size_t pl = strlen(pattern);
  char *wrapped = malloc(sizeof pre + pl + sizeof post);
  if (!wrapped)
    return TPA__NO_MEMORY("normalizer");
  memcpy(wrapped, pre, sizeof pre - 1);
  memcpy(wrapped + sizeof pre - 1, pattern, pl);
  memcpy(wrapped + sizeof pre - 1 + pl, post, sizeof post);
  tpa__regex *re = NULL;
  tpa_status st = tpa__regex_compile(c, wrapped, &re);
  free(wrapped);
  if (st != TPA_OK) { /* the pattern alone compiled: some construct spans the wrapper */
    tpa__error_clear();
    return TPA_OK;
  }
  tpa__pieces m = {0};
  for (size_t i = 0; i < sizeof probe / sizeof *probe && st == TPA_OK && !*out; i++) {
    st = tpa__regex_find_all(re, probe[i], strlen(probe[i]), &m);
    *out = m.n > 0;
  }
  tpa__pieces_free(&m);
  tpa__regex_free(re);
  return st;
}

/* pattern: {"String": s} or {"Regex": r}, exactly one of them. */
static tpa_status parse_replace(const tpa__tj_ctx *c, const json_t *j, tpa__norm *n) {
  const json_t *p;
  tpa_status st = req(c, j, "pattern", &p);
  if (st != TPA_OK)
    return st;
  const json_t *ps = json_object_get(p, "String"), *pr = json_object_get(p, "Regex");
  if (!json_is_object(p) || json_object_size(p) != 1 || (!ps && !pr))
    return tpa__tj_error(c, "\"pattern\" is not {\"String\": ...} or {\"Regex\": ...}");
  if ((st = req_string(c, j, "content", &n->content, &n->content_len)) != TPA_OK)
    return st;
  if (ps)
    return copy_string(c, ps, "pattern.String", &n->text, &n->text_len);
  if (!json_is_string(pr))
    return tpa__tj_error(c, "\"pattern.Regex\" is not a string");
  const char *r = json_string_value(pr);
  if (strlen(r) != json_string_length(pr))
    return tpa__tj_error(c, "\"pattern.Regex\" holds a NUL character");
  if ((st = tpa__regex_compile(c, r, &n->re)) != TPA_OK)
    return st;
  bool empty;
  if ((st = matches_empty(c, r, &empty)) != TPA_OK)
    return st;
  if (empty)
    return tpa__tj_error(c,
                         "Replace pattern \"%.80s\" can match the empty string (HF inserts the "
                         "content at every empty match; libtpa does not)",
                         r);
  return TPA_OK;
}

/* Standard base64 as the Rust base64 crate's STANDARD engine decodes it
 * for spm_precompiled: padding optional but never more than the last
 * group needs, unused trailing bits zero, nothing else (no whitespace). */
static int b64_value(unsigned char ch) {
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

static tpa_status base64_decode(const tpa__tj_ctx *c, const char *s, size_t len,
                                unsigned char **out, size_t *out_len) {
  size_t nd = 0;
  while (nd < len && s[nd] != '=')
    nd++;
  size_t pad = len - nd, rem = nd % 4;
  for (size_t i = nd; i < len; i++)
    if (s[i] != '=')
      return tpa__tj_error(c, "\"precompiled_charsmap\" is not base64 (byte %zu)", i);
  if (rem == 1 || pad > (rem ? 4 - rem : 0))
    return tpa__tj_error(c, "\"precompiled_charsmap\" is not base64 (length %zu)", len);
  unsigned char *b = malloc(nd / 4 * 3 + 3);
  if (!b)
    return TPA__NO_MEMORY("precompiled_charsmap");
  size_t n = 0;
  uint32_t acc = 0;
  for (size_t i = 0; i < nd; i++) {
    int v = b64_value((unsigned char)s[i]);
    if (v < 0) {
      free(b);
      return tpa__tj_error(c, "\"precompiled_charsmap\" is not base64 (byte %zu)", i);
    }
    acc = acc << 6 | (uint32_t)v;
    if (i % 4 == 3) {
      b[n++] = (unsigned char)(acc >> 16);
      b[n++] = (unsigned char)(acc >> 8);
      b[n++] = (unsigned char)acc;
      acc = 0;
    }
  }
  /* A last partial group: 2 characters give 1 byte, 3 give 2. */
  uint32_t spare = rem == 2 ? acc & 0xF : rem == 3 ? acc & 0x3 : 0;
  if (spare) {
    free(b);
    return tpa__tj_error(c, "\"precompiled_charsmap\" is not base64 (trailing bits)");
  }
  if (rem == 2)
    b[n++] = (unsigned char)(acc >> 4);
  else if (rem == 3) {
    b[n++] = (unsigned char)(acc >> 10);
    b[n++] = (unsigned char)(acc >> 2);
  }
  *out = b;
  *out_len = n;
  return TPA_OK;
}

/* The leaf value @p v must start a string of normalized[]: in range and
 * at a character boundary (spm_precompiled slices the string there). */
static bool value_ok(const charsmap *m, uint32_t v) {
  return v < m->norm_len ? ((unsigned char)m->normalized[v] & 0xC0) != 0x80 : v == m->norm_len;
}

/* Walk every trie position a lookup can reach (keys of 1..KEY_MAX
 * non-NUL bytes, stopping at the first leaf) breadth first: each must be
 * inside the array and each leaf's value a valid offset. A map that passes
 * never fails a check in trie_lookup; HF would panic on one that does not
 * (index out of bounds) when a text reaches the bad spot. */
static tpa_status charsmap_check(const tpa__tj_ctx *c, const charsmap *m) {
  size_t n = m->n_units;
  size_t *cur = tpa__malloc_array(n, sizeof *cur), *next = tpa__malloc_array(n, sizeof *next);
  unsigned char *seen = malloc(n);
  tpa_status st = TPA_OK;
  if (!cur || !next || !seen)
    st = TPA__NO_MEMORY("precompiled_charsmap");
  size_t ncur = 1;
  if (st == TPA_OK)
    cur[0] = unit_offset(m->unit[0]);
  for (int depth = 1; depth <= KEY_MAX && st == TPA_OK && ncur; depth++) {
    memset(seen, 0, n);
    size_t nnext = 0;
    for (size_t i = 0; i < ncur && st == TPA_OK; i++) {
      for (unsigned b = 1; b < 256; b++) {
        size_t pos = cur[i] ^ b;
        if (pos >= n) {
          st = tpa__tj_error(c, "precompiled_charsmap: trie node %zu out of range (%zu units)", pos,
                             n);
          break;
        }
        uint32_t u = m->unit[pos];
        if (unit_label(u) != b || seen[pos])
          continue;
        seen[pos] = 1;
        size_t base = pos ^ unit_offset(u);
        if (!unit_has_leaf(u)) {
          next[nnext++] = base;
        } else if (base >= n || !value_ok(m, unit_value(m->unit[base]))) {
          st = tpa__tj_error(c, "precompiled_charsmap: trie leaf at unit %zu out of range", pos);
          break;
        } /* else: a lookup stops at its first leaf, so nothing below is read */
      }
    }
    size_t *t = cur;
    cur = next, next = t, ncur = nnext;
  }
  free(cur);
  free(next);
  free(seen);
  return st;
}

/* The blob: u32 little-endian trie size in bytes, the trie (u32 units),
 * then the replacement strings. As in spm_precompiled, a size that is not
 * a multiple of 4 leaves its last bytes to the strings. */
static tpa_status parse_charsmap(const tpa__tj_ctx *c, const unsigned char *b, size_t len,
                                 charsmap *m) {
  if (len < 4)
    return tpa__tj_error(c, "precompiled_charsmap: %zu bytes, too short", len);
  size_t units = ((size_t)b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 | (size_t)b[3] << 24) / 4;
  if (units > (len - 4) / 4)
    return tpa__tj_error(c, "precompiled_charsmap: trie of %zu units, larger than the map", units);
  if (units == 0)
    return tpa__tj_error(c, "precompiled_charsmap: the trie is empty");
  m->unit = tpa__malloc_array(units, sizeof *m->unit);
  m->norm_len = len - 4 - units * 4;
  m->normalized = malloc(m->norm_len + 1);
  if (!m->unit || !m->normalized)
    return TPA__NO_MEMORY("precompiled_charsmap");
  m->n_units = units;
  for (size_t i = 0; i < units; i++) {
    const unsigned char *p = b + 4 + 4 * i;
    m->unit[i] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  }
  memcpy(m->normalized, b + 4 + 4 * units, m->norm_len);
  m->normalized[m->norm_len] = '\0';
  size_t bad = utf8_bad_at(m->normalized, m->norm_len);
  if (bad < m->norm_len)
    return tpa__tj_error(c, "precompiled_charsmap: replacement strings not UTF-8 at byte %zu", bad);
  return charsmap_check(c, m);
}

static tpa_status parse_precompiled(const tpa__tj_ctx *c, const json_t *j, tpa__norm *n) {
  const json_t *v;
  tpa_status st = req(c, j, "precompiled_charsmap", &v);
  if (st != TPA_OK)
    return st;
  if (!json_is_string(v))
    return tpa__tj_error(c, "\"precompiled_charsmap\" is not a string");
  unsigned char *blob = NULL;
  size_t len = 0;
  if ((st = base64_decode(c, json_string_value(v), json_string_length(v), &blob, &len)) != TPA_OK)
    return st;
  st = parse_charsmap(c, blob, len, &n->map);
  free(blob);
  return st;
}

static tpa_status parse_sequence(const tpa__tj_ctx *c, const json_t *j, tpa__norm *n) {
  const json_t *list;
  tpa_status st = req(c, j, "normalizers", &list);
  if (st != TPA_OK)
    return st;
  if (!json_is_array(list))
    return tpa__tj_error(c, "\"normalizers\" is not an array");
  size_t count = json_array_size(list);
  n->child = tpa__calloc(count, sizeof *n->child);
  if (!n->child)
    return TPA__NO_MEMORY("normalizer");
  for (size_t i = 0; i < count && st == TPA_OK; i++) {
    tpa__tj_ctx cc;
    tpa__tj_child(c, "normalizers", (long)i, &cc);
    const json_t *e = json_array_get(list, i);
    /* HF refuses a null inside a Sequence (only the top level may be null). */
    if (!json_is_object(e))
      st = tpa__tj_error(&cc, "not a normalizer object");
    else
      st = tpa__norm_parse(&cc, e, &n->child[i]);
    n->n_child = i + 1;
  }
  return st;
}

/* The "type" names HF reads ("Bert" too, an alias its deserializer takes). */
static const struct {
  const char *name;
  kind kind;
} types[] = {
    {"BertNormalizer", K_BERT},
    {"Bert", K_BERT},
    {"NFC", K_NFC},
    {"NFD", K_NFD},
    {"NFKC", K_NFKC},
    {"NFKD", K_NFKD},
    {"Nmt", K_NMT},
    {"Lowercase", K_LOWERCASE},
    {"StripAccents", K_STRIP_ACCENTS},
    {"Strip", K_STRIP},
    {"Replace", K_REPLACE},
    {"Prepend", K_PREPEND},
    {"Precompiled", K_PRECOMPILED},
    {"Sequence", K_SEQUENCE},
};

static tpa_status parse_options(const tpa__tj_ctx *c, const json_t *j, tpa__norm *n) {
  switch (n->kind) {
  case K_BERT: return parse_bert(c, j, n);
  case K_STRIP: return parse_strip(c, j, n);
  case K_REPLACE: return parse_replace(c, j, n);
  case K_PREPEND: return req_string(c, j, "prepend", &n->text, &n->text_len);
  case K_PRECOMPILED: return parse_precompiled(c, j, n);
  case K_SEQUENCE: return parse_sequence(c, j, n);
  default: return TPA_OK; /* no options; HF ignores unknown members */
  }
}

tpa_status tpa__norm_parse(const tpa__tj_ctx *c, const json_t *j, tpa__norm **out) {
  *out = NULL;
  if (!j || json_is_null(j))
    return TPA_OK;
  if (!json_is_object(j))
    return tpa__tj_error(c, "the normalizer is not a JSON object");
  const char *type;
  tpa_status st = tpa__tj_string(c, j, "type", NULL, &type);
  if (st != TPA_OK)
    return st;
  if (!type)
    return tpa__tj_error(c, "the normalizer has no \"type\"");
  size_t t = 0;
  while (t < sizeof types / sizeof *types && strcmp(types[t].name, type) != 0)
    t++;
  if (t == sizeof types / sizeof *types)
    return tpa__tj_error(c, "normalizer type \"%.60s\" is not supported", type);
  tpa__norm *n = calloc(1, sizeof *n);
  if (!n)
    return TPA__NO_MEMORY("normalizer");
  n->kind = types[t].kind;
  if ((st = parse_options(c, j, n)) != TPA_OK) {
    tpa__norm_free(n);
    return st;
  }
  *out = n;
  return TPA_OK;
}

void tpa__norm_free(tpa__norm *n) {
  if (!n)
    return;
  for (size_t i = 0; i < n->n_child; i++)
    tpa__norm_free(n->child[i]);
  free(n->child);
  free(n->text);
  free(n->content);
  tpa__regex_free(n->re);
  free(n->map.unit);
  free(n->map.normalized);
  free(n);
}
