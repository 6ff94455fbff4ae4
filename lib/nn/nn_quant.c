/* SPDX-License-Identifier: Apache-2.0 */
/* int8 linear layers: per-row activation quantization (plain C) and the
 * int8 matmul followed by the row-scale pass (oneDNN, through nn_pd.h).
 * The scheme is described in nn.h and docs/quantization.md. */
#include <string.h>

#include "core/error.h"
#include "nn/nn_internal.h"

/* The loops below run on every Linear input of every pass, so they are
 * written for the auto-vectorizer (measured: the first, plainly written
 * version took 11% of an int8 BERT-base forward, scalar): float compares
 * with NaN in play keep GCC from vectorizing, so magnitudes are compared
 * as the integers of their bit patterns (for non-negative floats the
 * order is the same) and rounding is the add-and-subtract of 1.5 * 2^23,
 * which rounds to nearest, ties to even, as rint does. */
static inline int32_t float_bits(float f) {
  int32_t b;
  memcpy(&b, &f, sizeof b);
  return b;
}

static inline float bits_float(int32_t b) {
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

#define ROUND_MAGIC 0x1.8p23f
#define ROUND_MAGIC_BITS 0x4B400000 /* float_bits(ROUND_MAGIC) */
#define ABS_MASK 0x7fffffff
#define INF_BITS 0x7f800000

/* max |x| over a row; NaN counts as infinity. */
static float row_amax(const float *x, int64_t cols) {
  int32_t m = 0;
  for (int64_t k = 0; k < cols; k++) {
    const int32_t a = float_bits(x[k]) & ABS_MASK;
    m = a > m ? a : m;
  }
  return bits_float(m > INF_BITS ? INF_BITS : m);
}

/* code = clamp(rint(x * inv), -QMAX, QMAX) + QZERO; a value beyond the
 * range (NaN included) takes the end of its sign. */
static void quantize_row(const float *x, int64_t cols, float inv, uint8_t *q) {
  const int32_t lim = float_bits((float)TPA__NN_QMAX);
  for (int64_t k = 0; k < cols; k++) {
    int32_t b = float_bits(x[k] * inv);
    b = (b & ABS_MASK) > lim ? (b & (int32_t)0x80000000) | lim : b;
    const int32_t r = float_bits(bits_float(b) + ROUND_MAGIC) - ROUND_MAGIC_BITS;
    q[k] = (uint8_t)(r + TPA__NN_QZERO);
  }
}

void tpa__nn_quantize_rows(const float *x, int64_t rows, int64_t cols, float static_scale,
                           uint8_t *q, float *scale) {
#pragma omp parallel for schedule(static) if (rows * cols > 65536)
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    float s = static_scale;
    if (s == 0.0f) {
      const float amax = row_amax(xr, cols);
      s = amax > 0.0f ? amax / (float)TPA__NN_QMAX : 1.0f;
    }
    scale[r] = s;
    quantize_row(xr, cols, 1.0f / s, q + r * cols);
  }
}

enum { KIND_QMATMUL = 101, KIND_ROW_SCALE = 102 };

typedef struct qkey {
  uint32_t kind;
  int32_t bias, add, act;
  int64_t m, k, n;
} qkey;

static dnnl_status_t build_qmatmul(dnnl_engine_t engine, const void *p, dnnl_primitive_desc_t *pd) {
  const qkey *k = p;
  return tpa__pd_qmatmul(engine, k->m, k->k, k->n, pd);
}

static dnnl_status_t build_row_scale(dnnl_engine_t engine, const void *p,
                                     dnnl_primitive_desc_t *pd) {
  const qkey *k = p;
  return tpa__pd_row_scale(engine, k->m, k->n, k->bias != 0, k->add != 0, k->act, pd);
}

tpa_status tpa__nn_qmatmul(tpa__nn_ctx *ctx, const tpa__nn_qmatmul_desc *d, const uint8_t *src,
                           const float *src_scale, const int8_t *wei, const float *wei_scale,
                           const float *bias, const float *add, float *dst, const char *what) {
  qkey key;
  memset(&key, 0, sizeof key);
  key.kind = KIND_QMATMUL;
  key.m = d->m;
  key.k = d->k;
  key.n = d->n;
  tpa__nn_entry *e;
  tpa_status s = tpa__nn_get(ctx, "int8 matmul", &key, sizeof key, build_qmatmul, &key, &e, what);
  if (s != TPA_OK)
    return s;
  static const int32_t zero = TPA__NN_QZERO;
  const tpa__nn_arg args[3] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}};
  const tpa__nn_vec_arg vecs[2] = {{tpa__pd_qmatmul_scales_arg(), wei_scale, d->n, false},
                                   {tpa__pd_qmatmul_zero_arg(), &zero, 1, true}};
  s = tpa__nn_run_vec(ctx, e, args, 3, vecs, tpa__pd_qmatmul_zero_arg() ? 2 : 1, "int8 matmul",
                      what);
  if (s != TPA_OK)
    return s;

  memset(&key, 0, sizeof key);
  key.kind = KIND_ROW_SCALE;
  key.m = d->m;
  key.n = d->n;
  key.bias = d->bias ? 1 : 0;
  key.add = d->add ? 1 : 0;
  key.act = d->act;
  s = tpa__nn_get(ctx, "row scale", &key, sizeof key, build_row_scale, &key, &e, what);
  if (s != TPA_OK)
    return s;
  tpa__nn_arg rargs[5] = {{DNNL_ARG_SRC_0, dst}, {DNNL_ARG_SRC_1, src_scale}, {DNNL_ARG_DST, dst}};
  int n = 3;
  int post = 0;
  if (d->bias)
    rargs[n++] = (tpa__nn_arg){DNNL_ARG_ATTR_MULTIPLE_POST_OP(post++) | DNNL_ARG_SRC_1, bias};
  if (d->add)
    rargs[n++] = (tpa__nn_arg){DNNL_ARG_ATTR_MULTIPLE_POST_OP(post++) | DNNL_ARG_SRC_1, add};
  return tpa__nn_run(ctx, e, rargs, n, "row scale", what);
}
