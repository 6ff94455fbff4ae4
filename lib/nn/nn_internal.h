/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the files of lib/nn/ only: the cache entries and the generic
 * "find or build a primitive, then run it" machinery. */
#ifndef TPA_NN_NN_INTERNAL_H
#define TPA_NN_NN_INTERNAL_H

#include "nn/nn.h"
#include "nn/nn_pd.h"

/* Longest cache key: an operation kind plus its description. */
#define TPA__NN_KEY_MAX 512

typedef struct tpa__nn_entry {
  uint64_t hash;
  int32_t threads; /* OpenMP threads of the creating thread (part of the key) */
  size_t key_len;
  unsigned char key[TPA__NN_KEY_MAX];
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t prim;
  size_t scratch_bytes; /* user-managed scratchpad the primitive needs */
  bool transient;       /* not in the cache (cache full): free after use */
} tpa__nn_entry;

/* Builds the primitive descriptor of one operation on @p engine. */
typedef dnnl_status_t (*tpa__nn_build_fn)(dnnl_engine_t engine, const void *desc,
                                          dnnl_primitive_desc_t *pd);

/* One argument of an execution: a oneDNN DNNL_ARG_* id and its buffer. */
typedef struct tpa__nn_arg {
  int arg;
  const void *ptr;
} tpa__nn_arg;

/* A run-time attribute argument that the primitive descriptor does not
 * describe (per-column scales, a zero point): @p count f32 values, or s32
 * ones. */
typedef struct tpa__nn_vec_arg {
  int arg;
  const void *ptr;
  int64_t count;
  bool s32;
} tpa__nn_vec_arg;

/* Find the primitive for (kind, desc), building it with @p build if it is
 * new. @p prim_name names the primitive kind in messages. */
tpa_status tpa__nn_get(tpa__nn_ctx *ctx, const char *prim_name, const void *key, size_t key_len,
                       tpa__nn_build_fn build, const void *desc, tpa__nn_entry **out,
                       const char *what);

/* Execute @p e with @p args (the scratchpad is added here), then release
 * a transient entry. */
tpa_status tpa__nn_run(tpa__nn_ctx *ctx, tpa__nn_entry *e, const tpa__nn_arg *args, int n_args,
                       const char *prim_name, const char *what);

/* tpa__nn_run with @p n_vecs run-time attribute arguments as well. */
tpa_status tpa__nn_run_vec(tpa__nn_ctx *ctx, tpa__nn_entry *e, const tpa__nn_arg *args, int n_args,
                           const tpa__nn_vec_arg *vecs, int n_vecs, const char *prim_name,
                           const char *what);

/* Copy a view into a zeroed cache-key field: only meaningful bytes count
 * (ndims clamped to 0..TPA__NN_MAX_DIMS, unused dims and strides zero). */
void tpa__nn_canon(tpa__nn_tensor *dst, const tpa__nn_tensor *src);

/* The engine behind a context. */
dnnl_engine_t tpa__nn_engine(tpa__nn_ctx *ctx);
dnnl_stream_t tpa__nn_stream(tpa__nn_ctx *ctx);

/* Map a oneDNN failure to TPA_ERR_BACKEND with the primitive named. */
tpa_status tpa__nn_fail(dnnl_status_t st, const char *prim_name, const char *step,
                        const char *what);

#endif
