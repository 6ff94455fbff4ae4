/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the gzip JSON Lines fixtures of the tokenizer tests line by
 * line (gzlines.c); lines may be megabytes long (sweeps, a charsmap). */
#ifndef TPA_TESTS_GZLINES_H
#define TPA_TESTS_GZLINES_H

#include <stddef.h>
#include <zlib.h>

typedef struct gzlines {
  gzFile f;
  char *buf;
  size_t cap;
} gzlines;

/* Open @p path or fail the test. */
void gz_open(gzlines *g, const char *path);
/* The next line without its newline, or NULL at the end. */
char *gz_next(gzlines *g);
void gz_close(gzlines *g);

#endif
