/* SPDX-License-Identifier: Apache-2.0 */
/* The params-struct protocol, libbpf's whole "opts" protocol: every public
 * params or result struct starts with `size_t size`.
 *
 * Params (caller to library): a program built against older headers
 * passes a shorter struct and the library reads only its `size` bytes,
 * taking defaults for the rest. A program built against NEWER headers may
 * pass a longer struct; the library accepts it only when every byte past
 * the end of the last field it knows is zero (padding included), because a
 * non-zero byte there is a setting this library would silently ignore.
 * The rule that makes this safe both ways (docs/abi.md): a field appended
 * to a params struct takes 0 to mean "the default", since callers that do
 * not know it pass 0 there (tpa_xxx_params_init zeroes the whole struct,
 * its tail padding included).
 *
 * Results (library to caller): the caller sets `size`; the library writes
 * at most that many bytes and leaves `size` as the caller set it. */
#ifndef TPA_CORE_PARAMS_H
#define TPA_CORE_PARAMS_H

#include <stddef.h>
#include <string.h>

#include "core/error.h"
#include "tpa/common.h"

/* The end of @p last, the last field of struct @p type the library knows:
 * the "known size" of tpa__params_read. */
#define TPA__PARAMS_END(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))

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
 * caller's @p src: defaults, overlaid with the fields the caller provided
 * (up to @p known bytes, TPA__PARAMS_END of the last known field). NULL
 * src means defaults. TPA_ERR_INVALID_ARGUMENT, naming the function @p fn
 * and the struct @p type, when src->size is impossible or a byte past
 * @p known is set. */
static inline tpa_status tpa__params_read(void *dst, size_t full, size_t known, const void *src,
                                          const void *defaults, const char *fn, const char *type) {
  memcpy(dst, defaults, full);
  if (!src)
    return TPA_OK;
  const size_t size = *(const size_t *)src;
  if (size < sizeof(size_t))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: %s size is %zu (fill the struct with %s_init)",
                      fn, type, size, type);
  const unsigned char *b = src;
  for (size_t i = known; i < size; i++)
    if (b[i] != 0)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "%s: %s: byte %zu of the caller's %zu is set, past the %zu bytes of "
                        "fields libtpa %s knows (a setting from newer headers that this "
                        "library would ignore)",
                        fn, type, i, size, known, TPA_VERSION_STRING);
  memcpy(dst, src, size < known ? size : known);
  *(size_t *)dst = full;
  return TPA_OK;
}

/* TPA_OK when the caller's result struct @p out exists and its size is
 * set; TPA_ERR_INVALID_ARGUMENT naming @p what ("fn: argument")
 * otherwise. */
static inline tpa_status tpa__result_check(const void *out, const char *what) {
  if (!out)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s is NULL", what);
  if (*(const size_t *)out < sizeof(size_t))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s->size is not set (set it to sizeof the struct)",
                      what);
  return TPA_OK;
}

/* Copy the library's complete result @p full_src (@p full bytes, `size`
 * first) into the caller's checked struct @p out: at most out->size bytes,
 * so an older caller's shorter struct gets the fields it knows; out->size
 * stays as the caller set it. */
static inline void tpa__result_write(void *out, const void *full_src, size_t full) {
  const size_t size = *(const size_t *)out;
  const size_t n = size < full ? size : full;
  memcpy((char *)out + sizeof(size_t), (const char *)full_src + sizeof(size_t), n - sizeof(size_t));
}

#endif
