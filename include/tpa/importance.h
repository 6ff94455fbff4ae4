/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/importance.h
 * @brief Task-oriented head importance (docs/method.md section 5).
 *
 * raw[l][h] = (sum over examples e of |d l_e / d m_{l,h}|) / T, with l_e
 * the loss of example e alone, m the head mask and T the number of
 * non-pad tokens; norm[l][h] = raw[l][h] / (L2 norm of raw[l] + 1e-20);
 * block importance = sum over h of raw[l][h]. Heads are indexed by their
 * ORIGINAL index; heads already pruned from the model have no score.
 *
 * Optionally (tpa_importance_params.ffn) the same estimator scores every
 * intermediate neuron of the feed-forward blocks, through a mask on the
 * activation's output (docs/method.md section 5a): ffn_raw[l][j] and
 * ffn_normalized[l][j], by the neuron's index in the model as scored.
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
  /** Also score every intermediate neuron (tpa_importance_ffn_raw()), in
   *  the same passes as the heads (false). @since 0.6.0 */
  bool ffn;
} tpa_importance_params;

/**
 * Fill @p p with defaults; @p size is sizeof *p.
 * @param p the struct to fill (its first @p size bytes; bytes the library
 *        does not know are zeroed); NULL does nothing.
 * @param size sizeof *p as the caller compiled it, in bytes; a value below
 *        sizeof(size_t) does nothing.
 * @since 0.1.0
 */
TPA_API void tpa_importance_params_init(tpa_importance_params *p, size_t size);

/**
 * Score every head of @p model on the labelled examples of @p ds. Only the
 * head-mask gradient is computed (no weight gradients; the model is only
 * read; memory stays close to inference).
 * @param out receives the new table, owned by the caller and freed with
 *        tpa_importance_free(); set to NULL on failure; must not be NULL.
 * @param model the model to score (borrowed, only read); not NULL.
 * @param ds labelled examples (borrowed, only read) of a task with the
 *        model's label count; not NULL. With params->samples, only its
 *        first examples are used.
 * @param params options (borrowed for the call), or NULL for defaults.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p out, @p model or
 *         @p ds, a bad params->size, batch_size <= 0, max_seq_length
 *         outside 3..max_position_embeddings, a task whose label count is
 *         not the model's, no examples to score, an example without a
 *         label or one that does not tokenize; TPA_ERR_VOCAB if a token id
 *         is past the model's vocab_size; TPA_ERR_CANCELLED if the
 *         progress callback returned false; TPA_ERR_NO_MEMORY;
 *         TPA_ERR_BACKEND.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_importance_compute(tpa_importance **out,
                                                        const tpa_model *model,
                                                        const tpa_dataset *ds,
                                                        const tpa_importance_params *params);

/**
 * Free a table; NULL is allowed.
 * @param imp the table (ownership passes to the call), or NULL (nothing
 *        happens).
 * @since 0.1.0
 */
TPA_API void tpa_importance_free(tpa_importance *imp);

/**
 * Number of layers.
 * @param imp the table (borrowed), or NULL.
 * @return the layer count; 0 for NULL.
 * @since 0.1.0
 */
TPA_API int32_t tpa_importance_num_layers(const tpa_importance *imp);
/**
 * Heads per layer before any pruning (the ORIGINAL index range).
 * @param imp the table (borrowed), or NULL.
 * @return the original head count per layer; 0 for NULL.
 * @since 0.1.0
 */
TPA_API int32_t tpa_importance_num_heads(const tpa_importance *imp);
/**
 * Examples scored.
 * @param imp the table (borrowed), or NULL.
 * @return the number of examples; 0 for NULL.
 * @since 0.1.0
 */
TPA_API uint64_t tpa_importance_examples(const tpa_importance *imp);
/**
 * Non-pad tokens of those examples (T).
 * @param imp the table (borrowed), or NULL.
 * @return the token count; 0 for NULL.
 * @since 0.1.0
 */
TPA_API uint64_t tpa_importance_tokens(const tpa_importance *imp);
/**
 * Whether head @p head (ORIGINAL index) of @p layer was scored (false if pruned or out of range).
 * @param imp the table (borrowed), or NULL.
 * @param layer 0-based layer index.
 * @param head ORIGINAL 0-based head index.
 * @return true if the head has a score; false if it was pruned, for a NULL
 *         @p imp, or out of range.
 * @since 0.1.0
 */
TPA_API bool tpa_importance_has_head(const tpa_importance *imp, int32_t layer, int32_t head);
/**
 * raw[layer][head]; NaN if the head has no score.
 * @param imp the table (borrowed), or NULL.
 * @param layer 0-based layer index.
 * @param head ORIGINAL 0-based head index.
 * @return the raw score; NaN if the head has no score, for a NULL @p imp,
 *         or out of range.
 * @since 0.1.0
 */
TPA_API double tpa_importance_raw(const tpa_importance *imp, int32_t layer, int32_t head);
/**
 * norm[layer][head]; NaN if the head has no score.
 * @param imp the table (borrowed), or NULL.
 * @param layer 0-based layer index.
 * @param head ORIGINAL 0-based head index.
 * @return the normalised score; NaN if the head has no score, for a NULL
 *         @p imp, or out of range.
 * @since 0.1.0
 */
TPA_API double tpa_importance_normalized(const tpa_importance *imp, int32_t layer, int32_t head);
/**
 * Block importance of @p layer (sum of its raw scores); NaN if out of range.
 * @param imp the table (borrowed), or NULL.
 * @param layer 0-based layer index.
 * @return the block importance; NaN for a NULL @p imp or @p layer out of
 *         range.
 * @since 0.1.0
 */
TPA_API double tpa_importance_block(const tpa_importance *imp, int32_t layer);

/**
 * Whether the table has neuron scores (computed with
 * tpa_importance_params.ffn, or loaded from a file that has them).
 * @param imp the table (borrowed), or NULL.
 * @return true if it has; false otherwise or for NULL.
 * @since 0.6.0
 */
TPA_API bool tpa_importance_has_ffn(const tpa_importance *imp);
/**
 * Neurons scored in @p layer: the intermediate size of that layer of the
 * model as scored.
 * @param imp the table (borrowed), or NULL.
 * @param layer 0-based layer index.
 * @return the neuron count; 0 for a table without neuron scores, a NULL
 *         @p imp or @p layer out of range.
 * @since 0.6.0
 */
TPA_API int32_t tpa_importance_ffn_width(const tpa_importance *imp, int32_t layer);
/**
 * ffn_raw[layer][neuron].
 * @param imp the table (borrowed), or NULL.
 * @param layer 0-based layer index.
 * @param neuron 0-based neuron index in that layer of the model as scored.
 * @return the raw score; NaN for a table without neuron scores, a NULL
 *         @p imp, or out of range.
 * @since 0.6.0
 */
TPA_API double tpa_importance_ffn_raw(const tpa_importance *imp, int32_t layer, int32_t neuron);
/**
 * ffn_normalized[layer][neuron]: the raw score over the L2 norm of the
 * layer's raw scores (+ 1e-20).
 * @param imp the table (borrowed), or NULL.
 * @param layer 0-based layer index.
 * @param neuron 0-based neuron index in that layer of the model as scored.
 * @return the normalised score; NaN for a table without neuron scores, a
 *         NULL @p imp, or out of range.
 * @since 0.6.0
 */
TPA_API double tpa_importance_ffn_normalized(const tpa_importance *imp, int32_t layer,
                                             int32_t neuron);

/**
 * Write the table as JSON: {"layers":L,"heads":A,"examples":E,"tokens":T,
 * "raw":[[...]],"normalized":[[...]],"blocks":[...]}, rows by layer,
 * columns by ORIGINAL head, null for heads without a score; a table with
 * neuron scores adds "ffn_raw":[[...]] and "ffn_normalized":[[...]], one
 * list per layer of one number per neuron. Atomic.
 * @param imp the table (borrowed, only read); not NULL.
 * @param path output file, NUL-terminated (borrowed for the call); not
 *        NULL or empty. Missing parent directories are created (since
 *        0.7.0, as tpa_model_save does); on failure an existing file is
 *        left as it was.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p imp or a NULL or
 *         empty @p path; TPA_ERR_IO if a parent cannot be created
 *         (or is not a directory) or writing fails; TPA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_importance_save(const tpa_importance *imp, const char *path);

/**
 * Read a table written by tpa_importance_save().
 * @param out receives the new table, owned by the caller and freed with
 *        tpa_importance_free(); set to NULL on failure; must not be NULL.
 * @param path the JSON file, NUL-terminated (borrowed for the call); not
 *        NULL.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL argument;
 *         TPA_ERR_NOT_FOUND if the file does not exist; TPA_ERR_IO if it
 *         cannot be read; TPA_ERR_JSON if it is not valid JSON or not an
 *         object; TPA_ERR_CONFIG if it is JSON but not a valid table (since
 *         0.7.0; TPA_ERR_JSON before); TPA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_importance_load(tpa_importance **out, const char *path);

/**
 * Write a layers x heads heatmap of the normalised scores as a PNG (the
 * paper's Figure 1): one cell per head, darker = more important, pruned
 * heads marked. Atomic.
 * @param imp the table (borrowed, only read); not NULL.
 * @param png_path output file, NUL-terminated (borrowed for the call); not
 *        NULL or empty. Missing parent directories are created (since
 *        0.7.0, as tpa_model_save does); on failure an existing file is
 *        left as it was.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p imp or a NULL or
 *         empty @p png_path; TPA_ERR_IO if a parent cannot be created
 *         (or is not a directory) or writing fails;
 *         TPA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_importance_write_heatmap(const tpa_importance *imp,
                                                              const char *png_path);

#ifdef __cplusplus
}
#endif
#endif /* TPA_IMPORTANCE_H */
