/* SPDX-License-Identifier: Apache-2.0 */
/* The character classes of HF's BertNormalizer and BertPreTokenizer (the
 * Rust `tokenizers` crate), for code points >= 0x80. ASCII takes a faster
 * path in basic.c that must agree with these. */
#ifndef TPA_TEXT_UNICODE_H
#define TPA_TEXT_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What BertNormalizer's clean_text and handle_chinese_chars steps do with
 * one character of the raw text. */
typedef enum tpa__uc_clean {
  TPA__UC_KEEP = 0,  /* stays as it is */
  TPA__UC_DROP = 1,  /* U+0000, U+FFFD, Cc/Cf/Co/Cs except tab, LF, CR */
  TPA__UC_SPACE = 2, /* Unicode White_Space: becomes a word break */
  TPA__UC_CJK = 3    /* CJK ideograph: becomes a word of its own */
} tpa__uc_clean;

tpa__uc_clean tpa__uc_clean_class(uint32_t cp);

/* BertPreTokenizer's punctuation: ASCII 33-47, 58-64, 91-96, 123-126 and
 * Unicode category P*. Each such character is a word of its own. */
bool tpa__uc_is_punct(uint32_t cp);

/* Rust's char::is_whitespace (Unicode White_Space). */
bool tpa__uc_is_space(uint32_t cp);

/* Most code points one character becomes in uncased mode. */
enum { TPA__UC_FOLD_MAX = 8 };

/* Uncased normalization of one character, as BertNormalizer does it with
 * strip_accents and lowercase: canonical decomposition (NFD), drop
 * nonspacing marks (Mn), lowercase. Writes 0..TPA__UC_FOLD_MAX code points
 * to @p out and returns their count. */
size_t tpa__uc_fold(uint32_t cp, uint32_t out[TPA__UC_FOLD_MAX]);

#endif
