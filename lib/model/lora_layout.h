/* SPDX-License-Identifier: Apache-2.0 */
/* The LoRA set's data layout and what the forward and gradient passes
 * need of it: module lookup, the shape check against a model, and the
 * model's weights with the set's trainable copies swapped in. It lives in
 * the model layer, below the stages that create, train and save sets
 * (stages/lora.h adds those helpers), as struct tpa_prune_plan lives in
 * model/prune.h. */
#ifndef TPA_MODEL_LORA_LAYOUT_H
#define TPA_MODEL_LORA_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "tpa/lora.h"

/* Modules per block in the set's layout: the public tpa_lora_module
 * order, attention projections then the feed-forward's two denses. */
#define TPA__LORA_ALL TPA_LORA_ALL_MODULES

/* One adapted projection: y += (alpha / rank) * B (A x). rank 0 = absent
 * (a and b NULL). in/out are the pruned sizes: Q/K/V map hidden ->
 * n_heads*head_dim, the output dense maps n_heads*head_dim -> hidden, the
 * intermediate dense hidden -> inter and the FFN output inter -> hidden. */
typedef struct tpa__lora_mod {
  int32_t rank;
  float alpha;
  int32_t in, out;
  float *a; /* [rank, in] row-major (PEFT lora_A.weight) */
  float *b; /* [out, rank] row-major (PEFT lora_B.weight) */
} tpa__lora_mod;

struct tpa_lora_set {
  int32_t layers, hidden, num_labels;
  tpa__family family; /* of the model it was made for: names its tensors */
  int32_t emb;        /* embedding width (the embeddings LayerNorm's) */
  int32_t *inters;    /* [layers] intermediate widths of the model it was made for */
  int32_t *n_heads;   /* [layers] kept heads of the model it was made for */
  tpa__lora_mod *mod; /* [layers * TPA__LORA_ALL], block-major */
  /* PEFT's modules_to_save: trainable copies, same shapes as the model's. */
  float *emb_ln_g, *emb_ln_b; /* [emb] */
  float *ln1_g, *ln1_b;       /* [layers * hidden] attention.output.LayerNorm */
  float *ln2_g, *ln2_b;       /* [layers * hidden] output.LayerNorm */
  float *cls_w, *cls_b;       /* [num_labels * hidden], [num_labels] */
  /* The head's dense [hidden * hidden], [hidden] where the family's head
   * has its own (RoBERTa's classifier.dense, DistilBERT's pre_classifier,
   * ELECTRA's classifier.dense), trained with the output layer; NULL for
   * BERT, whose pooler belongs to the frozen encoder. */
  float *pool_w, *pool_b;
  void *storage; /* one allocation behind every array above */
  /* Which base it belongs to, for adapter_config.json and shape checks:
   * heads = config heads before pruning; head_ids [layers * heads], row l
   * holds the n_heads[l] ORIGINAL ids kept (in storage); base_model is the
   * model's directory (owned, NULL if unknown). */
  int32_t heads;
  int32_t *head_ids;
  char *base_model;
};

/* The module of block @p layer. */
static inline tpa__lora_mod *tpa__lora_at(const tpa_lora_set *s, int32_t layer, int32_t module) {
  return &s->mod[(size_t)layer * TPA__LORA_ALL + (size_t)module];
}

/* TPA_OK if @p s was made for a model of @p m's shape (layers, hidden,
 * intermediate size, kept heads, labels); otherwise TPA_ERR_INVALID_ARGUMENT naming the
 * difference. */
tpa_status tpa__lora_set_check(const tpa_lora_set *s, const tpa_model *m);

/* The model's weights with the set's trainable copies (LayerNorms and
 * classifier) swapped in: what a forward with this adapter reads. The
 * layer array is allocated (*layers_out, freed by the caller). */
tpa_status tpa__lora_effective_weights(const tpa_lora_set *s, const tpa_model *m, tpa__weights *w,
                                       tpa__layer **layers_out);

#endif
