/* SPDX-License-Identifier: Apache-2.0 */
/* Every tensor of a sequence classifier of any family by its HF name: one
 * list that loading (model/load.c), saving (model/save.c), full
 * fine-tuning (stages/train*.c) and training checkpoints share, so the
 * names and shapes live in one place. */
#ifndef TPA_MODEL_TENSORS_H
#define TPA_MODEL_TENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

typedef struct tpa__named_tensor {
  char name[96];     /* HF name with the encoder's prefix, e.g.
                        bert.encoder.layer.0.attention.self.query.weight */
  const float **ptr; /* where the weights struct keeps it (so callers may repoint it);
                        NULL for an int8 tensor */
  const int8_t **i8; /* an int8 tensor of a quantized model: where its codes are kept */
  int32_t ndims;
  int64_t dims[2];
  size_t count;
  bool decay; /* a weight matrix (AdamW decays it), not a bias or LayerNorm */
  bool head;  /* the classification head's own: absent from a base checkpoint */
  bool base;  /* under the encoder's prefix ("bert."), which a bare base model lacks */
} tpa__named_tensor;

/* Enumerate the tensors of @p w for config @p c (layer sizes from
 * w->layer[i].n_heads), in HF's order: embeddings, layers, pooler or
 * head dense, classifier. A quantized model (w->quant) lists its int8
 * weights (i8 set) each followed by "<name>_scale" ([rows] f32) and,
 * with static activation scales, "<linear>.input_scale" ([1] f32). Writes up to @p cap entries,
 * returns the total count. */
size_t tpa__model_tensors(const tpa__config *c, tpa__weights *w, tpa__named_tensor *out,
                          size_t cap);

#endif
