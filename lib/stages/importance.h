/* SPDX-License-Identifier: Apache-2.0 */
/* The importance table behind tpa_importance (tpa/importance.h), shared by
 * its computation (importance.c), its JSON form (importance_io.c) and its
 * heatmap (importance_heatmap.c). */
#ifndef TPA_STAGES_IMPORTANCE_H
#define TPA_STAGES_IMPORTANCE_H

#include <stdint.h>

#include "tpa/importance.h"

/* Bounds on a table read from a file (BERT-large has 24 x 16). */
#define TPA__IMPORTANCE_MAX_DIM 4096

struct tpa_importance {
  int32_t layers, heads; /* heads: the ORIGINAL count per layer */
  uint64_t examples, tokens;
  double *raw;   /* [layers * heads] by ORIGINAL head; NaN = no score (pruned) */
  double *norm;  /* idem */
  double *block; /* [layers] sum of the layer's raw scores */
  /* Neuron scores (docs/method.md section 5a), or all NULL when the table
   * has none: layer l's neurons are [ffn_off[l], ffn_off[l + 1]) of
   * ffn_raw and ffn_norm, by the neuron's index in the model as scored. */
  size_t *ffn_off; /* [layers + 1] */
  double *ffn_raw, *ffn_norm;
};

/* Bound on a layer's neuron count read from a file (BERT-large has 4096). */
#define TPA__IMPORTANCE_MAX_NEURONS 65536

/* A table of @p layers x @p heads with every score NaN and blocks 0. */
tpa_status tpa__importance_alloc(tpa_importance **out, int32_t layers, int32_t heads);

/* Give @p imp neuron scores of @p widths[layer] neurons per layer, all 0. */
tpa_status tpa__importance_alloc_ffn(tpa_importance *imp, const int32_t *widths);

#endif
