/* SPDX-License-Identifier: Apache-2.0 */
/* Dev evaluation during training: logits of the already tokenized dev set
 * with the weights being trained (no dropout), through the gradient
 * engine's forward, so neither mode needs the packed inference weights
 * rebuilt each epoch. Rows run longest first so each batch pads little. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "stages/train_internal.h"

tpa_status tpa__train_eval_logits(tpa__grad_work *work, const tpa_model *m, const tpa__trainable *t,
                                  const tpa__encoded *e, int32_t batch, float *logits) {
  const size_t n = e->n, nl = (size_t)m->cfg.num_labels;
  const size_t bs = (size_t)batch;
  size_t *order = tpa__malloc_array(n ? n : 1, sizeof *order);
  void *scratch = malloc(tpa__encoded_sort_scratch(n));
  int32_t *ids = tpa__malloc_array(bs * (size_t)e->max_len, sizeof *ids);
  int32_t *types = tpa__malloc_array(bs * (size_t)e->max_len, sizeof *types);
  int32_t *mask = tpa__malloc_array(bs * (size_t)e->max_len, sizeof *mask);
  float *out = tpa__malloc_array(bs * nl, sizeof *out);
  tpa_status s = TPA_OK;
  if (!order || !scratch || !ids || !types || !mask || !out)
    s = TPA__NO_MEMORY("dev evaluation");
  else
    tpa__encoded_by_length(e, order, scratch);
  for (size_t b0 = 0; s == TPA_OK && b0 < n; b0 += bs) {
    const size_t rows = b0 + bs <= n ? bs : n - b0;
    const int32_t seq = tpa__encoded_longest(e, order + b0, rows);
    tpa__encoded_fill(e, order + b0, rows, seq, ids, types, mask, NULL);
    const tpa__batch b = {
        .batch = (int32_t)rows, .seq = seq, .ids = ids, .type_ids = types, .mask = mask};
    s = tpa__forward_lora(work, m, &t->w, t->lora, &b, out);
    for (size_t r = 0; s == TPA_OK && r < rows; r++)
      memcpy(logits + order[b0 + r] * nl, out + r * nl, nl * sizeof *out);
  }
  free(order);
  free(scratch);
  free(ids);
  free(types);
  free(mask);
  free(out);
  return s;
}
