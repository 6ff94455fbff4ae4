/* SPDX-License-Identifier: Apache-2.0 */
/* Engine, primitive cache and per-call contexts.
 *
 * Creating a oneDNN primitive descriptor and primitive costs far more than
 * running a small one, so each distinct operation description is built
 * once and kept. The cache is shared by every thread that runs a model, so
 * it is protected by a mutex; primitives themselves may be executed from
 * several threads at once because the scratchpad is user-managed and
 * belongs to the caller's context. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <dnnl_debug.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/alloc.h"
#include "core/error.h"
#include "nn/nn_internal.h"

/* Past this many primitives, new ones are built, run once and dropped,
 * so that a stream of odd shapes cannot grow memory without bound. */
#define CACHE_CAP 4096

struct tpa__nn_cache {
  dnnl_engine_t engine;
  pthread_mutex_t lock;
  tpa__nn_entry **entries;
  size_t n, cap;
};

struct tpa__nn_ctx {
  tpa__nn_cache *cache;
  dnnl_stream_t stream;
  void *scratch;
  size_t scratch_bytes;
};

tpa_status tpa__nn_fail(dnnl_status_t st, const char *prim_name, const char *step,
                        const char *what) {
  return tpa__error(TPA_ERR_BACKEND, "oneDNN %s (%s): %s failed: %s", prim_name, what ? what : "?",
                    step, dnnl_status2str(st));
}

tpa_status tpa__nn_cache_create(tpa__nn_cache **out) {
  *out = NULL;
  tpa__nn_cache *c = calloc(1, sizeof *c);
  if (!c)
    return TPA__NO_MEMORY("primitive cache");
  dnnl_status_t st = dnnl_engine_create(&c->engine, dnnl_cpu, 0);
  if (st != dnnl_success) {
    free(c);
    return tpa__nn_fail(st, "engine", "dnnl_engine_create", "CPU engine");
  }
  if (pthread_mutex_init(&c->lock, NULL) != 0) {
    dnnl_engine_destroy(c->engine);
    free(c);
    return tpa__error(TPA_ERR_INTERNAL, "primitive cache: pthread_mutex_init failed");
  }
  *out = c;
  return TPA_OK;
}

static void entry_free(tpa__nn_entry *e) {
  if (!e)
    return;
  if (e->prim)
    dnnl_primitive_destroy(e->prim);
  if (e->pd)
    dnnl_primitive_desc_destroy(e->pd);
  free(e);
}

void tpa__nn_cache_free(tpa__nn_cache *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->n; i++)
    entry_free(c->entries[i]);
  free(c->entries);
  pthread_mutex_destroy(&c->lock);
  dnnl_engine_destroy(c->engine);
  free(c);
}

size_t tpa__nn_cache_size(tpa__nn_cache *c) {
  pthread_mutex_lock(&c->lock);
  size_t n = c->n;
  pthread_mutex_unlock(&c->lock);
  return n;
}

tpa_status tpa__nn_ctx_create(tpa__nn_ctx **out, tpa__nn_cache *cache) {
  *out = NULL;
  tpa__nn_ctx *x = calloc(1, sizeof *x);
  if (!x)
    return TPA__NO_MEMORY("oneDNN context");
  x->cache = cache;
  dnnl_status_t st = dnnl_stream_create(&x->stream, cache->engine, dnnl_stream_default_flags);
  if (st != dnnl_success) {
    free(x);
    return tpa__nn_fail(st, "stream", "dnnl_stream_create", "per-call stream");
  }
  *out = x;
  return TPA_OK;
}

void tpa__nn_ctx_free(tpa__nn_ctx *x) {
  if (!x)
    return;
  dnnl_stream_destroy(x->stream);
  free(x->scratch);
  free(x);
}

dnnl_engine_t tpa__nn_engine(tpa__nn_ctx *x) {
  return x->cache->engine;
}
dnnl_stream_t tpa__nn_stream(tpa__nn_ctx *x) {
  return x->stream;
}

tpa_status tpa__nn_ctx_wait(tpa__nn_ctx *x) {
  dnnl_status_t st = dnnl_stream_wait(x->stream);
  return st == dnnl_success ? TPA_OK : tpa__nn_fail(st, "stream", "dnnl_stream_wait", "sync");
}

/* FNV-1a: cheap pre-filter before the full key comparison. */
static uint64_t hash_bytes(const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

/* The OpenMP threads a primitive made now would use: oneDNN fixes the
 * thread count of a primitive (and sizes its scratchpad by it) when it is
 * created, so a thread that runs with another OMP_NUM_THREADS (or
 * omp_set_num_threads) needs primitives of its own. */
static int32_t current_threads(void) {
#ifdef _OPENMP
  return (int32_t)omp_get_max_threads();
#else
  return 1;
#endif
}

static tpa__nn_entry *lookup(tpa__nn_cache *c, uint64_t h, int32_t threads, const void *key,
                             size_t len) {
  for (size_t i = 0; i < c->n; i++) {
    tpa__nn_entry *e = c->entries[i];
    if (e->hash == h && e->threads == threads && e->key_len == len && memcmp(e->key, key, len) == 0)
      return e;
  }
  return NULL;
}

static tpa_status build_entry(tpa__nn_cache *c, const char *prim_name, tpa__nn_build_fn build,
                              const void *desc, tpa__nn_entry *e, const char *what) {
  dnnl_status_t st = build(c->engine, desc, &e->pd);
  if (st != dnnl_success) {
    e->pd = NULL;
    return tpa__nn_fail(st, prim_name, "creating the primitive descriptor", what);
  }
  st = dnnl_primitive_create(&e->prim, e->pd);
  if (st != dnnl_success) {
    e->prim = NULL;
    return tpa__nn_fail(st, prim_name, "creating the primitive", what);
  }
  tpa__nn_mdref smd = dnnl_primitive_desc_query_md(e->pd, dnnl_query_scratchpad_md, 0);
  e->scratch_bytes = smd ? dnnl_memory_desc_get_size(smd) : 0;
  return TPA_OK;
}

tpa_status tpa__nn_get(tpa__nn_ctx *ctx, const char *prim_name, const void *key, size_t key_len,
                       tpa__nn_build_fn build, const void *desc, tpa__nn_entry **out,
                       const char *what) {
  tpa__nn_cache *c = ctx->cache;
  *out = NULL;
  if (key_len > TPA__NN_KEY_MAX)
    return tpa__error(TPA_ERR_INTERNAL, "oneDNN %s (%s): cache key too long", prim_name, what);
  uint64_t h = hash_bytes(key, key_len);
  pthread_mutex_lock(&c->lock);
  const int32_t threads = current_threads();
  tpa__nn_entry *e = lookup(c, h, threads, key, key_len);
  pthread_mutex_unlock(&c->lock);
  if (e) {
    *out = e;
    return TPA_OK;
  }
  /* Build outside the lock: it can take milliseconds and other threads
   * may meanwhile run primitives that are already cached. */
  e = calloc(1, sizeof *e);
  if (!e)
    return TPA__NO_MEMORY("primitive cache entry");
  e->hash = h;
  e->threads = threads;
  e->key_len = key_len;
  memcpy(e->key, key, key_len);
  tpa_status s = build_entry(c, prim_name, build, desc, e, what);
  if (s != TPA_OK) {
    entry_free(e);
    return s;
  }
  pthread_mutex_lock(&c->lock);
  tpa__nn_entry *raced = lookup(c, h, threads, key, key_len);
  if (raced) {
    pthread_mutex_unlock(&c->lock);
    entry_free(e);
    *out = raced;
    return TPA_OK;
  }
  if (c->n == c->cap && c->cap < CACHE_CAP) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    tpa__nn_entry **grown = realloc(c->entries, cap * sizeof *grown);
    if (grown) {
      c->entries = grown;
      c->cap = cap;
    }
  }
  if (c->n < c->cap)
    c->entries[c->n++] = e;
  else
    e->transient = true;
  pthread_mutex_unlock(&c->lock);
  *out = e;
  return TPA_OK;
}

static tpa_status ensure_scratch(tpa__nn_ctx *ctx, size_t bytes) {
  if (bytes <= ctx->scratch_bytes)
    return TPA_OK;
  void *p = tpa__aligned_alloc(bytes);
  if (!p)
    return TPA__NO_MEMORY("oneDNN scratchpad");
  free(ctx->scratch);
  ctx->scratch = p;
  ctx->scratch_bytes = bytes;
  return TPA_OK;
}

tpa_status tpa__nn_run(tpa__nn_ctx *ctx, tpa__nn_entry *e, const tpa__nn_arg *args, int n_args,
                       const char *prim_name, const char *what) {
  return tpa__nn_run_vec(ctx, e, args, n_args, NULL, 0, prim_name, what);
}

tpa_status tpa__nn_run_vec(tpa__nn_ctx *ctx, tpa__nn_entry *e, const tpa__nn_arg *args, int n_args,
                           const tpa__nn_vec_arg *vecs, int n_vecs, const char *prim_name,
                           const char *what) {
  enum { MAX_ARGS = 12 };
  dnnl_exec_arg_t ex[MAX_ARGS + 1];
  int n = 0;
  tpa_status s = TPA_OK;
  dnnl_status_t st = dnnl_success;
  if (n_args + n_vecs > MAX_ARGS) {
    s = tpa__error(TPA_ERR_INTERNAL, "oneDNN %s (%s): too many arguments", prim_name, what);
    goto done;
  }
  const int scale_arg = tpa__pd_matmul_scale_arg();
  for (int i = 0; i < n_args; i++) {
    if (scale_arg && args[i].arg == scale_arg) {
      st = tpa__pd_scale_memory(ctx->cache->engine, args[i].ptr, &ex[n].memory);
    } else {
      tpa__nn_mdref md = dnnl_primitive_desc_query_md(e->pd, dnnl_query_exec_arg_md, args[i].arg);
      /* An argument this primitive does not take (oneDNN 2.6's layer
       * normalization backward reads the shift, 3.x's does not) is left
       * out. */
      if (!md || dnnl_memory_desc_get_size(md) == 0)
        continue;
      /* oneDNN takes a non-const handle even for inputs it only reads. */
      st = dnnl_memory_create(&ex[n].memory, md, ctx->cache->engine, (void *)args[i].ptr);
    }
    ex[n].arg = args[i].arg;
    if (st != dnnl_success) {
      s = tpa__nn_fail(st, prim_name, "wrapping a buffer", what);
      goto done;
    }
    n++;
  }
  for (int i = 0; i < n_vecs; i++) {
    st = tpa__pd_vector_memory(ctx->cache->engine, vecs[i].ptr, vecs[i].count, vecs[i].s32,
                               &ex[n].memory);
    ex[n].arg = vecs[i].arg;
    if (st != dnnl_success) {
      s = tpa__nn_fail(st, prim_name, "wrapping a run-time argument", what);
      goto done;
    }
    n++;
  }
  if (e->scratch_bytes) {
    s = ensure_scratch(ctx, e->scratch_bytes);
    if (s != TPA_OK)
      goto done;
    tpa__nn_mdref smd = dnnl_primitive_desc_query_md(e->pd, dnnl_query_scratchpad_md, 0);
    ex[n].arg = DNNL_ARG_SCRATCHPAD;
    st = dnnl_memory_create(&ex[n].memory, smd, ctx->cache->engine, ctx->scratch);
    if (st != dnnl_success) {
      s = tpa__nn_fail(st, prim_name, "wrapping the scratchpad", what);
      goto done;
    }
    n++;
  }
  st = dnnl_primitive_execute(e->prim, ctx->stream, n, ex);
  if (st != dnnl_success)
    s = tpa__nn_fail(st, prim_name, "execution", what);
  else {
    /* The CPU stream runs in order; waiting here keeps the buffers alive
     * exactly as long as the primitive needs them. */
    st = dnnl_stream_wait(ctx->stream);
    if (st != dnnl_success)
      s = tpa__nn_fail(st, prim_name, "waiting for the stream", what);
  }
done:
  for (int i = 0; i < n; i++)
    dnnl_memory_destroy(ex[i].memory);
  if (e->transient)
    entry_free(e);
  return s;
}
