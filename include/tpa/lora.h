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
  TPA_LORA_QUERY = 0, /**< attention.self.query */
  TPA_LORA_KEY = 1,   /**< attention.self.key */
  TPA_LORA_VALUE = 2, /**< attention.self.value */
  TPA_LORA_OUTPUT = 3 /**< attention.output.dense */
} tpa_lora_module;

/** Number of adapted modules per block. */
#define TPA_LORA_MODULES 4

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
} tpa_lora_params;

/** Fill @p p with defaults; @p size is sizeof *p. @since 0.1.0 */
TPA_API void tpa_lora_params_init(tpa_lora_params *p, size_t size);

/**
 * Create a LoRA set sized to @p model's (possibly pruned) projections,
 * initialised as PEFT does: A Kaiming-uniform (a = sqrt(5)), B zero, and
 * the LayerNorm and classifier copies equal to the model's, so that the
 * set starts as an exact no-op. Copies what it needs from @p model; the
 * model must outlive nothing. @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_lora_set_create(tpa_lora_set **out, const tpa_model *model,
                                                     const tpa_lora_params *params);

/** Free a set; NULL is allowed. @since 0.1.0 */
TPA_API void tpa_lora_set_free(tpa_lora_set *set);

/** Rank of module @p module of block @p layer (0 if not adapted, -1 if out of range). @since 0.1.0
 */
TPA_API int32_t tpa_lora_set_rank(const tpa_lora_set *set, int32_t layer, tpa_lora_module module);

/** Alpha of that module (0 if not adapted or out of range). @since 0.1.0 */
TPA_API float tpa_lora_set_alpha(const tpa_lora_set *set, int32_t layer, tpa_lora_module module);

/** Number of trainable parameters: LoRA A and B, LayerNorms, classifier. @since 0.1.0 */
TPA_API uint64_t tpa_lora_set_num_params(const tpa_lora_set *set);

/**
 * Save in PEFT's format: @p dir/adapter_config.json (peft_type LORA,
 * task_type SEQ_CLS, target_modules, r, lora_alpha, rank_pattern,
 * alpha_pattern, modules_to_save, bias "none") and
 * @p dir/adapter_model.safetensors with PEFT's key names. Files are
 * written atomically; @p dir is created if missing. @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_lora_set_save(const tpa_lora_set *set, const char *dir);

/**
 * Load a PEFT LoRA adapter directory for @p model. Shapes must match the
 * model's projections; modules absent from the file get no LoRA, and
 * LayerNorm/classifier tensors absent from it start as the model's.
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
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_lora_set_merge(const tpa_lora_set *set, tpa_model *model);

#ifdef __cplusplus
}
#endif
#endif /* TPA_LORA_H */
