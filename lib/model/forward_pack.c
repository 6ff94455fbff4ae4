/* SPDX-License-Identifier: Apache-2.0 */
/* Weight preparation at load time. HF stores a Linear weight as [out, in];
 * every block matrix is reordered once into the blocked layout oneDNN's
 * matmul prefers (measured on the 2-core test machine: 290-320 GFLOP/s
 * against 170 for a plain row-major [768, 3072], whose 12 KiB row pitch
 * thrashes the cache). The copies replace the originals: the pages of the
 * memory-mapped file that were copied are handed back to the kernel
 * (MADV_DONTNEED on a read-only file mapping only drops clean pages, which
 * a later reader would fault in again from the file), so resident memory
 * holds one copy of the weights, not two. Copies in owned memory
 * (converted F16/BF16 tensors, pruned, merged or trained ones) are
 * dropped after packing instead (tpa__model_drop_packed_plain); such a
 * matrix keeps its packed copy from the previous state when the weights
 * are replaced. Embeddings, biases and the small head matrices are used
 * where the loader put them. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/forward.h"

/* One Linear layer: HF weight [out, in] -> packed [in, out]. */
typedef struct pack_job {
  const float *src;
  const float **slot; /* where the model keeps src */
  int64_t in, out;
  const float **dst;
  size_t offset, bytes;
} pack_job;

enum { JOBS_PER_LAYER = TPA__LAYER_MATRICES };

static void jobs_of_layer(tpa_model *m, int32_t l, tpa__infer_layer *L, pack_job *j) {
  tpa__layer *w = &m->w.layer[l];
  L->hq = w->n_heads * m->cfg.head_dim;
  L->inter = w->inter;
  const float **dst[JOBS_PER_LAYER] = {&L->q_w, &L->k_w, &L->v_w, &L->o_w, &L->i_w, &L->f_w};
  for (int k = 0; k < JOBS_PER_LAYER; k++) {
    int64_t out, in;
    const float **slot = tpa__layer_matrix(w, &m->cfg, k, &out, &in);
    j[k] = (pack_job){*slot, slot, in, out, dst[k], 0, 0};
  }
}

const float *tpa__infer_packed(const struct tpa__infer_state *st, int32_t l, int which) {
  const tpa__infer_layer *L = &st->layer[l];
  const float *const p[JOBS_PER_LAYER] = {L->q_w, L->k_w, L->v_w, L->o_w, L->i_w, L->f_w};
  return which >= 0 && which < JOBS_PER_LAYER ? p[which] : NULL;
}

/* The packed copy of a matrix that lives only packed, from @p prev: the
 * same matrix, so the same shape (checked: a caller's table must not
 * drop a matrix it changed). */
static tpa_status take_previous(const tpa_model *m, const struct tpa__infer_state *prev,
                                const tpa__infer_layer *now, int32_t l, int which, float *dst,
                                size_t bytes) {
  const float *src = prev ? tpa__infer_packed(prev, l, which) : NULL;
  const bool same = which < 4 ? prev && prev->layer[l].hq == now->hq /* Q, K, V, O */
                              : prev && prev->layer[l].inter == now->inter;
  if (!src || !same)
    return tpa__error(TPA_ERR_INTERNAL,
                      "%s: layer %d matrix %d has neither weights nor a packed copy",
                      m->dir ? m->dir : "model", l, which);
  memcpy(dst, src, bytes);
  return TPA_OK;
}

tpa_status tpa__infer_pack(tpa_model *m, const struct tpa__infer_state *prev,
                           struct tpa__infer_state *st) {
  const int32_t layers = m->cfg.layers;
  pack_job *jobs = tpa__calloc((size_t)layers * JOBS_PER_LAYER, sizeof *jobs);
  tpa__nn_ctx *ctx = NULL;
  tpa_status s = jobs ? tpa__nn_ctx_create(&ctx, st->cache) : TPA__NO_MEMORY("weight packing");
  /* Sizes first (the blocked layout may pad), then one allocation. */
  size_t total = 0;
  st->max_hq = 0;
  if (s == TPA_OK && m->w.quant) {
    /* int8 weights are used in place, in HF's layout (lib/nn's int8
     * matmul reads them as they are stored; nothing to pack). */
    for (int32_t l = 0; l < layers; l++) {
      st->layer[l].hq = m->w.layer[l].n_heads * m->cfg.head_dim;
      if (st->layer[l].hq > st->max_hq)
        st->max_hq = st->layer[l].hq;
    }
    tpa__nn_ctx_free(ctx);
    free(jobs);
    return TPA_OK;
  }
  for (int32_t l = 0; s == TPA_OK && l < layers; l++) {
    jobs_of_layer(m, l, &st->layer[l], jobs + (size_t)l * JOBS_PER_LAYER);
    if (st->layer[l].hq > st->max_hq)
      st->max_hq = st->layer[l].hq;
    for (int k = 0; s == TPA_OK && k < JOBS_PER_LAYER; k++) {
      pack_job *j = &jobs[(size_t)l * JOBS_PER_LAYER + k];
      if (j->in == 0 || j->out == 0)
        continue; /* a layer whose heads were all pruned */
      s = tpa__nn_packed_size(ctx, j->in, j->out, &j->bytes);
      j->offset = total;
      if (s == TPA_OK && (!tpa__add_size(total, (j->bytes + 63) & ~(size_t)63, &total)))
        s = tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: model too large to pack", m->dir);
    }
  }
  if (s == TPA_OK && !(st->packed = tpa__aligned_alloc(total)))
    s = TPA__NO_MEMORY("packed weights");
  st->packed_bytes = total;
  for (size_t i = 0; s == TPA_OK && i < (size_t)layers * JOBS_PER_LAYER; i++) {
    pack_job *j = &jobs[i];
    if (!j->bytes)
      continue;
    float *dst = (float *)((char *)st->packed + j->offset);
    if (!j->src) {
      s = take_previous(m, prev, &st->layer[i / JOBS_PER_LAYER], (int32_t)(i / JOBS_PER_LAYER),
                        (int)(i % JOBS_PER_LAYER), dst, j->bytes);
      if (s == TPA_OK)
        *j->dst = dst;
      continue;
    }
    /* HF's [out, in] row-major is the [in, out] view with strides {1, in}. */
    const tpa__nn_tensor view = tpa__nn_strided2(j->in, j->out, 1, j->in);
    char what[64];
    snprintf(what, sizeof what, "layer %zu weight %zu", i / JOBS_PER_LAYER, i % JOBS_PER_LAYER);
    s = tpa__nn_pack_weights(ctx, &view, j->src, dst, what);
    if (s == TPA_OK) {
      *j->dst = dst;
      tpa__model_release_mapped(m, j->src, (size_t)j->in * (size_t)j->out * sizeof(float));
      if (!prev && !tpa__model_is_mapped(m, j->src)) {
        /* At load, a converted (F16/BF16) copy goes as soon as it is
         * packed, so the peak holds one copy of the weights plus one
         * matrix: the loader's share of tpa__model_drop_packed_plain's
         * work, done early. A failed load frees the whole model anyway. */
        *j->slot = NULL;
        tpa__model_collect_at(m, j->src);
      }
    }
  }
  tpa__nn_ctx_free(ctx);
  free(jobs);
  return s;
}
