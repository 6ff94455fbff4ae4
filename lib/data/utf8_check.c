/* SPDX-License-Identifier: Apache-2.0 */
#include "data/utf8_check.h"

#include <stdint.h>
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

static int is_cont(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

size_t tpa__utf8_check(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    i += ascii_run(s + i, n - i);
    if (i >= n)
      break;
    unsigned char c = s[i];
    size_t left = n - i;
    if (c == 0)
      return i;
    if (c >= 0xC2 && c <= 0xDF) { /* 2 bytes; C0 and C1 would be overlong */
      if (left < 2 || !is_cont(s[i + 1]))
        return i;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) { /* 3 bytes */
      if (left < 3 || !is_cont(s[i + 1]) || !is_cont(s[i + 2]))
        return i;
      if (c == 0xE0 && s[i + 1] < 0xA0) /* overlong */
        return i;
      if (c == 0xED && s[i + 1] >= 0xA0) /* UTF-16 surrogates */
        return i;
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) { /* 4 bytes */
      if (left < 4 || !is_cont(s[i + 1]) || !is_cont(s[i + 2]) || !is_cont(s[i + 3]))
        return i;
      if (c == 0xF0 && s[i + 1] < 0x90) /* overlong */
        return i;
      if (c == 0xF4 && s[i + 1] >= 0x90) /* past U+10FFFF */
        return i;
      i += 4;
    } else { /* stray continuation byte, C0, C1, F5-FF */
      return i;
    }
  }
  return n;
}
