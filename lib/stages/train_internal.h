/* SPDX-License-Identifier: Apache-2.0 */
/* Pieces of the training loop (stages/train.c) kept in files of their
 * own: the trainable tensors of each mode with their gradient buffers and
 * AdamW moments (train_tensors.c), and dev evaluation (train_eval.c). */
#ifndef TPA_STAGES_TRAIN_INTERNAL_H
#define TPA_STAGES_TRAIN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "model/encode.h"
#include "model/grad.h"
#include "stages/lora.h"
#include "stages/optim.h"

/* What the optimizer updates, in one fixed order: the LoRA set's tensors
 * (LoRA mode) or trainable copies of every model tensor (full mode). */
struct tpa__trainable {
  bool full;
  size_t n;              /* tensors */
  size_t total;          /* floats over all of them */
  tpa__tensor_ref *refs; /* [n] parameters (updated in place) */
  tpa__grad_span *grads; /* [n] their gradients */
  float *m, *v;          /* [total] AdamW moments, laid out as refs */
  float *best;           /* [total] best epoch's values, or NULL */
  /* What a forward reads: the weights (LoRA: the model's with the set's
   * LayerNorm/classifier copies; full: the trainable copies) and the
   * adapter (NULL in full mode). */
  tpa__weights w;
  tpa__layer *w_layers;
  const tpa_lora_set *lora;
  tpa__grad_out gout;
  /* LoRA mode */
  tpa_lora_set *grad_set;
  /* Full mode: one block each for the values and the gradients. */
  float *param_block, *grad_block;
  tpa__layer *g_layers;
  tpa__weight_grads wg;
  tpa__layer_grad *lg;
};

typedef struct tpa__trainable tpa__trainable;

/* LoRA mode: the set's tensors are trained in place. */
tpa_status tpa__trainable_lora(tpa__trainable *t, const tpa_model *m, tpa_lora_set *set,
                               bool keep_best);

/* Full mode: copies of every model tensor. */
tpa_status tpa__trainable_full(tpa__trainable *t, const tpa_model *m, bool keep_best);

void tpa__trainable_free(tpa__trainable *t);

/* Copy every parameter into / out of a flat [total] buffer. */
void tpa__trainable_save(const tpa__trainable *t, float *dst);
void tpa__trainable_restore(tpa__trainable *t, const float *src);

/* Full mode: make the trained copies the model's weights (the model takes
 * the block) and rebuild its inference state; on failure the model keeps
 * its previous weights. */
tpa_status tpa__trainable_commit_full(tpa__trainable *t, tpa_model *m);

/* Logits of every example of @p e (in its order) with the trainable
 * weights, in batches of @p batch rows, through @p work. */
tpa_status tpa__train_eval_logits(tpa__grad_work *work, const tpa_model *m, const tpa__trainable *t,
                                  const tpa__encoded *e, int32_t batch, float *logits);

#endif
