/* SPDX-License-Identifier: Apache-2.0 */
/* Weight packing: the layout oneDNN's matmul picks for "any" weights of a
 * given [k, n] (a blocked one, e.g. 16x64 tiles), found by asking a matmul
 * descriptor, and a reorder into it. The choice does not depend on the
 * number of rows (checked for 1..4096 rows on the shapes BERT uses), so
 * the row count used to ask is fixed; forcing that layout for any other
 * row count still selects the same fast kernel. */
#include <string.h>

#include "core/error.h"
#include "nn/nn_internal.h"

/* Row count of the descriptor that is asked for the layout. */
#define PACK_QUERY_ROWS 2048

dnnl_status_t tpa__nn_packed_md(dnnl_engine_t engine, int64_t k, int64_t n,
                                dnnl_memory_desc_t *md) {
  dnnl_memory_desc_t src, wei, dst;
  dnnl_matmul_desc_t mm;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t st =
      dnnl_memory_desc_init_by_tag(&src, 2, (dnnl_dims_t){PACK_QUERY_ROWS, k}, dnnl_f32, dnnl_ab);
  if (st == dnnl_success)
    st = dnnl_memory_desc_init_by_tag(&wei, 2, (dnnl_dims_t){k, n}, dnnl_f32, dnnl_format_tag_any);
  if (st == dnnl_success)
    st =
        dnnl_memory_desc_init_by_tag(&dst, 2, (dnnl_dims_t){PACK_QUERY_ROWS, n}, dnnl_f32, dnnl_ab);
  if (st == dnnl_success)
    st = dnnl_matmul_desc_init(&mm, &src, &wei, NULL, &dst);
  if (st == dnnl_success)
    st = dnnl_primitive_desc_create(&pd, &mm, NULL, engine, NULL);
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

tpa_status tpa__nn_packed_size(tpa__nn_ctx *ctx, int64_t k, int64_t n, size_t *bytes) {
  dnnl_memory_desc_t md;
  dnnl_status_t st = tpa__nn_packed_md(tpa__nn_engine(ctx), k, n, &md);
  if (st != dnnl_success)
    return tpa__nn_fail(st, "matmul", "choosing the weight layout", "packed weights");
  *bytes = dnnl_memory_desc_get_size(&md);
  return TPA_OK;
}

tpa_status tpa__nn_pack_weights(tpa__nn_ctx *ctx, const tpa__nn_tensor *src_view, const float *src,
                                float *dst, const char *what) {
  dnnl_engine_t eng = tpa__nn_engine(ctx);
  dnnl_memory_desc_t from, to;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t prim = NULL;
  dnnl_memory_t m_from = NULL, m_to = NULL;
  const char *step = "describing the source";
  dnnl_status_t st = tpa__nn_md(&from, src_view);
  if (st == dnnl_success && src_view->ndims != 2)
    st = dnnl_invalid_arguments;
  if (st == dnnl_success) {
    step = "choosing the weight layout";
    st = tpa__nn_packed_md(eng, src_view->dims[0], src_view->dims[1], &to);
  }
  if (st == dnnl_success) {
    step = "creating the reorder";
    st = dnnl_reorder_primitive_desc_create(&pd, &from, eng, &to, eng, NULL);
  }
  if (st == dnnl_success)
    st = dnnl_primitive_create(&prim, pd);
  if (st == dnnl_success) {
    step = "wrapping the buffers";
    /* Padding lanes of the blocked layout must read as zeros. */
    memset(dst, 0, dnnl_memory_desc_get_size(&to));
    st = dnnl_memory_create(&m_from, &from, eng, (void *)src);
  }
  if (st == dnnl_success)
    st = dnnl_memory_create(&m_to, &to, eng, dst);
  if (st == dnnl_success) {
    step = "execution";
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, m_from}, {DNNL_ARG_TO, m_to}};
    st = dnnl_primitive_execute(prim, tpa__nn_stream(ctx), 2, args);
    if (st == dnnl_success)
      st = dnnl_stream_wait(tpa__nn_stream(ctx));
  }
  if (m_from)
    dnnl_memory_destroy(m_from);
  if (m_to)
    dnnl_memory_destroy(m_to);
  if (prim)
    dnnl_primitive_destroy(prim);
  if (pd)
    dnnl_primitive_desc_destroy(pd);
  return st == dnnl_success ? TPA_OK : tpa__nn_fail(st, "reorder", step, what);
}
