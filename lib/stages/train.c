/* SPDX-License-Identifier: Apache-2.0 */
/* The training loop behind tpa_train_lora() and tpa_train_full()
 * (docs/method.md section 8): tokenize once, then per epoch a seeded shuffle,
 * batches padded to their longest row, loss and gradients, clipping,
 * AdamW on the linear schedule, dev evaluation, the best epoch kept, and
 * a checkpoint every save_every steps and at each epoch end.
 *
 * Reproducibility: everything random is a function of the seed and the
 * loop position (the shuffle generator's state is saved at each epoch
 * start, the dropout seed of a step is mix(seed, step)), and a checkpoint
 * stores the exact floats of parameters and moments, so a run resumed
 * from any checkpoint ends with the same bits as an uninterrupted one. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/model.h"
#include "data/metrics.h"
#include "core/log.h"
#include "core/params.h"
#include "stages/checkpoint.h"
#include "stages/train_dist.h"
#include "stages/train_internal.h"
#include "tpa/train.h"

static const tpa_train_params train_defaults = {
    .size = sizeof(tpa_train_params),
    .epochs = 3,
    .max_steps = 0,
    .batch_size = 32,
    .learning_rate = 0, /* 5e-4 for LoRA, 2e-5 for full fine-tuning */
    .weight_decay = 0.01,
    .warmup_ratio = 0.06,
    .max_grad_norm = 1.0,
    .hidden_dropout = -1,
    .attention_dropout = -1,
    .seed = 42,
    .shuffle = true,
    .max_seq_length = 0,
    .checkpoint_dir = NULL,
    .save_every = 0,
    .resume = false,
    .keep_best = true,
};

void tpa_train_params_init(tpa_train_params *p, size_t size) {
  tpa__params_init(p, size, &train_defaults, sizeof train_defaults);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Everything one run holds; freed by run_free. */
typedef struct run {
  const tpa_model *m;
  tpa_train_params p;
  const char *fn; /* "tpa_train_lora" or "tpa_train_full" */
  tpa__encoded train, dev;
  tpa__trainable t;
  tpa__grad_work *work;
  size_t *perm;
  int32_t *ids, *types, *mask;
  float *labels, *dev_logits;
  float *dist_buf; /* data parallelism: the step's all-reduce buffer */
  char settings[1024];
  float hidden_dropout, attn_dropout, cls_dropout;
  int32_t max_len;
  int32_t work_rows; /* batch rows the work area holds (training and evaluation) */
  int64_t steps_per_epoch, total_steps, warmup;
  int32_t epochs;
  tpa__metric_spec metrics; /* of the training set's label space */
  /* Monotonic clock: when this call and the epoch in progress began, and
   * what the checkpoint it resumed says was spent before them (the run's
   * time, the epoch's time), so that checkpoints and results carry the
   * whole run's time across any number of resumes. */
  double t0, epoch_t0;
  double prior_seconds, prior_epoch_seconds;
} run;

static void run_free(run *r) {
  tpa__encoded_free(&r->train);
  tpa__encoded_free(&r->dev);
  tpa__trainable_free(&r->t);
  tpa__grad_work_free(r->work);
  free(r->perm);
  free(r->ids);
  free(r->types);
  free(r->mask);
  free(r->labels);
  free(r->dev_logits);
  free(r->dist_buf);
}

static tpa_status check_params(const run *r, const tpa_dataset *train) {
  const tpa_train_params *p = &r->p;
  const char *fn = r->fn;
  if (p->batch_size <= 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: batch_size %d must be > 0", fn, p->batch_size);
  if (p->max_steps < 0 || (p->max_steps == 0 && p->epochs <= 0))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "%s: epochs (%d) must be > 0 unless max_steps (%" PRId64 ") is set", fn,
                      p->epochs, p->max_steps);
  if (!(p->learning_rate >= 0) || !isfinite(p->learning_rate) || !(p->weight_decay >= 0) ||
      !isfinite(p->weight_decay) || !(p->max_grad_norm >= 0) || !isfinite(p->max_grad_norm))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "%s: learning_rate %g, weight_decay %g and max_grad_norm %g must be finite "
                      "and >= 0",
                      fn, p->learning_rate, p->weight_decay, p->max_grad_norm);
  if (!(p->warmup_ratio >= 0 && p->warmup_ratio <= 1))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: warmup_ratio %g must be in [0, 1]", fn,
                      p->warmup_ratio);
  if (!(p->hidden_dropout < 1) || !(p->attention_dropout < 1))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "%s: dropout rates (%g, %g) must be below 1 (negative: config.json's)", fn,
                      p->hidden_dropout, p->attention_dropout);
  if (p->save_every < 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: save_every %" PRId64 " must be >= 0", fn,
                      p->save_every);
  if (p->resume && !p->checkpoint_dir)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: resume needs a checkpoint_dir", fn);
  if (tpa_dataset_size(train) == 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: the training set is empty", fn);
  return TPA_OK;
}

/* FNV-1a over the tokenized training set: resuming on other data is refused. */
static uint64_t data_hash(const tpa__encoded *e) {
  uint64_t h = 0xcbf29ce484222325ull;
  const unsigned char *parts[3] = {(const void *)e->len, (const void *)e->labels, NULL};
  const size_t sizes[2] = {e->n * sizeof *e->len, e->n * sizeof *e->labels};
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < sizes[k]; i++)
      h = (h ^ parts[k][i]) * 0x100000001b3ull;
  for (size_t i = 0; i < e->n; i++)
    for (int32_t j = 0; j < e->len[i]; j++)
      h = (h ^ (uint32_t)e->ids[i * (size_t)e->max_len + (size_t)j]) * 0x100000001b3ull;
  return h;
}

static void describe_settings(run *r) {
  const tpa_train_params *p = &r->p;
  snprintf(r->settings, sizeof r->settings,
           "mode=%s tensors=%zu params=%zu train=%zu/%016" PRIx64 " dev=%zu seed=%" PRIu64
           " batch=%d lr=%.17g wd=%.17g warmup=%.17g clip=%.17g dropout=%.9g/%.9g shuffle=%d "
           "max_len=%d epochs=%d max_steps=%" PRId64 " keep_best=%d",
           r->t.full ? "full" : "lora", r->t.n, r->t.total, r->train.n, data_hash(&r->train),
           r->dev.n, p->seed, p->batch_size, p->learning_rate, p->weight_decay, p->warmup_ratio,
           p->max_grad_norm, (double)r->hidden_dropout, (double)r->attn_dropout, (int)p->shuffle,
           r->max_len, r->epochs, p->max_steps, (int)p->keep_best);
}

/* Tokenize, size the schedule and allocate the loop's buffers. */
static tpa_status prepare(run *r, const tpa_dataset *train, const tpa_dataset *dev) {
  const tpa_model *m = r->m;
  tpa_status s = tpa__resolve_max_seq(m, r->p.max_seq_length, r->fn, &r->max_len);
  if (s == TPA_OK)
    s = tpa__check_task(m, train, r->fn);
  if (s == TPA_OK && dev) {
    s = tpa__check_task(m, dev, r->fn);
    if (s == TPA_OK && tpa_dataset_task(dev) != tpa_dataset_task(train))
      s = tpa__error(
          TPA_ERR_INVALID_ARGUMENT, "%s: the dev set is of task %s, training of %s", r->fn,
          tpa_task_name(tpa_dataset_task(dev)) ? tpa_task_name(tpa_dataset_task(dev)) : "(table)",
          tpa_task_name(tpa_dataset_task(train)) ? tpa_task_name(tpa_dataset_task(train))
                                                 : "(table)");
    for (int32_t c = 0; s == TPA_OK && c < tpa_dataset_num_labels(train); c++) {
      const char *a = tpa_dataset_label_name(train, c), *b = tpa_dataset_label_name(dev, c);
      if ((a || b) && (!a || !b || strcmp(a, b) != 0))
        s = tpa__error(TPA_ERR_INVALID_ARGUMENT,
                       "%s: class %d is \"%.40s\" in the training set but \"%.40s\" in the dev set",
                       r->fn, (int)c, a ? a : "", b ? b : "");
    }
  }
  if (s == TPA_OK) {
    tpa__dataset_metric_spec(train, &r->metrics);
    if (r->p.metric && !(r->metrics.present & r->p.metric))
      s = tpa__error(TPA_ERR_INVALID_ARGUMENT,
                     "%s: metric %s is not computed for this data (params->metric)", r->fn,
                     tpa__metric_name(r->p.metric));
  }
  if (s == TPA_OK)
    s = tpa__encode_dataset(m, train, tpa_dataset_size(train), r->max_len, false, "training set",
                            &r->train);
  if (s == TPA_OK && dev)
    s = tpa__encode_dataset(m, dev, tpa_dataset_size(dev), r->max_len, false, "dev set", &r->dev);
  for (size_t i = 0; s == TPA_OK && i < r->train.n; i++)
    if (!isfinite(r->train.labels[i]))
      s = tpa__error(TPA_ERR_DATA, "%s: training example %zu has no label", r->fn, i);
  for (size_t i = 0; s == TPA_OK && i < r->dev.n; i++)
    if (!isfinite(r->dev.labels[i]))
      s = tpa__error(TPA_ERR_DATA, "%s: dev example %zu has no label", r->fn, i);
  if (s != TPA_OK)
    return s;

  const int64_t n = (int64_t)r->train.n, bs = r->p.batch_size;
  r->steps_per_epoch = (n + bs - 1) / bs;
  if (r->p.max_steps > 0) {
    r->total_steps = r->p.max_steps;
    r->epochs = (int32_t)((r->total_steps + r->steps_per_epoch - 1) / r->steps_per_epoch);
  } else {
    r->epochs = r->p.epochs;
    r->total_steps = (int64_t)r->epochs * r->steps_per_epoch;
  }
  r->warmup = tpa__warmup_steps(r->p.warmup_ratio, r->total_steps);
  const double hd = r->p.hidden_dropout, ad = r->p.attention_dropout;
  r->hidden_dropout = (float)(hd < 0 ? m->cfg.hidden_dropout : hd);
  r->attn_dropout = (float)(ad < 0 ? m->cfg.attn_dropout : ad);
  /* The head's dropout follows an explicit hidden dropout, as BERT's
   * pooled dropout always has; else the config's head dropout. */
  r->cls_dropout = (float)(hd < 0 ? m->cfg.cls_dropout : hd);

  const size_t rows = (size_t)bs < r->train.n ? (size_t)bs : r->train.n;
  const size_t cells = rows * (size_t)r->max_len;
  r->perm = tpa__malloc_array(r->train.n, sizeof *r->perm);
  r->ids = tpa__malloc_array(cells, sizeof *r->ids);
  r->types = tpa__malloc_array(cells, sizeof *r->types);
  r->mask = tpa__malloc_array(cells, sizeof *r->mask);
  r->labels = tpa__malloc_array(rows, sizeof *r->labels);
  r->dev_logits =
      tpa__malloc_array(r->dev.n * (size_t)m->cfg.num_labels + 1, sizeof *r->dev_logits);
  if (!r->perm || !r->ids || !r->types || !r->mask || !r->labels || !r->dev_logits)
    return TPA__NO_MEMORY("training batch");
  /* Evaluation batches have the training batch size, so one work area
   * serves both. */
  r->work_rows = (int32_t)rows;
  return tpa__grad_work_create(&r->work, m, (int32_t)rows, r->max_len);
}

/* The first trainable tensor holding an Inf or NaN, NULL if none. x * 0
 * is 0 for every finite x and NaN otherwise, so one vectorizable sum per
 * tensor decides (a plain sum could overflow on finite values). */
static const tpa__tensor_ref *nonfinite_param(const run *r) {
  for (size_t i = 0; i < r->t.n; i++) {
    const tpa__tensor_ref *ref = &r->t.refs[i];
    const float *x = ref->data;
    float z = 0.0f;
#pragma omp simd reduction(+ : z)
    for (size_t k = 0; k < ref->count; k++)
      z += x[k] * 0.0f;
    if (z != 0.0f)
      return ref;
  }
  return NULL;
}

/* One optimizer step on the batch perm[b0 .. b0 + rows). */
static tpa_status train_step(run *r, size_t b0, size_t rows, int64_t step, double *loss_out,
                             tpa_step_report *rep) {
  const size_t *idx = r->perm + b0;
  const int32_t seq = tpa__encoded_longest(&r->train, idx, rows);
  /* Data parallelism (train_dist.c): this rank's rows [s0, s1) of the
   * batch, padded to the whole batch's length; [0, rows) in one process. */
  size_t s0 = 0, s1 = rows;
  tpa__train_dist_shard(r->p.dist, r->work, rows, &s0, &s1);
  tpa__encoded_fill(&r->train, idx + s0, s1 - s0, seq, r->ids, r->types, r->mask, r->labels);
  const tpa__batch b = {.batch = (int32_t)(s1 - s0),
                        .seq = seq,
                        .ids = r->ids,
                        .type_ids = r->types,
                        .mask = r->mask,
                        .labels = r->labels};
  const tpa__grad_opts o = {.hidden_dropout = r->hidden_dropout,
                            .attn_dropout = r->attn_dropout,
                            .cls_dropout = r->cls_dropout,
                            .dropout_seed = tpa__mix64(r->p.seed, (uint64_t)step)};
  double loss = 0;
  tpa_status s = s1 > s0 ? tpa__loss_and_grads(r->work, r->m, &r->t.w, r->t.lora, &b, &o, &loss,
                                               NULL, &r->t.gout)
                         : TPA_OK;
  s = tpa__train_dist_reduce(r->p.dist, &r->t, s1 > s0, s, &loss, r->dist_buf, r->fn);
  if (s != TPA_OK)
    return s;
  if (!isfinite(loss))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "%s: training diverged at step %" PRId64 ": the loss is %g (try a lower "
                      "learning rate); the last checkpoint%s%s is intact",
                      r->fn, step + 1, loss, r->p.checkpoint_dir ? " in " : "",
                      r->p.checkpoint_dir ? r->p.checkpoint_dir : "");
  const double norm = tpa__clip_grad_norm(r->t.grads, r->t.n, r->p.max_grad_norm);
  /* A finite loss can still have non-finite gradients (an overflow in the
   * backward pass); the norm is their sum of squares in double, so it is
   * finite exactly when every gradient is. Nothing is updated then. */
  if (!isfinite(norm))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "%s: training diverged at step %" PRId64 ": the gradient norm is not "
                      "finite (%g) with a finite loss %g (try a lower learning rate); the last "
                      "checkpoint%s%s is intact",
                      r->fn, step + 1, norm, loss, r->p.checkpoint_dir ? " in " : "",
                      r->p.checkpoint_dir ? r->p.checkpoint_dir : "");
  const double lr = tpa__linear_lr(r->p.learning_rate, step, r->warmup, r->total_steps);
  const tpa__adamw opt = {0.9, 0.999, 1e-8, r->p.weight_decay};
  size_t off = 0;
  for (size_t i = 0; i < r->t.n; i++) {
    const tpa__tensor_ref *ref = &r->t.refs[i];
    tpa__adamw_update(&opt, step + 1, lr, ref->decay, ref->data, r->t.grads[i].g, r->t.m + off,
                      r->t.v + off, ref->count);
    off += ref->count;
  }
  /* The update itself can overflow (a huge learning rate): stop before
   * the state is used or checkpointed. */
  const tpa__tensor_ref *bad = nonfinite_param(r);
  if (bad)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "%s: training diverged at step %" PRId64 ": parameter \"%s\" is not finite "
                      "after the update (learning rate %g; try a lower one); the last "
                      "checkpoint%s%s is intact",
                      r->fn, step + 1, bad->name, lr, r->p.checkpoint_dir ? " in " : "",
                      r->p.checkpoint_dir ? r->p.checkpoint_dir : "");
  *loss_out = loss;
  *rep = (tpa_step_report){.size = sizeof *rep,
                           .step = step + 1,
                           .total_steps = r->total_steps,
                           .examples = (int32_t)rows,
                           .loss = loss,
                           .learning_rate = lr,
                           .grad_norm = norm};
  return TPA_OK;
}

static tpa_status save_state(run *r, tpa__train_state *st) {
  if (!r->p.checkpoint_dir)
    return TPA_OK;
  const double now = now_seconds();
  st->seconds = r->prior_seconds + (now - r->t0);
  st->epoch_seconds = st->epoch_batch > 0 ? r->prior_epoch_seconds + (now - r->epoch_t0) : 0.0;
  const tpa__ckpt_tensors ct = {r->t.refs, r->t.n, r->t.m, r->t.v,
                                r->p.keep_best && st->best_epoch > 0 ? r->t.best : NULL};
  /* Data parallelism: only rank 0 writes; the others wait for its status. */
  tpa_status s = tpa__dist_rank(r->p.dist) == 0
                     ? tpa__ckpt_save(r->p.checkpoint_dir, r->settings, st, &ct)
                     : TPA_OK;
  return tpa__dist_agree(r->p.dist, s, "writing the checkpoint");
}

static tpa_status evaluate(run *r, tpa_metrics *dev, double *macro_f1) {
  memset(dev, 0, sizeof *dev);
  dev->size = sizeof *dev;
  *macro_f1 = 0;
  if (r->dev.n == 0)
    return TPA_OK;
  tpa_status s =
      tpa__train_dist_eval(r->p.dist, r->work, r->m, &r->t, &r->dev, r->work_rows, r->dev_logits);
  tpa_metrics_extra extra = {.size = sizeof extra};
  if (s == TPA_OK)
    s = tpa__metrics_compute(&r->metrics, r->dev_logits, r->dev.labels, r->dev.n, r->p.metric,
                             r->fn, dev, &extra);
  if (s == TPA_OK)
    *macro_f1 = extra.macro_f1;
  return s;
}

static void add_history(tpa__train_state *st, const tpa_epoch_report *rep) {
  if (st->n_history == TPA__CKPT_MAX_HISTORY) {
    memmove(st->history, st->history + 1, (TPA__CKPT_MAX_HISTORY - 1) * sizeof *st->history);
    st->n_history--;
  }
  st->history[st->n_history++] = *rep;
}

/* Evaluate, keep the best, report and checkpoint the end of an epoch. */
static tpa_status end_epoch(run *r, tpa__train_state *st, uint64_t rng_next,
                            tpa_epoch_report *rep) {
  memset(rep, 0, sizeof *rep);
  rep->size = sizeof *rep;
  tpa_status s = evaluate(r, &rep->dev, &rep->dev_macro_f1);
  if (s != TPA_OK)
    return s;
  rep->epoch = st->epoch + 1;
  rep->step = st->step;
  rep->train_loss = st->loss_steps > 0 ? st->loss_sum / (double)st->loss_steps : 0.0;
  /* Every GLUE headline metric grows with quality; the first epoch with a
   * dev set starts the record, later ones must beat it. */
  if (r->dev.n > 0 && (st->best_epoch == 0 || rep->dev.main > st->best_metric)) {
    rep->best = true;
    st->best_epoch = rep->epoch;
    st->best_metric = rep->dev.main;
    if (r->t.best)
      tpa__trainable_save(&r->t, r->t.best);
  }
  rep->seconds = r->prior_epoch_seconds + (now_seconds() - r->epoch_t0);
  r->prior_epoch_seconds = 0; /* the next epoch starts afresh */
  add_history(st, rep);
  if (r->p.on_epoch)
    r->p.on_epoch(r->p.user, rep);
  st->epoch++;
  st->epoch_batch = 0;
  st->rng_epoch = rng_next;
  st->loss_sum = 0;
  st->loss_steps = 0;
  return save_state(r, st);
}

static tpa_status resume(run *r, tpa__train_state *st) {
  const tpa__ckpt_tensors ct = {r->t.refs, r->t.n, r->t.m, r->t.v, r->t.best};
  bool found = false, has_best = false;
  tpa_status s = tpa__ckpt_load(r->p.checkpoint_dir, r->settings, st, &ct, &found, &has_best);
  if (s != TPA_OK)
    return tpa__error_prefix(s, "%s: resuming", r->fn);
  if (!found) {
    tpa__log(r->p.log, r->p.user, TPA_LOG_INFO,
             "no checkpoint in %s yet: training starts from the beginning", r->p.checkpoint_dir);
    return TPA_OK;
  }
  if (r->p.keep_best && st->best_epoch > 0 && !has_best)
    return tpa__error(TPA_ERR_TENSOR_MISSING, "%s: checkpoint in %s lacks the best epoch's tensors",
                      r->fn, r->p.checkpoint_dir);
  if (st->step > r->total_steps || st->epoch > r->epochs || st->epoch_batch > r->steps_per_epoch)
    return tpa__error(TPA_ERR_HEADER, "%s: checkpoint in %s is past the end of this run", r->fn,
                      r->p.checkpoint_dir);
  tpa__log(r->p.log, r->p.user, TPA_LOG_INFO,
           "resuming from %s at step %" PRId64 " of %" PRId64 " (epoch %d)", r->p.checkpoint_dir,
           st->step, r->total_steps, st->epoch + 1);
  /* Callers rebuild their per-epoch records from these. */
  for (int32_t i = 0; r->p.on_epoch && i < st->n_history; i++)
    r->p.on_epoch(r->p.user, &st->history[i]);
  return TPA_OK;
}

/* r->perm becomes the order of the epoch whose shuffle state is *rng
 * (identity without shuffling); *rng advances to the next epoch's. */
static void epoch_order(run *r, uint64_t *rng) {
  for (size_t i = 0; i < r->train.n; i++)
    r->perm[i] = i;
  if (r->p.shuffle)
    tpa__rng_shuffle(rng, r->perm, r->train.n);
}

static tpa_status train_loop(run *r, tpa__train_state *st, tpa_train_result *res) {
  tpa_status s = TPA_OK;
  const size_t n = r->train.n, bs = (size_t)r->p.batch_size;
  while (s == TPA_OK && st->epoch < r->epochs && st->step < r->total_steps) {
    r->epoch_t0 = now_seconds();
    /* The permutation is rebuilt from the epoch's starting state, so a run
     * resumed mid-epoch sees the same order. */
    uint64_t rng = st->rng_epoch;
    epoch_order(r, &rng);
    while (s == TPA_OK && st->epoch_batch < r->steps_per_epoch && st->step < r->total_steps) {
      const size_t b0 = (size_t)st->epoch_batch * bs;
      const size_t rows = b0 + bs <= n ? bs : n - b0;
      double loss = 0;
      tpa_step_report rep;
      s = train_step(r, b0, rows, st->step, &loss, &rep);
      if (s != TPA_OK)
        break;
      st->step++;
      st->epoch_batch++;
      st->loss_sum += loss;
      st->loss_steps++;
      res->examples += rows;
      for (size_t i = 0; i < rows; i++)
        res->tokens += (uint64_t)r->train.len[r->perm[b0 + i]];
      rep.epoch = st->epoch + 1;
      if (r->p.on_step)
        r->p.on_step(r->p.user, &rep);
      s = tpa__progress(r->p.progress, r->p.user, "train", (uint64_t)st->step,
                        (uint64_t)r->total_steps);
      s = tpa__dist_agree(r->p.dist, s, "the progress callback");
      const bool epoch_end = st->epoch_batch == r->steps_per_epoch || st->step == r->total_steps;
      if (s == TPA_OK && !epoch_end && r->p.save_every > 0 && st->step % r->p.save_every == 0)
        s = save_state(r, st);
    }
    if (s == TPA_OK) {
      tpa_epoch_report rep;
      s = end_epoch(r, st, rng, &rep);
    }
  }
  return s;
}

/* The shuffle generator's state at the start of the first epoch. */
static uint64_t first_shuffle_state(uint64_t seed) {
  return tpa__mix64(seed, 0x53485546464c45ull); /* "SHUFFLE" */
}

/* Examples and non-pad tokens that the run's first @p steps steps fed to
 * the model. They follow from the position alone (an epoch is a whole
 * pass in batches of batch_size, in its seeded shuffle's order), so a
 * resumed run counts its earlier calls exactly, from any checkpoint,
 * including those written before runs were counted; nothing is stored.
 * Uses r->perm. */
static void run_counts(run *r, int64_t steps, uint64_t *examples, uint64_t *tokens) {
  const size_t n = r->train.n, bs = (size_t)r->p.batch_size;
  const int64_t whole = steps / r->steps_per_epoch, part = steps % r->steps_per_epoch;
  uint64_t epoch_tokens = 0;
  for (size_t i = 0; i < n; i++)
    epoch_tokens += (uint64_t)r->train.len[i];
  *examples = (uint64_t)whole * n + (uint64_t)part * bs; /* part < steps_per_epoch: no last batch */
  *tokens = (uint64_t)whole * epoch_tokens;
  if (part == 0)
    return;
  /* An epoch cut short (max_steps): its rows are the first of its order,
   * which the shuffles of the epochs before it lead to. */
  uint64_t rng = first_shuffle_state(r->p.seed);
  for (int64_t e = 0; e <= whole; e++)
    epoch_order(r, &rng);
  for (size_t i = 0; i < (size_t)part * bs; i++)
    *tokens += (uint64_t)r->train.len[r->perm[i]];
}

static tpa_status train_run(run *r, tpa_model *full_model, tpa_lora_set *set,
                            const tpa_dataset *train, const tpa_dataset *dev,
                            const tpa_train_params *params, tpa_train_result *result) {
  r->t0 = now_seconds();
  tpa_status ps = tpa__params_read(&r->p, sizeof r->p, TPA__PARAMS_END(tpa_train_params, metric),
                                   params, &train_defaults, r->fn, "tpa_train_params");
  if (ps != TPA_OK)
    return ps;
  /* Checked before any work: a bad result struct must not cost a run
   * (nor, in full fine-tuning, change the model and then fail). */
  if (result) {
    char what[64];
    snprintf(what, sizeof what, "%s: result", r->fn);
    ps = tpa__result_check(result, what);
    if (ps != TPA_OK)
      return ps;
  }
  if (r->p.learning_rate == 0)
    r->p.learning_rate = full_model ? 2e-5 : 5e-4;
  tpa_status s = check_params(r, train);
  if (s == TPA_OK)
    s = full_model ? tpa__trainable_full(&r->t, r->m, r->p.keep_best)
                   : tpa__trainable_lora(&r->t, r->m, set, r->p.keep_best);
  if (s == TPA_OK)
    s = prepare(r, train, dev);
  if (s != TPA_OK)
    return s;
  describe_settings(r);

  tpa__train_state *st = calloc(1, sizeof *st);
  if (!st)
    return TPA__NO_MEMORY("training state");
  st->rng_epoch = first_shuffle_state(r->p.seed);
  tpa_train_result res = {.size = sizeof res};
  /* Data parallelism: rank 0 resumes and every rank takes its state. */
  const bool lead = tpa__dist_rank(r->p.dist) == 0;
  if (r->p.resume && lead)
    s = resume(r, st);
  s = tpa__train_dist_sync(r->p.dist, &r->t, st, s, &r->dist_buf, r->fn);
  for (int32_t i = 0; s == TPA_OK && !lead && r->p.on_epoch && i < st->n_history; i++)
    r->p.on_epoch(r->p.user, &st->history[i]);
  /* Zero without a checkpoint; the resumed one's figures with one. */
  r->prior_seconds = st->seconds;
  r->prior_epoch_seconds = st->epoch_seconds;
  res.resumed_step = st->step;
  if (s == TPA_OK)
    s = train_loop(r, st, &res);
  if (s == TPA_OK && r->p.keep_best && r->t.best && st->best_epoch > 0)
    tpa__trainable_restore(&r->t, r->t.best);
  if (s == TPA_OK && full_model)
    s = tpa__trainable_commit_full(&r->t, full_model);
  if (s == TPA_OK && result) {
    res.epochs = st->epoch;
    res.steps = st->step;
    res.best_epoch = st->best_epoch;
    res.best_metric = st->best_metric;
    res.final_train_loss = st->n_history > 0 ? st->history[st->n_history - 1].train_loss : 0.0;
    res.seconds = now_seconds() - r->t0;
    res.trainable_params = r->t.total;
    res.run_seconds = r->prior_seconds + res.seconds;
    run_counts(r, st->step, &res.run_examples, &res.run_tokens);
    tpa__result_write(result, &res, sizeof res);
  }
  free(st);
  return s;
}

tpa_status tpa_train_lora(const tpa_model *model, tpa_lora_set *set, const tpa_dataset *train,
                          const tpa_dataset *dev, const tpa_train_params *params,
                          tpa_train_result *result) {
  tpa__error_clear();
  {
    tpa_status qs = tpa__model_require_f32(model, "tpa_train_lora");
    if (qs != TPA_OK)
      return qs;
  }
  if (!model || !set || !train)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_train_lora: NULL %s",
                      !model ? "model"
                      : !set ? "LoRA set"
                             : "training set");
  run r;
  memset(&r, 0, sizeof r);
  r.m = model;
  r.fn = "tpa_train_lora";
  tpa_status s = train_run(&r, NULL, set, train, dev, params, result);
  run_free(&r);
  return s;
}

tpa_status tpa_train_full(tpa_model *model, const tpa_dataset *train, const tpa_dataset *dev,
                          const tpa_train_params *params, tpa_train_result *result) {
  tpa__error_clear();
  {
    tpa_status qs = tpa__model_require_f32(model, "tpa_train_full");
    if (qs != TPA_OK)
      return qs;
  }
  if (!model || !train)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_train_full: NULL %s",
                      !model ? "model" : "training set");
  run r;
  memset(&r, 0, sizeof r);
  r.m = model;
  r.fn = "tpa_train_full";
  tpa_status s = train_run(&r, model, NULL, train, dev, params, result);
  run_free(&r);
  return s;
}
