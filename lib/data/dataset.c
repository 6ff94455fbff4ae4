/* SPDX-License-Identifier: Apache-2.0 */
/* GLUE TSV files (docs/method.md section 3). The whole file is read into one
 * buffer and parsed in place: tabs and line ends become NULs, and each
 * example keeps pointers to its text fields inside that buffer, so a load
 * costs two allocations (the text and the example array), not one per
 * field. GLUE's TSVs have no quoting: a field is everything between tabs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "data/read_all.h"
#include "data/score.h"
#include "data/task.h"
#include "text/utf8.h"
#include "tpa/data.h"

typedef struct tpa__example {
  const char *a; /* first text, NUL-terminated inside tpa_dataset.text */
  const char *b; /* second text, NULL for single-sentence tasks */
  float label;   /* class id, or the STS-B score */
} tpa__example;

struct tpa_dataset {
  tpa_task task;
  size_t n;
  char *text;             /* the file's bytes, fields cut by NULs */
  tpa__example *examples; /* n entries */
};

/* What every row needs in order to report an error. */
typedef struct row_ctx {
  const char *path;
  const tpa__task_info *info;
  size_t line; /* 1-based physical line number in the file */
} row_ctx;

static const tpa_dataset_params default_params = {.size = sizeof(tpa_dataset_params),
                                                  .max_rows = 0};

TPA_API void tpa_dataset_params_init(tpa_dataset_params *p, size_t size) {
  tpa__params_init(p, size, &default_params, sizeof default_params);
}

static tpa_status parse_label(const row_ctx *c, const char *field, float *label) {
  const tpa__task_info *info = c->info;
  if (info->num_labels == 1) {
    double score;
    if (!tpa__parse_decimal(field, &score))
      return tpa__error(TPA_ERR_DATA, "%s:%zu: score \"%.40s\" is not a number", c->path, c->line,
                        field);
    if (!(score >= 0.0 && score <= TPA__STSB_MAX_SCORE))
      return tpa__error(TPA_ERR_DATA, "%s:%zu: score %.40s is outside 0 to 5", c->path, c->line,
                        field);
    *label = (float)score;
    return TPA_OK;
  }
  for (int32_t k = 0; k < info->num_labels; k++) {
    if (strcmp(field, info->labels[k]) == 0) {
      *label = (float)k;
      return TPA_OK;
    }
  }
  return tpa__error(TPA_ERR_DATA, "%s:%zu: unknown label \"%.40s\" (expected %s, %s%s%s)", c->path,
                    c->line, field, info->labels[0], info->labels[1],
                    info->num_labels > 2 ? ", " : "", info->num_labels > 2 ? info->labels[2] : "");
}

/* Parse the line [s, end) (its terminator already excluded) into @p ex.
 * Writes NULs over the line's tabs and over *end. */
static tpa_status parse_row(const row_ctx *c, char *s, char *end, tpa__example *ex) {
  size_t len = (size_t)(end - s);
  size_t bad = tpa__utf8_check((const unsigned char *)s, len);
  if (bad != len)
    return tpa__error(TPA_ERR_DATA, "%s:%zu: %s at byte %zu of the line", c->path, c->line,
                      s[bad] == '\0' ? "NUL byte" : "invalid UTF-8", bad + 1);
  *end = '\0';
  const tpa__task_info *info = c->info;
  char *a = NULL, *b = NULL, *label = NULL, *last = s;
  int32_t col = 0;
  for (char *f = s;; col++) {
    if (col == info->col_a)
      a = f;
    if (col == info->col_b)
      b = f;
    if (col == info->col_label)
      label = f;
    last = f;
    char *tab = memchr(f, '\t', (size_t)(end - f));
    if (!tab)
      break;
    *tab = '\0';
    f = tab + 1;
  }
  if (col + 1 < info->min_cols)
    return tpa__error(TPA_ERR_DATA, "%s:%zu: %d column%s, %s needs at least %d", c->path, c->line,
                      (int)(col + 1), col == 0 ? "" : "s", info->name, (int)info->min_cols);
  if (info->col_label == TPA__COL_LAST)
    label = last;
  ex->a = a;
  ex->b = b;
  return parse_label(c, label, &ex->label);
}

static bool only_blank_lines(const char *s, const char *end) {
  for (; s < end; s++)
    if (*s != '\n' && *s != '\r')
      return false;
  return true;
}

static size_t count_lines(const char *s, const char *end) {
  size_t n = 1;
  while ((s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
    n++;
    s++;
  }
  return n;
}

/* Fill ds->examples from ds->text (of @p len bytes). */
static tpa_status parse_file(tpa_dataset *ds, const char *path, size_t len, size_t max_rows) {
  row_ctx c = {path, tpa__task_info_get(ds->task), 1};
  char *s = ds->text, *end = ds->text + len;
  /* GLUE's MRPC files start with a UTF-8 byte order mark. */
  if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
    s += 3;
  if (c.info->header && s < end) {
    char *nl = memchr(s, '\n', (size_t)(end - s));
    s = nl ? nl + 1 : end;
    c.line++;
  }
  size_t cap = count_lines(s, end);
  if (max_rows > 0 && max_rows < cap)
    cap = max_rows;
  ds->examples = tpa__malloc_array(cap, sizeof *ds->examples);
  if (!ds->examples)
    return TPA__NO_MEMORY(path);
  for (; s < end && ds->n < cap; c.line++) {
    char *nl = memchr(s, '\n', (size_t)(end - s));
    char *next = nl ? nl + 1 : end;
    char *stop = nl ? nl : end;
    if (stop > s && stop[-1] == '\r') /* CRLF line ends */
      stop--;
    if (stop == s) {
      /* Blank lines at the very end are an editor's habit; elsewhere they
       * mean a damaged file. */
      if (only_blank_lines(s, end))
        break;
      return tpa__error(TPA_ERR_DATA, "%s:%zu: empty line, %s needs at least %d columns", path,
                        c.line, c.info->name, (int)c.info->min_cols);
    }
    tpa_status st = parse_row(&c, s, stop, &ds->examples[ds->n]);
    if (st != TPA_OK)
      return st;
    ds->n++;
    s = next;
  }
  if (ds->n == 0)
    return tpa__error(TPA_ERR_DATA, "%s:%zu: no examples%s", path, c.line > 1 ? c.line - 1 : 1,
                      c.info->header ? " after the header" : "");
  return TPA_OK;
}

TPA_API tpa_status tpa_dataset_load(tpa_dataset **out, tpa_task task, const char *path,
                                    const tpa_dataset_params *params) {
  tpa__error_clear();
  if (!out)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_dataset_load: out is NULL");
  *out = NULL;
  if (!path)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_dataset_load: path is NULL");
  if (!tpa__task_info_get(task))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_dataset_load: invalid task %d", (int)task);
  tpa_dataset_params p;
  tpa_status ps =
      tpa__params_read(&p, sizeof p, TPA__PARAMS_END(tpa_dataset_params, max_rows), params,
                       &default_params, "tpa_dataset_load", "tpa_dataset_params");
  if (ps != TPA_OK)
    return ps;

  tpa_dataset *ds = calloc(1, sizeof *ds);
  if (!ds)
    return TPA__NO_MEMORY("dataset");
  ds->task = task;
  size_t len = 0;
  tpa_status st = tpa__read_all(path, &ds->text, &len);
  if (st == TPA_OK)
    st = parse_file(ds, path, len, p.max_rows);
  if (st != TPA_OK) {
    tpa_dataset_free(ds);
    return st;
  }
  *out = ds;
  return TPA_OK;
}

TPA_API void tpa_dataset_free(tpa_dataset *ds) {
  if (!ds)
    return;
  free(ds->examples);
  free(ds->text);
  free(ds);
}

TPA_API size_t tpa_dataset_size(const tpa_dataset *ds) {
  return ds ? ds->n : 0;
}

TPA_API tpa_task tpa_dataset_task(const tpa_dataset *ds) {
  /* A NULL dataset has no task: answer with a value that no tpa_task has,
   * which tpa_task_name() and friends reject. */
  return ds ? ds->task : (tpa_task)TPA_TASK_COUNT;
}

TPA_API const char *tpa_dataset_text_a(const tpa_dataset *ds, size_t i) {
  return ds && i < ds->n ? ds->examples[i].a : NULL;
}

TPA_API const char *tpa_dataset_text_b(const tpa_dataset *ds, size_t i) {
  return ds && i < ds->n ? ds->examples[i].b : NULL;
}

TPA_API float tpa_dataset_label(const tpa_dataset *ds, size_t i) {
  return ds && i < ds->n ? ds->examples[i].label : NAN;
}
