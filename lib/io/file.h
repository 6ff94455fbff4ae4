/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file reads, read-only mappings and atomic writes. Every failure
 * returns a status and leaves a message naming the path and errno text. */
#ifndef TPA_IO_FILE_H
#define TPA_IO_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "tpa/common.h"

/* Read all of @p path into a new NUL-terminated buffer (free with free()).
 * Files larger than @p max_len bytes are refused (TPA_ERR_IO) so that a
 * wrong path cannot make a JSON reader swallow gigabytes. A missing file
 * gives TPA_ERR_NOT_FOUND. @p len may be NULL. */
tpa_status tpa__file_read(const char *path, size_t max_len, char **out, size_t *len);

/* A read-only private mapping of a whole regular file. An empty file maps
 * to data == NULL, len == 0. */
typedef struct tpa__file_map {
  void *data;
  size_t len;
} tpa__file_map;

/* Map @p path read-only. Missing file: TPA_ERR_NOT_FOUND; not a regular
 * file or mmap failure: TPA_ERR_IO. On failure *out is zeroed. */
tpa_status tpa__file_map_open(tpa__file_map *out, const char *path);

/* Unmap and zero @p m; a zeroed map is allowed. */
void tpa__file_map_close(tpa__file_map *m);

/* Give back to the kernel the whole pages of [p, p + bytes) that lie in
 * @p m (clean pages of a read-only file mapping: a later read faults them
 * in again from the file); anything outside it is left alone. */
void tpa__file_map_release(const tpa__file_map *m, const void *p, size_t bytes);

/* True if @p path exists (any type). */
bool tpa__file_exists(const char *path);

/* "dir/name" in a new string (free with free()), NULL when out of memory. */
char *tpa__path_join(const char *dir, const char *name);

/* An atomic writer: bytes go to a temporary file "<path>.tmp.XXXXXX" in
 * the destination's directory; commit() flushes it to disk, renames it
 * over the destination and syncs the directory, so readers see either the
 * old file or the complete new one, never a half-written file. abort() (or
 * any failed write/commit) removes the temporary file. The writer holds a
 * flock() on its temporary file; open() first removes the unlocked
 * temporaries of the same destination that a killed process left. */
typedef struct tpa__atomic_file {
  int fd;     /* -1 when closed */
  char *path; /* destination */
  char *tmp;  /* temporary name in the same directory */
} tpa__atomic_file;

/* Start writing @p path. On failure nothing exists on disk. */
tpa_status tpa__atomic_open(tpa__atomic_file *af, const char *path);

/* Append @p n bytes. On failure the temporary file is already removed. */
tpa_status tpa__atomic_write(tpa__atomic_file *af, const void *buf, size_t n);

/* fsync, rename over the destination, fsync the directory. On failure the
 * temporary file is removed and the destination is untouched. */
tpa_status tpa__atomic_commit(tpa__atomic_file *af);

/* Drop the temporary file; safe after commit/failure (does nothing then). */
void tpa__atomic_abort(tpa__atomic_file *af);

/* Write @p len bytes as the whole of dir/name through the atomic writer. */
tpa_status tpa__atomic_write_file(const char *dir, const char *name, const void *buf, size_t len);

/* mkdir -p: create every missing component of @p dir (mode 0755); an
 * existing non-directory component is an error naming it. */
tpa_status tpa__make_dirs(const char *dir);

/* mkdir -p of the directory that holds the file @p path: the library's
 * file savers create missing parents as its directory savers do. */
tpa_status tpa__make_parent_dirs(const char *path);

/* A directory writer: the files of a directory output (a model, an
 * adapter) go into a staging directory "<dir>.tmp.XXXXXX" next to @p dir;
 * commit() then swaps it for @p dir in one rename (renameat2 with
 * RENAME_EXCHANGE when @p dir exists, plain rename when it does not),
 * syncs the parent and removes the old tree. Entries of an existing @p dir
 * that the new output does not write are carried over as hard links
 * before the swap, so nothing foreign is lost. Readers, and a run killed
 * at any point, see either the whole old directory or the whole new one.
 * When the parent is not writable (or @p dir is "." or "/"), the files
 * are written in place instead, each atomically (in_place is then true).
 * A staging directory left by a killed process is removed by the next
 * writer of the same @p dir (a live writer holds a lock on its own). */
typedef struct tpa__dir_writer {
  char *dir;     /* destination, without trailing slashes */
  char *stage;   /* where to write the files (== dir when in place) */
  int lock_fd;   /* flock()ed staging directory, -1 when none */
  bool in_place; /* no staging: files replace @p dir's one by one */
} tpa__dir_writer;

/* Start writing directory @p dir (its parents are created). On failure
 * nothing is left on disk and *w is safe to abort. */
tpa_status tpa__dir_begin(tpa__dir_writer *w, const char *dir);

/* Make the staged files the content of the destination (see above). On
 * failure the staging directory is removed and the destination is as it
 * was. */
tpa_status tpa__dir_commit(tpa__dir_writer *w);

/* Remove the staging directory if still there; safe after commit/failure. */
void tpa__dir_abort(tpa__dir_writer *w);

#endif
