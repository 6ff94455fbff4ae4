/* SPDX-License-Identifier: Apache-2.0 */
/* Soak benchmark: does resident memory stay flat when a model runs over
 * and over? Loads a model (by default BERT-base shapes with seeded random
 * weights, written by bench_common.c as the other benchmarks do; --tiny
 * for tests/fixtures/tiny, --model DIR for any HF directory), then repeats
 * a fixed number of iterations and samples VmRSS (/proc/self/status)
 * after the warm-up and every K iterations.
 *
 *   inference (default): one iteration is tpa_model_forward on a batch of
 *     random ids (batch x seq, the last row half padding) plus, for a
 *     two-label model, tpa_model_predict over a small generated SST-2 file
 *     (tokenization, encoding, dynamic padding): every per-call
 *     allocation of the public inference calls.
 *   --train: one iteration is a LoRA training step as the training loop
 *     does it (tpa__loss_and_grads with dropout, gradient clipping, AdamW),
 *     as in bench_train.
 *   --prune-merge: one iteration prunes one more feed-forward neuron of
 *     every layer (tpa_model_prune), merges a fresh rank-8 LoRA set with
 *     random B (tpa_lora_set_merge) and runs tpa_model_forward: each
 *     replaces tensors, which the model must free rather than keep.
 *
 * Prints the samples and a verdict line (RSS after warm-up, max, final,
 * growth in MiB and per iteration) and exits 1 if the final RSS exceeds
 * the one after warm-up by more than --tolerance MiB (default 2). Built
 * with ASan or TSan, whose own memory grows, it prints but never fails.
 *
 *   bench_soak [--tiny | --model DIR] [--train | --prune-merge] [--iters N] [--warmup W]
 *              [--every K] [--batch B] [--seq S] [--tolerance MIB] [--keep DIR]
 *
 * OMP_NUM_THREADS (default 2 here) sets the threads. */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "model/grad.h"
#include "model/model.h"
#include "model/prune.h"
#include "stages/lora.h"
#include "stages/optim.h"
#include "stages/train_internal.h"
#include "tpa/tpa.h"

#ifndef TPA_TINY_MODEL
#define TPA_TINY_MODEL "tests/fixtures/tiny"
#endif

/* Under AddressSanitizer freed memory waits in a quarantine (and TSan
 * grows shadow memory), so resident memory grows for reasons that are
 * not the library's: the figures are printed, not judged. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SOAK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SOAK_SANITIZED 1
#endif
#endif
#ifndef SOAK_SANITIZED
#define SOAK_SANITIZED 0
#endif

enum { PREDICT_ROWS = 16 };

typedef struct opts {
  const char *model; /* NULL: random BERT-base */
  const char *keep;
  bool train, prune_merge;
  int iters, warmup, every, batch, seq;
  double tolerance;
} opts;

/* A field of /proc/self/status ("VmRSS:", "VmHWM:") in MiB. */
static double status_mib(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) {
    fprintf(stderr, "%s: /proc/self/status: %s\n", bench_prog, strerror(errno));
    exit(1);
  }
  char line[256];
  double kib = -1;
  const size_t n = strlen(field);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, n) == 0) {
      kib = strtod(line + n, NULL);
      break;
    }
  fclose(f);
  if (kib < 0) {
    fprintf(stderr, "%s: no %s in /proc/self/status\n", bench_prog, field);
    exit(1);
  }
  return kib / 1024.0;
}

/* Current resident set in MiB. */
static double rss_mib(void) {
  return status_mib("VmRSS:");
}

/* A small SST-2 file of random vocabulary words (no specials, no ##
 * pieces) in a new temporary directory; returns the file's path. */
static char *write_dataset(const tpa_tokenizer *tok, char *tmpdir) {
  if (!mkdtemp(tmpdir)) {
    fprintf(stderr, "%s: mkdtemp: %s\n", bench_prog, strerror(errno));
    exit(1);
  }
  char *path = bench_xcalloc(strlen(tmpdir) + 16, 1);
  sprintf(path, "%s/dev.tsv", tmpdir);
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "%s: %s: %s\n", bench_prog, path, strerror(errno));
    exit(1);
  }
  fputs("sentence\tlabel\n", f);
  const int32_t vocab = (int32_t)tpa_tokenizer_vocab_size(tok);
  for (int r = 0; r < PREDICT_ROWS; r++) {
    int words = 4 + r * 3;
    for (int w = 0; w < words;) {
      const char *t = tpa_tokenizer_token(tok, (int32_t)(bench_uniform() * vocab));
      if (!t || !t[0] || t[0] == '[' || strncmp(t, "##", 2) == 0 || strpbrk(t, "\t\n\r"))
        continue;
      fprintf(f, "%s%s", w ? " " : "", t);
      w++;
    }
    fprintf(f, "\t%d\n", r % 2);
  }
  if (fclose(f) != 0) {
    fprintf(stderr, "%s: writing %s failed\n", bench_prog, path);
    exit(1);
  }
  return path;
}

/* What one iteration works on. */
typedef struct soak {
  tpa_model *m;
  int32_t batch, seq, labels;
  int32_t *ids, *types, *mask;
  float *logits, *labels_f, *pred;
  tpa_dataset *ds;
  /* --train */
  tpa_lora_set *set;
  tpa__trainable tr;
  tpa__grad_work *work;
  tpa__grad_opts go;
  int64_t step;
  double loss;
  /* --prune-merge */
  bool prune_merge;
  int32_t pruned; /* neurons removed from each layer so far */
} soak;

static void setup_inputs(soak *s) {
  const size_t tokens = (size_t)s->batch * (size_t)s->seq;
  s->ids = bench_xcalloc(tokens, sizeof *s->ids);
  s->types = bench_xcalloc(tokens, sizeof *s->types);
  s->mask = bench_xcalloc(tokens, sizeof *s->mask);
  s->logits = bench_xcalloc((size_t)s->batch * (size_t)s->labels, sizeof *s->logits);
  s->labels_f = bench_xcalloc((size_t)s->batch, sizeof *s->labels_f);
  const tpa_tokenizer *tok = tpa_model_tokenizer(s->m);
  const int32_t cls = tpa_tokenizer_token_id(tok, "[CLS]"),
                sep = tpa_tokenizer_token_id(tok, "[SEP]");
  tpa_model_config cfg = {.size = sizeof cfg};
  if (tpa_model_get_config(s->m, &cfg) != TPA_OK)
    bench_die("model config");
  const int32_t vocab = cfg.vocab_size;
  for (int32_t b = 0; b < s->batch; b++) {
    /* The last row is half padding, so the mask path runs too. */
    const int32_t len = b == s->batch - 1 && s->seq > 4 ? s->seq / 2 : s->seq;
    for (int32_t j = 0; j < s->seq; j++) {
      const size_t i = (size_t)b * (size_t)s->seq + (size_t)j;
      if (j >= len)
        continue;
      s->ids[i] = j == 0 ? cls : j == len - 1 ? sep : 5 + (int32_t)(bench_uniform() * (vocab - 5));
      s->types[i] = j >= len / 2;
      s->mask[i] = 1;
    }
    s->labels_f[b] = (float)(b % 2);
  }
}

/* What the training loop does after the gradients (as bench_train). */
static void optimizer_step(tpa__trainable *tr, int64_t t) {
  tpa__clip_grad_norm(tr->grads, tr->n, 1.0);
  const tpa__adamw o = TPA__ADAMW_DEFAULTS;
  const double lr = tpa__linear_lr(5e-4, t - 1, tpa__warmup_steps(0.06, 1000), 1000);
  size_t off = 0;
  for (size_t i = 0; i < tr->n; i++) {
    const tpa__tensor_ref *r = &tr->refs[i];
    tpa__adamw_update(&o, t, lr, r->decay, r->data, tr->grads[i].g, tr->m + off, tr->v + off,
                      r->count);
    off += r->count;
  }
}

static void setup_train(soak *s) {
  tpa_lora_params lp;
  tpa_lora_params_init(&lp, sizeof lp);
  lp.rank = 8;
  if (tpa_lora_set_create(&s->set, s->m, &lp) != TPA_OK)
    bench_die("LoRA set");
  if (tpa__trainable_lora(&s->tr, s->m, s->set, false) != TPA_OK)
    bench_die("trainable tensors");
  if (tpa__grad_work_create(&s->work, s->m, s->batch, s->seq) != TPA_OK)
    bench_die("gradient work memory");
  s->go = (tpa__grad_opts){(float)s->m->cfg.hidden_dropout, (float)s->m->cfg.attn_dropout,
                           (float)s->m->cfg.cls_dropout, 42, NULL};
}

/* A plan removing neuron @p id (its index as loaded) of every layer. */
static tpa_prune_plan *neuron_plan(const tpa_model *m, int32_t id) {
  tpa_prune_plan *p = bench_xcalloc(1, sizeof *p);
  p->layers = m->cfg.layers;
  p->heads = m->cfg.heads;
  p->removes = bench_xcalloc((size_t)p->layers * (size_t)p->heads, sizeof *p->removes);
  int32_t *widths = bench_xcalloc((size_t)p->layers, sizeof *widths);
  for (int32_t l = 0; l < p->layers; l++)
    widths[l] = m->w.layer[l].inter_loaded;
  if (tpa__prune_plan_alloc_neurons(p, widths) != TPA_OK)
    bench_die("neuron plan");
  for (int32_t l = 0; l < p->layers; l++)
    p->removes_neuron[p->ffn_off[l] + (size_t)id] = true;
  p->n_pruned_neurons = p->layers;
  free(widths);
  return p;
}

static void prune_and_merge(soak *s) {
  tpa_prune_plan *plan = neuron_plan(s->m, s->pruned++);
  if (tpa_model_prune(s->m, plan) != TPA_OK)
    bench_die("tpa_model_prune");
  tpa_prune_plan_free(plan);
  tpa_lora_params lp;
  tpa_lora_params_init(&lp, sizeof lp);
  lp.rank = 8;
  tpa_lora_set *set = NULL;
  if (tpa_lora_set_create(&set, s->m, &lp) != TPA_OK)
    bench_die("LoRA set");
  for (size_t i = 0; i < (size_t)set->layers * TPA__LORA_ALL; i++)
    if (set->mod[i].rank > 0)
      bench_fill_normal(set->mod[i].b, (size_t)set->mod[i].out * (size_t)set->mod[i].rank, 0.01f);
  if (tpa_lora_set_merge(set, s->m) != TPA_OK)
    bench_die("tpa_lora_set_merge");
  tpa_lora_set_free(set);
}

static void iteration(soak *s, bool train) {
  if (s->prune_merge)
    prune_and_merge(s);
  if (train) {
    const tpa__batch b = {s->batch, s->seq, s->ids, s->types, s->mask, s->labels_f};
    s->step++;
    s->go.dropout_seed = tpa__mix64(42, (uint64_t)s->step);
    if (tpa__loss_and_grads(s->work, s->m, &s->tr.w, s->tr.lora, &b, &s->go, &s->loss, NULL,
                            &s->tr.gout) != TPA_OK)
      bench_die("training step");
    optimizer_step(&s->tr, s->step);
    return;
  }
  if (tpa_model_forward(s->m, s->ids, s->types, s->mask, s->batch, s->seq, s->logits) != TPA_OK)
    bench_die("tpa_model_forward");
  if (s->ds && tpa_model_predict(s->m, s->ds, NULL, s->pred,
                                 tpa_dataset_size(s->ds) * (size_t)s->labels) != TPA_OK)
    bench_die("tpa_model_predict");
}

static void usage(void) {
  fprintf(stderr, "usage: bench_soak [--tiny | --model DIR] [--train | --prune-merge] [--iters N] "
                  "[--warmup W] "
                  "[--every K] [--batch B] [--seq S] [--tolerance MIB] [--keep DIR]\n");
  exit(2);
}

int main(int argc, char **argv) {
  opts o = {.iters = 200, .warmup = 20, .every = 20, .batch = 4, .seq = 64, .tolerance = 2.0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const bool more = i + 1 < argc;
    if (!strcmp(a, "--tiny"))
      o.model = TPA_TINY_MODEL;
    else if (!strcmp(a, "--train"))
      o.train = true;
    else if (!strcmp(a, "--prune-merge"))
      o.prune_merge = true;
    else if (!strcmp(a, "--model") && more)
      o.model = argv[++i];
    else if (!strcmp(a, "--keep") && more)
      o.keep = argv[++i];
    else if (!strcmp(a, "--iters") && more)
      o.iters = atoi(argv[++i]);
    else if (!strcmp(a, "--warmup") && more)
      o.warmup = atoi(argv[++i]);
    else if (!strcmp(a, "--every") && more)
      o.every = atoi(argv[++i]);
    else if (!strcmp(a, "--batch") && more)
      o.batch = atoi(argv[++i]);
    else if (!strcmp(a, "--seq") && more)
      o.seq = atoi(argv[++i]);
    else if (!strcmp(a, "--tolerance") && more)
      o.tolerance = atof(argv[++i]);
    else
      usage();
  }
  if (o.iters < 1 || o.warmup < 1 || o.every < 1 || o.batch < 1 || o.seq < 3 ||
      !(o.tolerance >= 0) || (o.train && o.prune_merge))
    usage();
  if (o.warmup >= o.iters)
    o.warmup = o.iters > 1 ? o.iters / 4 + 1 : 1;
  bench_prog = "bench_soak";
  setvbuf(stdout, NULL, _IOLBF, 0); /* samples appear as they are taken */
  /* libgomp reads OMP_NUM_THREADS before main: default to 2 here. */
  if (!getenv("OMP_NUM_THREADS"))
    omp_set_num_threads(2);

  char dir[4096];
  double weights_mib = 0;
  if (o.model)
    snprintf(dir, sizeof dir, "%s", o.model);
  else
    bench_model_dir(o.keep, dir, sizeof dir, &weights_mib);
  soak s;
  memset(&s, 0, sizeof s);
  if (tpa_model_load(&s.m, dir, NULL) != TPA_OK)
    bench_die("loading the model");
  tpa_model_config cfg = {.size = sizeof cfg};
  if (tpa_model_get_config(s.m, &cfg) != TPA_OK)
    bench_die("model config");
  if (o.seq > cfg.max_position_embeddings)
    o.seq = cfg.max_position_embeddings;
  s.batch = o.batch;
  s.seq = o.seq;
  s.prune_merge = o.prune_merge;
  if (o.prune_merge && o.iters >= s.m->cfg.inter)
    bench_die("--prune-merge: more iterations than feed-forward neurons");
  s.labels = cfg.num_labels;
  setup_inputs(&s);
  char tmpdir[] = "/tmp/tpa-soak-XXXXXX";
  char *tsv = NULL;
  if (o.train) {
    setup_train(&s);
  } else if (cfg.num_labels == 2) {
    tsv = write_dataset(tpa_model_tokenizer(s.m), tmpdir);
    if (tpa_dataset_load(&s.ds, TPA_TASK_SST2, tsv, NULL) != TPA_OK)
      bench_die("loading the generated dataset");
    s.pred = bench_xcalloc(tpa_dataset_size(s.ds) * 2, sizeof *s.pred);
  }
  const double rss_load = rss_mib();

  printf("\nlibtpa %s soak benchmark: %s, %s, batch %d x seq %d, %d threads, %d iterations "
         "(warm-up %d, sample every %d)\n",
         tpa_version(), o.model ? dir : "random BERT-base",
         o.train         ? "LoRA training step (rank 8, dropout, clip, AdamW)"
         : o.prune_merge ? "prune a neuron per layer + merge a LoRA set + tpa_model_forward"
         : s.ds          ? "tpa_model_forward + tpa_model_predict (16 rows)"
                         : "tpa_model_forward",
         o.batch, o.seq, omp_get_max_threads(), o.iters, o.warmup, o.every);
  printf("  RSS after load: %.1f MiB\n", rss_load);
  printf("  %10s %12s %14s %10s\n", "iteration", "VmRSS MiB", "vs warm-up MiB", "s/iter");
  double warm = 0, peak = 0, last = 0, t_mark = bench_now();
  int n_mark = 0;
  const double t0 = bench_now();
  for (int it = 1; it <= o.iters; it++) {
    iteration(&s, o.train);
    const bool sample =
        it == o.warmup || (it > o.warmup && (it - o.warmup) % o.every == 0) || it == o.iters;
    if (!sample)
      continue;
    last = rss_mib();
    if (it == o.warmup)
      warm = last;
    if (it >= o.warmup && last > peak)
      peak = last;
    const double now = bench_now();
    printf("  %10d %12.2f %+14.2f %10.4f%s\n", it, last, last - warm,
           (now - t_mark) / (it - n_mark), it == o.warmup ? "  (after warm-up)" : "");
    t_mark = now;
    n_mark = it;
  }
  const double total_s = bench_now() - t0;
  const double growth = last - warm;
  const int counted = o.iters - o.warmup;
  const bool ok = growth <= o.tolerance || SOAK_SANITIZED;
  printf("  %.1f s in all; VmHWM (peak) %.1f MiB", total_s, status_mib("VmHWM:"));
  if (weights_mib > 0)
    printf(", weights %.1f MiB", weights_mib);
  if (o.train)
    printf(", last loss %.4f", s.loss);
  printf("\n");
  printf("verdict: %s: RSS after warm-up %.2f MiB, max %.2f, final %.2f; growth %+.2f MiB over "
         "%d iterations (%+.1f KiB/iteration), tolerance %.2f MiB\n",
         SOAK_SANITIZED ? "NOT JUDGED (sanitizer build)"
         : ok           ? "FLAT"
                        : "GROWING",
         warm, peak, last, growth, counted, counted > 0 ? growth * 1024.0 / counted : 0.0,
         o.tolerance);

  if (s.work)
    tpa__grad_work_free(s.work);
  if (s.set) {
    tpa__trainable_free(&s.tr);
    tpa_lora_set_free(s.set);
  }
  tpa_dataset_free(s.ds);
  if (tsv) {
    unlink(tsv);
    rmdir(tmpdir);
    free(tsv);
  }
  free(s.ids);
  free(s.types);
  free(s.mask);
  free(s.logits);
  free(s.labels_f);
  free(s.pred);
  tpa_model_free(s.m);
  if (!o.model && !o.keep)
    bench_rm_dir(dir);
  return ok ? 0 : 1;
}
