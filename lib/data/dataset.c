/* SPDX-License-Identifier: Apache-2.0 */
/* GLUE TSV files (docs/method.md section 3) and the dataset accessors. The
 * whole file is read into one buffer and parsed in place: tabs and line
 * ends become NULs, and each example keeps pointers to its text fields
 * inside that buffer, so a load costs two allocations (the text and the
 * example array), not one per field. GLUE's TSVs have no quoting: a field
 * is everything between tabs. A task's test.tsv (an index column, the
 * texts, no label) is recognised by its header and read without labels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "data/dataset.h"
#include "data/read_all.h"
#include "data/score.h"
#include "data/task.h"
#include "text/utf8.h"
#include "tpa/data.h"

/* Where a file's columns are: the task table's for train and dev files,
 * found by header name for a test file. */
typedef struct layout {
  int32_t col_a, col_b, col_label; /* col_label TPA__COL_NONE: no labels */
  int32_t min_cols;
} layout;

/* What every row needs in order to report an error. */
typedef struct row_ctx {
  const char *path;
  const tpa__task_info *info;
  layout lay;
  size_t line; /* 1-based physical line number in the file */
} row_ctx;

/* GLUE's test.tsv headers: an index column ("id" for QQP) and the texts
 * under these names, without the label column that train and dev name
 * label_header. Indexed by tpa_task. */
static const struct {
  const char *a, *b, *label_header;
} test_names[TPA_TASK_COUNT] = {
    [TPA_TASK_COLA] = {"sentence", NULL, NULL},
    [TPA_TASK_SST2] = {"sentence", NULL, "label"},
    [TPA_TASK_MRPC] = {"#1 String", "#2 String", "Quality"},
    [TPA_TASK_STSB] = {"sentence1", "sentence2", "score"},
    [TPA_TASK_QQP] = {"question1", "question2", "is_duplicate"},
    [TPA_TASK_MNLI] = {"sentence1", "sentence2", "gold_label"},
    [TPA_TASK_QNLI] = {"question", "sentence", "label"},
    [TPA_TASK_RTE] = {"sentence1", "sentence2", "label"},
    [TPA_TASK_WNLI] = {"sentence1", "sentence2", "label"},
};

tpa_dataset *tpa__dataset_new(tpa_task task) {
  tpa_dataset *ds = calloc(1, sizeof *ds);
  if (ds) {
    ds->task = task;
    ds->num_labels = tpa_task_num_labels(task);
    ds->has_labels = true;
  }
  return ds;
}

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
  const layout *lay = &c->lay;
  char *a = NULL, *b = NULL, *label = NULL, *last = s;
  int32_t col = 0;
  for (char *f = s;; col++) {
    if (col == lay->col_a)
      a = f;
    if (col == lay->col_b)
      b = f;
    if (col == lay->col_label)
      label = f;
    last = f;
    char *tab = memchr(f, '\t', (size_t)(end - f));
    if (!tab)
      break;
    *tab = '\0';
    f = tab + 1;
  }
  if (col + 1 < lay->min_cols)
    return tpa__error(TPA_ERR_DATA, "%s:%zu: %d column%s, %s needs at least %d", c->path, c->line,
                      (int)(col + 1), col == 0 ? "" : "s", info->name, (int)lay->min_cols);
  if (lay->col_label == TPA__COL_LAST)
    label = last;
  ex->a = a;
  ex->b = b;
  if (lay->col_label == TPA__COL_NONE) {
    ex->label = NAN;
    return TPA_OK;
  }
  return parse_label(c, label, &ex->label);
}

static bool only_blank_lines(const char *s, const char *end) {
  for (; s < end; s++)
    if (*s != '\n' && *s != '\r')
      return false;
  return true;
}

/* Field @p col of the tab-separated line [s, end), as [*f, *f_end). */
static bool nth_field(const char *s, const char *end, int32_t col, const char **f,
                      const char **f_end) {
  for (int32_t i = 0;; i++) {
    const char *tab = memchr(s, '\t', (size_t)(end - s));
    const char *stop = tab ? tab : end;
    if (i == col) {
      *f = s;
      *f_end = stop;
      return true;
    }
    if (!tab)
      return false;
    s = tab + 1;
  }
}

static int32_t field_index(const char *s, const char *end, const char *name) {
  const char *f, *f_end;
  for (int32_t i = 0; nth_field(s, end, i, &f, &f_end); i++)
    if ((size_t)(f_end - f) == strlen(name) && memcmp(f, name, (size_t)(f_end - f)) == 0)
      return i;
  return -1;
}

/* Whether the header line [s, end) is a GLUE test file's: it starts with
 * an index column and lacks the label column. Then *lay gets its texts. */
static bool test_layout(tpa_task task, const char *s, const char *end, layout *lay) {
  const char *f, *f_end;
  if (!nth_field(s, end, 0, &f, &f_end))
    return false;
  const size_t n = (size_t)(f_end - f);
  if (!((n == 5 && memcmp(f, "index", 5) == 0) || (n == 2 && memcmp(f, "id", 2) == 0)))
    return false;
  const char *label = test_names[task].label_header;
  if (label && field_index(s, end, label) >= 0)
    return false;
  const int32_t a = field_index(s, end, test_names[task].a);
  const int32_t b = test_names[task].b ? field_index(s, end, test_names[task].b) : TPA__COL_NONE;
  if (a < 0 || (test_names[task].b && b < 0))
    return false;
  *lay = (layout){a, b, TPA__COL_NONE, (a > b ? a : b) + 1};
  return true;
}

/* Fill ds->examples from ds->text (of @p len bytes). */
static tpa_status parse_file(tpa_dataset *ds, const char *path, size_t len, size_t max_rows) {
  const tpa__task_info *info = tpa__task_info_get(ds->task);
  row_ctx c = {path, info, {info->col_a, info->col_b, info->col_label, info->min_cols}, 1};
  char *s = ds->text, *end = ds->text + len;
  /* GLUE's MRPC files start with a UTF-8 byte order mark. */
  if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
    s += 3;
  const char *first_nl = memchr(s, '\n', (size_t)(end - s));
  const char *first_end = first_nl ? first_nl : end;
  if (first_end > s && first_end[-1] == '\r')
    first_end--;
  /* CoLA's train and dev files have no header, but its test file has. */
  const bool test = test_layout(ds->task, s, first_end, &c.lay);
  if (test)
    ds->has_labels = false;
  if ((c.info->header || test) && s < end) {
    char *nl = memchr(s, '\n', (size_t)(end - s));
    s = nl ? nl + 1 : end;
    c.line++;
  }
  size_t cap = tpa__count_lines(s, end);
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

  tpa_dataset *ds = tpa__dataset_new(task);
  if (!ds)
    return TPA__NO_MEMORY("dataset");
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
  if (ds->label_names)
    for (int32_t i = 0; i < ds->num_labels; i++)
      free(ds->label_names[i]);
  free(ds->label_names);
  for (int i = 0; i < 3; i++)
    free(ds->columns[i]);
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

TPA_API int32_t tpa_dataset_num_labels(const tpa_dataset *ds) {
  return ds ? ds->num_labels : 0;
}

TPA_API const char *tpa_dataset_label_name(const tpa_dataset *ds, int32_t id) {
  if (!ds || id < 0 || id >= ds->num_labels)
    return NULL;
  if (ds->task < TPA_TASK_COUNT)
    return tpa_task_label_name(ds->task, id);
  return ds->label_names ? ds->label_names[id] : NULL;
}

TPA_API bool tpa_dataset_has_labels(const tpa_dataset *ds) {
  return ds && ds->has_labels;
}

TPA_API const char *tpa_dataset_column(const tpa_dataset *ds, tpa_dataset_role role) {
  if (!ds || (unsigned)role > TPA_ROLE_LABEL)
    return NULL;
  return ds->columns[role];
}
