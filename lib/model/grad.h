/* SPDX-License-Identifier: Apache-2.0 */
/* The gradient engine: a training forward that keeps what the backward
 * needs, and the backward pass of BertForSequenceClassification through
 * oneDNN primitives (docs/method.md sections 4, 7, 8). Training (stages/train*),
 * importance (head-mask gradients) and adapter inference all run on it.
 *
 * Weights come in as a tpa__weights (the model's own for LoRA training,
 * with the LoRA set's LayerNorm/classifier copies swapped in by
 * tpa__lora_effective_weights; trainable copies of everything for full
 * fine-tuning) plus an optional LoRA set. Only the gradients the caller
 * asks for are computed: frozen weights get no gradient buffers. */
#ifndef TPA_MODEL_GRAD_H
#define TPA_MODEL_GRAD_H

#include <stdbool.h>
#include <stdint.h>

#include "model/model.h"
#include "tpa/lora.h"

/* One padded batch. labels: class ids as floats, or STS-B scores. */
typedef struct tpa__batch {
  int32_t batch, seq;
  const int32_t *ids;      /* [batch, seq] */
  const int32_t *type_ids; /* [batch, seq] */
  const int32_t *mask;     /* [batch, seq] 1 = token, 0 = pad */
  const float *labels;     /* [batch] */
} tpa__batch;

/* Mutable mirror of tpa__weights for gradients; a NULL pointer means
 * "no gradient wanted" for that tensor. Shapes as in tpa__weights. */
typedef struct tpa__layer_grad {
  float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b, *o_w, *o_b;
  float *ln1_g, *ln1_b, *i_w, *i_b, *f_w, *f_b, *ln2_g, *ln2_b;
} tpa__layer_grad;

typedef struct tpa__weight_grads {
  float *word_emb, *pos_emb, *type_emb, *emb_ln_g, *emb_ln_b;
  float *proj_w, *proj_b; /* ELECTRA's embeddings_project */
  tpa__layer_grad *layer; /* [layers] */
  float *pool_w, *pool_b, *cls_w, *cls_b;
} tpa__weight_grads;

typedef struct tpa__grad_opts {
  float hidden_dropout; /* 0 = off (evaluation, reference tests) */
  float attn_dropout;
  float cls_dropout;      /* the head's (config classifier_dropout / seq_classif_dropout) */
  uint64_t dropout_seed;  /* masks are a pure function of (seed, layer, position) */
  const float *head_mask; /* optional [layers, config.heads] by ORIGINAL head (NULL = ones) */
} tpa__grad_opts;

/* Where gradients go; every member optional. Gradients are OVERWRITTEN
 * (not accumulated) by each call, and are those of the batch-mean loss. */
typedef struct tpa__grad_out {
  tpa__weight_grads *w; /* full fine-tuning: every non-NULL pointer */
  tpa_lora_set *lora;   /* LoRA: a set shaped like the adapter (A, B,
                           LayerNorm and classifier copies receive grads) */
  /* Per-example d l_e / d m_{l,h} of each example's OWN loss (not the
   * batch mean): [batch, layers, config.heads] by ORIGINAL head index,
   * 0 for pruned heads. For head importance (docs/method.md section 5). */
  float *head_mask_per_example;
  /* Per-example d l_e / d n_{l,j} of a mask on each intermediate neuron
   * (after the activation, before the output dense), all ones:
   * [batch, layers, config.inter], by the neuron's index in the model as
   * it is (a layer narrower than config.inter fills the start of its row). For neuron importance
   * (docs/method.md section 5a). */
  float *ffn_mask_per_example;
} tpa__grad_out;

/* Working memory for batches up to max_batch x max_seq; per call/thread. */
typedef struct tpa__grad_work tpa__grad_work;

tpa_status tpa__grad_work_create(tpa__grad_work **out, const tpa_model *m, int32_t max_batch,
                                 int32_t max_seq);
void tpa__grad_work_free(tpa__grad_work *w);

/* Data parallelism: the next calls' batches are rows [row0, row0 + batch)
 * of a global batch of @p global_batch rows (padded to the global batch's
 * length), so dropout masks are those of the global rows and the loss and
 * gradients are those of the GLOBAL batch mean (summing the shards' gives
 * the single-process values). (0, 0) restores whole-batch calls. */
void tpa__grad_work_set_shard(tpa__grad_work *wk, int64_t row0, int32_t global_batch);

/* Loss (mean over the batch: cross-entropy, or MSE for regression) and
 * the requested gradients. @p g may be NULL (loss only). @p logits, if
 * not NULL, receives [batch, num_labels]. */
tpa_status tpa__loss_and_grads(tpa__grad_work *work, const tpa_model *m, const tpa__weights *w,
                               const tpa_lora_set *lora, const tpa__batch *b,
                               const tpa__grad_opts *o, double *loss, float *logits,
                               tpa__grad_out *g);

/* Logits without dropout or gradients, for a model with an adapter
 * (unmerged). Used by tpa_model_predict when params->adapter is set. */
tpa_status tpa__forward_lora(tpa__grad_work *work, const tpa_model *m, const tpa__weights *w,
                             const tpa_lora_set *lora, const tpa__batch *b, float *logits);

#endif
