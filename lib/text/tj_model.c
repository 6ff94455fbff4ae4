/* SPDX-License-Identifier: Apache-2.0 */
/* tokenizer.json models (see tj.h). */
#include <stdlib.h>

#include "core/error.h"
#include "text/tj.h"

tpa_status tpa__tmodel_parse(const tpa__tj_ctx *c, const json_t *j, tpa__tmodel **out) {
  (void)j;
  *out = NULL;
  return tpa__tj_error(c, "models are not implemented yet");
}

const char *tpa__tmodel_type(const tpa__tmodel *m) {
  (void)m;
  return "?";
}

size_t tpa__tmodel_vocab_size(const tpa__tmodel *m) {
  (void)m;
  return 0;
}

int32_t tpa__tmodel_token_id(const tpa__tmodel *m, const char *s, size_t len) {
  (void)m;
  (void)s;
  (void)len;
  return -1;
}

const char *tpa__tmodel_token(const tpa__tmodel *m, int32_t id) {
  (void)m;
  (void)id;
  return NULL;
}

tpa_status tpa__tmodel_encode(const tpa__tmodel *m, const char *s, size_t len, tpa__idvec *out) {
  (void)m;
  (void)s;
  (void)len;
  (void)out;
  return tpa__error(TPA_ERR_INTERNAL, "no tokenizer model");
}

void tpa__tmodel_free(tpa__tmodel *m) {
  (void)m;
}
