/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/importance.h
 * @brief Task-oriented head importance (METHOD.md section 5).
 *
 * raw[l][h] = (sum over examples e of |d l_e / d m_{l,h}|) / T, with l_e
 * the loss of example e alone, m the head mask and T the number of
 * non-pad tokens; norm[l][h] = raw[l][h] / (L2 norm of raw[l] + 1e-20);
 * block importance = sum over h of raw[l][h]. Heads are indexed by their
 * ORIGINAL index; heads already pruned from the model have no score.
 *
 * Thread safety: a table is immutable once computed or loaded and may be
 * shared for reading.
 */
#ifndef TPA_IMPORTANCE_H
#define TPA_IMPORTANCE_H

#include "tpa/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Options of tpa_importance_compute(). @since 0.1.0 */
typedef struct tpa_importance_params {
  size_t size;              /**< sizeof the struct, set by the init function */
  size_t samples;           /**< first N examples in file order; 0 = all (2000) */
  int32_t batch_size;       /**< examples per pass; does not change the result (32) */
  int32_t max_seq_length;   /**< 0 = min(128, max_position_embeddings) (0) */
  tpa_progress_fn progress; /**< per batch: ("importance", examples done, total) */
  void *user;               /**< passed to @ref progress */
  /** Data parallelism (tpa/dist.h): every rank of @p dist calls with the
   *  same arguments and gets the same table; NULL = single process (NULL).
   *  Borrowed for the call. @since 0.2.0 */
  const tpa_dist *dist;
} tpa_importance_params;

/** Fill @p p with defaults; @p size is sizeof *p. @since 0.1.0 */
TPA_API void tpa_importance_params_init(tpa_importance_params *p, size_t size);

/**
 * Score every head of @p model on the labelled examples of @p ds. Only the
 * head-mask gradient is computed (no weight gradients; the model is only
 * read; memory stays close to inference). @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_importance_compute(tpa_importance **out,
                                                        const tpa_model *model,
                                                        const tpa_dataset *ds,
                                                        const tpa_importance_params *params);

/** Free a table; NULL is allowed. @since 0.1.0 */
TPA_API void tpa_importance_free(tpa_importance *imp);

/** Number of layers. @since 0.1.0 */
TPA_API int32_t tpa_importance_num_layers(const tpa_importance *imp);
/** Heads per layer before any pruning (the ORIGINAL index range). @since 0.1.0 */
TPA_API int32_t tpa_importance_num_heads(const tpa_importance *imp);
/** Examples scored. @since 0.1.0 */
TPA_API uint64_t tpa_importance_examples(const tpa_importance *imp);
/** Non-pad tokens of those examples (T). @since 0.1.0 */
TPA_API uint64_t tpa_importance_tokens(const tpa_importance *imp);
/** Whether head @p head (ORIGINAL index) of @p layer was scored (false if pruned or out of range).
 * @since 0.1.0 */
TPA_API bool tpa_importance_has_head(const tpa_importance *imp, int32_t layer, int32_t head);
/** raw[layer][head]; NaN if the head has no score. @since 0.1.0 */
TPA_API double tpa_importance_raw(const tpa_importance *imp, int32_t layer, int32_t head);
/** norm[layer][head]; NaN if the head has no score. @since 0.1.0 */
TPA_API double tpa_importance_normalized(const tpa_importance *imp, int32_t layer, int32_t head);
/** Block importance of @p layer (sum of its raw scores); NaN if out of range. @since 0.1.0 */
TPA_API double tpa_importance_block(const tpa_importance *imp, int32_t layer);

/**
 * Write the table as JSON: {"layers":L,"heads":A,"examples":E,"tokens":T,
 * "raw":[[...]],"normalized":[[...]],"blocks":[...]}, rows by layer,
 * columns by ORIGINAL head, null for heads without a score. Atomic.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_importance_save(const tpa_importance *imp, const char *path);

/** Read a table written by tpa_importance_save(). @since 0.1.0 */
TPA_API TPA_NODISCARD tpa_status tpa_importance_load(tpa_importance **out, const char *path);

/**
 * Write a layers x heads heatmap of the normalised scores as a PNG (the
 * paper's Figure 1): one cell per head, darker = more important, pruned
 * heads marked. Atomic. @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_importance_write_heatmap(const tpa_importance *imp,
                                                              const char *png_path);

#ifdef __cplusplus
}
#endif
#endif /* TPA_IMPORTANCE_H */
