/* SPDX-License-Identifier: Apache-2.0 */
#include "core/error.h"

#include <errno.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { TPA__ERROR_CAP = 1024 };

/* The thread's last message; thread-local so concurrent callers never see
 * each other's errors (C11 _Thread_local). */
static _Thread_local char tpa__error_msg[TPA__ERROR_CAP];

tpa_status tpa__error(tpa_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tpa__error_msg, sizeof tpa__error_msg, fmt, ap);
  va_end(ap);
  return st;
}

tpa_status tpa__error_prefix(tpa_status st, const char *fmt, ...) {
  char prefix[TPA__ERROR_CAP];
  char old[TPA__ERROR_CAP];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, tpa__error_msg, sizeof old);
  /* Concatenate by hand: the result is cut at the buffer's end on purpose. */
  size_t np = strnlen(prefix, sizeof prefix - 1);
  size_t no = strnlen(old, sizeof old - 1);
  size_t cap = sizeof tpa__error_msg - 1, at = 0;
  for (size_t i = 0; i < np && at < cap; i++)
    tpa__error_msg[at++] = prefix[i];
  for (size_t i = 0; i < 2 && at < cap; i++)
    tpa__error_msg[at++] = ": "[i];
  for (size_t i = 0; i < no && at < cap; i++)
    tpa__error_msg[at++] = old[i];
  tpa__error_msg[at] = '\0';
  return st;
}

void tpa__error_clear(void) {
  tpa__error_msg[0] = '\0';
}

TPA_API const char *tpa_last_error(void) {
  return tpa__error_msg;
}

TPA_API const char *tpa_status_str(tpa_status status) {
  switch (status) {
  case TPA_OK: return "TPA_OK: success";
  case TPA_ERR_INVALID_ARGUMENT: return "TPA_ERR_INVALID_ARGUMENT: invalid argument";
  case TPA_ERR_NO_MEMORY: return "TPA_ERR_NO_MEMORY: out of memory";
  case TPA_ERR_IO: return "TPA_ERR_IO: input/output error";
  case TPA_ERR_NOT_FOUND: return "TPA_ERR_NOT_FOUND: file not found";
  case TPA_ERR_TRUNCATED: return "TPA_ERR_TRUNCATED: file truncated";
  case TPA_ERR_JSON: return "TPA_ERR_JSON: invalid JSON";
  case TPA_ERR_HEADER: return "TPA_ERR_HEADER: malformed safetensors header";
  case TPA_ERR_TENSOR_OFFSETS:
    return "TPA_ERR_TENSOR_OFFSETS: tensor offsets out of range or overlapping";
  case TPA_ERR_TENSOR_DTYPE: return "TPA_ERR_TENSOR_DTYPE: unsupported tensor dtype";
  case TPA_ERR_TENSOR_SHAPE: return "TPA_ERR_TENSOR_SHAPE: tensor shape mismatch";
  case TPA_ERR_TENSOR_MISSING: return "TPA_ERR_TENSOR_MISSING: required tensor missing";
  case TPA_ERR_CONFIG: return "TPA_ERR_CONFIG: invalid model configuration";
  case TPA_ERR_VOCAB: return "TPA_ERR_VOCAB: invalid vocabulary";
  case TPA_ERR_DATA: return "TPA_ERR_DATA: malformed data";
  case TPA_ERR_BUFFER_TOO_SMALL: return "TPA_ERR_BUFFER_TOO_SMALL: buffer too small";
  case TPA_ERR_UNSUPPORTED: return "TPA_ERR_UNSUPPORTED: unsupported";
  case TPA_ERR_BACKEND: return "TPA_ERR_BACKEND: compute backend failure";
  case TPA_ERR_CANCELLED: return "TPA_ERR_CANCELLED: cancelled";
  case TPA_ERR_INTERNAL: return "TPA_ERR_INTERNAL: internal error";
  }
  return "TPA_ERR_UNKNOWN: unknown status";
}

tpa_status tpa__errno_status(int err) {
  return err == ENOENT || err == ENOTDIR ? TPA_ERR_NOT_FOUND : TPA_ERR_IO;
}
