/* SPDX-License-Identifier: Apache-2.0 */
/* The list of a sequence classifier's tensors by HF name, in the order
 * HF's *ForSequenceClassification registers them (its state_dict order):
 * embeddings, each layer, pooler (BERT), head. Names and which tensors
 * exist come from the family table (model/family.h). */
#include "model/tensors.h"

#include <stdio.h>
#include <string.h>

/* Names are at most "distilbert.transformer.layer.NNNN.output_layer_norm.weight"
 * (config.json allows up to 1024 layers), well inside the 96 bytes. */
_Static_assert(sizeof(((tpa__named_tensor *)0)->name) == 96, "name size");

typedef struct list {
  tpa__named_tensor *out;
  size_t cap, n;
  const char *prefix; /* the encoder's, for base tensors */
  bool head;          /* entries added now belong to the head */
} list;

/* Append "<prefix><name>" (if room) and count it; @p d1 < 0 means a vector. */
static void add(list *L, bool base, const char *name, const float **ptr, int64_t d0, int64_t d1,
                bool decay) {
  if (L->n < L->cap) {
    tpa__named_tensor *t = &L->out[L->n];
    char full[160];
    snprintf(full, sizeof full, "%s%s", base ? L->prefix : "", name);
    size_t k = strnlen(full, sizeof t->name - 1);
    memcpy(t->name, full, k);
    t->name[k] = '\0';
    t->ptr = ptr;
    t->i8 = NULL;
    t->ndims = d1 < 0 ? 1 : 2;
    t->dims[0] = d0;
    t->dims[1] = d1 < 0 ? 0 : d1;
    t->count = (size_t)d0 * (size_t)(d1 < 0 ? 1 : d1);
    t->decay = decay;
    t->head = L->head;
    t->base = base;
  }
  L->n++;
}

/* The int8 codes "<name>" [d0, d1] and their per-row scales
 * "<name>_scale" [d0]. */
static void add_i8(list *L, const char *name, const int8_t **codes, const float **scale, int64_t d0,
                   int64_t d1) {
  size_t at = L->n;
  add(L, true, name, NULL, d0, d1, false);
  if (at < L->cap)
    L->out[at].i8 = codes;
  char full[128];
  if (snprintf(full, sizeof full, "%s_scale", name) < (int)sizeof full)
    add(L, true, full, scale, d0, -1, false);
}

/* weight [o, i] (decayed) and bias [o] of the Linear "<base>"; with @p q
 * (a quantized model's block Linear) the weight is int8 with its scales,
 * and with static activation scales the input's scale follows. */
static void linear_q(list *L, bool base, const char *name, const float **w, const float **b,
                     int64_t o, int64_t i, tpa__qlinear *q, bool input_scale) {
  char full[128];
  if (snprintf(full, sizeof full, "%s.weight", name) < (int)sizeof full) {
    if (q)
      add_i8(L, full, &q->w, &q->scale, o, i);
    else
      add(L, base, full, w, o, i, true);
  }
  if (snprintf(full, sizeof full, "%s.bias", name) < (int)sizeof full)
    add(L, base, full, b, o, -1, false);
  if (q && input_scale && snprintf(full, sizeof full, "%s.input_scale", name) < (int)sizeof full)
    add(L, base, full, &q->in_scale, 1, -1, false);
}

static void linear(list *L, bool base, const char *name, const float **w, const float **b,
                   int64_t o, int64_t i) {
  linear_q(L, base, name, w, b, o, i, NULL, false);
}

/* weight and bias [h] of the LayerNorm "<name>" (never decayed). */
static void layernorm(list *L, const char *name, const float **g, const float **b, int64_t h) {
  char full[128];
  if (snprintf(full, sizeof full, "%s.weight", name) < (int)sizeof full)
    add(L, true, full, g, h, -1, false);
  if (snprintf(full, sizeof full, "%s.bias", name) < (int)sizeof full)
    add(L, true, full, b, h, -1, false);
}

size_t tpa__model_tensors(const tpa__config *c, tpa__weights *w, tpa__named_tensor *out,
                          size_t cap) {
  const tpa__family_desc *f = tpa__family_get(c->family);
  list L = {.out = out, .cap = cap, .prefix = f->prefix};
  int64_t H = c->hidden, E = c->emb;
  /* Embedding tables are weights (AdamW decays them, as HF's Trainer does:
   * it exempts only biases and LayerNorm parameters). */
  tpa__quant *q = w->quant;
  const bool in_scale = q && q->activations == TPA__QUANT_STATIC;
  if (q)
    add_i8(&L, "embeddings.word_embeddings.weight", &q->word_emb, &q->word_scale, c->vocab, E);
  else
    add(&L, true, "embeddings.word_embeddings.weight", &w->word_emb, c->vocab, E, true);
  add(&L, true, "embeddings.position_embeddings.weight", &w->pos_emb, c->max_pos, E, true);
  if (f->token_types)
    add(&L, true, "embeddings.token_type_embeddings.weight", &w->type_emb, c->type_vocab, E, true);
  layernorm(&L, "embeddings.LayerNorm", &w->emb_ln_g, &w->emb_ln_b, E);
  if (E != H) /* ELECTRA: embeddings_project sits beside embeddings */
    linear(&L, true, "embeddings_project", &w->proj_w, &w->proj_b, H, E);
  for (int32_t l = 0; l < c->layers; l++) {
    tpa__layer *ly = &w->layer[l];
    int64_t a = (int64_t)ly->n_heads * c->head_dim;
    char base[128];
#define BASE(suffix) (snprintf(base, sizeof base, "%s.%d.%s", f->layer, l, suffix), base)
    tpa__qlayer *ql = q ? &q->layer[l] : NULL;
    linear_q(&L, true, BASE(f->query), &ly->q_w, &ly->q_b, a, H, ql ? &ql->q : NULL, in_scale);
    linear_q(&L, true, BASE(f->key), &ly->k_w, &ly->k_b, a, H, ql ? &ql->k : NULL, in_scale);
    linear_q(&L, true, BASE(f->value), &ly->v_w, &ly->v_b, a, H, ql ? &ql->v : NULL, in_scale);
    linear_q(&L, true, BASE(f->attn_out), &ly->o_w, &ly->o_b, H, a, ql ? &ql->o : NULL, in_scale);
    layernorm(&L, BASE(f->ln1), &ly->ln1_g, &ly->ln1_b, H);
    linear_q(&L, true, BASE(f->ffn_in), &ly->i_w, &ly->i_b, ly->inter, H, ql ? &ql->i : NULL,
             in_scale);
    linear_q(&L, true, BASE(f->ffn_out), &ly->f_w, &ly->f_b, H, ly->inter, ql ? &ql->f : NULL,
             in_scale);
    layernorm(&L, BASE(f->ln2), &ly->ln2_g, &ly->ln2_b, H);
#undef BASE
  }
  if (f->head_in_base)
    linear(&L, true, f->head_dense, &w->pool_w, &w->pool_b, H, H);
  L.head = true;
  if (!f->head_in_base)
    linear(&L, false, f->head_dense, &w->pool_w, &w->pool_b, H, H);
  linear(&L, false, f->head_out, &w->cls_w, &w->cls_b, c->num_labels, H);
  return L.n;
}
