/* SPDX-License-Identifier: Apache-2.0 */
/* The GLUE task table (docs/method.md section 3): which TSV columns hold the
 * texts and the label, which label strings exist and in which order. The
 * dataset reader and the metrics both read it; nothing else hard-codes a
 * task's layout. */
#ifndef TPA_DATA_TASK_H
#define TPA_DATA_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "tpa/data.h"

/* The label column is the row's last one (MNLI: dev has more columns). */
#define TPA__COL_LAST (-2)
/* No such column (single-sentence tasks have no text b). */
#define TPA__COL_NONE (-1)

typedef struct tpa__task_info {
  const char *name;      /* canonical lower-case name */
  const char *alias;     /* GLUE's spelling when it differs ("sst-2"), else NULL */
  int32_t num_labels;    /* 1 = regression (STS-B) */
  int32_t col_a;         /* 0-based column of the first text */
  int32_t col_b;         /* second text, or TPA__COL_NONE */
  int32_t col_label;     /* label column, or TPA__COL_LAST */
  int32_t min_cols;      /* fewest columns a valid row has */
  bool header;           /* the first line is a header (all but CoLA) */
  const char *labels[3]; /* label strings in id order; NULL for STS-B */
  uint32_t metrics;      /* TPA_METRIC_* bits that tpa_metrics_compute sets */
} tpa__task_info;

/* The task's row of the table, NULL when @p task is not a tpa_task value. */
const tpa__task_info *tpa__task_info_get(tpa_task task);

/* Highest valid STS-B score; the lowest is 0. */
#define TPA__STSB_MAX_SCORE 5.0

#endif
