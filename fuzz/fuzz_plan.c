/* SPDX-License-Identifier: Apache-2.0 */
/* Prune-plan JSON through tpa_prune_plan_load, read back through its
 * accessors. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "tpa/prune.h"

static tpa_fuzz_file json;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  tpa_fuzz_file_init(&json, "plan.json");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tpa_fuzz_file_set(&json, data, size);
  tpa_prune_plan *plan = NULL;
  if (tpa_fuzz_report("plan", tpa_prune_plan_load(&plan, json.path)) != TPA_OK)
    return 0;
  int32_t layers = tpa_prune_plan_num_layers(plan), counted = 0;
  for (int32_t l = 0; l < layers; l++)
    for (int32_t h = 0; h < 1024; h++)
      counted += tpa_prune_plan_removes(plan, l, h);
  if (counted != tpa_prune_plan_num_pruned(plan))
    abort(); /* the count must match the table */
  int64_t neurons = 0;
  for (int32_t l = 0; l < layers; l++)
    for (int32_t j = 0; j < tpa_prune_plan_ffn_width(plan, l); j++)
      neurons += tpa_prune_plan_removes_neuron(plan, l, j);
  if (neurons != tpa_prune_plan_num_pruned_neurons(plan))
    abort();
  tpa_prune_plan_free(plan);
  return 0;
}
