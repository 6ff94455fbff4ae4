/* SPDX-License-Identifier: Apache-2.0 */
/* Unicode classes of HF's BertNormalizer / BertPreTokenizer. utf8proc
 * supplies categories, case mapping and decompositions; unicode_compat.c
 * corrects the few code points where the tables HF's crate was built with
 * (an older Unicode) say otherwise, so that we agree with HF exactly. */
#include "text/unicode.h"

#include <utf8proc.h>

#include "text/unicode_compat.h"

/* General category as HF's tokenizer sees it. */
static int hf_category(uint32_t cp) {
  int cat;
  if (tpa__uc_compat_category(cp, &cat))
    return cat;
  return utf8proc_category((utf8proc_int32_t)cp);
}

bool tpa__uc_is_space(uint32_t cp) {
  switch (cp) {
  case 0x09:
  case 0x0A:
  case 0x0B:
  case 0x0C:
  case 0x0D:
  case 0x20:
  case 0x85:
  case 0xA0:
  case 0x1680:
  case 0x2028:
  case 0x2029:
  case 0x202F:
  case 0x205F:
  case 0x3000: return true;
  default: return cp >= 0x2000 && cp <= 0x200A;
  }
}

/* HF's is_chinese_char. Its ranges are BERT's, except that the crate writes
 * the Extension E range as 0x2B920..=0x2CEAF where BERT's Python has
 * 0x2B820: HF is the arbiter, so U+2B820..U+2B91F are not CJK here. */
static bool is_cjk(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

tpa__uc_clean tpa__uc_clean_class(uint32_t cp) {
  if (cp == 0x09 || cp == 0x0A || cp == 0x0D)
    return TPA__UC_SPACE;
  if (cp == 0 || cp == 0xFFFD)
    return TPA__UC_DROP;
  switch (hf_category(cp)) {
  case UTF8PROC_CATEGORY_CC:
  case UTF8PROC_CATEGORY_CF:
  case UTF8PROC_CATEGORY_CO:
  case UTF8PROC_CATEGORY_CS: return TPA__UC_DROP; /* before the whitespace test: VT, FF, NEL go */
  default: break;
  }
  if (tpa__uc_is_space(cp))
    return TPA__UC_SPACE;
  if (is_cjk(cp))
    return TPA__UC_CJK;
  return TPA__UC_KEEP;
}

bool tpa__uc_is_punct(uint32_t cp) {
  if (cp < 0x80)
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
           (cp >= 123 && cp <= 126);
  int cat = hf_category(cp);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

size_t tpa__uc_fold(uint32_t cp, uint32_t out[TPA__UC_FOLD_MAX]) {
  utf8proc_int32_t dec[TPA__UC_FOLD_MAX];
  utf8proc_ssize_t nd;
  if (tpa__uc_compat_no_decomposition(cp)) {
    dec[0] = (utf8proc_int32_t)cp;
    nd = 1;
  } else {
    int boundclass = UTF8PROC_BOUNDCLASS_START;
    nd = utf8proc_decompose_char((utf8proc_int32_t)cp, dec, TPA__UC_FOLD_MAX, UTF8PROC_DECOMPOSE,
                                 &boundclass);
    /* Canonical decompositions are at most 4 long; anything else keeps the
     * character as it is rather than overflow. */
    if (nd < 1 || nd > TPA__UC_FOLD_MAX) {
      dec[0] = (utf8proc_int32_t)cp;
      nd = 1;
    }
  }
  size_t n = 0;
  for (utf8proc_ssize_t i = 0; i < nd; i++) {
    uint32_t c = (uint32_t)dec[i];
    if (hf_category(c) == UTF8PROC_CATEGORY_MN)
      continue;
    uint32_t lower;
    if (!tpa__uc_compat_lower(c, &lower))
      lower = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
    out[n++] = lower;
  }
  return n;
}
