/* SPDX-License-Identifier: Apache-2.0 */
/* The `tpa` command's error and usage messages (see cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

int cli_usage(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "tpa %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'tpa %s --help' for more information.\n", cmd);
  return CLI_EXIT_USAGE;
}

int cli_fail_lib(tpa_status st) {
  const char *msg = tpa_last_error();
  fprintf(stderr, "tpa: %s\n", msg[0] != '\0' ? msg : tpa_status_str(st));
  return CLI_EXIT_FAILURE;
}

int cli_fail(const char *fmt, ...) {
  va_list ap;
  fputs("tpa: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return CLI_EXIT_FAILURE;
}
