/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/prune.h
 * @brief Importance-oriented structural head pruning and the rank
 *        schedule that follows block importance (docs/method.md sections 6-7).
 *
 * A plan lists, per layer, the ORIGINAL indices of the heads to remove.
 * Applying it deletes the rows of Q, K, V and the columns of the attention
 * output dense that belong to those heads (HF prune_heads semantics), so
 * the model really gets smaller and faster. Plans compose: heads a model
 * already lacks are skipped.
 *
 * This header holds the pruning stage and the rank schedule, the two
 * steps that turn an importance table into decisions: choosing a plan
 * (tpa_prune_plan_*, in the library's stages layer), applying it to a
 * model (tpa_model_prune(), in the model layer, since it rewrites the
 * model's weights) and choosing LoRA ranks (tpa_rank_schedule(), stages
 * layer; it fills tpa_lora_params::ranks of tpa/lora.h).
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
  /** The number of heads to REMOVE, not to keep: the plan removes this
   *  many of the globally least important scored heads (by normalised
   *  score); -1 = round(0.3056 * layers * heads), the paper's 44 of 144
   *  (-1). `tpa prune --prune-heads N` sets it. Ignored when
   *  @ref use_threshold is set. */
  int32_t num_heads;
  bool use_threshold; /**< remove every scored head whose normalised score is below @ref threshold
                         (false) */
  double threshold;   /**< see @ref use_threshold (0) */
  bool allow_empty_layers; /**< allow removing a layer's last head (false) */
  /** Also prune feed-forward neurons: every layer keeps
   *  floor(ffn_keep * I + 0.5) of its I intermediate neurons, those with
   *  the highest normalised neuron score (equal scores: the lower index
   *  is kept), so every layer keeps the same width. In (0, 1]; 0 = prune
   *  no neuron (0). Needs a table with neuron scores
   *  (tpa_importance_params.ffn). @since 0.6.0 */
  double ffn_keep;
  /** Instead of @ref ffn_keep, rank every neuron of every layer together
   *  by normalised neuron score and keep floor(ffn_global * total + 0.5)
   *  of them (equal scores: the lower (layer, neuron) is kept), each layer
   *  keeping at least its most important neuron; layers then differ in
   *  width. In (0, 1]; 0 = off (0). @since 0.6.0 */
  double ffn_global;
} tpa_prune_params;

/**
 * Fill @p p with defaults; @p size is sizeof *p.
 * @param p the struct to fill (its first @p size bytes; bytes the library
 *        does not know are zeroed); NULL does nothing.
 * @param size sizeof *p as the caller compiled it, in bytes; a value below
 *        sizeof(size_t) does nothing.
 * @since 0.1.0
 */
TPA_API void tpa_prune_params_init(tpa_prune_params *p, size_t size);

/**
 * Choose the heads (and, with ffn_keep, the neurons) to remove from an
 * importance table. Ties break toward the lower (layer, head). Unless allowed, the most important
 * scored head of every layer is kept. Heads without a score (already pruned) are not part of the
 * plan.
 * @param out receives the new plan, owned by the caller and freed with
 *        tpa_prune_plan_free(); set to NULL on failure; must not be NULL.
 * @param imp the importance table (borrowed, only read); not NULL.
 * @param params options (borrowed for the call), or NULL for defaults.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p out or @p imp, a
 *         bad params->size, num_heads outside -1..layers*heads, a
 *         non-finite threshold (with use_threshold), a table of impossible
 *         size, or a scored head whose normalised score is not finite;
 *         with ffn_keep or ffn_global, also for either outside [0, 1],
 *         both set, a table without neuron scores, a layer that would keep
 *         no neuron (ffn_keep), or a neuron score that is not finite;
 *         TPA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_prune_plan_create(tpa_prune_plan **out,
                                                       const tpa_importance *imp,
                                                       const tpa_prune_params *params);

/**
 * Free a plan; NULL is allowed.
 * @param plan the plan (ownership passes to the call), or NULL (nothing
 *        happens).
 * @since 0.1.0
 */
TPA_API void tpa_prune_plan_free(tpa_prune_plan *plan);

/**
 * Number of layers the plan covers.
 * @param plan the plan (borrowed), or NULL.
 * @return the layer count; 0 for NULL.
 * @since 0.1.0
 */
TPA_API int32_t tpa_prune_plan_num_layers(const tpa_prune_plan *plan);
/**
 * Heads the plan removes in all.
 * @param plan the plan (borrowed), or NULL.
 * @return the number of heads removed over all layers; 0 for NULL.
 * @since 0.1.0
 */
TPA_API int32_t tpa_prune_plan_num_pruned(const tpa_prune_plan *plan);
/**
 * Whether the plan removes head @p head (ORIGINAL index) of @p layer.
 * @param plan the plan (borrowed), or NULL.
 * @param layer 0-based layer index.
 * @param head ORIGINAL 0-based head index.
 * @return true if it does; false otherwise, for a NULL @p plan, or out of
 *         range.
 * @since 0.1.0
 */
TPA_API bool tpa_prune_plan_removes(const tpa_prune_plan *plan, int32_t layer, int32_t head);

/**
 * Neurons the plan removes, over all layers.
 * @param plan the plan (borrowed), or NULL.
 * @return the count; 0 for a plan without neurons or NULL.
 * @since 0.6.0
 */
TPA_API int64_t tpa_prune_plan_num_pruned_neurons(const tpa_prune_plan *plan);
/**
 * Intermediate neurons of @p layer the plan was made for (the model's
 * intermediate size as loaded).
 * @param plan the plan (borrowed), or NULL.
 * @param layer 0-based layer index.
 * @return the neuron count; 0 for a plan without neurons, NULL, or
 *         @p layer out of range.
 * @since 0.6.0
 */
TPA_API int32_t tpa_prune_plan_ffn_width(const tpa_prune_plan *plan, int32_t layer);
/**
 * Whether the plan removes neuron @p neuron of @p layer.
 * @param plan the plan (borrowed), or NULL.
 * @param layer 0-based layer index.
 * @param neuron 0-based neuron index in the model as loaded.
 * @return true if it does; false otherwise, for NULL, or out of range.
 * @since 0.6.0
 */
TPA_API bool tpa_prune_plan_removes_neuron(const tpa_prune_plan *plan, int32_t layer,
                                           int32_t neuron);

/**
 * Write the plan as JSON: {"layers":L,"heads":A,"pruned_heads":{"3":[0,7]}}
 * with ORIGINAL indices (the shape of config.json's pruned_heads); a plan
 * with neurons adds "ffn_widths":[I,...] (neurons per layer as planned)
 * and "pruned_neurons":{"0":[5,17]} (layers that lose neurons). Atomic.
 * @param plan the plan (borrowed, only read); not NULL.
 * @param path output file, NUL-terminated (borrowed for the call); not
 *        NULL or empty. Missing parent directories are created (since
 *        0.7.0, as tpa_model_save does); on failure an existing file is
 *        left as it was.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p plan or a NULL or
 *         empty @p path; TPA_ERR_IO if a parent cannot be created
 *         (or is not a directory) or writing fails; TPA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_prune_plan_save(const tpa_prune_plan *plan, const char *path);

/**
 * Read a plan written by tpa_prune_plan_save().
 * @param out receives the new plan, owned by the caller and freed with
 *        tpa_prune_plan_free(); set to NULL on failure; must not be NULL.
 * @param path the JSON file, NUL-terminated (borrowed for the call); not
 *        NULL.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL argument;
 *         TPA_ERR_NOT_FOUND if the file does not exist; TPA_ERR_IO if it
 *         cannot be read; TPA_ERR_JSON if it is not valid JSON (duplicate
 *         keys included); TPA_ERR_CONFIG if it is JSON but not a valid plan
 *         (missing key, layer or head out of range, a head listed twice);
 *         TPA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_prune_plan_load(tpa_prune_plan **out, const char *path);

/**
 * Remove the plan's heads from @p model structurally, in place; heads the
 * model already lacks are skipped, so pruning twice composes. The plan's
 * shape must match the model's (layers, original heads). A plan with
 * neurons also removes them (rows of the intermediate dense and its bias,
 * columns of the output dense); its neuron counts must be each layer's
 * intermediate size as loaded, and every layer must keep a neuron. The
 * model's intermediate size becomes the widest layer's; layers may differ
 * in width (tpa_model_layer_ffn_width()).
 * @param model the model to modify in place (exclusively: no other thread
 *        may use it during the call); not NULL. On failure it is left
 *        unchanged.
 * @param plan the plan (borrowed, only read); not NULL.
 * @return TPA_OK (also when the model already lacks every head of the
 *         plan); TPA_ERR_INVALID_ARGUMENT for a NULL argument, a plan of
 *         another shape, or one that removes every neuron of a layer;
 *         TPA_ERR_NO_MEMORY; TPA_ERR_BACKEND.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_prune(tpa_model *model, const tpa_prune_plan *plan);

/** Options of tpa_rank_schedule(). @since 0.1.0 */
typedef struct tpa_rank_schedule_params {
  size_t size;    /**< sizeof the struct, set by the init function */
  int32_t top_k;  /**< blocks that get @ref r_high; 0 = ceil(layers / 3) (0) */
  int32_t r_high; /**< rank of the most important blocks (8) */
  int32_t r_low;  /**< rank of the others (4) */
} tpa_rank_schedule_params;

/**
 * Fill @p p with defaults; @p size is sizeof *p.
 * @param p the struct to fill (its first @p size bytes; bytes the library
 *        does not know are zeroed); NULL does nothing.
 * @param size sizeof *p as the caller compiled it, in bytes; a value below
 *        sizeof(size_t) does nothing.
 * @since 0.1.0
 */
TPA_API void tpa_rank_schedule_params_init(tpa_rank_schedule_params *p, size_t size);

/**
 * The importance-oriented rank schedule: the top_k blocks by block
 * importance get r_high on all four adapted modules, the others r_low
 * (ties toward the lower layer). Writes layers * TPA_LORA_MODULES ranks to
 * @p ranks (block-major, tpa_lora_module order), ready for
 * tpa_lora_params.ranks; @p cap is the length of @p ranks.
 * @param imp the importance table (borrowed, only read); not NULL.
 * @param params options (borrowed for the call), or NULL for defaults.
 * @param ranks receives layers * TPA_LORA_MODULES ranks; not NULL. Nothing
 *        is written on failure.
 * @param cap length of @p ranks, in values.
 * @return TPA_OK; TPA_ERR_BUFFER_TOO_SMALL if @p cap is below
 *         layers * TPA_LORA_MODULES; TPA_ERR_INVALID_ARGUMENT for a NULL
 *         @p imp or @p ranks, a bad params->size, a table without layers,
 *         top_k outside 0..layers, r_high or r_low outside 0..1024, or a
 *         block importance that is not finite; TPA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_rank_schedule(const tpa_importance *imp,
                                                   const tpa_rank_schedule_params *params,
                                                   int32_t *ranks, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* TPA_PRUNE_H */
