/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder until the oneDNN forward pass lands. */
#include "core/error.h"
#include "model/model.h"
#include "tpa/infer.h"

tpa_status tpa__infer_state_create(tpa_model *m) {
  m->infer = NULL;
  return TPA_OK;
}

void tpa__infer_state_free(struct tpa__infer_state *st) { (void)st; }
