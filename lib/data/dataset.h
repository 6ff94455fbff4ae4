/* SPDX-License-Identifier: Apache-2.0 */
/* The dataset object shared by its two readers: GLUE's task files
 * (dataset.c) and tables of the user's own (table.c). Both read the whole
 * file into one buffer and parse it in place, so each example's texts are
 * pointers into that buffer; a split copies what it keeps (split.c). */
#ifndef TPA_DATA_DATASET_H
#define TPA_DATA_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpa/data.h"

typedef struct tpa__example {
  const char *a; /* first text, NUL-terminated inside tpa_dataset.text */
  const char *b; /* second text, NULL without a pair */
  float label;   /* class id, the regression value, or NaN without labels */
} tpa__example;

struct tpa_dataset {
  tpa_task task; /* GLUE task, or TPA_TASK_COUNT for a table */
  size_t n;
  char *text;             /* the file's bytes, fields cut by NULs */
  tpa__example *examples; /* n entries */
  bool has_labels;
  int32_t num_labels; /* classes, or 1 for regression */
  char **label_names; /* tables: num_labels names (NULL for regression) */
  char *columns[3];   /* tables: header names by tpa_dataset_role, or NULL */
};

/* Most classes a table may have: the model's own limit on num_labels. */
#define TPA__DATA_MAX_CLASSES 65536

/* A new, empty dataset (calloc'ed) of @p task; NULL when out of memory. */
tpa_dataset *tpa__dataset_new(tpa_task task);

#endif
