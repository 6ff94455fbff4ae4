/* SPDX-License-Identifier: Apache-2.0 */
/* CSV (RFC 4180) and TSV records, parsed in place (see records.h). A CSV
 * field that starts with a double quote runs to the matching closing
 * quote, may hold commas, quotes (doubled) and line ends, and must be
 * followed by a separator or the end of the record. A quote inside an
 * unquoted field is kept as it is, as Python's csv module does. TSV has
 * no quoting at all (GLUE's files hold quotes freely). A record ends at
 * LF or CRLF outside quotes. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/records.h"

void tpa__record_free(tpa__record *r) {
  free(r->value);
  free(r->key);
  free(r->kind);
  free(r->ends);
  memset(r, 0, sizeof *r);
}

static tpa_status push(tpa__record *r, char *value) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 16;
    char **v = realloc(r->value, cap * sizeof *v);
    if (!v)
      return TPA__NO_MEMORY("record");
    r->value = v;
    r->cap = cap;
  }
  r->value[r->n++] = value;
  return TPA_OK;
}

/* Skip blank lines (empty, or a lone CR) at the cursor. */
static void skip_blank(tpa__cursor *c) {
  for (;;) {
    char *p = c->p;
    if (p < c->end && *p == '\r')
      p++;
    if (p < c->end && *p == '\n') {
      c->p = p + 1;
      c->line++;
    } else {
      if (p == c->end)
        c->p = p;
      return;
    }
  }
}

/* A quoted field at c->p (on the opening quote): unquote it in place and
 * leave the cursor on what follows the closing quote. */
static tpa_status quoted(tpa__cursor *c, const tpa__record *r, char **value) {
  char *w = c->p, *s = c->p + 1;
  const size_t open_line = c->line;
  *value = w;
  for (;;) {
    char *q = memchr(s, '"', (size_t)(c->end - s));
    if (!q)
      return tpa__error(TPA_ERR_DATA,
                        "%s:%zu: unterminated quoted field (the quote opened on line %zu of the "
                        "record that starts on line %zu)",
                        c->path, open_line, open_line, r->line);
    for (char *nl = s; (nl = memchr(nl, '\n', (size_t)(q - nl))) != NULL; nl++)
      c->line++;
    memmove(w, s, (size_t)(q - s));
    w += q - s;
    if (q[1] == '"') { /* a doubled quote stands for one */
      *w++ = '"';
      s = q + 2;
      continue;
    }
    *w = '\0';
    c->p = q + 1;
    return TPA_OK;
  }
}

tpa_status tpa__csv_next(tpa__cursor *c, char sep, tpa__record *r, bool *got) {
  *got = false;
  r->n = 0;
  skip_blank(c);
  if (c->p >= c->end)
    return TPA_OK;
  r->line = c->line;
  const bool quoting = sep == ',';
  for (;;) {
    /* Each field leaves the cursor on its separator or line end; @p stop
     * is where its NUL goes (NULL: a quoted field is terminated already). */
    char *value = c->p, *stop = NULL;
    tpa_status st;
    if (quoting && *c->p == '"') {
      if ((st = quoted(c, r, &value)) != TPA_OK)
        return st;
      char *p = c->p;
      if (p < c->end && *p == '\r' && (p + 1 == c->end || p[1] == '\n'))
        p++; /* CRLF, or a last line ending in CR */
      if (p < c->end && *p != sep && *p != '\n')
        return tpa__error(TPA_ERR_DATA,
                          "%s:%zu: text after the closing quote of field %zu (a quote inside a "
                          "quoted field is written twice: \"\")",
                          c->path, c->line, r->n + 1);
      c->p = p;
    } else {
      /* An unquoted field runs to the separator or the line end. */
      char *p = c->p;
      while (p < c->end && *p != sep && *p != '\n')
        p++;
      stop = p;
      if ((p == c->end || *p == '\n') && stop > value && stop[-1] == '\r')
        stop--; /* CRLF, also on a last line without LF */
      c->p = p;
    }
    if ((st = push(r, value)) != TPA_OK)
      return st;
    const char at = c->p < c->end ? *c->p : '\0';
    if (stop)
      *stop = '\0'; /* may overwrite the separator: it is read already */
    if (c->p < c->end)
      c->p++;
    if (at == '\n')
      c->line++;
    if (at != sep) {
      *got = true;
      return TPA_OK;
    }
  }
}
