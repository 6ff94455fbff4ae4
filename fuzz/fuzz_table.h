/* SPDX-License-Identifier: Apache-2.0 */
/* What the table harnesses (fuzz_csv.c, fuzz_jsonl.c) share: gzip of the
 * input, the label options a selector picks, and reading a loaded table
 * whole (every text and label, every class name, the column names, the
 * metrics of a made-up prediction, a split whose two parts are read whole
 * too), checking what tpa/data.h promises and aborting otherwise. Static
 * functions: each harness is one program. */
#ifndef TPA_FUZZ_TABLE_H
#define TPA_FUZZ_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tpa/data.h"

/* Put @p size bytes in @p f, gzip-compressed first when @p compress. */
static void tbl_set(tpa_fuzz_file *f, const uint8_t *data, size_t size, bool compress) {
  if (compress)
    tpa_fuzz_file_set_gzip(f, data, size);
  else
    tpa_fuzz_file_set(f, data, size);
}

/* Label options by a 3-bit mode: 0 discovered; 1 discovered,
 * require_labels; 2 regression; 3 regression, require_labels; 4 given
 * {"negative", "positive"}; 5 given {"b", "a", "c"}; 6 given {"1", "0"};
 * 7 as 6 with require_labels. */
static void tbl_label_mode(tpa_table_params *p, unsigned mode) {
  static const char *const given[3][3] = {{"negative", "positive"}, {"b", "a", "c"}, {"1", "0"}};
  static const int32_t n_given[3] = {2, 3, 2};
  p->require_labels = mode == 1 || mode == 3 || mode == 7;
  p->regression = mode == 2 || mode == 3;
  if (mode >= 4) {
    const unsigned g = mode == 7 ? 2 : mode - 4;
    p->labels = given[g];
    p->num_labels = n_given[g];
  }
}

/* Whether @p s is well-formed UTF-8 (no surrogates, no overlong forms). */
static bool tbl_utf8_ok(const unsigned char *s) {
  while (*s) {
    const unsigned c = *s;
    const int k = c < 0x80                 ? 0
                  : c >= 0xC2 && c <= 0xDF ? 1
                  : c >= 0xE0 && c <= 0xEF ? 2
                  : c >= 0xF0 && c <= 0xF4 ? 3
                                           : -1;
    if (k < 0)
      return false;
    unsigned cp = k == 0 ? c : c & (0x3Fu >> k);
    for (int i = 1; i <= k; i++) {
      if ((s[i] & 0xC0) != 0x80)
        return false;
      cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return false;
    s += k + 1;
  }
  return true;
}

/* A non-empty, valid UTF-8 string (texts and class names are); its length. */
static size_t tbl_text(const char *s) {
  if (!s || !s[0] || !tbl_utf8_ok((const unsigned char *)s))
    abort();
  return strlen(s);
}

/* Read all of @p ds and check what tpa/data.h promises of a loaded table. */
static void tbl_exercise(const tpa_dataset *ds, size_t max_rows, bool regression) {
  const size_t n = tpa_dataset_size(ds);
  const int32_t k = tpa_dataset_num_labels(ds);
  const bool labelled = tpa_dataset_has_labels(ds);
  const bool pair = tpa_dataset_column(ds, TPA_ROLE_TEXT_PAIR) != NULL;
  if (n == 0 || (max_rows && n > max_rows) || tpa_dataset_task(ds) != TPA_TASK_COUNT)
    abort(); /* a table has examples, at most max_rows, and no GLUE task */
  if (labelled != (tpa_dataset_column(ds, TPA_ROLE_LABEL) != NULL))
    abort(); /* labels come from a label column */
  if (regression ? k != 1 : labelled ? k < 2 : k < 0)
    abort(); /* one output for regression, two classes or more otherwise */
  volatile size_t sink = 0;
  for (int r = -1; r <= 3; r++) {
    const char *col = tpa_dataset_column(ds, (tpa_dataset_role)r);
    if ((r < 0 || r > 2) ? col != NULL : (r == TPA_ROLE_TEXT && !col))
      abort(); /* there is always a text column, and only three roles */
    if (col)
      sink += strlen(col);
  }
  for (int32_t id = -1; id <= k; id++) {
    const char *name = tpa_dataset_label_name(ds, id);
    if ((id < 0 || id >= k || regression) ? name != NULL : (labelled && !name))
      abort(); /* the classes of a labelled dataset have names */
    if (name)
      sink += tbl_text(name);
  }
  for (size_t i = 0; i < n; i++) {
    const char *a = tpa_dataset_text_a(ds, i), *b = tpa_dataset_text_b(ds, i);
    sink += tbl_text(a);
    if (pair != (b != NULL))
      abort(); /* a second text exactly when there is a pair column */
    if (b)
      sink += tbl_text(b);
    const float label = tpa_dataset_label(ds, i);
    if (!labelled    ? label == label
        : regression ? !(label - label == 0.0f)
                     : !(label >= 0.0f && label < (float)k && label == (float)(int32_t)label))
      abort(); /* NaN without labels, finite values, class ids */
  }
  if (tpa_dataset_text_a(ds, n) || tpa_dataset_text_b(ds, n) ||
      tpa_dataset_label(ds, n) == tpa_dataset_label(ds, n))
    abort(); /* past the end: nothing */
  (void)sink;
}

/* The metrics of a made-up prediction, and a split read whole. */
static void tbl_use_labels(const tpa_dataset *ds, size_t seed, bool regression) {
  const size_t n = tpa_dataset_size(ds);
  const int32_t k = tpa_dataset_num_labels(ds);
  float *logits = calloc(n * (size_t)k, sizeof *logits), *gold = malloc(n * sizeof *gold);
  if (!logits || !gold)
    abort();
  for (size_t i = 0; i < n; i++) {
    gold[i] = tpa_dataset_label(ds, i);
    logits[i * (size_t)k + (i * 7 + seed) % (size_t)k] = (float)(i % 5);
  }
  tpa_metrics m = {.size = sizeof m};
  tpa_metrics_extra x = {.size = sizeof x};
  tpa_status st = tpa_fuzz_report("metrics", tpa_dataset_metrics(ds, logits, gold, n, &m, &x));
  if (st != TPA_OK && st != TPA_ERR_NO_MEMORY)
    abort(); /* gold labels and finite logits always score */
  free(logits);
  free(gold);

  tpa_dataset *kept = (tpa_dataset *)1, *held = (tpa_dataset *)1;
  if (tpa_fuzz_report("split", tpa_dataset_split(ds, 0.3, seed, &kept, &held)) != TPA_OK) {
    if (kept || held)
      abort(); /* both NULL on failure */
    return;
  }
  if (tpa_dataset_size(kept) + tpa_dataset_size(held) != n || tpa_dataset_num_labels(kept) != k ||
      tpa_dataset_num_labels(held) != k)
    abort(); /* every example on one side, the same classes on both */
  for (int32_t id = 0; id < k; id++) {
    const char *a = tpa_dataset_label_name(ds, id);
    const char *b = tpa_dataset_label_name(kept, id), *c = tpa_dataset_label_name(held, id);
    if ((a == NULL) != (b == NULL) || (a == NULL) != (c == NULL) ||
        (a && (strcmp(a, b) != 0 || strcmp(a, c) != 0)))
      abort();
  }
  for (int r = 0; r < 3; r++) {
    const char *a = tpa_dataset_column(ds, (tpa_dataset_role)r);
    const char *b = tpa_dataset_column(held, (tpa_dataset_role)r);
    if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
      abort();
  }
  tbl_exercise(kept, 0, regression);
  tbl_exercise(held, 0, regression);
  tpa_dataset_free(kept);
  tpa_dataset_free(held);
}

/* Load @p path with @p p (reported as @p what), then read the result whole. */
static void tbl_run(const char *what, const char *path, const tpa_table_params *p, size_t seed) {
  tpa_dataset *ds = (tpa_dataset *)1;
  if (tpa_fuzz_report(what, tpa_dataset_load_table(&ds, path, p)) != TPA_OK) {
    if (ds != NULL)
      abort(); /* nothing is returned on failure */
    return;
  }
  tbl_exercise(ds, p->max_rows, p->regression);
  if (p->labels && tpa_dataset_num_labels(ds) != p->num_labels)
    abort(); /* the classes are the ones given */
  for (int32_t id = 0; p->labels && id < p->num_labels; id++)
    if (strcmp(tpa_dataset_label_name(ds, id), p->labels[id]) != 0)
      abort();
  if (tpa_dataset_has_labels(ds))
    tbl_use_labels(ds, seed, p->regression);
  tpa_dataset_free(ds);
}

#endif
