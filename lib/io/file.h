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

/* True if @p path exists (any type). */
bool tpa__file_exists(const char *path);

/* "dir/name" in a new string (free with free()), NULL when out of memory. */
char *tpa__path_join(const char *dir, const char *name);

/* An atomic writer: bytes go to a temporary file in the destination's
 * directory; commit() flushes it to disk, renames it over the destination
 * and syncs the directory, so readers see either the old file or the
 * complete new one, never a half-written file. abort() (or any failed
 * write/commit) removes the temporary file. */
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

#endif
