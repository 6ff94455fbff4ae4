/* SPDX-License-Identifier: Apache-2.0 */
/* Crash-safe training state: one safetensors file, DIR/state.safetensors,
 * holding every trainable tensor, both AdamW moments, the best epoch's
 * tensors (with keep_best) and, as string metadata, the loop's position
 * (step, epoch, batch within the epoch, shuffle generator state, loss
 * sums, best metric, per-epoch history, time spent so far) and the
 * settings it was made with. It is written through the atomic writer (temporary file, fsync,
 * rename, directory fsync), so after a crash the file is the previous
 * complete state or the new one. Doubles are stored with 17 significant
 * digits, which round-trips them exactly: a resumed run continues
 * bit for bit. */
#ifndef TPA_STAGES_CHECKPOINT_H
#define TPA_STAGES_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stages/lora.h"
#include "tpa/train.h"

#define TPA__CKPT_FILE "state.safetensors"
/* Epochs whose reports a checkpoint keeps (longer runs keep the last ones). */
#define TPA__CKPT_MAX_HISTORY 256

/* Where the loop is. Everything a resumed run needs beyond the tensors. */
typedef struct tpa__train_state {
  int64_t step;        /* optimizer steps done */
  int32_t epoch;       /* 0-based epoch in progress (== epochs when done) */
  int64_t epoch_batch; /* batches of that epoch done */
  uint64_t rng_epoch;  /* shuffle generator state before this epoch's shuffle */
  double loss_sum;     /* sum of this epoch's step losses so far */
  int64_t loss_steps;
  int32_t best_epoch; /* 1-based, 0 = none yet */
  double best_metric;
  /* Wall time the run's calls spent up to this state, and the share of
   * it in the epoch in progress (0 at an epoch start), so that a resumed
   * run reports the time of the whole run and of whole epochs. NaN when
   * unknown: a checkpoint written before 0.8.0 has neither (the examples
   * and tokens a run processed need no such record: they follow from the
   * position, see train.c). */
  double seconds;
  double epoch_seconds;
  int32_t n_history; /* reports of finished epochs (the last TPA__CKPT_MAX_HISTORY) */
  tpa_epoch_report history[TPA__CKPT_MAX_HISTORY];
} tpa__train_state;

/* The trainable tensors and optimizer buffers a checkpoint holds. m, v and
 * best are flat arrays laid out as the refs one after the other; best is
 * NULL when not kept. */
typedef struct tpa__ckpt_tensors {
  tpa__tensor_ref *refs;
  size_t n;
  float *m, *v;
  float *best;
} tpa__ckpt_tensors;

/* Write @p dir/state.safetensors atomically (@p dir is created if
 * missing). @p settings is a one-line description of everything that must
 * not change on resume. */
tpa_status tpa__ckpt_save(const char *dir, const char *settings, const tpa__train_state *st,
                          const tpa__ckpt_tensors *t);

/* Read @p dir/state.safetensors into @p st and the buffers of @p t (same
 * names, shapes and order as when saved; *has_best says whether best
 * tensors were present). A missing file sets *found = false and returns
 * TPA_OK. Different @p settings: TPA_ERR_INVALID_ARGUMENT showing both. */
tpa_status tpa__ckpt_load(const char *dir, const char *settings, tpa__train_state *st,
                          const tpa__ckpt_tensors *t, bool *found, bool *has_best);

#endif
