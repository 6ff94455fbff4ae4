/* SPDX-License-Identifier: Apache-2.0 */
/* safetensors writer: header, then each tensor's bytes back to back,
 * through the atomic writer so a failure never leaves a partial file. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/file.h"
#include "io/half.h"
#include "io/safetensors.h"

typedef struct order {
  const tpa__st_out *t;
  uint64_t bytes, begin;
} order;

/* Larger elements first, then by name: the reference writer's order, which
 * keeps every tensor aligned to its element size from the 8-aligned start. */
static int cmp_order(const void *a, const void *b) {
  const order *x = a, *y = b;
  size_t sx = tpa__dtype_size(x->t->dtype), sy = tpa__dtype_size(y->t->dtype);
  if (sx != sy)
    return sx > sy ? -1 : 1;
  return strcmp(x->t->name, y->t->name);
}

static tpa_status check_out(const char *path, const tpa__st_out *t, uint64_t *bytes) {
  if (!t->name || !t->name[0] || strcmp(t->name, "__metadata__") == 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "file %s: invalid tensor name", path);
  if ((unsigned)t->dtype >= TPA__DT_COUNT || t->ndim < 0 || t->ndim > TPA__ST_MAX_DIMS ||
      (t->ndim > 0 && !t->shape))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "file %s: tensor \"%s\": bad dtype or rank", path,
                      t->name);
  uint64_t n = tpa__dtype_size(t->dtype);
  for (int32_t d = 0; d < t->ndim; d++)
    if (t->shape[d] < 0 || __builtin_mul_overflow(n, (uint64_t)t->shape[d], &n))
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "file %s: tensor \"%s\": bad shape", path,
                        t->name);
  /* Empty tensors (a layer with every head pruned) need no data pointer. */
  if (t->f32 ? (t->dtype != TPA__DT_F32 && t->dtype != TPA__DT_F16 && t->dtype != TPA__DT_BF16)
             : (!t->raw && n > 0))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "file %s: tensor \"%s\": float data needs F32, F16 or BF16; other dtypes "
                      "need raw bytes",
                      path, t->name);
  *bytes = n;
  return TPA_OK;
}

static json_t *entry_json(const order *o) {
  json_t *e = json_object(), *shape = json_array(), *off = json_array();
  if (!e || !shape || !off) {
    json_decref(e);
    json_decref(shape);
    json_decref(off);
    return NULL;
  }
  bool ok = json_object_set_new(e, "dtype", json_string(tpa__dtype_name(o->t->dtype))) == 0;
  for (int32_t d = 0; d < o->t->ndim; d++)
    ok = ok && json_array_append_new(shape, json_integer((json_int_t)o->t->shape[d])) == 0;
  ok = ok && json_array_append_new(off, json_integer((json_int_t)o->begin)) == 0 &&
       json_array_append_new(off, json_integer((json_int_t)(o->begin + o->bytes))) == 0;
  ok = json_object_set_new(e, "shape", shape) == 0 && ok;
  ok = json_object_set_new(e, "data_offsets", off) == 0 && ok;
  if (!ok) {
    json_decref(e);
    return NULL;
  }
  return e;
}

/* The header text, space-padded so 8 + its length is a multiple of 8. */
static tpa_status header_text(const char *path, order *o, size_t n, const char *const *mk,
                              const char *const *mv, size_t n_meta, char **out, size_t *len) {
  json_t *root = json_object();
  bool ok = root != NULL;
  if (ok && n_meta > 0) {
    json_t *meta = json_object();
    ok = meta != NULL;
    for (size_t i = 0; ok && i < n_meta; i++)
      ok = json_object_set_new(meta, mk[i], json_string(mv[i])) == 0;
    ok = ok && json_object_set_new(root, "__metadata__", meta) == 0;
  }
  for (size_t i = 0; ok && i < n; i++) {
    if (json_object_get(root, o[i].t->name)) {
      json_decref(root);
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "file %s: tensor \"%s\" given twice", path,
                        o[i].t->name);
    }
    json_t *e = entry_json(&o[i]);
    ok = e && json_object_set_new(root, o[i].t->name, e) == 0;
  }
  char *text = ok ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(root);
  if (!text)
    return TPA__NO_MEMORY("safetensors header");
  size_t tl = strlen(text), padded = (tl + 7) & ~(size_t)7;
  char *buf = malloc(padded + 1);
  if (!buf) {
    free(text);
    return TPA__NO_MEMORY("safetensors header");
  }
  memcpy(buf, text, tl);
  memset(buf + tl, ' ', padded - tl);
  buf[padded] = '\0';
  free(text);
  *out = buf;
  *len = padded;
  return TPA_OK;
}

/* Convert and write one float tensor in chunks (bounded extra memory). */
static tpa_status write_f32(tpa__atomic_file *af, const tpa__st_out *t, uint64_t numel) {
  if (t->dtype == TPA__DT_F32)
    return tpa__atomic_write(af, t->f32, (size_t)numel * sizeof(float));
  enum { CHUNK = 8192 };
  unsigned char buf[2 * CHUNK];
  for (uint64_t i = 0; i < numel; i += CHUNK) {
    size_t m = numel - i < CHUNK ? (size_t)(numel - i) : CHUNK;
    for (size_t j = 0; j < m; j++) {
      float v = t->f32[i + j];
      uint16_t h = t->dtype == TPA__DT_F16 ? tpa__f32_to_f16(v) : tpa__f32_to_bf16(v);
      buf[2 * j] = (unsigned char)(h & 0xFF);
      buf[2 * j + 1] = (unsigned char)(h >> 8);
    }
    tpa_status st = tpa__atomic_write(af, buf, 2 * m);
    if (st != TPA_OK)
      return st;
  }
  return TPA_OK;
}

tpa_status tpa__st_write(const char *path, const tpa__st_out *tensors, size_t n,
                         const char *const *meta_keys, const char *const *meta_values,
                         size_t n_meta) {
  order *o = tpa__calloc(n, sizeof *o);
  if (!o)
    return TPA__NO_MEMORY("safetensors writer");
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < n && st == TPA_OK; i++) {
    o[i].t = &tensors[i];
    st = check_out(path, &tensors[i], &o[i].bytes);
  }
  for (size_t i = 0; i < n_meta && st == TPA_OK; i++)
    if (!meta_keys[i] || !meta_values[i])
      st = tpa__error(TPA_ERR_INVALID_ARGUMENT, "file %s: NULL metadata entry", path);
  if (st != TPA_OK) {
    free(o);
    return st;
  }
  qsort(o, n, sizeof *o, cmp_order);
  uint64_t at = 0;
  for (size_t i = 0; i < n; i++) {
    o[i].begin = at;
    at += o[i].bytes; /* sum of sizes of tensors that exist in memory */
  }
  char *hdr = NULL;
  size_t hlen = 0;
  st = header_text(path, o, n, meta_keys, meta_values, n_meta, &hdr, &hlen);
  if (st != TPA_OK) {
    free(o);
    return st;
  }
  unsigned char len8[8];
  for (int i = 0; i < 8; i++)
    len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
  tpa__atomic_file af;
  st = tpa__atomic_open(&af, path);
  if (st == TPA_OK)
    st = tpa__atomic_write(&af, len8, sizeof len8);
  if (st == TPA_OK)
    st = tpa__atomic_write(&af, hdr, hlen);
  for (size_t i = 0; i < n && st == TPA_OK; i++) {
    const tpa__st_out *t = o[i].t;
    if (o[i].bytes == 0)
      continue;
    if (t->f32)
      st = write_f32(&af, t, o[i].bytes / tpa__dtype_size(t->dtype));
    else
      st = tpa__atomic_write(&af, t->raw, (size_t)o[i].bytes);
  }
  if (st == TPA_OK)
    st = tpa__atomic_commit(&af);
  /* A failed write or commit has removed the temporary file already. */
  free(hdr);
  free(o);
  return st;
}
