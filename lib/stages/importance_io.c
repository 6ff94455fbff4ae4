/* SPDX-License-Identifier: Apache-2.0 */
/* The importance table as JSON (docs/formats.md):
 *   {"layers":L,"heads":A,"examples":E,"tokens":T,
 *    "raw":[[...]],"normalized":[[...]],"blocks":[...]}
 * rows by layer, columns by ORIGINAL head, null where a head has no score
 * (pruned); with neuron scores also "ffn_raw" and "ffn_normalized", one
 * list of numbers per layer (its neurons; lists may differ in length).
 * Reals are written with 17 significant digits so a load gives back the
 * same doubles. A load checks every shape and type and that raw and
 * normalized agree on which heads are scored; it recomputes nothing. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/file.h"
#include "io/json.h"
#include "stages/importance.h"

/* One array per layer of reals, null where a value is NaN: layer l's
 * values are v[off[l] .. off[l + 1]), or v[l * width ..] when @p off is
 * NULL (heads: a fixed count per layer; neurons: a count of their own). */
static json_t *rows_json(int32_t layers, const double *v, const size_t *off, size_t width) {
  json_t *rows = json_array();
  for (int32_t l = 0; rows && l < layers; l++) {
    json_t *row = json_array();
    if (!row || json_array_append_new(rows, row) != 0) {
      json_decref(rows);
      return NULL;
    }
    const size_t lo = off ? off[l] : (size_t)l * width, hi = off ? off[l + 1] : lo + width;
    for (size_t i = lo; i < hi; i++)
      if (json_array_append_new(row, isnan(v[i]) ? json_null() : json_real(v[i])) != 0) {
        json_decref(rows);
        return NULL;
      }
  }
  return rows;
}

static json_t *matrix_json(const tpa_importance *imp, const double *v) {
  return rows_json(imp->layers, v, NULL, (size_t)imp->heads);
}

static json_t *ffn_json(const tpa_importance *imp, const double *v) {
  return rows_json(imp->layers, v, imp->ffn_off, 0);
}

static json_t *table_json(const tpa_importance *imp) {
  json_t *root = json_object(), *blocks = json_array();
  bool ok = root && blocks;
  for (int32_t l = 0; ok && l < imp->layers; l++)
    ok = json_array_append_new(blocks, json_real(imp->block[l])) == 0;
  /* set_new steals the value even when it fails, so one flag suffices. */
  ok = ok && json_object_set_new(root, "layers", json_integer(imp->layers)) == 0;
  ok = ok && json_object_set_new(root, "heads", json_integer(imp->heads)) == 0;
  ok = ok && json_object_set_new(root, "examples", json_integer((json_int_t)imp->examples)) == 0;
  ok = ok && json_object_set_new(root, "tokens", json_integer((json_int_t)imp->tokens)) == 0;
  ok = ok && json_object_set_new(root, "raw", matrix_json(imp, imp->raw)) == 0;
  ok = ok && json_object_set_new(root, "normalized", matrix_json(imp, imp->norm)) == 0;
  if (ok) {
    ok = json_object_set_new(root, "blocks", blocks) == 0;
    blocks = NULL;
  }
  json_decref(blocks);
  if (ok && imp->ffn_off) {
    ok = json_object_set_new(root, "ffn_raw", ffn_json(imp, imp->ffn_raw)) == 0;
    ok = ok && json_object_set_new(root, "ffn_normalized", ffn_json(imp, imp->ffn_norm)) == 0;
  }
  if (!ok) {
    json_decref(root);
    return NULL;
  }
  return root;
}

tpa_status tpa_importance_save(const tpa_importance *imp, const char *path) {
  tpa__error_clear();
  if (!imp || !path || !path[0])
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_importance_save: NULL %s",
                      !imp ? "table" : "path");
  json_t *root = table_json(imp);
  char *text = root ? json_dumps(root, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
  json_decref(root);
  if (!text)
    return tpa__error(TPA_ERR_NO_MEMORY, "out of memory (importance JSON for %s)", path);
  tpa__atomic_file af = {.fd = -1}; /* nothing to drop until opened */
  tpa_status s = tpa__make_parent_dirs(path);
  if (s == TPA_OK)
    s = tpa__atomic_open(&af, path);
  if (s == TPA_OK)
    s = tpa__atomic_write(&af, text, strlen(text));
  if (s == TPA_OK)
    s = tpa__atomic_write(&af, "\n", 1);
  if (s == TPA_OK)
    s = tpa__atomic_commit(&af);
  tpa__atomic_abort(&af);
  free(text);
  return s;
}

/* ----------------------------------------------------------------- load */

/* Valid JSON that is not a valid table is TPA_ERR_CONFIG, as for every
 * other JSON file libtpa reads (config.json, adapter_config.json,
 * plan.json); TPA_ERR_JSON is for text that is not JSON (or not an
 * object), which tpa__json_load_file reports. */

/* A required integer key in [lo, hi]. */
static tpa_status get_count(const json_t *root, const char *key, const char *path, int64_t lo,
                            int64_t hi, int64_t *out) {
  bool found = false;
  tpa_status s = tpa__json_get_int(root, key, path, TPA_ERR_CONFIG, out, &found);
  if (s != TPA_OK)
    return s;
  if (!found)
    return tpa__error(TPA_ERR_CONFIG, "file %s: importance table: missing \"%s\"", path, key);
  if (*out < lo || *out > hi)
    return tpa__error(TPA_ERR_CONFIG,
                      "file %s: importance table: \"%s\" is %lld, not in %lld..%lld", path, key,
                      (long long)*out, (long long)lo, (long long)hi);
  return TPA_OK;
}

/* One score: a finite non-negative number, or null (NaN) when allowed. */
static tpa_status get_score(const json_t *v, const char *path, const char *key, int32_t l,
                            int32_t h, bool allow_null, double *out) {
  if (allow_null && json_is_null(v)) {
    *out = NAN;
    return TPA_OK;
  }
  const double x = json_is_number(v) ? json_number_value(v) : NAN;
  if (!json_is_number(v) || !isfinite(x) || x < 0)
    return h < 0 ? tpa__error(TPA_ERR_CONFIG,
                              "file %s: importance table: \"%s\"[%d] must be a number >= 0", path,
                              key, l)
                 : tpa__error(TPA_ERR_CONFIG,
                              "file %s: importance table: \"%s\"[%d][%d] must be a number >= 0%s",
                              path, key, l, h, allow_null ? " or null" : "");
  *out = x;
  return TPA_OK;
}

/* "raw" or "normalized": layers rows of heads entries each. */
static tpa_status get_matrix(const json_t *root, const char *key, const char *path,
                             tpa_importance *imp, double *dst) {
  const json_t *rows = json_object_get(root, key);
  if (!json_is_array(rows) || json_array_size(rows) != (size_t)imp->layers)
    return tpa__error(TPA_ERR_CONFIG,
                      "file %s: importance table: \"%s\" must be an array of %d rows", path, key,
                      imp->layers);
  for (int32_t l = 0; l < imp->layers; l++) {
    const json_t *row = json_array_get(rows, (size_t)l);
    if (!json_is_array(row) || json_array_size(row) != (size_t)imp->heads)
      return tpa__error(TPA_ERR_CONFIG,
                        "file %s: importance table: \"%s\"[%d] must be an array of %d scores", path,
                        key, l, imp->heads);
    for (int32_t h = 0; h < imp->heads; h++) {
      tpa_status s = get_score(json_array_get(row, (size_t)h), path, key, l, h, true,
                               &dst[(size_t)l * (size_t)imp->heads + (size_t)h]);
      if (s != TPA_OK)
        return s;
    }
  }
  return TPA_OK;
}

/* The shape checks of get_matrix() alone, with its messages: run on "raw"
 * before the table is allocated, so that a 60-byte file claiming 4096 x
 * 4096 heads fails at once instead of costing 270 MB and a second (found
 * by fuzzing). */
static tpa_status check_shape(const json_t *root, const char *key, const char *path, int64_t layers,
                              int64_t heads) {
  const json_t *rows = json_object_get(root, key);
  if (!json_is_array(rows) || json_array_size(rows) != (size_t)layers)
    return tpa__error(TPA_ERR_CONFIG,
                      "file %s: importance table: \"%s\" must be an array of %d rows", path, key,
                      (int)layers);
  for (int64_t l = 0; l < layers; l++) {
    const json_t *row = json_array_get(rows, (size_t)l);
    if (!json_is_array(row) || json_array_size(row) != (size_t)heads)
      return tpa__error(TPA_ERR_CONFIG,
                        "file %s: importance table: \"%s\"[%d] must be an array of %d scores", path,
                        key, (int)l, (int)heads);
  }
  return TPA_OK;
}

/* "ffn_raw" and "ffn_normalized", both or neither: one non-empty list per
 * layer, the same lengths in both, numbers >= 0. Allocation follows the
 * arrays' sizes, so it is bounded by the file's. */
static tpa_status parse_ffn(const json_t *root, const char *path, tpa_importance *imp) {
  const json_t *raw = json_object_get(root, "ffn_raw"),
               *norm = json_object_get(root, "ffn_normalized");
  if (!raw && !norm)
    return TPA_OK;
  if (!raw || !norm)
    return tpa__error(TPA_ERR_CONFIG,
                      "file %s: importance table: \"%s\" without \"%s\" (neuron scores come "
                      "in pairs)",
                      path, raw ? "ffn_raw" : "ffn_normalized", raw ? "ffn_normalized" : "ffn_raw");
  const char *keys[2] = {"ffn_raw", "ffn_normalized"};
  const json_t *arrs[2] = {raw, norm};
  for (int k = 0; k < 2; k++)
    if (!json_is_array(arrs[k]) || json_array_size(arrs[k]) != (size_t)imp->layers)
      return tpa__error(TPA_ERR_CONFIG,
                        "file %s: importance table: \"%s\" must be an array of %d rows", path,
                        keys[k], imp->layers);
  int32_t *widths = calloc((size_t)imp->layers, sizeof *widths);
  if (!widths)
    return TPA__NO_MEMORY("importance table: neurons");
  tpa_status s = TPA_OK;
  for (int32_t l = 0; s == TPA_OK && l < imp->layers; l++) {
    const json_t *r = json_array_get(raw, (size_t)l), *n = json_array_get(norm, (size_t)l);
    const size_t w = json_is_array(r) ? json_array_size(r) : 0;
    if (w == 0 || w > TPA__IMPORTANCE_MAX_NEURONS)
      s = tpa__error(TPA_ERR_CONFIG,
                     "file %s: importance table: \"ffn_raw\"[%d] must be an array of 1..%d "
                     "scores",
                     path, l, TPA__IMPORTANCE_MAX_NEURONS);
    else if (!json_is_array(n) || json_array_size(n) != w)
      s = tpa__error(TPA_ERR_CONFIG,
                     "file %s: importance table: \"ffn_normalized\"[%d] must be an array of %zu "
                     "scores, as \"ffn_raw\"[%d]",
                     path, l, w, l);
    else
      widths[l] = (int32_t)w;
  }
  if (s == TPA_OK)
    s = tpa__importance_alloc_ffn(imp, widths);
  free(widths);
  for (int32_t l = 0; s == TPA_OK && l < imp->layers; l++)
    for (size_t j = imp->ffn_off[l]; s == TPA_OK && j < imp->ffn_off[l + 1]; j++) {
      const int32_t jj = (int32_t)(j - imp->ffn_off[l]);
      s = get_score(json_array_get(json_array_get(raw, (size_t)l), (size_t)jj), path, "ffn_raw", l,
                    jj, false, &imp->ffn_raw[j]);
      if (s == TPA_OK)
        s = get_score(json_array_get(json_array_get(norm, (size_t)l), (size_t)jj), path,
                      "ffn_normalized", l, jj, false, &imp->ffn_norm[j]);
    }
  return s;
}

static tpa_status parse(const json_t *root, const char *path, tpa_importance **out) {
  int64_t layers, heads, examples, tokens;
  tpa_status s = get_count(root, "layers", path, 1, TPA__IMPORTANCE_MAX_DIM, &layers);
  if (s == TPA_OK)
    s = get_count(root, "heads", path, 1, TPA__IMPORTANCE_MAX_DIM, &heads);
  if (s == TPA_OK)
    s = get_count(root, "examples", path, 0, INT64_MAX, &examples);
  if (s == TPA_OK)
    s = get_count(root, "tokens", path, 0, INT64_MAX, &tokens);
  if (s == TPA_OK)
    s = check_shape(root, "raw", path, layers, heads);
  if (s != TPA_OK)
    return s;
  tpa_importance *imp = NULL;
  if ((s = tpa__importance_alloc(&imp, (int32_t)layers, (int32_t)heads)) != TPA_OK)
    return s;
  imp->examples = (uint64_t)examples;
  imp->tokens = (uint64_t)tokens;
  s = get_matrix(root, "raw", path, imp, imp->raw);
  if (s == TPA_OK)
    s = get_matrix(root, "normalized", path, imp, imp->norm);
  const size_t cells = (size_t)layers * (size_t)heads;
  for (size_t i = 0; s == TPA_OK && i < cells; i++)
    if (isnan(imp->raw[i]) != isnan(imp->norm[i]))
      s = tpa__error(TPA_ERR_CONFIG,
                     "file %s: importance table: layer %zu head %zu is null in only one of "
                     "\"raw\" and \"normalized\"",
                     path, i / (size_t)heads, i % (size_t)heads);
  const json_t *blocks = json_object_get(root, "blocks");
  if (s == TPA_OK && (!json_is_array(blocks) || json_array_size(blocks) != (size_t)layers))
    s = tpa__error(TPA_ERR_CONFIG, "file %s: importance table: \"blocks\" must be an array of %d",
                   path, (int)layers);
  for (int32_t l = 0; s == TPA_OK && l < (int32_t)layers; l++)
    s = get_score(json_array_get(blocks, (size_t)l), path, "blocks", l, -1, false, &imp->block[l]);
  if (s == TPA_OK)
    s = parse_ffn(root, path, imp);
  if (s != TPA_OK) {
    tpa_importance_free(imp);
    return s;
  }
  *out = imp;
  return TPA_OK;
}

tpa_status tpa_importance_load(tpa_importance **out, const char *path) {
  tpa__error_clear();
  if (!out)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_importance_load: NULL out");
  *out = NULL;
  if (!path)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_importance_load: NULL path");
  json_t *root = NULL;
  tpa_status s = tpa__json_load_file(path, &root);
  if (s != TPA_OK)
    return s;
  s = parse(root, path, out);
  json_decref(root);
  return s;
}
