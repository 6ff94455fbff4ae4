/* SPDX-License-Identifier: Apache-2.0 */
/* HF's BertNormalizer + BertPreTokenizer in one pass over the text:
 * split off special tokens, drop control characters, break words at
 * whitespace, make CJK ideographs and punctuation words of their own,
 * lowercase and strip accents when uncased. Each finished word goes
 * straight to WordPiece; the word lives in a fixed buffer because a word
 * longer than TPA__WORD_MAX_CHARS becomes [UNK] whatever its text. */
#include <string.h>

#include "core/error.h"
#include "text/tokenizer.h"
#include "text/unicode.h"
#include "text/utf8.h"

typedef struct word {
  char buf[TPA__WORD_MAX_CHARS * 4];
  size_t len;    /* bytes stored */
  size_t nchars; /* characters seen, may exceed TPA__WORD_MAX_CHARS */
} word;

static void flush(const tpa_tokenizer *tok, word *w, tpa__ids *out) {
  if (w->nchars == 0)
    return;
  if (tpa__ids_full(out))
    ; /* past encode's cut: the word is dropped */
  else if (w->nchars > TPA__WORD_MAX_CHARS)
    tpa__ids_push(out, tok->unk);
  else
    tpa__wordpiece(tok, w->buf, w->len, out);
  w->len = w->nchars = 0;
}

static void append(word *w, uint32_t cp) {
  if (++w->nchars <= TPA__WORD_MAX_CHARS)
    w->len += tpa__utf8_encode(cp, w->buf + w->len);
}

/* A normalized character meets the pre-tokenizer. */
static void add_char(const tpa_tokenizer *tok, word *w, uint32_t cp, tpa__ids *out) {
  if (tpa__uc_is_space(cp)) {
    flush(tok, w, out);
  } else if (tpa__uc_is_punct(cp)) {
    flush(tok, w, out);
    append(w, cp);
    flush(tok, w, out);
  } else {
    append(w, cp);
  }
}

/* HF's classes of the ASCII characters (unicode.c agrees for these). */
enum { A_KEEP, A_DROP, A_SPACE, A_PUNCT };
static unsigned char ascii_class(unsigned char c) {
  if (c == '\t' || c == '\n' || c == '\r' || c == ' ')
    return A_SPACE;
  if (c < 0x20 || c == 0x7F)
    return A_DROP; /* Cc, including vertical tab and form feed */
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
      (c >= 123 && c <= 126))
    return A_PUNCT;
  return A_KEEP;
}

/* Length of the special token at @p s, with its id; 0 if none starts there. */
static size_t match_special(const tpa_tokenizer *tok, const char *s, int32_t *id) {
  for (size_t k = 0; k < tok->n_special; k++) {
    const tpa__special *sp = &tok->special[k];
    if (strncmp(s, sp->text, sp->len) == 0) {
      *id = sp->id;
      return sp->len;
    }
  }
  return 0;
}

/* Text after encode's cut is not tokenized, but it must still be valid. */
static tpa_status check_rest(const unsigned char *s, size_t i, size_t n) {
  while (i < n) {
    uint32_t cp;
    size_t k = s[i] < 0x80 ? 1 : tpa__utf8_decode(s + i, n - i, &cp);
    if (k == 0)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "tokenizer: text is not valid UTF-8 at byte %zu (0x%02X)", i, s[i]);
    i += k;
  }
  return TPA_OK;
}

tpa_status tpa__tokenize(const tpa_tokenizer *tok, const char *text, tpa__ids *out) {
  const unsigned char *s = (const unsigned char *)text;
  size_t n = strlen(text);
  word w;
  w.len = w.nchars = 0;
  for (size_t i = 0; i < n;) {
    if (tpa__ids_full(out))
      return check_rest(s, i, n);
    unsigned char c = s[i];
    if (c == '[') {
      int32_t id;
      size_t k = match_special(tok, text + i, &id);
      if (k) {
        flush(tok, &w, out);
        if (!tpa__ids_full(out))
          tpa__ids_push(out, id);
        i += k;
        continue;
      }
    }
    if (c < 0x80) { /* the common case, without table lookups */
      i++;
      switch (ascii_class(c)) {
      case A_SPACE: flush(tok, &w, out); break;
      case A_DROP: break;
      case A_PUNCT:
        flush(tok, &w, out);
        append(&w, c);
        flush(tok, &w, out);
        break;
      default: append(&w, tok->lower && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c); break;
      }
      continue;
    }
    uint32_t cp;
    size_t k = tpa__utf8_decode(s + i, n - i, &cp);
    if (k == 0)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "tokenizer: text is not valid UTF-8 at byte %zu (0x%02X)", i, c);
    i += k;
    tpa__uc_clean cls = tpa__uc_clean_class(cp);
    if (cls == TPA__UC_DROP)
      continue;
    if (cls == TPA__UC_SPACE) {
      flush(tok, &w, out);
      continue;
    }
    if (cls == TPA__UC_CJK)
      flush(tok, &w, out);
    if (tok->lower) {
      uint32_t folded[TPA__UC_FOLD_MAX];
      size_t nf = tpa__uc_fold(cp, folded);
      for (size_t j = 0; j < nf; j++)
        add_char(tok, &w, folded[j], out);
    } else {
      add_char(tok, &w, cp, out);
    }
    if (cls == TPA__UC_CJK)
      flush(tok, &w, out);
  }
  flush(tok, &w, out);
  return TPA_OK;
}
