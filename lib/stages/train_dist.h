/* SPDX-License-Identifier: Apache-2.0 */
/* Data-parallel pieces of the training loop (train_dist.c,
 * docs/distributed.md). With a NULL or single-rank communicator every
 * function leaves the single-process computation exactly as it was. */
#ifndef TPA_STAGES_TRAIN_DIST_H
#define TPA_STAGES_TRAIN_DIST_H

#include "dist/dist.h"
#include "stages/checkpoint.h"
#include "stages/train_internal.h"

/* This rank's contiguous shard [*s0, *s1) of a global batch of @p rows
 * rows, and the gradient engine told about it (dropout keyed by global
 * row, loss and gradients of the global mean). Single process: [0, rows). */
void tpa__train_dist_shard(const tpa_dist *d, tpa__grad_work *wk, size_t rows, size_t *s0,
                           size_t *s1);

/* Every rank's step result summed: the gradients (this rank's are zeroed
 * first when it had no rows, @p had_rows false), the loss (this rank's
 * share of the global mean in, the global mean out) and every rank's
 * status, in ONE MPI_Allreduce over @p buf, the buffer that
 * tpa__train_dist_sync allocated. Returns @p mine, or the failure of
 * another rank. */
tpa_status tpa__train_dist_reduce(const tpa_dist *d, tpa__trainable *t, bool had_rows,
                                  tpa_status mine, double *loss, float *buf, const char *fn);

/* Dev logits of @p e: each rank computes a contiguous share, the shares
 * are summed into every rank's @p logits ([n, nl]), so every rank computes
 * the same metrics and agrees on the best epoch. */
tpa_status tpa__train_dist_eval(const tpa_dist *d, tpa__grad_work *work, const tpa_model *m,
                                const tpa__trainable *t, const tpa__encoded *e, int32_t batch,
                                float *logits);

/* After rank 0 started or resumed (status @p mine): its training state,
 * parameters, AdamW moments and best-epoch copy are broadcast, so every
 * rank continues from exactly rank 0's checkpoint. Allocates *buf, the
 * steps' all-reduce buffer (freed by the caller), first: a rank that
 * cannot fails the call on every rank. Called before any step. */
tpa_status tpa__train_dist_sync(const tpa_dist *d, tpa__trainable *t, tpa__train_state *st,
                                tpa_status mine, float **buf, const char *fn);

#endif
