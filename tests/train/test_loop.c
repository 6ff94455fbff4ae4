/* SPDX-License-Identifier: Apache-2.0 */
/* The training loop on the tiny fixture model with real SST-2 rows:
 * the loss falls, two runs are bitwise equal, a run stopped and resumed
 * from its checkpoint ends bitwise equal to an uninterrupted one and
 * reports the whole run's counts and time (resumed twice), and the
 * kept best epoch is what prediction then sees (LoRA through the adapter
 * path, full fine-tuning through the rebuilt packed inference weights,
 * both compared with the metric the loop measured itself). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stages/lora.h"
#include "tpa/tpa.h"
#include "train_tests.h"

static tpa_model *load_tiny(void) {
  tpa_model *m = NULL;
  ck_assert_msg(tpa_model_load(&m, fixture_path("tiny"), NULL) == TPA_OK, "%s", tpa_last_error());
  return m;
}

static tpa_dataset *load_sst2(const char *file, size_t rows) {
  tpa_dataset_params dp;
  tpa_dataset_params_init(&dp, sizeof dp);
  dp.max_rows = rows;
  tpa_dataset *ds = NULL;
  char rel[64];
  snprintf(rel, sizeof rel, "glue/SST-2/%s", file);
  ck_assert_msg(tpa_dataset_load(&ds, TPA_TASK_SST2, shared_path(rel), &dp) == TPA_OK, "%s",
                tpa_last_error());
  return ds;
}

static tpa_lora_set *new_set(const tpa_model *m) {
  tpa_lora_params lp;
  tpa_lora_params_init(&lp, sizeof lp);
  lp.rank = 4;
  lp.seed = 3;
  tpa_lora_set *s = NULL;
  ck_assert_msg(tpa_lora_set_create(&s, m, &lp) == TPA_OK, "%s", tpa_last_error());
  return s;
}

/* Every trainable value of a set, concatenated (caller frees). */
static float *set_values(tpa_lora_set *s, size_t *count) {
  size_t n = tpa__lora_set_tensors(s, NULL, 0);
  tpa__tensor_ref *refs = calloc(n, sizeof *refs);
  ck_assert_ptr_nonnull(refs);
  tpa__lora_set_tensors(s, refs, n);
  size_t total = 0;
  for (size_t i = 0; i < n; i++)
    total += refs[i].count;
  float *v = malloc(total * sizeof *v), *p = v;
  ck_assert_ptr_nonnull(v);
  for (size_t i = 0; i < n; i++) {
    memcpy(p, refs[i].data, refs[i].count * sizeof *p);
    p += refs[i].count;
  }
  free(refs);
  *count = total;
  return v;
}

typedef struct losses {
  int n;
  double loss[16];
  double main[16];
} losses;

static void collect(void *user, const tpa_epoch_report *r) {
  losses *l = user;
  if (l->n < 16) {
    l->loss[l->n] = r->train_loss;
    l->main[l->n++] = r->dev.main;
  }
}

static tpa_train_params base_params(void) {
  tpa_train_params p;
  tpa_train_params_init(&p, sizeof p);
  p.batch_size = 16;
  p.learning_rate = 2e-3;
  return p;
}

/* 200 real SST-2 rows, dropout on (config's 0.1): the mean training loss
 * of the last epoch is clearly below the first's. */
START_TEST(lora_loss_falls) {
  tpa_model *m = load_tiny();
  tpa_dataset *train = load_sst2("train.tsv", 200);
  tpa_lora_set *set = new_set(m);
  losses l = {0};
  tpa_train_params p = base_params();
  p.epochs = 4;
  p.on_epoch = collect;
  p.user = &l;
  tpa_train_result res = {.size = sizeof res};
  ck_assert_msg(tpa_train_lora(m, set, train, NULL, &p, &res) == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_eq(l.n, 4);
  ck_assert_int_eq(res.epochs, 4);
  ck_assert_int_eq(res.steps, 4 * 13);
  ck_assert_uint_eq(res.examples, 800);
  ck_assert_int_eq(res.best_epoch, 0); /* no dev set */
  ck_assert_uint_eq(res.trainable_params, tpa_lora_set_num_params(set));
  ck_assert_msg(l.loss[3] < l.loss[0] - 0.1, "loss %.4f -> %.4f", l.loss[0], l.loss[3]);
  ck_assert(res.final_train_loss == l.loss[3]);
  tpa_lora_set_free(set);
  tpa_dataset_free(train);
  tpa_model_free(m);
}
END_TEST

START_TEST(lora_runs_are_bitwise_equal) {
  tpa_model *m = load_tiny();
  tpa_dataset *train = load_sst2("train.tsv", 48);
  float *v[2];
  size_t n[2];
  for (int k = 0; k < 2; k++) {
    tpa_lora_set *set = new_set(m);
    tpa_train_params p = base_params();
    p.epochs = 2;
    ck_assert_msg(tpa_train_lora(m, set, train, NULL, &p, NULL) == TPA_OK, "%s", tpa_last_error());
    v[k] = set_values(set, &n[k]);
    tpa_lora_set_free(set);
  }
  ck_assert_uint_eq(n[0], n[1]);
  ck_assert_int_eq(memcmp(v[0], v[1], n[0] * sizeof(float)), 0);
  /* ... and the run did change the set (it is not a trivial equality). */
  tpa_lora_set *fresh = new_set(m);
  size_t nf;
  float *f = set_values(fresh, &nf);
  ck_assert_int_ne(memcmp(v[0], f, nf * sizeof(float)), 0);
  free(f);
  tpa_lora_set_free(fresh);
  free(v[0]);
  free(v[1]);
  tpa_dataset_free(train);
  tpa_model_free(m);
}
END_TEST

/* Cancel a run at step 7 (its last checkpoint is at step 6), resume it,
 * and compare with a run that was never interrupted. */
static bool cancel_at_7(void *user, const char *stage, uint64_t done, uint64_t total) {
  (void)user;
  (void)stage;
  (void)total;
  return done < 7;
}

START_TEST(lora_resume_is_bitwise_equal) {
  tpa_model *m = load_tiny();
  tpa_dataset *train = load_sst2("train.tsv", 64);
  tpa_dataset *dev = load_sst2("dev.tsv", 48);
  char dir_a[256], dir_b[256];
  make_temp_dir(dir_a, sizeof dir_a, "resume");
  make_temp_dir(dir_b, sizeof dir_b, "resume");
  tpa_train_params p = base_params();
  p.epochs = 3;
  p.save_every = 3;

  tpa_lora_set *a = new_set(m);
  p.checkpoint_dir = dir_a;
  tpa_train_result ra = {.size = sizeof ra};
  ck_assert_msg(tpa_train_lora(m, a, train, dev, &p, &ra) == TPA_OK, "%s", tpa_last_error());

  tpa_lora_set *b = new_set(m);
  p.checkpoint_dir = dir_b;
  p.progress = cancel_at_7;
  ck_assert_int_eq(tpa_train_lora(m, b, train, dev, &p, NULL), TPA_ERR_CANCELLED);
  tpa_lora_set_free(b);
  /* A new process would start from a fresh set: so does this one. */
  b = new_set(m);
  p.progress = NULL;
  p.resume = true;
  losses l = {0};
  p.on_epoch = collect;
  p.user = &l;
  tpa_train_result rb = {.size = sizeof rb};
  ck_assert_msg(tpa_train_lora(m, b, train, dev, &p, &rb) == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_eq(l.n, 3); /* every epoch reported, though the first was resumed mid-way */
  ck_assert_int_eq(rb.steps, ra.steps);
  ck_assert_int_eq(rb.best_epoch, ra.best_epoch);
  ck_assert(rb.best_metric == ra.best_metric);
  ck_assert(rb.final_train_loss == ra.final_train_loss);
  ck_assert_uint_eq(rb.examples, ra.examples - 6 * 16); /* six steps came from the checkpoint */
  ck_assert_int_eq(rb.resumed_step, 6);
  ck_assert_uint_eq(rb.run_examples, ra.examples); /* ... and the run counts them */
  ck_assert_uint_eq(rb.run_tokens, ra.tokens);
  ck_assert_uint_eq(ra.run_examples, ra.examples);
  ck_assert_uint_eq(ra.run_tokens, ra.tokens);
  ck_assert_int_eq(ra.resumed_step, 0);
  ck_assert(ra.run_seconds == ra.seconds);
  ck_assert(rb.run_seconds > rb.seconds);
  size_t na, nb;
  float *va = set_values(a, &na), *vb = set_values(b, &nb);
  ck_assert_uint_eq(na, nb);
  ck_assert_int_eq(memcmp(va, vb, na * sizeof(float)), 0);

  /* Other settings are refused rather than silently mixed. */
  p.learning_rate = 1e-3;
  ck_assert_int_eq(tpa_train_lora(m, b, train, dev, &p, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "other settings"));

  free(va);
  free(vb);
  tpa_lora_set_free(a);
  tpa_lora_set_free(b);
  remove_tree(dir_a);
  remove_tree(dir_b);
  tpa_dataset_free(dev);
  tpa_dataset_free(train);
  tpa_model_free(m);
}
END_TEST

/* What one call saw: the monotonic time (the library's clock) after each
 * step, and the epochs' reported seconds. The progress callback cancels
 * after step `stop` (0: never). */
typedef struct call_log {
  double at[16];     /* [step] */
  double epoch_s[8]; /* [epoch] */
  int64_t stop;
} call_log;

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void log_step(void *user, const tpa_step_report *r) {
  if (r->step < 16)
    ((call_log *)user)->at[r->step] = mono();
}

static void log_epoch(void *user, const tpa_epoch_report *r) {
  if (r->epoch < 8)
    ((call_log *)user)->epoch_s[r->epoch] = r->seconds;
}

static bool stop_at(void *user, const char *stage, uint64_t done, uint64_t total) {
  (void)stage;
  (void)total;
  const call_log *l = user;
  return l->stop == 0 || (int64_t)done < l->stop;
}

/* A run cut short by max_steps (11 steps of 4 per epoch: the last epoch
 * is partial, so its rows come from replaying the shuffles), stopped at
 * step 7 (checkpoint 6, mid-epoch 2), resumed and stopped at step 10
 * (checkpoint 9), resumed to the end. The last call reports the whole
 * run: the uninterrupted run's examples and tokens, and at least the time
 * each call spent up to the checkpoint the next one continued from,
 * bounded below by the step times the test saw (a call starts its clock
 * before its first step and saves after its callbacks), so the check
 * cannot fail by timing. */
START_TEST(resumed_twice_reports_the_whole_run) {
  tpa_model *m = load_tiny();
  tpa_dataset *train = load_sst2("train.tsv", 64);
  char dir_a[256], dir_b[256];
  make_temp_dir(dir_a, sizeof dir_a, "runcount");
  make_temp_dir(dir_b, sizeof dir_b, "runcount");
  tpa_train_params p = base_params();
  p.max_steps = 11;
  p.save_every = 3;
  p.on_step = log_step;
  p.on_epoch = log_epoch;
  p.progress = stop_at;

  tpa_lora_set *set = new_set(m);
  call_log la = {0};
  p.user = &la;
  p.checkpoint_dir = dir_a;
  tpa_train_result ra = {.size = sizeof ra};
  ck_assert_msg(tpa_train_lora(m, set, train, NULL, &p, &ra) == TPA_OK, "%s", tpa_last_error());
  tpa_lora_set_free(set);
  ck_assert_uint_eq(ra.examples, 2 * 64 + 3 * 16);
  ck_assert_uint_eq(ra.run_examples, ra.examples);
  ck_assert_uint_eq(ra.run_tokens, ra.tokens); /* the partial epoch's rows replayed */

  call_log l[3] = {{.stop = 7}, {.stop = 10}, {.stop = 0}};
  tpa_train_result rb = {.size = sizeof rb};
  p.checkpoint_dir = dir_b;
  for (int k = 0; k < 3; k++) {
    set = new_set(m);
    p.user = &l[k];
    p.resume = k > 0;
    const tpa_status st = tpa_train_lora(m, set, train, NULL, &p, &rb);
    tpa_lora_set_free(set);
    ck_assert_msg(st == (k < 2 ? TPA_ERR_CANCELLED : TPA_OK), "call %d: %s", k, tpa_last_error());
  }
  ck_assert_int_eq(rb.resumed_step, 9);
  ck_assert_int_eq(rb.steps, ra.steps);
  ck_assert_int_eq(rb.epochs, ra.epochs);
  ck_assert_uint_eq(rb.examples, 2 * 16); /* this call: steps 10 and 11 */
  ck_assert_uint_eq(rb.run_examples, ra.examples);
  ck_assert_uint_eq(rb.run_tokens, ra.tokens);
  /* Call 1 counted from before step 1 to its checkpoint after step 6,
   * call 2 from before step 7 to its checkpoint after step 9. */
  const double before = (l[0].at[6] - l[0].at[1]) + (l[1].at[9] - l[1].at[7]);
  ck_assert_msg(rb.run_seconds >= before + rb.seconds, "run %.6f s < %.6f + this call's %.6f",
                rb.run_seconds, before, rb.seconds);
  /* Epoch 2 (steps 5-8) began in call 1 and ended in call 2: its seconds
   * (reported by call 2) hold both shares. */
  const double epoch2 = (l[0].at[6] - l[0].at[5]) + (l[1].at[8] - l[1].at[7]);
  ck_assert_msg(l[1].epoch_s[2] >= epoch2, "epoch 2: %.6f s < %.6f", l[1].epoch_s[2], epoch2);
  /* The last call reports epochs 1 and 2 from the checkpoint as call 2 did. */
  ck_assert(l[2].epoch_s[2] == l[1].epoch_s[2]);
  remove_tree(dir_a);
  remove_tree(dir_b);
  tpa_dataset_free(train);
  tpa_model_free(m);
}
END_TEST

/* Accuracy of @p logits over @p ds (SST-2). */
static double accuracy(const tpa_dataset *ds, const float *logits) {
  size_t n = tpa_dataset_size(ds), right = 0;
  for (size_t i = 0; i < n; i++)
    right += (logits[2 * i + 1] > logits[2 * i]) == (tpa_dataset_label(ds, i) == 1.0f);
  return (double)right / (double)n;
}

/* keep_best: the set ends as the best epoch's, which prediction with the
 * adapter scores exactly as the loop's own evaluation did. */
START_TEST(lora_keeps_best_epoch) {
  tpa_model *m = load_tiny();
  tpa_dataset *train = load_sst2("train.tsv", 200);
  tpa_dataset *dev = load_sst2("dev.tsv", 200);
  tpa_lora_set *set = new_set(m);
  losses l = {0};
  tpa_train_params p = base_params();
  p.epochs = 4;
  p.on_epoch = collect;
  p.user = &l;
  tpa_train_result res = {.size = sizeof res};
  ck_assert_msg(tpa_train_lora(m, set, train, dev, &p, &res) == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_ge(res.best_epoch, 1);
  double best = -1;
  for (int i = 0; i < l.n; i++)
    best = l.main[i] > best ? l.main[i] : best;
  ck_assert(res.best_metric == best);
  ck_assert(l.main[res.best_epoch - 1] == best);
  float *logits = malloc(200 * 2 * sizeof *logits);
  tpa_predict_params pp;
  tpa_predict_params_init(&pp, sizeof pp);
  pp.adapter = set;
  ck_assert_msg(tpa_model_predict(m, dev, &pp, logits, 400) == TPA_OK, "%s", tpa_last_error());
  ck_assert_double_eq_tol(accuracy(dev, logits), best, 1.01 / 200);
  free(logits);
  tpa_lora_set_free(set);
  tpa_dataset_free(dev);
  tpa_dataset_free(train);
  tpa_model_free(m);
}
END_TEST

/* Full fine-tuning: the loss falls, the model's own (packed) inference
 * then sees the kept weights, and a second run gives the same logits. */
START_TEST(full_trains_the_model) {
  tpa_dataset *train = load_sst2("train.tsv", 200);
  tpa_dataset *dev = load_sst2("dev.tsv", 200);
  float *logits[2];
  for (int k = 0; k < 2; k++) {
    tpa_model *m = load_tiny();
    float *before = malloc(400 * sizeof(float));
    ck_assert_int_eq(tpa_model_predict(m, dev, NULL, before, 400), TPA_OK);
    losses l = {0};
    tpa_train_params p = base_params();
    p.learning_rate = 1e-3;
    p.epochs = 3;
    p.on_epoch = collect;
    p.user = &l;
    tpa_train_result res = {.size = sizeof res};
    ck_assert_msg(tpa_train_full(m, train, dev, &p, &res) == TPA_OK, "%s", tpa_last_error());
    tpa_param_counts pc = {.size = sizeof pc};
    ck_assert_int_eq(tpa_model_param_counts(m, &pc), TPA_OK);
    ck_assert_uint_eq(res.trainable_params, pc.total);
    ck_assert_msg(l.loss[2] < l.loss[0] - 0.1, "loss %.4f -> %.4f", l.loss[0], l.loss[2]);
    logits[k] = malloc(400 * sizeof(float));
    ck_assert_int_eq(tpa_model_predict(m, dev, NULL, logits[k], 400), TPA_OK);
    ck_assert_int_ne(memcmp(before, logits[k], 400 * sizeof(float)), 0);
    ck_assert_double_eq_tol(accuracy(dev, logits[k]), res.best_metric, 1.01 / 200);
    free(before);
    tpa_model_free(m);
  }
  ck_assert_int_eq(memcmp(logits[0], logits[1], 400 * sizeof(float)), 0);
  free(logits[0]);
  free(logits[1]);
  tpa_dataset_free(dev);
  tpa_dataset_free(train);
}
END_TEST

static void count_step(void *user, const tpa_step_report *r) {
  (void)r;
  ++*(int *)user;
}

/* An absurd learning rate blows the weights up: the run stops with a
 * message naming the step, and the checkpoint of the last good step is
 * still there and readable. */
START_TEST(divergence_stops_with_checkpoint_intact) {
  tpa_model *m = load_tiny();
  tpa_dataset *train = load_sst2("train.tsv", 64);
  tpa_lora_set *set = new_set(m);
  char dir[256];
  make_temp_dir(dir, sizeof dir, "nan");
  tpa_train_params p = base_params();
  p.learning_rate = 1e30;
  p.warmup_ratio = 0;
  p.max_grad_norm = 0;
  p.save_every = 1;
  p.checkpoint_dir = dir;
  int steps = 0;
  p.on_step = count_step;
  p.user = &steps;
  tpa_train_result res = {.size = sizeof res};
  ck_assert_int_eq(tpa_train_lora(m, set, train, NULL, &p, &res), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_ge(steps, 1);
  ck_assert_msg(strstr(tpa_last_error(), "diverged") != NULL, "%s", tpa_last_error());
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), dir));
  /* Resuming reads that checkpoint (saved after the last good step), so
   * the next step diverges again at once, with the same message. */
  char msg[512];
  snprintf(msg, sizeof msg, "%s", tpa_last_error());
  p.resume = true;
  steps = 0;
  tpa_lora_set *again = new_set(m);
  ck_assert_int_eq(tpa_train_lora(m, again, train, NULL, &p, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(tpa_last_error(), msg);
  ck_assert_int_eq(steps, 0);
  tpa_lora_set_free(again);
  remove_tree(dir);
  tpa_lora_set_free(set);
  tpa_dataset_free(train);
  tpa_model_free(m);
}
END_TEST

/* Fewer training rows than a batch, and a dev set larger than both:
 * evaluation batches must fit the work area sized for training. */
START_TEST(tiny_training_set_large_dev) {
  tpa_model *m = load_tiny();
  tpa_dataset *train = load_sst2("train.tsv", 5);
  tpa_dataset *dev = load_sst2("dev.tsv", 70);
  tpa_lora_set *set = new_set(m);
  tpa_train_params p = base_params();
  p.batch_size = 32;
  p.epochs = 2;
  tpa_train_result res = {.size = sizeof res};
  ck_assert_msg(tpa_train_lora(m, set, train, dev, &p, &res) == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_eq(res.steps, 2);
  ck_assert_int_ge(res.best_epoch, 1);
  tpa_lora_set_free(set);
  tpa_dataset_free(dev);
  tpa_dataset_free(train);
  tpa_model_free(m);
}
END_TEST

START_TEST(bad_arguments_are_refused) {
  tpa_model *m = load_tiny();
  tpa_dataset *train = load_sst2("train.tsv", 8);
  tpa_lora_set *set = new_set(m);
  tpa_train_params p = base_params();
  ck_assert_int_eq(tpa_train_lora(NULL, set, train, NULL, &p, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_train_lora(m, set, NULL, NULL, &p, NULL), TPA_ERR_INVALID_ARGUMENT);
  p.batch_size = 0;
  ck_assert_int_eq(tpa_train_lora(m, set, train, NULL, &p, NULL), TPA_ERR_INVALID_ARGUMENT);
  p = base_params();
  p.resume = true; /* without a checkpoint_dir */
  ck_assert_int_eq(tpa_train_lora(m, set, train, NULL, &p, NULL), TPA_ERR_INVALID_ARGUMENT);
  p = base_params();
  p.max_seq_length = 65; /* past the tiny model's 64 positions */
  ck_assert_int_eq(tpa_train_lora(m, set, train, NULL, &p, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "max_seq_length"));
  /* A task with another label count. */
  tpa_dataset *stsb = NULL;
  tpa_dataset_params dp;
  tpa_dataset_params_init(&dp, sizeof dp);
  dp.max_rows = 4;
  ck_assert_int_eq(tpa_dataset_load(&stsb, TPA_TASK_STSB, shared_path("glue/STS-B/train.tsv"), &dp),
                   TPA_OK);
  p = base_params();
  ck_assert_int_eq(tpa_train_lora(m, set, stsb, NULL, &p, NULL), TPA_ERR_INVALID_ARGUMENT);
  tpa_dataset_free(stsb);
  /* An unset result->size is refused before any step: no step callback
   * runs, and full fine-tuning leaves the model's outputs as they were. */
  int steps = 0;
  p = base_params();
  p.on_step = count_step;
  p.user = &steps;
  tpa_train_result res = {.size = 0};
  ck_assert_int_eq(tpa_train_lora(m, set, train, NULL, &p, &res), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "result->size"));
  float before[16], after[16];
  ck_assert_int_eq(tpa_model_predict(m, train, NULL, before, 16), TPA_OK);
  ck_assert_int_eq(tpa_train_full(m, train, NULL, &p, &res), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(steps, 0);
  ck_assert_int_eq(tpa_model_predict(m, train, NULL, after, 16), TPA_OK);
  ck_assert_int_eq(memcmp(before, after, sizeof before), 0);
  tpa_lora_set_free(set);
  tpa_dataset_free(train);
  tpa_model_free(m);
}
END_TEST

Suite *loop_suite(void) {
  Suite *s = suite_create("loop");
  TCase *tc = tcase_create("learning");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, lora_loss_falls);
  tcase_add_test(tc, full_trains_the_model);
  suite_add_tcase(s, tc);
  tc = tcase_create("determinism");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, lora_runs_are_bitwise_equal);
  tcase_add_test(tc, lora_resume_is_bitwise_equal);
  tcase_add_test(tc, resumed_twice_reports_the_whole_run);
  suite_add_tcase(s, tc);
  tc = tcase_create("best_epoch");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, lora_keeps_best_epoch);
  suite_add_tcase(s, tc);
  tc = tcase_create("arguments");
  tcase_add_test(tc, bad_arguments_are_refused);
  tcase_add_test(tc, tiny_training_set_large_dev);
  tcase_add_test(tc, divergence_stops_with_checkpoint_intact);
  suite_add_tcase(s, tc);
  return s;
}
