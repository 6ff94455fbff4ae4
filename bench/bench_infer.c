/* SPDX-License-Identifier: Apache-2.0 */
/* Inference benchmark: BERT-base shapes (L=12, H=768, 12 heads, FFN 3072,
 * vocab 30522, 2 labels) with seeded random weights, written as an F32 HF
 * directory to a temporary folder and loaded through tpa_model_load (so
 * the real mmap and weight-packing path runs). Reports whole-model
 * sequences/s and tokens/s at batch 32, sequence 128, next to the GFLOP/s
 * of single oneDNN f32 matmuls of the model's shapes measured in the same
 * run, the fraction of that matmul throughput the model reaches, and peak
 * resident memory against the weights' size.
 *
 *   bench_infer [--reps N] [--batch B] [--seq S] [--keep DIR]
 *
 * The weights are written by a child process, so its memory does not
 * count in this process's peak RSS. OMP_NUM_THREADS (default 2 here)
 * sets the threads. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "model/forward.h"
#include "nn/nn.h"
#include "tpa/tpa.h"

enum {
  L = 12,
  H = 768,
  HEADS = 12,
  INTER = 3072,
  VOCAB = 30522,
  MAXPOS = 512,
  TYPES = 2,
  LABELS = 2
};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double peak_rss_mib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* splitmix64 + Box-Muller: seeded, fast, independent of libc rand. */
static uint64_t rng_state = 0x5eed5eedULL;
static double uniform(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}
static void fill_normal(float *p, size_t n, float std) {
  for (size_t i = 0; i < n; i += 2) {
    double r = sqrt(-2.0 * log(uniform())), a = 6.283185307179586 * uniform();
    p[i] = (float)(r * cos(a)) * std;
    if (i + 1 < n)
      p[i + 1] = (float)(r * sin(a)) * std;
  }
}
static void fill_const(float *p, size_t n, float v) {
  for (size_t i = 0; i < n; i++)
    p[i] = v;
}

typedef struct tensor_spec {
  char name[96];
  int32_t ndim;
  int64_t shape[2];
  float *data;
} tensor_spec;

static int add_tensor(tensor_spec *t, size_t *n, const char *name, int64_t d0, int64_t d1,
                      int kind /* 0 normal, 1 ones, 2 zeros */) {
  tensor_spec *s = &t[(*n)++];
  snprintf(s->name, sizeof s->name, "%s", name);
  s->ndim = d1 ? 2 : 1;
  s->shape[0] = d0;
  s->shape[1] = d1;
  size_t count = (size_t)d0 * (size_t)(d1 ? d1 : 1);
  s->data = malloc(count * sizeof(float));
  if (!s->data)
    return -1;
  if (kind == 0)
    fill_normal(s->data, count, 0.02f);
  else
    fill_const(s->data, count, kind == 1 ? 1.0f : 0.0f);
  return 0;
}

static int write_text(const char *dir, const char *name, const char *text) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  int ok = fputs(text, f) >= 0;
  return fclose(f) == 0 && ok ? 0 : -1;
}

/* The child: write config.json, vocab.txt and model.safetensors. */
static int write_model_dir(const char *dir) {
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
           H, INTER, MAXPOS, HEADS, L, TYPES, VOCAB);
  if (write_text(dir, "config.json", cfg) != 0)
    return -1;
  /* vocab.txt: the specials, then placeholder tokens up to VOCAB. */
  size_t cap = (size_t)VOCAB * 12 + 64, len = 0;
  char *voc = malloc(cap);
  if (!voc)
    return -1;
  len += (size_t)snprintf(voc, cap, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
  for (int i = 5; i < VOCAB; i++)
    len += (size_t)snprintf(voc + len, cap - len, "t%d\n", i);
  int rc = write_text(dir, "vocab.txt", voc);
  free(voc);
  if (rc != 0)
    return -1;

  tensor_spec *t = calloc(16 * L + 16, sizeof *t);
  size_t n = 0;
  char name[96];
  if (!t)
    return -1;
  rc = 0;
  rc |= add_tensor(t, &n, "bert.embeddings.word_embeddings.weight", VOCAB, H, 0);
  rc |= add_tensor(t, &n, "bert.embeddings.position_embeddings.weight", MAXPOS, H, 0);
  rc |= add_tensor(t, &n, "bert.embeddings.token_type_embeddings.weight", TYPES, H, 0);
  rc |= add_tensor(t, &n, "bert.embeddings.LayerNorm.weight", H, 0, 1);
  rc |= add_tensor(t, &n, "bert.embeddings.LayerNorm.bias", H, 0, 2);
  for (int l = 0; l < L && rc == 0; l++) {
    static const char *const lin[6] = {"attention.self.query", "attention.self.key",
                                       "attention.self.value", "attention.output.dense",
                                       "intermediate.dense",   "output.dense"};
    static const int out_dim[6] = {H, H, H, H, INTER, H}, in_dim[6] = {H, H, H, H, H, INTER};
    for (int k = 0; k < 6; k++) {
      snprintf(name, sizeof name, "bert.encoder.layer.%d.%s.weight", l, lin[k]);
      rc |= add_tensor(t, &n, name, out_dim[k], in_dim[k], 0);
      snprintf(name, sizeof name, "bert.encoder.layer.%d.%s.bias", l, lin[k]);
      rc |= add_tensor(t, &n, name, out_dim[k], 0, 0);
    }
    static const char *const ln[2] = {"attention.output.LayerNorm", "output.LayerNorm"};
    for (int k = 0; k < 2; k++) {
      snprintf(name, sizeof name, "bert.encoder.layer.%d.%s.weight", l, ln[k]);
      rc |= add_tensor(t, &n, name, H, 0, 1);
      snprintf(name, sizeof name, "bert.encoder.layer.%d.%s.bias", l, ln[k]);
      rc |= add_tensor(t, &n, name, H, 0, 2);
    }
  }
  rc |= add_tensor(t, &n, "bert.pooler.dense.weight", H, H, 0);
  rc |= add_tensor(t, &n, "bert.pooler.dense.bias", H, 0, 2);
  rc |= add_tensor(t, &n, "classifier.weight", LABELS, H, 0);
  rc |= add_tensor(t, &n, "classifier.bias", LABELS, 0, 2);
  tpa__st_out *out = calloc(n, sizeof *out);
  if (rc != 0 || !out)
    return -1;
  for (size_t i = 0; i < n; i++)
    out[i] = (tpa__st_out){t[i].name, TPA__DT_F32, t[i].ndim, t[i].shape, t[i].data, NULL};
  char path[4096];
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  tpa_status s = tpa__st_write(path, out, n, NULL, NULL, 0);
  if (s != TPA_OK)
    fprintf(stderr, "bench_infer: writing %s: %s\n", path, tpa_last_error());
  return s == TPA_OK ? 0 : -1;
}

/* One f32 matmul M x K x N through lib/nn with its weights packed in the
 * layout oneDNN runs fastest (the one the model uses), bias included: the
 * machine's ceiling for the model's largest shapes. */
typedef struct mm_bench {
  int64_t m, k, n;
  double total, best;
  float *a, *b, *c, *bias;
} mm_bench;

static void mm_setup(tpa__nn_ctx *ctx, mm_bench *x) {
  size_t packed = 0;
  if (tpa__nn_packed_size(ctx, x->k, x->n, &packed) != TPA_OK) {
    fprintf(stderr, "bench_infer: %s\n", tpa_last_error());
    exit(1);
  }
  float *plain = malloc((size_t)(x->k * x->n) * sizeof(float));
  x->a = malloc((size_t)(x->m * x->k) * sizeof(float));
  x->b = aligned_alloc(64, (packed + 63) & ~(size_t)63);
  x->c = malloc((size_t)(x->m * x->n) * sizeof(float));
  x->bias = calloc((size_t)x->n, sizeof(float));
  if (!plain || !x->a || !x->b || !x->c || !x->bias) {
    fprintf(stderr, "bench_infer: out of memory\n");
    exit(1);
  }
  fill_normal(x->a, (size_t)(x->m * x->k), 1.0f);
  fill_normal(plain, (size_t)(x->k * x->n), 0.02f);
  const tpa__nn_tensor view = tpa__nn_dense2(x->k, x->n);
  if (tpa__nn_pack_weights(ctx, &view, plain, x->b, "bench weights") != TPA_OK) {
    fprintf(stderr, "bench_infer: %s\n", tpa_last_error());
    exit(1);
  }
  free(plain);
}

static void mm_run(tpa__nn_ctx *ctx, mm_bench *x, bool count) {
  tpa__nn_matmul_desc d;
  memset(&d, 0, sizeof d);
  d.src = tpa__nn_dense2(x->m, x->k);
  d.wei = tpa__nn_dense2(x->k, x->n);
  d.wei_packed = 1;
  d.bias = tpa__nn_dense2(1, x->n);
  d.dst = tpa__nn_dense2(x->m, x->n);
  double t0 = now();
  if (tpa__nn_matmul(ctx, &d, x->a, x->b, x->bias, NULL, x->c, "bench") != TPA_OK) {
    fprintf(stderr, "bench_infer: matmul: %s\n", tpa_last_error());
    exit(1);
  }
  double t = now() - t0;
  if (count) {
    x->total += t;
    x->best = t < x->best ? t : x->best;
  }
}

static double mm_gflops(const mm_bench *x, double seconds) {
  return 2.0 * (double)x->m * (double)x->k * (double)x->n / seconds * 1e-9;
}

static void mm_free(mm_bench *x) {
  free(x->a);
  free(x->b);
  free(x->c);
  free(x->bias);
}

static void rm_dir(const char *dir) {
  static const char *const files[] = {"config.json", "vocab.txt", "model.safetensors"};
  char path[4096];
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

int main(int argc, char **argv) {
  int reps = 5, batch = 32, seq = 128;
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
    else {
      fprintf(stderr, "usage: %s [--reps N] [--batch B] [--seq S] [--keep DIR]\n", argv[0]);
      return 2;
    }
  }
  if (reps < 1 || batch < 1 || seq < 1 || seq > MAXPOS) {
    fprintf(stderr, "bench_infer: bad --reps/--batch/--seq\n");
    return 2;
  }
  /* libgomp reads OMP_NUM_THREADS before main: default to 2 here. */
  if (!getenv("OMP_NUM_THREADS"))
    omp_set_num_threads(2);

  char tmpl[] = "/tmp/tpa-bench-XXXXXX";
  const char *dir = keep;
  struct stat sb;
  bool reuse = keep && stat(keep, &sb) == 0 && S_ISDIR(sb.st_mode);
  if (keep && !reuse && mkdir(keep, 0755) != 0) {
    fprintf(stderr, "bench_infer: mkdir %s: %s\n", keep, strerror(errno));
    return 1;
  }
  if (!keep && !(dir = mkdtemp(tmpl))) {
    fprintf(stderr, "bench_infer: mkdtemp: %s\n", strerror(errno));
    return 1;
  }
  char st_path[4096];
  snprintf(st_path, sizeof st_path, "%s/model.safetensors", dir);
  if (!(reuse && stat(st_path, &sb) == 0)) {
    /* Written by a child so the generator's memory is not ours. */
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      return 1;
    }
    if (pid == 0)
      _exit(write_model_dir(dir) == 0 ? 0 : 1);
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "bench_infer: writing the model to %s failed\n", dir);
      return 1;
    }
    printf("wrote random BERT-base to %s in %.1f s\n", dir, now() - t0);
  }
  if (stat(st_path, &sb) != 0) {
    fprintf(stderr, "bench_infer: %s: %s\n", st_path, strerror(errno));
    return 1;
  }
  const double weights_mib = (double)sb.st_size / (1024.0 * 1024.0);

  double t0 = now();
  tpa_model *m = NULL;
  if (tpa_model_load(&m, dir, NULL) != TPA_OK) {
    fprintf(stderr, "bench_infer: %s\n", tpa_last_error());
    return 1;
  }
  const double load_s = now() - t0;
  const double rss_after_load = peak_rss_mib();
  double rss_forward = 0;

  /* Random ids (not [PAD]), one [CLS] first, two segments, no padding. */
  const size_t tokens = (size_t)batch * (size_t)seq;
  int32_t *ids = malloc(tokens * sizeof *ids), *types = malloc(tokens * sizeof *types);
  float *logits = malloc((size_t)batch * LABELS * sizeof *logits);
  if (!ids || !types || !logits)
    return 1;
  for (size_t i = 0; i < tokens; i++) {
    ids[i] = (i % (size_t)seq) == 0 ? 2 : 5 + (int32_t)(uniform() * (VOCAB - 5));
    types[i] = (int32_t)(i % (size_t)seq) >= seq / 2;
  }
  tpa__nn_ctx *ctx = NULL;
  if (tpa__nn_ctx_create(&ctx, m->infer->cache) != TPA_OK) {
    fprintf(stderr, "bench_infer: %s\n", tpa_last_error());
    return 1;
  }
  const int64_t M = (int64_t)tokens;
  /* Warm-up, then model and matmuls interleaved so that both see the same
   * machine load; mean and best of each are reported. */
  double total = 0, best = 1e30;
  /* Warm-up forward first: the peak RSS it leaves is the model's own,
   * before this program allocates its matmul buffers. */
  if (tpa_model_forward(m, ids, types, NULL, batch, seq, logits) != TPA_OK) {
    fprintf(stderr, "bench_infer: %s\n", tpa_last_error());
    return 1;
  }
  rss_forward = peak_rss_mib();
  mm_bench mm[3] = {{.m = M, .k = H, .n = INTER, .best = 1e30},
                    {.m = M, .k = INTER, .n = H, .best = 1e30},
                    {.m = M, .k = H, .n = H, .best = 1e30}};
  for (int i = 0; i < 3; i++)
    mm_setup(ctx, &mm[i]);
  for (int r = -1; r < reps; r++) {
    double t1 = now();
    if (tpa_model_forward(m, ids, types, NULL, batch, seq, logits) != TPA_OK) {
      fprintf(stderr, "bench_infer: %s\n", tpa_last_error());
      return 1;
    }
    double dt = now() - t1;
    if (r >= 0) {
      total += dt;
      best = dt < best ? dt : best;
    }
    for (int i = 0; i < 3; i++)
      mm_run(ctx, &mm[i], r >= 0);
  }
  tpa__nn_ctx_free(ctx);
  const double per_batch = total / reps;
  for (int i = 0; i < 3; i++)
    mm_free(&mm[i]);

  /* FLOPs of one sequence: the matmuls (2 per multiply-add). */
  const double S = seq, Hd = H, I = INTER;
  const double flops_seq = L * (4 * 2 * S * Hd * Hd         /* Q, K, V, O */
                                + 2 * 2 * S * Hd * I        /* FFN */
                                + 2 * 2 * S * S * Hd)       /* scores, context */
                           + 2 * Hd * Hd + 2 * Hd * LABELS; /* pooler, classifier */
  const double model_mean = flops_seq * batch / per_batch * 1e-9;
  const double model_best = flops_seq * batch / best * 1e-9;
  const double mm_mean = mm_gflops(&mm[0], mm[0].total / reps),
               mm_best = mm_gflops(&mm[0], mm[0].best);

  printf("\nlibtpa %s inference benchmark: BERT-base (L=%d H=%d heads=%d FFN=%d vocab=%d), "
         "batch %d, seq %d, %d threads, %d reps\n",
         tpa_version(), L, H, HEADS, INTER, VOCAB, batch, seq, omp_get_max_threads(), reps);
  printf("  %-46s %12s %12s\n", "figure", "mean", "best");
  printf("  %-46s %12.2f\n", "model load (mmap + weight packing), s", load_s);
  printf("  %-46s %12.3f %12.3f\n", "forward time per batch, s", per_batch, best);
  printf("  %-46s %12.2f %12.2f\n", "model sequences / s", batch / per_batch, batch / best);
  printf("  %-46s %12.0f %12.0f\n", "model tokens / s", (double)tokens / per_batch,
         (double)tokens / best);
  printf("  %-46s %12.2f\n", "model GFLOP per sequence", flops_seq * 1e-9);
  printf("  %-46s %12.1f %12.1f\n", "model GFLOP/s", model_mean, model_best);
  for (int i = 0; i < 3; i++) {
    char label[64];
    snprintf(label, sizeof label, "matmul GFLOP/s %lldx%lldx%lld (f32 packed)", (long long)mm[i].m,
             (long long)mm[i].k, (long long)mm[i].n);
    printf("  %-46s %12.1f %12.1f\n", label, mm_gflops(&mm[i], mm[i].total / reps),
           mm_gflops(&mm[i], mm[i].best));
  }
  printf("  %-46s %12.2f %12.2f\n", "matmul ceiling, sequences / s", mm_mean * 1e9 / flops_seq,
         mm_best * 1e9 / flops_seq);
  printf("  %-46s %11.1f%% %11.1f%%\n", "model / matmul(MxHxFFN) throughput",
         100.0 * model_mean / mm_mean, 100.0 * model_best / mm_best);
  printf("  %-46s %12.1f\n", "weights (model.safetensors), MiB", weights_mib);
  printf("  %-46s %12.1f\n", "peak RSS after load, MiB", rss_after_load);
  printf("  %-46s %12.1f\n", "peak RSS after the first forward, MiB", rss_forward);
  printf("  %-46s %12.2f\n", "peak RSS / weights", rss_forward / weights_mib);
  printf("  (peak RSS at the end, bench matmul buffers included: %.1f MiB)\n", peak_rss_mib());

  free(ids);
  free(types);
  free(logits);
  tpa_model_free(m);
  if (!keep)
    rm_dir(dir);
  return 0;
}
