/* SPDX-License-Identifier: Apache-2.0 */
/* tokenizer.json normalizers (see tj.h). */
#include <stdlib.h>

#include "core/error.h"
#include "text/tj.h"

tpa_status tpa__norm_parse(const tpa__tj_ctx *c, const json_t *j, tpa__norm **out) {
  *out = NULL;
  if (!j || json_is_null(j))
    return TPA_OK;
  return tpa__tj_error(c, "normalizers are not implemented yet");
}

tpa_status tpa__norm_run(const tpa__norm *n, const char *s, size_t len, tpa__buf *out) {
  (void)n;
  tpa__buf_clear(out);
  return tpa__buf_append(out, s, len);
}

void tpa__norm_free(tpa__norm *n) {
  (void)n;
}
