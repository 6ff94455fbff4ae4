/* SPDX-License-Identifier: Apache-2.0 */
/* The list of a BERT sequence classifier's tensors by HF name, in the
 * order HF's BertForSequenceClassification registers them (its
 * state_dict order): embeddings, each layer, pooler, classifier. */
#include "model/tensors.h"

#include <stdio.h>
#include <string.h>

/* Names are at most "bert.encoder.layer.NNNN.attention.output.LayerNorm.weight"
 * (config.json allows up to 1024 layers), well inside the 96 bytes. */
_Static_assert(sizeof(((tpa__named_tensor *)0)->name) == 96, "name size");

/* Append one entry (if room) and count it; @p d1 < 0 means a vector. */
static void add(tpa__named_tensor *out, size_t cap, size_t *n, const char *name, const float **ptr,
                int64_t d0, int64_t d1, bool decay) {
  if (*n < cap) {
    tpa__named_tensor *t = &out[*n];
    size_t k = strnlen(name, sizeof t->name - 1);
    memcpy(t->name, name, k);
    t->name[k] = '\0';
    t->ptr = ptr;
    t->ndims = d1 < 0 ? 1 : 2;
    t->dims[0] = d0;
    t->dims[1] = d1 < 0 ? 0 : d1;
    t->count = (size_t)d0 * (size_t)(d1 < 0 ? 1 : d1);
    t->decay = decay;
  }
  (*n)++;
}

/* weight [o, i] (decayed) and bias [o] of the Linear "<base>". */
static void linear(tpa__named_tensor *out, size_t cap, size_t *n, const char *base, const float **w,
                   const float **b, int64_t o, int64_t i) {
  char name[128];
  if (snprintf(name, sizeof name, "%s.weight", base) < (int)sizeof name)
    add(out, cap, n, name, w, o, i, true);
  if (snprintf(name, sizeof name, "%s.bias", base) < (int)sizeof name)
    add(out, cap, n, name, b, o, -1, false);
}

/* weight and bias [h] of the LayerNorm "<base>.LayerNorm" (never decayed). */
static void layernorm(tpa__named_tensor *out, size_t cap, size_t *n, const char *base,
                      const float **g, const float **b, int64_t h) {
  char name[128];
  if (snprintf(name, sizeof name, "%s.LayerNorm.weight", base) < (int)sizeof name)
    add(out, cap, n, name, g, h, -1, false);
  if (snprintf(name, sizeof name, "%s.LayerNorm.bias", base) < (int)sizeof name)
    add(out, cap, n, name, b, h, -1, false);
}

size_t tpa__model_tensors(const tpa__config *c, tpa__weights *w, tpa__named_tensor *out,
                          size_t cap) {
  size_t n = 0;
  int64_t H = c->hidden;
  /* Embedding tables are weights (AdamW decays them, as HF's Trainer does:
   * it exempts only biases and LayerNorm parameters). */
  add(out, cap, &n, "bert.embeddings.word_embeddings.weight", &w->word_emb, c->vocab, H, true);
  add(out, cap, &n, "bert.embeddings.position_embeddings.weight", &w->pos_emb, c->max_pos, H, true);
  add(out, cap, &n, "bert.embeddings.token_type_embeddings.weight", &w->type_emb, c->type_vocab, H,
      true);
  layernorm(out, cap, &n, "bert.embeddings", &w->emb_ln_g, &w->emb_ln_b, H);
  for (int32_t l = 0; l < c->layers; l++) {
    tpa__layer *ly = &w->layer[l];
    int64_t a = (int64_t)ly->n_heads * c->head_dim;
    char base[64];
#define BASE(suffix) (snprintf(base, sizeof base, "bert.encoder.layer.%d.%s", l, suffix), base)
    linear(out, cap, &n, BASE("attention.self.query"), &ly->q_w, &ly->q_b, a, H);
    linear(out, cap, &n, BASE("attention.self.key"), &ly->k_w, &ly->k_b, a, H);
    linear(out, cap, &n, BASE("attention.self.value"), &ly->v_w, &ly->v_b, a, H);
    linear(out, cap, &n, BASE("attention.output.dense"), &ly->o_w, &ly->o_b, H, a);
    layernorm(out, cap, &n, BASE("attention.output"), &ly->ln1_g, &ly->ln1_b, H);
    linear(out, cap, &n, BASE("intermediate.dense"), &ly->i_w, &ly->i_b, c->inter, H);
    linear(out, cap, &n, BASE("output.dense"), &ly->f_w, &ly->f_b, H, c->inter);
    layernorm(out, cap, &n, BASE("output"), &ly->ln2_g, &ly->ln2_b, H);
#undef BASE
  }
  linear(out, cap, &n, "bert.pooler.dense", &w->pool_w, &w->pool_b, H, H);
  linear(out, cap, &n, "classifier", &w->cls_w, &w->cls_b, c->num_labels, H);
  return n;
}
