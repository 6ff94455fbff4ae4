/* SPDX-License-Identifier: Apache-2.0 */
/* Overflow-checked size arithmetic and allocation. Every length that comes
 * from a file goes through these before it sizes an allocation. */
#ifndef TPA_CORE_ALLOC_H
#define TPA_CORE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* *out = a * b; false on overflow. */
static inline bool tpa__mul_size(size_t a, size_t b, size_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}

/* *out = a + b; false on overflow. */
static inline bool tpa__add_size(size_t a, size_t b, size_t *out) {
  return !__builtin_add_overflow(a, b, out);
}

/* calloc(n, size) that also rejects n * size overflow (NULL). */
static inline void *tpa__calloc(size_t n, size_t size) {
  size_t total;
  if (!tpa__mul_size(n, size, &total))
    return NULL;
  return calloc(n ? n : 1, size ? size : 1);
}

/* malloc(n * size) with overflow check (NULL on overflow or failure). */
static inline void *tpa__malloc_array(size_t n, size_t size) {
  size_t total;
  if (!tpa__mul_size(n, size, &total))
    return NULL;
  return malloc(total ? total : 1);
}

/* A 64-byte aligned buffer (for kernels); free with free(). */
void *tpa__aligned_alloc(size_t bytes);

/* strdup that returns NULL on failure (C11 has no strdup). */
char *tpa__strdup(const char *s);

#endif
