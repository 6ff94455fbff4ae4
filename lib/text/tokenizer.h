/* SPDX-License-Identifier: Apache-2.0 */
/* The tokenizer's internals, shared by the files of lib/text. The pipeline
 * is HF's: special tokens are split off the raw text (basic.c), the rest is
 * cleaned, normalized and cut into words (basic.c, unicode.c), each word
 * becomes WordPiece ids (wordpiece.c), and encode.c adds [CLS]/[SEP] and
 * truncates. Nothing on this path allocates. */
#ifndef TPA_TEXT_TOKENIZER_H
#define TPA_TEXT_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text/tj.h"
#include "text/vocab.h"
#include "tpa/tokenizer.h"

/* HF's max_input_chars_per_word: longer words become one [UNK]. */
enum { TPA__WORD_MAX_CHARS = 100 };

/* A special token that HF matches verbatim in the raw text (an "added
 * token" with normalized=false in bert-base-uncased's tokenizer.json). */
typedef struct tpa__special {
  const char *text;
  size_t len;
  int32_t id;
} tpa__special;

struct tpa_tokenizer {
  tpa__tjt *tj; /* a tokenizer.json: everything else below is unused */
  tpa__vocab vocab;
  bool lower; /* uncased: lowercase and strip accents */
  int32_t cls, sep, unk, pad;
  tpa__special special[5]; /* those of [PAD] [UNK] [CLS] [SEP] [MASK] in the vocab */
  size_t n_special;
};

/* Ids written to a caller buffer: the first @p cap are stored, all are
 * counted, so a too-small buffer still yields the full count. With @p stop
 * > 0, words that start once @p stop ids exist are left out (encode's cut,
 * which is HF's: whole words until max_len ids are reached). */
typedef struct tpa__ids {
  int32_t *ids;
  size_t cap;
  size_t n;
  size_t stop;
} tpa__ids;

static inline bool tpa__ids_full(const tpa__ids *out) {
  return out->stop && out->n >= out->stop;
}

static inline void tpa__ids_push(tpa__ids *out, int32_t id) {
  if (out->n < out->cap)
    out->ids[out->n] = id;
  out->n++;
}

/* RoBERTa's vocab.json + merges.txt as a tokenizer (tj.h). */
tpa_status tpa__tokenizer_load_bpe_files(tpa_tokenizer **out, const char *vocab_json,
                                         const char *merges_txt);

/* The bytes of the tokenizer.json @p tok was loaded from (to save them
 * with a model), or NULL for a vocab.txt tokenizer. */
const char *tpa__tokenizer_json_source(const tpa_tokenizer *tok, size_t *len);

/* WordPiece ids of @p text (no special tokens added, no truncation).
 * Invalid UTF-8 gives TPA_ERR_INVALID_ARGUMENT. */
tpa_status tpa__tokenize(const tpa_tokenizer *tok, const char *text, tpa__ids *out);

/* One word (valid UTF-8, @p nchars code points, at most
 * TPA__WORD_MAX_CHARS) to greedy longest-match WordPiece ids; a word with
 * any piece missing from the vocab becomes one [UNK]. */
void tpa__wordpiece(const tpa_tokenizer *tok, const char *word, size_t len, tpa__ids *out);

/* longest_first targets (docs/method.md section 2): segment lengths @p la,
 * @p lb and a budget @p n for both together (max_len - 3); writes how many
 * ids of each segment to keep. */
void tpa__truncate_pair(size_t la, size_t lb, size_t n, size_t *keep_a, size_t *keep_b);

#endif
