/* SPDX-License-Identifier: Apache-2.0 */
/* Weight packing: a reorder into the layout oneDNN's matmul picks for
 * "any" weights of a given [k, n] (nn_pd.h says why the row count of the
 * query does not matter). */
#include <string.h>

#include "core/error.h"
#include "nn/nn_internal.h"

/* The packed layout of [k, n] weights: *to belongs to *query, which the
 * caller destroys (also on failure, when it is not NULL). */
static dnnl_status_t packed_layout(dnnl_engine_t engine, int64_t k, int64_t n,
                                   dnnl_primitive_desc_t *query, tpa__nn_mdref *to) {
  *query = NULL;
  *to = NULL;
  dnnl_status_t st = tpa__pd_packed_matmul(engine, k, n, query);
  if (st == dnnl_success) {
    *to = dnnl_primitive_desc_query_md(*query, dnnl_query_weights_md, 0);
    st = *to ? dnnl_success : dnnl_runtime_error;
  }
  return st;
}

/* The packed layout of [k, n] weights: its size and whether it is plain
 * row-major (either pointer may be NULL). */
static tpa_status describe_packed(tpa__nn_ctx *ctx, int64_t k, int64_t n, size_t *bytes,
                                  bool *plain) {
  dnnl_primitive_desc_t query;
  tpa__nn_mdref md;
  dnnl_status_t st = packed_layout(tpa__nn_engine(ctx), k, n, &query, &md);
  if (st == dnnl_success && bytes)
    *bytes = dnnl_memory_desc_get_size(md);
  if (st == dnnl_success && plain)
    *plain = tpa__pd_md_is_row_major(md, k, n);
  if (query)
    dnnl_primitive_desc_destroy(query);
  return st == dnnl_success
             ? TPA_OK
             : tpa__nn_fail(st, "matmul", "choosing the weight layout", "packed weights");
}

tpa_status tpa__nn_packed_size(tpa__nn_ctx *ctx, int64_t k, int64_t n, size_t *bytes) {
  return describe_packed(ctx, k, n, bytes, NULL);
}

/* One reorder between the plain matrix viewed by @p view (at @p plain)
 * and its packed layout (at @p packed), in the direction @p to_packed. */
static tpa_status reorder_packed(tpa__nn_ctx *ctx, const tpa__nn_tensor *view, float *plain,
                                 float *packed, bool to_packed, const char *what) {
  dnnl_engine_t eng = tpa__nn_engine(ctx);
  dnnl_primitive_desc_t query = NULL, pd = NULL;
  dnnl_primitive_t prim = NULL;
  dnnl_memory_t m_plain = NULL, m_packed = NULL;
  tpa__nn_mdref to = NULL;
  const char *step = "choosing the weight layout";
  dnnl_status_t st = view->ndims == 2 ? dnnl_success : dnnl_invalid_arguments;
  if (st == dnnl_success)
    st = packed_layout(eng, view->dims[0], view->dims[1], &query, &to);
  if (st == dnnl_success) {
    step = "creating the reorder";
    st = to_packed ? tpa__pd_reorder(eng, view, to, &pd) : tpa__pd_reorder_from(eng, to, view, &pd);
  }
  if (st == dnnl_success)
    st = dnnl_primitive_create(&prim, pd);
  if (st == dnnl_success) {
    step = "wrapping the buffers";
    /* Padding lanes of the blocked layout must read as zeros. */
    if (to_packed)
      memset(packed, 0, dnnl_memory_desc_get_size(to));
    st = dnnl_memory_create(
        &m_plain,
        dnnl_primitive_desc_query_md(pd, to_packed ? dnnl_query_src_md : dnnl_query_dst_md, 0), eng,
        plain);
  }
  if (st == dnnl_success)
    st = dnnl_memory_create(&m_packed, to, eng, packed);
  if (st == dnnl_success) {
    step = "execution";
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, to_packed ? m_plain : m_packed},
                               {DNNL_ARG_TO, to_packed ? m_packed : m_plain}};
    st = dnnl_primitive_execute(prim, tpa__nn_stream(ctx), 2, args);
    if (st == dnnl_success)
      st = dnnl_stream_wait(tpa__nn_stream(ctx));
  }
  if (m_plain)
    dnnl_memory_destroy(m_plain);
  if (m_packed)
    dnnl_memory_destroy(m_packed);
  if (prim)
    dnnl_primitive_destroy(prim);
  if (pd)
    dnnl_primitive_desc_destroy(pd);
  if (query)
    dnnl_primitive_desc_destroy(query);
  return st == dnnl_success ? TPA_OK : tpa__nn_fail(st, "reorder", step, what);
}

tpa_status tpa__nn_pack_weights(tpa__nn_ctx *ctx, const tpa__nn_tensor *src_view, const float *src,
                                float *dst, const char *what) {
  /* The reorder only reads the plain side in this direction. */
  return reorder_packed(ctx, src_view, (float *)src, dst, true, what);
}

tpa_status tpa__nn_unpack_weights(tpa__nn_ctx *ctx, const tpa__nn_tensor *dst_view,
                                  const float *packed, float *dst, const char *what) {
  return reorder_packed(ctx, dst_view, dst, (float *)packed, false, what);
}

tpa_status tpa__nn_packed_is_plain(tpa__nn_ctx *ctx, int64_t k, int64_t n, bool *plain) {
  return describe_packed(ctx, k, n, NULL, plain);
}
