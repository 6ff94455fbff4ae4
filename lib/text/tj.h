/* SPDX-License-Identifier: Apache-2.0 */
/* Hugging Face's tokenizer.json pipeline (the `tokenizers` library's
 * components, docs/formats.md "tokenizer.json"): added tokens are split
 * off the raw text (tj_tokenizer.c), each remaining segment is normalized
 * (tj_normalize.c), cut into pieces by the pre-tokenizer (tj_pretok.c),
 * each piece becomes ids by the model (tj_model.c: WordPiece, BPE,
 * Unigram), and the post-processor adds the special tokens of a single
 * sequence or a pair (tj_tokenizer.c). Only ids and type ids are produced:
 * no offsets, so no alignment bookkeeping.
 *
 * Every component is parsed from its JSON object into an immutable value
 * that encoding only reads, so one tokenizer serves any number of threads.
 * A component or option libtpa does not implement is TPA_ERR_CONFIG naming
 * the file, the JSON location ("normalizer.normalizers[1]") and the type;
 * never a silent difference. */
#ifndef TPA_TEXT_TJ_H
#define TPA_TEXT_TJ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpa/common.h"

/* ------------------------------------------------------------------------ */
/* Growable buffers (tj_util.c)                                              */

/* A UTF-8 string being built; s[len] is always '\0' once anything was
 * appended (s may be NULL while empty). */
typedef struct tpa__buf {
  char *s;
  size_t len, cap;
} tpa__buf;

tpa_status tpa__buf_append(tpa__buf *b, const char *s, size_t n);
static inline void tpa__buf_clear(tpa__buf *b) {
  b->len = 0;
  if (b->s)
    b->s[0] = '\0';
}
void tpa__buf_free(tpa__buf *b);

/* Ids being built. */
typedef struct tpa__idvec {
  int32_t *v;
  size_t n, cap;
} tpa__idvec;

tpa_status tpa__idvec_push(tpa__idvec *v, int32_t id);
void tpa__idvec_free(tpa__idvec *v);

/* The pieces of a pre-tokenized string: byte ranges [start, end) of
 * @ref text. */
typedef struct tpa__span {
  size_t start, end;
} tpa__span;

typedef struct tpa__pieces {
  tpa__buf text;
  tpa__span *span;
  size_t n, cap;
} tpa__pieces;

tpa_status tpa__pieces_push(tpa__pieces *p, size_t start, size_t end);
/* Empty both the text and the spans (keeping their memory). */
void tpa__pieces_clear(tpa__pieces *p);
void tpa__pieces_free(tpa__pieces *p);

/* Where a component sits in the file, for messages: "normalizer",
 * "normalizer.normalizers[2]", ... */
typedef struct tpa__tj_ctx {
  const char *path; /* the tokenizer.json file */
  char where[160];
} tpa__tj_ctx;

/* A child location "@p parent.@p key[@p index]" (index < 0: none). */
void tpa__tj_child(const tpa__tj_ctx *parent, const char *key, long index, tpa__tj_ctx *out);

/* TPA_ERR_CONFIG "file PATH: WHERE: message". */
tpa_status tpa__tj_error(const tpa__tj_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Members of a component object with type checks and messages naming the
 * location; @p def when absent (or JSON null, where HF allows it). */
tpa_status tpa__tj_bool(const tpa__tj_ctx *c, const json_t *obj, const char *key, bool def,
                        bool *out);
tpa_status tpa__tj_string(const tpa__tj_ctx *c, const json_t *obj, const char *key, const char *def,
                          const char **out);
tpa_status tpa__tj_int(const tpa__tj_ctx *c, const json_t *obj, const char *key, long long def,
                       long long lo, long long hi, long long *out);

/* ------------------------------------------------------------------------ */
/* Regular expressions (regex.c): PCRE2 in UTF mode with Unicode properties */

typedef struct tpa__regex tpa__regex;

/* Compile @p pattern (HF's Regex patterns are Oniguruma syntax; the ones
 * tokenizers use are also valid PCRE2). Errors name @p c. */
tpa_status tpa__regex_compile(const tpa__tj_ctx *c, const char *pattern, tpa__regex **out);
/* Every non-overlapping match in s[0..len), left to right, appended to
 * @p out as spans (empty matches are skipped). */
tpa_status tpa__regex_find_all(const tpa__regex *re, const char *s, size_t len, tpa__pieces *out);
void tpa__regex_free(tpa__regex *re);

/* ------------------------------------------------------------------------ */
/* Normalizers (tj_normalize.c)                                              */

typedef struct tpa__norm tpa__norm;

/* Parse @p j (an object with "type"; JSON null gives *out = NULL, the
 * identity). Types: BertNormalizer, NFC, NFD, NFKC, NFKD, Nmt, Lowercase,
 * StripAccents, Strip, Replace, Prepend, Precompiled, Sequence. */
tpa_status tpa__norm_parse(const tpa__tj_ctx *c, const json_t *j, tpa__norm **out);
/* Normalize s[0..len) into @p out (cleared first). @p n may be NULL. */
tpa_status tpa__norm_run(const tpa__norm *n, const char *s, size_t len, tpa__buf *out);
void tpa__norm_free(tpa__norm *n);

/* ------------------------------------------------------------------------ */
/* Pre-tokenizers (tj_pretok.c)                                              */

typedef struct tpa__pretok tpa__pretok;

/* Types: BertPreTokenizer, ByteLevel, Metaspace, Whitespace,
 * WhitespaceSplit, Punctuation, Digits, Split, Sequence; JSON null gives
 * NULL (the whole string is one piece). */
tpa_status tpa__pretok_parse(const tpa__tj_ctx *c, const json_t *j, tpa__pretok **out);
/* Pieces of the normalized string s[0..len) into @p out (cleared first).
 * @p first is true for a segment that starts the sequence (offset 0 of
 * the text: Metaspace's prepend_scheme "first" looks at it; ByteLevel's
 * add_prefix_space applies to every segment); @p p may be NULL. */
tpa_status tpa__pretok_run(const tpa__pretok *p, const char *s, size_t len, bool first,
                           tpa__pieces *out);
void tpa__pretok_free(tpa__pretok *p);

/* ------------------------------------------------------------------------ */
/* Models (tj_model.c)                                                       */

typedef struct tpa__tmodel tpa__tmodel;

/* Types: WordPiece, BPE, Unigram (and WordLevel). */
tpa_status tpa__tmodel_parse(const tpa__tj_ctx *c, const json_t *j, tpa__tmodel **out);
/* The model's name ("BPE") for `tpa info`. */
const char *tpa__tmodel_type(const tpa__tmodel *m);
/* One more than the largest id of the model's vocabulary. */
size_t tpa__tmodel_vocab_size(const tpa__tmodel *m);
/* Id of the token s[0..len), -1 if absent. */
int32_t tpa__tmodel_token_id(const tpa__tmodel *m, const char *s, size_t len);
/* The token of @p id, NULL if none. */
const char *tpa__tmodel_token(const tpa__tmodel *m, int32_t id);
/* Ids of one piece appended to @p out. Thread-safe: no caches. */
tpa_status tpa__tmodel_encode(const tpa__tmodel *m, const char *s, size_t len, tpa__idvec *out);
void tpa__tmodel_free(tpa__tmodel *m);

/* ------------------------------------------------------------------------ */
/* The whole tokenizer (tj_tokenizer.c)                                      */

typedef struct tpa__tjt tpa__tjt;

/* Read a tokenizer.json file. */
tpa_status tpa__tjt_load(const char *path, tpa__tjt **out);
/* RoBERTa's vocab.json and merges.txt (no tokenizer.json): the tokenizer
 * transformers' RobertaConverter makes of them (ByteLevel, BPE,
 * RobertaProcessing, <mask> with lstrip). */
tpa_status tpa__tjt_load_bpe_files(const char *vocab_path, const char *merges_path, tpa__tjt **out);
void tpa__tjt_free(tpa__tjt *t);
/* Vocabulary: the model's tokens and the added tokens. */
size_t tpa__tjt_vocab_size(const tpa__tjt *t);
int32_t tpa__tjt_token_id(const tpa__tjt *t, const char *s, size_t len);
const char *tpa__tjt_token(const tpa__tjt *t, int32_t id);
/* "BPE; normalizer NFC, pre-tokenizer ByteLevel, post-processor
 * RobertaProcessing" for `tpa info`. */
const char *tpa__tjt_describe(const tpa__tjt *t);
/* The file's bytes as read (tpa_model_save writes them back unchanged). */
const char *tpa__tjt_source(const tpa__tjt *t, size_t *len);
/* Ids of @p text without special tokens (added tokens in the text are
 * matched), all of them. */
tpa_status tpa__tjt_tokenize(const tpa__tjt *t, const char *text, tpa__idvec *out);
/* Model input of a sequence or pair as HF's encode(a, b) with
 * longest_first truncation to @p max_len ids, special tokens included;
 * @p ids and @p types hold at least @p max_len entries. */
tpa_status tpa__tjt_encode(const tpa__tjt *t, const char *a, const char *b, int32_t max_len,
                           int32_t *ids, int32_t *types, size_t *n);

#endif
