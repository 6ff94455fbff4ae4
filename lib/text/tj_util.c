/* SPDX-License-Identifier: Apache-2.0 */
/* Buffers, id vectors, pieces and messages of the tokenizer.json pipeline
 * (see tj.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "text/tj.h"

/* Double @p *cap until it holds @p need elements of @p size bytes. */
static tpa_status grow(void **p, size_t *cap, size_t need, size_t size, const char *what) {
  if (need <= *cap)
    return TPA_OK;
  size_t c = *cap ? *cap : 16;
  while (c < need)
    if (!tpa__mul_size(c, 2, &c))
      return TPA__NO_MEMORY(what);
  size_t bytes;
  if (!tpa__mul_size(c, size, &bytes))
    return TPA__NO_MEMORY(what);
  void *q = realloc(*p, bytes);
  if (!q)
    return TPA__NO_MEMORY(what);
  *p = q;
  *cap = c;
  return TPA_OK;
}

tpa_status tpa__buf_append(tpa__buf *b, const char *s, size_t n) {
  size_t need;
  if (!tpa__add_size(b->len, n + 1, &need))
    return TPA__NO_MEMORY("text");
  tpa_status st = grow((void **)&b->s, &b->cap, need, 1, "text");
  if (st != TPA_OK)
    return st;
  if (n)
    memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
  return TPA_OK;
}

void tpa__buf_free(tpa__buf *b) {
  free(b->s);
  memset(b, 0, sizeof *b);
}

tpa_status tpa__idvec_push(tpa__idvec *v, int32_t id) {
  tpa_status st = grow((void **)&v->v, &v->cap, v->n + 1, sizeof *v->v, "token ids");
  if (st == TPA_OK)
    v->v[v->n++] = id;
  return st;
}

void tpa__idvec_free(tpa__idvec *v) {
  free(v->v);
  memset(v, 0, sizeof *v);
}

tpa_status tpa__pieces_push(tpa__pieces *p, size_t start, size_t end) {
  tpa_status st = grow((void **)&p->span, &p->cap, p->n + 1, sizeof *p->span, "pieces");
  if (st == TPA_OK)
    p->span[p->n++] = (tpa__span){start, end};
  return st;
}

void tpa__pieces_clear(tpa__pieces *p) {
  tpa__buf_clear(&p->text);
  p->n = 0;
}

void tpa__pieces_free(tpa__pieces *p) {
  tpa__buf_free(&p->text);
  free(p->span);
  memset(p, 0, sizeof *p);
}

void tpa__tj_child(const tpa__tj_ctx *parent, const char *key, long index, tpa__tj_ctx *out) {
  out->path = parent->path;
  const char *dot = parent->where[0] ? "." : "";
  if (!key[0]) /* an element of the parent itself: "added_tokens[3]" */
    dot = "";
  int n = index >= 0 ? snprintf(out->where, sizeof out->where, "%s%s%s[%ld]", parent->where, dot,
                                key, index)
                     : snprintf(out->where, sizeof out->where, "%s%s%s", parent->where, dot, key);
  if (n < 0 || (size_t)n >= sizeof out->where) /* a deep location: keep its tail visible */
    memcpy(out->where + sizeof out->where - 4, "...", 4);
}

tpa_status tpa__tj_error(const tpa__tj_ctx *c, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return tpa__error(TPA_ERR_CONFIG, "file %s: %s: %s", c->path, c->where[0] ? c->where : "(top)",
                    msg);
}

tpa_status tpa__tj_bool(const tpa__tj_ctx *c, const json_t *obj, const char *key, bool def,
                        bool *out) {
  const json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) {
    *out = def;
    return TPA_OK;
  }
  if (!json_is_boolean(v))
    return tpa__tj_error(c, "\"%s\" is not a boolean", key);
  *out = json_is_true(v);
  return TPA_OK;
}

tpa_status tpa__tj_string(const tpa__tj_ctx *c, const json_t *obj, const char *key, const char *def,
                          const char **out) {
  const json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) {
    *out = def;
    return TPA_OK;
  }
  if (!json_is_string(v))
    return tpa__tj_error(c, "\"%s\" is not a string", key);
  *out = json_string_value(v);
  return TPA_OK;
}

tpa_status tpa__tj_int(const tpa__tj_ctx *c, const json_t *obj, const char *key, long long def,
                       long long lo, long long hi, long long *out) {
  const json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) {
    *out = def;
    return TPA_OK;
  }
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
    return tpa__tj_error(c, "\"%s\" is not an integer in %lld..%lld", key, lo, hi);
  *out = json_integer_value(v);
  return TPA_OK;
}
