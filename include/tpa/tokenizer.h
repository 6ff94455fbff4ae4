/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/tokenizer.h
 * @brief BERT WordPiece tokenization with HF BertTokenizer semantics.
 *
 * Thread safety: a tokenizer is immutable after loading; any number of
 * threads may encode with it at once.
 */
#ifndef TPA_TOKENIZER_H
#define TPA_TOKENIZER_H

#include "tpa/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Load a vocab.txt (one token per line, id = line number). It must hold
 * [CLS], [SEP], [UNK] and [PAD] (else TPA_ERR_VOCAB). @p lower_case selects
 * uncased behaviour (lowercase and strip accents). @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_tokenizer_load(tpa_tokenizer **out, const char *vocab_path,
                                                    bool lower_case);

/** Free a tokenizer from tpa_tokenizer_load(); NULL is allowed. Never
 *  pass the one borrowed from tpa_model_tokenizer(). @since 0.1.0 */
TPA_API void tpa_tokenizer_free(tpa_tokenizer *tok);

/** Number of tokens in the vocabulary. @since 0.1.0 */
TPA_API size_t tpa_tokenizer_vocab_size(const tpa_tokenizer *tok);

/** Id of @p token, or -1 if absent. @since 0.1.0 */
TPA_API int32_t tpa_tokenizer_token_id(const tpa_tokenizer *tok, const char *token);

/** Text of token @p id (owned by the tokenizer), NULL if out of range. @since 0.1.0 */
TPA_API const char *tpa_tokenizer_token(const tpa_tokenizer *tok, int32_t id);

/**
 * WordPiece ids of one UTF-8 text, without special tokens or truncation.
 * Writes min(count, cap) ids and the full count to *n; returns
 * TPA_ERR_BUFFER_TOO_SMALL if count > cap. Invalid UTF-8 gives
 * TPA_ERR_INVALID_ARGUMENT. @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_tokenizer_tokenize(const tpa_tokenizer *tok, const char *text,
                                                        int32_t *ids, size_t cap, size_t *n);

/**
 * Model input for one example: [CLS] a [SEP] (b [SEP]), token types 0 then
 * 1, truncated `longest_first` to @p max_len exactly as HF's fast tokenizer
 * (METHOD.md section 2). @p text_b may be NULL. @p ids and @p type_ids
 * must hold @p max_len values; *n receives the length. @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_tokenizer_encode(const tpa_tokenizer *tok, const char *text_a,
                                                      const char *text_b, int32_t max_len,
                                                      int32_t *ids, int32_t *type_ids, size_t *n);

#ifdef __cplusplus
}
#endif
#endif /* TPA_TOKENIZER_H */
