/* SPDX-License-Identifier: Apache-2.0 */
/* JSON Lines records, parsed in place (see records.h): each line is one
 * JSON object (RFC 8259). Strings are unescaped where they lie (an escape
 * never encodes to more bytes than it is written with) and NUL-terminated
 * at once; numbers and literals are terminated only when the whole line
 * has been read, because the byte after them is still to be parsed.
 * Nested arrays and objects are checked and skipped: a caller that uses
 * such a value refuses it. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/records.h"
#include "text/utf8.h"

enum { MAX_DEPTH = 512 }; /* nesting of skipped values */

typedef struct parser {
  tpa__cursor *c;
  char *p;        /* read position within the line */
  tpa__record *r; /* receives the values and the numbers' ends */
} parser;

static tpa_status fail(const parser *ps, const char *what) {
  return tpa__error(TPA_ERR_DATA, "%s:%zu: %s (JSON Lines: one object per line)", ps->c->path,
                    ps->c->line, what);
}

static void skip_ws(parser *ps) {
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r')
    ps->p++;
}

static int hex4(const char *s) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char ch = s[i];
    int d = ch >= '0' && ch <= '9'   ? ch - '0'
            : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
            : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                     : -1;
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}

/* The string at ps->p (on its opening quote), unescaped in place. */
static tpa_status string(parser *ps, char **out) {
  char *r = ps->p + 1, *w = ps->p;
  *out = w;
  for (;;) {
    unsigned char ch = (unsigned char)*r;
    if (ch == '"') {
      *w = '\0';
      ps->p = r + 1;
      return TPA_OK;
    }
    if (ch < 0x20)
      return fail(ps, ch == '\n' || ch == '\0' ? "unterminated string"
                                               : "control character inside a string");
    if (ch != '\\') {
      *w++ = (char)ch;
      r++;
      continue;
    }
    char e = r[1];
    r += 2;
    switch (e) {
    case '"': *w++ = '"'; break;
    case '\\': *w++ = '\\'; break;
    case '/': *w++ = '/'; break;
    case 'b': *w++ = '\b'; break;
    case 'f': *w++ = '\f'; break;
    case 'n': *w++ = '\n'; break;
    case 'r': *w++ = '\r'; break;
    case 't': *w++ = '\t'; break;
    case 'u': {
      int u = hex4(r);
      if (u < 0)
        return fail(ps, "bad \\u escape in a string");
      r += 4;
      uint32_t cp = (uint32_t)u;
      if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair */
        int lo = r[0] == '\\' && r[1] == 'u' ? hex4(r + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
          return fail(ps, "unpaired surrogate \\u escape in a string");
        cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
        r += 6;
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return fail(ps, "unpaired surrogate \\u escape in a string");
      }
      if (cp == 0)
        return fail(ps, "NUL character (\\u0000) in a string");
      w += tpa__utf8_encode(cp, w);
      break;
    }
    default: return fail(ps, "invalid escape in a string");
    }
  }
}

static bool digit(char ch) {
  return ch >= '0' && ch <= '9';
}

/* A number's text: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static tpa_status number(parser *ps, char **out) {
  char *s = ps->p;
  *out = s;
  if (*s == '-')
    s++;
  if (*s == '0')
    s++;
  else if (digit(*s))
    while (digit(*s))
      s++;
  else
    return fail(ps, "invalid value");
  if (*s == '.') {
    if (!digit(*++s))
      return fail(ps, "invalid number");
    while (digit(*s))
      s++;
  }
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-')
      s++;
    if (!digit(*s))
      return fail(ps, "invalid number");
    while (digit(*s))
      s++;
  }
  tpa__record *r = ps->r;
  if (r->n_ends == r->cap_ends) {
    size_t cap = r->cap_ends ? 2 * r->cap_ends : 8;
    char **e = realloc(r->ends, cap * sizeof *e);
    if (!e)
      return TPA__NO_MEMORY("JSON line");
    r->ends = e;
    r->cap_ends = cap;
  }
  r->ends[r->n_ends++] = s;
  ps->p = s;
  return TPA_OK;
}

static bool literal(parser *ps, const char *word) {
  size_t n = strlen(word);
  if (strncmp(ps->p, word, n) != 0)
    return false;
  ps->p += n;
  return true;
}

/* Skip a nested array or object, checking its syntax loosely: brackets
 * balance and strings are well formed. */
static tpa_status nested(parser *ps) {
  char stack[MAX_DEPTH];
  int depth = 0;
  for (;;) {
    char ch = *ps->p;
    if (ch == '[' || ch == '{') {
      if (depth == MAX_DEPTH)
        return fail(ps, "value nested too deeply");
      stack[depth++] = ch == '[' ? ']' : '}';
      ps->p++;
    } else if (ch == ']' || ch == '}') {
      if (depth == 0 || stack[depth - 1] != ch)
        return fail(ps, "mismatched bracket");
      depth--;
      ps->p++;
      if (depth == 0)
        return TPA_OK;
    } else if (ch == '"') {
      char *ignored;
      tpa_status st = string(ps, &ignored);
      if (st != TPA_OK)
        return st;
    } else if (ch == '\n' || ch == '\0') {
      return fail(ps, "unterminated array or object");
    } else {
      ps->p++;
    }
  }
}

static tpa_status grow(tpa__record *r) {
  if (r->n < r->cap)
    return TPA_OK;
  size_t cap = r->cap ? 2 * r->cap : 16;
  char **v = realloc(r->value, cap * sizeof *v);
  if (v)
    r->value = v;
  char **k = realloc(r->key, cap * sizeof *k);
  if (k)
    r->key = k;
  uint8_t *kind = realloc(r->kind, cap);
  if (kind)
    r->kind = kind;
  if (!v || !k || !kind)
    return TPA__NO_MEMORY("JSON line");
  r->cap = cap;
  return TPA_OK;
}

static tpa_status value(parser *ps, tpa__record *r) {
  tpa_status st = TPA_OK;
  char *v = NULL;
  uint8_t kind;
  char ch = *ps->p;
  if (ch == '"') {
    kind = TPA__JSON_STRING;
    st = string(ps, &v);
  } else if (ch == '[' || ch == '{') {
    kind = TPA__JSON_NESTED;
    st = nested(ps);
  } else if (literal(ps, "true")) {
    kind = TPA__JSON_BOOL;
    v = (char *)"true";
  } else if (literal(ps, "false")) {
    kind = TPA__JSON_BOOL;
    v = (char *)"false";
  } else if (literal(ps, "null")) {
    kind = TPA__JSON_NULL;
  } else {
    kind = TPA__JSON_NUMBER;
    st = number(ps, &v);
  }
  r->value[r->n] = v;
  r->kind[r->n] = kind;
  return st;
}

static tpa_status object(parser *ps, tpa__record *r) {
  skip_ws(ps);
  if (*ps->p != '{')
    return fail(ps, "the line is not a JSON object");
  ps->p++;
  skip_ws(ps);
  if (*ps->p == '}') {
    ps->p++;
    return TPA_OK;
  }
  for (;;) {
    tpa_status st = grow(r);
    if (st != TPA_OK)
      return st;
    skip_ws(ps);
    if (*ps->p != '"')
      return fail(ps, "expected a key (a string)");
    if ((st = string(ps, &r->key[r->n])) != TPA_OK)
      return st;
    skip_ws(ps);
    if (*ps->p != ':')
      return fail(ps, "expected ':' after a key");
    ps->p++;
    skip_ws(ps);
    if ((st = value(ps, r)) != TPA_OK)
      return st;
    r->n++;
    skip_ws(ps);
    if (*ps->p == ',') {
      ps->p++;
      continue;
    }
    if (*ps->p == '}') {
      ps->p++;
      return TPA_OK;
    }
    return fail(ps, "expected ',' or '}'");
  }
}

tpa_status tpa__jsonl_next(tpa__cursor *c, tpa__record *r, bool *got) {
  *got = false;
  r->n = 0;
  r->n_ends = 0;
  parser ps = {.c = c, .r = r};
  for (;;) { /* skip blank lines */
    ps.p = c->p;
    skip_ws(&ps);
    if (*ps.p != '\n')
      break;
    c->p = ps.p + 1;
    c->line++;
  }
  if (ps.p >= c->end) {
    c->p = c->end;
    return TPA_OK;
  }
  r->line = c->line;
  tpa_status st = object(&ps, r);
  if (st == TPA_OK) {
    skip_ws(&ps);
    if (*ps.p != '\n' && ps.p < c->end)
      st = fail(&ps, "text after the object");
  }
  if (st == TPA_OK) {
    for (size_t i = 0; i < r->n_ends; i++)
      *r->ends[i] = '\0';
    c->p = ps.p < c->end ? ps.p + 1 : c->end;
    c->line++;
    *got = true;
  }
  return st;
}
