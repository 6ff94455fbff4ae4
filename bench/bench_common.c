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
#include "model/tensors.h"
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

int bench_write_text(const char *dir, const char *name, const char *text) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  int ok = fputs(text, f) >= 0;
  return fclose(f) == 0 && ok ? 0 : -1;
}

/* config.json of a family at base shapes: BERT-base, roberta-base (vocab
 * 50265, 514 positions, pad 1, one token type), distilbert-base-uncased
 * (6 layers) or electra-base-discriminator (embedding_size 768). */
static int write_config(const char *dir, tpa__config *c) {
  enum { L = BENCH_LAYERS, H = BENCH_HIDDEN, INTER = BENCH_INTER, HEADS = BENCH_HEADS };
  char cfg[1024];
  const char *type = tpa__family_get(c->family)->model_type;
  *c = (tpa__config){.family = c->family,
                     .hidden = H,
                     .layers = L,
                     .heads = HEADS,
                     .head_dim = H / HEADS,
                     .inter = INTER,
                     .vocab = BENCH_VOCAB,
                     .max_pos = BENCH_MAXPOS,
                     .type_vocab = BENCH_TYPES,
                     .num_labels = BENCH_LABELS,
                     .emb = H};
  if (c->family == TPA__FAM_DISTILBERT) {
    c->layers = 6;
    c->type_vocab = 0;
    snprintf(cfg, sizeof cfg,
             "{\n  \"architectures\": [\"DistilBertForSequenceClassification\"],\n"
             "  \"activation\": \"gelu\",\n  \"attention_dropout\": 0.1,\n  \"dim\": %d,\n"
             "  \"dropout\": 0.1,\n  \"hidden_dim\": %d,\n  \"max_position_embeddings\": %d,\n"
             "  \"model_type\": \"distilbert\",\n  \"n_heads\": %d,\n  \"n_layers\": %d,\n"
             "  \"pad_token_id\": 0,\n  \"seq_classif_dropout\": 0.2,\n  \"vocab_size\": %d\n}\n",
             H, INTER, c->max_pos, HEADS, c->layers, c->vocab);
    return bench_write_text(dir, "config.json", cfg);
  }
  int pad = 0;
  if (c->family == TPA__FAM_ROBERTA || c->family == TPA__FAM_XLMR) {
    c->vocab = c->family == TPA__FAM_ROBERTA ? 50265 : 250002;
    c->max_pos = BENCH_MAXPOS + 2;
    c->type_vocab = 1;
    pad = 1;
  }
  char extra[64] = "";
  if (c->family == TPA__FAM_ELECTRA)
    snprintf(extra, sizeof extra, "  \"embedding_size\": %d,\n", c->emb);
  snprintf(cfg, sizeof cfg,
           "{\n  \"architectures\": [\"%s\"],\n"
           "  \"attention_probs_dropout_prob\": 0.1,\n%s  \"hidden_act\": \"gelu\",\n"
           "  \"hidden_dropout_prob\": 0.1,\n  \"hidden_size\": %d,\n"
           "  \"initializer_range\": 0.02,\n  \"intermediate_size\": %d,\n"
           "  \"layer_norm_eps\": 1e-12,\n  \"max_position_embeddings\": %d,\n"
           "  \"model_type\": \"%s\",\n  \"num_attention_heads\": %d,\n"
           "  \"num_hidden_layers\": %d,\n  \"pad_token_id\": %d,\n"
           "  \"type_vocab_size\": %d,\n  \"vocab_size\": %d\n}\n",
           tpa__family_get(c->family)->architecture, extra, H, INTER, c->max_pos, type, HEADS, L,
           pad, c->type_vocab, c->vocab);
  return bench_write_text(dir, "config.json", cfg);
}

/* The tokenizer files: vocab.txt of the specials and placeholder tokens,
 * or RoBERTa's vocab.json + merges.txt (no merges: benchmarks feed ids). */
static int write_vocab(const char *dir, const tpa__config *c) {
  const bool bpe = tpa__family_get(c->family)->pad_positions;
  size_t cap = (size_t)c->vocab * 32 + 64, len = 0;
  char *voc = malloc(cap);
  if (!voc)
    return -1;
  if (bpe) {
    len += (size_t)snprintf(voc, cap, "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3");
    for (int i = 4; i < c->vocab; i++)
      len += (size_t)snprintf(voc + len, cap - len, ", \"t%d\": %d", i, i);
    snprintf(voc + len, cap - len, "}\n");
  } else {
    len += (size_t)snprintf(voc, cap, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    for (int i = 5; i < c->vocab; i++)
      len += (size_t)snprintf(voc + len, cap - len, "t%d\n", i);
  }
  int rc = bench_write_text(dir, bpe ? "vocab.json" : "vocab.txt", voc);
  free(voc);
  if (rc == 0 && bpe)
    rc = bench_write_text(dir, "merges.txt", "#version: 0.2\n");
  return rc;
}

int bench_weights_dtype = TPA__DT_F32;

/* True when @p name ends with @p suffix. */
static bool ends_with(const char *name, const char *suffix) {
  size_t n = strlen(name), k = strlen(suffix);
  return n >= k && strcmp(name + n - k, suffix) == 0;
}

/* The child: config.json, the tokenizer files and model.safetensors, the
 * tensors named by the library's own list (model/tensors.h): N(0, 0.02)
 * weights, LayerNorm weights 1, biases 0. */
static int write_model_dir(const char *dir, tpa__family family) {
  tpa__config c = {.family = family};
  if (write_config(dir, &c) != 0 || write_vocab(dir, &c) != 0)
    return -1;
  tpa__layer *layers = calloc((size_t)c.layers, sizeof *layers);
  if (!layers)
    return -1;
  for (int32_t l = 0; l < c.layers; l++)
    layers[l].n_heads = c.heads, layers[l].inter = c.inter;
  tpa__weights w = {.layer = layers};
  size_t n = tpa__model_tensors(&c, &w, NULL, 0);
  tpa__named_tensor *t = calloc(n, sizeof *t);
  tpa__st_out *out = calloc(n, sizeof *out);
  if (!t || !out)
    return -1;
  tpa__model_tensors(&c, &w, t, n);
  for (size_t i = 0; i < n; i++) {
    float *data = malloc(t[i].count * sizeof *data);
    if (!data)
      return -1;
    if (ends_with(t[i].name, ".bias"))
      fill_const(data, t[i].count, 0.0f);
    else if (ends_with(t[i].name, "LayerNorm.weight") || ends_with(t[i].name, "layer_norm.weight"))
      fill_const(data, t[i].count, 1.0f);
    else
      bench_fill_normal(data, t[i].count, 0.02f);
    out[i] = (tpa__st_out){t[i].name, (tpa__dtype)bench_weights_dtype, t[i].ndims, t[i].dims, data,
                           NULL};
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  tpa_status s = tpa__st_write(path, out, n, NULL, NULL, 0);
  if (s != TPA_OK)
    fprintf(stderr, "%s: writing %s: %s\n", bench_prog, path, tpa_last_error());
  return s == TPA_OK ? 0 : -1;
}

void bench_model_dir(const char *keep, char *dir, size_t cap, double *weights_mib) {
  bench_model_dir_family(keep, TPA__FAM_BERT, dir, cap, weights_mib);
}

void bench_model_dir_family(const char *keep, tpa__family family, char *dir, size_t cap,
                            double *weights_mib) {
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
      _exit(write_model_dir(dir, family) == 0 ? 0 : 1);
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "%s: writing the model to %s failed\n", bench_prog, dir);
      exit(1);
    }
    printf("wrote a random %s-base to %s in %.1f s\n", tpa__family_get(family)->model_type, dir,
           bench_now() - t0);
  }
  if (stat(st_path, &sb) != 0) {
    fprintf(stderr, "%s: %s: %s\n", bench_prog, st_path, strerror(errno));
    exit(1);
  }
  *weights_mib = (double)sb.st_size / (1024.0 * 1024.0);
}

void bench_rm_dir(const char *dir) {
  static const char *const files[] = {"config.json", "vocab.txt", "vocab.json", "merges.txt",
                                      "model.safetensors"};
  char path[4096];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
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

/* 1,1,2,2,3,3,4,4,5,6,6,7 = 44 of 144, more in the upper layers, as TPA
 * plans are; layer l loses heads (3l + 5j) mod 12. */
const int8_t bench_plan_heads[BENCH_LAYERS][8] = {
    {0, -1},
    {3, -1},
    {6, 11, -1},
    {2, 9, -1},
    {0, 5, 10, -1},
    {1, 3, 8, -1},
    {4, 6, 9, 11, -1},
    {0, 2, 7, 9, -1},
    {0, 3, 5, 8, 10, -1},
    {1, 3, 4, 6, 8, 11, -1},
    {2, 4, 6, 7, 9, 11, -1},
    {0, 2, 3, 5, 7, 9, 10, -1},
};
