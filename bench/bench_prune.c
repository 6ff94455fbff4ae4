/* SPDX-License-Identifier: Apache-2.0 */
/* Pruning benchmark (issue 4, item 10): inference speed of the pruned and
 * merged model against the unpruned one, at BERT-base shapes (L=12, H=768,
 * 12 heads, FFN 3072, vocab 30522, 2 labels; seeded random weights written
 * as an F32 HF directory by bench/bench_common.c), batch 32 x sequence 128.
 *
 * The pruned model is the real output of the pipeline's last stages:
 * tpa_prune_plan_load() of a plan that removes 44 of the 144 heads,
 * tpa_model_prune(), then a rank-varied LoRA set (rank 8 on the four least
 * pruned blocks, 4 elsewhere, B filled with small random values so the
 * merge changes every adapted weight) merged with tpa_lora_set_merge().
 * Importance means nothing on random weights, so the plan is a fixed table
 * (plan_heads below), spread over the layers unevenly as TPA plans are:
 * 1 head removed from each of the two lowest blocks, up to 7 from the top
 * one.
 *
 * Speed: both models live in this process; after a warm-up, --reps pairs
 * of forwards alternate them (dense then pruned, then pruned then dense,
 * and so on) so that both see the same machine load. The ideal speedup is
 * the ratio of counted matmul FLOPs (flops_per_seq(): the attention
 * projections and the attention's own matmuls scale with the heads kept,
 * the FFN, pooler and classifier do not, the embeddings are a gather);
 * measured / ideal speedup is the figure with a target of >= 0.9. It is
 * also the pruned model's GFLOP/s over the dense model's.
 *
 * Memory: peak RSS of each model alone, each loaded in a child process of
 * its own (the dense checkpoint, and the pruned-and-merged model as
 * tpa_model_save() exports it, loaded back), after one forward. The
 * children run before this process starts oneDNN or OpenMP, so forking
 * is safe.
 *
 * Then, as an aid to explaining the gap to the ideal, single f32 matmuls
 * of the Q/K/V and attention-output shapes at every attention width the
 * pruned model has (one pass of the model's rows), next to the full
 * width's.
 *
 *   bench_prune [--reps N] [--batch B] [--seq S] [--keep DIR] [--no-rss]
 *               [--no-widths] [--ffn-keep F]
 *
 * --ffn-keep F adds feed-forward neurons to the plan: every layer keeps
 * floor(F * 3072 + 0.5) neurons, a seeded random choice (importance means
 * nothing here either), and the FFN's FLOPs scale with the width kept.
 *
 * --no-rss skips the children (and the export), --no-widths the matmul
 * table (so that DNNL_VERBOSE=1 output holds the two models' calls only).
 *
 * OMP_NUM_THREADS (default 2 here) sets the threads. */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_common.h"
#include "model/forward.h"
#include "model/model.h"
#include "stages/lora.h"
#include "tpa/tpa.h"

enum {
  L = BENCH_LAYERS,
  H = BENCH_HIDDEN,
  HEADS = BENCH_HEADS,
  HEAD_DIM = BENCH_HIDDEN / BENCH_HEADS,
  INTER = BENCH_INTER,
  LABELS = BENCH_LABELS
};

/* ------------------------------------------------------------------ */
/* The fixed plan                                                      */
/* ------------------------------------------------------------------ */

/* Heads removed per layer: bench_plan_heads (bench_common.c), 1,1,2,2,3,
 * 3,4,4,5,6,6,7 = 44 of 144, more in the upper layers. Layer l loses
 * heads (3l + 5j) mod 12 for j < count, which scatters them over the head
 * indices (5 is prime to 12, so they are distinct). */
enum { PLAN_PRUNED = 44 };

/* LoRA ranks by block: r_high 8 on the top_k = 4 blocks that keep the
 * most heads (the most important ones, had the plan come from
 * tpa_importance), r_low 4 on the others; alpha = 2 r (the defaults). */
static int32_t block_rank(int32_t layer) {
  return layer < 4 ? 8 : 4;
}

static int32_t plan_count(int32_t layer) {
  int32_t n = 0;
  while (n < 8 && bench_plan_heads[layer][n] >= 0)
    n++;
  return n;
}

/* Neurons each layer keeps with --ffn-keep F. */
static int32_t ffn_kept(double keep) {
  return keep > 0 ? (int32_t)(keep * INTER + 0.5) : INTER;
}

/* The plan; with @p keep > 0 also INTER - ffn_kept(keep) neurons of every
 * layer, the first of a seeded shuffle. */
static void write_plan(const char *path, double keep) {
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "%s: %s: %s\n", bench_prog, path, strerror(errno));
    exit(1);
  }
  fprintf(f, "{\"layers\": %d, \"heads\": %d, \"pruned_heads\": {", L, HEADS);
  for (int32_t l = 0; l < L; l++) {
    fprintf(f, "%s\n  \"%d\": [", l ? "," : "", l);
    for (int32_t j = 0; j < plan_count(l); j++)
      fprintf(f, "%s%d", j ? ", " : "", bench_plan_heads[l][j]);
    fprintf(f, "]");
  }
  fprintf(f, "\n}");
  if (keep > 0) {
    fprintf(f, ", \"ffn_widths\": [");
    for (int32_t l = 0; l < L; l++)
      fprintf(f, "%s%d", l ? ", " : "", INTER);
    fprintf(f, "], \"pruned_neurons\": {");
    int32_t perm[INTER];
    for (int32_t l = 0; l < L; l++) {
      for (int32_t j = 0; j < INTER; j++)
        perm[j] = j;
      for (int32_t j = INTER - 1; j > 0; j--) { /* Fisher-Yates */
        int32_t k = (int32_t)(bench_uniform() * (j + 1));
        k = k > j ? j : k;
        int32_t t = perm[j];
        perm[j] = perm[k];
        perm[k] = t;
      }
      fprintf(f, "%s\n  \"%d\": [", l ? "," : "", l);
      for (int32_t j = 0; j < INTER - ffn_kept(keep); j++)
        fprintf(f, "%s%d", j ? ", " : "", perm[j]);
      fprintf(f, "]");
    }
    fprintf(f, "\n}");
  }
  fprintf(f, "}\n");
  if (fclose(f) != 0) {
    fprintf(stderr, "%s: %s: %s\n", bench_prog, path, strerror(errno));
    exit(1);
  }
}

/* ------------------------------------------------------------------ */
/* FLOP model                                                          */
/* ------------------------------------------------------------------ */

/* Matmul FLOPs of one sequence of length S, 2 per multiply-add, for a
 * model whose layer l keeps heads[l] heads (attention width hq = heads *
 * head_dim). Pruning shrinks the output of Q, K, V and the input of the
 * attention output dense to hq, and the attention's matmuls (QK^T and
 * PV, per kept head); the FFN, the pooler and the classifier keep their
 * sizes. Softmax, LayerNorm, GELU and the embedding gather are not
 * counted (as in bench_infer). */
typedef struct flops {
  double qkv;  /* sum_l 3 x 2 S H hq_l */
  double out;  /* sum_l 2 S hq_l H */
  double attn; /* sum_l 2 x 2 S^2 hq_l */
  double ffn;  /* L x 2 x 2 S H I */
  double head; /* pooler 2H^2 + classifier 2HC, [CLS] only */
  double total;
} flops;

static flops flops_per_seq(const int32_t *heads, double S, double I) {
  const double Hd = H;
  flops f;
  memset(&f, 0, sizeof f);
  for (int32_t l = 0; l < L; l++) {
    const double hq = (double)heads[l] * HEAD_DIM;
    f.qkv += 3 * 2 * S * Hd * hq;
    f.out += 2 * S * hq * Hd;
    f.attn += 2 * 2 * S * S * hq;
    f.ffn += 2 * 2 * S * Hd * I;
  }
  f.head = 2 * Hd * Hd + 2 * Hd * LABELS;
  f.total = f.qkv + f.out + f.attn + f.ffn + f.head;
  return f;
}

/* ------------------------------------------------------------------ */
/* Building the models                                                 */
/* ------------------------------------------------------------------ */

typedef struct build_times {
  double load, prune, lora, merge; /* seconds */
} build_times;

/* The pruned and merged model: load @p dir, apply the plan at
 * @p plan_path, then merge a rank-varied LoRA set into it. */
static tpa_model *build_pruned(const char *dir, const char *plan_path, build_times *t) {
  double t0 = bench_now();
  tpa_model *m = NULL;
  if (tpa_model_load(&m, dir, NULL) != TPA_OK)
    bench_die("loading the model");
  t->load = bench_now() - t0;
  tpa_prune_plan *plan = NULL;
  if (tpa_prune_plan_load(&plan, plan_path) != TPA_OK)
    bench_die("loading the plan");
  if (tpa_prune_plan_num_pruned(plan) != PLAN_PRUNED) {
    fprintf(stderr, "%s: %s holds %d heads, not %d\n", bench_prog, plan_path,
            tpa_prune_plan_num_pruned(plan), PLAN_PRUNED);
    exit(1);
  }
  t0 = bench_now();
  if (tpa_model_prune(m, plan) != TPA_OK)
    bench_die("tpa_model_prune");
  t->prune = bench_now() - t0;
  tpa_prune_plan_free(plan);
  /* The model must now keep exactly the heads the table does not list. */
  for (int32_t l = 0; l < L; l++) {
    int32_t kept[HEADS];
    size_t n = 0;
    if (tpa_model_layer_heads(m, l, kept, HEADS, &n) != TPA_OK)
      bench_die("tpa_model_layer_heads");
    size_t j = 0;
    for (int32_t h = 0, p = 0; h < HEADS; h++) {
      if (p < plan_count(l) && bench_plan_heads[l][p] == h) {
        p++;
        continue;
      }
      if (j >= n || kept[j] != h) {
        fprintf(stderr, "%s: after pruning, layer %d does not keep head %d\n", bench_prog, l, h);
        exit(1);
      }
      j++;
    }
    if (j != n) {
      fprintf(stderr, "%s: after pruning, layer %d keeps %zu heads, not %zu\n", bench_prog, l, n,
              j);
      exit(1);
    }
  }

  int32_t ranks[L * TPA_LORA_MODULES];
  for (int32_t i = 0; i < L * TPA_LORA_MODULES; i++)
    ranks[i] = block_rank(i / TPA_LORA_MODULES);
  tpa_lora_params lp;
  tpa_lora_params_init(&lp, sizeof lp);
  lp.ranks = ranks;
  t0 = bench_now();
  tpa_lora_set *set = NULL;
  if (tpa_lora_set_create(&set, m, &lp) != TPA_OK)
    bench_die("tpa_lora_set_create");
  /* PEFT starts B at zero; a trained B is not, and the merge must really
   * change the weights it writes. */
  for (int32_t l = 0; l < L; l++)
    for (int32_t k = 0; k < TPA_LORA_MODULES; k++) {
      tpa__lora_mod *mod = tpa__lora_at(set, l, k);
      if (mod->rank > 0)
        bench_fill_normal(mod->b, (size_t)mod->out * (size_t)mod->rank, 0.01f);
    }
  t->lora = bench_now() - t0;
  t0 = bench_now();
  if (tpa_lora_set_merge(set, m) != TPA_OK)
    bench_die("tpa_lora_set_merge");
  t->merge = bench_now() - t0;
  tpa_lora_set_free(set);
  return m;
}

static int32_t model_inter(const tpa_model *m) {
  tpa_model_config c = {.size = sizeof c};
  if (tpa_model_get_config(m, &c) != TPA_OK)
    bench_die("tpa_model_get_config");
  return c.intermediate_size;
}

static void model_heads(const tpa_model *m, int32_t *heads) {
  for (int32_t l = 0; l < L; l++)
    heads[l] = tpa_model_layer_num_heads(m, l);
}

static uint64_t model_params(const tpa_model *m) {
  tpa_param_counts pc;
  memset(&pc, 0, sizeof pc);
  pc.size = sizeof pc;
  if (tpa_model_param_counts(m, &pc) != TPA_OK)
    bench_die("tpa_model_param_counts");
  return pc.total;
}

/* Random ids (not [PAD]), [CLS] first, two segments, no padding. */
typedef struct inputs {
  int32_t batch, seq;
  int32_t *ids, *types;
  float *logits;
} inputs;

static void inputs_make(inputs *in, int32_t batch, int32_t seq) {
  const size_t tokens = (size_t)batch * (size_t)seq;
  in->batch = batch;
  in->seq = seq;
  in->ids = bench_xcalloc(tokens, sizeof *in->ids);
  in->types = bench_xcalloc(tokens, sizeof *in->types);
  in->logits = bench_xcalloc((size_t)batch * LABELS, sizeof *in->logits);
  for (size_t i = 0; i < tokens; i++) {
    in->ids[i] = (i % (size_t)seq) == 0 ? 2 : 5 + (int32_t)(bench_uniform() * (BENCH_VOCAB - 5));
    in->types[i] = (int32_t)(i % (size_t)seq) >= seq / 2;
  }
}

static void inputs_free(inputs *in) {
  free(in->ids);
  free(in->types);
  free(in->logits);
}

static double timed_forward(const tpa_model *m, inputs *in) {
  double t0 = bench_now();
  if (tpa_model_forward(m, in->ids, in->types, NULL, in->batch, in->seq, in->logits) != TPA_OK)
    bench_die("tpa_model_forward");
  return bench_now() - t0;
}

/* ------------------------------------------------------------------ */
/* Children: the export, and the memory of each model alone            */
/* ------------------------------------------------------------------ */

typedef struct child_result {
  int ok;
  double rss_load, rss_forward; /* MiB */
  double load_s;
  double weights_mib; /* model.safetensors of what it loaded */
  uint64_t params;
} child_result;

/* What a child does: build the pruned and merged model from @c dir and
 * @c plan and export it compact to @c export_dir (as `tpa run` leaves it
 * in OUT/model/), or load @c dir and run one forward. */
typedef struct child_job {
  enum { CHILD_EXPORT, CHILD_RSS } kind;
  const char *dir, *plan, *export_dir;
  int32_t batch, seq;
} child_job;

static double file_mib(const char *dir) {
  char path[8400];
  struct stat sb;
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  return stat(path, &sb) == 0 ? (double)sb.st_size / (1024.0 * 1024.0) : 0;
}

static void child_main(const child_job *job, child_result *r) {
  if (job->kind == CHILD_EXPORT) {
    build_times bt;
    tpa_model *m = build_pruned(job->dir, job->plan, &bt);
    if (tpa_model_save(m, job->export_dir) != TPA_OK)
      bench_die("tpa_model_save");
    r->params = model_params(m);
    tpa_model_free(m);
    r->ok = 1;
    return;
  }
  double t0 = bench_now();
  tpa_model *m = NULL;
  if (tpa_model_load(&m, job->dir, NULL) != TPA_OK)
    bench_die("loading the model");
  r->load_s = bench_now() - t0;
  r->rss_load = bench_peak_rss_mib();
  r->weights_mib = file_mib(job->dir);
  r->params = model_params(m);
  inputs in;
  inputs_make(&in, job->batch, job->seq);
  timed_forward(m, &in);
  r->rss_forward = bench_peak_rss_mib();
  inputs_free(&in);
  tpa_model_free(m);
  r->ok = 1;
}

static void child_entry(const void *job, void *r) {
  child_main(job, r);
}

/* Run child_main in a child (bench_in_child). */
static void run_child(const child_job *job, child_result *r) {
  if (!bench_in_child(child_entry, job, r, sizeof *r) || !r->ok) {
    fprintf(stderr, "%s: the child for %s failed\n", bench_prog, job->dir);
    exit(1);
  }
}

/* Remove what tpa_model_save wrote into @p dir, and @p dir. */
static void rm_export(const char *dir) {
  static const char *const files[] = {"config.json", "model.safetensors", "vocab.txt",
                                      "tokenizer_config.json"};
  char path[8400];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

/* ------------------------------------------------------------------ */
/* Matmuls at each attention width                                     */
/* ------------------------------------------------------------------ */

/* GFLOP/s of the Q/K/V-shaped (M x H x hq) and output-shaped (M x hq x
 * H) matmuls at each distinct width, M being one pass of the model. */
static void width_table(const tpa_model *dense, const int32_t *heads, int32_t seq, int reps) {
  /* The full width, then every width the pruned model has, widest first. */
  int32_t widths[HEADS], nw = 0;
  for (int32_t n = HEADS; n >= 1; n--) {
    bool used = n == HEADS;
    for (int32_t l = 0; l < L; l++)
      used = used || heads[l] == n;
    if (used)
      widths[nw++] = n;
  }
  int32_t rows = (int32_t)(TPA__PASS_TOKENS / (size_t)seq);
  if (rows < 1)
    rows = 1;
  const int64_t M = (int64_t)rows * seq;
  tpa__nn_ctx *ctx = NULL;
  if (tpa__nn_ctx_create(&ctx, dense->infer->cache) != TPA_OK)
    bench_die("oneDNN context");
  printf("\n  single f32 matmuls at the attention widths (M = %lld tokens, one pass; %d runs "
         "after one warm-up):\n",
         (long long)M, reps);
  printf("  %6s %6s %14s %14s %14s %14s\n", "heads", "hq", "MxHxhq GF/s", "Mxhqx H GF/s",
         "MxHxhq us", "MxhqxH us");
  for (int32_t i = 0; i < nw; i++) {
    const int64_t hq = (int64_t)widths[i] * HEAD_DIM;
    bench_mm mm[2] = {{.m = M, .k = H, .n = hq, .best = 1e30},
                      {.m = M, .k = hq, .n = H, .best = 1e30}};
    for (int k = 0; k < 2; k++) {
      bench_mm_setup(ctx, &mm[k]);
      bench_mm_run(ctx, &mm[k], false);
    }
    for (int r = 0; r < reps; r++)
      for (int k = 0; k < 2; k++)
        bench_mm_run(ctx, &mm[k], true);
    printf("  %6d %6lld %14.1f %14.1f %14.1f %14.1f\n", widths[i], (long long)hq,
           bench_mm_gflops(&mm[0], mm[0].total / reps), bench_mm_gflops(&mm[1], mm[1].total / reps),
           mm[0].total / reps * 1e6, mm[1].total / reps * 1e6);
    for (int k = 0; k < 2; k++)
      bench_mm_free(&mm[k]);
  }
  tpa__nn_ctx_free(ctx);
}

/* ------------------------------------------------------------------ */
/* Main                                                                */
/* ------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int reps = 8, batch = 32, seq = 128;
  bool rss = true, widths = true;
  double ffn_keep = 0;
  const char *keep = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
      batch = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--seq") && i + 1 < argc)
      seq = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--keep") && i + 1 < argc)
      keep = argv[++i];
    else if (!strcmp(argv[i], "--no-rss"))
      rss = false;
    else if (!strcmp(argv[i], "--no-widths"))
      widths = false;
    else if (!strcmp(argv[i], "--ffn-keep") && i + 1 < argc)
      ffn_keep = atof(argv[++i]);
    else {
      fprintf(stderr,
              "usage: %s [--reps N] [--batch B] [--seq S] [--keep DIR] [--no-rss] "
              "[--no-widths] [--ffn-keep F]\n",
              argv[0]);
      return 2;
    }
  }
  if (reps < 1 || reps > 1000 || batch < 1 || seq < 1 || seq > BENCH_MAXPOS ||
      !(ffn_keep >= 0 && ffn_keep <= 1) || (ffn_keep > 0 && ffn_kept(ffn_keep) < 1)) {
    fprintf(stderr, "bench_prune: bad --reps/--batch/--seq/--ffn-keep\n");
    return 2;
  }
  bench_prog = "bench_prune";
  /* libgomp reads OMP_NUM_THREADS before main: default to 2 here, and
   * for the children through the environment. */
  if (!getenv("OMP_NUM_THREADS")) {
    setenv("OMP_NUM_THREADS", "2", 1);
    omp_set_num_threads(2);
  }

  char dir[4096], plan_path[4200], export_dir[4200];
  double weights_mib = 0;
  bench_model_dir(keep, dir, sizeof dir, &weights_mib);
  snprintf(plan_path, sizeof plan_path, "%s/bench_prune_plan.json", dir);
  snprintf(export_dir, sizeof export_dir, "%s/pruned-merged", dir);
  write_plan(plan_path, ffn_keep);

  /* Children first, while this process has started no OpenMP thread. */
  child_result exp, rss_dense, rss_pruned;
  memset(&exp, 0, sizeof exp);
  memset(&rss_dense, 0, sizeof rss_dense);
  memset(&rss_pruned, 0, sizeof rss_pruned);
  if (rss) {
    const child_job jobs[3] = {{CHILD_EXPORT, dir, plan_path, export_dir, batch, seq},
                               {CHILD_RSS, dir, NULL, NULL, batch, seq},
                               {CHILD_RSS, export_dir, NULL, NULL, batch, seq}};
    run_child(&jobs[0], &exp);
    run_child(&jobs[1], &rss_dense);
    run_child(&jobs[2], &rss_pruned);
  }

  /* Both models in this process, for the speed. */
  double t0 = bench_now();
  tpa_model *dense = NULL;
  if (tpa_model_load(&dense, dir, NULL) != TPA_OK)
    bench_die("loading the model");
  const double dense_load = bench_now() - t0;
  build_times bt;
  tpa_model *pruned = build_pruned(dir, plan_path, &bt);
  int32_t heads_dense[L], heads_pruned[L];
  model_heads(dense, heads_dense);
  model_heads(pruned, heads_pruned);
  if (model_inter(pruned) != ffn_kept(ffn_keep)) {
    fprintf(stderr, "%s: the pruned model has %d neurons per layer, not %d\n", bench_prog,
            model_inter(pruned), ffn_kept(ffn_keep));
    exit(1);
  }
  const flops fd = flops_per_seq(heads_dense, seq, INTER),
              fp = flops_per_seq(heads_pruned, seq, model_inter(pruned));

  inputs in;
  inputs_make(&in, batch, seq);
  /* Warm-up: primitives for every width, first touch of the buffers. */
  for (int w = 0; w < 2; w++) {
    timed_forward(dense, &in);
    timed_forward(pruned, &in);
  }
  /* The two models alternate, the order flipping every pair, so a drift
   * in the machine's speed hits both alike. */
  double *td = bench_xcalloc((size_t)reps, sizeof *td),
         *tp = bench_xcalloc((size_t)reps, sizeof *tp);
  double *ratio = bench_xcalloc((size_t)reps, sizeof *ratio);
  double sum_d = 0, sum_p = 0, best_d = 1e30, best_p = 1e30;
  for (int r = 0; r < reps; r++) {
    if (r % 2 == 0) {
      td[r] = timed_forward(dense, &in);
      tp[r] = timed_forward(pruned, &in);
    } else {
      tp[r] = timed_forward(pruned, &in);
      td[r] = timed_forward(dense, &in);
    }
    ratio[r] = td[r] / tp[r];
    sum_d += td[r];
    sum_p += tp[r];
    best_d = td[r] < best_d ? td[r] : best_d;
    best_p = tp[r] < best_p ? tp[r] : best_p;
    printf("  pair %2d: dense %.3f s, pruned %.3f s, speedup %.3f\n", r + 1, td[r], tp[r],
           ratio[r]);
  }
  qsort(ratio, (size_t)reps, sizeof *ratio, cmp_double);
  const double median = reps % 2 ? ratio[reps / 2] : 0.5 * (ratio[reps / 2 - 1] + ratio[reps / 2]);
  const double mean_d = sum_d / reps, mean_p = sum_p / reps;
  const double ideal = fd.total / fp.total;
  const double speed_mean = mean_d / mean_p, speed_best = best_d / best_p;

  printf("\nlibtpa %s pruning benchmark: BERT-base (L=%d H=%d heads=%d FFN=%d vocab=%d), "
         "batch %d, seq %d, %d threads, %d alternating pairs\n",
         tpa_version(), L, H, HEADS, INTER, BENCH_VOCAB, batch, seq, omp_get_max_threads(), reps);
  printf("  plan: %d of %d heads removed; kept per layer:", PLAN_PRUNED, L * HEADS);
  for (int32_t l = 0; l < L; l++)
    printf(" %d", heads_pruned[l]);
  if (ffn_keep > 0)
    printf("\n  neurons: every layer keeps %d of %d (--ffn-keep %g)", ffn_kept(ffn_keep), INTER,
           ffn_keep);
  printf("\n  LoRA merged: rank 8 on blocks 0-3, 4 on blocks 4-11, alpha 2r\n");
  printf("  dense load %.2f s; pruned: load %.2f s, tpa_model_prune %.2f s, LoRA set %.2f s, "
         "tpa_lora_set_merge %.2f s\n",
         dense_load, bt.load, bt.prune, bt.lora, bt.merge);

  printf("\n  counted GFLOP per sequence     %12s %12s\n", "dense", "pruned");
  const struct {
    const char *name;
    double d, p;
  } ft[] = {{"Q, K, V projections", fd.qkv, fp.qkv},
            {"attention output dense", fd.out, fp.out},
            {"attention scores and context", fd.attn, fp.attn},
            {"FFN", fd.ffn, fp.ffn},
            {"pooler and classifier", fd.head, fp.head},
            {"total", fd.total, fp.total}};
  for (size_t i = 0; i < sizeof ft / sizeof ft[0]; i++)
    printf("    %-28s %12.4f %12.4f\n", ft[i].name, ft[i].d * 1e-9, ft[i].p * 1e-9);

  printf("\n  %-44s %12s %12s\n", "figure", "dense", "pruned");
  printf("  %-44s %12.3f %12.3f\n", "forward time per batch, mean, s", mean_d, mean_p);
  printf("  %-44s %12.3f %12.3f\n", "forward time per batch, best, s", best_d, best_p);
  printf("  %-44s %12.2f %12.2f\n", "sequences / s (mean)", batch / mean_d, batch / mean_p);
  printf("  %-44s %12.2f %12.2f\n", "sequences / s (best)", batch / best_d, batch / best_p);
  printf("  %-44s %12.1f %12.1f\n", "GFLOP/s (mean)", fd.total * batch / mean_d * 1e-9,
         fp.total * batch / mean_p * 1e-9);
  printf("  %-44s %12llu %12llu\n", "parameters (tpa_model_param_counts)",
         (unsigned long long)model_params(dense), (unsigned long long)model_params(pruned));
  if (rss) {
    printf("  %-44s %12.1f %12.1f\n", "model.safetensors, MiB", rss_dense.weights_mib,
           rss_pruned.weights_mib);
    printf("  %-44s %12.1f %12.1f\n", "peak RSS after load (own process), MiB", rss_dense.rss_load,
           rss_pruned.rss_load);
    printf("  %-44s %12.1f %12.1f\n", "peak RSS after a forward (own process), MiB",
           rss_dense.rss_forward, rss_pruned.rss_forward);
    if (exp.params != model_params(pruned) || rss_pruned.params != exp.params) {
      fprintf(stderr, "%s: the export has %llu parameters, reloaded %llu, in memory %llu\n",
              bench_prog, (unsigned long long)exp.params, (unsigned long long)rss_pruned.params,
              (unsigned long long)model_params(pruned));
      return 1;
    }
  }
  printf("\n  %-44s %12.3f\n", "ideal speedup (FLOPs dense / pruned)", ideal);
  printf("  %-44s %12.3f\n", "measured speedup (mean time)", speed_mean);
  printf("  %-44s %12.3f\n", "measured speedup (best time)", speed_best);
  printf("  %-44s %12.3f\n", "measured speedup (median of pairs)", median);
  printf("  %-44s %12.3f   (target >= 0.9)\n", "measured / ideal speedup (mean)",
         speed_mean / ideal);
  printf("  %-44s %12.3f\n", "measured / ideal speedup (median of pairs)", median / ideal);
  /* The stricter view: how much of the time the FLOPs say could be saved
   * was saved. */
  printf("  %-44s %11.1f%%\n", "time saved / FLOPs saved (mean)",
         100.0 * (1.0 - mean_p / mean_d) / (1.0 - fp.total / fd.total));

  if (widths)
    width_table(dense, heads_pruned, seq, 20);

  free(td);
  free(tp);
  free(ratio);
  inputs_free(&in);
  tpa_model_free(pruned);
  tpa_model_free(dense);
  unlink(plan_path);
  if (rss && !keep)
    rm_export(export_dir);
  if (!keep)
    bench_rm_dir(dir);
  return 0;
}
