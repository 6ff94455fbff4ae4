/* SPDX-License-Identifier: Apache-2.0 */
/* Primitive descriptors for oneDNN 2.x (Debian 12 ships 2.6): operation
 * descriptors (dnnl_*_desc_init) handed to dnnl_primitive_desc_create,
 * memory descriptors as plain structs, the matmul's output scale as an
 * attribute value. A backward primitive descriptor is built with a hint:
 * the forward-training primitive descriptor it differentiates, which is
 * created, used and dropped here (the backward keeps what it needs). */
#include "nn/nn_pd.h"

#if DNNL_VERSION_MAJOR != 2
#error "nn_pd_v2.c is the oneDNN 2.x build; meson picks nn_pd_v3.c for 3.x"
#endif

static dnnl_status_t md_of(dnnl_memory_desc_t *md, const tpa__nn_tensor *t) {
  dnnl_dims_t dims, strides;
  tpa__pd_dims(t, dims, strides);
  return dnnl_memory_desc_init_by_strides(md, t->ndims, dims, dnnl_f32, strides);
}

/* The primitive descriptor of @p desc with a user-managed scratchpad;
 * @p hint is the forward of a backward, or NULL. */
static dnnl_status_t scratch_pd(dnnl_engine_t engine, const_dnnl_op_desc_t desc,
                                const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd) {
  dnnl_primitive_attr_t attr = NULL;
  dnnl_status_t st = tpa__pd_user_scratch_attr(&attr);
  if (st == dnnl_success)
    st = dnnl_primitive_desc_create(pd, desc, attr, engine, hint);
  if (attr)
    dnnl_primitive_attr_destroy(attr);
  return st;
}

/* A backward primitive descriptor: @p bwd built with the hint of its
 * forward-training descriptor @p fwd, which is dropped again. */
static dnnl_status_t backward_pd(dnnl_engine_t engine, const_dnnl_op_desc_t fwd,
                                 const_dnnl_op_desc_t bwd, dnnl_primitive_desc_t *pd) {
  dnnl_primitive_desc_t hint = NULL;
  dnnl_status_t st = dnnl_primitive_desc_create(&hint, fwd, NULL, engine, NULL);
  if (st == dnnl_success)
    st = scratch_pd(engine, bwd, hint, pd);
  if (hint)
    dnnl_primitive_desc_destroy(hint);
  return st;
}

/* The activation @p act (a tpa__nn_act) as an eltwise post-op, if any. */
static dnnl_status_t append_act(dnnl_post_ops_t po, int32_t act) {
  if (act == TPA__NN_ACT_GELU_ERF)
    return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_gelu_erf, 0.0f, 0.0f);
  if (act == TPA__NN_ACT_TANH)
    return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_tanh, 0.0f, 0.0f);
  if (act == TPA__NN_ACT_RELU)
    return dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
  return dnnl_success;
}

/* ----------------------------------------------------------------- matmul */

dnnl_status_t tpa__pd_packed_matmul(dnnl_engine_t engine, int64_t k, int64_t n,
                                    dnnl_primitive_desc_t *pd) {
  dnnl_status_t status = dnnl_success;
  dnnl_memory_desc_t src, wei, dst;
  dnnl_matmul_desc_t mm;
  TPA__PD_TRY(dnnl_memory_desc_init_by_tag(&src, 2, (dnnl_dims_t){TPA__NN_PACK_QUERY_ROWS, k},
                                           dnnl_f32, dnnl_ab));
  TPA__PD_TRY(
      dnnl_memory_desc_init_by_tag(&wei, 2, (dnnl_dims_t){k, n}, dnnl_f32, dnnl_format_tag_any));
  TPA__PD_TRY(dnnl_memory_desc_init_by_tag(&dst, 2, (dnnl_dims_t){TPA__NN_PACK_QUERY_ROWS, n},
                                           dnnl_f32, dnnl_ab));
  TPA__PD_TRY(dnnl_matmul_desc_init(&mm, &src, &wei, NULL, &dst));
  TPA__PD_TRY(dnnl_primitive_desc_create(pd, &mm, NULL, engine, NULL));
out:
  return status;
}

/* The packed layout of [k, n] weights, copied out of the query. */
static dnnl_status_t packed_md(dnnl_engine_t engine, int64_t k, int64_t n, dnnl_memory_desc_t *md) {
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t st = tpa__pd_packed_matmul(engine, k, n, &pd);
  if (st == dnnl_success) {
    const dnnl_memory_desc_t *w = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    if (w)
      *md = *w;
    else
      st = dnnl_runtime_error;
  }
  if (pd)
    dnnl_primitive_desc_destroy(pd);
  return st;
}

int tpa__pd_matmul_scale_arg(void) {
  return 0;
}

dnnl_status_t tpa__pd_scale_memory(dnnl_engine_t engine, const float *scale, dnnl_memory_t *mem) {
  (void)engine, (void)scale, (void)mem;
  return dnnl_unimplemented; /* never asked: 2.x has no scale argument */
}

dnnl_status_t tpa__pd_matmul(dnnl_engine_t engine, const tpa__nn_matmul_desc *d,
                             dnnl_primitive_desc_t *pd) {
  dnnl_status_t status = dnnl_success;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  dnnl_memory_desc_t src, wei, dst, bias, add;
  const bool scaled = d->scale != 0.0f && d->scale != 1.0f;
  if (scaled && d->bias.ndims)
    return dnnl_invalid_arguments;
  TPA__PD_TRY(md_of(&src, &d->src));
  if (d->wei_packed)
    TPA__PD_TRY(packed_md(engine, d->wei.dims[0], d->wei.dims[1], &wei));
  else
    TPA__PD_TRY(md_of(&wei, &d->wei));
  TPA__PD_TRY(md_of(&dst, &d->dst));
  if (d->bias.ndims)
    TPA__PD_TRY(md_of(&bias, &d->bias));
  dnnl_matmul_desc_t md;
  TPA__PD_TRY(dnnl_matmul_desc_init(&md, &src, &wei, d->bias.ndims ? &bias : NULL, &dst));
  TPA__PD_TRY(tpa__pd_user_scratch_attr(&attr));
  if (scaled)
    TPA__PD_TRY(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &d->scale));
  TPA__PD_TRY(dnnl_post_ops_create(&po));
  if (d->accumulate)
    TPA__PD_TRY(dnnl_post_ops_append_sum(po, 1.0f));
  if (d->add.ndims) {
    TPA__PD_TRY(md_of(&add, &d->add));
    TPA__PD_TRY(dnnl_post_ops_append_binary(po, dnnl_binary_add, &add));
  }
  TPA__PD_TRY(append_act(po, d->act));
  TPA__PD_TRY(dnnl_primitive_attr_set_post_ops(attr, po));
  TPA__PD_TRY(dnnl_primitive_desc_create(pd, &md, attr, engine, NULL));
out:
  if (po)
    dnnl_post_ops_destroy(po);
  if (attr)
    dnnl_primitive_attr_destroy(attr);
  return status;
}

/* ------------------------------------------------------------ int8 matmul */

dnnl_status_t tpa__pd_qmatmul(dnnl_engine_t engine, int64_t m, int64_t k, int64_t n,
                              dnnl_primitive_desc_t *pd) {
  dnnl_status_t status = dnnl_success;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_memory_desc_t src, wei, dst;
  TPA__PD_TRY(dnnl_memory_desc_init_by_tag(&src, 2, (dnnl_dims_t){m, k}, dnnl_u8, dnnl_ab));
  TPA__PD_TRY(dnnl_memory_desc_init_by_tag(&wei, 2, (dnnl_dims_t){k, n}, dnnl_s8, dnnl_ba));
  TPA__PD_TRY(dnnl_memory_desc_init_by_tag(&dst, 2, (dnnl_dims_t){m, n}, dnnl_f32, dnnl_ab));
  dnnl_matmul_desc_t md;
  TPA__PD_TRY(dnnl_matmul_desc_init(&md, &src, &wei, NULL, &dst));
  TPA__PD_TRY(tpa__pd_user_scratch_attr(&attr));
  /* 2.x: per-column output scales given at run time; the zero point is a
   * constant of the primitive (a run-time one is also supported, but a
   * constant keeps the argument list the same as for f32 scales). */
  const float runtime = DNNL_RUNTIME_F32_VAL;
  TPA__PD_TRY(dnnl_primitive_attr_set_output_scales(attr, 1, 1 << 1, &runtime));
  const int32_t zero = TPA__NN_QZERO;
  TPA__PD_TRY(dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_SRC, 1, 0, &zero));
  TPA__PD_TRY(dnnl_primitive_desc_create(pd, &md, attr, engine, NULL));
out:
  if (attr)
    dnnl_primitive_attr_destroy(attr);
  return status;
}

int tpa__pd_qmatmul_scales_arg(void) {
  return DNNL_ARG_ATTR_OUTPUT_SCALES;
}

int tpa__pd_qmatmul_zero_arg(void) {
  return 0;
}

dnnl_status_t tpa__pd_row_scale(dnnl_engine_t engine, int64_t m, int64_t n, bool bias, bool add,
                                int32_t act, dnnl_primitive_desc_t *pd) {
  dnnl_status_t status = dnnl_success;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  dnnl_memory_desc_t x, rows, b;
  TPA__PD_TRY(dnnl_memory_desc_init_by_tag(&x, 2, (dnnl_dims_t){m, n}, dnnl_f32, dnnl_ab));
  TPA__PD_TRY(dnnl_memory_desc_init_by_tag(&rows, 2, (dnnl_dims_t){m, 1}, dnnl_f32, dnnl_ab));
  TPA__PD_TRY(dnnl_memory_desc_init_by_tag(&b, 2, (dnnl_dims_t){1, n}, dnnl_f32, dnnl_ab));
  dnnl_binary_desc_t bd;
  TPA__PD_TRY(dnnl_binary_desc_init(&bd, dnnl_binary_mul, &x, &rows, &x));
  TPA__PD_TRY(tpa__pd_user_scratch_attr(&attr));
  TPA__PD_TRY(dnnl_post_ops_create(&po));
  if (bias)
    TPA__PD_TRY(dnnl_post_ops_append_binary(po, dnnl_binary_add, &b));
  if (add)
    TPA__PD_TRY(dnnl_post_ops_append_binary(po, dnnl_binary_add, &x));
  TPA__PD_TRY(append_act(po, act));
  TPA__PD_TRY(dnnl_primitive_attr_set_post_ops(attr, po));
  TPA__PD_TRY(dnnl_primitive_desc_create(pd, &bd, attr, engine, NULL));
out:
  if (po)
    dnnl_post_ops_destroy(po);
  if (attr)
    dnnl_primitive_attr_destroy(attr);
  return status;
}

dnnl_status_t tpa__pd_vector_memory(dnnl_engine_t engine, const void *p, int64_t count, bool s32,
                                    dnnl_memory_t *mem) {
  dnnl_memory_desc_t md;
  dnnl_status_t st =
      dnnl_memory_desc_init_by_tag(&md, 1, (dnnl_dims_t){count}, s32 ? dnnl_s32 : dnnl_f32, dnnl_a);
  if (st == dnnl_success)
    st = dnnl_memory_create(mem, &md, engine, (void *)p);
  return st;
}

dnnl_status_t tpa__pd_reorder(dnnl_engine_t engine, const tpa__nn_tensor *from, tpa__nn_mdref to,
                              dnnl_primitive_desc_t *pd) {
  dnnl_memory_desc_t src;
  dnnl_status_t st = md_of(&src, from);
  if (st == dnnl_success)
    st = dnnl_reorder_primitive_desc_create(pd, &src, engine, to, engine, NULL);
  return st;
}

dnnl_status_t tpa__pd_reorder_from(dnnl_engine_t engine, tpa__nn_mdref from,
                                   const tpa__nn_tensor *to, dnnl_primitive_desc_t *pd) {
  dnnl_memory_desc_t dst;
  dnnl_status_t st = md_of(&dst, to);
  if (st == dnnl_success)
    st = dnnl_reorder_primitive_desc_create(pd, from, engine, &dst, engine, NULL);
  return st;
}

bool tpa__pd_md_is_row_major(tpa__nn_mdref md, int64_t k, int64_t n) {
  dnnl_memory_desc_t plain;
  const tpa__nn_tensor t = tpa__nn_dense2(k, n);
  return md_of(&plain, &t) == dnnl_success && dnnl_memory_desc_equal(md, &plain);
}

/* ---------------------------------------------------------------- softmax */

dnnl_status_t tpa__pd_softmax(dnnl_engine_t engine, const tpa__nn_tensor *t, int axis,
                              dnnl_primitive_desc_t *pd) {
  dnnl_memory_desc_t md;
  dnnl_softmax_v2_desc_t sd;
  dnnl_status_t st = md_of(&md, t);
  if (st == dnnl_success)
    st = dnnl_softmax_v2_forward_desc_init(&sd, dnnl_forward_inference, dnnl_softmax_accurate, &md,
                                           &md, axis);
  if (st == dnnl_success)
    st = scratch_pd(engine, &sd, NULL, pd);
  return st;
}

dnnl_status_t tpa__pd_softmax_backward(dnnl_engine_t engine, const tpa__nn_tensor *t, int axis,
                                       dnnl_primitive_desc_t *pd) {
  dnnl_memory_desc_t md;
  dnnl_softmax_v2_desc_t fd, bd;
  dnnl_status_t st = md_of(&md, t);
  if (st == dnnl_success)
    st = dnnl_softmax_v2_forward_desc_init(&fd, dnnl_forward_training, dnnl_softmax_accurate, &md,
                                           &md, axis);
  if (st == dnnl_success)
    st = dnnl_softmax_v2_backward_desc_init(&bd, dnnl_softmax_accurate, &md, &md, &md, axis);
  if (st == dnnl_success)
    st = backward_pd(engine, &fd, &bd, pd);
  return st;
}

/* ----------------------------------------------------- layer normalization */

static const unsigned LN_FLAGS = dnnl_use_scale | dnnl_use_shift;

dnnl_status_t tpa__pd_layer_norm(dnnl_engine_t engine, const tpa__nn_tensor *t, float eps,
                                 bool training, dnnl_primitive_desc_t *pd) {
  dnnl_memory_desc_t md;
  dnnl_layer_normalization_desc_t ld;
  dnnl_status_t st = md_of(&md, t);
  if (st == dnnl_success)
    st = dnnl_layer_normalization_forward_desc_init(
        &ld, training ? dnnl_forward_training : dnnl_forward_inference, &md, NULL, eps, LN_FLAGS);
  if (st == dnnl_success)
    st = scratch_pd(engine, &ld, NULL, pd);
  return st;
}

dnnl_status_t tpa__pd_layer_norm_backward(dnnl_engine_t engine, const tpa__nn_tensor *t, float eps,
                                          dnnl_primitive_desc_t *pd) {
  dnnl_memory_desc_t md;
  dnnl_layer_normalization_desc_t fd, bd;
  dnnl_status_t st = md_of(&md, t);
  if (st == dnnl_success)
    st = dnnl_layer_normalization_forward_desc_init(&fd, dnnl_forward_training, &md, NULL, eps,
                                                    LN_FLAGS);
  if (st == dnnl_success)
    st = dnnl_layer_normalization_backward_desc_init(&bd, dnnl_backward, &md, &md, NULL, eps,
                                                     LN_FLAGS);
  if (st == dnnl_success)
    st = backward_pd(engine, &fd, &bd, pd);
  return st;
}

/* ---------------------------------------------------------------- eltwise */

static dnnl_alg_kind_t eltwise_alg(int32_t act) {
  return act == TPA__NN_ACT_TANH   ? dnnl_eltwise_tanh
         : act == TPA__NN_ACT_RELU ? dnnl_eltwise_relu
                                   : dnnl_eltwise_gelu_erf;
}

static dnnl_status_t eltwise_forward_desc(const tpa__nn_tensor *t, int32_t act,
                                          dnnl_eltwise_desc_t *fd) {
  dnnl_memory_desc_t md;
  dnnl_status_t st = md_of(&md, t);
  if (st == dnnl_success)
    st = dnnl_eltwise_forward_desc_init(fd, dnnl_forward_training, eltwise_alg(act), &md, 0.0f,
                                        0.0f);
  return st;
}

dnnl_status_t tpa__pd_eltwise(dnnl_engine_t engine, const tpa__nn_tensor *t, int32_t act,
                              dnnl_primitive_desc_t *pd) {
  dnnl_eltwise_desc_t fd;
  dnnl_status_t st = eltwise_forward_desc(t, act, &fd);
  if (st == dnnl_success)
    st = scratch_pd(engine, &fd, NULL, pd);
  return st;
}

dnnl_status_t tpa__pd_eltwise_backward(dnnl_engine_t engine, const tpa__nn_tensor *t, int32_t act,
                                       dnnl_primitive_desc_t *pd) {
  dnnl_memory_desc_t md;
  dnnl_eltwise_desc_t fd, bd;
  dnnl_status_t st = eltwise_forward_desc(t, act, &fd);
  if (st == dnnl_success)
    st = md_of(&md, t);
  if (st == dnnl_success)
    st = dnnl_eltwise_backward_desc_init(&bd, eltwise_alg(act), &md, &md, 0.0f, 0.0f);
  if (st == dnnl_success)
    st = backward_pd(engine, &fd, &bd, pd);
  return st;
}
