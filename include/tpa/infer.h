/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/infer.h
 * @brief Running a model: one batch of token ids, or a whole dataset.
 *
 * Thread safety: both functions take the model const and keep their
 * working memory per call, so several threads may run them on one model.
 */
#ifndef TPA_INFER_H
#define TPA_INFER_H

#include "tpa/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Logits of one padded batch. @p ids, @p type_ids and @p attention_mask
 * are [batch, seq] row-major (mask 1 = token, 0 = padding, as in HF);
 * @p type_ids may be NULL (all 0) and @p attention_mask may be NULL (all
 * 1). @p logits receives [batch, num_labels]. Ids out of the vocabulary,
 * seq > max_position_embeddings, a mask value other than 0 and 1 and a
 * mask row without a 1 (since 0.7.0) give TPA_ERR_INVALID_ARGUMENT.
 * @param model the model (borrowed, only read); not NULL.
 * @param ids token ids, @p batch * @p seq values (borrowed for the call);
 *        not NULL.
 * @param type_ids token types, @p batch * @p seq values in
 *        0..type_vocab_size-1, or NULL for all 0.
 * @param attention_mask @p batch * @p seq values, each 0 or 1 with at
 *        least one 1 per row, or NULL for all 1.
 * @param batch number of rows; must be > 0.
 * @param seq tokens per row; must be > 0 and at most
 *        max_position_embeddings.
 * @param logits receives @p batch * num_labels floats, row-major; not NULL.
 *        On failure its contents are unspecified (rows may have been
 *        written).
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p model, @p ids or
 *         @p logits, non-positive @p batch or @p seq, and the cases above
 *         (also a type id out of range); TPA_ERR_NO_MEMORY;
 *         TPA_ERR_BACKEND.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_forward(const tpa_model *model, const int32_t *ids,
                                                   const int32_t *type_ids,
                                                   const int32_t *attention_mask, int32_t batch,
                                                   int32_t seq, float *logits);

/** Options of tpa_model_predict(). @since 0.1.0 */
typedef struct tpa_predict_params {
  size_t size;            /**< sizeof the struct, set by the init function */
  int32_t max_seq_length; /**< truncation length; 0 (default) = min(128, max_position_embeddings) */
  int32_t batch_size;     /**< examples per batch (32) */
  tpa_progress_fn progress; /**< optional, called after each batch */
  void *user;               /**< passed to @ref progress */
  /** Optional LoRA set applied on top of the model (unmerged), borrowed
   *  for the call; NULL runs the model alone. @since 0.1.0 */
  const tpa_lora_set *adapter;
} tpa_predict_params;

/**
 * Fill @p p with defaults; @p size is sizeof *p.
 * @param p the struct to fill (its first @p size bytes; bytes the library
 *        does not know are zeroed); NULL does nothing.
 * @param size sizeof *p as the caller compiled it, in bytes; a value below
 *        sizeof(size_t) does nothing.
 * @since 0.1.0
 */
TPA_API void tpa_predict_params_init(tpa_predict_params *p, size_t size);

/**
 * Tokenize every example of @p ds with the model's tokenizer and compute
 * its logits. Examples are grouped by length into batches with dynamic
 * padding; results come back in dataset order. @p logits must hold
 * tpa_dataset_size(ds) * num_labels floats; @p cap is its length in floats.
 * The dataset's task must agree with the model's label count.
 * @param model the model (borrowed, only read); not NULL.
 * @param ds the examples (borrowed, only read); not NULL. Its labels are
 *        not used.
 * @param params options (borrowed for the call), or NULL for defaults.
 * @param logits receives tpa_dataset_size(ds) * num_labels floats, one row
 *        per example in dataset order; not NULL. On failure its contents
 *        are unspecified (batches done so far are written).
 * @param cap length of @p logits, in floats.
 * @return TPA_OK; TPA_ERR_BUFFER_TOO_SMALL if @p cap is below the size
 *         needed; TPA_ERR_INVALID_ARGUMENT for a NULL @p model, @p ds or
 *         @p logits, a bad params->size, batch_size <= 0, max_seq_length
 *         outside 3..max_position_embeddings, a task whose label count is
 *         not the model's, an example that does not tokenize (invalid
 *         UTF-8), or an adapter made for another model shape;
 *         TPA_ERR_VOCAB if a token id is past the model's vocab_size;
 *         TPA_ERR_CANCELLED if the progress callback returned false;
 *         TPA_ERR_NO_MEMORY; TPA_ERR_BACKEND.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_predict(const tpa_model *model, const tpa_dataset *ds,
                                                   const tpa_predict_params *params, float *logits,
                                                   size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* TPA_INFER_H */
