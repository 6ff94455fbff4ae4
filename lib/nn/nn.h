/* SPDX-License-Identifier: Apache-2.0 */
/* The kernel layer: the only part of libtpa that talks to oneDNN (the
 * source files in lib/nn/ are the only ones that include dnnl.h).
 *
 * Callers describe an operation by plain shapes and strides (in elements,
 * f32 only); the layer builds the oneDNN primitive once per distinct
 * description and keeps it in a mutex-protected cache, so a model shared
 * read-only by several threads can run from all of them at once. Each
 * thread (or call) brings its own context: a stream and a scratchpad.
 *
 * Forward operations live in nn_ops.c; the backward ones that training
 * needs (softmax, layer normalization and GELU backward) in
 * nn_backward.c. Gradients of matmuls are matmuls over strided views
 * (dX = dY W, dW = dY^T X), accumulated with the `accumulate` flag. */
#ifndef TPA_NN_NN_H
#define TPA_NN_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpa/common.h"

#define TPA__NN_MAX_DIMS 4

/* A dense or strided f32 view. ndims 0 means "absent". */
typedef struct tpa__nn_tensor {
  int32_t ndims;
  int64_t dims[TPA__NN_MAX_DIMS];
  int64_t strides[TPA__NN_MAX_DIMS];
} tpa__nn_tensor;

/* Eltwise activations usable as a post-op. */
typedef enum tpa__nn_act {
  TPA__NN_ACT_NONE = 0,
  TPA__NN_ACT_GELU_ERF = 1, /* HF "gelu": x * Phi(x) */
  TPA__NN_ACT_TANH = 2,
  TPA__NN_ACT_RELU = 3 /* DistilBERT's head */
} tpa__nn_act;

/* dst = act( scale * (src x wei) + bias [+ dst] + add ). Batch dimensions
 * of src and wei broadcast as in oneDNN (a dimension of 1 is reused). bias
 * and add are optional (ndims 0) and broadcast over dims of size 1; the
 * previous dst is added only with `accumulate`. */
typedef struct tpa__nn_matmul_desc {
  tpa__nn_tensor src, wei, dst;
  tpa__nn_tensor bias;
  tpa__nn_tensor add; /* binary add post-op (residual, attention mask) */
  float scale;        /* output scale; 0 means 1 */
  int32_t act;        /* tpa__nn_act, applied after the add */
  int32_t wei_packed; /* wei is 2-D [k, n] in tpa__nn_pack_weights' layout */
  int32_t accumulate; /* add the previous contents of dst (oneDNN sum post-op),
                         e.g. to accumulate weight gradients over micro-batches */
} tpa__nn_matmul_desc;

/* The primitive cache and the CPU engine it builds on. Thread-safe. */
typedef struct tpa__nn_cache tpa__nn_cache;

/* Per-thread working context: the cache it draws from, a stream and a
 * growable scratchpad. Not thread-safe; create one per call or thread. */
typedef struct tpa__nn_ctx tpa__nn_ctx;

tpa_status tpa__nn_cache_create(tpa__nn_cache **out);
void tpa__nn_cache_free(tpa__nn_cache *cache);
/* Number of primitives held (for tests of the caching). */
size_t tpa__nn_cache_size(tpa__nn_cache *cache);

tpa_status tpa__nn_ctx_create(tpa__nn_ctx **out, tpa__nn_cache *cache);
void tpa__nn_ctx_free(tpa__nn_ctx *ctx);
/* Wait until every operation submitted through @p ctx has finished. */
tpa_status tpa__nn_ctx_wait(tpa__nn_ctx *ctx);

/* Helpers that fill a view (row-major strides for the dense ones). */
tpa__nn_tensor tpa__nn_dense2(int64_t rows, int64_t cols);
tpa__nn_tensor tpa__nn_strided2(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride);
tpa__nn_tensor tpa__nn_dense(int32_t ndims, const int64_t *dims);
tpa__nn_tensor tpa__nn_strided(int32_t ndims, const int64_t *dims, const int64_t *strides);

/* Run a matmul. @p what names the operation in error messages ("layer 3
 * attention scores"). Pointers that the description marks absent are
 * ignored. */
tpa_status tpa__nn_matmul(tpa__nn_ctx *ctx, const tpa__nn_matmul_desc *d, const float *src,
                          const float *wei, const float *bias, const float *add, float *dst,
                          const char *what);

/* Weights packed once into the blocked layout oneDNN's matmul runs
 * fastest on (measured here: up to 1.8x faster than a plain row-major
 * [k, n] whose row pitch is a multiple of 4 KiB). The layout depends only
 * on k and n, so one packed copy serves every number of rows. */
tpa_status tpa__nn_packed_size(tpa__nn_ctx *ctx, int64_t k, int64_t n, size_t *bytes);

/* Pack the [k, n] matrix viewed by @p src (any strides: HF's [out, in]
 * weight is the view {k, n} with strides {1, k}) into @p dst, which holds
 * tpa__nn_packed_size() bytes (64-byte aligned). */
tpa_status tpa__nn_pack_weights(tpa__nn_ctx *ctx, const tpa__nn_tensor *src_view, const float *src,
                                float *dst, const char *what);

/* The inverse: the packed [k, n] matrix at @p packed back into the view
 * @p dst_view of @p dst (exact: a reorder copies the values). */
tpa_status tpa__nn_unpack_weights(tpa__nn_ctx *ctx, const tpa__nn_tensor *dst_view,
                                  const float *packed, float *dst, const char *what);

/* Whether the packed layout of [k, n] weights is plain row-major (as
 * oneDNN picks on AVX2 machines; AVX-512 ones block it): then a packed
 * [in, out] matrix is also HF's [out, in] one read with strides {1, out}. */
tpa_status tpa__nn_packed_is_plain(tpa__nn_ctx *ctx, int64_t k, int64_t n, bool *plain);

/* int8 linear layers (docs/quantization.md). Activations become u8
 * codes around the zero point TPA__NN_QZERO: code = clamp(rint(x /
 * scale), -127, 127) + 128, so every code is in 1..255. Weights are s8
 * codes in -TPA__NN_WMAX..TPA__NN_WMAX: 7 bits, because the AVX2 int8
 * kernels of CPUs without VNNI multiply u8 by s8 into saturating 16-bit
 * pair sums (measured with oneDNN 2.6's gemm:jit: 255 x 127 pairs come
 * out clamped at 32767), and 2 x 255 x 63 = 32130 still fits. Activations
 * keep all 8 bits because they carry BERT's outlier channels; per-row
 * weight scales absorb the lost bit better. The same codes are used on
 * every CPU, so results do not depend on the machine. */
#define TPA__NN_QZERO 128
#define TPA__NN_QMAX 127
#define TPA__NN_WMAX 63

/* Quantize the dense [rows, cols] @p x into @p q. With @p static_scale 0
 * each row gets its own scale, max|x| / TPA__NN_QMAX (1 for a row of
 * zeros), written to @p scale[row]; otherwise every row uses
 * @p static_scale (values beyond its range clamp) and @p scale is filled
 * with it. A value beyond the range takes the end of its sign (NaN by
 * its sign bit; a row holding NaN or infinity gets scale infinity). */
void tpa__nn_quantize_rows(const float *x, int64_t rows, int64_t cols, float static_scale,
                           uint8_t *q, float *scale);

/* dst[m, n] = act(src_scale[m] * wei_scale[n] * sum_k (src[m, k] - 128) *
 * wei[n, k] + bias[n] + add[m, n]): @p src the dense u8 [m, k] codes of
 * tpa__nn_quantize_rows, @p wei the s8 [n, k] rows of HF's Linear weight
 * (codes within +-TPA__NN_WMAX) used in place, dst dense f32 [m, n]; bias and add are optional.
 * Runs as oneDNN's int8 matmul (per-column scales and the zero point applied inside it) followed by
 * one binary pass for the row scales, bias, add and activation (oneDNN 2.6's int8 matmul has no
 * per-row post-op). */
typedef struct tpa__nn_qmatmul_desc {
  int64_t m, k, n;
  int32_t bias; /* bias [n] given */
  int32_t add;  /* add [m, n] given */
  int32_t act;  /* tpa__nn_act */
} tpa__nn_qmatmul_desc;

tpa_status tpa__nn_qmatmul(tpa__nn_ctx *ctx, const tpa__nn_qmatmul_desc *d, const uint8_t *src,
                           const float *src_scale, const int8_t *wei, const float *wei_scale,
                           const float *bias, const float *add, float *dst, const char *what);

/* Softmax over axis @p axis of the dense tensor @p t, src may equal dst. */
tpa_status tpa__nn_softmax(tpa__nn_ctx *ctx, const tpa__nn_tensor *t, int32_t axis,
                           const float *src, float *dst, const char *what);

/* Layer normalization over the last dimension of the dense tensor @p t,
 * with per-channel gain @p gamma and shift @p beta; src may equal dst. */
tpa_status tpa__nn_layer_norm(tpa__nn_ctx *ctx, const tpa__nn_tensor *t, float eps,
                              const float *src, const float *gamma, const float *beta, float *dst,
                              const char *what);

/* Training forward of layer normalization: as tpa__nn_layer_norm, and
 * also the per-row @p mean and @p var (each [rows]) that the backward
 * needs. src may equal dst. */
tpa_status tpa__nn_layer_norm_train(tpa__nn_ctx *ctx, const tpa__nn_tensor *t, float eps,
                                    const float *src, const float *gamma, const float *beta,
                                    float *dst, float *mean, float *var, const char *what);

/* Layer normalization backward: @p diff_src from @p diff_dst, the forward
 * input @p src, its statistics and the forward's gain and shift (oneDNN
 * 2.6 asks for the shift although no gradient depends on it);
 * @p diff_gamma / @p diff_beta ([cols]) are OVERWRITTEN with this call's
 * parameter gradients. diff_src may equal diff_dst. */
tpa_status tpa__nn_layer_norm_backward(tpa__nn_ctx *ctx, const tpa__nn_tensor *t, float eps,
                                       const float *src, const float *mean, const float *var,
                                       const float *gamma, const float *beta, const float *diff_dst,
                                       float *diff_src, float *diff_gamma, float *diff_beta,
                                       const char *what);

/* Softmax backward over axis @p axis from the forward OUTPUT @p dst;
 * diff_src may equal diff_dst. */
tpa_status tpa__nn_softmax_backward(tpa__nn_ctx *ctx, const tpa__nn_tensor *t, int32_t axis,
                                    const float *dst, const float *diff_dst, float *diff_src,
                                    const char *what);

/* Eltwise activation forward (dst = act(src)) and backward (diff_src =
 * act'(src) * diff_dst) on a dense tensor; in place allowed. */
tpa_status tpa__nn_eltwise(tpa__nn_ctx *ctx, const tpa__nn_tensor *t, int32_t act, const float *src,
                           float *dst, const char *what);
tpa_status tpa__nn_eltwise_backward(tpa__nn_ctx *ctx, const tpa__nn_tensor *t, int32_t act,
                                    const float *src, const float *diff_dst, float *diff_src,
                                    const char *what);

#endif
