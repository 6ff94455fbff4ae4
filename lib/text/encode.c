/* SPDX-License-Identifier: Apache-2.0 */
/* Model inputs: [CLS] a [SEP] (b [SEP]) with token types, truncated
 * longest_first exactly as HF's fast tokenizer does it. */
#include "core/error.h"
#include "text/tokenizer.h"

/* docs/method.md section 2's longest_first formula, budget n for both: s is the
 * shorter segment (a when equal), g the other; target(g) = len(s) if
 * len(s) > n, else max(len(s), n - len(s)); if both targets exceed n,
 * target(s) = n/2 and target(g) = n/2 + n%2. No target lengthens. */
void tpa__truncate_pair(size_t la, size_t lb, size_t n, size_t *keep_a, size_t *keep_b) {
  if (la + lb <= n) {
    *keep_a = la;
    *keep_b = lb;
    return;
  }
  bool swap = la > lb;
  size_t s = swap ? lb : la, g;
  if (s > n)
    g = s;
  else
    g = s > n - s ? s : n - s;
  if (s + g > n) {
    s = n / 2;
    g = s + n % 2;
  }
  size_t ta = swap ? g : s, tb = swap ? s : g;
  *keep_a = ta < la ? ta : la;
  *keep_b = tb < lb ? tb : lb;
}

TPA_API tpa_status tpa_tokenizer_encode(const tpa_tokenizer *tok, const char *text_a,
                                        const char *text_b, int32_t max_len, int32_t *ids,
                                        int32_t *type_ids, size_t *n) {
  tpa__error_clear();
  if (n)
    *n = 0;
  if (!tok || !text_a || !ids || !type_ids || !n)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_tokenizer_encode: NULL %s",
                      !tok      ? "tokenizer"
                      : !text_a ? "text_a"
                      : !ids    ? "ids"
                      : !n      ? "n"
                                : "type_ids");
  if (tok->tj)
    return tpa__tjt_encode(tok->tj, text_a, text_b, max_len, ids, type_ids, n);
  int32_t specials = text_b ? 3 : 2;
  if (max_len < specials)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_tokenizer_encode: max_len %d leaves no room for the %d special tokens",
                      (int)max_len, (int)specials);
  size_t max = (size_t)max_len, budget = max - (size_t)specials;
  /* a's ids go straight to their place after [CLS]; b's are collected in
   * type_ids (free until the end) and moved after a's cut. Like HF
   * tokenizers 0.23, each text stops at the end of the word that brings it
   * to max_len ids, and the formula sees those lengths: this decides which
   * segment is "shorter" when both are long, so it matters for the odd
   * token of an odd budget (found by checking against HF, see
   * tests/fixtures/tokenizer/README.md). */
  tpa__ids a = {ids + 1, max - 1, 0, max};
  tpa_status st = tpa__tokenize(tok, text_a, &a);
  if (st != TPA_OK)
    return tpa__error_prefix(st, "text a");
  tpa__ids b = {type_ids, max, 0, max};
  if (text_b) {
    st = tpa__tokenize(tok, text_b, &b);
    if (st != TPA_OK)
      return tpa__error_prefix(st, "text b");
  }
  size_t ka, kb;
  if (text_b) {
    tpa__truncate_pair(a.n, b.n, budget, &ka, &kb);
  } else {
    ka = a.n < budget ? a.n : budget;
    kb = 0;
  }
  size_t at = 0;
  ids[at++] = tok->cls;
  at += ka;
  ids[at++] = tok->sep;
  size_t first = at;
  if (text_b) {
    for (size_t i = 0; i < kb; i++)
      ids[at++] = type_ids[i];
    ids[at++] = tok->sep;
  }
  for (size_t i = 0; i < at; i++)
    type_ids[i] = i < first ? 0 : 1;
  *n = at;
  return TPA_OK;
}
