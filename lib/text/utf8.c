/* SPDX-License-Identifier: Apache-2.0 */
#include "text/utf8.h"

#include <string.h>

/* Length of the ASCII run at @p s that contains no NUL, eight bytes at a
 * time: GLUE text is almost all ASCII. */
static size_t ascii_run(const unsigned char *s, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    /* High bit set, or a zero byte (the classic "has zero byte" test). */
    uint64_t high = w & 0x8080808080808080ull;
    uint64_t zero = (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull;
    if (high | zero)
      break;
  }
  while (i < n && s[i] != 0 && s[i] < 0x80)
    i++;
  return i;
}

size_t tpa__utf8_check(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    i += ascii_run(s + i, n - i);
    if (i >= n || s[i] == 0)
      break;
    uint32_t cp;
    size_t k = tpa__utf8_decode(s + i, n - i, &cp);
    if (k == 0)
      return i;
    i += k;
  }
  return i;
}
