/* SPDX-License-Identifier: Apache-2.0 */
/* Primitive descriptors for oneDNN 3.x (3.1 in Ubuntu 24.04, 3.7 in
 * Debian 13, 3.8 upstream): dnnl_*_primitive_desc_create takes the shapes
 * directly, memory descriptors are handles this file creates and destroys,
 * and the matmul's output scale is a run-time argument (so one primitive
 * would serve any scale; the cache keys on it anyway, as on 2.x). A
 * backward primitive descriptor is built with the hint of the
 * forward-training one, created and dropped here. */
#include <stddef.h>

#include "nn/nn_pd.h"

#if DNNL_VERSION_MAJOR < 3
#error "nn_pd_v3.c is the oneDNN 3.x build; meson picks nn_pd_v2.c for 2.x"
#endif

/* A new f32 memory descriptor of the view @p t (destroy with md_free). */
static dnnl_status_t md_of(dnnl_memory_desc_t *md, const tpa__nn_tensor *t) {
  dnnl_dims_t dims, strides;
  tpa__pd_dims(t, dims, strides);
  *md = NULL;
  return dnnl_memory_desc_create_with_strides(md, t->ndims, dims, dnnl_f32, strides);
}

static void md_free(dnnl_memory_desc_t md) {
  if (md)
    dnnl_memory_desc_destroy(md);
}

/* The activation @p act (a tpa__nn_act) as an eltwise post-op, if any. */
static dnnl_status_t append_act(dnnl_post_ops_t po, int32_t act) {
  if (act == TPA__NN_ACT_GELU_ERF)
    return dnnl_post_ops_append_eltwise(po, dnnl_eltwise_gelu_erf, 0.0f, 0.0f);
  if (act == TPA__NN_ACT_TANH)
    return dnnl_post_ops_append_eltwise(po, dnnl_eltwise_tanh, 0.0f, 0.0f);
  if (act == TPA__NN_ACT_RELU)
    return dnnl_post_ops_append_eltwise(po, dnnl_eltwise_relu, 0.0f, 0.0f);
  return dnnl_success;
}

/* ----------------------------------------------------------------- matmul */

dnnl_status_t tpa__pd_packed_matmul(dnnl_engine_t engine, int64_t k, int64_t n,
                                    dnnl_primitive_desc_t *pd) {
  dnnl_status_t status = dnnl_success;
  dnnl_memory_desc_t src = NULL, wei = NULL, dst = NULL;
  TPA__PD_TRY(dnnl_memory_desc_create_with_tag(&src, 2, (dnnl_dims_t){TPA__NN_PACK_QUERY_ROWS, k},
                                               dnnl_f32, dnnl_ab));
  TPA__PD_TRY(dnnl_memory_desc_create_with_tag(&wei, 2, (dnnl_dims_t){k, n}, dnnl_f32,
                                               dnnl_format_tag_any));
  TPA__PD_TRY(dnnl_memory_desc_create_with_tag(&dst, 2, (dnnl_dims_t){TPA__NN_PACK_QUERY_ROWS, n},
                                               dnnl_f32, dnnl_ab));
  TPA__PD_TRY(dnnl_matmul_primitive_desc_create(pd, engine, src, wei, NULL, dst, NULL));
out:
  md_free(src);
  md_free(wei);
  md_free(dst);
  return status;
}

/* The scale multiplies the weights (one common factor, mask 0): on f32
 * that is the product's scale, applied before the post-ops as 2.x's
 * output scale was. */
int tpa__pd_matmul_scale_arg(void) {
  return DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS;
}

dnnl_status_t tpa__pd_scale_memory(dnnl_engine_t engine, const float *scale, dnnl_memory_t *mem) {
  dnnl_memory_desc_t md = NULL;
  dnnl_status_t st = dnnl_memory_desc_create_with_tag(&md, 1, (dnnl_dims_t){1}, dnnl_f32, dnnl_a);
  if (st == dnnl_success)
    st = dnnl_memory_create(mem, md, engine, (void *)scale);
  md_free(md);
  return st;
}

dnnl_status_t tpa__pd_matmul(dnnl_engine_t engine, const tpa__nn_matmul_desc *d,
                             dnnl_primitive_desc_t *pd) {
  dnnl_status_t status = dnnl_success;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  dnnl_primitive_desc_t packed = NULL;
  dnnl_memory_desc_t src = NULL, wei = NULL, dst = NULL, bias = NULL, add = NULL;
  const_dnnl_memory_desc_t wei_ref;
  const bool scaled = d->scale != 0.0f && d->scale != 1.0f;
  if (scaled && d->bias.ndims)
    return dnnl_invalid_arguments;
  TPA__PD_TRY(md_of(&src, &d->src));
  if (d->wei_packed) {
    /* The packed layout belongs to the query's descriptor: keep the query
     * alive until the matmul is created. */
    TPA__PD_TRY(tpa__pd_packed_matmul(engine, d->wei.dims[0], d->wei.dims[1], &packed));
    wei_ref = dnnl_primitive_desc_query_md(packed, dnnl_query_weights_md, 0);
    if (!wei_ref)
      TPA__PD_TRY(dnnl_runtime_error);
  } else {
    TPA__PD_TRY(md_of(&wei, &d->wei));
    wei_ref = wei;
  }
  TPA__PD_TRY(md_of(&dst, &d->dst));
  if (d->bias.ndims)
    TPA__PD_TRY(md_of(&bias, &d->bias));
  TPA__PD_TRY(tpa__pd_user_scratch_attr(&attr));
  if (scaled)
    TPA__PD_TRY(dnnl_primitive_attr_set_scales_mask(attr, DNNL_ARG_WEIGHTS, 0));
  TPA__PD_TRY(dnnl_post_ops_create(&po));
  if (d->accumulate)
    TPA__PD_TRY(dnnl_post_ops_append_sum(po, 1.0f, 0, dnnl_data_type_undef));
  if (d->add.ndims) {
    TPA__PD_TRY(md_of(&add, &d->add));
    TPA__PD_TRY(dnnl_post_ops_append_binary(po, dnnl_binary_add, add));
  }
  TPA__PD_TRY(append_act(po, d->act));
  TPA__PD_TRY(dnnl_primitive_attr_set_post_ops(attr, po));
  TPA__PD_TRY(dnnl_matmul_primitive_desc_create(pd, engine, src, wei_ref, bias, dst, attr));
out:
  if (po)
    dnnl_post_ops_destroy(po);
  if (attr)
    dnnl_primitive_attr_destroy(attr);
  if (packed)
    dnnl_primitive_desc_destroy(packed);
  md_free(src);
  md_free(wei);
  md_free(dst);
  md_free(bias);
  md_free(add);
  return status;
}

/* ------------------------------------------------------------ int8 matmul */

dnnl_status_t tpa__pd_qmatmul(dnnl_engine_t engine, int64_t m, int64_t k, int64_t n,
                              dnnl_primitive_desc_t *pd) {
  dnnl_status_t status = dnnl_success;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_memory_desc_t src = NULL, wei = NULL, dst = NULL;
  TPA__PD_TRY(dnnl_memory_desc_create_with_tag(&src, 2, (dnnl_dims_t){m, k}, dnnl_u8, dnnl_ab));
  TPA__PD_TRY(dnnl_memory_desc_create_with_tag(&wei, 2, (dnnl_dims_t){k, n}, dnnl_s8, dnnl_ba));
  TPA__PD_TRY(dnnl_memory_desc_create_with_tag(&dst, 2, (dnnl_dims_t){m, n}, dnnl_f32, dnnl_ab));
  TPA__PD_TRY(tpa__pd_user_scratch_attr(&attr));
  /* 3.x: per-column weight scales and a common source zero point, both
   * run-time arguments. */
  TPA__PD_TRY(dnnl_primitive_attr_set_scales_mask(attr, DNNL_ARG_WEIGHTS, 1 << 1));
  TPA__PD_TRY(dnnl_primitive_attr_set_zero_points_mask(attr, DNNL_ARG_SRC, 0));
  TPA__PD_TRY(dnnl_matmul_primitive_desc_create(pd, engine, src, wei, NULL, dst, attr));
out:
  if (attr)
    dnnl_primitive_attr_destroy(attr);
  md_free(src);
  md_free(wei);
  md_free(dst);
  return status;
}

int tpa__pd_qmatmul_scales_arg(void) {
  return DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS;
}

int tpa__pd_qmatmul_zero_arg(void) {
  return DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC;
}

dnnl_status_t tpa__pd_row_scale(dnnl_engine_t engine, int64_t m, int64_t n, bool bias, bool add,
                                int32_t act, dnnl_primitive_desc_t *pd) {
  dnnl_status_t status = dnnl_success;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  dnnl_memory_desc_t x = NULL, rows = NULL, b = NULL;
  TPA__PD_TRY(dnnl_memory_desc_create_with_tag(&x, 2, (dnnl_dims_t){m, n}, dnnl_f32, dnnl_ab));
  TPA__PD_TRY(dnnl_memory_desc_create_with_tag(&rows, 2, (dnnl_dims_t){m, 1}, dnnl_f32, dnnl_ab));
  TPA__PD_TRY(dnnl_memory_desc_create_with_tag(&b, 2, (dnnl_dims_t){1, n}, dnnl_f32, dnnl_ab));
  TPA__PD_TRY(tpa__pd_user_scratch_attr(&attr));
  TPA__PD_TRY(dnnl_post_ops_create(&po));
  if (bias)
    TPA__PD_TRY(dnnl_post_ops_append_binary(po, dnnl_binary_add, b));
  if (add)
    TPA__PD_TRY(dnnl_post_ops_append_binary(po, dnnl_binary_add, x));
  TPA__PD_TRY(append_act(po, act));
  TPA__PD_TRY(dnnl_primitive_attr_set_post_ops(attr, po));
  TPA__PD_TRY(dnnl_binary_primitive_desc_create(pd, engine, dnnl_binary_mul, x, rows, x, attr));
out:
  if (po)
    dnnl_post_ops_destroy(po);
  if (attr)
    dnnl_primitive_attr_destroy(attr);
  md_free(x);
  md_free(rows);
  md_free(b);
  return status;
}

dnnl_status_t tpa__pd_vector_memory(dnnl_engine_t engine, const void *p, int64_t count, bool s32,
                                    dnnl_memory_t *mem) {
  dnnl_memory_desc_t md = NULL;
  dnnl_status_t st = dnnl_memory_desc_create_with_tag(&md, 1, (dnnl_dims_t){count},
                                                      s32 ? dnnl_s32 : dnnl_f32, dnnl_a);
  if (st == dnnl_success)
    st = dnnl_memory_create(mem, md, engine, (void *)p);
  md_free(md);
  return st;
}

dnnl_status_t tpa__pd_reorder(dnnl_engine_t engine, const tpa__nn_tensor *from, tpa__nn_mdref to,
                              dnnl_primitive_desc_t *pd) {
  dnnl_memory_desc_t src = NULL;
  dnnl_status_t st = md_of(&src, from);
  if (st == dnnl_success)
    st = dnnl_reorder_primitive_desc_create(pd, src, engine, to, engine, NULL);
  md_free(src);
  return st;
}

dnnl_status_t tpa__pd_reorder_from(dnnl_engine_t engine, tpa__nn_mdref from,
                                   const tpa__nn_tensor *to, dnnl_primitive_desc_t *pd) {
  dnnl_memory_desc_t dst = NULL;
  dnnl_status_t st = md_of(&dst, to);
  if (st == dnnl_success)
    st = dnnl_reorder_primitive_desc_create(pd, from, engine, dst, engine, NULL);
  md_free(dst);
  return st;
}

bool tpa__pd_md_is_row_major(tpa__nn_mdref md, int64_t k, int64_t n) {
  dnnl_memory_desc_t plain = NULL;
  const tpa__nn_tensor t = tpa__nn_dense2(k, n);
  bool same = md_of(&plain, &t) == dnnl_success && dnnl_memory_desc_equal(md, plain);
  md_free(plain);
  return same;
}

/* What every builder below holds while it works: the one memory
 * descriptor (source, destination and gradients share the dense view),
 * the attributes, and a backward's forward hint. */
typedef struct build {
  dnnl_memory_desc_t md;
  dnnl_primitive_attr_t attr;
  dnnl_primitive_desc_t hint;
} build;

static dnnl_status_t build_begin(build *b, const tpa__nn_tensor *t) {
  b->md = NULL;
  b->attr = NULL;
  b->hint = NULL;
  dnnl_status_t st = md_of(&b->md, t);
  if (st == dnnl_success)
    st = tpa__pd_user_scratch_attr(&b->attr);
  return st;
}

/* Release what @p b holds; returns @p st. */
static dnnl_status_t build_end(build *b, dnnl_status_t st) {
  if (b->hint)
    dnnl_primitive_desc_destroy(b->hint);
  if (b->attr)
    dnnl_primitive_attr_destroy(b->attr);
  md_free(b->md);
  return st;
}

/* ---------------------------------------------------------------- softmax */

static dnnl_status_t softmax_forward(dnnl_engine_t engine, const build *b, int axis,
                                     dnnl_prop_kind_t prop, const_dnnl_primitive_attr_t attr,
                                     dnnl_primitive_desc_t *pd) {
  return dnnl_softmax_forward_primitive_desc_create(pd, engine, prop, dnnl_softmax_accurate, b->md,
                                                    b->md, axis, attr);
}

dnnl_status_t tpa__pd_softmax(dnnl_engine_t engine, const tpa__nn_tensor *t, int axis,
                              dnnl_primitive_desc_t *pd) {
  build b;
  dnnl_status_t st = build_begin(&b, t);
  if (st == dnnl_success)
    st = softmax_forward(engine, &b, axis, dnnl_forward_inference, b.attr, pd);
  return build_end(&b, st);
}

dnnl_status_t tpa__pd_softmax_backward(dnnl_engine_t engine, const tpa__nn_tensor *t, int axis,
                                       dnnl_primitive_desc_t *pd) {
  build b;
  dnnl_status_t st = build_begin(&b, t);
  if (st == dnnl_success)
    st = softmax_forward(engine, &b, axis, dnnl_forward_training, NULL, &b.hint);
  if (st == dnnl_success)
    st = dnnl_softmax_backward_primitive_desc_create(pd, engine, dnnl_softmax_accurate, b.md, b.md,
                                                     b.md, axis, b.hint, b.attr);
  return build_end(&b, st);
}

/* ----------------------------------------------------- layer normalization */

static const unsigned LN_FLAGS = dnnl_use_scale | dnnl_use_shift;

static dnnl_status_t layer_norm_forward(dnnl_engine_t engine, const build *b, float eps,
                                        dnnl_prop_kind_t prop, const_dnnl_primitive_attr_t attr,
                                        dnnl_primitive_desc_t *pd) {
  return dnnl_layer_normalization_forward_primitive_desc_create(pd, engine, prop, b->md, b->md,
                                                                NULL, eps, LN_FLAGS, attr);
}

dnnl_status_t tpa__pd_layer_norm(dnnl_engine_t engine, const tpa__nn_tensor *t, float eps,
                                 bool training, dnnl_primitive_desc_t *pd) {
  build b;
  dnnl_status_t st = build_begin(&b, t);
  if (st == dnnl_success)
    st = layer_norm_forward(engine, &b, eps,
                            training ? dnnl_forward_training : dnnl_forward_inference, b.attr, pd);
  return build_end(&b, st);
}

dnnl_status_t tpa__pd_layer_norm_backward(dnnl_engine_t engine, const tpa__nn_tensor *t, float eps,
                                          dnnl_primitive_desc_t *pd) {
  build b;
  dnnl_status_t st = build_begin(&b, t);
  if (st == dnnl_success)
    st = layer_norm_forward(engine, &b, eps, dnnl_forward_training, NULL, &b.hint);
  if (st == dnnl_success)
    st = dnnl_layer_normalization_backward_primitive_desc_create(
        pd, engine, dnnl_backward, b.md, b.md, b.md, NULL, eps, LN_FLAGS, b.hint, b.attr);
  return build_end(&b, st);
}

/* ---------------------------------------------------------------- eltwise */

static dnnl_alg_kind_t eltwise_alg(int32_t act) {
  return act == TPA__NN_ACT_TANH   ? dnnl_eltwise_tanh
         : act == TPA__NN_ACT_RELU ? dnnl_eltwise_relu
                                   : dnnl_eltwise_gelu_erf;
}

static dnnl_status_t eltwise_forward(dnnl_engine_t engine, const build *b, int32_t act,
                                     const_dnnl_primitive_attr_t attr, dnnl_primitive_desc_t *pd) {
  return dnnl_eltwise_forward_primitive_desc_create(
      pd, engine, dnnl_forward_training, eltwise_alg(act), b->md, b->md, 0.0f, 0.0f, attr);
}

dnnl_status_t tpa__pd_eltwise(dnnl_engine_t engine, const tpa__nn_tensor *t, int32_t act,
                              dnnl_primitive_desc_t *pd) {
  build b;
  dnnl_status_t st = build_begin(&b, t);
  if (st == dnnl_success)
    st = eltwise_forward(engine, &b, act, b.attr, pd);
  return build_end(&b, st);
}

dnnl_status_t tpa__pd_eltwise_backward(dnnl_engine_t engine, const tpa__nn_tensor *t, int32_t act,
                                       dnnl_primitive_desc_t *pd) {
  build b;
  dnnl_status_t st = build_begin(&b, t);
  if (st == dnnl_success)
    st = eltwise_forward(engine, &b, act, NULL, &b.hint);
  if (st == dnnl_success)
    st = dnnl_eltwise_backward_primitive_desc_create(pd, engine, eltwise_alg(act), b.md, b.md, b.md,
                                                     0.0f, 0.0f, b.hint, b.attr);
  return build_end(&b, st);
}
