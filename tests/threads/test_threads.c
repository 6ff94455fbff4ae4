/* SPDX-License-Identifier: Apache-2.0 */
/* Thread safety of the read-only handles (docs/threads.md): one tiny model,
 * its tokenizer, one dataset and one LoRA set are loaded once and shared by
 * WORKERS pthreads that each run tpa_model_forward, tpa_model_predict (half
 * of them through the shared adapter) and tpa_tokenizer_encode on inputs
 * of their own, many times, at once. Every result must equal, bit for bit,
 * the one the same call gave single-threaded on a second copy of the model
 * before the threads started (so the shared model's primitive cache is
 * filled by the threads, concurrently); that reference forward is itself
 * checked against the PyTorch logits of tests/fixtures/tiny/reference.json.
 * A further thread fails on purpose with bad input again and again: each
 * thread's tpa_last_error() must name only its own failures.
 *
 * Worker threads never call ck_assert (Check's longjmp must stay on the
 * main thread): they count mismatches and keep the first description,
 * which the main thread asserts on. Runs oneDNN, so CK_FORK=no.
 * TPA_THREADS_ITERS overrides the iteration count (24). tools/tsan.sh
 * runs this test under ThreadSanitizer. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "test_util.h"
#include "tpa/tpa.h"

enum {
  WORKERS = 4,  /* threads running inference */
  SETS = 2,     /* forward inputs per worker, alternated */
  ROWS = 48,    /* dataset rows read for predict */
  ENC_LEN = 40, /* max_len of the encoded pairs */
  MSG = 1024
};

/* Shared, read-only once the threads start. */
typedef struct shared {
  const tpa_model *model; /* what the threads run: loaded, never run before */
  const tpa_model *ref;   /* a second load of the same files, for references */
  const tpa_tokenizer *tok;
  const tpa_dataset *ds;
  const tpa_lora_set *adapter;
  int32_t vocab, max_pos, labels;
  int iters;
  pthread_barrier_t start;
} shared;

typedef struct fwd_input {
  int32_t batch, seq;
  int32_t *ids, *types, *mask;
  float *ref; /* [batch, labels] single-threaded logits */
} fwd_input;

typedef struct worker {
  int id;
  shared *sh;
  fwd_input in[SETS];
  tpa_predict_params pp;
  float *pred_ref;                  /* [ROWS, labels] */
  int32_t *enc_ref, *enc_ref_types; /* [ROWS, ENC_LEN] */
  size_t *enc_ref_n;                /* [ROWS] */
  /* Results, read by the main thread after join. */
  long calls, mismatches;
  char first[MSG];
} worker;

static void note(worker *w, const char *fmt, ...) {
  w->mismatches++;
  if (w->first[0])
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->first, sizeof w->first, fmt, ap);
  va_end(ap);
}

/* Seeded xorshift: per-thread inputs that differ from thread to thread. */
static uint32_t next_rand(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (uint32_t)(*s >> 11);
}

/* A padded batch whose shape depends on (thread, set): rows get shorter
 * down the batch, padding is id 0 with mask 0, the second half of each
 * row is segment 1. Different shapes make the threads build and look up
 * primitives in the shared cache at the same time. */
static void make_input(fwd_input *in, int t, int k, int32_t vocab) {
  in->batch = 2 + (t + k) % 3;
  in->seq = 8 + 8 * ((t * SETS + k) % 4);
  size_t n = (size_t)in->batch * (size_t)in->seq;
  in->ids = calloc(n, sizeof *in->ids);
  in->types = calloc(n, sizeof *in->types);
  in->mask = calloc(n, sizeof *in->mask);
  ck_assert(in->ids && in->types && in->mask);
  uint64_t s = 0x9E3779B97F4A7C15ull * (uint64_t)(1 + t * SETS + k);
  for (int32_t b = 0; b < in->batch; b++) {
    int32_t len = in->seq - 3 * b;
    len = len < 1 ? 1 : len; /* every row keeps a token (the mask is validated) */
    for (int32_t j = 0; j < in->seq; j++) {
      size_t i = (size_t)b * (size_t)in->seq + (size_t)j;
      if (j < len) {
        in->ids[i] = 1 + (int32_t)(next_rand(&s) % (uint32_t)(vocab - 1));
        in->mask[i] = 1;
        in->types[i] = j >= len / 2;
      }
    }
  }
}

static void free_input(fwd_input *in) {
  free(in->ids);
  free(in->types);
  free(in->mask);
  free(in->ref);
}

/* The row pair worker @p t encodes as example @p i. */
static void pair_of(const tpa_dataset *ds, int t, size_t i, const char **a, const char **b) {
  size_t n = tpa_dataset_size(ds);
  *a = tpa_dataset_text_a(ds, i);
  *b = (i + (size_t)t) % 3 == 0 ? NULL : tpa_dataset_text_a(ds, (i * 7 + (size_t)t) % n);
}

/* Everything a worker compares with, computed on the main thread with
 * the reference model, so that the shared model's primitive cache starts
 * empty and the threads fill it concurrently. */
static void make_references(worker *w) {
  const shared *sh = w->sh;
  const size_t nl = (size_t)sh->labels;
  for (int k = 0; k < SETS; k++) {
    fwd_input *in = &w->in[k];
    make_input(in, w->id, k, sh->vocab);
    in->ref = calloc((size_t)in->batch * nl, sizeof *in->ref);
    ck_assert_ptr_nonnull(in->ref);
    tpa_status s =
        tpa_model_forward(sh->ref, in->ids, in->types, in->mask, in->batch, in->seq, in->ref);
    ck_assert_msg(s == TPA_OK, "reference forward: %s", tpa_last_error());
  }
  tpa_predict_params_init(&w->pp, sizeof w->pp);
  w->pp.batch_size = 5 + 4 * w->id;
  w->pp.max_seq_length = 24 + 8 * (w->id % 3);
  w->pp.adapter = w->id % 2 ? sh->adapter : NULL;
  size_t n = tpa_dataset_size(sh->ds);
  w->pred_ref = calloc(n * nl, sizeof *w->pred_ref);
  ck_assert_ptr_nonnull(w->pred_ref);
  tpa_status s = tpa_model_predict(sh->ref, sh->ds, &w->pp, w->pred_ref, n * nl);
  ck_assert_msg(s == TPA_OK, "reference predict: %s", tpa_last_error());
  w->enc_ref = calloc(n * ENC_LEN, sizeof *w->enc_ref);
  w->enc_ref_types = calloc(n * ENC_LEN, sizeof *w->enc_ref_types);
  w->enc_ref_n = calloc(n, sizeof *w->enc_ref_n);
  ck_assert(w->enc_ref && w->enc_ref_types && w->enc_ref_n);
  for (size_t i = 0; i < n; i++) {
    const char *a, *b;
    pair_of(sh->ds, w->id, i, &a, &b);
    s = tpa_tokenizer_encode(tpa_model_tokenizer(sh->ref), a, b, ENC_LEN, w->enc_ref + i * ENC_LEN,
                             w->enc_ref_types + i * ENC_LEN, &w->enc_ref_n[i]);
    ck_assert_msg(s == TPA_OK, "reference encode %zu: %s", i, tpa_last_error());
  }
}

static void free_worker(worker *w) {
  for (int k = 0; k < SETS; k++)
    free_input(&w->in[k]);
  free(w->pred_ref);
  free(w->enc_ref);
  free(w->enc_ref_types);
  free(w->enc_ref_n);
}

/* A deliberate failure: TPA_ERR_INVALID_ARGUMENT with @p want in the
 * message, which @p saved receives. */
static void check_failure(worker *w, tpa_status s, const char *want, char *saved) {
  const char *msg = tpa_last_error();
  if (s != TPA_ERR_INVALID_ARGUMENT)
    note(w, "thread %d: bad input gave %s, not TPA_ERR_INVALID_ARGUMENT", w->id, tpa_status_str(s));
  else if (!strstr(msg, want))
    note(w, "thread %d: message \"%s\" lacks \"%s\"", w->id, msg, want);
  snprintf(saved, MSG, "%s", msg);
}

/* Fail a forward on purpose with a bad id that names this thread (value
 * base + iteration, at a position that moves). */
static void fail_forward(worker *w, int32_t base, int it, char *saved) {
  enum { B = 2, S = 9 };
  int32_t ids[B * S];
  float logits[B * 8];
  for (int i = 0; i < B * S; i++)
    ids[i] = 1;
  const int pos = it % (B * S);
  const int32_t bad = base + it;
  ids[pos] = bad;
  tpa_status s = tpa_model_forward(w->sh->model, ids, NULL, NULL, B, S, logits);
  char want[128];
  snprintf(want, sizeof want, "ids[%d] = %d is outside the vocabulary", pos, (int)bad);
  check_failure(w, s, want, saved);
}

/* The message must still be this thread's own (saved) one. */
static void check_kept(worker *w, const char *saved, const char *when) {
  const char *msg = tpa_last_error();
  if (strcmp(msg, saved) != 0)
    note(w, "thread %d %s: tpa_last_error changed from \"%s\" to \"%s\"", w->id, when, saved, msg);
}

/* After a successful call the message is empty or this thread's own. */
static void check_clean(worker *w, const char *saved, const char *after) {
  const char *msg = tpa_last_error();
  if (msg[0] && strcmp(msg, saved) != 0)
    note(w, "thread %d after %s: foreign message \"%s\"", w->id, after, msg);
}

static void *run_worker(void *arg) {
  worker *w = arg;
  const shared *sh = w->sh;
  const size_t nl = (size_t)sh->labels, n = tpa_dataset_size(sh->ds);
  float *logits = calloc(8 * nl, sizeof *logits);
  float *pred = calloc(n * nl, sizeof *pred);
  char *saved = calloc(MSG, 1);
  pthread_barrier_wait(&w->sh->start);
  if (!logits || !pred || !saved) {
    note(w, "thread %d: out of memory", w->id);
    goto out;
  }
  for (int it = 0; it < sh->iters; it++) {
    for (int k = 0; k < SETS; k++) {
      const fwd_input *in = &w->in[(k + it) % SETS];
      tpa_status s =
          tpa_model_forward(sh->model, in->ids, in->types, in->mask, in->batch, in->seq, logits);
      w->calls++;
      if (s != TPA_OK)
        note(w, "thread %d forward: %s", w->id, tpa_last_error());
      else if (memcmp(logits, in->ref, (size_t)in->batch * nl * sizeof *logits) != 0)
        note(w, "thread %d iteration %d: forward %dx%d logits differ from the reference", w->id, it,
             in->batch, in->seq);
      check_clean(w, saved, "forward");
    }
    if (it % 2 == 0) { /* predict is the slowest call: every other iteration */
      memset(pred, 0, n * nl * sizeof *pred);
      tpa_status s = tpa_model_predict(sh->model, sh->ds, &w->pp, pred, n * nl);
      w->calls++;
      if (s != TPA_OK)
        note(w, "thread %d predict: %s", w->id, tpa_last_error());
      else if (memcmp(pred, w->pred_ref, n * nl * sizeof *pred) != 0)
        note(w, "thread %d iteration %d: predict%s logits differ from the reference", w->id, it,
             w->pp.adapter ? " (adapter)" : "");
      check_clean(w, saved, "predict");
    }
    for (size_t i = (size_t)it % 4; i < n; i += 4) {
      int32_t ids[ENC_LEN], types[ENC_LEN];
      size_t len = 0;
      const char *a, *b;
      pair_of(sh->ds, w->id, i, &a, &b);
      tpa_status s = tpa_tokenizer_encode(sh->tok, a, b, ENC_LEN, ids, types, &len);
      w->calls++;
      if (s != TPA_OK || len != w->enc_ref_n[i] ||
          memcmp(ids, w->enc_ref + i * ENC_LEN, len * sizeof *ids) != 0 ||
          memcmp(types, w->enc_ref_types + i * ENC_LEN, len * sizeof *types) != 0)
        note(w, "thread %d iteration %d: encoding of row %zu differs (%s)", w->id, it, i,
             s == TPA_OK ? "ids" : tpa_last_error());
    }
    /* A failure of our own, still ours after the other threads moved on. */
    fail_forward(w, 100000 * (w->id + 1), it, saved);
    sched_yield();
    check_kept(w, saved, "after yielding");
  }
out:
  free(logits);
  free(pred);
  free(saved);
  return NULL;
}

/* The error thread: nothing but failures, three kinds, each message
 * checked right away and again after the workers had time to run. */
static void *run_failer(void *arg) {
  worker *w = arg;
  const shared *sh = w->sh;
  char *saved = calloc(MSG, 1);
  int32_t *ids = calloc((size_t)sh->max_pos + 8, sizeof *ids);
  float logits[8];
  pthread_barrier_wait(&w->sh->start);
  if (!saved || !ids) {
    note(w, "error thread: out of memory");
    goto out;
  }
  for (int it = 0; it < 4 * sh->iters; it++) {
    char want[128];
    tpa_status s;
    w->calls++;
    switch (it % 3) {
    case 0: fail_forward(w, 900000, it, saved); break;
    case 1: {
      const int32_t seq = sh->max_pos + 1 + it % 7;
      for (int32_t i = 0; i < seq; i++)
        ids[i] = 1;
      s = tpa_model_forward(sh->model, ids, NULL, NULL, 1, seq, logits);
      snprintf(want, sizeof want, "seq %d exceeds max_position_embeddings %d", (int)seq,
               (int)sh->max_pos);
      check_failure(w, s, want, saved);
      break;
    }
    default: {
      tpa_predict_params p;
      tpa_predict_params_init(&p, sizeof p);
      p.batch_size = -1 - it;
      s = tpa_model_predict(sh->model, sh->ds, &p, logits, 0);
      snprintf(want, sizeof want, "batch_size %d must be > 0", p.batch_size);
      check_failure(w, s, want, saved);
      break;
    }
    }
    for (int y = 0; y < 4; y++)
      sched_yield();
    check_kept(w, saved, "after yielding");
  }
out:
  free(saved);
  free(ids);
  return NULL;
}

static int iterations(void) {
  const char *e = getenv("TPA_THREADS_ITERS");
  int n = e ? atoi(e) : 0;
  return n > 0 ? n : 24;
}

/* The single-threaded forward agrees with PyTorch (reference.json batch
 * 0), so the references the threads are held to are right. */
static void check_against_pytorch(const tpa_model *m) {
  char *path = fixture("tiny/reference.json");
  json_error_t err;
  json_t *ref = json_load_file(path, 0, &err);
  ck_assert_msg(ref != NULL, "%s: %s", path, err.text);
  free(path);
  json_t *b = json_array_get(json_object_get(ref, "batches"), 0);
  ck_assert_ptr_nonnull(b);
  const int32_t batch = (int32_t)json_integer_value(json_object_get(b, "batch"));
  const int32_t seq = (int32_t)json_integer_value(json_object_get(b, "seq"));
  const size_t n = (size_t)batch * (size_t)seq;
  json_t *jl = json_object_get(b, "logits");
  ck_assert(batch > 0 && seq > 0 && json_array_size(jl) > 0);
  int32_t *v[3];
  const char *keys[3] = {"ids", "type_ids", "mask"};
  for (int k = 0; k < 3; k++) {
    json_t *a = json_object_get(b, keys[k]);
    ck_assert_uint_eq(json_array_size(a), n);
    v[k] = calloc(n, sizeof *v[k]);
    ck_assert_ptr_nonnull(v[k]);
    for (size_t i = 0; i < n; i++)
      v[k][i] = (int32_t)json_integer_value(json_array_get(a, i));
  }
  float *out = calloc(json_array_size(jl), sizeof *out);
  ck_assert_ptr_nonnull(out);
  ck_assert_msg(tpa_model_forward(m, v[0], v[1], v[2], batch, seq, out) == TPA_OK, "%s",
                tpa_last_error());
  for (size_t i = 0; i < json_array_size(jl); i++) {
    double want = json_number_value(json_array_get(jl, i));
    ck_assert_msg(fabs(out[i] - want) <= 1e-4, "logit %zu: %g vs PyTorch %g", i, out[i], want);
  }
  for (int k = 0; k < 3; k++)
    free(v[k]);
  free(out);
  json_decref(ref);
}

START_TEST(shared_model_many_threads) {
  tpa_model *m = load_fixture("tiny");
  tpa_model *ref = load_fixture("tiny");
  tpa_model_config cfg = {.size = sizeof cfg};
  ck_assert_int_eq(tpa_model_get_config(m, &cfg), TPA_OK);
  const char *root = getenv("TPA_SHARED_DATA");
  ck_assert_msg(root != NULL, "TPA_SHARED_DATA is not set");
  char *tsv = join(root, "glue/SST-2/dev.tsv");
  tpa_dataset_params dp;
  tpa_dataset_params_init(&dp, sizeof dp);
  dp.max_rows = ROWS;
  tpa_dataset *ds = NULL;
  ck_assert_msg(tpa_dataset_load(&ds, TPA_TASK_SST2, tsv, &dp) == TPA_OK, "%s", tpa_last_error());
  free(tsv);
  ck_assert_uint_eq(tpa_dataset_size(ds), ROWS);
  tpa_lora_set *set = NULL;
  tpa_lora_params lp;
  tpa_lora_params_init(&lp, sizeof lp);
  lp.rank = 4;
  ck_assert_msg(tpa_lora_set_create(&set, m, &lp) == TPA_OK, "%s", tpa_last_error());

  shared sh = {.model = m,
               .ref = ref,
               .tok = tpa_model_tokenizer(m),
               .ds = ds,
               .adapter = set,
               .vocab = cfg.vocab_size,
               .max_pos = cfg.max_position_embeddings,
               .labels = cfg.num_labels,
               .iters = iterations()};
  ck_assert_int_le(sh.labels, 8);
  ck_assert_int_lt(sh.vocab, 100000); /* the bad ids below are all out of range */
  worker w[WORKERS + 1];
  memset(w, 0, sizeof w);
  for (int t = 0; t <= WORKERS; t++) {
    w[t].id = t;
    w[t].sh = &sh;
    if (t < WORKERS)
      make_references(&w[t]);
  }
  /* The primitives the threads will need, built once each; the shared
   * model has none yet. */
  const size_t primitives = tpa__nn_cache_size(ref->infer->cache);
  ck_assert_uint_gt(primitives, 0);
  ck_assert_uint_eq(tpa__nn_cache_size(m->infer->cache), 0);
  check_against_pytorch(ref);
  ck_assert_int_eq(pthread_barrier_init(&sh.start, NULL, WORKERS + 1), 0);
  pthread_t th[WORKERS + 1];
  for (int t = 0; t <= WORKERS; t++)
    ck_assert_int_eq(pthread_create(&th[t], NULL, t < WORKERS ? run_worker : run_failer, &w[t]), 0);
  long calls = 0;
  for (int t = 0; t <= WORKERS; t++) {
    ck_assert_int_eq(pthread_join(th[t], NULL), 0);
    calls += w[t].calls;
  }
  pthread_barrier_destroy(&sh.start);
  for (int t = 0; t <= WORKERS; t++)
    ck_assert_msg(w[t].mismatches == 0, "thread %d: %ld mismatches, first: %s", t, w[t].mismatches,
                  w[t].first);
  /* Every thread really ran all its iterations. */
  for (int t = 0; t < WORKERS; t++)
    ck_assert_int_ge(w[t].calls, (long)sh.iters * (SETS + 1));
  ck_assert_int_eq(w[WORKERS].calls, 4L * sh.iters);
  /* Threads that raced to build the same primitive kept one copy. */
  ck_assert_uint_eq(tpa__nn_cache_size(m->infer->cache), primitives);
  printf("threads: %d workers + 1 error thread, %d iterations, %ld calls, all bitwise equal\n",
         WORKERS, sh.iters, calls);
  for (int t = 0; t < WORKERS; t++)
    free_worker(&w[t]);
  tpa_lora_set_free(set);
  tpa_dataset_free(ds);
  tpa_model_free(ref);
  tpa_model_free(m);
}
END_TEST

/* Two threads with different OpenMP thread counts share one model: each
 * gets primitives built for its own count (the cache keys on it), and both
 * reproduce the single-threaded logits. */
typedef struct omp_worker {
  const tpa_model *m;
  int threads;
  const int32_t *ids;
  float logits[8];
  tpa_status st;
} omp_worker;

static void *run_omp_worker(void *arg) {
  omp_worker *w = arg;
  omp_set_num_threads(w->threads);
  w->st = tpa_model_forward(w->m, w->ids, NULL, NULL, 2, 8, w->logits);
  return NULL;
}

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

START_TEST(threads_with_different_omp_counts) {
#ifdef UNDER_TSAN
  /* tools/tsan.sh keeps OpenMP on the calling thread (its runtime is not
   * instrumented); a 2-thread team would only give false reports. */
  printf("threads_with_different_omp_counts: skipped under ThreadSanitizer\n");
  return;
#endif
  tpa_model *m = load_fixture("tiny");
  static const int32_t ids[16] = {2, 40, 41, 42, 43, 44, 45, 3, 2, 50, 51, 52, 53, 54, 55, 3};
  omp_worker one = {.m = m, .threads = 1, .ids = ids};
  ck_assert_ptr_eq(run_omp_worker(&one), NULL); /* on this thread first */
  ck_assert_int_eq(one.st, TPA_OK);
  const size_t per_count = tpa__nn_cache_size(m->infer->cache);
  omp_worker w[2] = {{.m = m, .threads = 1, .ids = ids}, {.m = m, .threads = 2, .ids = ids}};
  pthread_t th[2];
  for (int t = 0; t < 2; t++)
    ck_assert_int_eq(pthread_create(&th[t], NULL, run_omp_worker, &w[t]), 0);
  for (int t = 0; t < 2; t++)
    ck_assert_int_eq(pthread_join(th[t], NULL), 0);
  for (int t = 0; t < 2; t++) {
    ck_assert_int_eq(w[t].st, TPA_OK);
    for (int k = 0; k < 4; k++)
      ck_assert_msg(fabsf(w[t].logits[k] - one.logits[k]) <= 1e-5f,
                    "%d threads: logit %d is %g, single thread %g", w[t].threads, k, w[t].logits[k],
                    one.logits[k]);
  }
  /* The 2-thread worker built its own set; the 1-thread one reused. */
  ck_assert_uint_eq(tpa__nn_cache_size(m->infer->cache), 2 * per_count);
  tpa_model_free(m);
}
END_TEST

/* Control: a failure on the main thread is invisible to a new thread,
 * and the new thread's failure leaves the main thread's message alone. */
typedef struct peek {
  const tpa_model *m;
  char before[MSG], after[MSG];
  tpa_status st;
} peek;

static void *peek_thread(void *arg) {
  peek *p = arg;
  snprintf(p->before, sizeof p->before, "%s", tpa_last_error());
  int32_t ids[3] = {1, -5, 1};
  float logits[8];
  p->st = tpa_model_forward(p->m, ids, NULL, NULL, 1, 3, logits);
  snprintf(p->after, sizeof p->after, "%s", tpa_last_error());
  return NULL;
}

START_TEST(error_is_per_thread) {
  tpa_model *m = load_fixture("tiny");
  int32_t ids[2] = {1, 1};
  float logits[8];
  ck_assert_int_eq(tpa_model_forward(m, ids, NULL, NULL, 1, 0, logits), TPA_ERR_INVALID_ARGUMENT);
  char mine[MSG];
  snprintf(mine, sizeof mine, "%s", tpa_last_error());
  ck_assert_ptr_nonnull(strstr(mine, "batch (1) and seq (0) must be positive"));
  peek p = {.m = m};
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, peek_thread, &p), 0);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_str_eq(p.before, "");
  ck_assert_int_eq(p.st, TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(p.after, "ids[1] = -5 is outside the vocabulary"));
  ck_assert_str_eq(tpa_last_error(), mine);
  tpa_model_free(m);
}
END_TEST

static Suite *threads_suite(void) {
  Suite *s = suite_create("threads");
  TCase *tc = tcase_create("shared read-only model");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, shared_model_many_threads);
  suite_add_tcase(s, tc);
  tc = tcase_create("per-thread error");
  tcase_add_test(tc, error_is_per_thread);
  tcase_add_test(tc, threads_with_different_omp_counts);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(threads_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
