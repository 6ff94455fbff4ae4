/* SPDX-License-Identifier: Apache-2.0 */
/* The params-struct protocol (libbpf's opts pattern): every public params
 * struct starts with `size_t size`, callers may pass an older, shorter
 * struct, and the library reads only the first `size` bytes of it. */
#ifndef TPA_CORE_PARAMS_H
#define TPA_CORE_PARAMS_H

#include <stddef.h>
#include <string.h>

#include "tpa/common.h"

/* Fill the caller's struct @p p (of the caller's @p size) from the
 * library's complete @p defaults (of @p full bytes), and set its size. */
static inline void tpa__params_init(void *p, size_t size, const void *defaults, size_t full) {
  if (!p || size < sizeof(size_t))
    return;
  memset(p, 0, size);
  memcpy(p, defaults, size < full ? size : full);
  *(size_t *)p = size;
}

/* Produce the library's complete view @p dst (of @p full bytes) of the
 * caller's @p src: defaults, overlaid with the bytes the caller provided.
 * NULL src means defaults. Returns false when src->size is impossible. */
static inline bool tpa__params_read(void *dst, size_t full, const void *src, const void *defaults) {
  memcpy(dst, defaults, full);
  if (!src)
    return true;
  size_t size = *(const size_t *)src;
  if (size < sizeof(size_t))
    return false;
  memcpy(dst, src, size < full ? size : full);
  *(size_t *)dst = full;
  return true;
}

#endif
