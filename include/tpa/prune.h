/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/prune.h
 * @brief Importance-oriented structural head pruning and the rank
 *        schedule that follows block importance (METHOD.md sections 6-7).
 *
 * A plan lists, per layer, the ORIGINAL indices of the heads to remove.
 * Applying it deletes the rows of Q, K, V and the columns of the attention
 * output dense that belong to those heads (HF prune_heads semantics), so
 * the model really gets smaller and faster. Plans compose: heads a model
 * already lacks are skipped.
 *
 * Thread safety: a plan is immutable and may be shared for reading;
 * tpa_model_prune() needs the model exclusively.
 */
#ifndef TPA_PRUNE_H
#define TPA_PRUNE_H

#include "tpa/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Options of tpa_prune_plan_create(). @since 0.1.0 */
typedef struct tpa_prune_params {
  size_t size; /**< sizeof the struct, set by the init function */
  /** Remove this many of the globally least important scored heads (by
   *  normalised score); -1 = round(0.3056 * layers * heads), the paper's
   *  44 of 144 (-1). Ignored when @ref use_threshold is set. */
  int32_t num_heads;
  bool use_threshold; /**< remove every scored head whose normalised score is below @ref threshold
                         (false) */
  double threshold;   /**< see @ref use_threshold (0) */
  bool allow_empty_layers; /**< allow removing a layer's last head (false) */
} tpa_prune_params;

/** Fill @p p with defaults; @p size is sizeof *p. @since 0.1.0 */
TPA_API void tpa_prune_params_init(tpa_prune_params *p, size_t size);

/**
 * Choose the heads to remove from an importance table. Ties break toward
 * the lower (layer, head). Unless allowed, the most important scored head
 * of every layer is kept. Heads without a score (already pruned) are not
 * part of the plan. @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_prune_plan_create(tpa_prune_plan **out,
                                                       const tpa_importance *imp,
                                                       const tpa_prune_params *params);

/** Free a plan; NULL is allowed. @since 0.1.0 */
TPA_API void tpa_prune_plan_free(tpa_prune_plan *plan);

/** Number of layers the plan covers. @since 0.1.0 */
TPA_API int32_t tpa_prune_plan_num_layers(const tpa_prune_plan *plan);
/** Heads the plan removes in all. @since 0.1.0 */
TPA_API int32_t tpa_prune_plan_num_pruned(const tpa_prune_plan *plan);
/** Whether the plan removes head @p head (ORIGINAL index) of @p layer. @since 0.1.0 */
TPA_API bool tpa_prune_plan_removes(const tpa_prune_plan *plan, int32_t layer, int32_t head);

/**
 * Write the plan as JSON: {"layers":L,"heads":A,"pruned_heads":{"3":[0,7]}}
 * with ORIGINAL indices (the shape of config.json's pruned_heads). Atomic.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_prune_plan_save(const tpa_prune_plan *plan, const char *path);

/** Read a plan written by tpa_prune_plan_save(). @since 0.1.0 */
TPA_API TPA_NODISCARD tpa_status tpa_prune_plan_load(tpa_prune_plan **out, const char *path);

/**
 * Remove the plan's heads from @p model structurally, in place; heads the
 * model already lacks are skipped, so pruning twice composes. The plan's
 * shape must match the model's (layers, original heads). @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_prune(tpa_model *model, const tpa_prune_plan *plan);

/** Options of tpa_rank_schedule(). @since 0.1.0 */
typedef struct tpa_rank_schedule_params {
  size_t size;    /**< sizeof the struct, set by the init function */
  int32_t top_k;  /**< blocks that get @ref r_high; 0 = ceil(layers / 3) (0) */
  int32_t r_high; /**< rank of the most important blocks (8) */
  int32_t r_low;  /**< rank of the others (4) */
} tpa_rank_schedule_params;

/** Fill @p p with defaults; @p size is sizeof *p. @since 0.1.0 */
TPA_API void tpa_rank_schedule_params_init(tpa_rank_schedule_params *p, size_t size);

/**
 * The importance-oriented rank schedule: the top_k blocks by block
 * importance get r_high on all four adapted modules, the others r_low
 * (ties toward the lower layer). Writes layers * TPA_LORA_MODULES ranks to
 * @p ranks (block-major, tpa_lora_module order), ready for
 * tpa_lora_params.ranks; @p cap is the length of @p ranks. @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_rank_schedule(const tpa_importance *imp,
                                                   const tpa_rank_schedule_params *params,
                                                   int32_t *ranks, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* TPA_PRUNE_H */
