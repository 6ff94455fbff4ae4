/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/lora.h
 * @brief LoRA adapters on the attention projections, in PEFT's format.
 *
 * A tpa_lora_set holds, for one model shape, a LoRA pair (A [r, in],
 * B [out, r]) on query, key, value and attention output dense of every
 * block, each with its own rank and alpha, plus trainable copies of the
 * modules PEFT saves beside them (every LayerNorm and the classifier).
 * Applied to a model it computes W x + b + (alpha/r) B A x.
 *
 * Thread safety: a set is used by one thread at a time while it is being
 * trained or modified; otherwise any number of threads may read it (for
 * example tpa_model_predict() with it as adapter).
 */
#ifndef TPA_LORA_H
#define TPA_LORA_H

#include "tpa/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The adapted modules of a block, in PEFT's target_modules order. @since 0.1.0 */
typedef enum tpa_lora_module {
  TPA_LORA_QUERY = 0,        /**< attention.self.query */
  TPA_LORA_KEY = 1,          /**< attention.self.key */
  TPA_LORA_VALUE = 2,        /**< attention.self.value */
  TPA_LORA_OUTPUT = 3,       /**< attention.output.dense */
  TPA_LORA_INTERMEDIATE = 4, /**< intermediate.dense (DistilBERT ffn.lin1) @since 0.6.0 */
  TPA_LORA_FFN_OUTPUT = 5    /**< output.dense (DistilBERT ffn.lin2) @since 0.6.0 */
} tpa_lora_module;

/** Number of attention modules per block: the stride of
 *  tpa_lora_params::ranks and of tpa_rank_schedule()'s output. */
#define TPA_LORA_MODULES 4

/** Number of modules per block LoRA can adapt: the four attention
 *  projections and the feed-forward's two denses. @since 0.6.0 */
#define TPA_LORA_ALL_MODULES 6

/** Options of tpa_lora_set_create(). @since 0.1.0 */
typedef struct tpa_lora_params {
  size_t size;  /**< sizeof the struct, set by the init function */
  int32_t rank; /**< rank of every module when @ref ranks is NULL (8) */
  float alpha;  /**< alpha of every module when @ref alphas is NULL; 0 = 2 * rank (0) */
  /** Optional per-module ranks, [num_layers * TPA_LORA_MODULES] in block
   *  then tpa_lora_module order; borrowed for the call. A rank of 0
   *  leaves that module without LoRA. (NULL) */
  const int32_t *ranks;
  /** Optional per-module alphas in the same order; 0 entries mean 2 * rank. (NULL) */
  const float *alphas;
  uint64_t seed; /**< seed of the Kaiming-uniform A initialisation (42) */
  /** Optional feed-forward ranks, [num_layers * 2]: per block, the rank
   *  of TPA_LORA_INTERMEDIATE then of TPA_LORA_FFN_OUTPUT; borrowed for
   *  the call. NULL (the default) leaves the feed-forward without LoRA;
   *  a rank of 0 leaves that module without it. @since 0.6.0 */
  const int32_t *ffn_ranks;
  /** Optional feed-forward alphas in the order of @ref ffn_ranks; 0
   *  entries mean 2 * rank; NULL means @ref alpha, as for the attention
   *  modules. @since 0.6.0 */
  const float *ffn_alphas;
} tpa_lora_params;

/**
 * Fill @p p with defaults; @p size is sizeof *p.
 * @param p the struct to fill (its first @p size bytes; bytes the library
 *        does not know are zeroed); NULL does nothing.
 * @param size sizeof *p as the caller compiled it, in bytes; a value below
 *        sizeof(size_t) does nothing.
 * @since 0.1.0
 */
TPA_API void tpa_lora_params_init(tpa_lora_params *p, size_t size);

/**
 * Create a LoRA set sized to @p model's (possibly pruned) projections,
 * initialised as PEFT does: A Kaiming-uniform (a = sqrt(5)), B zero, and
 * the LayerNorm and classifier copies equal to the model's, so that the
 * set starts as an exact no-op. Copies what it needs from @p model; the
 * model must outlive nothing.
 * @param out receives the new set, owned by the caller and freed with
 *        tpa_lora_set_free(); set to NULL on failure; must not be NULL.
 * @param model the model whose shape the set takes (borrowed for the call,
 *        only read); not NULL.
 * @param params options (borrowed for the call), or NULL for defaults.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p out or @p model, a
 *         bad params->size, params->rank outside 1..1024, a params->ranks
 *         entry outside 0..1024, or a negative or non-finite alpha;
 *         TPA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_lora_set_create(tpa_lora_set **out, const tpa_model *model,
                                                     const tpa_lora_params *params);

/**
 * Free a set; NULL is allowed.
 * @param set the set (ownership passes to the call), or NULL (nothing
 *        happens).
 * @since 0.1.0
 */
TPA_API void tpa_lora_set_free(tpa_lora_set *set);

/**
 * Rank of module @p module of block @p layer (0 if not adapted, -1 if out of range).
 * @param set the set (borrowed), or NULL.
 * @param layer 0-based block index.
 * @param module the module within the block.
 * @return the rank; 0 if the module has no LoRA; -1 for a NULL @p set or
 *         @p layer or @p module out of range.
 * @since 0.1.0
 */
TPA_API int32_t tpa_lora_set_rank(const tpa_lora_set *set, int32_t layer, tpa_lora_module module);

/**
 * Alpha of that module (0 if not adapted, -1 if out of range).
 * @param set the set (borrowed), or NULL.
 * @param layer 0-based block index.
 * @param module the module within the block.
 * @return the module's lora_alpha (the update is scaled by alpha / rank);
 *         0 if it has no LoRA; -1 for a NULL @p set or @p layer or
 *         @p module out of range, as tpa_lora_set_rank() (0.1 and 0.2
 *         returned 0 there).
 * @since 0.1.0
 */
TPA_API float tpa_lora_set_alpha(const tpa_lora_set *set, int32_t layer, tpa_lora_module module);

/**
 * The module that an entry of PEFT's target_modules picks in @p model's
 * family, by PEFT's rule for a list entry: the module's path within the
 * model equals @p name or ends in "." @p name. So "query", "self.query"
 * and "attention.self.query" pick TPA_LORA_QUERY in BERT, RoBERTa,
 * XLM-RoBERTa and ELECTRA, "q_lin" in DistilBERT, and
 * "attention.output.dense" ("out_lin") picks TPA_LORA_OUTPUT.
 * @param model the model whose family names the modules (borrowed).
 * @param name the target_modules entry.
 * @param module receives the module; left alone on failure.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL argument;
 *         TPA_ERR_UNSUPPORTED, the message naming the four modules LoRA
 *         adapts, when @p name picks none of them or also picks another
 *         layer (such as "dense", which in PEFT would also adapt the
 *         feed-forward's intermediate.dense and output.dense).
 * @since 0.5.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_lora_module_from_name(const tpa_model *model, const char *name,
                                                           tpa_lora_module *module);

/**
 * The modules that an entry of PEFT's target_modules picks in @p model's
 * family, by PEFT's rule for a list entry (the module's path equals
 * @p name or ends in "." @p name), as a bit mask: bit k set for
 * tpa_lora_module k. So in BERT "query" gives 1 << TPA_LORA_QUERY,
 * "intermediate.dense" 1 << TPA_LORA_INTERMEDIATE, and "output.dense"
 * both TPA_LORA_OUTPUT and TPA_LORA_FFN_OUTPUT (PEFT adapts both);
 * DistilBERT's "lin1" and "lin2" pick its feed-forward denses.
 * @param model the model whose family names the modules (borrowed).
 * @param name the target_modules entry.
 * @param mask receives the bits; left alone on failure.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL argument;
 *         TPA_ERR_UNSUPPORTED, the message naming the six modules LoRA
 *         adapts, when @p name picks none of them or also picks a layer
 *         libtpa does not adapt (such as "dense", which in PEFT would also
 *         adapt the pooler or the classification head).
 * @since 0.6.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_lora_module_mask(const tpa_model *model, const char *name,
                                                      uint32_t *mask);

/**
 * Number of trainable parameters: LoRA A and B, LayerNorms, classifier.
 * @param set the set (borrowed), or NULL.
 * @return the parameter count; 0 for NULL.
 * @since 0.1.0
 */
TPA_API uint64_t tpa_lora_set_num_params(const tpa_lora_set *set);

/**
 * Save in PEFT's format: @p dir/adapter_config.json (peft_type LORA,
 * task_type SEQ_CLS, target_modules, r, lora_alpha, rank_pattern,
 * alpha_pattern, modules_to_save, bias "none") and
 * @p dir/adapter_model.safetensors with PEFT's key names. Files are
 * written atomically; @p dir is created if missing.
 *
 * As with tpa_model_save(), the two files are staged in a new directory
 * that replaces @p dir in one rename (other files of an existing @p dir
 * are kept), or, when that is impossible, written in place one by one.
 * @param set the set (borrowed, only read); not NULL.
 * @param dir output directory, NUL-terminated (borrowed for the call); not
 *        NULL or empty.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p set or a NULL or
 *         empty @p dir; TPA_ERR_IO if writing fails (when staged, @p dir
 *         is then as it was); TPA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_lora_set_save(const tpa_lora_set *set, const char *dir);

/**
 * Load a PEFT LoRA adapter directory for @p model. Shapes must match the
 * model's projections; modules absent from the file get no LoRA, and
 * LayerNorm/classifier tensors absent from it start as the model's.
 * @param out receives the new set, owned by the caller and freed with
 *        tpa_lora_set_free(); set to NULL on failure; must not be NULL.
 * @param model the model the adapter is for (borrowed for the call, only
 *        read); not NULL.
 * @param dir adapter directory with adapter_config.json and
 *        adapter_model.safetensors, NUL-terminated (borrowed for the
 *        call); not NULL.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL argument;
 *         TPA_ERR_NOT_FOUND for a missing file; TPA_ERR_IO;
 *         TPA_ERR_JSON; TPA_ERR_CONFIG for invalid adapter_config.json
 *         values; TPA_ERR_UNSUPPORTED for valid PEFT settings this version
 *         cannot handle; TPA_ERR_TRUNCATED, TPA_ERR_HEADER,
 *         TPA_ERR_TENSOR_OFFSETS or TPA_ERR_TENSOR_DTYPE for a malformed
 *         safetensors file; TPA_ERR_TENSOR_SHAPE when tensors do not fit
 *         the model; TPA_ERR_TENSOR_MISSING when only one of a module's A
 *         and B is present; TPA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_lora_set_load(tpa_lora_set **out, const tpa_model *model,
                                                   const char *dir);

/**
 * Merge the set into @p model: W' = W + (alpha/r) B A for every adapted
 * module (into the model's possibly pruned weights), and the set's
 * LayerNorm and classifier copies replace the model's. Afterwards the
 * model alone gives the logits the model with the adapter gave (within
 * float rounding). The set must have been made for this model's shape.
 * The model is modified: no other thread may use it during the call.
 * Merging the same set twice adds it twice.
 * @param set the set (borrowed, only read; it stays valid and unchanged);
 *        not NULL.
 * @param model the model to modify in place; not NULL. On failure it is
 *        left unchanged.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL argument or a set
 *         made for another model shape (layers, hidden size, labels or
 *         kept heads); TPA_ERR_NO_MEMORY; TPA_ERR_BACKEND.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_lora_set_merge(const tpa_lora_set *set, tpa_model *model);

#ifdef __cplusplus
}
#endif
#endif /* TPA_LORA_H */
