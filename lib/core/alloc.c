/* SPDX-License-Identifier: Apache-2.0 */
#include "core/alloc.h"

#include <string.h>

void *tpa__aligned_alloc(size_t bytes) {
  size_t rounded;
  /* aligned_alloc wants a multiple of the alignment. */
  if (!tpa__add_size(bytes, 63, &rounded))
    return NULL;
  rounded &= ~(size_t)63;
  return aligned_alloc(64, rounded ? rounded : 64);
}

char *tpa__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}
