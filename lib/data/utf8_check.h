/* SPDX-License-Identifier: Apache-2.0 */
/* UTF-8 validation of data rows, so that the tokenizer only ever sees
 * well-formed text and a bad row is reported with its line and column. */
#ifndef TPA_DATA_UTF8_CHECK_H
#define TPA_DATA_UTF8_CHECK_H

#include <stddef.h>

/* Check @p n bytes at @p s: well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF) without NUL bytes, which
 * would silently cut a C string. Returns @p n when valid, else the offset
 * of the first byte of the first bad sequence. */
size_t tpa__utf8_check(const unsigned char *s, size_t n);

#endif
