/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_lora_set_merge: fold a LoRA set into its model, W' = W + (alpha/r) B A
 * for every adapted projection, and the set's LayerNorm and classifier
 * copies in place of the model's. The model's weights may point into the
 * read-only mapping of model.safetensors, so every changed tensor is
 * written into a new model-owned block and repointed; the old values stay
 * where they were until the new inference state exists, so a failure
 * leaves the model exactly as it was. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/model.h"
#include "stages/lora.h"

/* Floats the merged copies need: each adapted module's weight (@p mats),
 * then the LayerNorms ([hidden] embeddings + 4 per block) and the
 * classifier (@p vecs). Two blocks: once packed, the model drops its
 * plain matrices, and the first block is freed with them. */
static bool merged_size(const tpa_lora_set *s, size_t *mats, size_t *vecs) {
  size_t H = (size_t)s->hidden, n = 0, k;
  for (size_t i = 0; i < (size_t)s->layers * TPA__LORA_ALL; i++) {
    const tpa__lora_mod *m = &s->mod[i];
    if (m->rank > 0 &&
        (!tpa__mul_size((size_t)m->out, (size_t)m->in, &k) || !tpa__add_size(n, k, &n)))
      return false;
  }
  *mats = n;
  size_t vec = 4 * (size_t)s->layers + (size_t)s->num_labels + (s->pool_w ? H + 1 : 0);
  return tpa__mul_size(vec, H, &k) &&
         tpa__add_size(k, 2 * (size_t)s->emb + (size_t)s->num_labels, vecs);
}

/* Columns per step of merge_module: its double accumulator lives on the
 * stack (2 KiB), whatever the module's width. */
#define MERGE_CHUNK 256

/* dst = W + scale * B A, [out, in] row-major. Each element is accumulated
 * in double over the rank (r is small: 4 to 64) and rounded once, so the
 * merged weight is W + scale * B A to float precision whatever r is.
 * Cost: out * in * r multiply-adds, about 0.2 G for all of BERT-base at
 * rank 8; rows are independent, so they are shared among the threads. */
static void merge_module(const tpa__lora_mod *m, const float *w, float *dst) {
  const double scale = (double)m->alpha / (double)m->rank;
  const size_t in = (size_t)m->in, r = (size_t)m->rank;
  const long out = m->out;
#pragma omp parallel for schedule(static)
  for (long o = 0; o < out; o++) {
    double acc[MERGE_CHUNK];
    const float *brow = m->b + (size_t)o * r, *wr = w + (size_t)o * in;
    float *dr = dst + (size_t)o * in;
    for (size_t c0 = 0; c0 < in; c0 += MERGE_CHUNK) {
      size_t n = in - c0 < MERGE_CHUNK ? in - c0 : MERGE_CHUNK;
      for (size_t i = 0; i < n; i++)
        acc[i] = 0.0;
      for (size_t k = 0; k < r; k++) {
        double c = scale * (double)brow[k];
        const float *a = m->a + k * in + c0;
        for (size_t i = 0; i < n; i++)
          acc[i] += c * (double)a[i];
      }
      for (size_t i = 0; i < n; i++)
        dr[c0 + i] = (float)((double)wr[c0 + i] + acc[i]);
    }
  }
}

/* Where module @p k of layer @p ly keeps its weight: the layer's matrices
 * are indexed in tpa_lora_module's order. */
_Static_assert(TPA_LORA_QUERY == 0 && TPA_LORA_KEY == 1 && TPA_LORA_VALUE == 2 &&
                   TPA_LORA_OUTPUT == 3 && TPA_LORA_INTERMEDIATE == 4 && TPA_LORA_FFN_OUTPUT == 5 &&
                   TPA__LORA_ALL == TPA__LAYER_MATRICES,
               "LoRA modules and block matrices share one order");
static const float **module_weight(tpa__layer *ly, int32_t k) {
  return tpa__layer_matrix(ly, NULL, k, NULL, NULL);
}

/* Copy @p n floats of @p src to *at, point *slot at the copy, advance. */
static void place(const float **slot, const float *src, size_t n, float **at) {
  memcpy(*at, src, n * sizeof(float));
  *slot = *at;
  *at += n;
}

/* Fill @p mats and @p vecs with the merged tensors and point @p w (a copy
 * of the model's table with its own layer array) at them; the old weights
 * are read from @p base (HF's layout). */
static void build(const tpa_lora_set *s, tpa__weights *base, tpa__weights *w, float *mats,
                  float *vecs) {
  size_t H = (size_t)s->hidden;
  float *at = mats;
  for (int32_t l = 0; l < s->layers; l++)
    for (int32_t k = 0; k < TPA__LORA_ALL; k++) {
      const tpa__lora_mod *mod = tpa__lora_at(s, l, k);
      if (mod->rank <= 0)
        continue;
      const float **slot = module_weight(&w->layer[l], k);
      merge_module(mod, *module_weight(&base->layer[l], k), at);
      *slot = at;
      at += (size_t)mod->out * (size_t)mod->in;
    }
  at = vecs;
  place(&w->emb_ln_g, s->emb_ln_g, (size_t)s->emb, &at);
  place(&w->emb_ln_b, s->emb_ln_b, (size_t)s->emb, &at);
  for (int32_t l = 0; l < s->layers; l++) {
    tpa__layer *ly = &w->layer[l];
    size_t off = (size_t)l * H;
    place(&ly->ln1_g, s->ln1_g + off, H, &at);
    place(&ly->ln1_b, s->ln1_b + off, H, &at);
    place(&ly->ln2_g, s->ln2_g + off, H, &at);
    place(&ly->ln2_b, s->ln2_b + off, H, &at);
  }
  place(&w->cls_w, s->cls_w, (size_t)s->num_labels * H, &at);
  place(&w->cls_b, s->cls_b, (size_t)s->num_labels, &at);
  if (s->pool_w) {
    place(&w->pool_w, s->pool_w, H * H, &at);
    place(&w->pool_b, s->pool_b, H, &at);
  }
}

/* The model's weights with the adapted modules' matrices in HF's layout. */
static tpa_status plain_of_adapted(const tpa_lora_set *s, const tpa_model *m, tpa__plain *p) {
  bool *want = tpa__calloc((size_t)s->layers * TPA__LAYER_MATRICES, sizeof *want);
  if (!want)
    return TPA__NO_MEMORY("merged weights");
  for (int32_t l = 0; l < s->layers; l++)
    for (int32_t k = 0; k < TPA__LORA_ALL; k++) /* module k is matrix k (module_weight) */
      want[(size_t)l * TPA__LAYER_MATRICES + (size_t)k] = tpa__lora_at(s, l, k)->rank > 0;
  tpa_status st = tpa__model_plain_some(m, p, want);
  free(want);
  return st;
}

TPA_API tpa_status tpa_lora_set_merge(const tpa_lora_set *set, tpa_model *model) {
  tpa__error_clear();
  {
    tpa_status qs = tpa__model_require_f32(model, "tpa_lora_set_merge");
    if (qs != TPA_OK)
      return qs;
  }
  if (!set || !model)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_lora_set_merge: NULL set or model");
  tpa_status st = tpa__lora_set_check(set, model);
  if (st != TPA_OK)
    return tpa__error_prefix(st, "tpa_lora_set_merge");
  size_t n_mats = 0, n_vecs = 0, mat_bytes = 0, vec_bytes = 0;
  if (!merged_size(set, &n_mats, &n_vecs) || !tpa__mul_size(n_mats, sizeof(float), &mat_bytes) ||
      !tpa__mul_size(n_vecs, sizeof(float), &vec_bytes))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_lora_set_merge: size overflow");
  float *mats = tpa__aligned_alloc(mat_bytes ? mat_bytes : 64);
  float *vecs = tpa__aligned_alloc(vec_bytes ? vec_bytes : 64);
  /* The old weights in HF's layout (unpacked where they live only packed),
   * and the new table: the model's, with the merged tensors swapped in. */
  tpa__plain base = {0};
  tpa__weights w;
  tpa__layer *layers = NULL;
  st = mats && vecs ? plain_of_adapted(set, model, &base) : TPA__NO_MEMORY("merged weights");
  if (st == TPA_OK)
    st = tpa__model_weights_copy(model, &w, &layers);
  if (st != TPA_OK) {
    tpa__plain_free(&base);
    free(mats);
    free(vecs);
    return st;
  }
  build(set, &base.w, &w, mats, vecs);
  tpa__plain_free(&base);

  /* Own the blocks first so nothing can fail after the swap but the
   * inference state, which tpa__model_replace_weights then undoes (the
   * unused blocks stay owned and go with the model). */
  if (!tpa__model_own(model, mats, mat_bytes ? mat_bytes : 64)) {
    free(mats);
    free(vecs);
    free(layers);
    return TPA__NO_MEMORY("merged weights");
  }
  if (!tpa__model_own(model, vecs, vec_bytes ? vec_bytes : 64)) {
    free(vecs);
    free(layers);
    return TPA__NO_MEMORY("merged weights");
  }
  st = tpa__model_replace_weights(model, &w);
  free(layers);
  if (st != TPA_OK)
    return tpa__error_prefix(st, "tpa_lora_set_merge: rebuilding the inference state");
  return TPA_OK;
}
