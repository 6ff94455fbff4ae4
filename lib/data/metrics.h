/* SPDX-License-Identifier: Apache-2.0 */
/* Scoring a dataset's label space, for the training loop and the public
 * metrics functions. Kept apart from dataset.h so that callers in higher
 * layers see tpa_dataset only as the opaque public handle (the ABI
 * baseline then keeps their tpa_dataset parameters). */
#ifndef TPA_DATA_METRICS_H
#define TPA_DATA_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/data.h"

/* The metrics of a dataset's label space: which TPA_METRIC_* bits it
 * reports and which one is `main` (0: GLUE's composite of the task). */
typedef struct tpa__metric_spec {
  tpa_task task; /* TPA_TASK_COUNT for a table */
  int32_t num_labels;
  uint32_t present;
  uint32_t main; /* TPA_METRIC_* bit, or 0 for the GLUE task's headline */
} tpa__metric_spec;

void tpa__dataset_metric_spec(const tpa_dataset *ds, tpa__metric_spec *spec);

/* Score @p n rows of @p logits against @p labels under @p spec; with
 * @p select (a TPA_METRIC_* bit that spec->present has) `main` is that
 * metric instead. Same errors as tpa_metrics_compute; @p fn names the
 * caller in them. Both outputs are the full structs (NULL @p extra:
 * not wanted). */
tpa_status tpa__metrics_compute(const tpa__metric_spec *spec, const float *logits,
                                const float *labels, size_t n, uint32_t select, const char *fn,
                                tpa_metrics *out, tpa_metrics_extra *extra);

/* The name of metric @p bit ("macro_f1"), "?" for none. */
const char *tpa__metric_name(uint32_t bit);

#endif
