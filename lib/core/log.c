/* SPDX-License-Identifier: Apache-2.0 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/error.h"

void tpa__log(tpa_log_fn fn, void *user, tpa_log_level level, const char *fmt, ...) {
  if (!fn)
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fn(user, level, msg);
}

tpa_status tpa__progress(tpa_progress_fn fn, void *user, const char *stage, uint64_t done,
                         uint64_t total) {
  if (fn && !fn(user, stage, done, total))
    return tpa__error(TPA_ERR_CANCELLED, "%s cancelled by the progress callback", stage);
  return TPA_OK;
}
