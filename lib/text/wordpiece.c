/* SPDX-License-Identifier: Apache-2.0 */
/* WordPiece as HF's WordPiece model: from the start of the word take the
 * longest prefix in the vocab, then continue with "##" pieces; if some
 * position has no match the whole word is [UNK]. */
#include "text/tokenizer.h"

void tpa__wordpiece(const tpa_tokenizer *tok, const char *word, size_t len, tpa__ids *out) {
  const tpa__vocab *v = &tok->vocab;
  /* Every piece is at least one character, so a word has at most
   * TPA__WORD_MAX_CHARS pieces; they are kept here until the word is known
   * to be covered. */
  int32_t piece[TPA__WORD_MAX_CHARS];
  size_t n_piece = 0;
  size_t start = 0;
  while (start < len) {
    bool cont = start > 0;
    /* Pieces longer than the longest token cannot match: start there. */
    size_t prefix = cont ? 2 : 0;
    size_t limit = v->max_len > prefix ? v->max_len - prefix : 0;
    size_t end = len;
    if (end - start > limit) {
      end = start + limit;
      while (end > start && ((unsigned char)word[end] & 0xC0) == 0x80)
        end--; /* back to a character boundary */
    }
    int32_t id = -1;
    while (end > start) {
      id = tpa__vocab_find(v, cont, word + start, end - start);
      if (id >= 0)
        break;
      do /* drop the last character */
        end--;
      while (end > start && ((unsigned char)word[end] & 0xC0) == 0x80);
    }
    if (id < 0 || n_piece == TPA__WORD_MAX_CHARS) {
      tpa__ids_push(out, tok->unk);
      return;
    }
    piece[n_piece++] = id;
    start = end;
  }
  for (size_t i = 0; i < n_piece; i++)
    tpa__ids_push(out, piece[i]);
}
