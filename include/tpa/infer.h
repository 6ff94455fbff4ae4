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
 * 1). @p logits receives [batch, num_labels]. Ids out of the vocabulary or
 * seq > max_position_embeddings give TPA_ERR_INVALID_ARGUMENT.
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

/** Fill @p p with defaults; @p size is sizeof *p. @since 0.1.0 */
TPA_API void tpa_predict_params_init(tpa_predict_params *p, size_t size);

/**
 * Tokenize every example of @p ds with the model's tokenizer and compute
 * its logits. Examples are grouped by length into batches with dynamic
 * padding; results come back in dataset order. @p logits must hold
 * tpa_dataset_size(ds) * num_labels floats; @p cap is its length in floats.
 * The dataset's task must agree with the model's label count.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_predict(const tpa_model *model, const tpa_dataset *ds,
                                                   const tpa_predict_params *params, float *logits,
                                                   size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* TPA_INFER_H */
