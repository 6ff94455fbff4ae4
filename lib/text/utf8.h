/* SPDX-License-Identifier: Apache-2.0 */
/* Strict UTF-8 decoding and encoding for the tokenizer. Strict means what
 * RFC 3629 says: no overlong forms, no surrogates, nothing above U+10FFFF,
 * no truncated sequences; a text that breaks any of these is refused, since
 * HF's tokenizer only ever sees valid Unicode strings. */
#ifndef TPA_TEXT_UTF8_H
#define TPA_TEXT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decode the code point at s[0..n) (n >= 1) into *cp; return its length in
 * bytes, or 0 when the bytes there are not valid UTF-8. */
static inline size_t tpa__utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned char c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t v, min;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2, v = c & 0x1Fu, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, v = c & 0x0Fu, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, v = c & 0x07u, min = 0x10000;
  } else {
    return 0; /* continuation byte, C0/C1 (always overlong) or F5..FF */
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (s[i] & 0x3Fu);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  *cp = v;
  return len;
}

/* Check @p n bytes at @p s: well-formed UTF-8 in the sense above and no
 * NUL byte, which would silently cut a C string (data rows are checked
 * with it, so that the tokenizer only ever sees valid text and a bad row
 * is reported with its line and column). Returns @p n when valid, else
 * the offset of the first byte of the first bad sequence. */
size_t tpa__utf8_check(const unsigned char *s, size_t n);

/* Encode @p cp (a valid scalar value) into out[0..4); return its length. */
static inline size_t tpa__utf8_encode(uint32_t cp, char *out) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

#endif
