/* SPDX-License-Identifier: Apache-2.0 */
/* Read a whole data file into memory, decompressing gzip on the fly.
 * Compression is recognised by the gzip magic bytes (1f 8b), whatever the
 * file is called, so "dev.tsv.gz", a renamed copy and a pipe all work. */
#ifndef TPA_DATA_READ_ALL_H
#define TPA_DATA_READ_ALL_H

#include <stddef.h>

#include "tpa/common.h"

/* Read all of @p path (plain, or gzip with any number of members) into a
 * new buffer of *len bytes followed by one NUL (free with free()).
 * Missing file: TPA_ERR_NOT_FOUND; unreadable: TPA_ERR_IO; corrupt gzip
 * data: TPA_ERR_DATA; gzip stream cut short: TPA_ERR_TRUNCATED. The
 * message names the file. On failure *out is NULL. */
tpa_status tpa__read_all(const char *path, char **out, size_t *len);

/* Lines in [s, end): the LFs plus one, an upper bound on the records a
 * reader will find there (the capacity of its example array). */
size_t tpa__count_lines(const char *s, const char *end);

#endif
