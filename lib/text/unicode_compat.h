/* SPDX-License-Identifier: Apache-2.0 */
/* Where HF's tokenizer and utf8proc disagree about a character.
 *
 * HF's Rust crate classifies characters with tables from an older Unicode
 * (categories, nonspacing marks, decompositions) but lowercases with Rust's
 * standard library, which is newer than utf8proc 2.8's Unicode 15. For
 * almost every character the two agree; these functions list the
 * exceptions, found by running every code point through HF's tokenizer
 * (tests/fixtures/tokenizer/gen_golden.js writes that sweep and
 * tests/text/test_tokenizer.c checks all of it). */
#ifndef TPA_TEXT_UNICODE_COMPAT_H
#define TPA_TEXT_UNICODE_COMPAT_H

#include <stdbool.h>
#include <stdint.h>

/* HF's general category (a UTF8PROC_CATEGORY_* value) for @p cp when it
 * differs from utf8proc's; false when utf8proc's is right. */
bool tpa__uc_compat_category(uint32_t cp, int *cat);

/* True when HF does not decompose @p cp although utf8proc does. */
bool tpa__uc_compat_no_decomposition(uint32_t cp);

/* HF's lowercase of @p cp when utf8proc does not know it (newer Unicode). */
bool tpa__uc_compat_lower(uint32_t cp, uint32_t *lower);

#endif
