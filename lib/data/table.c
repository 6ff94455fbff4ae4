/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_dataset_load_table: the user's own CSV, TSV and JSON Lines files.
 * The file is read whole (gzip or not, data/read_all.c), checked for
 * UTF-8 once, and its records parsed in place (csv.c, jsonl.c); each
 * example points at its texts in that buffer. Columns are resolved from
 * the header (CSV, TSV) or the first object's keys (JSON Lines); labels
 * become class ids in labels.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "data/dataset.h"
#include "data/labels.h"
#include "data/read_all.h"
#include "data/records.h"
#include "text/utf8.h"

static const tpa_table_params table_defaults = {.size = sizeof(tpa_table_params)};

TPA_API void tpa_table_params_init(tpa_table_params *p, size_t size) {
  tpa__params_init(p, size, &table_defaults, sizeof table_defaults);
}

/* ASCII case-insensitive suffix test. */
static bool ends_with(const char *s, size_t n, const char *suffix) {
  size_t k = strlen(suffix);
  if (n < k)
    return false;
  for (size_t i = 0; i < k; i++) {
    char ch = s[n - k + i];
    if ((ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch) != suffix[i])
      return false;
  }
  return true;
}

static tpa_status format_of(const char *path, tpa_table_format given, tpa_table_format *out) {
  if (given != TPA_TABLE_AUTO) {
    if (given < TPA_TABLE_CSV || given > TPA_TABLE_JSONL)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_dataset_load_table: invalid format %d",
                        (int)given);
    *out = given;
    return TPA_OK;
  }
  size_t n = strlen(path);
  if (ends_with(path, n, ".gz"))
    n -= 3;
  if (ends_with(path, n, ".csv"))
    *out = TPA_TABLE_CSV;
  else if (ends_with(path, n, ".tsv"))
    *out = TPA_TABLE_TSV;
  else if (ends_with(path, n, ".jsonl") || ends_with(path, n, ".ndjson"))
    *out = TPA_TABLE_JSONL;
  else
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "%s: cannot tell the format from the name (.csv, .tsv, .jsonl or .ndjson, "
                      "each optionally .gz): give it (--format csv|tsv|jsonl)",
                      path);
  return TPA_OK;
}

/* The reading state of one load. */
typedef struct loader {
  const char *path;
  tpa_table_format format;
  tpa__cursor cur;
  tpa__record rec;
  char **names; /* column names: header fields or the first object's keys */
  size_t n_names;
  long col[3]; /* column index by tpa_dataset_role, -1 none */
  size_t header_line;
} loader;

static tpa_status next(loader *L, bool *got) {
  if (L->format == TPA_TABLE_JSONL)
    return tpa__jsonl_next(&L->cur, &L->rec, got);
  return tpa__csv_next(&L->cur, L->format == TPA_TABLE_CSV ? ',' : '\t', &L->rec, got);
}

static long column_named(const loader *L, const char *name) {
  for (size_t i = 0; i < L->n_names; i++)
    if (strcmp(L->names[i], name) == 0)
      return (long)i;
  return -1;
}

/* "a", "b", "c" (at most about 400 bytes) for messages. */
static const char *list_columns(const loader *L, char *buf, size_t cap) {
  size_t at = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < L->n_names && at + 8 < cap; i++) {
    int w = snprintf(buf + at, cap - at, "%s\"%.40s\"", i ? ", " : "", L->names[i]);
    if (w < 0 || (size_t)w >= cap - at) {
      snprintf(buf + at, cap - at, ", ...");
      break;
    }
    at += (size_t)w;
  }
  return buf;
}

/* A column by name, else by 1-based number. */
static tpa_status resolve(const loader *L, const char *option, const char *spec, long *out) {
  long i = column_named(L, spec);
  if (i < 0) {
    char *end = NULL;
    long v = spec[0] >= '1' && spec[0] <= '9' ? strtol(spec, &end, 10) : 0;
    if (end && *end == '\0' && v >= 1 && (size_t)v <= L->n_names)
      i = v - 1;
  }
  if (i < 0) {
    char buf[512];
    return tpa__error(TPA_ERR_DATA, "%s: no column \"%.64s\" for the %s (the file has %s)", L->path,
                      spec, option, list_columns(L, buf, sizeof buf));
  }
  *out = i;
  return TPA_OK;
}

static tpa_status pick_columns(loader *L, const tpa_table_params *p) {
  tpa_status st;
  L->col[TPA_ROLE_TEXT] = L->col[TPA_ROLE_TEXT_PAIR] = L->col[TPA_ROLE_LABEL] = -1;
  if (p->text_column) {
    if ((st = resolve(L, "text column", p->text_column, &L->col[TPA_ROLE_TEXT])) != TPA_OK)
      return st;
  } else {
    /* The usual names, and the pair that goes with each: "text" alone,
     * sentence1 with sentence2, question with sentence (QNLI), else a
     * lone "sentence". */
    static const char *const text[] = {"text", "sentence1", "question", "sentence"};
    static const char *const pair[] = {NULL, "sentence2", "sentence", NULL};
    for (size_t i = 0; i < 4 && L->col[TPA_ROLE_TEXT] < 0; i++) {
      L->col[TPA_ROLE_TEXT] = column_named(L, text[i]);
      if (L->col[TPA_ROLE_TEXT] >= 0 && pair[i] && !p->text_pair_column)
        L->col[TPA_ROLE_TEXT_PAIR] = column_named(L, pair[i]);
    }
    if (L->col[TPA_ROLE_TEXT] < 0) {
      char buf[512];
      return tpa__error(TPA_ERR_DATA,
                        "%s: no text column: none is called text, sentence1, question or "
                        "sentence, so name one (--text-column; the file has %s)",
                        L->path, list_columns(L, buf, sizeof buf));
    }
  }
  if (p->text_pair_column && p->text_pair_column[0] &&
      (st = resolve(L, "text pair column", p->text_pair_column, &L->col[TPA_ROLE_TEXT_PAIR])) !=
          TPA_OK)
    return st;
  if (p->label_column && p->label_column[0]) {
    if ((st = resolve(L, "label column", p->label_column, &L->col[TPA_ROLE_LABEL])) != TPA_OK)
      return st;
  } else if (!p->label_column) {
    L->col[TPA_ROLE_LABEL] = column_named(L, "label");
    if (L->col[TPA_ROLE_LABEL] < 0 && p->require_labels) {
      char buf[512];
      return tpa__error(TPA_ERR_DATA, "%s: no column \"label\" (the file has %s)", L->path,
                        list_columns(L, buf, sizeof buf));
    }
  }
  for (int a = 0; a < 3; a++)
    for (int b = a + 1; b < 3; b++)
      if (L->col[a] >= 0 && L->col[a] == L->col[b])
        return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: column \"%.64s\" is used twice", L->path,
                          L->names[L->col[a]]);
  return TPA_OK;
}

/* Header: the first record's fields (CSV, TSV) or keys (JSON Lines). */
static tpa_status read_header(loader *L, bool *first_is_data) {
  bool got;
  tpa_status st = next(L, &got);
  if (st != TPA_OK)
    return st;
  if (!got)
    return tpa__error(TPA_ERR_DATA, "%s: empty file (no header, no examples)", L->path);
  L->n_names = L->rec.n;
  L->header_line = L->rec.line;
  L->names = L->format == TPA_TABLE_JSONL ? L->rec.key : L->rec.value;
  *first_is_data = L->format == TPA_TABLE_JSONL;
  /* Keep the names: the record's arrays are reused for the next rows. */
  char **copy = tpa__malloc_array(L->n_names ? L->n_names : 1, sizeof *copy);
  if (!copy) {
    L->names = NULL; /* still the record's array, which the caller frees */
    return TPA__NO_MEMORY("header");
  }
  if (L->n_names) /* "{}" has no keys: rec.key may still be NULL */
    memcpy(copy, L->names, L->n_names * sizeof *copy);
  L->names = copy;
  for (size_t i = 0; i < L->n_names; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp(L->names[i], L->names[j]) == 0)
        return tpa__error(TPA_ERR_DATA, "%s:%zu: column name \"%.64s\" appears twice (%zu and %zu)",
                          L->path, L->rec.line, L->names[i], j + 1, i + 1);
  return TPA_OK;
}

static const char *role_name[3] = {"text", "text pair", "label"};

/* The value of @p role in the current record; NULL when the role is unused. */
static tpa_status field(const loader *L, int role, const char **out) {
  *out = NULL;
  const long col = L->col[role];
  if (col < 0)
    return TPA_OK;
  const tpa__record *r = &L->rec;
  const char *name = L->names[col];
  if (L->format != TPA_TABLE_JSONL) {
    *out = r->value[col]; /* the record's width was checked by read_rows */
  } else {
    /* JSON allows a key twice; the last one counts, as in Python. */
    size_t i = r->n;
    while (i > 0 && strcmp(r->key[i - 1], name) != 0)
      i--;
    if (i == 0)
      return tpa__error(TPA_ERR_DATA, "%s:%zu: no key \"%.64s\" (the %s)", L->path, r->line, name,
                        role_name[role]);
    const uint8_t kind = r->kind[i - 1];
    if (kind == TPA__JSON_NULL || kind == TPA__JSON_NESTED)
      return tpa__error(TPA_ERR_DATA,
                        "%s:%zu: key \"%.64s\" (the %s) is %s; a string, number or boolean is "
                        "needed",
                        L->path, r->line, name, role_name[role],
                        kind == TPA__JSON_NULL ? "null" : "an array or object");
    *out = r->value[i - 1];
  }
  if (role != TPA_ROLE_LABEL && **out == '\0')
    return tpa__error(TPA_ERR_DATA, "%s:%zu: empty text in column \"%.64s\"", L->path, r->line,
                      name);
  if (role == TPA_ROLE_LABEL && **out == '\0')
    return tpa__error(TPA_ERR_DATA, "%s:%zu: empty label in column \"%.64s\"", L->path, r->line,
                      name);
  return TPA_OK;
}

static tpa_status check_utf8(const char *path, const char *s, size_t len) {
  size_t bad = tpa__utf8_check((const unsigned char *)s, len);
  if (bad == len)
    return TPA_OK;
  size_t line = 1, col = 1;
  for (size_t i = 0; i < bad; i++, col++)
    if (s[i] == '\n')
      line++, col = 0;
  return tpa__error(TPA_ERR_DATA, "%s:%zu: %s at byte %zu of the line", path, line,
                    s[bad] == '\0' ? "NUL byte" : "invalid UTF-8", col);
}

/* Read every record into ds->examples, keeping label strings and lines. */
static tpa_status read_rows(loader *L, tpa_dataset *ds, bool first_is_data, size_t max_rows,
                            char ***labels, size_t **lines) {
  size_t cap = tpa__count_lines(L->cur.p, L->cur.end) + 1;
  if (max_rows > 0 && max_rows < cap)
    cap = max_rows;
  ds->examples = tpa__malloc_array(cap, sizeof *ds->examples);
  const bool labelled = L->col[TPA_ROLE_LABEL] >= 0;
  if (labelled) {
    *labels = tpa__malloc_array(cap, sizeof **labels);
    *lines = tpa__malloc_array(cap, sizeof **lines);
  }
  if (!ds->examples || (labelled && (!*labels || !*lines)))
    return TPA__NO_MEMORY(L->path);
  bool got = first_is_data;
  tpa_status st = TPA_OK;
  if (!got)
    st = next(L, &got);
  while (st == TPA_OK && got && ds->n < cap) {
    tpa__example *ex = &ds->examples[ds->n];
    const char *label = NULL;
    const tpa__record *r = &L->rec;
    if (L->format != TPA_TABLE_JSONL && r->n != L->n_names) {
      st = tpa__error(TPA_ERR_DATA, "%s:%zu: %zu field%s but the header has %zu", L->path, r->line,
                      r->n, r->n == 1 ? "" : "s", L->n_names);
      break;
    }
    if ((st = field(L, TPA_ROLE_TEXT, &ex->a)) != TPA_OK ||
        (st = field(L, TPA_ROLE_TEXT_PAIR, &ex->b)) != TPA_OK ||
        (st = field(L, TPA_ROLE_LABEL, &label)) != TPA_OK)
      break;
    ex->label = NAN;
    if (labelled) {
      (*labels)[ds->n] = (char *)label;
      (*lines)[ds->n] = L->rec.line;
    }
    ds->n++;
    if (ds->n < cap)
      st = next(L, &got);
  }
  if (st == TPA_OK && ds->n == 0)
    st = tpa__error(TPA_ERR_DATA, "%s:%zu: no examples after the header", L->path, L->header_line);
  return st;
}

static tpa_status load(loader *L, tpa_dataset *ds, const tpa_table_params *p) {
  size_t len = 0;
  tpa_status st = tpa__read_all(L->path, &ds->text, &len);
  if (st != TPA_OK)
    return st;
  char *s = ds->text;
  if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
    s += 3;
  if ((st = check_utf8(L->path, s, len - (size_t)(s - ds->text))) != TPA_OK)
    return st;
  L->cur = (tpa__cursor){s, ds->text + len, 1, L->path};
  bool first_is_data = false;
  if ((st = read_header(L, &first_is_data)) != TPA_OK || (st = pick_columns(L, p)) != TPA_OK)
    return st;
  for (int role = 0; role < 3; role++)
    if (L->col[role] >= 0 && !(ds->columns[role] = strdup(L->names[L->col[role]])))
      return TPA__NO_MEMORY("columns");
  char **labels = NULL;
  size_t *lines = NULL;
  st = read_rows(L, ds, first_is_data, p->max_rows, &labels, &lines);
  if (st == TPA_OK && L->col[TPA_ROLE_LABEL] >= 0) {
    const tpa__label_src src = {L->path, ds->columns[TPA_ROLE_LABEL], labels, lines, ds->n};
    st = p->regression ? tpa__labels_values(&src, ds)
                       : tpa__labels_classes(&src, p->labels, p->labels ? p->num_labels : 0, ds);
    ds->has_labels = true;
  } else if (st == TPA_OK) {
    /* Unlabeled: the classes are the ones given, if any. */
    ds->has_labels = false;
    ds->num_labels = p->regression ? 1 : p->labels ? p->num_labels : 0;
    if (!p->regression && p->labels &&
        !(ds->label_names = tpa__labels_copy(p->labels, p->num_labels)))
      st = TPA__NO_MEMORY("labels");
  }
  free(labels);
  free(lines);
  return st;
}

static tpa_status check_params(const tpa_table_params *p) {
  if (p->labels && p->regression)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_dataset_load_table: class labels and regression exclude each other");
  if (p->labels && (p->num_labels < 2 || p->num_labels > TPA__DATA_MAX_CLASSES))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_dataset_load_table: %d labels given; classification needs 2 to %d",
                      (int)p->num_labels, TPA__DATA_MAX_CLASSES);
  for (int32_t i = 0; p->labels && i < p->num_labels; i++)
    if (!p->labels[i] || !p->labels[i][0])
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_dataset_load_table: label %d is %s", (int)i,
                        p->labels[i] ? "empty" : "NULL");
  return TPA_OK;
}

TPA_API tpa_status tpa_dataset_load_table(tpa_dataset **out, const char *path,
                                          const tpa_table_params *params) {
  tpa__error_clear();
  if (!out)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_dataset_load_table: out is NULL");
  *out = NULL;
  if (!path)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_dataset_load_table: path is NULL");
  tpa_table_params p;
  tpa_status st =
      tpa__params_read(&p, sizeof p, TPA__PARAMS_END(tpa_table_params, max_rows), params,
                       &table_defaults, "tpa_dataset_load_table", "tpa_table_params");
  if (st != TPA_OK || (st = check_params(&p)) != TPA_OK)
    return st;
  loader L = {.path = path};
  if ((st = format_of(path, p.format, &L.format)) != TPA_OK)
    return st;
  tpa_dataset *ds = tpa__dataset_new((tpa_task)TPA_TASK_COUNT);
  if (!ds)
    return TPA__NO_MEMORY("dataset");
  st = load(&L, ds, &p);
  free(L.names);
  tpa__record_free(&L.rec);
  if (st != TPA_OK) {
    tpa_dataset_free(ds);
    return st;
  }
  *out = ds;
  return TPA_OK;
}
