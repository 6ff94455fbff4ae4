/* SPDX-License-Identifier: Apache-2.0 */
/* Primitive descriptors from plain descriptions: the one place where
 * oneDNN 2.x and 3.x differ for libtpa.
 *
 * oneDNN 2.x builds a primitive descriptor from an operation descriptor
 * (the dnnl_*_desc_init calls), keeps memory descriptors as plain structs
 * and takes the matmul's output scale as an attribute value. oneDNN 3.0
 * removed operation descriptors (dnnl_*_primitive_desc_create takes the
 * shapes directly), made memory descriptors opaque handles that their
 * creator destroys, and takes scales as run-time arguments. meson compiles
 * exactly one of nn_pd_v2.c and nn_pd_v3.c, chosen from the installed
 * dnnl_version.h; every other file of lib/nn/ is version-neutral and the
 * rest of libtpa never sees oneDNN at all.
 *
 * Every builder asks for a user-managed scratchpad (the caller's context
 * supplies it, so a cached primitive can run from several threads). */
#ifndef TPA_NN_NN_PD_H
#define TPA_NN_NN_PD_H

#include <stdbool.h>

#include <dnnl.h>

#include "nn/nn.h"

/* A memory descriptor owned by a primitive descriptor, as
 * dnnl_primitive_desc_query_md returns it; dnnl_memory_desc_get_size and
 * dnnl_memory_create take it as it is in both versions. */
#if DNNL_VERSION_MAJOR >= 3
typedef const_dnnl_memory_desc_t tpa__nn_mdref;
#else
typedef const dnnl_memory_desc_t *tpa__nn_mdref;
#endif

/* The helpers both implementations share. */

/* Returns early from a builder (which has a dnnl_status_t `status` and an
 * `out:` label) on a oneDNN failure. */
#define TPA__PD_TRY(call)                                                                          \
  do {                                                                                             \
    status = (call);                                                                               \
    if (status != dnnl_success)                                                                    \
      goto out;                                                                                    \
  } while (0)

/* A view's dims and strides as oneDNN arrays. */
static inline void tpa__pd_dims(const tpa__nn_tensor *t, dnnl_dims_t dims, dnnl_dims_t strides) {
  for (int i = 0; i < t->ndims; i++) {
    dims[i] = t->dims[i];
    strides[i] = t->strides[i];
  }
}

/* New attributes asking for a user-managed scratchpad (nn_pd_common.c). */
dnnl_status_t tpa__pd_user_scratch_attr(dnnl_primitive_attr_t *attr);

/* Matmul as tpa__nn_matmul_desc describes it (packed weights included).
 * An output scale other than 1 may not be combined with a bias: the two
 * versions order scale and bias differently, and no caller needs both. */
dnnl_status_t tpa__pd_matmul(dnnl_engine_t engine, const tpa__nn_matmul_desc *d,
                             dnnl_primitive_desc_t *pd);

/* The execution argument that carries a matmul's output scale (one f32)
 * when the description has one, or 0 where the scale is part of the
 * primitive itself (2.x). */
int tpa__pd_matmul_scale_arg(void);

/* The memory of that argument: the one f32 at @p scale (it is not an
 * argument the primitive descriptor describes). */
dnnl_status_t tpa__pd_scale_memory(dnnl_engine_t engine, const float *scale, dnnl_memory_t *mem);

/* Packed weights use the layout oneDNN's matmul picks for "any" weights
 * of a given [k, n] (a blocked one, e.g. 16x64 tiles). The choice does not
 * depend on the number of rows (checked for 1..4096 rows on the shapes
 * BERT uses), so the row count used to ask is fixed; forcing that layout
 * for any other row count still selects the same fast kernel. */
#define TPA__NN_PACK_QUERY_ROWS 2048

/* A matmul of [TPA__NN_PACK_QUERY_ROWS, k] x [k, n] whose weights
 * descriptor (dnnl_query_weights_md) is the packed layout. */
dnnl_status_t tpa__pd_packed_matmul(dnnl_engine_t engine, int64_t k, int64_t n,
                                    dnnl_primitive_desc_t *pd);

/* A reorder from the view @p from to the layout @p to. */
dnnl_status_t tpa__pd_reorder(dnnl_engine_t engine, const tpa__nn_tensor *from, tpa__nn_mdref to,
                              dnnl_primitive_desc_t *pd);
/* The other way: from the layout @p from to the view @p to. */
dnnl_status_t tpa__pd_reorder_from(dnnl_engine_t engine, tpa__nn_mdref from,
                                   const tpa__nn_tensor *to, dnnl_primitive_desc_t *pd);
/* Whether @p md is the plain row-major layout of a [k, n] f32 matrix. */
bool tpa__pd_md_is_row_major(tpa__nn_mdref md, int64_t k, int64_t n);

/* The int8 matmul of tpa__nn_qmatmul: u8 [m, k] codes with the zero
 * point TPA__NN_QZERO, s8 weights [k, n] viewed from HF's [n, k] rows,
 * f32 [m, n] output times per-column scales given at run time. */
dnnl_status_t tpa__pd_qmatmul(dnnl_engine_t engine, int64_t m, int64_t k, int64_t n,
                              dnnl_primitive_desc_t *pd);
/* Its run-time arguments: the per-column scales (f32 [n]) and the zero
 * point (one s32), or 0 where the zero point is part of the primitive
 * (2.x). */
int tpa__pd_qmatmul_scales_arg(void);
int tpa__pd_qmatmul_zero_arg(void);

/* dst = act(src * rows[m, 1] + bias[1, n] + add[m, n]) on dense f32
 * [m, n] (a binary multiply with post-ops); bias and add optional. */
dnnl_status_t tpa__pd_row_scale(dnnl_engine_t engine, int64_t m, int64_t n, bool bias, bool add,
                                int32_t act, dnnl_primitive_desc_t *pd);

/* A memory for a run-time attribute argument: @p count f32 (or s32)
 * values at @p p, which the primitive descriptor does not describe. */
dnnl_status_t tpa__pd_vector_memory(dnnl_engine_t engine, const void *p, int64_t count, bool s32,
                                    dnnl_memory_t *mem);

/* Softmax over @p axis: forward inference, and backward (data gradient
 * from the forward output). */
dnnl_status_t tpa__pd_softmax(dnnl_engine_t engine, const tpa__nn_tensor *t, int axis,
                              dnnl_primitive_desc_t *pd);
dnnl_status_t tpa__pd_softmax_backward(dnnl_engine_t engine, const tpa__nn_tensor *t, int axis,
                                       dnnl_primitive_desc_t *pd);

/* Layer normalization over the last dimension with gain and shift:
 * forward (inference, or training, which also writes mean and variance)
 * and backward (data, gain and shift gradients). */
dnnl_status_t tpa__pd_layer_norm(dnnl_engine_t engine, const tpa__nn_tensor *t, float eps,
                                 bool training, dnnl_primitive_desc_t *pd);
dnnl_status_t tpa__pd_layer_norm_backward(dnnl_engine_t engine, const tpa__nn_tensor *t, float eps,
                                          dnnl_primitive_desc_t *pd);

/* Eltwise activation (a tpa__nn_act other than NONE): forward (training
 * mode, usable for inference) and backward from the forward input. */
dnnl_status_t tpa__pd_eltwise(dnnl_engine_t engine, const tpa__nn_tensor *t, int32_t act,
                              dnnl_primitive_desc_t *pd);
dnnl_status_t tpa__pd_eltwise_backward(dnnl_engine_t engine, const tpa__nn_tensor *t, int32_t act,
                                       dnnl_primitive_desc_t *pd);

#endif
