/* SPDX-License-Identifier: Apache-2.0 */
/* int8 linear layers: per-row activation quantization (plain C) and the
 * int8 matmul followed by the row-scale pass (oneDNN, through nn_pd.h).
 * The scheme is described in nn.h and docs/quantization.md. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "nn/nn_internal.h"

/* Round to nearest, ties to even, for |v| < 2^22 (rint in the default
 * rounding mode), written so the compiler can vectorize it. */
static inline float round_even(float v) {
  return (v + 0x1.8p23f) - 0x1.8p23f;
}

static void quantize_row(const float *x, int64_t cols, float inv, uint8_t *q) {
  const float lim = (float)TPA__NN_QMAX;
  for (int64_t k = 0; k < cols; k++) {
    float v = x[k] * inv;
    v = v >= -lim ? v : -lim; /* also NaN */
    v = v <= lim ? v : lim;
    q[k] = (uint8_t)(int32_t)(round_even(v) + (float)TPA__NN_QZERO);
  }
}

void tpa__nn_quantize_rows(const float *x, int64_t rows, int64_t cols, float static_scale,
                           uint8_t *q, float *scale) {
#pragma omp parallel for schedule(static) if (rows * cols > 65536)
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    float s = static_scale;
    if (s == 0.0f) {
      float amax = 0.0f;
      for (int64_t k = 0; k < cols; k++) {
        float a = fabsf(xr[k]);
        amax = a > amax ? a : amax;
      }
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
