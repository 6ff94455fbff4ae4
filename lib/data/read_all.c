/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file reads through zlib's gzread: in "transparent" mode it copies
 * files that are not gzip unchanged (detecting gzip by its magic bytes),
 * and for large requests it reads or inflates straight into our buffer, so
 * plain files cost no extra copy. */
#include "data/read_all.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/alloc.h"
#include "core/error.h"

enum {
  /* gzread returns an int: never ask for more than this at once. */
  READ_CHUNK = 1 << 30,
  /* zlib's own buffer; larger than the 8 KiB default for fewer syscalls. */
  GZ_BUFFER = 128 * 1024,
  /* Room beyond a regular file's size, so the read that sees EOF needs no
   * growth; also the first capacity for pipes and gzip's first guess. */
  SLACK = 64 * 1024,
};

static tpa_status open_error(const char *path, int err) {
  const tpa_status st = tpa__errno_status(err);
  if (st == TPA_ERR_NOT_FOUND)
    return tpa__error(st, "file %s: not found", path);
  return tpa__error(st, "file %s: cannot open: %s", path, strerror(err));
}

/* Translate the state of a failed gzread into a status and message. */
static tpa_status gz_failure(gzFile gz, const char *path) {
  int code = Z_OK;
  const char *msg = gzerror(gz, &code);
  if (code == Z_ERRNO)
    return tpa__error(TPA_ERR_IO, "file %s: read failed: %s", path, strerror(errno));
  if (code == Z_BUF_ERROR)
    return tpa__error(TPA_ERR_TRUNCATED, "file %s: gzip data ends early (%s)", path, msg);
  if (code == Z_MEM_ERROR)
    return TPA__NO_MEMORY(path);
  return tpa__error(TPA_ERR_DATA, "file %s: corrupt gzip data (%s)", path, msg);
}

/* Make room for at least one more byte after @p len, doubling. */
static tpa_status grow(char **buf, size_t *cap, size_t len, const char *path) {
  if (len + 1 < *cap)
    return TPA_OK;
  size_t want;
  if (!tpa__mul_size(*cap, 2, &want))
    return tpa__error(TPA_ERR_NO_MEMORY, "file %s: too large to read", path);
  char *bigger = realloc(*buf, want);
  if (!bigger)
    return TPA__NO_MEMORY(path);
  *buf = bigger;
  *cap = want;
  return TPA_OK;
}

static tpa_status read_stream(gzFile gz, const char *path, size_t first_cap, char **out,
                              size_t *len_out) {
  size_t cap = first_cap, len = 0;
  char *buf = malloc(cap);
  if (!buf)
    return TPA__NO_MEMORY(path);
  for (;;) {
    tpa_status st = grow(&buf, &cap, len, path);
    if (st != TPA_OK) {
      free(buf);
      return st;
    }
    /* Keep one byte for the terminating NUL. */
    size_t room = cap - 1 - len;
    unsigned ask = (unsigned)(room < READ_CHUNK ? room : READ_CHUNK);
    int got = gzread(gz, buf + len, ask);
    if (got < 0) {
      st = gz_failure(gz, path);
      free(buf);
      return st;
    }
    if (got == 0)
      break;
    len += (size_t)got;
  }
  /* A stream that stops inside a gzip member reads as a short EOF; zlib
   * reports it only through gzerror. */
  int code = Z_OK;
  (void)gzerror(gz, &code);
  if (code != Z_OK) {
    tpa_status st = gz_failure(gz, path);
    free(buf);
    return st;
  }
  buf[len] = '\0';
  /* Give back what doubling over-allocated when it is worth a copy. */
  if (cap - len > SLACK + len / 4) {
    char *fit = realloc(buf, len + 1);
    if (fit)
      buf = fit;
  }
  *out = buf;
  *len_out = len;
  return TPA_OK;
}

tpa_status tpa__read_all(const char *path, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return open_error(path, errno);
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int err = errno;
    close(fd);
    return tpa__error(TPA_ERR_IO, "file %s: cannot stat: %s", path, strerror(err));
  }
  if (S_ISDIR(sb.st_mode)) {
    close(fd);
    return tpa__error(TPA_ERR_IO, "file %s: is a directory", path);
  }
  /* A regular file's size is the right capacity for plain text; gzip
   * grows from there. */
  size_t first_cap = SLACK;
  if (S_ISREG(sb.st_mode) && sb.st_size > 0 &&
      (unsigned long long)sb.st_size < (unsigned long long)SIZE_MAX - SLACK)
    first_cap = (size_t)sb.st_size + SLACK;

  gzFile gz = gzdopen(fd, "rb");
  if (!gz) {
    close(fd);
    return TPA__NO_MEMORY(path);
  }
  (void)gzbuffer(gz, GZ_BUFFER);
  tpa_status st = read_stream(gz, path, first_cap, out, len);
  int closed = gzclose_r(gz); /* closes fd as well */
  if (st == TPA_OK && closed != Z_OK) {
    free(*out);
    *out = NULL;
    *len = 0;
    if (closed == Z_BUF_ERROR)
      return tpa__error(TPA_ERR_TRUNCATED, "file %s: gzip data ends early", path);
    return tpa__error(TPA_ERR_IO, "file %s: close failed", path);
  }
  return st;
}

size_t tpa__count_lines(const char *s, const char *end) {
  size_t n = 1;
  while ((s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
    n++;
    s++;
  }
  return n;
}
