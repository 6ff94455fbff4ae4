/* SPDX-License-Identifier: Apache-2.0 */
/* The backward's view of the frozen block matrices. dX = dY W reads W as
 * [k = out, n = in], the other orientation from the forward's packed
 * [in, out]. Where oneDNN's packed layout is plain row-major (it is on the
 * AVX2 machines this was measured on, for every shape of these models),
 * the forward's copy IS [out, in] read with strides {1, out}: the backward
 * uses it, and importance or LoRA training holds one copy of the weights
 * (BERT-base LoRA step: 1325 -> 1001 MiB peak RSS, the same speed). Where
 * the layout is blocked (AVX-512 machines), the work packs its own copy
 * once, on its first call with gradients over the model's own weights;
 * matrices that live only packed are unpacked for that (model/plain.c).
 * Reading HF's layout in place instead would fault every mapped page back
 * in: the same memory as a copy, slower to read.
 *
 * Full fine-tuning trains copies of the weights, which these packed
 * matrices do not describe: it reads its own weights in place, except
 * output.dense, whose blocked packing (where oneDNN blocks it) is
 * repacked on every call (a 9 MiB reorder per BERT-base layer); where the
 * packed layout is plain, that copy would be a memcpy of the same layout
 * and is skipped (113 MB a step for BERT-base). */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/grad_internal.h"

enum { MATS = TPA__LAYER_MATRICES };

/* Matrix @p which of block @p l of the table @p w: HF pointer and
 * [out, in]. */
static const float *matrix_of(const tpa_model *m, const tpa__weights *w, int32_t l, int which,
                              int64_t *out, int64_t *in) {
  return *tpa__layer_matrix(&w->layer[l], &m->cfg, which, out, in);
}

static const float *matrix(const tpa_model *m, int32_t l, int which, int64_t *out, int64_t *in) {
  return matrix_of(m, &m->w, l, which, out, in);
}

tpa_status tpa__grad_pack(tpa__grad_work *wk, const tpa_model *m) {
  if (!m->infer)
    return TPA_OK; /* no packed forward either: everything in place */
  const size_t n = (size_t)m->cfg.layers * MATS;
  size_t *offset = tpa__calloc(n, sizeof *offset);
  wk->bwd = tpa__calloc(n, sizeof *wk->bwd);
  wk->bwd_fwd = tpa__calloc(n, sizeof *wk->bwd_fwd);
  if (!offset || !wk->bwd || !wk->bwd_fwd) {
    free(offset);
    return TPA__NO_MEMORY("backward weights");
  }
  tpa_status s = TPA_OK;
  size_t total = 0;
  bool *want = tpa__calloc(n, sizeof *want); /* matrices that live only packed */
  if (!want)
    s = TPA__NO_MEMORY("backward weights");
  for (size_t i = 0; s == TPA_OK && i < n; i++) {
    int64_t out, in;
    const float *src = matrix(m, (int32_t)(i / MATS), (int)(i % MATS), &out, &in);
    size_t bytes = 0;
    offset[i] = SIZE_MAX;
    if (out == 0 || in == 0)
      continue; /* every head pruned */
    /* Where the forward's packing is plain [in, out] (AVX2 machines), it
     * is also the [out, in] the backward reads: no second copy. */
    bool plain = false;
    s = tpa__nn_packed_is_plain(wk->nn, in, out, &plain);
    if (s != TPA_OK || plain) {
      wk->bwd_fwd[i] = plain;
      continue;
    }
    s = tpa__nn_packed_size(wk->nn, out, in, &bytes);
    offset[i] = total;
    want[i] = !src;
    if (s == TPA_OK && !tpa__add_size(total, (bytes + 63) & ~(size_t)63, &total))
      s = tpa__error(TPA_ERR_INVALID_ARGUMENT, "backward weights: model too large");
  }
  if (s == TPA_OK && total && !(wk->bwd_block = tpa__aligned_alloc(total)))
    s = TPA__NO_MEMORY("backward weights");
  /* Matrices that live only packed are unpacked for the call (none: no
   * scratch). */
  tpa__plain plain = {0};
  if (s == TPA_OK)
    s = tpa__model_plain_some(m, &plain, want);
  free(want);
  for (size_t i = 0; s == TPA_OK && i < n; i++) {
    if (offset[i] == SIZE_MAX)
      continue;
    int64_t out, in;
    const float *src = matrix(m, (int32_t)(i / MATS), (int)(i % MATS), &out, &in);
    const bool mine = src != NULL;
    if (!src)
      src = matrix_of(m, &plain.w, (int32_t)(i / MATS), (int)(i % MATS), &out, &in);
    float *dst = (float *)((char *)wk->bwd_block + offset[i]);
    const tpa__nn_tensor view = tpa__nn_dense2(out, in);
    char what[64];
    snprintf(what, sizeof what, "layer %zu backward weight %zu", i / MATS, i % MATS);
    s = tpa__nn_pack_weights(wk->nn, &view, src, dst, what);
    if (s == TPA_OK) {
      wk->bwd[i] = dst;
      if (mine)
        tpa__model_release_mapped(m, src, (size_t)out * (size_t)in * sizeof(float));
    }
  }
  tpa__plain_free(&plain);
  free(offset);
  if (s != TPA_OK) {
    free(wk->bwd_block);
    free(wk->bwd);
    free(wk->bwd_fwd);
    wk->bwd_block = NULL;
    wk->bwd = NULL;
    wk->bwd_fwd = NULL;
  }
  return s;
}

tpa_status tpa__grad_pack_copies(tpa__grad_work *wk, const tpa_model *m, const tpa__weights *w) {
  wk->f_copy_valid = false;
  const int64_t h = m->cfg.hidden;
  if (wk->f_copy_plain < 0) {
    /* Where oneDNN's packed layout of [hidden, inter] is plain row-major
     * (AVX2 machines), the "packed" copy would be a memcpy of HF's own
     * layout: 113 MB a step for BERT-base. Read the weights in place. */
    bool plain = true;
    for (int32_t l = 0; plain && l < m->cfg.layers; l++) {
      tpa_status s = tpa__nn_packed_is_plain(wk->nn, h, m->w.layer[l].inter, &plain);
      if (s != TPA_OK)
        return s;
    }
    wk->f_copy_plain = plain;
  }
  if (wk->f_copy_plain)
    return TPA_OK;
  if (!wk->f_copy) {
    /* One slot per layer, as large as the widest layer's packing needs. */
    size_t bytes = 0, total;
    for (int32_t l = 0; l < m->cfg.layers; l++) {
      size_t b;
      tpa_status s = tpa__nn_packed_size(wk->nn, h, m->w.layer[l].inter, &b);
      if (s != TPA_OK)
        return s;
      bytes = b > bytes ? b : bytes;
    }
    bytes = (bytes + 63) & ~(size_t)63;
    if (!tpa__mul_size(bytes, (size_t)m->cfg.layers, &total))
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "backward weights: model too large");
    if (!(wk->f_copy = tpa__aligned_alloc(total ? total : 64)))
      return TPA__NO_MEMORY("backward weights");
    wk->f_copy_bytes = bytes;
  }
  for (int32_t l = 0; l < m->cfg.layers; l++) {
    const tpa__nn_tensor view = tpa__nn_dense2(h, m->w.layer[l].inter);
    float *dst = (float *)((char *)wk->f_copy + (size_t)l * wk->f_copy_bytes);
    char what[64];
    snprintf(what, sizeof what, "layer %d output.dense for the backward", l);
    tpa_status s = tpa__nn_pack_weights(wk->nn, &view, w->layer[l].f_w, dst, what);
    if (s != TPA_OK)
      return s;
  }
  wk->f_copy_valid = true;
  return TPA_OK;
}
