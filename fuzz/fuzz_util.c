/* SPDX-License-Identifier: Apache-2.0 */
#include "fuzz_util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#ifndef TPA_FUZZ_FIXTURES
#define TPA_FUZZ_FIXTURES "tests/fixtures"
#endif

static void die(const char *what) {
  fprintf(stderr, "fuzz harness setup: %s: %s\n", what, strerror(errno));
  abort();
}

void tpa_fuzz_file_init(tpa_fuzz_file *f, const char *name) {
  f->fd = memfd_create(name, MFD_CLOEXEC);
  if (f->fd < 0)
    die("memfd_create");
  snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
}

void tpa_fuzz_file_set(tpa_fuzz_file *f, const void *data, size_t size) {
  if (ftruncate(f->fd, 0) != 0)
    die("ftruncate");
  const char *p = data;
  size_t done = 0;
  while (done < size) {
    ssize_t n = pwrite(f->fd, p + done, size - done, (off_t)done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      die("pwrite");
    done += (size_t)n;
  }
}

void tpa_fuzz_file_set_gzip(tpa_fuzz_file *f, const void *data, size_t size) {
  z_stream z;
  memset(&z, 0, sizeof z);
  /* windowBits 15 + 16: a gzip wrapper instead of zlib's. */
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    die("deflateInit2");
  uLong cap = deflateBound(&z, (uLong)size) + 64;
  unsigned char *buf = malloc(cap);
  if (!buf)
    die("malloc");
  z.next_in = (Bytef *)(uintptr_t)data;
  z.avail_in = (uInt)size;
  z.next_out = buf;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END)
    die("deflate");
  tpa_fuzz_file_set(f, buf, (size_t)z.total_out);
  deflateEnd(&z);
  free(buf);
}

#define MAX_LINKS 8
static char dir_path[4096];
static char *links[MAX_LINKS];
static int n_links;

static void dir_cleanup(void) {
  for (int i = 0; i < n_links; i++) {
    unlink(links[i]);
    free(links[i]);
  }
  n_links = 0;
  if (dir_path[0])
    rmdir(dir_path);
  dir_path[0] = '\0';
}

const char *tpa_fuzz_dir(void) {
  if (dir_path[0])
    return dir_path;
  const char *tmp = getenv("TMPDIR");
  snprintf(dir_path, sizeof dir_path, "%s/tpa-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir_path))
    die("mkdtemp");
  atexit(dir_cleanup);
  return dir_path;
}

void tpa_fuzz_dir_link(const char *name, const char *target) {
  const char *dir = tpa_fuzz_dir();
  if (n_links == MAX_LINKS) {
    errno = ENOSPC;
    die("too many links");
  }
  size_t n = strlen(dir) + strlen(name) + 2;
  char *path = malloc(n);
  if (!path)
    die("malloc");
  snprintf(path, n, "%s/%s", dir, name);
  if (symlink(target, path) != 0)
    die(path);
  links[n_links++] = path;
}

const char *tpa_fuzz_fixtures(void) {
  const char *env = getenv("TPA_FIXTURES");
  return env && *env ? env : TPA_FUZZ_FIXTURES;
}

char *tpa_fuzz_fixture_path(const char *rel) {
  const char *base = tpa_fuzz_fixtures();
  size_t n = strlen(base) + strlen(rel) + 2;
  char *path = malloc(n);
  if (!path)
    die("malloc");
  snprintf(path, n, "%s/%s", base, rel);
  return path;
}

uint8_t *tpa_fuzz_read_fixture(const char *rel, size_t *size) {
  char *path = tpa_fuzz_fixture_path(rel);
  FILE *f = fopen(path, "rb");
  if (!f)
    die(path);
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? 2 * cap : 65536;
      uint8_t *bigger = realloc(buf, cap);
      if (!bigger)
        die("realloc");
      buf = bigger;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0)
      break;
  }
  if (ferror(f))
    die(path);
  fclose(f);
  free(path);
  *size = len;
  return buf;
}

tpa_status tpa_fuzz_report(const char *what, tpa_status st) {
  static int verbose = -1;
  if (verbose < 0) {
    const char *env = getenv("TPA_FUZZ_VERBOSE");
    verbose = env && *env && strcmp(env, "0") != 0;
  }
  if (verbose)
    fprintf(stderr, "%s: %s%s%s\n", what, tpa_status_str(st), st == TPA_OK ? "" : ": ",
            st == TPA_OK ? "" : tpa_last_error());
  return st;
}
