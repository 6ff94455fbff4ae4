/* SPDX-License-Identifier: Apache-2.0 */
/* One copy of the block matrices. Inference reads only the packed copies
 * (model/forward_pack.c); the plain [out, in] ones are read by the stages
 * that change or write weights. Matrices in the file mapping cost nothing
 * once packed (their pages go back to the kernel), but copies in owned
 * memory would double resident memory: an F16 BERT-base predicted with
 * 799 MB against 402 MB for its F32 twin. So owned copies are dropped once
 * packed, and the stages that need them unpack them for the call
 * (tpa__model_plain): a reorder that copies the values exactly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/forward.h"
#include "model/model.h"

enum { MATS = TPA__LAYER_MATRICES };

void tpa__model_drop_packed_plain(tpa_model *m) {
  for (int32_t l = 0; m->infer && !m->w.quant && l < m->cfg.layers; l++)
    for (int k = 0; k < MATS; k++) {
      int64_t out, in;
      const float **p = tpa__layer_matrix(&m->w.layer[l], &m->cfg, k, &out, &in);
      if (*p && !tpa__model_is_mapped(m, *p) && tpa__infer_packed(m->infer, l, k))
        *p = NULL;
    }
  tpa__model_collect(m);
}

tpa_status tpa__model_plain(const tpa_model *m, tpa__plain *p) {
  return tpa__model_plain_some(m, p, NULL);
}

tpa_status tpa__model_plain_some(const tpa_model *m, tpa__plain *p, const bool *want) {
  memset(p, 0, sizeof *p);
  tpa_status s = tpa__model_weights_copy(m, &p->w, &p->layers);
  if (s != TPA_OK || m->w.quant || !m->infer)
    return s; /* an int8 model has no f32 block matrices to give */
  /* One scratch allocation for every matrix that lives only packed. */
  size_t floats = 0;
  for (int32_t l = 0; l < m->cfg.layers; l++)
    for (int k = 0; k < MATS; k++) {
      int64_t out, in;
      if (!*tpa__layer_matrix(&p->layers[l], &m->cfg, k, &out, &in) &&
          (!want || want[l * MATS + k]))
        floats += (size_t)out * (size_t)in; /* no larger than the packed copies */
    }
  if (!floats)
    return TPA_OK;
  if (!(p->scratch = tpa__aligned_alloc(floats * sizeof(float)))) {
    tpa__plain_free(p);
    return TPA__NO_MEMORY("unpacked weights");
  }
  tpa__nn_ctx *ctx = NULL;
  s = tpa__nn_ctx_create(&ctx, m->infer->cache);
  float *at = p->scratch;
  for (int32_t l = 0; s == TPA_OK && l < m->cfg.layers; l++)
    for (int k = 0; s == TPA_OK && k < MATS; k++) {
      int64_t out, in;
      const float **dst = tpa__layer_matrix(&p->layers[l], &m->cfg, k, &out, &in);
      if (*dst || (want && !want[l * MATS + k]))
        continue;
      const float *packed = tpa__infer_packed(m->infer, l, k);
      if (out > 0 && in > 0) {
        if (!packed) {
          s = tpa__error(TPA_ERR_INTERNAL, "%s: layer %d matrix %d has no packed copy",
                         m->dir ? m->dir : "model", l, k);
          break;
        }
        /* The packing's view: HF's [out, in] seen as [in, out]. */
        const tpa__nn_tensor view = tpa__nn_strided2(in, out, 1, in);
        char what[64];
        snprintf(what, sizeof what, "layer %d weight %d (unpacking)", l, k);
        s = tpa__nn_unpack_weights(ctx, &view, packed, at, what);
      }
      *dst = at;
      at += (size_t)out * (size_t)in;
    }
  tpa__nn_ctx_free(ctx);
  if (s != TPA_OK)
    tpa__plain_free(p);
  return s;
}

void tpa__plain_free(tpa__plain *p) {
  free(p->layers);
  free(p->scratch);
  memset(p, 0, sizeof *p);
}
