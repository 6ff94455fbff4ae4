/* SPDX-License-Identifier: Apache-2.0 */
/* tokenizer.json pre-tokenizers (see tj.h), as HF's `tokenizers` 0.23
 * defines them (tokenizers/src/pre_tokenizers/ and
 * NormalizedString::split). Every one of them is the same two steps:
 * cut a piece into segments that are delimiters or not (characters of a
 * class, regex matches, a literal), then let a SplitDelimiterBehavior say
 * which segments become pieces, dropping empty ones as HF does. Metaspace
 * and ByteLevel rewrite the text before (replacement character, prefix
 * space) or after (GPT-2's byte-to-character table) the cut.
 *
 * A Sequence applies each pre-tokenizer to every piece of the previous
 * one. Pieces are independent, so running the steps one after the other
 * over the whole list gives HF's result.
 *
 * Character classes are HF's for every code point (tests/text sweeps
 * them), except in regexes: PCRE2's Unicode tables (14.0 in 10.42) are
 * older than those of HF's Oniguruma and Rust regex, so characters
 * assigned since are classed differently by ByteLevel, Whitespace and
 * Split; and a Split regex that can match the empty string is refused
 * (see may_match_empty). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/error.h"
#include "text/tj.h"
#include "text/unicode.h"
#include "text/utf8.h"

typedef enum kind {
  K_BERT,
  K_BYTE_LEVEL,
  K_METASPACE,
  K_WHITESPACE,
  K_WHITESPACE_SPLIT,
  K_PUNCTUATION,
  K_DIGITS,
  K_SPLIT,
  K_SEQUENCE
} kind;

/* HF's SplitDelimiterBehavior (tokenizers/src/tokenizer/normalizer.rs). */
typedef enum behavior {
  B_REMOVED,
  B_ISOLATED,
  B_MERGED_PREV,
  B_MERGED_NEXT,
  B_CONTIGUOUS
} behavior;

/* Metaspace's PrependScheme. */
typedef enum prepend { P_ALWAYS, P_FIRST, P_NEVER } prepend;

struct tpa__pretok {
  kind kind;
  behavior behavior;     /* Punctuation, Split */
  bool add_prefix_space; /* ByteLevel */
  bool individual;       /* Digits: individual_digits */
  bool split;            /* Metaspace */
  bool invert;           /* Split */
  prepend prepend;       /* Metaspace */
  uint32_t repl;         /* Metaspace: the replacement character ... */
  char repl_s[4];        /* ... in UTF-8 */
  size_t repl_len;
  tpa__regex *re;     /* ByteLevel (use_regex), Whitespace, Split with a Regex */
  char *literal;      /* Split with a String */
  size_t literal_len; /* (may be 0: HF then cuts between all characters) */
  tpa__pretok **item; /* Sequence */
  size_t n_item;
};

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */

/* GPT-2's pattern (byte_level.rs), `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+|
 * ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, with \s spelled as what it
 * is in HF's Oniguruma, White_Space: PCRE2's \s also takes U+180E. */
#define S "\\p{White_Space}"
static const char gpt2_pattern[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" S
                                   "\\p{L}\\p{N}]+|" S "+(?!\\P{White_Space})|" S "+";
#undef S

/* Whitespace's `\w+|[^\w\s]+` is a pattern of Rust's `regex` crate, whose
 * \w is UTS #18's word class (Alphabetic, marks, decimal digits, connector
 * punctuation, ZWNJ/ZWJ) and \s White_Space. PCRE2's \w is narrower
 * (letters, numbers, underscore), so the classes are spelled out. */
#define WORD "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}"
static const char whitespace_pattern[] = "[" WORD "]+|[^" WORD "\\p{White_Space}]+";
#undef WORD

/* How a member may be given: HF's serde accepts JSON null only for Option
 * fields; for fields with a default it means a type error. */
typedef enum need { REQUIRED, OPTIONAL, NULLABLE } need;

/* Member @p key, or NULL when it takes its default. */
static tpa_status member(const tpa__tj_ctx *c, const json_t *j, const char *key, need nd,
                         const json_t **out) {
  const json_t *v = json_object_get(j, key);
  *out = NULL;
  if (!v && nd == REQUIRED)
    return tpa__tj_error(c, "\"%s\" is missing", key);
  if (v && json_is_null(v) && nd != NULLABLE)
    return tpa__tj_error(c, "\"%s\" is null", key);
  if (v && !json_is_null(v))
    *out = v;
  return TPA_OK;
}

static tpa_status get_bool(const tpa__tj_ctx *c, const json_t *j, const char *key, need nd,
                           bool def, bool *out) {
  const json_t *v;
  tpa_status st = member(c, j, key, nd, &v);
  if (st != TPA_OK)
    return st;
  if (v && !json_is_boolean(v))
    return tpa__tj_error(c, "\"%s\" is not a boolean", key);
  *out = v ? json_is_true(v) : def;
  return TPA_OK;
}

static tpa_status get_string(const tpa__tj_ctx *c, const json_t *j, const char *key, need nd,
                             const char **out) {
  const json_t *v;
  tpa_status st = member(c, j, key, nd, &v);
  if (st != TPA_OK)
    return st;
  if (v && !json_is_string(v))
    return tpa__tj_error(c, "\"%s\" is not a string", key);
  *out = v ? json_string_value(v) : NULL;
  return TPA_OK;
}

/* "behavior": HF spells the variants in PascalCase and refuses others. */
static tpa_status parse_behavior(const tpa__tj_ctx *c, const json_t *j, need nd, behavior *out) {
  static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext",
                                      "Contiguous"};
  const char *s = NULL;
  tpa_status st = get_string(c, j, "behavior", nd, &s);
  if (st != TPA_OK || !s)
    return st; /* absent: the caller's default stays */
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(s, names[i]) == 0) {
      *out = (behavior)i;
      return TPA_OK;
    }
  return tpa__tj_error(
      c,
      "\"behavior\" \"%.40s\" is not one of Removed, Isolated, MergedWithPrevious, "
      "MergedWithNext, Contiguous",
      s);
}

static tpa_status parse_byte_level(const tpa__tj_ctx *c, const json_t *j, tpa__pretok *p) {
  bool trim, use_regex;
  tpa_status st = get_bool(c, j, "add_prefix_space", REQUIRED, false, &p->add_prefix_space);
  if (st == TPA_OK) /* only offsets depend on it: read for its checks */
    st = get_bool(c, j, "trim_offsets", REQUIRED, false, &trim);
  if (st == TPA_OK)
    st = get_bool(c, j, "use_regex", OPTIONAL, true, &use_regex);
  if (st == TPA_OK && use_regex)
    st = tpa__regex_compile(c, gpt2_pattern, &p->re);
  return st;
}

/* The replacement must be one character: HF's field is a Rust char. */
static tpa_status parse_replacement(const tpa__tj_ctx *c, const json_t *j, tpa__pretok *p) {
  const char *s = NULL;
  tpa_status st = get_string(c, j, "replacement", REQUIRED, &s);
  if (st != TPA_OK)
    return st;
  size_t n = strlen(s);
  size_t k = n ? tpa__utf8_decode((const unsigned char *)s, n, &p->repl) : 0;
  if (k == 0 || k != n)
    return tpa__tj_error(c, "\"replacement\" \"%.40s\" is not one character", s);
  memcpy(p->repl_s, s, k);
  p->repl_len = k;
  return TPA_OK;
}

static tpa_status parse_metaspace(const tpa__tj_ctx *c, const json_t *j, tpa__pretok *p) {
  tpa_status st = parse_replacement(c, j, p);
  const char *scheme = NULL;
  if (st == TPA_OK)
    st = get_string(c, j, "prepend_scheme", OPTIONAL, &scheme);
  if (st != TPA_OK)
    return st;
  if (!scheme || strcmp(scheme, "always") == 0)
    p->prepend = P_ALWAYS;
  else if (strcmp(scheme, "first") == 0)
    p->prepend = P_FIRST;
  else if (strcmp(scheme, "never") == 0)
    p->prepend = P_NEVER;
  else
    return tpa__tj_error(c, "\"prepend_scheme\" \"%.40s\" is not one of first, never, always",
                         scheme);
  /* The older boolean: true changes nothing, false means "never" and HF
   * refuses it beside any other declared (or defaulted) scheme. */
  bool add_prefix_space;
  if ((st = get_bool(c, j, "add_prefix_space", NULLABLE, true, &add_prefix_space)) != TPA_OK)
    return st;
  if (!add_prefix_space && p->prepend != P_NEVER)
    return tpa__tj_error(c, "\"add_prefix_space\" false does not match \"prepend_scheme\" \"%s\"",
                         scheme ? scheme : "always");
  return get_bool(c, j, "split", NULLABLE, true, &p->split);
}

/* PCRE2's lower bound on the length of a match is 0 for most patterns
 * that can match the empty string (`x*`, `a|`, `\b`). HF cuts at such
 * empty matches; tpa__regex_find_all skips them, so refuse these rather
 * than cut differently. (Lookaround-only matches like `(?=a)` escape this
 * check; no tokenizer.json is known to split on one.) */
static bool may_match_empty(const char *pattern) {
  int err;
  PCRE2_SIZE at;
  pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &at, NULL);
  if (!code)
    return false; /* tpa__regex_compile accepted it in its own way */
  uint32_t min = 1;
  pcre2_pattern_info(code, PCRE2_INFO_MINLENGTH, &min);
  pcre2_code_free(code);
  return min == 0;
}

/* "pattern": {"String": s} (a literal) or {"Regex": r}. */
static tpa_status parse_pattern(const tpa__tj_ctx *c, const json_t *j, tpa__pretok *p) {
  const json_t *pat;
  tpa_status st = member(c, j, "pattern", REQUIRED, &pat);
  if (st != TPA_OK)
    return st;
  tpa__tj_ctx pc;
  tpa__tj_child(c, "pattern", -1, &pc);
  const json_t *lit = json_object_get(pat, "String"), *re = json_object_get(pat, "Regex");
  if (!json_is_object(pat) || json_object_size(pat) != 1 || (!lit && !re))
    return tpa__tj_error(&pc, "is not {\"String\": ...} or {\"Regex\": ...}");
  if (!json_is_string(lit ? lit : re))
    return tpa__tj_error(&pc, "\"%s\" is not a string", lit ? "String" : "Regex");
  if (re) {
    const char *r = json_string_value(re);
    if ((st = tpa__regex_compile(&pc, r, &p->re)) != TPA_OK)
      return st;
    if (may_match_empty(r))
      return tpa__tj_error(&pc,
                           "regular expression \"%.80s\" can match the empty string; libtpa does "
                           "not split at empty matches as HF does",
                           r);
    return TPA_OK;
  }
  p->literal_len = json_string_length(lit);
  p->literal = malloc(p->literal_len + 1);
  if (!p->literal)
    return TPA__NO_MEMORY("pre-tokenizer");
  memcpy(p->literal, json_string_value(lit), p->literal_len + 1);
  return TPA_OK;
}

static tpa_status parse_split(const tpa__tj_ctx *c, const json_t *j, tpa__pretok *p) {
  tpa_status st = parse_pattern(c, j, p);
  if (st == TPA_OK)
    st = parse_behavior(c, j, REQUIRED, &p->behavior);
  if (st == TPA_OK)
    st = get_bool(c, j, "invert", REQUIRED, false, &p->invert);
  return st;
}

static tpa_status parse_sequence(const tpa__tj_ctx *c, const json_t *j, tpa__pretok *p) {
  const json_t *arr;
  tpa_status st = member(c, j, "pretokenizers", REQUIRED, &arr);
  if (st != TPA_OK)
    return st;
  if (!json_is_array(arr))
    return tpa__tj_error(c, "\"pretokenizers\" is not an array");
  size_t n = json_array_size(arr);
  p->item = calloc(n ? n : 1, sizeof *p->item);
  if (!p->item)
    return TPA__NO_MEMORY("pre-tokenizer");
  for (size_t i = 0; i < n; i++) {
    tpa__tj_ctx ic;
    tpa__tj_child(c, "pretokenizers", (long)i, &ic);
    const json_t *v = json_array_get(arr, i);
    if (json_is_null(v)) /* null is "none" only for the whole pre-tokenizer */
      return tpa__tj_error(&ic, "is null");
    if ((st = tpa__pretok_parse(&ic, v, &p->item[i])) != TPA_OK)
      return st;
    p->n_item++;
  }
  return TPA_OK;
}

/* The type's name to its kind; HF's types libtpa lacks get their own
 * message. */
static tpa_status parse_type(const tpa__tj_ctx *c, const json_t *j, kind *out) {
  static const struct {
    const char *name;
    kind kind;
  } types[] = {{"BertPreTokenizer", K_BERT},
               {"ByteLevel", K_BYTE_LEVEL},
               {"Metaspace", K_METASPACE},
               {"Whitespace", K_WHITESPACE},
               {"WhitespaceSplit", K_WHITESPACE_SPLIT},
               {"Punctuation", K_PUNCTUATION},
               {"Digits", K_DIGITS},
               {"Split", K_SPLIT},
               {"Sequence", K_SEQUENCE}};
  const char *type = NULL;
  tpa_status st = get_string(c, j, "type", REQUIRED, &type);
  if (st != TPA_OK)
    return st;
  for (size_t i = 0; i < sizeof types / sizeof *types; i++)
    if (strcmp(type, types[i].name) == 0) {
      *out = types[i].kind;
      return TPA_OK;
    }
  if (strcmp(type, "Delimiter") == 0 || strcmp(type, "UnicodeScripts") == 0 ||
      strcmp(type, "FixedLength") == 0)
    return tpa__tj_error(c, "pre-tokenizer type \"%s\" is not supported by libtpa", type);
  return tpa__tj_error(c, "unknown pre-tokenizer type \"%.60s\"", type);
}

tpa_status tpa__pretok_parse(const tpa__tj_ctx *c, const json_t *j, tpa__pretok **out) {
  *out = NULL;
  if (!j || json_is_null(j))
    return TPA_OK;
  if (!json_is_object(j))
    return tpa__tj_error(c, "the pre-tokenizer is not an object");
  tpa__pretok *p = calloc(1, sizeof *p);
  if (!p)
    return TPA__NO_MEMORY("pre-tokenizer");
  p->behavior = B_ISOLATED; /* Punctuation's default */
  tpa_status st = parse_type(c, j, &p->kind);
  if (st == TPA_OK) {
    switch (p->kind) {
    case K_BYTE_LEVEL: st = parse_byte_level(c, j, p); break;
    case K_METASPACE: st = parse_metaspace(c, j, p); break;
    case K_WHITESPACE: st = tpa__regex_compile(c, whitespace_pattern, &p->re); break;
    case K_PUNCTUATION: st = parse_behavior(c, j, OPTIONAL, &p->behavior); break;
    case K_DIGITS: st = get_bool(c, j, "individual_digits", REQUIRED, false, &p->individual); break;
    case K_SPLIT: st = parse_split(c, j, p); break;
    case K_SEQUENCE: st = parse_sequence(c, j, p); break;
    default: break; /* BertPreTokenizer, WhitespaceSplit: no options */
    }
  }
  if (st != TPA_OK) {
    tpa__pretok_free(p);
    return st;
  }
  *out = p;
  return TPA_OK;
}

void tpa__pretok_free(tpa__pretok *p) {
  if (!p)
    return;
  for (size_t i = 0; i < p->n_item; i++)
    tpa__pretok_free(p->item[i]);
  free(p->item);
  tpa__regex_free(p->re);
  free(p->literal);
  free(p);
}

/* ------------------------------------------------------------------------ */
/* Segments and behaviours                                                   */

/* A stretch of the text being cut, delimiter (match) or not. */
typedef struct seg {
  size_t start, end;
  bool match;
} seg;

/* Buffers one pre-tokenization reuses from piece to piece. No leaf step
 * runs inside another, so one set serves the whole run. */
typedef struct scratch {
  seg *seg;
  size_t n, cap;
  tpa__buf text;     /* a piece rewritten by Metaspace or ByteLevel */
  tpa__pieces found; /* regex matches */
} scratch;

static tpa_status seg_push(scratch *sc, size_t start, size_t end, bool match) {
  if (sc->n == sc->cap) {
    size_t cap = sc->cap ? 2 * sc->cap : 64;
    seg *v = realloc(sc->seg, cap * sizeof *v);
    if (!v)
      return TPA__NO_MEMORY("pre-tokenizer");
    sc->seg = v;
    sc->cap = cap;
  }
  sc->seg[sc->n++] = (seg){start, end, match};
  return TPA_OK;
}

/* Length of the character at s[0..n) (the text is valid UTF-8; a bad byte
 * counts as one character rather than stall). */
static size_t char_at(const char *s, size_t n, uint32_t *cp) {
  size_t k = tpa__utf8_decode((const unsigned char *)s, n, cp);
  if (k == 0) {
    *cp = 0xFFFD;
    k = 1;
  }
  return k;
}

/* Rust's char::is_numeric: general category Nd, Nl or No, from the
 * Unicode of HF's build (17.0), which knows these digits that utf8proc
 * 2.8 (Unicode 15.0) does not (found by sweeping every code point through
 * HF's Digits). */
static bool is_numeric(uint32_t cp) {
  static const uint32_t newer[][2] = {{0x10D40, 0x10D49}, {0x116D0, 0x116E3}, {0x11BF0, 0x11BF9},
                                      {0x11DE0, 0x11DE9}, {0x16130, 0x16139}, {0x16D70, 0x16D79},
                                      {0x16FF4, 0x16FF6}, {0x1CCF0, 0x1CCF9}, {0x1E5F1, 0x1E5FA}};
  if (cp < 0x80)
    return cp >= '0' && cp <= '9';
  for (size_t i = 0; i < sizeof newer / sizeof *newer; i++)
    if (cp >= newer[i][0] && cp <= newer[i][1])
      return true;
  int cat = utf8proc_category((utf8proc_int32_t)cp);
  return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

/* The character predicate of a pre-tokenizer that cuts on a class. */
static bool is_delimiter(const tpa__pretok *p, uint32_t cp) {
  switch (p->kind) {
  case K_WHITESPACE_SPLIT: return tpa__uc_is_space(cp);
  case K_PUNCTUATION: return tpa__uc_is_punct(cp);
  case K_DIGITS: return is_numeric(cp);
  case K_METASPACE: return cp == p->repl;
  default: return false;
  }
}

/* HF's Pattern for a char predicate: each delimiter character is a
 * segment of its own, the runs between them are segments. */
static tpa_status segs_chars(const tpa__pretok *p, const char *s, size_t len, scratch *sc) {
  size_t run = 0;
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < len && st == TPA_OK;) {
    uint32_t cp;
    size_t k = char_at(s + i, len - i, &cp);
    if (is_delimiter(p, cp)) {
      if (run < i)
        st = seg_push(sc, run, i, false);
      if (st == TPA_OK)
        st = seg_push(sc, i, i + k, true);
      run = i + k;
    }
    i += k;
  }
  if (st == TPA_OK && run < len)
    st = seg_push(sc, run, len, false);
  return st;
}

/* Regex matches and the gaps between them. */
static tpa_status segs_regex(const tpa__regex *re, const char *s, size_t len, scratch *sc) {
  tpa__pieces_clear(&sc->found);
  tpa_status st = tpa__regex_find_all(re, s, len, &sc->found);
  size_t prev = 0;
  for (size_t i = 0; i < sc->found.n && st == TPA_OK; i++) {
    const tpa__span m = sc->found.span[i];
    if (prev < m.start)
      st = seg_push(sc, prev, m.start, false);
    if (st == TPA_OK)
      st = seg_push(sc, m.start, m.end, true);
    prev = m.end;
  }
  if (st == TPA_OK && prev < len)
    st = seg_push(sc, prev, len, false);
  return st;
}

/* Non-overlapping occurrences of a literal, leftmost first. HF compiles
 * the escaped string as a regex; the empty one matches (emptily) at every
 * character boundary, which cuts between all characters. */
static tpa_status segs_literal(const tpa__pretok *p, const char *s, size_t len, scratch *sc) {
  const char *lit = p->literal;
  size_t n = p->literal_len, prev = 0;
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < len && st == TPA_OK;) {
    uint32_t cp;
    size_t k = n ? 0 : char_at(s + i, len - i, &cp);
    if (n == 0) {
      st = seg_push(sc, i, i, true);
      if (st == TPA_OK)
        st = seg_push(sc, i, i + k, false);
      i += k;
      prev = i;
    } else if (len - i >= n && memcmp(s + i, lit, n) == 0) {
      if (prev < i)
        st = seg_push(sc, prev, i, false);
      if (st == TPA_OK)
        st = seg_push(sc, i, i + n, true);
      i += n;
      prev = i;
    } else {
      i++; /* a literal starts on a character: continuation bytes never match its first byte */
    }
  }
  if (st == TPA_OK && n == 0 && len)
    st = seg_push(sc, len, len, true);
  if (st == TPA_OK && prev < len)
    st = seg_push(sc, prev, len, false);
  return st;
}

/* NormalizedString::split's folds: rewrite the segments into the pieces
 * the behaviour keeps (some may be empty), in order. */
static void apply_behavior(scratch *sc, behavior b) {
  seg *v = sc->seg;
  size_t n = 0;
  bool prev = false;
  switch (b) {
  case B_ISOLATED: return;
  case B_REMOVED:
    for (size_t i = 0; i < sc->n; i++)
      if (!v[i].match)
        v[n++] = v[i];
    break;
  case B_CONTIGUOUS: /* runs of delimiters join, as do runs of the rest */
    for (size_t i = 0; i < sc->n; prev = v[i++].match)
      if (n && v[i].match == prev)
        v[n - 1].end = v[i].end;
      else
        v[n++] = v[i];
    break;
  case B_MERGED_PREV: /* a delimiter after a non-delimiter joins it */
    for (size_t i = 0; i < sc->n; prev = v[i++].match)
      if (n && v[i].match && !prev)
        v[n - 1].end = v[i].end;
      else
        v[n++] = v[i];
    break;
  case B_MERGED_NEXT: { /* the same fold from the end: kept pieces fill v[w..] */
    size_t w = sc->n;
    for (size_t i = sc->n; i-- > 0; prev = v[i].match)
      if (w < sc->n && v[i].match && !prev)
        v[w].start = v[i].start;
      else
        v[--w] = v[i];
    n = sc->n - w;
    if (n)
      memmove(v, v + w, n * sizeof *v);
    break;
  }
  }
  sc->n = n;
}

/* ------------------------------------------------------------------------ */
/* Running                                                                   */

/* Where the pieces of a step go. HF's Metaspace "first" prepends only to a
 * split whose original offset is 0, so the list remembers whether its
 * piece 0 starts the segment; a piece cut from it at offset 0 does too,
 * one cut later does not. HF decides by its alignments, which differ only
 * where the text before such a cut maps to the first original character:
 * a prefix an earlier step of the Sequence added (ByteLevel's space,
 * Metaspace's replacement) or the expansion of that character (ByteLevel's
 * bytes, a normalizer's NFKC), followed by a Metaspace "first". No
 * tokenizer.json does that. */
typedef struct sink {
  tpa__pieces *p;
  bool at0;
} sink;

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
 * the others (controls, space, DEL..NBSP, soft hyphen) for U+0100.. in
 * byte order. */
static uint32_t byte_char(unsigned char b) {
  if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
    return b;
  if (b <= 0x20)
    return 0x100 + b;
  if (b <= 0xA0)
    return 0x100 + 0x21 + (b - 0x7F);
  return 0x100 + 0x21 + 0x22; /* 0xAD */
}

/* Piece s[start..end) of a parent piece into @p o, through the byte table
 * when @p bytes; empty pieces are dropped as HF drops them. */
static tpa_status emit(sink *o, const char *s, size_t start, size_t end, bool parent_at0,
                       bool bytes) {
  if (end == start)
    return TPA_OK;
  size_t from = o->p->text.len;
  tpa_status st = TPA_OK;
  if (!bytes) {
    st = tpa__buf_append(&o->p->text, s + start, end - start);
  } else {
    for (size_t i = start; i < end && st == TPA_OK; i++) {
      char u[4];
      st = tpa__buf_append(&o->p->text, u, tpa__utf8_encode(byte_char((unsigned char)s[i]), u));
    }
  }
  if (st != TPA_OK)
    return st;
  if (parent_at0 && start == 0)
    o->at0 = true;
  return tpa__pieces_push(o->p, from, o->p->text.len);
}

/* The pieces the behaviour kept, from the segments of s. */
static tpa_status emit_segs(const scratch *sc, const char *s, bool at0, bool bytes, sink *o) {
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < sc->n && st == TPA_OK; i++)
    st = emit(o, s, sc->seg[i].start, sc->seg[i].end, at0, bytes);
  return st;
}

/* BertPreTokenizer: HF splits on whitespace (removed), then each piece on
 * punctuation (isolated); one pass with both classes cuts the same. */
static tpa_status run_bert(const char *s, size_t len, bool at0, sink *o) {
  size_t run = 0;
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < len && st == TPA_OK;) {
    uint32_t cp;
    size_t k = char_at(s + i, len - i, &cp);
    bool space = tpa__uc_is_space(cp);
    if (space || tpa__uc_is_punct(cp)) {
      st = emit(o, s, run, i, at0, false);
      if (st == TPA_OK && !space)
        st = emit(o, s, i, i + k, at0, false);
      run = i + k;
    }
    i += k;
  }
  return st == TPA_OK ? emit(o, s, run, len, at0, false) : st;
}

/* ByteLevel: a space before a piece that lacks one (every piece, not only
 * the first), GPT-2's regex (isolated: nothing is dropped), then each
 * byte through the table. */
static tpa_status run_byte_level(const tpa__pretok *p, const char *s, size_t len, bool at0,
                                 scratch *sc, sink *o) {
  if (p->add_prefix_space && len && s[0] != ' ') {
    tpa__buf_clear(&sc->text);
    tpa_status st = tpa__buf_append(&sc->text, " ", 1);
    if (st == TPA_OK)
      st = tpa__buf_append(&sc->text, s, len);
    if (st != TPA_OK)
      return st;
    s = sc->text.s;
    len = sc->text.len;
  }
  if (!p->re)
    return emit(o, s, 0, len, at0, true);
  tpa_status st = segs_regex(p->re, s, len, sc);
  return st == TPA_OK ? emit_segs(sc, s, at0, true, o) : st;
}

/* Metaspace: every ' ' becomes the replacement, which is prepended per
 * the scheme unless the text already starts with it, and each piece
 * starts at a replacement (MergedWithNext). */
static tpa_status run_metaspace(const tpa__pretok *p, const char *s, size_t len, bool at0,
                                scratch *sc, sink *o) {
  if (len == 0)
    return TPA_OK;
  tpa__buf_clear(&sc->text);
  bool starts = s[0] == ' ' || (len >= p->repl_len && memcmp(s, p->repl_s, p->repl_len) == 0);
  bool pre = !starts && (p->prepend == P_ALWAYS || (p->prepend == P_FIRST && at0));
  tpa_status st = pre ? tpa__buf_append(&sc->text, p->repl_s, p->repl_len) : TPA_OK;
  for (size_t i = 0; i < len && st == TPA_OK;) {
    size_t j = i;
    while (j < len && s[j] != ' ')
      j++;
    st = tpa__buf_append(&sc->text, s + i, j - i);
    if (st == TPA_OK && j < len)
      st = tpa__buf_append(&sc->text, p->repl_s, p->repl_len);
    i = j + 1;
  }
  if (st != TPA_OK)
    return st;
  if (!p->split)
    return emit(o, sc->text.s, 0, sc->text.len, at0, false);
  if ((st = segs_chars(p, sc->text.s, sc->text.len, sc)) != TPA_OK)
    return st;
  apply_behavior(sc, B_MERGED_NEXT);
  return emit_segs(sc, sc->text.s, at0, false, o);
}

/* Split: literal or regex delimiters, optionally inverted. */
static tpa_status run_split(const tpa__pretok *p, const char *s, size_t len, bool at0, scratch *sc,
                            sink *o) {
  tpa_status st = p->re ? segs_regex(p->re, s, len, sc) : segs_literal(p, s, len, sc);
  if (st != TPA_OK)
    return st;
  if (p->invert)
    for (size_t i = 0; i < sc->n; i++)
      sc->seg[i].match = !sc->seg[i].match;
  apply_behavior(sc, p->behavior);
  return emit_segs(sc, s, at0, false, o);
}

static tpa_status run_step(const tpa__pretok *p, const char *s, size_t len, bool at0, scratch *sc,
                           sink *o);

/* Sequence: each pre-tokenizer over every piece of the previous one, two
 * lists taking turns; the last one writes to @p o. */
static tpa_status run_sequence(const tpa__pretok *p, const char *s, size_t len, bool at0,
                               scratch *sc, sink *o) {
  if (p->n_item == 0)
    return emit(o, s, 0, len, at0, false);
  tpa__pieces a = {0}, b = {0};
  sink cur = {&a, at0}, next = {&b, false};
  tpa_status st = tpa__buf_append(&a.text, s, len);
  if (st == TPA_OK && len)
    st = tpa__pieces_push(&a, 0, len);
  for (size_t k = 0; k < p->n_item && st == TPA_OK; k++) {
    sink *to = k + 1 == p->n_item ? o : &next;
    if (to == &next) {
      tpa__pieces_clear(next.p);
      next.at0 = false;
    }
    for (size_t i = 0; i < cur.p->n && st == TPA_OK; i++) {
      const tpa__span sp = cur.p->span[i];
      st = run_step(p->item[k], cur.p->text.s + sp.start, sp.end - sp.start, i == 0 && cur.at0, sc,
                    to);
    }
    sink t = cur;
    cur = next;
    next = t;
  }
  tpa__pieces_free(&a);
  tpa__pieces_free(&b);
  return st;
}

/* The pieces of one piece s[0..len) appended to @p o. */
static tpa_status run_step(const tpa__pretok *p, const char *s, size_t len, bool at0, scratch *sc,
                           sink *o) {
  sc->n = 0;
  tpa_status st = TPA_OK;
  switch (p->kind) {
  case K_BERT: return run_bert(s, len, at0, o);
  case K_BYTE_LEVEL: return run_byte_level(p, s, len, at0, sc, o);
  case K_METASPACE: return run_metaspace(p, s, len, at0, sc, o);
  case K_SPLIT: return run_split(p, s, len, at0, sc, o);
  case K_SEQUENCE: return run_sequence(p, s, len, at0, sc, o);
  case K_WHITESPACE: /* `\w+|[^\w\s]+` inverted and removed: only the matches stay */
    st = segs_regex(p->re, s, len, sc);
    for (size_t i = 0; i < sc->n; i++)
      sc->seg[i].match = !sc->seg[i].match;
    apply_behavior(sc, B_REMOVED);
    break;
  case K_WHITESPACE_SPLIT:
    st = segs_chars(p, s, len, sc);
    apply_behavior(sc, B_REMOVED);
    break;
  case K_PUNCTUATION:
    st = segs_chars(p, s, len, sc);
    apply_behavior(sc, p->behavior);
    break;
  case K_DIGITS: /* one piece per digit, or runs of digits */
    st = segs_chars(p, s, len, sc);
    apply_behavior(sc, p->individual ? B_ISOLATED : B_CONTIGUOUS);
    break;
  }
  return st == TPA_OK ? emit_segs(sc, s, at0, false, o) : st;
}

tpa_status tpa__pretok_run(const tpa__pretok *p, const char *s, size_t len, bool first,
                           tpa__pieces *out) {
  tpa__pieces_clear(out);
  if (len == 0) /* no pre-tokenizer makes a piece of nothing (HF drops empty ones) */
    return TPA_OK;
  if (!p) {
    tpa_status st = tpa__buf_append(&out->text, s, len);
    return st == TPA_OK ? tpa__pieces_push(out, 0, len) : st;
  }
  scratch sc = {0};
  sink o = {out, false};
  tpa_status st = run_step(p, s, len, first, &sc, &o);
  free(sc.seg);
  tpa__buf_free(&sc.text);
  tpa__pieces_free(&sc.found);
  return st;
}
