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
 * Write the table's picture as a PNG: the picture tpa_importance_write_png()
 * draws with default options (no task in the title, no plan). Before
 * 0.8.0 this drew only the cells, 24 px each, without labels. Atomic.
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

/**
 * Options of the table's picture (tpa_importance_write_svg(),
 * tpa_importance_write_png()).
 *
 * The picture (docs/formats.md, "The importance picture"): a grid of
 * layers (rows, layer 0 on top) by ORIGINAL heads (columns), each cell
 * coloured by the head's normalised score over the table's largest and
 * showing the score with two decimals; heads without a score hatched grey;
 * the heads of the plan field outlined in red; beside each row a bar of
 * the layer's block importance with its value and, for a table with
 * neuron scores, a bar of the sum of the layer's raw neuron scores (and,
 * when the plan prunes neurons, how many the layer keeps); a colour
 * legend; and a title naming the task field and the number of examples
 * and tokens scored.
 * @since 0.8.0
 */
typedef struct tpa_heatmap_params {
  size_t size; /**< sizeof the struct, set by the init function */
  /** The task or data named in the title, UTF-8, NUL-terminated (borrowed
   *  for the call); bytes that are not valid UTF-8 or are control
   *  characters are shown as '?', and a name longer than 48 characters
   *  is shortened to "..." and its last 45; NULL or "" = no name (NULL). */
  const char *task;
  /** Mark the heads this plan removes (and, with neurons, count the
   *  neurons each layer keeps); borrowed for the call; it must cover the
   *  table's layers; NULL = no plan (NULL). */
  const tpa_prune_plan *plan;
} tpa_heatmap_params;

/**
 * Fill @p p with defaults; @p size is sizeof *p.
 * @param p the struct to fill (its first @p size bytes; bytes the library
 *        does not know are zeroed); NULL does nothing.
 * @param size sizeof *p as the caller compiled it, in bytes; a value below
 *        sizeof(size_t) does nothing.
 * @since 0.8.0
 */
TPA_API void tpa_heatmap_params_init(tpa_heatmap_params *p, size_t size);

/**
 * Write the table's picture (tpa_heatmap_params) as SVG 1.1: text a person
 * or a browser reads, cells as rect elements of class "cell" and scores as
 * text elements of class "score", each with data-layer and data-head
 * attributes. Atomic.
 * @param imp the table (borrowed, only read); not NULL.
 * @param svg_path output file, NUL-terminated (borrowed for the call); not
 *        NULL or empty. Missing parent directories are created; on failure
 *        an existing file is left as it was.
 * @param params options (borrowed for the call), or NULL for defaults.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p imp, a NULL or
 *         empty @p svg_path, a bad params->size, or a plan whose layer
 *         count is not the table's; TPA_ERR_IO if a parent cannot be
 *         created (or is not a directory) or writing fails;
 *         TPA_ERR_NO_MEMORY.
 * @since 0.8.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_importance_write_svg(const tpa_importance *imp,
                                                          const char *svg_path,
                                                          const tpa_heatmap_params *params);

/**
 * Write the same picture as tpa_importance_write_svg() as a PNG, two
 * pixels per SVG unit (one for tables too large to fit 8192 pixels so),
 * its text drawn with the library's own bitmap font: about 1150 x 690
 * pixels for BERT-base's 12 x 12 heads. Atomic.
 * @param imp the table (borrowed, only read); not NULL.
 * @param png_path output file, NUL-terminated (borrowed for the call); not
 *        NULL or empty. Missing parent directories are created; on failure
 *        an existing file is left as it was.
 * @param params options (borrowed for the call), or NULL for defaults.
 * @return as tpa_importance_write_svg().
 * @since 0.8.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_importance_write_png(const tpa_importance *imp,
                                                          const char *png_path,
                                                          const tpa_heatmap_params *params);

#ifdef __cplusplus
}
#endif
#endif /* TPA_IMPORTANCE_H */
