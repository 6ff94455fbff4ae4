/* SPDX-License-Identifier: Apache-2.0 */
/* What the forward and gradient passes need of a LoRA set: the check that
 * it fits a model and the effective weights (model/lora_layout.h). */
#include "model/lora_layout.h"

#include "core/alloc.h"
#include "core/error.h"

tpa_status tpa__lora_set_check(const tpa_lora_set *s, const tpa_model *m) {
  if (!s || !m)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "LoRA set check: NULL set or model");
  if (m->w.quant)
    return tpa__model_require_f32(m, "a LoRA adapter");
  const tpa__config *c = &m->cfg;
  if (s->family != c->family)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "LoRA set made for a %s model; the model is %s",
                      tpa__family_get(s->family)->model_type,
                      tpa__family_get(c->family)->model_type);
  if (s->layers != c->layers || s->hidden != c->hidden || s->num_labels != c->num_labels)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "LoRA set made for %d layers, hidden %d, %d labels; the model has %d layers, "
                      "hidden %d, %d labels",
                      s->layers, s->hidden, s->num_labels, c->layers, c->hidden, c->num_labels);
  for (int32_t l = 0; l < c->layers; l++) {
    const tpa__layer *ly = &m->w.layer[l];
    if (s->inters[l] != ly->inter)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "LoRA set made for a model whose layer %d has intermediate size %d; the "
                        "model's has %d",
                        l, s->inters[l], ly->inter);
    bool same = s->n_heads[l] == ly->n_heads && s->heads == c->heads;
    for (int32_t h = 0; same && h < ly->n_heads; h++)
      same = s->head_ids[(size_t)l * (size_t)s->heads + (size_t)h] == ly->head_ids[h];
    if (!same)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "LoRA set made for a model whose layer %d keeps %d heads; the model's "
                        "layer %d keeps %d heads (or other head ids)",
                        l, s->n_heads[l], l, ly->n_heads);
  }
  return TPA_OK;
}

tpa_status tpa__lora_effective_weights(const tpa_lora_set *s, const tpa_model *m, tpa__weights *w,
                                       tpa__layer **layers_out) {
  *layers_out = NULL;
  tpa_status st = tpa__lora_set_check(s, m);
  if (st != TPA_OK)
    return st;
  tpa__layer *layers = tpa__malloc_array((size_t)m->cfg.layers, sizeof *layers);
  if (!layers)
    return TPA__NO_MEMORY("effective weights");
  *w = m->w;
  size_t H = (size_t)s->hidden;
  for (int32_t l = 0; l < m->cfg.layers; l++) {
    layers[l] = m->w.layer[l]; /* head ids and frozen weights are borrowed */
    layers[l].ln1_g = s->ln1_g + (size_t)l * H;
    layers[l].ln1_b = s->ln1_b + (size_t)l * H;
    layers[l].ln2_g = s->ln2_g + (size_t)l * H;
    layers[l].ln2_b = s->ln2_b + (size_t)l * H;
  }
  w->layer = layers;
  w->emb_ln_g = s->emb_ln_g;
  w->emb_ln_b = s->emb_ln_b;
  w->cls_w = s->cls_w;
  w->cls_b = s->cls_b;
  if (s->pool_w) {
    w->pool_w = s->pool_w;
    w->pool_b = s->pool_b;
  }
  *layers_out = layers;
  return TPA_OK;
}
