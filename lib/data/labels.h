/* SPDX-License-Identifier: Apache-2.0 */
/* A table's label strings -> class ids (or regression values), and the
 * class names a dataset keeps (docs/formats.md, "Labels"). */
#ifndef TPA_DATA_LABELS_H
#define TPA_DATA_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"

/* The label of every example as read, for messages with file and line. */
typedef struct tpa__label_src {
  const char *path;
  const char *column; /* header name of the label column */
  char *const *str;   /* n label strings */
  const size_t *line; /* n line numbers */
  size_t n;
} tpa__label_src;

/* Classification. With @p given (n_given names in id order) those are the
 * classes; otherwise the distinct labels, integers in numeric order, else
 * all in byte order, at least two. Sets ds->num_labels, ds->label_names
 * and every ds->examples[i].label. */
tpa_status tpa__labels_classes(const tpa__label_src *src, const char *const *given, int32_t n_given,
                               tpa_dataset *ds);

/* Regression: each label a finite decimal number. */
tpa_status tpa__labels_values(const tpa__label_src *src, tpa_dataset *ds);

/* Copy @p n names into a new array of new strings (NULL if out of memory). */
char **tpa__labels_copy(const char *const *names, int32_t n);

#endif
