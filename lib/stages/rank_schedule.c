/* SPDX-License-Identifier: Apache-2.0 */
/* The importance-oriented rank schedule (docs/method.md section 7): the top_k
 * blocks by block importance get rank r_high on query, key, value and
 * attention output dense, every other block r_low. With r_high == r_low it
 * is plain (uniform) LoRA. The output is the per-module rank array that
 * tpa_lora_params.ranks takes. */
#include <math.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "tpa/importance.h"
#include "tpa/lora.h"
#include "tpa/prune.h"

/* Ranks above this are refused, as the PEFT adapter reader does. */
#define MAX_RANK 1024

static const tpa_rank_schedule_params schedule_defaults = {
    .size = sizeof(tpa_rank_schedule_params),
    .top_k = 0,
    .r_high = 8,
    .r_low = 4,
};

TPA_API void tpa_rank_schedule_params_init(tpa_rank_schedule_params *p, size_t size) {
  tpa__params_init(p, size, &schedule_defaults, sizeof schedule_defaults);
}

typedef struct block {
  double score;
  int32_t layer;
} block;

/* Most important first; equal scores toward the lower layer. */
static int block_cmp(const void *pa, const void *pb) {
  const block *a = pa, *b = pb;
  if (a->score != b->score)
    return a->score > b->score ? -1 : 1;
  return (a->layer > b->layer) - (a->layer < b->layer);
}

TPA_API tpa_status tpa_rank_schedule(const tpa_importance *imp,
                                     const tpa_rank_schedule_params *params, int32_t *ranks,
                                     size_t cap) {
  tpa__error_clear();
  tpa_rank_schedule_params p;
  if (!imp || !ranks)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_rank_schedule: NULL importance or ranks");
  tpa_status ps =
      tpa__params_read(&p, sizeof p, TPA__PARAMS_END(tpa_rank_schedule_params, r_low), params,
                       &schedule_defaults, "tpa_rank_schedule", "tpa_rank_schedule_params");
  if (ps != TPA_OK)
    return ps;
  const int32_t layers = tpa_importance_num_layers(imp);
  if (layers < 1)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_rank_schedule: importance has %d layers",
                      layers);
  const size_t need = (size_t)layers * TPA_LORA_MODULES;
  if (cap < need)
    return tpa__error(TPA_ERR_BUFFER_TOO_SMALL,
                      "tpa_rank_schedule: %d layers need %zu ranks, the buffer holds %zu", layers,
                      need, cap);
  const int32_t top_k = p.top_k == 0 ? (layers + 2) / 3 : p.top_k;
  if (top_k < 0 || top_k > layers)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_rank_schedule: top_k %d is not in 0..%d",
                      p.top_k, layers);
  if (p.r_high < 0 || p.r_high > MAX_RANK || p.r_low < 0 || p.r_low > MAX_RANK)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_rank_schedule: ranks %d and %d must be in 0..%d", p.r_high, p.r_low,
                      MAX_RANK);
  block *b = tpa__malloc_array((size_t)layers, sizeof *b);
  if (!b)
    return TPA__NO_MEMORY("rank schedule");
  for (int32_t l = 0; l < layers; l++) {
    b[l] = (block){tpa_importance_block(imp, l), l};
    if (!isfinite(b[l].score)) {
      free(b);
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "tpa_rank_schedule: block importance of layer %d is not a finite number",
                        l);
    }
  }
  qsort(b, (size_t)layers, sizeof *b, block_cmp);
  for (int32_t i = 0; i < layers; i++) {
    const int32_t r = i < top_k ? p.r_high : p.r_low;
    for (int m = 0; m < TPA_LORA_MODULES; m++)
      ranks[(size_t)b[i].layer * TPA_LORA_MODULES + (size_t)m] = r;
  }
  free(b);
  return TPA_OK;
}
