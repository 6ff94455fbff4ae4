/* SPDX-License-Identifier: Apache-2.0 */
/* Weight preparation at load time. HF stores a Linear weight as [out, in];
 * every block matrix is reordered once into the blocked layout oneDNN's
 * matmul prefers (measured on the 2-core test machine: 290-320 GFLOP/s
 * against 170 for a plain row-major [768, 3072], whose 12 KiB row pitch
 * thrashes the cache). The copies replace the originals: the pages of the
 * memory-mapped file that were copied are handed back to the kernel
 * (MADV_DONTNEED on a read-only file mapping only drops clean pages, which
 * a later reader would fault in again from the file), so resident memory
 * holds one copy of the weights, not two. Embeddings, biases and the small
 * head matrices are used where the loader put them. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/forward.h"

/* One Linear layer: HF weight [out, in] -> packed [in, out]. */
typedef struct pack_job {
  const float *src;
  int64_t in, out;
  const float **dst;
  size_t offset, bytes;
} pack_job;

static void jobs_of_layer(const tpa_model *m, int32_t l, tpa__infer_layer *L, pack_job *j) {
  const tpa__layer *w = &m->w.layer[l];
  const int64_t h = m->cfg.hidden, inter = w->inter;
  const int64_t hq = (int64_t)w->n_heads * m->cfg.head_dim;
  L->hq = (int32_t)hq;
  j[0] = (pack_job){w->q_w, h, hq, &L->q_w, 0, 0};
  j[1] = (pack_job){w->k_w, h, hq, &L->k_w, 0, 0};
  j[2] = (pack_job){w->v_w, h, hq, &L->v_w, 0, 0};
  j[3] = (pack_job){w->o_w, hq, h, &L->o_w, 0, 0};
  j[4] = (pack_job){w->i_w, h, inter, &L->i_w, 0, 0};
  j[5] = (pack_job){w->f_w, inter, h, &L->f_w, 0, 0};
}

enum { JOBS_PER_LAYER = 6 };

tpa_status tpa__infer_pack(const tpa_model *m, struct tpa__infer_state *st) {
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
    /* HF's [out, in] row-major is the [in, out] view with strides {1, in}. */
    const tpa__nn_tensor view = tpa__nn_strided2(j->in, j->out, 1, j->in);
    char what[64];
    snprintf(what, sizeof what, "layer %zu weight %zu", i / JOBS_PER_LAYER, i % JOBS_PER_LAYER);
    s = tpa__nn_pack_weights(ctx, &view, j->src, dst, what);
    if (s == TPA_OK) {
      *j->dst = dst;
      tpa__model_release_mapped(m, j->src, (size_t)j->in * (size_t)j->out * sizeof(float));
    }
  }
  tpa__nn_ctx_free(ctx);
  free(jobs);
  return s;
}
