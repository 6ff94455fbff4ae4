/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/model.h
 * @brief Loading a Hugging Face BERT checkpoint directory and inspecting it.
 *
 * Thread safety: any number of threads may read a model and run
 * tpa_model_forward()/tpa_model_predict() on it at once. The calls that
 * change it (tpa_model_prune(), tpa_lora_set_merge(), tpa_train_full())
 * need it exclusively.
 */
#ifndef TPA_MODEL_H
#define TPA_MODEL_H

#include "tpa/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Options of tpa_model_load(). @since 0.1.0 */
typedef struct tpa_model_load_params {
  size_t size;        /**< sizeof the struct, set by the init function */
  uint64_t seed;      /**< seed of a freshly created classifier (42) */
  int32_t num_labels; /**< >0: override config.json's label count (0) */
  tpa_log_fn log;     /**< optional log sink (NULL) */
  void *user;         /**< passed to @ref log */
} tpa_model_load_params;

/**
 * Fill @p p with defaults; @p size is sizeof *p.
 * @param p the struct to fill (its first @p size bytes; bytes the library
 *        does not know are zeroed); NULL does nothing.
 * @param size sizeof *p as the caller compiled it, in bytes; a value below
 *        sizeof(size_t) does nothing.
 * @since 0.1.0
 */
TPA_API void tpa_model_load_params_init(tpa_model_load_params *p, size_t size);

/**
 * Load an HF model directory: config.json, model.safetensors (F32, F16 or
 * BF16), vocab.txt and, if present, tokenizer_config.json. Tensor names may
 * carry the "bert." prefix or not; `pruned_heads` is honoured. A bare
 * BertModel (no classifier) gets a new classifier, N(0, 0.02) weights from
 * @p params->seed and zero bias, and a log message says so.
 *
 * F32 tensors are used from the memory-mapped file where the layout allows,
 * so the directory's files must stay unchanged while the model lives; the
 * model copies nothing else from the caller. On failure *out is NULL, no
 * partial model exists, and tpa_last_error() names the file and tensor.
 *
 * @param out    receives the new model, freed with tpa_model_free()
 *               (NULL on failure); must not be NULL
 * @param dir    checkpoint directory (borrowed for the call only); not NULL
 * @param params NULL for defaults (borrowed for the call; the log callback
 *               is only called during it)
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p out or @p dir, a
 *         bad params->size or a negative params->num_labels;
 *         TPA_ERR_NOT_FOUND for a missing file; TPA_ERR_IO;
 *         TPA_ERR_TRUNCATED; TPA_ERR_JSON; TPA_ERR_CONFIG for invalid
 *         config.json values; TPA_ERR_UNSUPPORTED for valid settings this
 *         version cannot handle (e.g. another problem_type); TPA_ERR_HEADER,
 *         TPA_ERR_TENSOR_OFFSETS, TPA_ERR_TENSOR_DTYPE, TPA_ERR_TENSOR_SHAPE
 *         or TPA_ERR_TENSOR_MISSING for model.safetensors; TPA_ERR_VOCAB
 *         for vocab.txt; TPA_ERR_NO_MEMORY; TPA_ERR_BACKEND.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_load(tpa_model **out, const char *dir,
                                                const tpa_model_load_params *params);

/**
 * Free a model; NULL is allowed.
 * @param model the model (ownership passes to the call), or NULL (nothing
 *        happens). Its tokenizer (tpa_model_tokenizer()) and label names
 *        become invalid.
 * @since 0.1.0
 */
TPA_API void tpa_model_free(tpa_model *model);

/** Architecture values from config.json. @since 0.1.0 */
typedef struct tpa_model_config {
  size_t size;                     /**< set by the caller to sizeof the struct */
  int32_t hidden_size;             /**< width of the hidden states */
  int32_t num_layers;              /**< transformer blocks */
  int32_t num_heads;               /**< heads per layer before any pruning */
  int32_t head_dim;                /**< hidden_size / num_heads */
  int32_t intermediate_size;       /**< width of the feed-forward layer */
  int32_t vocab_size;              /**< entries of the word embedding */
  int32_t max_position_embeddings; /**< longest sequence the position embedding covers */
  int32_t type_vocab_size;         /**< token types (segments) */
  int32_t num_labels;              /**< 1 means regression */
  double layer_norm_eps;           /**< LayerNorm epsilon */
  double hidden_dropout_prob; /**< dropout after embeddings, attention output and feed-forward */
  double attention_probs_dropout_prob; /**< dropout on the attention probabilities */
  bool do_lower_case;                  /**< from tokenizer_config.json (default true) */
  bool regression;                     /**< problem_type regression or num_labels == 1 */
  /** config.json's model_type: "bert", "roberta", "xlm-roberta",
   * "distilbert" or "electra" (a static string). @since 0.5.0 */
  const char *model_type;
  /** Width of the embeddings: ELECTRA's embedding_size, else hidden_size.
   * @since 0.5.0 */
  int32_t embedding_size;
  /** Longest sequence the positions cover: max_position_embeddings, less
   * padding_idx + 1 for RoBERTa and XLM-R (514 - 2 = 512). @since 0.5.0 */
  int32_t max_sequence_length;
} tpa_model_config;

/**
 * Copy the configuration into @p cfg; set cfg->size = sizeof *cfg first.
 * Only the first cfg->size bytes are written.
 * @param model the model (borrowed); not NULL.
 * @param cfg receives the configuration; cfg->size must be set first and is
 *        left as it is. Nothing is written on failure; not NULL.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL argument or a
 *         cfg->size below sizeof(size_t).
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_get_config(const tpa_model *model,
                                                      tpa_model_config *cfg);

/**
 * Number of heads layer @p layer keeps (after pruning); -1 if out of range.
 * @param model the model (borrowed), or NULL.
 * @param layer 0-based layer index.
 * @return the head count, or -1 for a NULL @p model or @p layer out of
 *         range.
 * @since 0.1.0
 */
TPA_API int32_t tpa_model_layer_num_heads(const tpa_model *model, int32_t layer);

/**
 * Intermediate (feed-forward) neurons of layer @p layer. Equal to
 * tpa_model_config.intermediate_size unless neuron pruning left layers of
 * different widths (that field is then the widest layer's).
 * @param model the model (borrowed), or NULL.
 * @param layer 0-based layer index.
 * @return the neuron count, or -1 for a NULL @p model or @p layer out of
 *         range.
 * @since 0.6.0
 */
TPA_API int32_t tpa_model_layer_ffn_width(const tpa_model *model, int32_t layer);

/**
 * ORIGINAL indices of the heads layer @p layer keeps, ascending. Writes at
 * most @p cap values to @p heads and the count to *n; a NULL @p heads with
 * cap 0 queries the count.
 * @param model the model (borrowed); not NULL.
 * @param layer 0-based layer index.
 * @param heads buffer of @p cap values, or NULL when @p cap is 0. On
 *        TPA_ERR_BUFFER_TOO_SMALL its @p cap values are the first heads.
 * @param cap length of @p heads, in values.
 * @param n receives the number of heads the layer keeps (also on
 *        TPA_ERR_BUFFER_TOO_SMALL; untouched on other errors); not NULL.
 * @return TPA_OK; TPA_ERR_BUFFER_TOO_SMALL when @p heads is not NULL and
 *         the count exceeds @p cap; TPA_ERR_INVALID_ARGUMENT for a NULL
 *         @p model or @p n, a NULL @p heads with @p cap > 0, or @p layer
 *         out of range.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_layer_heads(const tpa_model *model, int32_t layer,
                                                       int32_t *heads, size_t cap, size_t *n);

/** Exact parameter counts of the model as loaded (pruned heads absent). @since 0.1.0 */
typedef struct tpa_param_counts {
  size_t size;         /**< set by the caller to sizeof the struct */
  uint64_t total;      /**< every parameter */
  uint64_t embeddings; /**< word, position, token-type, LayerNorm */
  uint64_t encoder;    /**< all transformer blocks */
  uint64_t head;       /**< pooler (or the head's dense) + classifier */
  uint64_t pooler;     /**< BERT's pooler, or the head's own dense layer */
  uint64_t classifier; /**< classification layer */
} tpa_param_counts;

/**
 * Fill @p counts (counts->size set by the caller).
 * @param model the model (borrowed); not NULL.
 * @param counts receives the counts (its first counts->size bytes;
 *        counts->size is left as it is). Nothing is written on failure;
 *        not NULL.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL argument or a
 *         counts->size below sizeof(size_t); TPA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_param_counts(const tpa_model *model,
                                                        tpa_param_counts *counts);

/**
 * Label name of class @p id (config.json id2label, or "LABEL_<id>"); NULL if out of range.
 * @param model the model (borrowed), or NULL.
 * @param id class id, 0-based.
 * @return a string owned by the model, valid as long as it; NULL for a
 *         NULL @p model or @p id out of range.
 * @since 0.1.0
 */
TPA_API const char *tpa_model_label_name(const tpa_model *model, int32_t id);

/**
 * Name the model's classes (config.json's id2label and label2id when
 * saved), e.g. from tpa_dataset_label_name() of the training set. Not to
 * be called while another thread uses the model.
 * @param model the model; not NULL.
 * @param names @p n distinct, non-empty names in class id order (copied).
 * @param n must equal the model's num_labels.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for NULL arguments, another
 *         count, an empty or repeated name; TPA_ERR_NO_MEMORY (the names
 *         are then unchanged).
 * @since 0.4.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_set_label_names(tpa_model *model,
                                                           const char *const *names, int32_t n);

/**
 * Write the model as an HF directory: config.json, model.safetensors (F32),
 * vocab.txt and tokenizer_config.json, loadable by HF transformers 4.x and
 * by tpa_model_load(). Each file is written atomically (temporary name,
 * fsync, rename); @p dir is created if missing.
 *
 * In fact the files are staged in a new directory next to @p dir that
 * then replaces it in one rename, so readers see the whole old directory
 * or the whole new one (files of an existing @p dir that are not written
 * are kept); only when that is impossible (e.g. the parent is not
 * writable) is each file replaced atomically in place.
 * @param model the model (borrowed, only read); not NULL.
 * @param dir output directory, NUL-terminated (borrowed for the call); not
 *        NULL or empty.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p model or a NULL or
 *         empty @p dir; TPA_ERR_IO if writing fails (when staged, @p dir
 *         is then as it was); TPA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_save(const tpa_model *model, const char *dir);

/**
 * Like tpa_model_save() but dense: original shapes, the weights of pruned
 * heads written as zeros and no `pruned_heads` in config.json, for tools
 * that ignore pruned_heads. Gives the same logits as the compact model.
 * @param model the model (borrowed, only read); not NULL.
 * @param dir output directory, NUL-terminated (borrowed for the call); not
 *        NULL or empty.
 * @return as tpa_model_save().
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_save_dense(const tpa_model *model, const char *dir);

/**
 * The model's tokenizer, borrowed: valid as long as the model.
 * @param model the model (borrowed), or NULL.
 * @return the tokenizer owned by the model (never pass it to
 *         tpa_tokenizer_free()); NULL for a NULL @p model.
 * @since 0.1.0
 */
TPA_API const tpa_tokenizer *tpa_model_tokenizer(const tpa_model *model);

#ifdef __cplusplus
}
#endif
#endif /* TPA_MODEL_H */
