/* SPDX-License-Identifier: Apache-2.0 */
/* int8 benchmark: four models side by side in one run, at BERT-base
 * shapes (L=12, H=768, 12 heads, FFN 3072, vocab 30522, 2 labels; seeded
 * random weights written as an F32 HF directory by bench/bench_common.c),
 * batch 32 x sequence 128:
 *
 *   f32          the dense model as loaded;
 *   int8         the same after tpa_model_quantize() (dynamic activation
 *                scales), saved with tpa_model_save() and loaded back;
 *   pruned-f32   44 of the 144 heads removed (bench_prune's table: 1 head
 *                from each of the two lowest blocks, up to 7 from the top
 *                one) and half the FFN neurons of every layer (1536 of
 *                3072, a seeded random choice, as bench_prune --ffn-keep
 *                0.5 does), saved and loaded back;
 *   pruned-int8  that pruned model quantized, saved and loaded back.
 *
 * Importance means nothing on random weights, so the plan is a fixed
 * table; only the sizes matter for the speed. bench/ref/run_refs.sh times
 * ONNX Runtime and PyTorch on the same shapes (its "pruned" variant also
 * keeps 100 heads and 1536 neurons, spread otherwise), and the speed lines
 * here have its format, "libtpa <variant> ms_per_batch=<median>
 * seq_per_s=<...>", so that bench/int8_compare.sh tabulates them together.
 *
 * Speed: the four models live in this process, loaded from the saved
 * directories (as a user of int8 models gets them). After --warmup rounds,
 * --reps rounds each run every model once, the order rotating by one each
 * round, so that a drift in the machine's speed hits all four alike; the
 * median per model is reported. The FLOP-ideal speedup of pruning (counted
 * matmul FLOPs, as bench_prune counts them) is printed for context: int8
 * does not change the FLOPs, only their cost.
 *
 * Agreement: the logits of the last timed forward of each model (the same
 * input batch for all): the largest |f32 - int8| difference and the share
 * of rows whose argmax agrees. On random weights the logits are small and
 * nearly tied, so this is a sanity check, not an accuracy figure.
 *
 * Memory: peak RSS of each model alone, loaded from its directory in a
 * child process of its own, after one forward of the batch; against the
 * f32 weights' size. The export (quantize, prune, save) also runs in a
 * child. All children run before this process starts oneDNN or OpenMP,
 * so forking is safe.
 *
 *   bench_int8 [--reps N] [--warmup N] [--batch B] [--seq S] [--keep DIR]
 *              [--quick]
 *   bench_int8 --matmul [--reps N]
 *
 * --matmul: only the kernels, f32 (packed weights, 1024 rows, as the f32
 * model runs) against int8 (row quantizer, int8 matmul and row-scale
 * pass, 512 rows, as an int8 model runs) on the three Linear shapes,
 * alternating, 20 reps: GFLOP/s, GOP/s, their ratio and the quantizer's
 * share.
 *
 * --quick: a tiny model (2 layers, hidden 256, 4 heads, FFN 1024, vocab
 * 1000; 2 of the 8 heads pruned), batch 4 x 32, 2 reps: a smoke run of a
 * few seconds. --keep DIR: write the model and the three exports to DIR
 * and keep them (the model is reused when DIR has one).
 *
 * Exits 1 on any library error. OMP_NUM_THREADS (default 2 here) sets the
 * threads. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "io/safetensors.h"
#include "model/forward.h"
#include "model/tensors.h"
#include "nn/nn.h"
#include "tpa/tpa.h"

enum { LABELS = BENCH_LABELS, MAX_LAYERS = BENCH_LAYERS };

/* The share of FFN neurons every pruned layer keeps (bench_prune
 * --ffn-keep 0.5; bench/ref/bert_ref.py's FFN_KEEP). */
static const double FFN_KEEP = 0.5;

/* ------------------------------------------------------------------ */
/* Shapes and the fixed plan                                           */
/* ------------------------------------------------------------------ */

typedef struct shape {
  const char *name;
  int32_t layers, hidden, heads, inter, vocab;
  /* Heads removed per layer, ORIGINAL indices ascending, -1 ends a row. */
  const int8_t (*plan)[8];
  int32_t plan_pruned;
} shape;

/* The tiny model: 2 of 8 heads, about the same share as 44 of 144 (and
 * what bert_ref.py --quick --pruned removes). */
static const int8_t plan_tiny[2][8] = {{1, -1}, {2, -1}};

static const shape shape_base = {"BERT-base", BENCH_LAYERS, BENCH_HIDDEN,     BENCH_HEADS,
                                 BENCH_INTER, BENCH_VOCAB,  bench_plan_heads, 44};
static const shape shape_tiny = {"tiny BERT", 2, 256, 4, 1024, 1000, plan_tiny, 2};

static int32_t plan_count(const shape *s, int32_t layer) {
  int32_t n = 0;
  while (n < 8 && s->plan[layer][n] >= 0)
    n++;
  return n;
}

static int32_t ffn_kept(const shape *s) {
  return (int32_t)(FFN_KEEP * s->inter + 0.5);
}

static void die_errno(const char *what) {
  fprintf(stderr, "%s: %s: %s\n", bench_prog, what, strerror(errno));
  exit(1);
}

/* The plan as tpa_prune_plan_save() writes it: the head table, and in
 * every layer inter - ffn_kept() neurons, the first of a seeded shuffle
 * (as bench_prune --ffn-keep does). */
static void write_plan(const shape *s, const char *path) {
  FILE *f = fopen(path, "w");
  if (!f)
    die_errno(path);
  fprintf(f, "{\"layers\": %d, \"heads\": %d, \"pruned_heads\": {", s->layers, s->heads);
  for (int32_t l = 0; l < s->layers; l++) {
    fprintf(f, "%s\n  \"%d\": [", l ? "," : "", l);
    for (int32_t j = 0; j < plan_count(s, l); j++)
      fprintf(f, "%s%d", j ? ", " : "", s->plan[l][j]);
    fprintf(f, "]");
  }
  fprintf(f, "\n}, \"ffn_widths\": [");
  for (int32_t l = 0; l < s->layers; l++)
    fprintf(f, "%s%d", l ? ", " : "", s->inter);
  fprintf(f, "], \"pruned_neurons\": {");
  int32_t *perm = bench_xcalloc((size_t)s->inter, sizeof *perm);
  for (int32_t l = 0; l < s->layers; l++) {
    for (int32_t j = 0; j < s->inter; j++)
      perm[j] = j;
    for (int32_t j = s->inter - 1; j > 0; j--) { /* Fisher-Yates */
      int32_t k = (int32_t)(bench_uniform() * (j + 1));
      k = k > j ? j : k;
      int32_t t = perm[j];
      perm[j] = perm[k];
      perm[k] = t;
    }
    fprintf(f, "%s\n  \"%d\": [", l ? "," : "", l);
    for (int32_t j = 0; j < s->inter - ffn_kept(s); j++)
      fprintf(f, "%s%d", j ? ", " : "", perm[j]);
    fprintf(f, "]");
  }
  fprintf(f, "\n}}\n");
  free(perm);
  if (fclose(f) != 0)
    die_errno(path);
}

/* ------------------------------------------------------------------ */
/* The tiny model of --quick                                           */
/* ------------------------------------------------------------------ */

/* bench_common writes BERT-base only; --quick writes its own directory
 * the same way (config.json, vocab.txt, and every tensor of the library's
 * own list: N(0, 0.02) weights, LayerNorm weights 1, biases 0). */

static bool ends_with(const char *name, const char *suffix) {
  size_t n = strlen(name), k = strlen(suffix);
  return n >= k && strcmp(name + n - k, suffix) == 0;
}

static int write_tiny(const char *dir, const shape *s) {
  char cfg[1024];
  snprintf(cfg, sizeof cfg,
           "{\n  \"architectures\": [\"BertForSequenceClassification\"],\n"
           "  \"attention_probs_dropout_prob\": 0.1,\n  \"hidden_act\": \"gelu\",\n"
           "  \"hidden_dropout_prob\": 0.1,\n  \"hidden_size\": %d,\n"
           "  \"initializer_range\": 0.02,\n  \"intermediate_size\": %d,\n"
           "  \"layer_norm_eps\": 1e-12,\n  \"max_position_embeddings\": %d,\n"
           "  \"model_type\": \"bert\",\n  \"num_attention_heads\": %d,\n"
           "  \"num_hidden_layers\": %d,\n  \"pad_token_id\": 0,\n"
           "  \"type_vocab_size\": %d,\n  \"vocab_size\": %d\n}\n",
           s->hidden, s->inter, BENCH_MAXPOS, s->heads, s->layers, BENCH_TYPES, s->vocab);
  if (bench_write_text(dir, "config.json", cfg) != 0)
    return -1;
  size_t cap = (size_t)s->vocab * 16 + 64, len = 0;
  char *voc = bench_xcalloc(cap, 1);
  len += (size_t)snprintf(voc, cap, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
  for (int32_t i = 5; i < s->vocab; i++)
    len += (size_t)snprintf(voc + len, cap - len, "t%d\n", i);
  int rc = bench_write_text(dir, "vocab.txt", voc);
  free(voc);
  if (rc != 0)
    return -1;

  tpa__config c = {.family = TPA__FAM_BERT,
                   .hidden = s->hidden,
                   .layers = s->layers,
                   .heads = s->heads,
                   .head_dim = s->hidden / s->heads,
                   .inter = s->inter,
                   .vocab = s->vocab,
                   .max_pos = BENCH_MAXPOS,
                   .type_vocab = BENCH_TYPES,
                   .num_labels = LABELS,
                   .emb = s->hidden};
  tpa__layer layers[MAX_LAYERS];
  memset(layers, 0, sizeof layers);
  for (int32_t l = 0; l < s->layers; l++)
    layers[l].n_heads = s->heads, layers[l].inter = s->inter;
  tpa__weights w = {.layer = layers};
  size_t n = tpa__model_tensors(&c, &w, NULL, 0);
  tpa__named_tensor *t = bench_xcalloc(n, sizeof *t);
  tpa__st_out *out = bench_xcalloc(n, sizeof *out);
  tpa__model_tensors(&c, &w, t, n);
  for (size_t i = 0; i < n; i++) {
    float *data = bench_xcalloc(t[i].count, sizeof *data);
    if (ends_with(t[i].name, "LayerNorm.weight"))
      for (size_t k = 0; k < t[i].count; k++)
        data[k] = 1.0f;
    else if (!ends_with(t[i].name, ".bias"))
      bench_fill_normal(data, t[i].count, 0.02f);
    out[i] = (tpa__st_out){t[i].name, TPA__DT_F32, t[i].ndims, t[i].dims, data, NULL};
  }
  char path[4200];
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  if (tpa__st_write(path, out, n, NULL, NULL, 0) != TPA_OK)
    bench_die(path);
  /* The child exits next: its memory goes with it. */
  return 0;
}

typedef struct tiny_job {
  const char *dir;
  const shape *s;
} tiny_job;

static void tiny_entry(const void *ctx, void *out) {
  const tiny_job *job = ctx;
  *(int *)out = write_tiny(job->dir, job->s) == 0;
}

/* bench_model_dir for the tiny model: @p keep (reused if it holds a
 * model) or a fresh /tmp/tpa-bench-XXXXXX, written by a child. */
static void tiny_model_dir(const char *keep, const shape *s, char *dir, size_t cap,
                           double *weights_mib) {
  struct stat sb;
  bool reuse = keep && stat(keep, &sb) == 0 && S_ISDIR(sb.st_mode);
  if (keep && !reuse && mkdir(keep, 0755) != 0)
    die_errno(keep);
  if (keep) {
    snprintf(dir, cap, "%s", keep);
  } else {
    snprintf(dir, cap, "/tmp/tpa-bench-XXXXXX");
    if (!mkdtemp(dir))
      die_errno("mkdtemp");
  }
  char st_path[4200];
  snprintf(st_path, sizeof st_path, "%s/model.safetensors", dir);
  if (!(reuse && stat(st_path, &sb) == 0)) {
    double t0 = bench_now();
    const tiny_job job = {dir, s};
    int ok = 0;
    if (!bench_in_child(tiny_entry, &job, &ok, sizeof ok) || !ok) {
      fprintf(stderr, "%s: writing the model to %s failed\n", bench_prog, dir);
      exit(1);
    }
    printf("wrote a random %s to %s in %.1f s\n", s->name, dir, bench_now() - t0);
  }
  if (stat(st_path, &sb) != 0)
    die_errno(st_path);
  *weights_mib = (double)sb.st_size / (1024.0 * 1024.0);
}

/* ------------------------------------------------------------------ */
/* Models and inputs                                                   */
/* ------------------------------------------------------------------ */

enum { V_F32, V_INT8, V_PF32, V_PINT8, NV };
static const char *const vname[NV] = {"f32", "int8", "pruned-f32", "pruned-int8"};

static bool is_int8(int v) {
  return v == V_INT8 || v == V_PINT8;
}

/* Load @p dir and check that it has the shapes of @p s (a --keep
 * directory may hold another model) and the expected quantization. */
static tpa_model *load_checked(const char *dir, const shape *s, tpa_quant_mode want) {
  tpa_model *m = NULL;
  if (tpa_model_load(&m, dir, NULL) != TPA_OK)
    bench_die(dir);
  tpa_model_config c = {.size = sizeof c};
  if (tpa_model_get_config(m, &c) != TPA_OK)
    bench_die("tpa_model_get_config");
  if (c.num_layers != s->layers || c.hidden_size != s->hidden || c.num_heads != s->heads ||
      c.vocab_size != s->vocab || c.num_labels != LABELS) {
    fprintf(stderr,
            "%s: %s holds a model of L=%d H=%d heads=%d vocab=%d labels=%d, not the %s "
            "(use another --keep directory)\n",
            bench_prog, dir, c.num_layers, c.hidden_size, c.num_heads, c.vocab_size, c.num_labels,
            s->name);
    exit(1);
  }
  if (tpa_model_quant_mode(m) != want) {
    fprintf(stderr, "%s: %s loaded with quantization mode %d, not %d\n", bench_prog, dir,
            (int)tpa_model_quant_mode(m), (int)want);
    exit(1);
  }
  return m;
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
} inputs;

static void inputs_make(inputs *in, const shape *s, int32_t batch, int32_t seq) {
  const size_t tokens = (size_t)batch * (size_t)seq;
  in->batch = batch;
  in->seq = seq;
  in->ids = bench_xcalloc(tokens, sizeof *in->ids);
  in->types = bench_xcalloc(tokens, sizeof *in->types);
  for (size_t i = 0; i < tokens; i++) {
    in->ids[i] = (i % (size_t)seq) == 0 ? 2 : 5 + (int32_t)(bench_uniform() * (s->vocab - 5));
    in->types[i] = (int32_t)(i % (size_t)seq) >= seq / 2;
  }
}

static void inputs_free(inputs *in) {
  free(in->ids);
  free(in->types);
}

static double timed_forward(const tpa_model *m, const inputs *in, float *logits) {
  double t0 = bench_now();
  if (tpa_model_forward(m, in->ids, in->types, NULL, in->batch, in->seq, logits) != TPA_OK)
    bench_die("tpa_model_forward");
  return bench_now() - t0;
}

/* ------------------------------------------------------------------ */
/* Children: the export, and the memory of each model alone            */
/* ------------------------------------------------------------------ */

static void quant_log(void *user, tpa_log_level level, const char *msg) {
  (void)level;
  printf("# tpa_model_quantize (%s): %s\n", (const char *)user, msg);
}

static double quantize(tpa_model *m, const char *which) {
  tpa_quantize_params qp;
  tpa_quantize_params_init(&qp, sizeof qp);
  qp.mode = TPA_QUANT_DYNAMIC;
  qp.log = quant_log;
  qp.user = (void *)which;
  double t0 = bench_now();
  if (tpa_model_quantize(m, &qp) != TPA_OK)
    bench_die("tpa_model_quantize");
  return bench_now() - t0;
}

static void save(const tpa_model *m, const char *dir) {
  if (tpa_model_save(m, dir) != TPA_OK)
    bench_die("tpa_model_save");
}

typedef struct export_job {
  const shape *s;
  const char *plan;
  const char *dir[NV]; /* dir[V_F32] is the source */
} export_job;

typedef struct export_result {
  int ok;
  double quant_s, prune_s, pquant_s;
  uint64_t params[NV];
} export_result;

/* Quantize the f32 model to dir[V_INT8]; prune it to dir[V_PF32], then
 * quantize that to dir[V_PINT8]. */
static void export_entry(const void *ctx, void *out) {
  const export_job *job = ctx;
  export_result *r = out;
  const shape *s = job->s;
  tpa_model *m = load_checked(job->dir[V_F32], s, TPA_QUANT_NONE);
  r->params[V_F32] = model_params(m);
  r->quant_s = quantize(m, "int8");
  r->params[V_INT8] = model_params(m);
  save(m, job->dir[V_INT8]);
  tpa_model_free(m);

  m = load_checked(job->dir[V_F32], s, TPA_QUANT_NONE);
  tpa_prune_plan *plan = NULL;
  if (tpa_prune_plan_load(&plan, job->plan) != TPA_OK)
    bench_die("tpa_prune_plan_load");
  if (tpa_prune_plan_num_pruned(plan) != s->plan_pruned) {
    fprintf(stderr, "%s: %s removes %d heads, not %d\n", bench_prog, job->plan,
            tpa_prune_plan_num_pruned(plan), s->plan_pruned);
    exit(1);
  }
  double t0 = bench_now();
  if (tpa_model_prune(m, plan) != TPA_OK)
    bench_die("tpa_model_prune");
  r->prune_s = bench_now() - t0;
  tpa_prune_plan_free(plan);
  r->params[V_PF32] = model_params(m);
  save(m, job->dir[V_PF32]);
  r->pquant_s = quantize(m, "pruned-int8");
  r->params[V_PINT8] = model_params(m);
  save(m, job->dir[V_PINT8]);
  tpa_model_free(m);
  r->ok = 1;
}

typedef struct rss_job {
  const shape *s;
  const char *dir;
  tpa_quant_mode want;
  int32_t batch, seq;
} rss_job;

typedef struct rss_result {
  int ok;
  double load_s, rss_load, rss_forward; /* s, MiB */
} rss_result;

/* Load the directory and run one forward of the batch. */
static void rss_entry(const void *ctx, void *out) {
  const rss_job *job = ctx;
  rss_result *r = out;
  double t0 = bench_now();
  tpa_model *m = load_checked(job->dir, job->s, job->want);
  r->load_s = bench_now() - t0;
  r->rss_load = bench_peak_rss_mib();
  inputs in;
  inputs_make(&in, job->s, job->batch, job->seq);
  float *logits = bench_xcalloc((size_t)job->batch * LABELS, sizeof *logits);
  timed_forward(m, &in, logits);
  r->rss_forward = bench_peak_rss_mib();
  free(logits);
  inputs_free(&in);
  tpa_model_free(m);
  r->ok = 1;
}

/* Remove what tpa_model_save wrote into @p dir, and @p dir. */
static void rm_export(const char *dir) {
  static const char *const files[] = {
      "config.json",    "model.safetensors", "vocab.txt", "tokenizer_config.json",
      "tokenizer.json", "vocab.json",        "merges.txt"};
  char path[4400];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  if (rmdir(dir) != 0 && errno != ENOENT)
    fprintf(stderr, "%s: warning: could not remove %s: %s\n", bench_prog, dir, strerror(errno));
}

/* ------------------------------------------------------------------ */
/* Figures                                                             */
/* ------------------------------------------------------------------ */

/* Counted matmul FLOPs of one sequence of length S (2 per multiply-add)
 * for a model whose layer l keeps heads[l] heads and inter[l] neurons:
 * Q, K, V, the attention output dense, QK^T and PV scale with the heads
 * kept, the FFN with the neurons kept; pooler and classifier on [CLS].
 * Softmax, LayerNorm, GELU and the embedding gather are not counted (as
 * in bench_prune). */
static double flops_per_seq(const shape *s, const int32_t *heads, const int32_t *inter, double S) {
  const double H = s->hidden, head_dim = (double)(s->hidden / s->heads);
  double f = 2 * H * H + 2 * H * LABELS;
  for (int32_t l = 0; l < s->layers; l++) {
    const double hq = heads[l] * head_dim;
    f += 3 * 2 * S * H * hq + 2 * S * hq * H + 2 * 2 * S * S * hq + 2 * 2 * S * H * inter[l];
  }
  return f;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of @p n values (sorted in place). */
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* "# <UTC time> loadavg <label>: <1 5 15 min, runnable/total, last pid>" */
static void print_load(const char *label) {
  char buf[128] = "unavailable", when[32] = "?";
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fgets(buf, sizeof buf, f))
      buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
  }
  time_t now = time(NULL);
  struct tm tm;
  if (gmtime_r(&now, &tm))
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  printf("# %s %s loadavg: %s\n", label, when, buf);
}

static off_t file_bytes(const char *dir) {
  char path[4400];
  struct stat sb;
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  if (stat(path, &sb) != 0)
    die_errno(path);
  return sb.st_size;
}

/* The f32 and int8 logits of one batch: largest |difference|, largest
 * |f32 logit| (the scale it is read against) and rows whose argmax agree. */
static void print_agreement(const char *name, const float *a, const float *b, int32_t batch) {
  double diff = 0, amax = 0;
  int32_t agree = 0;
  for (int32_t r = 0; r < batch; r++) {
    int32_t ia = 0, ib = 0;
    for (int32_t k = 0; k < LABELS; k++) {
      const float x = a[r * LABELS + k], y = b[r * LABELS + k];
      diff = fabs((double)x - y) > diff ? fabs((double)x - y) : diff;
      amax = fabs((double)x) > amax ? fabs((double)x) : amax;
      ia = x > a[r * LABELS + ia] ? k : ia;
      ib = y > b[r * LABELS + ib] ? k : ib;
    }
    agree += ia == ib;
  }
  printf("agree %s max_abs_logit_diff=%.6f max_abs_logit=%.6f argmax_agree=%d/%d (%.1f%%)\n", name,
         diff, amax, agree, batch, 100.0 * agree / batch);
}

/* ------------------------------------------------------------------ */
/* --matmul: the kernels alone                                         */
/* ------------------------------------------------------------------ */

/* One int8 Linear as an int8 model runs it: quantize the f32 input per
 * row, int8 matmul, the row-scale pass with bias. */
typedef struct qmm {
  int64_t m, k, n;
  float *x, *xs, *ws, *bias, *y;
  uint8_t *xq;
  int8_t *w;
  double total; /* seconds: matmul and row pass */
  double quant; /* seconds: the row quantizer */
} qmm;

static void qmm_setup(qmm *q) {
  q->x = bench_xcalloc((size_t)(q->m * q->k), sizeof *q->x);
  q->xs = bench_xcalloc((size_t)q->m, sizeof *q->xs);
  q->ws = bench_xcalloc((size_t)q->n, sizeof *q->ws);
  q->bias = bench_xcalloc((size_t)q->n, sizeof *q->bias);
  q->y = bench_xcalloc((size_t)(q->m * q->n), sizeof *q->y);
  q->xq = bench_xcalloc((size_t)(q->m * q->k), 1);
  q->w = bench_xcalloc((size_t)(q->n * q->k), 1);
  bench_fill_normal(q->x, (size_t)(q->m * q->k), 1.0f);
  for (int64_t i = 0; i < q->n * q->k; i++)
    q->w[i] = (int8_t)((i * 37) % 127 - 63);
  for (int64_t i = 0; i < q->n; i++)
    q->ws[i] = 0.001f;
}

static void qmm_run(tpa__nn_ctx *ctx, qmm *q, bool count) {
  double t0 = bench_now();
  tpa__nn_quantize_rows(q->x, q->m, q->k, 0.0f, q->xq, q->xs);
  double t1 = bench_now();
  tpa__nn_qmatmul_desc d = {.m = q->m, .k = q->k, .n = q->n, .bias = 1};
  if (tpa__nn_qmatmul(ctx, &d, q->xq, q->xs, q->w, q->ws, q->bias, NULL, q->y, "bench") != TPA_OK) {
    fprintf(stderr, "%s: int8 matmul: %s\n", bench_prog, tpa_last_error());
    exit(1);
  }
  double t2 = bench_now();
  if (count) {
    q->quant += t1 - t0;
    q->total += t2 - t1;
  }
}

static void qmm_free(qmm *q) {
  free(q->x), free(q->xs), free(q->ws), free(q->bias), free(q->y), free(q->xq), free(q->w);
}

/* f32 (packed weights, as the f32 model) against int8 (as an int8 model)
 * on BERT-base's three Linear shapes, at the rows per pass each model
 * uses, alternating: the machine's kernel ratio, before the rest of a
 * forward. */
static int matmul_main(int reps) {
  static const int64_t shapes[3][2] = {{768, 768}, {768, 3072}, {3072, 768}};
  tpa__nn_cache *cache = NULL;
  tpa__nn_ctx *ctx = NULL;
  if (tpa__nn_cache_create(&cache) != TPA_OK || tpa__nn_ctx_create(&ctx, cache) != TPA_OK) {
    fprintf(stderr, "%s: %s\n", bench_prog, tpa_last_error());
    return 1;
  }
  print_load("start");
  printf("# libtpa %s, %s, %d threads, %d reps after 2 warm-up runs\n", tpa_version(),
         tpa_backend_version(), omp_get_max_threads(), reps);
  for (int i = 0; i < 3; i++) {
    bench_mm f = {
        .m = (int64_t)TPA__PASS_TOKENS, .k = shapes[i][0], .n = shapes[i][1], .best = 1e30};
    qmm q = {.m = (int64_t)TPA__PASS_TOKENS_INT8, .k = shapes[i][0], .n = shapes[i][1]};
    bench_mm_setup(ctx, &f);
    qmm_setup(&q);
    for (int r = 0; r < reps + 2; r++) {
      bench_mm_run(ctx, &f, r >= 2);
      qmm_run(ctx, &q, r >= 2);
    }
    const double gf = bench_mm_gflops(&f, f.total / reps);
    const double ops = 2.0 * (double)(q.m * q.k * q.n);
    const double gq = ops / (q.total / reps) * 1e-9;
    printf("matmul %lldx%lld f32 rows=%lld gflops=%.1f int8 rows=%lld gops=%.1f (matmul and "
           "row pass) ratio=%.2f quantize_share=%.1f%%\n",
           (long long)q.k, (long long)q.n, (long long)f.m, gf, (long long)q.m, gq, gq / gf,
           100.0 * q.quant / (q.quant + q.total));
    bench_mm_free(&f);
    qmm_free(&q);
  }
  print_load("end");
  tpa__nn_ctx_free(ctx);
  tpa__nn_cache_free(cache);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Main                                                                */
/* ------------------------------------------------------------------ */

static int parse_count(const char *s, int lo, int hi, int *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return -1;
  *out = (int)v;
  return 0;
}

int main(int argc, char **argv) {
  int reps = 5, warmup = 1, batch = 32, seq = 128;
  bool quick = false, matmul = false, reps_set = false, batch_set = false, seq_set = false;
  const char *keep = NULL;
  bench_prog = "bench_int8";
  for (int i = 1; i < argc; i++) {
    int bad = 0;
    if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
      bad = parse_count(argv[++i], 1, 1000, &reps);
      reps_set = true;
    } else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) {
      bad = parse_count(argv[++i], 0, 1000, &warmup);
    } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
      bad = parse_count(argv[++i], 1, 4096, &batch);
      batch_set = true;
    } else if (!strcmp(argv[i], "--seq") && i + 1 < argc) {
      bad = parse_count(argv[++i], 1, BENCH_MAXPOS, &seq);
      seq_set = true;
    } else if (!strcmp(argv[i], "--keep") && i + 1 < argc) {
      keep = argv[++i];
    } else if (!strcmp(argv[i], "--quick")) {
      quick = true;
    } else if (!strcmp(argv[i], "--matmul")) {
      matmul = true;
    } else {
      bad = -1;
    }
    if (bad) {
      fprintf(stderr,
              "usage: %s [--reps N] [--warmup N] [--batch B] [--seq S (<= %d)] [--keep DIR] "
              "[--quick] | --matmul [--reps N]\n",
              argv[0], BENCH_MAXPOS);
      return 2;
    }
  }
  const shape *s = quick ? &shape_tiny : &shape_base;
  if (quick) {
    reps = reps_set ? reps : 2;
    batch = batch_set ? batch : 4;
    seq = seq_set ? seq : 32;
  }
  /* libgomp reads OMP_NUM_THREADS before main: default to 2 here, and
   * for the children through the environment. */
  if (!getenv("OMP_NUM_THREADS")) {
    setenv("OMP_NUM_THREADS", "2", 1);
    omp_set_num_threads(2);
  }

  if (matmul)
    return matmul_main(reps_set ? reps : 20);
  print_load("start");
  printf("# libtpa %s, %s, %d threads\n", tpa_version(), tpa_backend_version(),
         omp_get_max_threads());
  printf("# %s (L=%d H=%d heads=%d FFN=%d vocab=%d), batch %d, seq %d, %d reps (median), "
         "%d warm-up\n",
         s->name, s->layers, s->hidden, s->heads, s->inter, s->vocab, batch, seq, reps, warmup);

  char dir[4096], plan_path[4200], vdir[NV][4200];
  double weights_mib = 0;
  if (quick)
    tiny_model_dir(keep, s, dir, sizeof dir, &weights_mib);
  else
    bench_model_dir(keep, dir, sizeof dir, &weights_mib);
  snprintf(plan_path, sizeof plan_path, "%s/bench_int8_plan.json", dir);
  snprintf(vdir[V_F32], sizeof vdir[V_F32], "%s", dir);
  for (int v = 1; v < NV; v++)
    snprintf(vdir[v], sizeof vdir[v], "%s/%s", dir, vname[v]);
  write_plan(s, plan_path);

  /* Children first, while this process has started no OpenMP thread. */
  export_result ex;
  const export_job ej = {s, plan_path, {vdir[0], vdir[1], vdir[2], vdir[3]}};
  double t0 = bench_now();
  if (!bench_in_child(export_entry, &ej, &ex, sizeof ex) || !ex.ok) {
    fprintf(stderr, "%s: the export child failed\n", bench_prog);
    return 1;
  }
  printf("# export %.1f s: tpa_model_quantize %.2f s; tpa_model_prune %.2f s (%d of %d heads, "
         "%d of %d neurons per layer kept); quantizing the pruned model %.2f s\n",
         bench_now() - t0, ex.quant_s, ex.prune_s, s->layers * s->heads - s->plan_pruned,
         s->layers * s->heads, ffn_kept(s), s->inter, ex.pquant_s);
  printf("# parameters: f32 %llu, pruned %llu\n", (unsigned long long)ex.params[V_F32],
         (unsigned long long)ex.params[V_PF32]);
  rss_result rss[NV];
  for (int v = 0; v < NV; v++) {
    const rss_job rj = {s, vdir[v], is_int8(v) ? TPA_QUANT_DYNAMIC : TPA_QUANT_NONE, batch, seq};
    if (!bench_in_child(rss_entry, &rj, &rss[v], sizeof rss[v]) || !rss[v].ok) {
      fprintf(stderr, "%s: the memory child for %s failed\n", bench_prog, vname[v]);
      return 1;
    }
  }

  /* The four models in this process, for the speed. */
  tpa_model *m[NV];
  for (int v = 0; v < NV; v++)
    m[v] = load_checked(vdir[v], s, is_int8(v) ? TPA_QUANT_DYNAMIC : TPA_QUANT_NONE);
  int32_t heads[NV][MAX_LAYERS], inter[NV][MAX_LAYERS];
  for (int v = 0; v < NV; v++)
    for (int32_t l = 0; l < s->layers; l++) {
      heads[v][l] = tpa_model_layer_num_heads(m[v], l);
      inter[v][l] = tpa_model_layer_ffn_width(m[v], l);
      const bool pruned = v == V_PF32 || v == V_PINT8;
      const int32_t want_h = pruned ? s->heads - plan_count(s, l) : s->heads;
      const int32_t want_i = pruned ? ffn_kept(s) : s->inter;
      if (heads[v][l] != want_h || inter[v][l] != want_i) {
        fprintf(stderr, "%s: %s layer %d keeps %d heads and %d neurons, not %d and %d\n",
                bench_prog, vname[v], l, heads[v][l], inter[v][l], want_h, want_i);
        return 1;
      }
    }
  const double flops_dense = flops_per_seq(s, heads[V_F32], inter[V_F32], seq),
               flops_pruned = flops_per_seq(s, heads[V_PF32], inter[V_PF32], seq);

  inputs in;
  inputs_make(&in, s, batch, seq);
  float *logits[NV];
  double *t[NV];
  for (int v = 0; v < NV; v++) {
    logits[v] = bench_xcalloc((size_t)batch * LABELS, sizeof *logits[v]);
    t[v] = bench_xcalloc((size_t)reps, sizeof *t[v]);
  }
  /* Warm-up: primitives for every shape, first touch of the buffers. */
  for (int w = 0; w < warmup; w++)
    for (int v = 0; v < NV; v++)
      timed_forward(m[v], &in, logits[v]);
  /* Each round runs every model once, starting one model later than the
   * round before, so that none always follows the same one and a drift
   * in the machine's speed hits all alike. */
  for (int r = 0; r < reps; r++) {
    for (int k = 0; k < NV; k++) {
      const int v = (r + k) % NV;
      t[v][r] = timed_forward(m[v], &in, logits[v]);
    }
    printf("  round %2d:", r + 1);
    for (int v = 0; v < NV; v++)
      printf(" %s %.1f ms%s", vname[v], t[v][r] * 1e3, v + 1 < NV ? "," : "\n");
  }
  double med[NV];
  for (int v = 0; v < NV; v++) {
    med[v] = median(t[v], reps);
    printf("libtpa %s ms_per_batch=%.1f seq_per_s=%.2f\n", vname[v], med[v] * 1e3, batch / med[v]);
  }
  printf("speedup int8_vs_f32=%.3f\n", med[V_F32] / med[V_INT8]);
  printf("speedup pruned-int8_vs_f32=%.3f\n", med[V_F32] / med[V_PINT8]);
  printf("speedup pruned-f32_vs_f32=%.3f flop_ideal=%.3f (counted matmul GFLOP per sequence "
         "%.3f dense, %.3f pruned)\n",
         med[V_F32] / med[V_PF32], flops_dense / flops_pruned, flops_dense * 1e-9,
         flops_pruned * 1e-9);
  printf("speedup pruned-int8_vs_pruned-f32=%.3f\n", med[V_PF32] / med[V_PINT8]);
  print_agreement("int8_vs_f32", logits[V_F32], logits[V_INT8], batch);
  print_agreement("pruned-int8_vs_pruned-f32", logits[V_PF32], logits[V_PINT8], batch);
  for (int v = 0; v < NV; v++)
    printf("rss %s peak_mib=%.1f ratio_to_f32_weights=%.3f after_load_mib=%.1f load_s=%.2f\n",
           vname[v], rss[v].rss_forward, rss[v].rss_forward / weights_mib, rss[v].rss_load,
           rss[v].load_s);
  const off_t bytes_f32 = file_bytes(vdir[V_F32]);
  for (int v = 0; v < NV; v++) {
    const off_t b = file_bytes(vdir[v]);
    printf("size %s model.safetensors bytes=%lld mib=%.1f ratio_to_f32=%.3f\n", vname[v],
           (long long)b, (double)b / (1024.0 * 1024.0), (double)b / (double)bytes_f32);
  }
  printf("# f32 weights (model.safetensors) %.1f MiB; rss: each model alone, loaded from its "
         "directory in a child, after one forward of the batch\n",
         weights_mib);
  print_load("end");

  for (int v = 0; v < NV; v++) {
    free(logits[v]);
    free(t[v]);
    tpa_model_free(m[v]);
  }
  inputs_free(&in);
  unlink(plan_path);
  if (!keep) {
    for (int v = 1; v < NV; v++)
      rm_export(vdir[v]);
    bench_rm_dir(dir);
  }
  return 0;
}
