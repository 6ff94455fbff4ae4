/* SPDX-License-Identifier: Apache-2.0 */
/* Command output: standard output, or a file written atomically (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Atomic output                                                            */

/* The temporary file currently open, removed if SIGINT/SIGTERM/SIGHUP end
 * the run (unlink is async-signal-safe; the path is set before the
 * handler is installed and cleared before it is freed). */
static char *volatile pending_tmp;

static void remove_pending_and_reraise(int sig) {
  char *tmp = pending_tmp;
  if (tmp != NULL)
    unlink(tmp);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void watch_signals(char *tmp) {
  pending_tmp = tmp;
  if (tmp == NULL)
    return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = remove_pending_and_reraise;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
}

/* fopencookie's write: stdio's buffer goes to the library's writer. A
 * failure returns 0, which stdio reports as an error (ferror). */
static ssize_t write_through(void *cookie, const char *buf, size_t size) {
  return tpa_output_file_write(cookie, buf, size) == TPA_OK ? (ssize_t)size : 0;
}

bool cli_output_open(cli_output *o, const char *path) {
  *o = (cli_output){0};
  if (path == NULL || strcmp(path, "-") == 0) {
    o->fp = stdout;
    return true;
  }
  size_t len = strlen(path);
  if (len == 0) {
    cli_fail("--out: empty file name");
    return false;
  }
  /* Refuse a directory now rather than after the whole computation, when
   * rename() would. */
  struct stat st;
  if (path[len - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
    cli_fail("--out %s: is a directory", path);
    return false;
  }
  o->path = strdup(path);
  if (o->path == NULL) {
    cli_fail("out of memory");
    return false;
  }
  /* A signal between creating the temporary file and installing the
   * handler that removes it would leave it behind: hold the signals until
   * both are done. */
  sigset_t hold, saved;
  sigemptyset(&hold);
  sigaddset(&hold, SIGINT);
  sigaddset(&hold, SIGTERM);
  sigaddset(&hold, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hold, &saved);
  tpa_status ts = tpa_output_file_open(&o->file, path);
  if (ts == TPA_OK) {
    o->tmp = strdup(tpa_output_file_temp_path(o->file));
    if (o->tmp != NULL)
      watch_signals(o->tmp);
  }
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  if (ts != TPA_OK) {
    cli_output_abort(o);
    cli_fail_lib(ts);
    return false;
  }
  static const cookie_io_functions_t io = {.write = write_through};
  o->fp = o->tmp != NULL ? fopencookie(o->file, "w", io) : NULL;
  if (o->fp == NULL) {
    cli_output_abort(o);
    cli_fail("--out %s: out of memory", path);
    return false;
  }
  return true;
}

bool cli_output_commit(cli_output *o) {
  if (o->fp == NULL)
    return false;
  if (o->path == NULL) {
    /* stdout: a full disk or closed pipe must not pass for success. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
      cli_fail("writing standard output: %s", strerror(errno));
      o->fp = NULL;
      return false;
    }
    o->fp = NULL;
    return true;
  }
  /* A failed write through the cookie left the library's message; the
   * commit repeats it (and removes the temporary file). */
  (void)fflush(o->fp);
  fclose(o->fp);
  o->fp = NULL;
  tpa_status st = tpa_output_file_commit(o->file);
  o->file = NULL;
  watch_signals(NULL);
  free(o->tmp);
  free(o->path);
  o->tmp = o->path = NULL;
  if (st != TPA_OK) {
    cli_fail_lib(st);
    return false;
  }
  return true;
}

void cli_output_abort(cli_output *o) {
  if (o->fp != NULL && o->fp != stdout)
    fclose(o->fp);
  o->fp = NULL;
  watch_signals(NULL);
  tpa_output_file_abort(o->file);
  o->file = NULL;
  free(o->tmp);
  free(o->path);
  o->tmp = o->path = NULL;
}

void cli_json_string(FILE *fp, const char *s) {
  if (!s) {
    fputs("null", fp);
    return;
  }
  fputc('"', fp);
  for (; *s; s++) {
    const unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(fp, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(fp, "\\u%04x", ch);
    else
      fputc(ch, fp);
  }
  fputc('"', fp);
}

bool cli_write_json(const char *path, const json_t *root) {
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  if (!text)
    return cli_fail("out of memory (%s)", path), false;
  cli_output out;
  bool ok = cli_output_open(&out, path);
  if (ok) {
    fputs(text, out.fp);
    fputc('\n', out.fp);
    ok = cli_output_commit(&out);
  }
  free(text);
  return ok;
}
