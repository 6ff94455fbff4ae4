/* SPDX-License-Identifier: Apache-2.0 */
/* Inference against independent references: the logits that
 * tests/fixtures/gen_fixtures.py computed with HF's BERT math in PyTorch
 * (float64) for the tiny fixtures, and, end to end, for real GLUE dev rows
 * tokenized by HF's own tokenizer. Runs oneDNN, so CK_FORK=no. */
#include <check.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "test_util.h"
#include "tpa/tpa.h"

#define TOL 1e-4

static char *shared_data(const char *rel) {
  const char *root = getenv("TPA_SHARED_DATA");
  ck_assert_msg(root != NULL, "TPA_SHARED_DATA is not set");
  size_t n = strlen(root) + strlen(rel) + 2;
  char *p = malloc(n);
  ck_assert_ptr_nonnull(p);
  snprintf(p, n, "%s/%s", root, rel);
  return p;
}

static tpa_model *load(const char *variant) {
  char *dir = fixture(variant);
  tpa_model *m = NULL;
  tpa_status s = tpa_model_load(&m, dir, NULL);
  ck_assert_msg(s == TPA_OK, "loading %s: %s (%s)", dir, tpa_status_str(s), tpa_last_error());
  free(dir);
  return m;
}

static json_t *load_json(const char *rel) {
  char *path = fixture(rel);
  json_error_t err;
  json_t *j = json_load_file(path, 0, &err);
  ck_assert_msg(j != NULL, "%s: %s", path, err.text);
  free(path);
  return j;
}

/* max |got - want| over n values. */
static double max_diff(const float *got, const double *want, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]);
    if (!(d <= m)) /* NaN propagates as failure */
      m = isnan(d) ? INFINITY : d;
  }
  return m;
}

/* Every reference batch of one fixture variant within TOL. */
static void check_variant(const char *variant) {
  tpa_model *m = load(variant);
  char rel[128];
  snprintf(rel, sizeof rel, "%s/reference.json", variant);
  json_t *ref = load_json(rel);
  const int32_t nl = (int32_t)json_integer_value(json_object_get(ref, "num_labels"));
  size_t nb = json_array_size(json_object_get(ref, "batches"));
  ck_assert_uint_ge(nb, 3);
  double biggest = 0;
  for (size_t i = 0; i < nb; i++) {
    ref_batch r = ref_batch_get(ref, i);
    ck_assert_uint_eq(r.n_logits, (size_t)r.batch * nl);
    float *got = calloc(r.n_logits, sizeof *got);
    ck_assert_ptr_nonnull(got);
    tpa_status s = tpa_model_forward(m, r.ids, r.types, r.mask, r.batch, r.seq, got);
    ck_assert_msg(s == TPA_OK, "%s batch %zu: %s", variant, i, tpa_last_error());
    double d = max_diff(got, r.logits, r.n_logits);
    ck_assert_msg(d <= TOL, "%s batch %zu (%dx%d): max abs diff %g", variant, i, r.batch, r.seq, d);
    for (size_t k = 0; k < r.n_logits; k++)
      biggest = fmax(biggest, fabs(r.logits[k]));
    free(got);
    ref_batch_free(&r);
  }
  /* The comparison means something only if the logits are not all ~0. */
  ck_assert_msg(biggest > 0.5, "%s: reference logits too small (%g)", variant, biggest);
  json_decref(ref);
  tpa_model_free(m);
}

START_TEST(logits_f32) {
  check_variant("tiny");
}
END_TEST
START_TEST(logits_f16) {
  check_variant("tiny-f16");
}
END_TEST
START_TEST(logits_bf16) {
  check_variant("tiny-bf16");
}
END_TEST
START_TEST(logits_pruned) {
  check_variant("tiny-pruned");
  tpa_model *m = load("tiny-pruned");
  ck_assert_int_eq(tpa_model_layer_num_heads(m, 0), 4);
  ck_assert_int_eq(tpa_model_layer_num_heads(m, 1), 6);
  ck_assert_int_eq(tpa_model_layer_num_heads(m, 2), 2);
  tpa_model_free(m);
}
END_TEST

/* The pruned fixture is not just "close to" the full one: removing heads
 * must change the logits, or the pruned reference would test nothing. */
START_TEST(pruned_differs_from_full) {
  json_t *full = load_json("tiny/reference.json");
  json_t *pruned = load_json("tiny-pruned/reference.json");
  ref_batch a = ref_batch_get(full, 0), b = ref_batch_get(pruned, 0);
  double d = 0;
  for (size_t i = 0; i < a.n_logits; i++)
    d = fmax(d, fabs(a.logits[i] - b.logits[i]));
  ck_assert_msg(d > 1e-2, "pruning changed the reference logits by only %g", d);
  ref_batch_free(&a);
  ref_batch_free(&b);
  json_decref(full);
  json_decref(pruned);
}
END_TEST

/* A row's logits do not depend on its batch mates or on how much padding
 * follows it: each row of reference batch 0 alone, unpadded, then all rows
 * padded further than needed. */
START_TEST(batch_composition_invariance) {
  tpa_model *m = load("tiny");
  json_t *ref = load_json("tiny/reference.json");
  ref_batch r = ref_batch_get(ref, 0);
  const int32_t nl = 2, B = r.batch, S = r.seq;
  float *together = calloc((size_t)B * nl, sizeof(float));
  ck_assert_int_eq(tpa_model_forward(m, r.ids, r.types, r.mask, B, S, together), TPA_OK);
  for (int32_t b = 0; b < B; b++) {
    int32_t len = 0;
    while (len < S && r.mask[b * S + len])
      len++;
    float alone[2];
    ck_assert_int_eq(tpa_model_forward(m, r.ids + b * S, r.types + b * S, NULL, 1, len, alone),
                     TPA_OK);
    for (int k = 0; k < nl; k++)
      ck_assert_msg(fabsf(alone[k] - together[b * nl + k]) <= 1e-5, "row %d: %g vs %g", b, alone[k],
                    together[b * nl + k]);
  }
  /* Extra padding: S + 23 columns, pads with id 0, type 0, mask 0. */
  const int32_t S2 = S + 23;
  int32_t *ids = calloc((size_t)B * S2, sizeof(int32_t));
  int32_t *types = calloc((size_t)B * S2, sizeof(int32_t));
  int32_t *mask = calloc((size_t)B * S2, sizeof(int32_t));
  for (int32_t b = 0; b < B; b++)
    for (int32_t t = 0; t < S; t++) {
      ids[b * S2 + t] = r.ids[b * S + t];
      types[b * S2 + t] = r.types[b * S + t];
      mask[b * S2 + t] = r.mask[b * S + t];
    }
  float *padded = calloc((size_t)B * nl, sizeof(float));
  ck_assert_int_eq(tpa_model_forward(m, ids, types, mask, B, S2, padded), TPA_OK);
  for (int32_t i = 0; i < B * nl; i++)
    ck_assert_msg(fabsf(padded[i] - together[i]) <= 1e-5, "logit %d: %g vs %g", i, padded[i],
                  together[i]);
  free(ids);
  free(types);
  free(mask);
  free(padded);
  free(together);
  ref_batch_free(&r);
  json_decref(ref);
  tpa_model_free(m);
}
END_TEST

/* A batch larger than one pass (TPA__PASS_TOKENS tokens) runs as several
 * passes; every row still gets its reference logits. */
START_TEST(multi_pass_batch) {
  tpa_model *m = load("tiny");
  json_t *ref = load_json("tiny/reference.json");
  ref_batch r = ref_batch_get(ref, 3);                        /* 2 rows of max_pos tokens */
  const int32_t copies = 37, B = r.batch * copies, S = r.seq; /* 74 rows: several passes */
  ck_assert_uint_gt((size_t)B * S, 2 * TPA__PASS_TOKENS);
  int32_t *ids = malloc((size_t)B * S * sizeof(int32_t));
  int32_t *types = malloc((size_t)B * S * sizeof(int32_t));
  int32_t *mask = malloc((size_t)B * S * sizeof(int32_t));
  float *got = malloc((size_t)B * 2 * sizeof(float));
  double *want = malloc((size_t)B * 2 * sizeof(double));
  for (int32_t c = 0; c < copies; c++) {
    memcpy(ids + (size_t)c * r.batch * S, r.ids, (size_t)r.batch * S * sizeof(int32_t));
    memcpy(types + (size_t)c * r.batch * S, r.types, (size_t)r.batch * S * sizeof(int32_t));
    memcpy(mask + (size_t)c * r.batch * S, r.mask, (size_t)r.batch * S * sizeof(int32_t));
    memcpy(want + (size_t)c * r.batch * 2, r.logits, (size_t)r.batch * 2 * sizeof(double));
  }
  ck_assert_int_eq(tpa_model_forward(m, ids, types, mask, B, S, got), TPA_OK);
  double d = max_diff(got, want, (size_t)B * 2);
  ck_assert_msg(d <= TOL, "max abs diff %g", d);
  free(ids);
  free(types);
  free(mask);
  free(got);
  free(want);
  ref_batch_free(&r);
  json_decref(ref);
  tpa_model_free(m);
}
END_TEST

START_TEST(invalid_inputs_rejected) {
  tpa_model *m = load("tiny");
  tpa_model_config cfg;
  cfg.size = sizeof cfg;
  ck_assert_int_eq(tpa_model_get_config(m, &cfg), TPA_OK);
  int32_t ids[4] = {2, 7, 9, 3}, types[4] = {0, 0, 1, 1};
  float out[2 * 2];
  ck_assert_int_eq(tpa_model_forward(m, ids, types, NULL, 1, 4, out), TPA_OK);
  ids[1] = cfg.vocab_size;
  ck_assert_int_eq(tpa_model_forward(m, ids, types, NULL, 1, 4, out), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "vocabulary"));
  ids[1] = -1;
  ck_assert_int_eq(tpa_model_forward(m, ids, types, NULL, 1, 4, out), TPA_ERR_INVALID_ARGUMENT);
  ids[1] = 7;
  types[2] = cfg.type_vocab_size;
  ck_assert_int_eq(tpa_model_forward(m, ids, types, NULL, 1, 4, out), TPA_ERR_INVALID_ARGUMENT);
  types[2] = 1;
  ck_assert_int_eq(tpa_model_forward(m, ids, types, NULL, 0, 4, out), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_model_forward(m, ids, types, NULL, 1, 0, out), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_model_forward(m, ids, types, NULL, -3, 4, out), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_model_forward(m, NULL, types, NULL, 1, 4, out), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_model_forward(m, ids, types, NULL, 1, 4, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_model_forward(NULL, ids, types, NULL, 1, 4, out), TPA_ERR_INVALID_ARGUMENT);
  /* The mask: 0 or 1, and every row has a token. */
  int32_t mask[8] = {1, 1, 1, 0, 1, 1, 0, 0}, ids2[8] = {2, 7, 9, 3, 2, 7, 3, 0};
  ck_assert_int_eq(tpa_model_forward(m, ids2, NULL, mask, 2, 4, out), TPA_OK);
  mask[5] = 2;
  ck_assert_int_eq(tpa_model_forward(m, ids2, NULL, mask, 2, 4, out), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "attention_mask[5] = 2 is not 0 or 1"));
  mask[5] = -1;
  ck_assert_int_eq(tpa_model_forward(m, ids2, NULL, mask, 2, 4, out), TPA_ERR_INVALID_ARGUMENT);
  mask[4] = mask[5] = 0;
  ck_assert_int_eq(tpa_model_forward(m, ids2, NULL, mask, 2, 4, out), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "row 1 has no token"));
  /* seq past max_position_embeddings */
  const int32_t long_seq = cfg.max_position_embeddings + 1;
  int32_t *lids = calloc((size_t)long_seq, sizeof(int32_t));
  ck_assert_int_eq(tpa_model_forward(m, lids, NULL, NULL, 1, long_seq, out),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "max_position_embeddings"));
  ck_assert_int_eq(tpa_model_forward(m, lids, NULL, NULL, 1, long_seq - 1, out), TPA_OK);
  free(lids);
  tpa_model_free(m);
}
END_TEST

/* Shapes seen once are built once: a second identical call adds no
 * primitive to the cache. */
START_TEST(primitives_are_cached) {
  tpa_model *m = load("tiny");
  int32_t ids[6] = {2, 7, 9, 3, 11, 3};
  float out[2];
  ck_assert_int_eq(tpa_model_forward(m, ids, NULL, NULL, 1, 6, out), TPA_OK);
  size_t n = tpa__nn_cache_size(m->infer->cache);
  ck_assert_uint_gt(n, 5);
  float again[2];
  ck_assert_int_eq(tpa_model_forward(m, ids, NULL, NULL, 1, 6, again), TPA_OK);
  ck_assert_uint_eq(tpa__nn_cache_size(m->infer->cache), n);
  ck_assert(out[0] == again[0] && out[1] == again[1]);
  tpa_model_free(m);
}
END_TEST

/* One model, several threads forwarding at once (the documented contract):
 * every thread gets the reference logits. */
typedef struct thread_job {
  const tpa_model *m;
  const ref_batch *r;
  double diff;
  tpa_status status;
} thread_job;

static void *thread_forward(void *arg) {
  thread_job *j = arg;
  float got[64];
  j->diff = 0;
  for (int rep = 0; rep < 5; rep++) {
    j->status =
        tpa_model_forward(j->m, j->r->ids, j->r->types, j->r->mask, j->r->batch, j->r->seq, got);
    if (j->status != TPA_OK)
      return NULL;
    j->diff = fmax(j->diff, max_diff(got, j->r->logits, j->r->n_logits));
  }
  return NULL;
}

START_TEST(concurrent_forward) {
  tpa_model *m = load("tiny");
  json_t *ref = load_json("tiny/reference.json");
  ref_batch r[3] = {ref_batch_get(ref, 0), ref_batch_get(ref, 2), ref_batch_get(ref, 3)};
  pthread_t t[3];
  thread_job jobs[3];
  for (int i = 0; i < 3; i++) {
    ck_assert_uint_le(r[i].n_logits, 64);
    jobs[i] = (thread_job){m, &r[i], 0, TPA_OK};
    ck_assert_int_eq(pthread_create(&t[i], NULL, thread_forward, &jobs[i]), 0);
  }
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert_int_eq(jobs[i].status, TPA_OK);
    ck_assert_msg(jobs[i].diff <= TOL, "thread %d: diff %g", i, jobs[i].diff);
    ref_batch_free(&r[i]);
  }
  json_decref(ref);
  tpa_model_free(m);
}
END_TEST

/* ---- predict ---- */

typedef struct progress_log {
  uint64_t calls, last_done, total;
  bool monotonic;
  uint64_t cancel_after; /* 0: never */
} progress_log;

static bool on_progress(void *user, const char *stage, uint64_t done, uint64_t total) {
  progress_log *p = user;
  if (strcmp(stage, "predict") != 0 || done <= p->last_done)
    p->monotonic = false;
  p->calls++;
  p->last_done = done;
  p->total = total;
  return !(p->cancel_after && p->calls >= p->cancel_after);
}

/* tpa_model_predict on the real dev file equals the reference logits that
 * PyTorch computed for each row tokenized by HF, in file order. */
static void check_e2e(const char *ref_rel, tpa_task task, const char *tsv) {
  tpa_model *m = load("tiny");
  json_t *ref = load_json(ref_rel);
  const size_t rows = (size_t)json_integer_value(json_object_get(ref, "rows"));
  const int32_t maxlen = (int32_t)json_integer_value(json_object_get(ref, "max_seq_length"));
  char *path = shared_data(tsv);
  tpa_dataset_params dp;
  tpa_dataset_params_init(&dp, sizeof dp);
  dp.max_rows = rows;
  tpa_dataset *ds = NULL;
  ck_assert_msg(tpa_dataset_load(&ds, task, path, &dp) == TPA_OK, "%s: %s", path, tpa_last_error());
  ck_assert_uint_eq(tpa_dataset_size(ds), rows);
  tpa_predict_params pp;
  tpa_predict_params_init(&pp, sizeof pp);
  ck_assert_int_eq(pp.max_seq_length, 0); /* default: min(128, max_position_embeddings) */
  ck_assert_int_eq(pp.batch_size, 32);
  pp.max_seq_length = maxlen;
  pp.batch_size = 7; /* several batches of mixed lengths, a short last one */
  progress_log log = {0, 0, 0, true, 0};
  pp.progress = on_progress;
  pp.user = &log;
  float *got = calloc(rows * 2, sizeof *got);
  ck_assert_int_eq(tpa_model_predict(m, ds, &pp, got, rows * 2), TPA_OK);
  ck_assert_uint_eq(log.calls, (rows + 6) / 7);
  ck_assert(log.monotonic);
  ck_assert_uint_eq(log.last_done, rows);
  ck_assert_uint_eq(log.total, rows);
  const json_t *lg = json_object_get(ref, "logits");
  double worst = 0;
  for (size_t i = 0; i < rows; i++) {
    size_t n;
    double *want = json_reals(json_array_get(lg, i), &n);
    ck_assert_uint_eq(n, 2);
    worst = fmax(worst, max_diff(got + i * 2, want, 2));
    free(want);
  }
  ck_assert_msg(worst <= TOL, "%s: max abs diff %g", tsv, worst);
  /* The default length (0) means min(128, max_position_embeddings): 64 for
   * the tiny model, the length the reference was made with. */
  ck_assert_int_eq(maxlen, 64);
  tpa_predict_params dflt;
  tpa_predict_params_init(&dflt, sizeof dflt);
  dflt.batch_size = pp.batch_size; /* same batches, so the same bits */
  float *again = calloc(rows * 2, sizeof *again);
  ck_assert_int_eq(tpa_model_predict(m, ds, &dflt, again, rows * 2), TPA_OK);
  ck_assert(memcmp(again, got, rows * 2 * sizeof *got) == 0);
  free(again);
  /* Cancelling from the callback stops with TPA_ERR_CANCELLED. */
  log = (progress_log){0, 0, 0, true, 2};
  ck_assert_int_eq(tpa_model_predict(m, ds, &pp, got, rows * 2), TPA_ERR_CANCELLED);
  ck_assert_uint_eq(log.calls, 2);
  /* Too small an output buffer is refused before any work. */
  ck_assert_int_eq(tpa_model_predict(m, ds, &pp, got, rows * 2 - 1), TPA_ERR_BUFFER_TOO_SMALL);
  free(got);
  free(path);
  tpa_dataset_free(ds);
  json_decref(ref);
  tpa_model_free(m);
}

START_TEST(predict_rte) {
  check_e2e("tiny/e2e_rte.json", TPA_TASK_RTE, "glue/RTE/dev.tsv");
}
END_TEST
START_TEST(predict_sst2) {
  check_e2e("tiny/e2e_sst2.json", TPA_TASK_SST2, "glue/SST-2/dev.tsv");
}
END_TEST

START_TEST(predict_rejects_label_mismatch) {
  tpa_model *m = load("tiny");
  char *path = shared_data("glue/STS-B/dev.tsv");
  tpa_dataset_params dp;
  tpa_dataset_params_init(&dp, sizeof dp);
  dp.max_rows = 3;
  tpa_dataset *ds = NULL;
  ck_assert_msg(tpa_dataset_load(&ds, TPA_TASK_STSB, path, &dp) == TPA_OK, "%s", tpa_last_error());
  float got[8];
  tpa_predict_params pp;
  tpa_predict_params_init(&pp, sizeof pp);
  pp.max_seq_length = 64;
  ck_assert_int_eq(tpa_model_predict(m, ds, &pp, got, 8), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_msg(strstr(tpa_last_error(), "labels") != NULL, "%s", tpa_last_error());
  pp.max_seq_length = 65; /* past the tiny model's 64 positions */
  ck_assert_int_eq(tpa_model_predict(m, ds, &pp, got, 8), TPA_ERR_INVALID_ARGUMENT);
  free(path);
  tpa_dataset_free(ds);
  tpa_model_free(m);
}
END_TEST

/* ---- nn kernels against naive double-precision loops ---- */

static void fill(float *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    p[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
}

/* dst = GELU(src x W + b + add) with src a strided view (every other
 * column of a wider buffer) and W read transposed in place, as HF's
 * [out, in] weight. */
START_TEST(nn_matmul_post_ops) {
  tpa__nn_cache *cache = NULL;
  tpa__nn_ctx *ctx = NULL;
  ck_assert_int_eq(tpa__nn_cache_create(&cache), TPA_OK);
  ck_assert_int_eq(tpa__nn_ctx_create(&ctx, cache), TPA_OK);
  enum { M = 7, K = 13, N = 5 };
  float src[M * 2 * K], w[N * K], b[N], add[M * N], dst[M * N];
  fill(src, M * 2 * K, 1);
  fill(w, N * K, 2);
  fill(b, N, 3);
  fill(add, M * N, 4);
  tpa__nn_matmul_desc d;
  memset(&d, 0, sizeof d);
  d.src = tpa__nn_strided2(M, K, 2 * K, 2);
  d.wei = tpa__nn_strided2(K, N, 1, K);
  d.bias = tpa__nn_dense2(1, N);
  d.add = tpa__nn_dense2(M, N);
  d.dst = tpa__nn_dense2(M, N);
  d.act = TPA__NN_ACT_GELU_ERF;
  ck_assert_int_eq(tpa__nn_matmul(ctx, &d, src, w, b, add, dst, "test"), TPA_OK);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double acc = b[j] + add[i * N + j];
      for (int k = 0; k < K; k++)
        acc += (double)src[i * 2 * K + 2 * k] * w[j * K + k];
      double want = 0.5 * acc * (1.0 + erf(acc / sqrt(2.0)));
      ck_assert_msg(fabs(dst[i * N + j] - want) < 1e-5, "[%d,%d] %g vs %g", i, j, dst[i * N + j],
                    want);
    }
  /* The same through packed weights. */
  size_t bytes = 0;
  ck_assert_int_eq(tpa__nn_packed_size(ctx, K, N, &bytes), TPA_OK);
  ck_assert_uint_ge(bytes, (size_t)K * N * sizeof(float));
  float *packed = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
  float again[M * N];
  ck_assert_int_eq(tpa__nn_pack_weights(ctx, &d.wei, w, packed, "test"), TPA_OK);
  d.wei = tpa__nn_dense2(K, N);
  d.wei_packed = 1;
  ck_assert_int_eq(tpa__nn_matmul(ctx, &d, src, packed, b, add, again, "test"), TPA_OK);
  for (int i = 0; i < M * N; i++)
    ck_assert_msg(fabsf(again[i] - dst[i]) < 1e-6f, "%d: %g vs %g", i, again[i], dst[i]);
  /* Inconsistent shapes: a backend error naming the primitive. */
  d.wei_packed = 0;
  d.wei = tpa__nn_dense2(K + 1, N);
  ck_assert_int_eq(tpa__nn_matmul(ctx, &d, src, w, b, add, dst, "bad shapes"), TPA_ERR_BACKEND);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "matmul"));
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "bad shapes"));
  free(packed);
  tpa__nn_ctx_free(ctx);
  tpa__nn_cache_free(cache);
}
END_TEST

START_TEST(nn_softmax_layer_norm) {
  tpa__nn_cache *cache = NULL;
  tpa__nn_ctx *ctx = NULL;
  ck_assert_int_eq(tpa__nn_cache_create(&cache), TPA_OK);
  ck_assert_int_eq(tpa__nn_ctx_create(&ctx, cache), TPA_OK);
  enum { R = 6, C = 37 };
  float x[R * C], y[R * C], g[C], b[C];
  fill(x, R * C, 5);
  fill(g, C, 6);
  fill(b, C, 7);
  for (int i = 0; i < C; i++)
    x[i] *= 30.0f;     /* a row with large values: softmax must not overflow */
  x[C + 3] = -FLT_MAX; /* a masked position gets exactly 0 */
  const tpa__nn_tensor t = tpa__nn_dense2(R, C);
  ck_assert_int_eq(tpa__nn_softmax(ctx, &t, 1, x, y, "test softmax"), TPA_OK);
  for (int r = 0; r < R; r++) {
    double mx = -INFINITY, sum = 0;
    for (int c = 0; c < C; c++)
      mx = fmax(mx, x[r * C + c]);
    for (int c = 0; c < C; c++)
      sum += exp((double)x[r * C + c] - mx);
    for (int c = 0; c < C; c++) {
      double want = exp((double)x[r * C + c] - mx) / sum;
      ck_assert_msg(fabs(y[r * C + c] - want) < 1e-6, "[%d,%d] %g vs %g", r, c, y[r * C + c], want);
    }
  }
  ck_assert(y[C + 3] == 0.0f);
  const float eps = 1e-5f;
  ck_assert_int_eq(tpa__nn_layer_norm(ctx, &t, eps, x, g, b, y, "test LN"), TPA_OK);
  for (int r = 0; r < R; r++) {
    if (r == 1)
      continue; /* holds -FLT_MAX: its variance overflows float */
    double mean = 0, var = 0;
    for (int c = 0; c < C; c++)
      mean += x[r * C + c];
    mean /= C;
    for (int c = 0; c < C; c++)
      var += (x[r * C + c] - mean) * (x[r * C + c] - mean);
    var /= C;
    for (int c = 0; c < C; c++) {
      double want = (x[r * C + c] - mean) / sqrt(var + eps) * g[c] + b[c];
      ck_assert_msg(fabs(y[r * C + c] - want) < 1e-5, "[%d,%d] %g vs %g", r, c, y[r * C + c], want);
    }
  }
  tpa__nn_ctx_free(ctx);
  tpa__nn_cache_free(cache);
}
END_TEST

static Suite *nn_suite(void) {
  Suite *s = suite_create("nn");
  TCase *tc = tcase_create("matmul");
  tcase_add_test(tc, nn_matmul_post_ops);
  suite_add_tcase(s, tc);
  tc = tcase_create("softmax-layer-norm");
  tcase_add_test(tc, nn_softmax_layer_norm);
  suite_add_tcase(s, tc);
  return s;
}

static Suite *forward_suite(void) {
  Suite *s = suite_create("forward");
  TCase *tc = tcase_create("reference-logits");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, logits_f32);
  tcase_add_test(tc, logits_f16);
  tcase_add_test(tc, logits_bf16);
  tcase_add_test(tc, logits_pruned);
  tcase_add_test(tc, pruned_differs_from_full);
  suite_add_tcase(s, tc);
  tc = tcase_create("batch-invariance");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, batch_composition_invariance);
  tcase_add_test(tc, multi_pass_batch);
  suite_add_tcase(s, tc);
  tc = tcase_create("invalid-input");
  tcase_add_test(tc, invalid_inputs_rejected);
  suite_add_tcase(s, tc);
  tc = tcase_create("primitive-cache");
  tcase_add_test(tc, primitives_are_cached);
  suite_add_tcase(s, tc);
  tc = tcase_create("threads");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, concurrent_forward);
  suite_add_tcase(s, tc);
  return s;
}

static Suite *predict_suite(void) {
  Suite *s = suite_create("predict");
  TCase *tc = tcase_create("end-to-end");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, predict_rte);
  tcase_add_test(tc, predict_sst2);
  suite_add_tcase(s, tc);
  tc = tcase_create("arguments");
  tcase_add_test(tc, predict_rejects_label_mismatch);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(nn_suite());
  srunner_add_suite(sr, forward_suite());
  srunner_add_suite(sr, predict_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
