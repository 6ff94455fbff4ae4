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

/** Fill @p p with defaults; @p size is sizeof *p. @since 0.1.0 */
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
 * @param dir    checkpoint directory (borrowed for the call only)
 * @param params NULL for defaults
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_load(tpa_model **out, const char *dir,
                                                const tpa_model_load_params *params);

/** Free a model; NULL is allowed. @since 0.1.0 */
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
} tpa_model_config;

/**
 * Copy the configuration into @p cfg; set cfg->size = sizeof *cfg first.
 * Only the first cfg->size bytes are written. @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_get_config(const tpa_model *model,
                                                      tpa_model_config *cfg);

/** Number of heads layer @p layer keeps (after pruning); -1 if out of range. @since 0.1.0 */
TPA_API int32_t tpa_model_layer_num_heads(const tpa_model *model, int32_t layer);

/**
 * ORIGINAL indices of the heads layer @p layer keeps, ascending. Writes at
 * most @p cap values to @p heads and the count to *n; a NULL @p heads with
 * cap 0 queries the count. @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_layer_heads(const tpa_model *model, int32_t layer,
                                                       int32_t *heads, size_t cap, size_t *n);

/** Exact parameter counts of the model as loaded (pruned heads absent). @since 0.1.0 */
typedef struct tpa_param_counts {
  size_t size;         /**< set by the caller to sizeof the struct */
  uint64_t total;      /**< every parameter */
  uint64_t embeddings; /**< word, position, token-type, LayerNorm */
  uint64_t encoder;    /**< all transformer blocks */
  uint64_t head;       /**< pooler + classifier */
  uint64_t pooler;     /**< pooler dense layer */
  uint64_t classifier; /**< classification layer */
} tpa_param_counts;

/** Fill @p counts (counts->size set by the caller). @since 0.1.0 */
TPA_API TPA_NODISCARD tpa_status tpa_model_param_counts(const tpa_model *model,
                                                        tpa_param_counts *counts);

/** Label name of class @p id (config.json id2label, or "LABEL_<id>"); NULL if out of range. @since
 * 0.1.0 */
TPA_API const char *tpa_model_label_name(const tpa_model *model, int32_t id);

/**
 * Write the model as an HF directory: config.json, model.safetensors (F32),
 * vocab.txt and tokenizer_config.json, loadable by HF transformers 4.x and
 * by tpa_model_load(). Each file is written atomically (temporary name,
 * fsync, rename); @p dir is created if missing. @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_save(const tpa_model *model, const char *dir);

/**
 * Like tpa_model_save() but dense: original shapes, the weights of pruned
 * heads written as zeros and no `pruned_heads` in config.json, for tools
 * that ignore pruned_heads. Gives the same logits as the compact model.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_save_dense(const tpa_model *model, const char *dir);

/** The model's tokenizer, borrowed: valid as long as the model. @since 0.1.0 */
TPA_API const tpa_tokenizer *tpa_model_tokenizer(const tpa_model *model);

#ifdef __cplusplus
}
#endif
#endif /* TPA_MODEL_H */
