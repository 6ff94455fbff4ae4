/* SPDX-License-Identifier: Apache-2.0 */
/* tokenizer.json pre-tokenizers (see tj.h). */
#include <stdlib.h>

#include "core/error.h"
#include "text/tj.h"

tpa_status tpa__pretok_parse(const tpa__tj_ctx *c, const json_t *j, tpa__pretok **out) {
  *out = NULL;
  if (!j || json_is_null(j))
    return TPA_OK;
  return tpa__tj_error(c, "pre-tokenizers are not implemented yet");
}

tpa_status tpa__pretok_run(const tpa__pretok *p, const char *s, size_t len, bool first,
                           tpa__pieces *out) {
  (void)p;
  (void)first;
  tpa__pieces_clear(out);
  tpa_status st = tpa__buf_append(&out->text, s, len);
  return st == TPA_OK && len ? tpa__pieces_push(out, 0, len) : st;
}

void tpa__pretok_free(tpa__pretok *p) {
  (void)p;
}
