/* SPDX-License-Identifier: Apache-2.0 */
/* Command output: standard output, or a file written atomically (see cli.h). */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

/* Remove the ".BASE.tmp.XXXXXX" files in directory @p dir (@p dirlen
 * bytes of @p path, 0 for ".") that a killed run left: ours (same user),
 * regular, and not flock()ed by a live writer. Best effort. */
static void remove_stale_temps(const char *path, size_t dirlen, const char *base) {
  char *dir = dirlen > 0 ? strndup(path, dirlen) : strdup(".");
  size_t plen = strlen(base) + sizeof "..tmp.";
  char *prefix = malloc(plen);
  DIR *d = dir != NULL && prefix != NULL ? opendir(dir) : NULL;
  if (d != NULL) {
    snprintf(prefix, plen, ".%s.tmp.", base);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      const char *rest = e->d_name + strlen(prefix);
      if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || strlen(rest) != 6 ||
          strspn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != 6)
        continue;
      int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      struct stat st;
      if (fd < 0)
        continue;
      if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
          flock(fd, LOCK_EX | LOCK_NB) == 0)
        (void)unlinkat(dirfd(d), e->d_name, 0);
      close(fd);
    }
    closedir(d);
  }
  free(prefix);
  free(dir);
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
  /* Same directory as the target, so rename() stays on one file system. */
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash != NULL ? (size_t)(slash - path) + 1 : 0;
  const char *base = path + dirlen;
  static const char suffix[] = ".tmp.XXXXXX";
  o->path = strdup(path);
  o->tmp = malloc(len + 2 + sizeof suffix);
  if (o->path == NULL || o->tmp == NULL) {
    cli_output_abort(o);
    cli_fail("out of memory");
    return false;
  }
  /* "dir/.base.tmp.XXXXXX": hidden, and clearly ours if left by a crash. */
  memcpy(o->tmp, path, dirlen);
  o->tmp[dirlen] = '.';
  memcpy(o->tmp + dirlen + 1, base, len - dirlen);
  memcpy(o->tmp + len + 1, suffix, sizeof suffix);

  remove_stale_temps(path, dirlen, base);
  /* A signal between creating the file and installing the handler would
   * leave the file behind: hold the signals until both are done. */
  sigset_t hold, saved;
  sigemptyset(&hold);
  sigaddset(&hold, SIGINT);
  sigaddset(&hold, SIGTERM);
  sigaddset(&hold, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hold, &saved);
  int fd = mkostemp(o->tmp, O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    free(o->tmp);
    o->tmp = NULL;
    cli_output_abort(o);
    cli_fail("--out %s: cannot create a file in its directory: %s", path, strerror(err));
    return false;
  }
  /* The lock tells remove_stale_temps() in another run that we are alive. */
  (void)flock(fd, LOCK_EX | LOCK_NB);
  watch_signals(o->tmp);
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  /* mkstemp makes the file 0600; give it the mode a plain fopen() would. */
  mode_t mask = umask(0);
  umask(mask);
  (void)fchmod(fd, 0666 & ~mask);
  o->fp = fdopen(fd, "w");
  if (o->fp == NULL) {
    int err = errno;
    close(fd);
    cli_output_abort(o);
    cli_fail("--out %s: %s", path, strerror(err));
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
  int err = 0;
  if (fflush(o->fp) != 0 || ferror(o->fp))
    err = errno != 0 ? errno : EIO;
  else if (fsync(fileno(o->fp)) != 0)
    err = errno;
  if (fclose(o->fp) != 0 && err == 0)
    err = errno;
  o->fp = NULL;
  if (err == 0 && rename(o->tmp, o->path) != 0)
    err = errno;
  if (err != 0) {
    cli_fail("writing %s: %s", o->path, strerror(err));
    cli_output_abort(o);
    return false;
  }
  /* Make the rename itself durable: fsync the directory. The new file is
   * in place already; a failure here is still reported, as the file may
   * not survive a power loss. */
  watch_signals(NULL);
  const char *slash = strrchr(o->path, '/');
  char *dir = slash != NULL ? strndup(o->path, (size_t)(slash - o->path) + 1) : strdup(".");
  int dfd = dir != NULL ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL && errno != EROFS))
    err = dir == NULL ? ENOMEM : errno;
  if (dfd >= 0)
    close(dfd);
  if (err != 0)
    cli_fail("writing %s: syncing directory %s: %s", o->path, dir != NULL ? dir : ".",
             strerror(err));
  free(dir);
  free(o->tmp);
  free(o->path);
  o->tmp = o->path = NULL;
  return err == 0;
}

void cli_output_abort(cli_output *o) {
  if (o->fp != NULL && o->fp != stdout)
    fclose(o->fp);
  o->fp = NULL;
  if (o->tmp != NULL) {
    watch_signals(NULL);
    unlink(o->tmp);
  }
  free(o->tmp);
  free(o->path);
  o->tmp = o->path = NULL;
}
