/* SPDX-License-Identifier: Apache-2.0 */
/* The trainable tensors of each training mode (see train_internal.h).
 * LoRA mode trains the set in place and takes its gradients in a zero
 * clone of it, so the frozen encoder has no gradient memory at all. Full
 * mode copies every model tensor into one block (the model stays
 * untouched until the run ends) and mirrors it with one gradient block;
 * model/tensors.h lists the tensors, so both blocks follow one order. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/forward.h"
#include "model/tensors.h"
#include "stages/train_internal.h"

/* Moments (and the best copy) for t->total floats. */
static tpa_status alloc_moments(tpa__trainable *t, bool keep_best) {
  t->total = 0;
  for (size_t i = 0; i < t->n; i++)
    if (!tpa__add_size(t->total, t->refs[i].count, &t->total))
      return TPA__NO_MEMORY("optimizer state");
  t->m = tpa__calloc(t->total, sizeof(float));
  t->v = tpa__calloc(t->total, sizeof(float));
  t->best = keep_best ? tpa__calloc(t->total, sizeof(float)) : NULL;
  if (!t->m || !t->v || (keep_best && !t->best))
    return TPA__NO_MEMORY("optimizer state");
  return TPA_OK;
}

tpa_status tpa__trainable_lora(tpa__trainable *t, const tpa_model *m, tpa_lora_set *set,
                               bool keep_best) {
  memset(t, 0, sizeof *t);
  tpa_status s = tpa__lora_set_check(set, m);
  if (s != TPA_OK)
    return s;
  t->lora = set;
  t->n = tpa__lora_set_tensors(set, NULL, 0);
  t->refs = tpa__calloc(t->n, sizeof *t->refs);
  tpa__tensor_ref *grefs = tpa__calloc(t->n, sizeof *grefs);
  t->grads = tpa__calloc(t->n, sizeof *t->grads);
  if (!t->refs || !grefs || !t->grads) {
    free(grefs);
    return TPA__NO_MEMORY("LoRA tensor list");
  }
  tpa__lora_set_tensors(set, t->refs, t->n);
  s = tpa__lora_set_clone_zero(&t->grad_set, set);
  if (s == TPA_OK && tpa__lora_set_tensors(t->grad_set, grefs, t->n) != t->n)
    s = tpa__error(TPA_ERR_INTERNAL, "LoRA gradient set has another shape");
  for (size_t i = 0; s == TPA_OK && i < t->n; i++) {
    if (grefs[i].count != t->refs[i].count)
      s = tpa__error(TPA_ERR_INTERNAL, "LoRA gradient %s has another size", grefs[i].name);
    t->grads[i] = (tpa__grad_span){grefs[i].data, grefs[i].count};
  }
  free(grefs);
  if (s == TPA_OK)
    s = tpa__lora_effective_weights(set, m, &t->w, &t->w_layers);
  if (s == TPA_OK)
    s = alloc_moments(t, keep_best);
  t->gout.lora = t->grad_set;
  return s;
}

/* The named tensors of @p w (allocated list, count in *n). */
static tpa_status list_tensors(const tpa_model *m, tpa__weights *w, tpa__named_tensor **out,
                               size_t *n) {
  *n = tpa__model_tensors(&m->cfg, w, NULL, 0);
  *out = tpa__calloc(*n, sizeof **out);
  if (!*out)
    return TPA__NO_MEMORY("model tensor list");
  tpa__model_tensors(&m->cfg, w, *out, *n);
  return TPA_OK;
}

tpa_status tpa__trainable_full(tpa__trainable *t, const tpa_model *m, bool keep_best) {
  memset(t, 0, sizeof *t);
  t->full = true;
  tpa__weights gw;
  tpa__named_tensor *pn = NULL, *gn = NULL;
  size_t n = 0, gcount = 0;
  /* The model's values in HF's layout (unpacked where they live only
   * packed); every tensor is copied into the trainable block below. */
  tpa__plain plain;
  tpa_status s = tpa__model_plain(m, &plain);
  t->w = plain.w;
  t->w_layers = plain.layers;
  plain.layers = NULL; /* the trainable's table now */
  if (s == TPA_OK)
    s = tpa__model_weights_copy(m, &gw, &t->g_layers);
  if (s == TPA_OK)
    s = list_tensors(m, &t->w, &pn, &n);
  if (s == TPA_OK)
    s = list_tensors(m, &gw, &gn, &gcount);
  if (s == TPA_OK) {
    t->n = n;
    t->refs = tpa__calloc(n, sizeof *t->refs);
    t->grads = tpa__calloc(n, sizeof *t->grads);
    if (!t->refs || !t->grads)
      s = TPA__NO_MEMORY("model tensor list");
  }
  size_t total = 0;
  for (size_t i = 0; s == TPA_OK && i < n; i++)
    if (!tpa__add_size(total, pn[i].count, &total))
      s = TPA__NO_MEMORY("trainable copy");
  if (s == TPA_OK) {
    t->param_block = tpa__malloc_array(total, sizeof(float));
    t->grad_block = tpa__calloc(total, sizeof(float));
    if (!t->param_block || !t->grad_block)
      s = TPA__NO_MEMORY("trainable copy of the model");
  }
  size_t off = 0;
  for (size_t i = 0; s == TPA_OK && i < n; i++) {
    tpa__tensor_ref *r = &t->refs[i];
    memcpy(r->name, pn[i].name, sizeof pn[i].name);
    r->data = t->param_block + off;
    r->count = pn[i].count;
    r->rows = pn[i].ndims == 2 ? (int32_t)pn[i].dims[0] : 1;
    r->cols = pn[i].ndims == 2 ? (int32_t)pn[i].dims[1] : (int32_t)pn[i].count;
    r->decay = pn[i].decay;
    if (r->count)
      memcpy(r->data, *pn[i].ptr, r->count * sizeof(float));
    *pn[i].ptr = r->data;
    *gn[i].ptr = t->grad_block + off;
    t->grads[i] = (tpa__grad_span){t->grad_block + off, r->count};
    off += r->count;
  }
  if (s == TPA_OK) {
    /* The gradient mirror, field by field from the repointed copy. */
    t->lg = tpa__calloc((size_t)m->cfg.layers, sizeof *t->lg);
    if (!t->lg)
      s = TPA__NO_MEMORY("gradient table");
  }
  if (s == TPA_OK) {
#define G(x) ((float *)(x))
    t->wg = (tpa__weight_grads){.word_emb = G(gw.word_emb),
                                .pos_emb = G(gw.pos_emb),
                                .type_emb = G(gw.type_emb),
                                .emb_ln_g = G(gw.emb_ln_g),
                                .emb_ln_b = G(gw.emb_ln_b),
                                .proj_w = G(gw.proj_w),
                                .proj_b = G(gw.proj_b),
                                .layer = t->lg,
                                .pool_w = G(gw.pool_w),
                                .pool_b = G(gw.pool_b),
                                .cls_w = G(gw.cls_w),
                                .cls_b = G(gw.cls_b)};
    for (int32_t l = 0; l < m->cfg.layers; l++) {
      const tpa__layer *y = &gw.layer[l];
      t->lg[l] =
          (tpa__layer_grad){G(y->q_w), G(y->q_b), G(y->k_w),   G(y->k_b),   G(y->v_w), G(y->v_b),
                            G(y->o_w), G(y->o_b), G(y->ln1_g), G(y->ln1_b), G(y->i_w), G(y->i_b),
                            G(y->f_w), G(y->f_b), G(y->ln2_g), G(y->ln2_b)};
    }
#undef G
    t->gout.w = &t->wg;
    s = alloc_moments(t, keep_best);
  }
  tpa__plain_free(&plain);
  free(pn);
  free(gn);
  return s;
}

void tpa__trainable_free(tpa__trainable *t) {
  if (!t)
    return;
  free(t->refs);
  free(t->grads);
  free(t->m);
  free(t->v);
  free(t->best);
  free(t->w_layers);
  tpa_lora_set_free(t->grad_set);
  free(t->param_block);
  free(t->grad_block);
  free(t->g_layers);
  free(t->lg);
  memset(t, 0, sizeof *t);
}

void tpa__trainable_save(const tpa__trainable *t, float *dst) {
  for (size_t i = 0; i < t->n; i++) {
    if (t->refs[i].count)
      memcpy(dst, t->refs[i].data, t->refs[i].count * sizeof(float));
    dst += t->refs[i].count;
  }
}

void tpa__trainable_restore(tpa__trainable *t, const float *src) {
  for (size_t i = 0; i < t->n; i++) {
    if (t->refs[i].count)
      memcpy(t->refs[i].data, src, t->refs[i].count * sizeof(float));
    src += t->refs[i].count;
  }
}

tpa_status tpa__trainable_commit_full(tpa__trainable *t, tpa_model *m) {
  /* The new table: the model's, every tensor pointing into the trained
   * block. */
  tpa__weights w;
  tpa__layer *layers;
  tpa__named_tensor *mn = NULL;
  size_t n = 0;
  tpa_status s = tpa__model_weights_copy(m, &w, &layers);
  if (s != TPA_OK)
    return s;
  s = list_tensors(m, &w, &mn, &n);
  if (s == TPA_OK && n != t->n)
    s = tpa__error(TPA_ERR_INTERNAL, "full fine-tuning: %zu tensors, the model has %zu", t->n, n);
  size_t floats = 0;
  for (size_t i = 0; i < t->n; i++)
    floats += t->refs[i].count; /* summed without overflow when the block was made */
  if (s == TPA_OK && !tpa__model_own(m, t->param_block, floats * sizeof(float)))
    s = TPA__NO_MEMORY("trained weights");
  if (s == TPA_OK) {
    t->param_block = NULL; /* the model frees it now */
    for (size_t i = 0; i < n; i++)
      *mn[i].ptr = t->refs[i].data;
    s = tpa__model_replace_weights(m, &w);
  }
  free(mn);
  free(layers);
  return s;
}
