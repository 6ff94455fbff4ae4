/* SPDX-License-Identifier: Apache-2.0 */
/* Thin helpers over jansson: load a JSON object from a file or buffer with
 * an error that names the file, line and column, and typed getters that
 * name the key and file when a value has the wrong type. */
#ifndef TPA_IO_JSON_H
#define TPA_IO_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "tpa/common.h"

/* Largest JSON file read whole (config files are a few kB). */
#define TPA__JSON_MAX_FILE ((size_t)64 << 20)

/* Load @p path, which must hold a JSON object, into *out (json_decref it).
 * Missing file: TPA_ERR_NOT_FOUND; bad JSON or not an object: TPA_ERR_JSON
 * with "file PATH line L column C: <reason>". */
tpa_status tpa__json_load_file(const char *path, json_t **out);

/* Parse @p len bytes (need not be NUL-terminated) as a JSON object.
 * @p what names the source in messages; failures return @p bad.
 * @p reject_dups refuses repeated keys (jansson's JSON_REJECT_DUPLICATES). */
tpa_status tpa__json_parse(const char *buf, size_t len, const char *what, tpa_status bad,
                           bool reject_dups, json_t **out);

/* Typed getters for optional keys: when @p key is absent or null, *out is
 * left unchanged (it holds the default) and *found (if non-NULL) is false.
 * A value of the wrong type returns @p bad with a message naming the key
 * and @p file. */
tpa_status tpa__json_get_int(const json_t *obj, const char *key, const char *file, tpa_status bad,
                             int64_t *out, bool *found);
/* Accepts JSON integers and reals. */
tpa_status tpa__json_get_real(const json_t *obj, const char *key, const char *file, tpa_status bad,
                              double *out, bool *found);
tpa_status tpa__json_get_bool(const json_t *obj, const char *key, const char *file, tpa_status bad,
                              bool *out, bool *found);
/* *out is borrowed from @p obj. */
tpa_status tpa__json_get_string(const json_t *obj, const char *key, const char *file,
                                tpa_status bad, const char **out, bool *found);
/* An object or array value (borrowed), type checked by @p type. */
tpa_status tpa__json_get_typed(const json_t *obj, const char *key, const char *file, tpa_status bad,
                               json_type type, const json_t **out, bool *found);

/* Write @p root (json_dumps with @p flags) plus a final newline as the
 * whole of dir/name, atomically. */
tpa_status tpa__json_save(const char *dir, const char *name, const json_t *root, size_t flags);

/* Ascending ORIGINAL ids of the heads @p layer keeps, and their count. */
typedef const int32_t *(*tpa__kept_heads_fn)(const void *ctx, int32_t layer, int32_t *n_kept);

/* HF's pruned_heads, {"layer": [ORIGINAL ids removed]}, for the layers
 * (of @p heads heads each) that lost any; NULL when out of memory. Shared
 * by config.json (model/save.c) and adapter_config.json (adapter_io.c). */
json_t *tpa__json_pruned_heads(int32_t layers, int32_t heads, tpa__kept_heads_fn kept,
                               const void *ctx);

#endif
