/* SPDX-License-Identifier: Apache-2.0 */
/* See gzlines.h. */
#include "gzlines.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

void gz_open(gzlines *g, const char *path) {
  g->f = gzopen(path, "rb");
  ck_assert_msg(g->f != NULL, "cannot open %s", path);
  g->cap = 1 << 16;
  g->buf = malloc(g->cap);
  ck_assert_ptr_nonnull(g->buf);
}

char *gz_next(gzlines *g) {
  size_t len = 0;
  for (;;) {
    if (!gzgets(g->f, g->buf + len, (int)(g->cap - len)))
      return len ? g->buf : NULL;
    len += strlen(g->buf + len);
    if (len && g->buf[len - 1] == '\n') {
      g->buf[len - 1] = '\0';
      return g->buf;
    }
    if (len + 1 < g->cap)
      return g->buf; /* last line without a newline */
    g->cap *= 2;
    g->buf = realloc(g->buf, g->cap);
    ck_assert_ptr_nonnull(g->buf);
  }
}

void gz_close(gzlines *g) {
  gzclose(g->f);
  free(g->buf);
}
