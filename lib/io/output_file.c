/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_output_file (tpa/file.h): the library's atomic writer (io/file.h)
 * behind a public handle, so that programs, the `tpa` command first, write
 * their outputs exactly as libtpa writes its own. */
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "io/file.h"
#include "tpa/file.h"

struct tpa_output_file {
  tpa__atomic_file af;
  tpa_status failed; /* a write failed: commit reports it again */
  char failure[512]; /* ... with its message */
};

TPA_API tpa_status tpa_output_file_open(tpa_output_file **out, const char *path) {
  tpa__error_clear();
  if (!out || !path) {
    if (out)
      *out = NULL;
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_output_file_open: NULL %s",
                      out ? "path" : "out");
  }
  *out = NULL;
  tpa_output_file *f = calloc(1, sizeof *f);
  if (!f)
    return TPA__NO_MEMORY("tpa_output_file");
  tpa_status st = tpa__atomic_open(&f->af, path);
  if (st != TPA_OK) {
    free(f);
    return st;
  }
  *out = f;
  return TPA_OK;
}

TPA_API tpa_status tpa_output_file_write(tpa_output_file *f, const void *buf, size_t len) {
  if (!f || (!buf && len > 0))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_output_file_write: NULL %s",
                      f ? "buf" : "file");
  if (f->failed != TPA_OK)
    return tpa__error(f->failed, "%s", f->failure);
  if (len == 0)
    return TPA_OK;
  tpa_status st = tpa__atomic_write(&f->af, buf, len);
  if (st != TPA_OK) { /* the writer removed the temporary file */
    f->failed = st;
    snprintf(f->failure, sizeof f->failure, "%s", tpa_last_error());
  }
  return st;
}

TPA_API const char *tpa_output_file_temp_path(const tpa_output_file *f) {
  return f ? f->af.tmp : NULL;
}

TPA_API tpa_status tpa_output_file_commit(tpa_output_file *f) {
  if (!f)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_output_file_commit: NULL file");
  /* Either way the writer is closed and reset afterwards: a failed write
   * or commit removed the temporary file, a commit renamed it. */
  tpa_status st =
      f->failed != TPA_OK ? tpa__error(f->failed, "%s", f->failure) : tpa__atomic_commit(&f->af);
  free(f);
  return st;
}

TPA_API void tpa_output_file_abort(tpa_output_file *f) {
  if (!f)
    return;
  tpa__atomic_abort(&f->af);
  free(f);
}
