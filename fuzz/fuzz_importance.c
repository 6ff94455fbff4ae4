/* SPDX-License-Identifier: Apache-2.0 */
/* Importance JSON through tpa_importance_load. An accepted table is read
 * back through every accessor and turned into prune plans (fixed count,
 * threshold) and a rank schedule, the stages that consume it. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "tpa/importance.h"
#include "tpa/lora.h"
#include "tpa/prune.h"

static tpa_fuzz_file json;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  tpa_fuzz_file_init(&json, "importance.json");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tpa_fuzz_file_set(&json, data, size);
  tpa_importance *imp = NULL;
  if (tpa_fuzz_report("importance", tpa_importance_load(&imp, json.path)) != TPA_OK)
    return 0;
  int32_t layers = tpa_importance_num_layers(imp), heads = tpa_importance_num_heads(imp);
  volatile double sink = 0.0;
  for (int32_t l = 0; l < layers; l++) {
    sink += tpa_importance_block(imp, l);
    for (int32_t h = 0; h < heads; h++)
      if (tpa_importance_has_head(imp, l, h))
        sink += tpa_importance_raw(imp, l, h) + tpa_importance_normalized(imp, l, h);
  }
  for (int32_t l = 0; l < layers; l++)
    for (int32_t j = 0; j < tpa_importance_ffn_width(imp, l); j++)
      sink += tpa_importance_ffn_raw(imp, l, j) + tpa_importance_ffn_normalized(imp, l, j);
  (void)sink;
  tpa_prune_params pp;
  tpa_prune_params_init(&pp, sizeof pp);
  pp.num_heads = (int32_t)(size % 7);
  tpa_prune_plan *plan = NULL;
  if (tpa_prune_plan_create(&plan, imp, &pp) == TPA_OK)
    tpa_prune_plan_free(plan);
  pp.use_threshold = true;
  pp.threshold = 0.5;
  pp.allow_empty_layers = size & 1;
  pp.ffn_keep = tpa_importance_has_ffn(imp) ? 0.5 : 0;
  plan = NULL;
  if (tpa_prune_plan_create(&plan, imp, &pp) == TPA_OK) {
    /* Every layer keeps floor(I / 2 + 0.5) neurons. */
    for (int32_t l = 0; l < layers; l++) {
      int32_t w = tpa_prune_plan_ffn_width(plan, l), kept = 0;
      for (int32_t j = 0; j < w; j++)
        kept += !tpa_prune_plan_removes_neuron(plan, l, j);
      if (pp.ffn_keep > 0 && kept != (w + 1) / 2)
        abort();
    }
    tpa_prune_plan_free(plan);
  }
  size_t cap = (size_t)layers * TPA_LORA_MODULES;
  int32_t *ranks = malloc(cap * sizeof *ranks);
  if (!ranks)
    abort();
  if (tpa_rank_schedule(imp, NULL, ranks, cap) == TPA_OK)
    for (size_t i = 0; i < cap; i++)
      if (ranks[i] != 4 && ranks[i] != 8)
        abort(); /* the defaults give r_low or r_high only */
  free(ranks);
  tpa_importance_free(imp);
  return 0;
}
