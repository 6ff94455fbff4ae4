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
};

#endif
