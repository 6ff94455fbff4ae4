/* SPDX-License-Identifier: Apache-2.0 */
#include "io/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"

/* Open @p path read-only and check it is a regular file; *fd and *size on
 * success. ENOENT is the one errno that means "not there" to callers. */
static tpa_status open_regular(const char *path, int *fd, size_t *size) {
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR)
      return tpa__error(TPA_ERR_NOT_FOUND, "file %s: %s", path, strerror(e));
    return tpa__error(TPA_ERR_IO, "file %s: %s", path, strerror(e));
  }
  struct stat st;
  if (fstat(f, &st) != 0) {
    int e = errno;
    close(f);
    return tpa__error(TPA_ERR_IO, "file %s: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(f);
    return tpa__error(TPA_ERR_IO, "file %s: not a regular file", path);
  }
  if (st.st_size < 0 || (unsigned long long)st.st_size > (unsigned long long)SIZE_MAX) {
    close(f);
    return tpa__error(TPA_ERR_IO, "file %s: size out of range", path);
  }
  *fd = f;
  *size = (size_t)st.st_size;
  return TPA_OK;
}

tpa_status tpa__file_read(const char *path, size_t max_len, char **out, size_t *len) {
  *out = NULL;
  if (len)
    *len = 0;
  int fd = -1;
  size_t size = 0;
  tpa_status st = open_regular(path, &fd, &size);
  if (st != TPA_OK)
    return st;
  if (size > max_len) {
    close(fd);
    return tpa__error(TPA_ERR_IO, "file %s: %zu bytes, more than the %zu allowed", path, size,
                      max_len);
  }
  char *buf = malloc(size + 1);
  if (!buf) {
    close(fd);
    return TPA__NO_MEMORY(path);
  }
  /* The file may change size under us: read until EOF or the stat size. */
  size_t got = 0;
  while (got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      free(buf);
      close(fd);
      return tpa__error(TPA_ERR_IO, "file %s: read: %s", path, strerror(e));
    }
    if (r == 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  buf[got] = '\0';
  *out = buf;
  if (len)
    *len = got;
  return TPA_OK;
}

tpa_status tpa__file_map_open(tpa__file_map *out, const char *path) {
  out->data = NULL;
  out->len = 0;
  int fd = -1;
  size_t size = 0;
  tpa_status st = open_regular(path, &fd, &size);
  if (st != TPA_OK)
    return st;
  if (size == 0) { /* mmap refuses length 0; callers see an empty file */
    close(fd);
    return TPA_OK;
  }
  void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd); /* the mapping keeps the file referenced */
  if (p == MAP_FAILED)
    return tpa__error(TPA_ERR_IO, "file %s: mmap: %s", path, strerror(e));
  out->data = p;
  out->len = size;
  return TPA_OK;
}

void tpa__file_map_close(tpa__file_map *m) {
  if (m->data)
    munmap(m->data, m->len);
  m->data = NULL;
  m->len = 0;
}

bool tpa__file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

char *tpa__path_join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name), n;
  if (!tpa__add_size(a, b, &n) || !tpa__add_size(n, 2, &n))
    return NULL;
  char *p = malloc(n);
  if (!p)
    return NULL;
  memcpy(p, dir, a);
  size_t at = a;
  if (a > 0 && dir[a - 1] != '/')
    p[at++] = '/';
  memcpy(p + at, name, b + 1);
  return p;
}

/* ---- atomic writer ---- */

static void atomic_reset(tpa__atomic_file *af) {
  free(af->path);
  free(af->tmp);
  af->path = NULL;
  af->tmp = NULL;
  af->fd = -1;
}

void tpa__atomic_abort(tpa__atomic_file *af) {
  if (af->fd >= 0)
    close(af->fd);
  if (af->tmp)
    unlink(af->tmp);
  atomic_reset(af);
}

/* Split @p path into its directory ("." when none) in a new string. */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return tpa__strdup(".");
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, path, n);
    d[n] = '\0';
  }
  return d;
}

tpa_status tpa__atomic_open(tpa__atomic_file *af, const char *path) {
  af->fd = -1;
  af->path = tpa__strdup(path);
  /* "<path>.tmp.XXXXXX": same directory (so rename is atomic), and
   * mkstemp's random suffix never collides with a real output name. */
  size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
  af->tmp = malloc(n + 1);
  if (!af->path || !af->tmp) {
    atomic_reset(af);
    return TPA__NO_MEMORY(path);
  }
  snprintf(af->tmp, n + 1, "%s.tmp.XXXXXX", path);
  int fd = mkostemp(af->tmp, O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    atomic_reset(af);
    return tpa__error(e == ENOENT ? TPA_ERR_NOT_FOUND : TPA_ERR_IO,
                      "file %s: cannot create a temporary file: %s", path, strerror(e));
  }
  /* mkstemp makes the file 0600; outputs are ordinary shared files. */
  (void)fchmod(fd, 0644);
  af->fd = fd;
  return TPA_OK;
}

tpa_status tpa__atomic_write(tpa__atomic_file *af, const void *buf, size_t n) {
  if (af->fd < 0)
    return tpa__error(TPA_ERR_INTERNAL, "atomic write on a closed file");
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(af->fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      int e = w < 0 ? errno : EIO;
      tpa_status st = tpa__error(TPA_ERR_IO, "file %s: write: %s", af->path, strerror(e));
      tpa__atomic_abort(af);
      return st;
    }
    p += w;
    n -= (size_t)w;
  }
  return TPA_OK;
}

tpa_status tpa__atomic_commit(tpa__atomic_file *af) {
  if (af->fd < 0)
    return tpa__error(TPA_ERR_INTERNAL, "atomic commit on a closed file");
  tpa_status st = TPA_OK;
  if (fsync(af->fd) != 0)
    st = tpa__error(TPA_ERR_IO, "file %s: fsync: %s", af->path, strerror(errno));
  int fd = af->fd;
  af->fd = -1;
  if (close(fd) != 0 && st == TPA_OK)
    st = tpa__error(TPA_ERR_IO, "file %s: close: %s", af->path, strerror(errno));
  if (st == TPA_OK && rename(af->tmp, af->path) != 0)
    st = tpa__error(TPA_ERR_IO, "file %s: rename: %s", af->path, strerror(errno));
  if (st != TPA_OK) {
    tpa__atomic_abort(af);
    return st;
  }
  /* The rename is durable only once the directory entry is on disk. */
  char *dir = dir_of(af->path);
  if (!dir) {
    atomic_reset(af);
    return TPA__NO_MEMORY("directory name");
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    if (fsync(dfd) != 0 && errno != EINVAL && errno != EROFS)
      st = tpa__error(TPA_ERR_IO, "directory %s: fsync: %s", dir, strerror(errno));
    close(dfd);
  }
  free(dir);
  atomic_reset(af);
  return st;
}

tpa_status tpa__atomic_write_file(const char *dir, const char *name, const void *buf, size_t len) {
  char *path = tpa__path_join(dir, name);
  if (!path)
    return TPA__NO_MEMORY("path");
  tpa__atomic_file af;
  tpa_status st = tpa__atomic_open(&af, path);
  if (st == TPA_OK)
    st = tpa__atomic_write(&af, buf, len);
  if (st == TPA_OK)
    st = tpa__atomic_commit(&af);
  tpa__atomic_abort(&af);
  free(path);
  return st;
}

tpa_status tpa__make_dirs(const char *dir) {
  char *p = tpa__strdup(dir);
  if (!p)
    return TPA__NO_MEMORY("path");
  tpa_status st = TPA_OK;
  for (char *c = p + 1; st == TPA_OK; c++) {
    bool end = *c == '\0';
    if (*c != '/' && !end)
      continue;
    *c = '\0';
    struct stat sb;
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
      st = tpa__error(TPA_ERR_IO, "directory %s: %s", p, strerror(errno));
    else if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))
      st = tpa__error(TPA_ERR_IO, "%s: not a directory", p);
    if (end)
      break;
    *c = '/';
  }
  free(p);
  return st;
}
