/* SPDX-License-Identifier: Apache-2.0 */
/* Data-parallel training (docs/distributed.md). The global batch of a
 * step is the single-process one (same shuffle, same seed); rank k takes
 * a contiguous shard of its rows, padded to the whole batch's length, and
 * the gradient engine keys dropout by the GLOBAL row and divides by the
 * GLOBAL batch size, so summing the shards' gradients gives the
 * single-process gradient up to float summation order. The sum is one
 * MPI_Allreduce per step over [gradients | loss | status of each rank];
 * clipping and AdamW then run identically on every rank. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/fault.h"
#include "stages/train_dist.h"

void tpa__train_dist_shard(const tpa_dist *d, tpa__grad_work *wk, size_t rows, size_t *s0,
                           size_t *s1) {
  if (!tpa__dist_active(d)) {
    *s0 = 0;
    *s1 = rows;
    return;
  }
  tpa__dist_share(d, rows, s0, s1);
  tpa__grad_work_set_shard(wk, (int64_t)*s0, (int32_t)rows);
}

/* [total gradients | loss | one status per rank]; allocated once, by
 * tpa__train_dist_sync (which agrees on its failure), so that the steps
 * allocate nothing and every rank can always take part. */
static float *reduce_buf(const tpa_dist *d, const tpa__trainable *t, float **buf) {
  if (!*buf && !tpa__fault("train-dist-buffer"))
    *buf = tpa__malloc_array(t->total + 1 + (size_t)tpa__dist_size(d), sizeof **buf);
  return *buf;
}

tpa_status tpa__train_dist_reduce(const tpa_dist *d, tpa__trainable *t, bool had_rows,
                                  tpa_status mine, double *loss, float *b, const char *fn) {
  if (!tpa__dist_active(d))
    return mine;
  const size_t total = t->total, size = (size_t)tpa__dist_size(d);
  float *p = b;
  for (size_t i = 0; i < t->n; i++) {
    if (had_rows && mine == TPA_OK)
      memcpy(p, t->grads[i].g, t->grads[i].n * sizeof *p);
    else
      memset(p, 0, t->grads[i].n * sizeof *p);
    p += t->grads[i].n;
  }
  b[total] = had_rows && mine == TPA_OK ? (float)*loss : 0.0f;
  memset(b + total + 1, 0, size * sizeof *b);
  b[total + 1 + (size_t)tpa__dist_rank(d)] = (float)mine;
  tpa_status s = tpa__dist_sum_f32(d, b, total + 1 + size, "the step's gradients");
  if (s != TPA_OK || mine != TPA_OK)
    return s != TPA_OK ? s : mine;
  for (size_t r = 0; r < size; r++)
    if (b[total + 1 + r] != 0.0f) {
      const tpa_status theirs = (tpa_status)(int)b[total + 1 + r];
      return tpa__error(theirs, "%s: the training step failed on rank %zu of %zu (%s)", fn, r, size,
                        tpa_status_str(theirs));
    }
  p = b;
  for (size_t i = 0; i < t->n; i++) {
    memcpy(t->grads[i].g, p, t->grads[i].n * sizeof *p);
    p += t->grads[i].n;
  }
  *loss = (double)b[total];
  return TPA_OK;
}

tpa_status tpa__train_dist_eval(const tpa_dist *d, tpa__grad_work *work, const tpa_model *m,
                                const tpa__trainable *t, const tpa__encoded *e, int32_t batch,
                                float *logits) {
  if (!tpa__dist_active(d))
    return tpa__train_eval_logits(work, m, t, e, batch, logits);
  const size_t nl = (size_t)m->cfg.num_labels, w = (size_t)e->max_len;
  size_t begin = 0, end = 0;
  tpa__dist_share(d, e->n, &begin, &end);
  tpa__grad_work_set_shard(work, 0, 0);
  tpa__encoded v = *e;
  v.ids = e->ids + begin * w;
  v.types = e->types + begin * w;
  v.len = e->len + begin;
  v.labels = e->labels + begin;
  v.n = end - begin;
  memset(logits, 0, e->n * nl * sizeof *logits);
  tpa_status s = tpa__train_eval_logits(work, m, t, &v, batch, logits + begin * nl);
  s = tpa__dist_agree(d, s, "dev evaluation");
  if (s == TPA_OK) /* x + 0 is exact: the sum assembles the shares */
    s = tpa__dist_sum_f32(d, logits, e->n * nl, "dev logits");
  return s;
}

tpa_status tpa__train_dist_sync(const tpa_dist *d, tpa__trainable *t, tpa__train_state *st,
                                tpa_status mine, float **buf, const char *fn) {
  if (!tpa__dist_active(d))
    return mine;
  float *b = reduce_buf(d, t, buf);
  tpa_status s = mine;
  if (s == TPA_OK && !b)
    s = TPA__NO_MEMORY("training state broadcast");
  s = tpa__dist_agree(d, s, fn);
  if (s != TPA_OK)
    return s;
  const size_t bytes = t->total * sizeof(float);
  if (tpa__dist_rank(d) == 0)
    tpa__trainable_save(t, b);
  s = tpa__dist_bcast(d, st, sizeof *st, 0, "the training state");
  if (s == TPA_OK)
    s = tpa__dist_bcast(d, b, bytes, 0, "the parameters");
  if (s == TPA_OK)
    tpa__trainable_restore(t, b);
  if (s == TPA_OK)
    s = tpa__dist_bcast(d, t->m, bytes, 0, "AdamW's first moments");
  if (s == TPA_OK)
    s = tpa__dist_bcast(d, t->v, bytes, 0, "AdamW's second moments");
  if (s == TPA_OK && t->best)
    s = tpa__dist_bcast(d, t->best, bytes, 0, "the best epoch's parameters");
  return s;
}
