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
 * uncased behaviour (lowercase and strip accents).
 * @param out receives the new tokenizer, owned by the caller and freed with
 *        tpa_tokenizer_free(); set to NULL on failure; must not be NULL.
 * @param vocab_path path of vocab.txt, NUL-terminated (borrowed for the
 *        call; the file is read whole); not NULL.
 * @param lower_case true for uncased models (do_lower_case).
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL argument;
 *         TPA_ERR_NOT_FOUND if the file does not exist; TPA_ERR_IO if it
 *         cannot be read; TPA_ERR_VOCAB for an invalid vocabulary (missing
 *         special token, a NUL byte or invalid UTF-8 in a line, too large);
 *         TPA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_tokenizer_load(tpa_tokenizer **out, const char *vocab_path,
                                                    bool lower_case);

/**
 * Load a Hugging Face fast-tokenizer file (tokenizer.json): its added
 * tokens, normalizer, pre-tokenizer, model (WordPiece, BPE, Unigram,
 * WordLevel) and post-processor, as HF's `tokenizers` defines them
 * (docs/formats.md, "tokenizer.json"). tpa_tokenizer_encode() then gives
 * what HF's encode(text_a, text_b) gives with longest_first truncation.
 * A component libtpa does not implement is TPA_ERR_CONFIG naming it.
 * @param out receives the tokenizer (free with tpa_tokenizer_free()); NULL
 *        on failure; not NULL.
 * @param path the file (borrowed for the call); not NULL.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT; TPA_ERR_NOT_FOUND; TPA_ERR_IO;
 *         TPA_ERR_CONFIG for malformed or unsupported content, naming the
 *         JSON location; TPA_ERR_NO_MEMORY.
 * @since 0.4.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_tokenizer_load_json(tpa_tokenizer **out, const char *path);

/**
 * One line on what the tokenizer is: its model and pipeline
 * ("BPE; normalizer none, pre-tokenizer ByteLevel, post-processor
 * RobertaProcessing, 5 added tokens").
 * @param tok the tokenizer (borrowed), or NULL.
 * @return a string owned by the tokenizer; NULL for NULL.
 * @since 0.4.0
 */
TPA_API const char *tpa_tokenizer_describe(const tpa_tokenizer *tok);

/** Free a tokenizer from tpa_tokenizer_load(); NULL is allowed. Never
 *  pass the one borrowed from tpa_model_tokenizer().
 *  @param tok the tokenizer (ownership passes to the call), or NULL
 *         (nothing happens). Token strings returned for it become invalid.
 *  @since 0.1.0 */
TPA_API void tpa_tokenizer_free(tpa_tokenizer *tok);

/**
 * Number of tokens in the vocabulary.
 * @param tok the tokenizer (borrowed), or NULL.
 * @return the number of lines of vocab.txt (ids are 0 to this - 1); 0 for
 *         NULL.
 * @since 0.1.0
 */
TPA_API size_t tpa_tokenizer_vocab_size(const tpa_tokenizer *tok);

/**
 * Id of @p token, or -1 if absent.
 * @param tok the tokenizer (borrowed), or NULL.
 * @param token exact token text, NUL-terminated (e.g. "[CLS]", "##ing");
 *        borrowed for the call; NULL gives -1.
 * @return the id, or -1 if the token is not in the vocabulary or an
 *         argument is NULL.
 * @since 0.1.0
 */
TPA_API int32_t tpa_tokenizer_token_id(const tpa_tokenizer *tok, const char *token);

/**
 * Text of token @p id (owned by the tokenizer), NULL if out of range.
 * @param tok the tokenizer (borrowed), or NULL.
 * @param id token id, 0-based.
 * @return a string valid as long as the tokenizer; NULL for a NULL @p tok
 *         or @p id out of range.
 * @since 0.1.0
 */
TPA_API const char *tpa_tokenizer_token(const tpa_tokenizer *tok, int32_t id);

/**
 * WordPiece ids of one UTF-8 text, without special tokens or truncation.
 * Writes min(count, cap) ids and the full count to *n; returns
 * TPA_ERR_BUFFER_TOO_SMALL if count > cap for a buffer (not for the size
 * query NULL, 0). Invalid UTF-8 gives
 * TPA_ERR_INVALID_ARGUMENT.
 * @param tok the tokenizer (borrowed); not NULL.
 * @param text UTF-8 text, NUL-terminated (borrowed for the call); not NULL.
 * @param ids buffer of @p cap ids, or NULL when @p cap is 0 (a size query:
 *        TPA_OK with the count in *n, as every size query of the API;
 *        before 0.7.0 it returned TPA_ERR_BUFFER_TOO_SMALL when there was
 *        any token).
 * @param cap length of @p ids, in values.
 * @param n receives the full count; set to 0 on any failure other than
 *        TPA_ERR_BUFFER_TOO_SMALL; not NULL.
 * @return TPA_OK; TPA_ERR_BUFFER_TOO_SMALL if @p ids is not NULL and
 *         count > cap;
 *         TPA_ERR_INVALID_ARGUMENT for invalid UTF-8, a NULL @p tok,
 *         @p text or @p n, or a NULL @p ids with @p cap > 0.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_tokenizer_tokenize(const tpa_tokenizer *tok, const char *text,
                                                        int32_t *ids, size_t cap, size_t *n);

/**
 * Model input for one example: [CLS] a [SEP] (b [SEP]), token types 0 then
 * 1, truncated `longest_first` to @p max_len exactly as HF's fast tokenizer
 * (docs/method.md section 2). @p text_b may be NULL. @p ids and @p type_ids
 * must hold @p max_len values; *n receives the length.
 * @param tok the tokenizer (borrowed); not NULL.
 * @param text_a first text, UTF-8, NUL-terminated (borrowed for the call);
 *        not NULL.
 * @param text_b second text, likewise, or NULL for a single segment.
 * @param max_len longest output in tokens, special tokens included; at
 *        least 2 (3 with @p text_b).
 * @param ids receives the token ids; @p max_len values, not NULL.
 *        Contents are unspecified on failure.
 * @param type_ids receives the token types (0 then 1); @p max_len values,
 *        not NULL; also used as scratch, so contents are unspecified on
 *        failure.
 * @param n receives the number of tokens written (at most @p max_len);
 *        set to 0 on failure; not NULL.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p tok, @p text_a,
 *         @p ids, @p type_ids or @p n, a @p max_len too small for the
 *         special tokens, or a text that is not valid UTF-8.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_tokenizer_encode(const tpa_tokenizer *tok, const char *text_a,
                                                      const char *text_b, int32_t max_len,
                                                      int32_t *ids, int32_t *type_ids, size_t *n);

#ifdef __cplusplus
}
#endif
#endif /* TPA_TOKENIZER_H */
