/* SPDX-License-Identifier: Apache-2.0 */
/* The prune plan's contents, shared by the stage that makes and stores
 * plans (stages/prune_plan.c) and the structural pruning of the model
 * (model/prune.c). A plan is plain data: which ORIGINAL heads of which
 * layer to remove; it knows nothing of the model it will be applied to
 * beyond the shape (layers x heads before any pruning) that must match. */
#ifndef TPA_MODEL_PRUNE_H
#define TPA_MODEL_PRUNE_H

#include <stdbool.h>
#include <stdint.h>

#include "tpa/prune.h"

struct tpa_prune_plan {
  int32_t layers;   /* num_hidden_layers of the models it applies to */
  int32_t heads;    /* num_attention_heads before any pruning */
  int32_t n_pruned; /* true entries of removes */
  bool *removes;    /* [layers * heads], by ORIGINAL head index */
  /* Neurons (docs/method.md section 6), or NULL / 0 for a heads-only
   * plan: layer l's neurons as planned are [ffn_off[l], ffn_off[l + 1])
   * of removes_neuron, by their index in the model as loaded. */
  size_t *ffn_off; /* [layers + 1] */
  bool *removes_neuron;
  int64_t n_pruned_neurons;
};

/* Give @p plan a neuron part of @p widths[l] neurons per layer, none
 * removed. */
tpa_status tpa__prune_plan_alloc_neurons(tpa_prune_plan *plan, const int32_t *widths);

#endif
