/* SPDX-License-Identifier: Apache-2.0 */
/* safetensors reader: validate the whole header against the file before
 * handing out any tensor, so later code can trust every range. */
#include "io/safetensors.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/half.h"
#include "io/json.h"

/* F32 tensors are handed out in place, and headers and 16-bit values are
 * decoded byte by byte; in-place use assumes a little-endian host. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libtpa reads safetensors F32 data in place and needs a little-endian host"
#endif

static const struct {
  const char *name;
  size_t size;
} dtypes[TPA__DT_COUNT] = {
    [TPA__DT_BOOL] = {"BOOL", 1},       [TPA__DT_U8] = {"U8", 1},
    [TPA__DT_I8] = {"I8", 1},           [TPA__DT_F8_E5M2] = {"F8_E5M2", 1},
    [TPA__DT_F8_E4M3] = {"F8_E4M3", 1}, [TPA__DT_I16] = {"I16", 2},
    [TPA__DT_U16] = {"U16", 2},         [TPA__DT_F16] = {"F16", 2},
    [TPA__DT_BF16] = {"BF16", 2},       [TPA__DT_I32] = {"I32", 4},
    [TPA__DT_U32] = {"U32", 4},         [TPA__DT_F32] = {"F32", 4},
    [TPA__DT_F64] = {"F64", 8},         [TPA__DT_I64] = {"I64", 8},
    [TPA__DT_U64] = {"U64", 8},
};

const char *tpa__dtype_name(tpa__dtype dt) {
  return (unsigned)dt < TPA__DT_COUNT ? dtypes[dt].name : "?";
}

size_t tpa__dtype_size(tpa__dtype dt) {
  return (unsigned)dt < TPA__DT_COUNT ? dtypes[dt].size : 0;
}

static bool dtype_from_name(const char *s, tpa__dtype *out) {
  for (int i = 0; i < TPA__DT_COUNT; i++)
    if (strcmp(s, dtypes[i].name) == 0) {
      *out = (tpa__dtype)i;
      return true;
    }
  return false;
}

void tpa__st_close(tpa__st_file *f) {
  for (size_t i = 0; i < f->n; i++)
    free(f->t[i].name);
  free(f->t);
  free(f->path);
  tpa__file_map_close(&f->map);
  memset(f, 0, sizeof *f);
}

/* A non-negative JSON integer, or false. */
static bool get_u64(const json_t *v, uint64_t *out) {
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return false;
  *out = (uint64_t)json_integer_value(v);
  return true;
}

/* Validate one header entry into @p t (name already set). */
static tpa_status parse_entry(const char *path, const char *name, const json_t *v,
                              tpa__st_tensor *t) {
  if (!json_is_object(v))
    return tpa__error(TPA_ERR_HEADER, "file %s: tensor \"%s\": entry is not an object", path, name);
  const json_t *dt = json_object_get(v, "dtype");
  if (!json_is_string(dt))
    return tpa__error(TPA_ERR_HEADER, "file %s: tensor \"%s\": \"dtype\" missing or not a string",
                      path, name);
  if (!dtype_from_name(json_string_value(dt), &t->dtype))
    return tpa__error(TPA_ERR_TENSOR_DTYPE, "file %s: tensor \"%s\": unknown dtype \"%s\"", path,
                      name, json_string_value(dt));

  const json_t *shape = json_object_get(v, "shape");
  if (!json_is_array(shape) || json_array_size(shape) > TPA__ST_MAX_DIMS)
    return tpa__error(TPA_ERR_HEADER,
                      "file %s: tensor \"%s\": \"shape\" missing, not an array or more than %d "
                      "dimensions",
                      path, name, TPA__ST_MAX_DIMS);
  t->ndim = (int32_t)json_array_size(shape);
  uint64_t numel = 1;
  for (int32_t d = 0; d < t->ndim; d++) {
    if (!get_u64(json_array_get(shape, (size_t)d), &t->shape[d]))
      return tpa__error(TPA_ERR_HEADER,
                        "file %s: tensor \"%s\": shape[%d] is not a non-negative integer", path,
                        name, d);
    if (__builtin_mul_overflow(numel, t->shape[d], &numel))
      return tpa__error(TPA_ERR_HEADER, "file %s: tensor \"%s\": shape product overflows", path,
                        name);
  }
  t->numel = numel;
  uint64_t bytes;
  if (__builtin_mul_overflow(numel, (uint64_t)tpa__dtype_size(t->dtype), &bytes))
    return tpa__error(TPA_ERR_HEADER, "file %s: tensor \"%s\": byte size overflows", path, name);

  const json_t *off = json_object_get(v, "data_offsets");
  if (!json_is_array(off) || json_array_size(off) != 2 ||
      !get_u64(json_array_get(off, 0), &t->begin) || !get_u64(json_array_get(off, 1), &t->end))
    return tpa__error(TPA_ERR_HEADER,
                      "file %s: tensor \"%s\": \"data_offsets\" must be two non-negative integers",
                      path, name);
  if (t->begin > t->end)
    return tpa__error(TPA_ERR_TENSOR_OFFSETS,
                      "file %s: tensor \"%s\": data_offsets [%llu, %llu] begin after end", path,
                      name, (unsigned long long)t->begin, (unsigned long long)t->end);
  if (t->end - t->begin != bytes)
    return tpa__error(TPA_ERR_TENSOR_OFFSETS,
                      "file %s: tensor \"%s\": data_offsets [%llu, %llu] span %llu bytes but "
                      "%llu elements of %s need %llu",
                      path, name, (unsigned long long)t->begin, (unsigned long long)t->end,
                      (unsigned long long)(t->end - t->begin), (unsigned long long)numel,
                      tpa__dtype_name(t->dtype), (unsigned long long)bytes);
  return TPA_OK;
}

static int cmp_begin(const void *a, const void *b) {
  const tpa__st_tensor *x = *(tpa__st_tensor *const *)a, *y = *(tpa__st_tensor *const *)b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const tpa__st_tensor *)a)->name, ((const tpa__st_tensor *)b)->name);
}

/* Overlaps, then ranges past the data region. A header describing tensors
 * packed back to back from offset 0 whose data is cut short is a truncated
 * file; any other range past the end is a bad offset. */
static tpa_status check_layout(const char *path, tpa__st_tensor *t, size_t n, uint64_t data_len) {
  tpa__st_tensor **by = tpa__malloc_array(n, sizeof *by);
  if (!by)
    return TPA__NO_MEMORY("safetensors layout");
  for (size_t i = 0; i < n; i++)
    by[i] = &t[i];
  qsort(by, n, sizeof *by, cmp_begin);
  tpa_status st = TPA_OK;
  const tpa__st_tensor *prev = NULL; /* last tensor with bytes */
  bool packed = true;
  uint64_t at = 0;
  const tpa__st_tensor *past = NULL;
  for (size_t i = 0; i < n && st == TPA_OK; i++) {
    const tpa__st_tensor *x = by[i];
    if (x->begin == x->end) {
      if (x->begin > data_len && !past)
        past = x;
      continue; /* empty tensors occupy nothing */
    }
    if (prev && x->begin < prev->end)
      st = tpa__error(TPA_ERR_TENSOR_OFFSETS,
                      "file %s: tensors \"%s\" [%llu, %llu] and \"%s\" [%llu, %llu] overlap", path,
                      prev->name, (unsigned long long)prev->begin, (unsigned long long)prev->end,
                      x->name, (unsigned long long)x->begin, (unsigned long long)x->end);
    if (x->begin != at)
      packed = false;
    at = x->end;
    if (x->end > data_len && !past)
      past = x;
    prev = x;
  }
  free(by);
  if (st != TPA_OK || !past)
    return st;
  if (packed)
    return tpa__error(TPA_ERR_TRUNCATED,
                      "file %s: truncated: tensor \"%s\" ends at data byte %llu but the data "
                      "region holds %llu bytes",
                      path, past->name, (unsigned long long)past->end,
                      (unsigned long long)data_len);
  return tpa__error(TPA_ERR_TENSOR_OFFSETS,
                    "file %s: tensor \"%s\": data_offsets [%llu, %llu] past the end of the "
                    "data region (%llu bytes)",
                    path, past->name, (unsigned long long)past->begin,
                    (unsigned long long)past->end, (unsigned long long)data_len);
}

static tpa_status parse(tpa__st_file *f, const unsigned char *p, size_t len) {
  const char *path = f->path;
  if (len < 8)
    return tpa__error(TPA_ERR_TRUNCATED,
                      "file %s: truncated: %zu bytes, less than the 8-byte header length", path,
                      len);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | p[i];
  if (hlen == 0 || hlen > TPA__ST_MAX_HEADER)
    return tpa__error(TPA_ERR_HEADER, "file %s: header length %llu is not in 1..%llu", path,
                      (unsigned long long)hlen, (unsigned long long)TPA__ST_MAX_HEADER);
  if (hlen > len - 8)
    return tpa__error(TPA_ERR_HEADER,
                      "file %s: header length %llu runs past the end of the file (%zu bytes)", path,
                      (unsigned long long)hlen, len);
  if (p[8] != '{')
    return tpa__error(TPA_ERR_HEADER, "file %s: header does not start with '{'", path);
  char what[1100];
  snprintf(what, sizeof what, "file %s: header", path);
  json_t *root;
  tpa_status st =
      tpa__json_parse((const char *)p + 8, (size_t)hlen, what, TPA_ERR_HEADER, true, &root);
  if (st != TPA_OK)
    return st;

  size_t n = json_object_size(root);
  const json_t *meta = json_object_get(root, "__metadata__");
  if (meta) {
    n--;
    if (!json_is_object(meta)) {
      json_decref(root);
      return tpa__error(TPA_ERR_HEADER, "file %s: \"__metadata__\" is not an object", path);
    }
  }
  f->t = tpa__calloc(n, sizeof *f->t);
  if (!f->t) {
    json_decref(root);
    return TPA__NO_MEMORY("safetensors header");
  }
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (strcmp(key, "__metadata__") == 0)
      continue;
    tpa__st_tensor *t = &f->t[f->n];
    t->name = tpa__strdup(key);
    if (!t->name) {
      json_decref(root);
      return TPA__NO_MEMORY("tensor name");
    }
    f->n++;
    st = parse_entry(path, key, v, t);
    if (st != TPA_OK) {
      json_decref(root);
      return st;
    }
  }
  json_decref(root);

  uint64_t data_len = (uint64_t)(len - 8 - (size_t)hlen);
  st = check_layout(path, f->t, f->n, data_len);
  if (st != TPA_OK)
    return st;
  const unsigned char *data = p + 8 + hlen;
  for (size_t i = 0; i < f->n; i++)
    f->t[i].data = data + f->t[i].begin;
  qsort(f->t, f->n, sizeof *f->t, cmp_name);
  /* jansson rejected duplicate keys already; this guards the bsearch. */
  for (size_t i = 1; i < f->n; i++)
    if (strcmp(f->t[i - 1].name, f->t[i].name) == 0)
      return tpa__error(TPA_ERR_HEADER, "file %s: tensor \"%s\" listed twice", path, f->t[i].name);
  return TPA_OK;
}

tpa_status tpa__st_parse(tpa__st_file *f, const void *data, size_t len, const char *path) {
  memset(f, 0, sizeof *f);
  f->path = tpa__strdup(path);
  if (!f->path)
    return TPA__NO_MEMORY(path);
  tpa_status st = parse(f, data, len);
  if (st != TPA_OK)
    tpa__st_close(f);
  return st;
}

tpa_status tpa__st_open(tpa__st_file *f, const char *path) {
  memset(f, 0, sizeof *f);
  tpa__file_map map;
  tpa_status st = tpa__file_map_open(&map, path);
  if (st != TPA_OK)
    return st;
  st = tpa__st_parse(f, map.data, map.len, path);
  if (st != TPA_OK) {
    tpa__file_map_close(&map);
    return st;
  }
  f->map = map;
  return TPA_OK;
}

const tpa__st_tensor *tpa__st_find(const tpa__st_file *f, const char *name) {
  if (f->n == 0)
    return NULL;
  tpa__st_tensor key = {.name = (char *)name};
  return bsearch(&key, f->t, f->n, sizeof *f->t, cmp_name);
}

tpa_status tpa__st_as_f32(const tpa__st_file *f, const tpa__st_tensor *t, const float **out,
                          float **owned) {
  *out = NULL;
  *owned = NULL;
  if (t->dtype != TPA__DT_F32 && t->dtype != TPA__DT_F16 && t->dtype != TPA__DT_BF16)
    return tpa__error(TPA_ERR_TENSOR_DTYPE,
                      "file %s: tensor \"%s\" has dtype %s; only F32, F16 and BF16 load", f->path,
                      t->name, tpa__dtype_name(t->dtype));
  if (t->dtype == TPA__DT_F32 && ((uintptr_t)t->data % _Alignof(float)) == 0) {
    *out = t->data;
    return TPA_OK;
  }
  if (t->numel > SIZE_MAX / sizeof(float))
    return TPA__NO_MEMORY(t->name);
  float *buf = tpa__malloc_array((size_t)t->numel, sizeof *buf);
  if (!buf)
    return TPA__NO_MEMORY(t->name);
  size_t n = (size_t)t->numel;
  if (t->dtype == TPA__DT_F32)
    memcpy(buf, t->data, n * sizeof *buf); /* unaligned in the mapping */
  else if (t->dtype == TPA__DT_F16)
    tpa__f16_to_f32_n(t->data, buf, n);
  else
    tpa__bf16_to_f32_n(t->data, buf, n);
  *out = buf;
  *owned = buf;
  return TPA_OK;
}
