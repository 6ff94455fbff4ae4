/* SPDX-License-Identifier: Apache-2.0 */
/* The operations training adds to the forward ones: layer normalization
 * in training mode (it returns the statistics) and backward, softmax
 * backward, and eltwise (GELU, tanh) forward and backward. Like nn_ops.c,
 * this file keys and runs them; nn_pd.h builds them. */
#include <string.h>

#include "core/error.h"
#include "nn/nn_internal.h"

/* Kinds continue nn_ops.c's numbering (keys never collide across files
 * because the kind is the first field of every key). */
enum {
  KIND_LN_TRAIN = 101,
  KIND_LN_BACKWARD = 102,
  KIND_SOFTMAX_BACKWARD = 103,
  KIND_ELTWISE = 104,
  KIND_ELTWISE_BACKWARD = 105
};

typedef struct op_key {
  uint32_t kind;
  int32_t axis; /* softmax axis, or the tpa__nn_act of an eltwise */
  float eps;
  tpa__nn_tensor t;
} op_key;

static op_key make_key(uint32_t kind, int32_t axis, float eps, const tpa__nn_tensor *t) {
  op_key k;
  memset(&k, 0, sizeof k);
  k.kind = kind;
  k.axis = axis;
  k.eps = eps;
  tpa__nn_canon(&k.t, t);
  return k;
}

/* ---------------------------------------------------------- layer norm */

static dnnl_status_t build_ln_train(dnnl_engine_t engine, const void *p,
                                    dnnl_primitive_desc_t *pd) {
  const op_key *k = p;
  return tpa__pd_layer_norm(engine, &k->t, k->eps, true, pd);
}

static dnnl_status_t build_ln_backward(dnnl_engine_t engine, const void *p,
                                       dnnl_primitive_desc_t *pd) {
  const op_key *k = p;
  return tpa__pd_layer_norm_backward(engine, &k->t, k->eps, pd);
}

tpa_status tpa__nn_layer_norm_train(tpa__nn_ctx *ctx, const tpa__nn_tensor *t, float eps,
                                    const float *src, const float *gamma, const float *beta,
                                    float *dst, float *mean, float *var, const char *what) {
  const op_key key = make_key(KIND_LN_TRAIN, 0, eps, t);
  tpa__nn_entry *e;
  tpa_status s = tpa__nn_get(ctx, "layer normalization (training)", &key, sizeof key,
                             build_ln_train, &key, &e, what);
  if (s != TPA_OK)
    return s;
  const tpa__nn_arg args[6] = {{DNNL_ARG_SRC, src},     {DNNL_ARG_DST, dst},
                               {DNNL_ARG_SCALE, gamma}, {DNNL_ARG_SHIFT, beta},
                               {DNNL_ARG_MEAN, mean},   {DNNL_ARG_VARIANCE, var}};
  return tpa__nn_run(ctx, e, args, 6, "layer normalization (training)", what);
}

tpa_status tpa__nn_layer_norm_backward(tpa__nn_ctx *ctx, const tpa__nn_tensor *t, float eps,
                                       const float *src, const float *mean, const float *var,
                                       const float *gamma, const float *beta, const float *diff_dst,
                                       float *diff_src, float *diff_gamma, float *diff_beta,
                                       const char *what) {
  const op_key key = make_key(KIND_LN_BACKWARD, 0, eps, t);
  tpa__nn_entry *e;
  tpa_status s = tpa__nn_get(ctx, "layer normalization backward", &key, sizeof key,
                             build_ln_backward, &key, &e, what);
  if (s != TPA_OK)
    return s;
  /* oneDNN 2.6 reads the shift as an input of the backward too (it does
   * not change any gradient, but the primitive asks for it); 3.x does not,
   * and tpa__nn_run leaves out what a primitive does not take. */
  const tpa__nn_arg args[9] = {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_MEAN, mean},
                               {DNNL_ARG_VARIANCE, var},
                               {DNNL_ARG_SCALE, gamma},
                               {DNNL_ARG_SHIFT, beta},
                               {DNNL_ARG_DIFF_DST, diff_dst},
                               {DNNL_ARG_DIFF_SRC, diff_src},
                               {DNNL_ARG_DIFF_SCALE, diff_gamma},
                               {DNNL_ARG_DIFF_SHIFT, diff_beta}};
  return tpa__nn_run(ctx, e, args, 9, "layer normalization backward", what);
}

/* ------------------------------------------------------------- softmax */

static dnnl_status_t build_softmax_backward(dnnl_engine_t engine, const void *p,
                                            dnnl_primitive_desc_t *pd) {
  const op_key *k = p;
  return tpa__pd_softmax_backward(engine, &k->t, k->axis, pd);
}

tpa_status tpa__nn_softmax_backward(tpa__nn_ctx *ctx, const tpa__nn_tensor *t, int32_t axis,
                                    const float *dst, const float *diff_dst, float *diff_src,
                                    const char *what) {
  const op_key key = make_key(KIND_SOFTMAX_BACKWARD, axis, 0.0f, t);
  tpa__nn_entry *e;
  tpa_status s = tpa__nn_get(ctx, "softmax backward", &key, sizeof key, build_softmax_backward,
                             &key, &e, what);
  if (s != TPA_OK)
    return s;
  const tpa__nn_arg args[3] = {
      {DNNL_ARG_DST, dst}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_src}};
  return tpa__nn_run(ctx, e, args, 3, "softmax backward", what);
}

/* ------------------------------------------------------------- eltwise */

static dnnl_status_t build_eltwise(dnnl_engine_t engine, const void *p, dnnl_primitive_desc_t *pd) {
  const op_key *k = p;
  return tpa__pd_eltwise(engine, &k->t, k->axis, pd);
}

static dnnl_status_t build_eltwise_backward(dnnl_engine_t engine, const void *p,
                                            dnnl_primitive_desc_t *pd) {
  const op_key *k = p;
  return tpa__pd_eltwise_backward(engine, &k->t, k->axis, pd);
}

static tpa_status check_act(int32_t act, const char *what) {
  if (act != TPA__NN_ACT_GELU_ERF && act != TPA__NN_ACT_TANH && act != TPA__NN_ACT_RELU)
    return tpa__error(TPA_ERR_INTERNAL, "oneDNN eltwise (%s): unknown activation %d",
                      what ? what : "?", act);
  return TPA_OK;
}

tpa_status tpa__nn_eltwise(tpa__nn_ctx *ctx, const tpa__nn_tensor *t, int32_t act, const float *src,
                           float *dst, const char *what) {
  tpa_status s = check_act(act, what);
  if (s != TPA_OK)
    return s;
  const op_key key = make_key(KIND_ELTWISE, act, 0.0f, t);
  tpa__nn_entry *e;
  s = tpa__nn_get(ctx, "eltwise", &key, sizeof key, build_eltwise, &key, &e, what);
  if (s != TPA_OK)
    return s;
  const tpa__nn_arg args[2] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  return tpa__nn_run(ctx, e, args, 2, "eltwise", what);
}

tpa_status tpa__nn_eltwise_backward(tpa__nn_ctx *ctx, const tpa__nn_tensor *t, int32_t act,
                                    const float *src, const float *diff_dst, float *diff_src,
                                    const char *what) {
  tpa_status s = check_act(act, what);
  if (s != TPA_OK)
    return s;
  const op_key key = make_key(KIND_ELTWISE_BACKWARD, act, 0.0f, t);
  tpa__nn_entry *e;
  s = tpa__nn_get(ctx, "eltwise backward", &key, sizeof key, build_eltwise_backward, &key, &e,
                  what);
  if (s != TPA_OK)
    return s;
  const tpa__nn_arg args[3] = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_src}};
  return tpa__nn_run(ctx, e, args, 3, "eltwise backward", what);
}
