/* SPDX-License-Identifier: Apache-2.0 */
#include "io/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"

/* Open @p path read-only and check it is a regular file; *fd and *size on
 * success; a path that is not there is TPA_ERR_NOT_FOUND (tpa__errno_status). */
static tpa_status open_regular(const char *path, int *fd, size_t *size) {
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) {
    int e = errno;
    return tpa__error(tpa__errno_status(e), "file %s: %s", path, strerror(e));
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

void tpa__file_map_release(const tpa__file_map *m, const void *p, size_t bytes) {
  const uintptr_t map = (uintptr_t)m->data;
  const uintptr_t b = (uintptr_t)p, e = b + bytes;
  if (!m->data || b < map || e > map + m->len)
    return;
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = (b + page - 1) & ~(page - 1), hi = e & ~(page - 1);
  if (hi > lo)
    (void)madvise((void *)lo, hi - lo, MADV_DONTNEED); /* advice only: failure is harmless */
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

/* ---- leftovers of killed writers ---- */

/* Remove the tree at @p name under directory @p dfd (not following
 * symbolic links); best effort. */
static void remove_tree_at(int dfd, const char *name, int depth) {
  if (unlinkat(dfd, name, 0) == 0 || (errno != EISDIR && errno != EPERM))
    return;
  int fd = depth < 64 ? openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0)
      close(fd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      remove_tree_at(dirfd(d), e->d_name, depth + 1);
  closedir(d);
  (void)unlinkat(dfd, name, AT_REMOVEDIR);
}

/* True if @p name is "<prefix><6 letters or digits>", as mkstemp and
 * mkdtemp make from "<prefix>XXXXXX". */
static bool is_temp_name(const char *name, const char *prefix) {
  size_t n = strlen(prefix);
  if (strncmp(name, prefix, n) != 0 || strlen(name + n) != 6)
    return false;
  for (const char *c = name + n; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
      return false;
  return true;
}

/* In directory @p dir, remove every "<base>.tmp.XXXXXX" (file or tree)
 * that belongs to this user and that no live writer holds locked: what a
 * killed writer of the same destination left. Best effort: a failure
 * here never fails the write. */
static void remove_stale_temps(const char *dir, const char *base) {
  size_t n = strlen(base) + sizeof ".tmp.";
  char *prefix = malloc(n);
  DIR *d = prefix ? opendir(dir) : NULL;
  if (!d) {
    free(prefix);
    return;
  }
  snprintf(prefix, n, "%s.tmp.", base);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!is_temp_name(e->d_name, prefix))
      continue;
    int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
      continue;
    if (fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
        (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) && flock(fd, LOCK_EX | LOCK_NB) == 0)
      remove_tree_at(dirfd(d), e->d_name, 0);
    close(fd);
  }
  closedir(d);
  free(prefix);
}

/* Last component of @p path (after the last '/'). */
static const char *base_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

tpa_status tpa__atomic_open(tpa__atomic_file *af, const char *path) {
  af->fd = -1;
  {
    char *dir = dir_of(path);
    if (dir)
      remove_stale_temps(dir, base_of(path));
    free(dir);
  }
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
    return tpa__error(tpa__errno_status(e), "file %s: cannot create a temporary file: %s", path,
                      strerror(e));
  }
  /* mkstemp makes the file 0600; outputs are ordinary shared files. The
   * lock tells remove_stale_temps() that this writer is alive. */
  (void)fchmod(fd, 0644);
  (void)flock(fd, LOCK_EX | LOCK_NB);
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

tpa_status tpa__make_parent_dirs(const char *path) {
  char *dir = dir_of(path);
  if (!dir)
    return TPA__NO_MEMORY("path");
  tpa_status st = strcmp(dir, ".") == 0 || strcmp(dir, "/") == 0 ? TPA_OK : tpa__make_dirs(dir);
  free(dir);
  return st;
}

/* ---- directory writer ---- */

/* fsync directory @p dir; file systems that cannot (EINVAL, EROFS) are
 * not an error. */
static tpa_status sync_dir(const char *dir) {
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return tpa__error(TPA_ERR_IO, "directory %s: %s", dir, strerror(errno));
  tpa_status st = TPA_OK;
  if (fsync(dfd) != 0 && errno != EINVAL && errno != EROFS)
    st = tpa__error(TPA_ERR_IO, "directory %s: fsync: %s", dir, strerror(errno));
  close(dfd);
  return st;
}

void tpa__dir_abort(tpa__dir_writer *w) {
  if (w->lock_fd >= 0)
    close(w->lock_fd);
  if (w->stage && !w->in_place)
    remove_tree_at(AT_FDCWD, w->stage, 0);
  free(w->dir);
  if (w->stage != w->dir)
    free(w->stage);
  *w = (tpa__dir_writer){.lock_fd = -1};
}

tpa_status tpa__dir_begin(tpa__dir_writer *w, const char *dir) {
  *w = (tpa__dir_writer){.lock_fd = -1};
  size_t len = strlen(dir);
  while (len > 1 && dir[len - 1] == '/')
    len--;
  w->dir = malloc(len + 1);
  if (!w->dir)
    return TPA__NO_MEMORY(dir);
  memcpy(w->dir, dir, len);
  w->dir[len] = '\0';
  /* A symbolic link to a directory stays a link: write behind it. */
  struct stat sb;
  if (lstat(w->dir, &sb) == 0 && S_ISLNK(sb.st_mode)) {
    char *real = realpath(w->dir, NULL);
    if (real) {
      free(w->dir);
      w->dir = real;
    }
  }
  bool exists = stat(w->dir, &sb) == 0;
  if (exists && !S_ISDIR(sb.st_mode)) {
    tpa_status st = tpa__error(TPA_ERR_IO, "%s: not a directory", w->dir);
    tpa__dir_abort(w);
    return st;
  }
  const char *base = base_of(w->dir);
  bool special = !*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0;
  char *parent = dir_of(w->dir);
  tpa_status st = parent ? TPA_OK : TPA__NO_MEMORY(dir);
  if (st == TPA_OK && !special)
    st = tpa__make_dirs(parent);
  if (st == TPA_OK && !special) {
    remove_stale_temps(parent, base);
    size_t n = strlen(w->dir) + sizeof ".tmp.XXXXXX";
    w->stage = malloc(n);
    if (!w->stage)
      st = TPA__NO_MEMORY(dir);
    else
      snprintf(w->stage, n, "%s.tmp.XXXXXX", w->dir);
    if (st == TPA_OK && !mkdtemp(w->stage)) {
      int e = errno;
      free(w->stage);
      w->stage = NULL;
      /* A writable directory in a read-only parent: write in place. */
      if (!(exists && (e == EACCES || e == EPERM)))
        st =
            tpa__error(TPA_ERR_IO, "directory %s: cannot create a staging directory next to it: %s",
                       w->dir, strerror(e));
    }
  }
  free(parent);
  if (st == TPA_OK && !w->stage) {
    w->in_place = true;
    w->stage = w->dir;
    st = exists ? TPA_OK : tpa__make_dirs(w->dir);
  } else if (st == TPA_OK) {
    /* mkdtemp makes it 0700; give it the old directory's mode, or the
     * mode tpa__make_dirs() would. The lock says the writer is alive. */
    (void)chmod(w->stage, exists ? (sb.st_mode & 07777) : 0755);
    w->lock_fd = open(w->stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->lock_fd >= 0)
      (void)flock(w->lock_fd, LOCK_EX | LOCK_NB);
  }
  if (st != TPA_OK)
    tpa__dir_abort(w);
  return st;
}

/* Hard-link every entry of directory @p from that @p to lacks into @p to,
 * recursing into subdirectories (cp -al of what the new output does not
 * replace). */
static tpa_status link_missing(int from, int to, const char *where, int depth) {
  int fd = dup(from);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0)
      close(fd);
    return tpa__error(TPA_ERR_IO, "directory %s: %s", where, strerror(errno));
  }
  tpa_status st = TPA_OK;
  struct dirent *e;
  while (st == TPA_OK && (e = readdir(d)) != NULL) {
    const char *name = e->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
      continue;
    struct stat a, b;
    if (fstatat(from, name, &a, AT_SYMLINK_NOFOLLOW) != 0)
      continue; /* gone meanwhile */
    bool have = fstatat(to, name, &b, AT_SYMLINK_NOFOLLOW) == 0;
    if (!S_ISDIR(a.st_mode)) {
      if (!have && linkat(from, name, to, name, 0) != 0)
        st = tpa__error(TPA_ERR_IO, "%s/%s: cannot keep it in the new directory: %s", where, name,
                        strerror(errno));
      continue;
    }
    if (have && !S_ISDIR(b.st_mode))
      continue; /* the new output replaces it */
    if (!have && mkdirat(to, name, a.st_mode & 07777) != 0) {
      st = tpa__error(TPA_ERR_IO, "%s/%s: %s", where, name, strerror(errno));
      break;
    }
    int f2 = openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int t2 = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    char *sub = tpa__path_join(where, name);
    if (f2 < 0 || t2 < 0 || !sub || depth > 64)
      st = tpa__error(TPA_ERR_IO, "%s/%s: cannot keep it in the new directory", where, name);
    else
      st = link_missing(f2, t2, sub, depth + 1);
    if (st == TPA_OK && fsync(t2) != 0 && errno != EINVAL && errno != EROFS)
      st = tpa__error(TPA_ERR_IO, "directory %s: fsync: %s", sub, strerror(errno));
    free(sub);
    if (f2 >= 0)
      close(f2);
    if (t2 >= 0)
      close(t2);
  }
  closedir(d);
  return st;
}

/* Swap @p stage and the existing @p dir; afterwards the old tree is at
 * @p stage. Falls back to two renames where RENAME_EXCHANGE is not
 * supported. */
static tpa_status swap_dirs(const char *stage, const char *dir) {
  if (renameat2(AT_FDCWD, stage, AT_FDCWD, dir, RENAME_EXCHANGE) == 0)
    return TPA_OK;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
    return tpa__error(TPA_ERR_IO, "directory %s: cannot replace it: %s", dir, strerror(errno));
  /* Old out of the way onto an empty "<dir>.tmp.XXXXXX" (rename replaces
   * an empty directory), new in, old to the staging name. */
  size_t n = strlen(dir) + sizeof ".tmp.XXXXXX";
  char *old = malloc(n);
  if (!old)
    return TPA__NO_MEMORY(dir);
  snprintf(old, n, "%s.tmp.XXXXXX", dir);
  tpa_status st = TPA_OK;
  if (!mkdtemp(old)) {
    st = tpa__error(TPA_ERR_IO, "directory %s: cannot replace it: %s", dir, strerror(errno));
  } else if (rename(dir, old) != 0) {
    st = tpa__error(TPA_ERR_IO, "directory %s: cannot replace it: %s", dir, strerror(errno));
    (void)rmdir(old);
  } else if (rename(stage, dir) != 0) {
    st = tpa__error(TPA_ERR_IO, "directory %s: cannot replace it: %s", dir, strerror(errno));
    (void)rename(old, dir);
  } else if (rename(old, stage) != 0) {
    remove_tree_at(AT_FDCWD, old, 0);
  }
  free(old);
  return st;
}

tpa_status tpa__dir_commit(tpa__dir_writer *w) {
  if (!w->dir || !w->stage)
    return tpa__error(TPA_ERR_INTERNAL, "directory commit without begin");
  if (w->in_place) {
    tpa__dir_abort(w);
    return TPA_OK;
  }
  tpa_status st = sync_dir(w->stage);
  struct stat sb;
  bool exists = st == TPA_OK && stat(w->dir, &sb) == 0;
  if (exists) {
    int from = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int to = open(w->stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (from < 0 || to < 0)
      st =
          tpa__error(TPA_ERR_IO, "directory %s: %s", from < 0 ? w->dir : w->stage, strerror(errno));
    else
      st = link_missing(from, to, w->dir, 0);
    if (st == TPA_OK && fsync(to) != 0 && errno != EINVAL && errno != EROFS)
      st = tpa__error(TPA_ERR_IO, "directory %s: fsync: %s", w->stage, strerror(errno));
    if (from >= 0)
      close(from);
    if (to >= 0)
      close(to);
    if (st == TPA_OK)
      st = swap_dirs(w->stage, w->dir);
  } else if (st == TPA_OK && rename(w->stage, w->dir) != 0) {
    st = tpa__error(TPA_ERR_IO, "directory %s: rename: %s", w->dir, strerror(errno));
  }
  if (st == TPA_OK) {
    /* The new tree is in place; make that durable, then drop the old one
     * (now at the staging name; a crash before this leaves it there for
     * the next writer to remove). */
    char *parent = dir_of(w->dir);
    st = parent ? sync_dir(parent) : TPA__NO_MEMORY(w->dir);
    free(parent);
    if (!exists) {
      free(w->stage);
      w->stage = NULL;
    }
  }
  tpa__dir_abort(w);
  return st;
}
