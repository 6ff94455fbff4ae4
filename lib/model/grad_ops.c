/* SPDX-License-Identifier: Apache-2.0 */
/* Building blocks of the gradient engine: counter-based dropout and the
 * linear / LoRA products, forward and backward, over HF-layout weights.
 *
 * Dropout masks are never stored: keep(i) is a hash of (seed, layer,
 * site, i) with i the element's index in the WHOLE batch, so the backward
 * regenerates the same bits, and the result depends neither on the
 * thread count nor on how the batch is cut into micro-batches. */
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "model/grad_internal.h"

void tpa__dropout(uint64_t seed, int32_t layer, int32_t site, float p, uint64_t first, size_t n,
                  const float *src, const float *res, float *dst) {
  const uint64_t key =
      tpa__rng_hash(seed ^ tpa__rng_hash(((uint64_t)(uint32_t)layer << 8) | (uint64_t)site));
  /* keep when the top 24 bits reach p * 2^24: P(keep) = 1 - p. */
  const uint64_t threshold = (uint64_t)((double)p * 16777216.0);
  const float inv = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) {
    const bool keep = (tpa__rng_hash(key + first + i) >> 40) >= threshold;
    float v = keep ? src[i] * inv : 0.0f;
    dst[i] = res ? v + res[i] : v;
  }
}

tpa_status tpa__g_linear(tpa__nn_ctx *nn, int64_t t, int64_t in, int64_t out, const float *x,
                         const float *w, const float *packed, const float *b, const float *add,
                         float *y, const char *what) {
  tpa__nn_matmul_desc d;
  memset(&d, 0, sizeof d);
  d.src = tpa__nn_dense2(t, in);
  d.dst = tpa__nn_dense2(t, out);
  if (packed) {
    d.wei = tpa__nn_dense2(in, out);
    d.wei_packed = 1;
  } else {
    d.wei = tpa__nn_strided2(in, out, 1, in); /* HF [out, in] seen as [in, out] */
  }
  if (b)
    d.bias = tpa__nn_dense2(1, out);
  if (add)
    d.add = d.dst;
  return tpa__nn_matmul(nn, &d, x, packed ? packed : w, b, add, y, what);
}

tpa_status tpa__g_linear_dx(tpa__nn_ctx *nn, int64_t t, int64_t in, int64_t out, const float *dy,
                            const float *w, const float *packed, bool fwd, float *dx, bool acc,
                            const char *what) {
  tpa__nn_matmul_desc d;
  memset(&d, 0, sizeof d);
  d.src = tpa__nn_dense2(t, out);
  if (packed && fwd) {
    d.wei = tpa__nn_strided2(out, in, 1, out); /* the forward's [in, out] */
  } else {
    d.wei = tpa__nn_dense2(out, in); /* HF's layout is already [out, in] */
    d.wei_packed = packed != NULL;
  }
  d.dst = tpa__nn_dense2(t, in);
  d.accumulate = acc;
  return tpa__nn_matmul(nn, &d, dy, packed ? packed : w, NULL, NULL, dx, what);
}

tpa_status tpa__g_linear_dw(tpa__nn_ctx *nn, int64_t t, int64_t in, int64_t out, const float *dy,
                            const float *x, float *dw, float *db, const char *what) {
  if (dw) {
    tpa__nn_matmul_desc d;
    memset(&d, 0, sizeof d);
    d.src = tpa__nn_strided2(out, t, 1, out); /* dY^T */
    d.wei = tpa__nn_dense2(t, in);
    d.dst = tpa__nn_dense2(out, in);
    d.accumulate = 1;
    tpa_status s = tpa__nn_matmul(nn, &d, dy, x, NULL, NULL, dw, what);
    if (s != TPA_OK)
      return s;
  }
  if (db) {
    /* Column sums in double per column: t is at most a micro-batch. */
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < out; j++) {
      double acc = 0;
      for (int64_t i = 0; i < t; i++)
        acc += dy[i * out + j];
      db[j] += (float)acc;
    }
  }
  return TPA_OK;
}

tpa_status tpa__g_lora_fwd(tpa__nn_ctx *nn, const tpa__lora_mod *mod, int64_t t, const float *x,
                           float *y, float *lt, const char *what) {
  if (!mod || mod->rank <= 0)
    return TPA_OK;
  const int64_t r = mod->rank, in = mod->in, out = mod->out;
  tpa__nn_matmul_desc d;
  memset(&d, 0, sizeof d);
  d.src = tpa__nn_dense2(t, in);
  d.wei = tpa__nn_strided2(in, r, 1, in); /* A^T */
  d.dst = tpa__nn_dense2(t, r);
  tpa_status s = tpa__nn_matmul(nn, &d, x, mod->a, NULL, NULL, lt, what);
  if (s != TPA_OK)
    return s;
  memset(&d, 0, sizeof d);
  d.src = tpa__nn_dense2(t, r);
  d.wei = tpa__nn_strided2(r, out, 1, r); /* B^T */
  d.dst = tpa__nn_dense2(t, out);
  d.scale = mod->alpha / (float)mod->rank;
  d.accumulate = 1;
  return tpa__nn_matmul(nn, &d, lt, mod->b, NULL, NULL, y, what);
}

tpa_status tpa__g_lora_bwd(tpa__nn_ctx *nn, const tpa__lora_mod *mod, const tpa__lora_mod *gmod,
                           int64_t t, const float *x, const float *dy, float *dx, const float *lt,
                           float *ldt, const char *what) {
  if (!mod || mod->rank <= 0)
    return TPA_OK;
  const int64_t r = mod->rank, in = mod->in, out = mod->out;
  const float sc = mod->alpha / (float)mod->rank;
  tpa__nn_matmul_desc d;
  tpa_status s;
  if (gmod && gmod->b) {
    /* dB += s dY^T (X A^T) */
    memset(&d, 0, sizeof d);
    d.src = tpa__nn_strided2(out, t, 1, out);
    d.wei = tpa__nn_dense2(t, r);
    d.dst = tpa__nn_dense2(out, r);
    d.scale = sc;
    d.accumulate = 1;
    s = tpa__nn_matmul(nn, &d, dy, lt, NULL, NULL, gmod->b, what);
    if (s != TPA_OK)
      return s;
  }
  /* dT = s dY B */
  memset(&d, 0, sizeof d);
  d.src = tpa__nn_dense2(t, out);
  d.wei = tpa__nn_dense2(out, r);
  d.dst = tpa__nn_dense2(t, r);
  d.scale = sc;
  s = tpa__nn_matmul(nn, &d, dy, mod->b, NULL, NULL, ldt, what);
  if (s != TPA_OK)
    return s;
  if (gmod && gmod->a) {
    /* dA += dT^T X */
    memset(&d, 0, sizeof d);
    d.src = tpa__nn_strided2(r, t, 1, r);
    d.wei = tpa__nn_dense2(t, in);
    d.dst = tpa__nn_dense2(r, in);
    d.accumulate = 1;
    s = tpa__nn_matmul(nn, &d, ldt, x, NULL, NULL, gmod->a, what);
    if (s != TPA_OK)
      return s;
  }
  return dx ? tpa__g_lora_dx(nn, mod, t, ldt, dx, what) : TPA_OK;
}

tpa_status tpa__g_lora_dx(tpa__nn_ctx *nn, const tpa__lora_mod *mod, int64_t t, const float *ldt,
                          float *dx, const char *what) {
  if (!mod || mod->rank <= 0)
    return TPA_OK;
  /* dX += dT A */
  const int64_t r = mod->rank, in = mod->in;
  tpa__nn_matmul_desc d;
  memset(&d, 0, sizeof d);
  d.src = tpa__nn_dense2(t, r);
  d.wei = tpa__nn_dense2(r, in);
  d.dst = tpa__nn_dense2(t, in);
  d.accumulate = 1;
  return tpa__nn_matmul(nn, &d, ldt, mod->a, NULL, NULL, dx, what);
}

const float *tpa__g_packed(const tpa_model *m, const tpa__weights *w, int32_t layer, int which) {
  if (!m->infer || !m->infer->layer)
    return NULL;
  const float *mine = *tpa__layer_matrix(&w->layer[layer], NULL, which, NULL, NULL);
  const float *model = *tpa__layer_matrix(&m->w.layer[layer], NULL, which, NULL, NULL);
  return mine == model ? tpa__infer_packed(m->infer, layer, which) : NULL;
}

const float *tpa__g_packed_bwd(const tpa__grad_work *wk, const tpa_model *m, const tpa__weights *w,
                               int32_t layer, int which, bool *fwd) {
  const float *mine = tpa__g_packed(m, w, layer, which);
  const size_t i = (size_t)layer * 6 + (size_t)which;
  *fwd = mine && wk->bwd_fwd && wk->bwd_fwd[i];
  if (*fwd)
    return mine;
  if (wk->bwd && mine)
    return wk->bwd[i];
  /* Not the model's own matrix (full fine-tuning trains copies). */
  if (which == 5 && wk->f_copy_valid)
    return (const float *)((const char *)wk->f_copy + (size_t)layer * wk->f_copy_bytes);
  return NULL;
}

float *tpa__g_lora_x(const tpa__grad_work *wk, int32_t l, int module) {
  if (!wk->lora_x) /* no LoRA (full fine-tuning, importance): no buffer */
    return NULL;
  return wk->lora_x + ((size_t)l * TPA__LORA_ALL + (size_t)module) * wk->tokens * wk->lora_rank_cap;
}
