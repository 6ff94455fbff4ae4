/* SPDX-License-Identifier: Apache-2.0 */
#include "io/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/file.h"

tpa_status tpa__json_parse(const char *buf, size_t len, const char *what, tpa_status bad,
                           bool reject_dups, json_t **out) {
  *out = NULL;
  json_error_t err;
  /* JSON_ALLOW_NUL is off: a "\u0000" inside a key would cut C strings. */
  json_t *root = json_loadb(buf, len, reject_dups ? JSON_REJECT_DUPLICATES : 0, &err);
  if (!root)
    return tpa__error(bad, "%s line %d column %d: %s", what, err.line, err.column, err.text);
  if (!json_is_object(root)) {
    json_decref(root);
    return tpa__error(bad, "%s: top level is not a JSON object", what);
  }
  *out = root;
  return TPA_OK;
}

tpa_status tpa__json_load_file(const char *path, json_t **out) {
  *out = NULL;
  char *buf;
  size_t len;
  tpa_status st = tpa__file_read(path, TPA__JSON_MAX_FILE, &buf, &len);
  if (st != TPA_OK)
    return st;
  char what[1100];
  snprintf(what, sizeof what, "file %s", path);
  st = tpa__json_parse(buf, len, what, TPA_ERR_JSON, false, out);
  free(buf);
  return st;
}

/* Look up @p key; NULL (and *found false) when absent or JSON null. */
static const json_t *lookup(const json_t *obj, const char *key, bool *found) {
  const json_t *v = json_object_get(obj, key);
  if (v && json_is_null(v))
    v = NULL;
  if (found)
    *found = v != NULL;
  return v;
}

static tpa_status wrong_type(tpa_status bad, const char *key, const char *file, const char *want) {
  return tpa__error(bad, "file %s: key \"%s\" must be %s", file, key, want);
}

tpa_status tpa__json_get_int(const json_t *obj, const char *key, const char *file, tpa_status bad,
                             int64_t *out, bool *found) {
  const json_t *v = lookup(obj, key, found);
  if (!v)
    return TPA_OK;
  if (!json_is_integer(v))
    return wrong_type(bad, key, file, "an integer");
  *out = (int64_t)json_integer_value(v);
  return TPA_OK;
}

tpa_status tpa__json_get_real(const json_t *obj, const char *key, const char *file, tpa_status bad,
                              double *out, bool *found) {
  const json_t *v = lookup(obj, key, found);
  if (!v)
    return TPA_OK;
  if (!json_is_number(v))
    return wrong_type(bad, key, file, "a number");
  *out = json_number_value(v);
  return TPA_OK;
}

tpa_status tpa__json_get_bool(const json_t *obj, const char *key, const char *file, tpa_status bad,
                              bool *out, bool *found) {
  const json_t *v = lookup(obj, key, found);
  if (!v)
    return TPA_OK;
  if (!json_is_boolean(v))
    return wrong_type(bad, key, file, "true or false");
  *out = json_is_true(v);
  return TPA_OK;
}

tpa_status tpa__json_get_string(const json_t *obj, const char *key, const char *file,
                                tpa_status bad, const char **out, bool *found) {
  const json_t *v = lookup(obj, key, found);
  if (!v)
    return TPA_OK;
  if (!json_is_string(v))
    return wrong_type(bad, key, file, "a string");
  *out = json_string_value(v);
  return TPA_OK;
}

tpa_status tpa__json_get_typed(const json_t *obj, const char *key, const char *file, tpa_status bad,
                               json_type type, const json_t **out, bool *found) {
  const json_t *v = lookup(obj, key, found);
  if (!v)
    return TPA_OK;
  if (json_typeof(v) != type)
    return wrong_type(bad, key, file, type == JSON_OBJECT ? "an object" : "an array");
  *out = v;
  return TPA_OK;
}

tpa_status tpa__json_save(const char *dir, const char *name, const json_t *root, size_t flags) {
  char *text = json_dumps(root, flags);
  if (!text)
    return tpa__error(TPA_ERR_NO_MEMORY, "out of memory (%s)", name);
  size_t n = strlen(text);
  char *buf = realloc(text, n + 2);
  if (!buf) {
    free(text);
    return tpa__error(TPA_ERR_NO_MEMORY, "out of memory (%s)", name);
  }
  buf[n] = '\n'; /* a final newline, as editors and json.dump users expect */
  buf[n + 1] = '\0';
  tpa_status st = tpa__atomic_write_file(dir, name, buf, n + 1);
  free(buf);
  return st;
}

json_t *tpa__json_pruned_heads(int32_t layers, int32_t heads, tpa__kept_heads_fn kept,
                               const void *ctx) {
  json_t *map = json_object();
  bool ok = map != NULL;
  for (int32_t l = 0; ok && l < layers; l++) {
    int32_t n = 0;
    const int32_t *ids = kept(ctx, l, &n);
    if (n == heads)
      continue;
    json_t *list = json_array();
    ok = list != NULL;
    int32_t k = 0; /* ids is ascending: walk it beside h */
    for (int32_t h = 0; ok && h < heads; h++) {
      if (k < n && ids[k] == h)
        k++;
      else
        ok = json_array_append_new(list, json_integer(h)) == 0;
    }
    char key[16];
    snprintf(key, sizeof key, "%d", l);
    if (ok)
      ok = json_object_set_new(map, key, list) == 0; /* owns list, success or not */
    else
      json_decref(list);
  }
  if (!ok) {
    json_decref(map);
    return NULL;
  }
  return map;
}
