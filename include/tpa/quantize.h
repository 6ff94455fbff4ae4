/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/quantize.h
 * @brief int8 models: quantize a model's weights and run it with int8
 *        matrix products (docs/quantization.md).
 *
 * tpa_model_quantize() turns an f32 model (pruned and merged, or not)
 * into an int8 one in place: every block Linear (query, key, value,
 * attention output, intermediate and output dense) gets symmetric int8
 * weights with one scale per output row, and the word embeddings one
 * scale per row. Biases, LayerNorms, the position and token type tables,
 * the classification head, softmax and GELU stay f32. tpa_model_save()
 * then writes I8 tensors beside F32 "<name>_scale" tensors and a
 * "quantization_config" in config.json, and tpa_model_load() reads such
 * a directory back; tpa_model_forward() and tpa_model_predict() run it
 * like any other model.
 *
 * Activations are quantized as they enter each Linear: per row (token)
 * from its largest magnitude by default, or with one scale per Linear
 * measured on calibration data. A quantized model cannot be pruned,
 * trained, merged or quantized again: do those on the f32 model first.
 */
#ifndef TPA_QUANTIZE_H
#define TPA_QUANTIZE_H

#include "tpa/common.h"
#include "tpa/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How a quantized model's activations get their scales. @since 0.7.0 */
typedef enum tpa_quant_mode {
  TPA_QUANT_NONE = 0,    /**< not quantized: an f32 model */
  TPA_QUANT_DYNAMIC = 1, /**< per row, from the row's largest magnitude, at run time */
  TPA_QUANT_STATIC = 2   /**< one scale per Linear input, measured on calibration data */
} tpa_quant_mode;

/** Options of tpa_model_quantize(). @since 0.7.0 */
typedef struct tpa_quantize_params {
  size_t size;         /**< sizeof the struct, set by the init function */
  tpa_quant_mode mode; /**< TPA_QUANT_DYNAMIC (default) or TPA_QUANT_STATIC */
  /** Examples whose f32 activations set the static scales (borrowed for
   *  the call; required for TPA_QUANT_STATIC, ignored otherwise). Their
   *  labels are not used. */
  const tpa_dataset *calibration;
  /** Calibration examples used: the first this many (0 = all). */
  size_t max_examples;
  /** Truncation length of calibration examples; 0 = min(128,
   *  max_position_embeddings). */
  int32_t max_seq_length;
  tpa_log_fn log; /**< optional, receives a summary line */
  void *user;     /**< passed to @ref log */
} tpa_quantize_params;

/**
 * Fill @p p with defaults; @p size is sizeof *p.
 * @param p the struct to fill; NULL does nothing.
 * @param size sizeof *p as the caller compiled it; below sizeof(size_t)
 *        does nothing.
 * @since 0.7.0
 */
TPA_API void tpa_quantize_params_init(tpa_quantize_params *p, size_t size);

/**
 * Quantize @p model to int8 in place (see the file comment).
 * @param model an f32 model, needed exclusively; not NULL.
 * @param params options, or NULL for dynamic activation scales.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p model, a bad
 *         params->size or mode, a model that is already quantized,
 *         TPA_QUANT_STATIC without calibration data or with an empty
 *         one, or calibration data of another task; TPA_ERR_NO_MEMORY;
 *         TPA_ERR_BACKEND. On failure the model is unchanged.
 * @since 0.7.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_model_quantize(tpa_model *model,
                                                    const tpa_quantize_params *params);

/**
 * How @p model is quantized.
 * @param model the model; NULL gives TPA_QUANT_NONE.
 * @return TPA_QUANT_NONE for an f32 model, else its activation mode.
 * @since 0.7.0
 */
TPA_API tpa_quant_mode tpa_model_quant_mode(const tpa_model *model);

#ifdef __cplusplus
}
#endif

#endif
