/* SPDX-License-Identifier: Apache-2.0 */
/* The forward operations: matmul with bias and post-ops, softmax, layer
 * normalization. Each turns its description into a cache key and, on a
 * miss, into a primitive descriptor through nn_pd.h (the part that differs
 * between oneDNN versions). */
#include <string.h>

#include "core/error.h"
#include "nn/nn_internal.h"

/* Cache keys: the operation kind, then its description. The structs are
 * zeroed before being filled so that padding compares equal. */
enum { KIND_MATMUL = 1, KIND_SOFTMAX = 2, KIND_LAYER_NORM = 3 };

typedef struct matmul_key {
  uint32_t kind;
  tpa__nn_matmul_desc d;
} matmul_key;

typedef struct norm_key {
  uint32_t kind;
  int32_t axis;
  float eps;
  tpa__nn_tensor t;
} norm_key;

void tpa__nn_canon(tpa__nn_tensor *dst, const tpa__nn_tensor *src) {
  memset(dst, 0, sizeof *dst);
  int n = src->ndims < 0 ? 0 : src->ndims > TPA__NN_MAX_DIMS ? TPA__NN_MAX_DIMS : src->ndims;
  dst->ndims = n;
  for (int i = 0; i < n; i++) {
    dst->dims[i] = src->dims[i];
    dst->strides[i] = src->strides[i];
  }
}

tpa__nn_tensor tpa__nn_strided(int32_t ndims, const int64_t *dims, const int64_t *strides) {
  tpa__nn_tensor t;
  memset(&t, 0, sizeof t);
  t.ndims = ndims;
  for (int i = 0; i < ndims; i++) {
    t.dims[i] = dims[i];
    t.strides[i] = strides[i];
  }
  return t;
}

tpa__nn_tensor tpa__nn_dense(int32_t ndims, const int64_t *dims) {
  int64_t strides[TPA__NN_MAX_DIMS];
  int64_t s = 1;
  for (int i = ndims - 1; i >= 0; i--) {
    strides[i] = s;
    s *= dims[i];
  }
  return tpa__nn_strided(ndims, dims, strides);
}

tpa__nn_tensor tpa__nn_dense2(int64_t rows, int64_t cols) {
  return tpa__nn_strided2(rows, cols, cols, 1);
}

tpa__nn_tensor tpa__nn_strided2(int64_t rows, int64_t cols, int64_t row_stride,
                                int64_t col_stride) {
  const int64_t dims[2] = {rows, cols}, strides[2] = {row_stride, col_stride};
  return tpa__nn_strided(2, dims, strides);
}

static dnnl_status_t build_matmul(dnnl_engine_t engine, const void *p, dnnl_primitive_desc_t *pd) {
  return tpa__pd_matmul(engine, p, pd);
}

tpa_status tpa__nn_matmul(tpa__nn_ctx *ctx, const tpa__nn_matmul_desc *d, const float *src,
                          const float *wei, const float *bias, const float *add, float *dst,
                          const char *what) {
  matmul_key key;
  memset(&key, 0, sizeof key);
  key.kind = KIND_MATMUL;
  tpa__nn_canon(&key.d.src, &d->src);
  tpa__nn_canon(&key.d.wei, &d->wei);
  tpa__nn_canon(&key.d.dst, &d->dst);
  tpa__nn_canon(&key.d.bias, &d->bias);
  tpa__nn_canon(&key.d.add, &d->add);
  key.d.scale = d->scale == 1.0f ? 0.0f : d->scale;
  key.d.act = d->act;
  key.d.wei_packed = d->wei_packed ? 1 : 0;
  key.d.accumulate = d->accumulate ? 1 : 0;
  tpa__nn_entry *e;
  tpa_status s = tpa__nn_get(ctx, "matmul", &key, sizeof key, build_matmul, &key.d, &e, what);
  if (s != TPA_OK)
    return s;
  tpa__nn_arg args[6] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}};
  int n = 3;
  const int scale_arg = tpa__pd_matmul_scale_arg();
  if (scale_arg && key.d.scale != 0.0f)
    args[n++] = (tpa__nn_arg){scale_arg, &key.d.scale};
  if (d->bias.ndims)
    args[n++] = (tpa__nn_arg){DNNL_ARG_BIAS, bias};
  if (d->add.ndims)
    /* The binary add follows the sum post-op when there is one. */
    args[n++] =
        (tpa__nn_arg){DNNL_ARG_ATTR_MULTIPLE_POST_OP(d->accumulate ? 1 : 0) | DNNL_ARG_SRC_1, add};
  return tpa__nn_run(ctx, e, args, n, "matmul", what);
}

static dnnl_status_t build_softmax(dnnl_engine_t engine, const void *p, dnnl_primitive_desc_t *pd) {
  const norm_key *k = p;
  return tpa__pd_softmax(engine, &k->t, k->axis, pd);
}

tpa_status tpa__nn_softmax(tpa__nn_ctx *ctx, const tpa__nn_tensor *t, int32_t axis,
                           const float *src, float *dst, const char *what) {
  norm_key key;
  memset(&key, 0, sizeof key);
  key.kind = KIND_SOFTMAX;
  key.axis = axis;
  tpa__nn_canon(&key.t, t);
  tpa__nn_entry *e;
  tpa_status s = tpa__nn_get(ctx, "softmax", &key, sizeof key, build_softmax, &key, &e, what);
  if (s != TPA_OK)
    return s;
  const tpa__nn_arg args[2] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  return tpa__nn_run(ctx, e, args, 2, "softmax", what);
}

static dnnl_status_t build_layer_norm(dnnl_engine_t engine, const void *p,
                                      dnnl_primitive_desc_t *pd) {
  const norm_key *k = p;
  return tpa__pd_layer_norm(engine, &k->t, k->eps, false, pd);
}

tpa_status tpa__nn_layer_norm(tpa__nn_ctx *ctx, const tpa__nn_tensor *t, float eps,
                              const float *src, const float *gamma, const float *beta, float *dst,
                              const char *what) {
  norm_key key;
  memset(&key, 0, sizeof key);
  key.kind = KIND_LAYER_NORM;
  key.eps = eps;
  tpa__nn_canon(&key.t, t);
  tpa__nn_entry *e;
  tpa_status s =
      tpa__nn_get(ctx, "layer normalization", &key, sizeof key, build_layer_norm, &key, &e, what);
  if (s != TPA_OK)
    return s;
  const tpa__nn_arg args[4] = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCALE, gamma}, {DNNL_ARG_SHIFT, beta}};
  return tpa__nn_run(ctx, e, args, 4, "layer normalization", what);
}
