/* SPDX-License-Identifier: Apache-2.0 */
/* The LoRA set's layout, shared by the set itself (stages/lora.c, PEFT I/O
 * in stages/adapter_io.c), the gradient engine (model/grad*.c) and the
 * training loop (stages/train*.c). A second set of the same shape serves
 * as the container of its gradients (tpa__lora_set_clone_zero). */
#ifndef TPA_STAGES_LORA_H
#define TPA_STAGES_LORA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "tpa/lora.h"

/* One adapted projection: y += (alpha / rank) * B (A x). rank 0 = absent
 * (a and b NULL). in/out are the pruned sizes: Q/K/V map hidden ->
 * n_heads*head_dim, the output dense maps n_heads*head_dim -> hidden. */
typedef struct tpa__lora_mod {
  int32_t rank;
  float alpha;
  int32_t in, out;
  float *a; /* [rank, in] row-major (PEFT lora_A.weight) */
  float *b; /* [out, rank] row-major (PEFT lora_B.weight) */
} tpa__lora_mod;

struct tpa_lora_set {
  int32_t layers, hidden, num_labels;
  int32_t *n_heads;   /* [layers] kept heads of the model it was made for */
  tpa__lora_mod *mod; /* [layers * TPA_LORA_MODULES], block-major */
  /* PEFT's modules_to_save: trainable copies, same shapes as the model's. */
  float *emb_ln_g, *emb_ln_b; /* [hidden] */
  float *ln1_g, *ln1_b;       /* [layers * hidden] attention.output.LayerNorm */
  float *ln2_g, *ln2_b;       /* [layers * hidden] output.LayerNorm */
  float *cls_w, *cls_b;       /* [num_labels * hidden], [num_labels] */
  void *storage;              /* one allocation behind every array above */
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
  return &s->mod[(size_t)layer * TPA_LORA_MODULES + (size_t)module];
}

/* TPA_OK if @p s was made for a model of @p m's shape (layers, hidden,
 * kept heads, labels); otherwise TPA_ERR_INVALID_ARGUMENT naming the
 * difference. */
tpa_status tpa__lora_set_check(const tpa_lora_set *s, const tpa_model *m);

/* A set of the same shape with every value 0 (a gradient container). */
tpa_status tpa__lora_set_clone_zero(tpa_lora_set **out, const tpa_lora_set *s);

/* Copy every value of @p src into @p dst (same shape). */
void tpa__lora_set_copy(tpa_lora_set *dst, const tpa_lora_set *src);

/* One trainable tensor of a set, for optimizers and checkpoints. */
typedef struct tpa__tensor_ref {
  char name[128]; /* PEFT key, e.g.
                     base_model.model.bert.encoder.layer.3.attention.self.query.lora_A.weight */
  float *data;
  size_t count;
  int32_t rows, cols; /* cols = count, rows = 1 for vectors */
  bool decay;         /* AdamW weight decay applies (weights, not biases/LayerNorm) */
} tpa__tensor_ref;

/* List the set's tensors in a fixed order (LoRA A/B by block and module,
 * then LayerNorms, then classifier). Writes up to @p cap refs and
 * returns the total count. */
size_t tpa__lora_set_tensors(tpa_lora_set *s, tpa__tensor_ref *out, size_t cap);

/* The model's weights with the set's trainable copies (LayerNorms and
 * classifier) swapped in: what a forward with this adapter reads. The
 * layer array is allocated (*layers_out, freed by the caller). */
tpa_status tpa__lora_effective_weights(const tpa_lora_set *s, const tpa_model *m, tpa__weights *w,
                                       tpa__layer **layers_out);

#endif
