/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the benchmark programs (see bench_common.h). */
#include "bench_common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "tpa/tpa.h"

const char *bench_prog = "bench";

double bench_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void bench_die(const char *what) {
  fprintf(stderr, "%s: %s: %s\n", bench_prog, what, tpa_last_error());
  exit(1);
}

void *bench_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) {
    fprintf(stderr, "%s: out of memory\n", bench_prog);
    exit(1);
  }
  return p;
}

bool bench_in_child(void (*fn)(const void *ctx, void *out), const void *ctx, void *out,
                    size_t out_size) {
  int fd[2];
  memset(out, 0, out_size);
  if (pipe(fd) != 0) {
    perror("pipe");
    return false;
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    close(fd[0]);
    close(fd[1]);
    return false;
  }
  if (pid == 0) {
    close(fd[0]);
    fn(ctx, out);
    ssize_t w = write(fd[1], out, out_size);
    fflush(NULL); /* _exit skips stdio: keep what the child (or oneDNN's verbose mode) printed */
    _exit(w == (ssize_t)out_size ? 0 : 1);
  }
  close(fd[1]);
  size_t got = 0;
  while (got < out_size) {
    ssize_t k = read(fd[0], (char *)out + got, out_size - got);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    got += (size_t)k;
  }
  close(fd[0]);
  int status = 0;
  return waitpid(pid, &status, 0) == pid && got == out_size && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

double bench_peak_rss_mib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* splitmix64 + Box-Muller: seeded, fast, independent of libc rand. */
static uint64_t rng_state = 0x5eed5eedULL;
double bench_uniform(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}
void bench_fill_normal(float *p, size_t n, float std) {
  for (size_t i = 0; i < n; i += 2) {
    double r = sqrt(-2.0 * log(bench_uniform())), a = 6.283185307179586 * bench_uniform();
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
    bench_fill_normal(s->data, count, 0.02f);
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
  enum {
    L = BENCH_LAYERS,
    H = BENCH_HIDDEN,
    INTER = BENCH_INTER,
    VOCAB = BENCH_VOCAB,
    LABELS = BENCH_LABELS
  };
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
           H, INTER, BENCH_MAXPOS, BENCH_HEADS, L, BENCH_TYPES, VOCAB);
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
  rc |= add_tensor(t, &n, "bert.embeddings.position_embeddings.weight", BENCH_MAXPOS, H, 0);
  rc |= add_tensor(t, &n, "bert.embeddings.token_type_embeddings.weight", BENCH_TYPES, H, 0);
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
    fprintf(stderr, "%s: writing %s: %s\n", bench_prog, path, tpa_last_error());
  return s == TPA_OK ? 0 : -1;
}

void bench_model_dir(const char *keep, char *dir, size_t cap, double *weights_mib) {
  struct stat sb;
  bool reuse = keep && stat(keep, &sb) == 0 && S_ISDIR(sb.st_mode);
  if (keep && !reuse && mkdir(keep, 0755) != 0) {
    fprintf(stderr, "%s: mkdir %s: %s\n", bench_prog, keep, strerror(errno));
    exit(1);
  }
  if (keep) {
    snprintf(dir, cap, "%s", keep);
  } else {
    snprintf(dir, cap, "/tmp/tpa-bench-XXXXXX");
    if (!mkdtemp(dir)) {
      fprintf(stderr, "%s: mkdtemp: %s\n", bench_prog, strerror(errno));
      exit(1);
    }
  }
  char st_path[4096];
  snprintf(st_path, sizeof st_path, "%s/model.safetensors", dir);
  if (!(reuse && stat(st_path, &sb) == 0)) {
    /* Written by a child so the generator's memory is not ours. */
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      exit(1);
    }
    if (pid == 0)
      _exit(write_model_dir(dir) == 0 ? 0 : 1);
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "%s: writing the model to %s failed\n", bench_prog, dir);
      exit(1);
    }
    printf("wrote random BERT-base to %s in %.1f s\n", dir, bench_now() - t0);
  }
  if (stat(st_path, &sb) != 0) {
    fprintf(stderr, "%s: %s: %s\n", bench_prog, st_path, strerror(errno));
    exit(1);
  }
  *weights_mib = (double)sb.st_size / (1024.0 * 1024.0);
}

void bench_rm_dir(const char *dir) {
  static const char *const files[] = {"config.json", "vocab.txt", "model.safetensors"};
  char path[4096];
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

void bench_mm_setup(tpa__nn_ctx *ctx, bench_mm *x) {
  size_t packed = 0;
  if (tpa__nn_packed_size(ctx, x->k, x->n, &packed) != TPA_OK) {
    fprintf(stderr, "%s: %s\n", bench_prog, tpa_last_error());
    exit(1);
  }
  float *plain = malloc((size_t)(x->k * x->n) * sizeof(float));
  x->a = malloc((size_t)(x->m * x->k) * sizeof(float));
  x->b = aligned_alloc(64, (packed + 63) & ~(size_t)63);
  x->c = malloc((size_t)(x->m * x->n) * sizeof(float));
  x->bias = calloc((size_t)x->n, sizeof(float));
  if (!plain || !x->a || !x->b || !x->c || !x->bias) {
    fprintf(stderr, "%s: out of memory\n", bench_prog);
    exit(1);
  }
  bench_fill_normal(x->a, (size_t)(x->m * x->k), 1.0f);
  bench_fill_normal(plain, (size_t)(x->k * x->n), 0.02f);
  const tpa__nn_tensor view = tpa__nn_dense2(x->k, x->n);
  if (tpa__nn_pack_weights(ctx, &view, plain, x->b, "bench weights") != TPA_OK) {
    fprintf(stderr, "%s: %s\n", bench_prog, tpa_last_error());
    exit(1);
  }
  free(plain);
}

void bench_mm_run(tpa__nn_ctx *ctx, bench_mm *x, bool count) {
  tpa__nn_matmul_desc d;
  memset(&d, 0, sizeof d);
  d.src = tpa__nn_dense2(x->m, x->k);
  d.wei = tpa__nn_dense2(x->k, x->n);
  d.wei_packed = 1;
  d.bias = tpa__nn_dense2(1, x->n);
  d.dst = tpa__nn_dense2(x->m, x->n);
  double t0 = bench_now();
  if (tpa__nn_matmul(ctx, &d, x->a, x->b, x->bias, NULL, x->c, "bench") != TPA_OK) {
    fprintf(stderr, "%s: matmul: %s\n", bench_prog, tpa_last_error());
    exit(1);
  }
  double t = bench_now() - t0;
  if (count) {
    x->total += t;
    x->best = t < x->best ? t : x->best;
  }
}

double bench_mm_gflops(const bench_mm *x, double seconds) {
  return 2.0 * (double)x->m * (double)x->k * (double)x->n / seconds * 1e-9;
}

void bench_mm_free(bench_mm *x) {
  free(x->a);
  free(x->b);
  free(x->c);
  free(x->bias);
}
