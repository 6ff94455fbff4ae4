/* SPDX-License-Identifier: Apache-2.0 */
/* What the benchmark programs share: BERT-base shapes, a seeded random
 * BERT-base HF directory (written by a child process so that its memory
 * does not count in the benchmark's peak RSS), clocks, peak RSS, and the
 * single-matmul yardstick every figure is compared with. Benchmarks only:
 * failures print to stderr and exit. */
#ifndef TPA_BENCH_COMMON_H
#define TPA_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/family.h"
#include "nn/nn.h"

/* BERT-base, the shape of every benchmark. */
enum {
  BENCH_LAYERS = 12,
  BENCH_HIDDEN = 768,
  BENCH_HEADS = 12,
  BENCH_INTER = 3072,
  BENCH_VOCAB = 30522,
  BENCH_MAXPOS = 512,
  BENCH_TYPES = 2,
  BENCH_LABELS = 2
};

/* Program name used in error messages ("bench_infer"). */
extern const char *bench_prog;

/* Print "<prog>: <what>: <tpa_last_error()>" and exit(1). */
void bench_die(const char *what);
/* calloc that exits with a message when memory runs out (n may be 0). */
void *bench_xcalloc(size_t n, size_t size);

/* Run fn(ctx, out) in a forked child (fresh peak RSS, no shared state)
 * and copy its @p out_size bytes of @p out back through a pipe. Fork
 * before this process starts oneDNN or OpenMP. True when the child exited
 * 0 and sent everything. */
bool bench_in_child(void (*fn)(const void *ctx, void *out), const void *ctx, void *out,
                    size_t out_size);

double bench_now(void);          /* monotonic seconds */
double bench_peak_rss_mib(void); /* this process's peak resident set */

/* Seeded splitmix64 stream: uniform in (0, 1), and normal(0, std) fill. */
double bench_uniform(void);
void bench_fill_normal(float *p, size_t n, float std);

/* A directory holding config.json, vocab.txt and model.safetensors of a
 * random BERT-base. With @p keep, that directory is used (and reused if it
 * already has model.safetensors); otherwise a fresh /tmp/tpa-bench-XXXXXX.
 * Writes the directory's path to @p dir (cap bytes) and the size of
 * model.safetensors in MiB to @p weights_mib; exits on failure. */
void bench_model_dir(const char *keep, char *dir, size_t cap, double *weights_mib);

/* The same for another family at its base shapes (model/family.h):
 * roberta-base, xlm-roberta-base, distilbert-base (6 layers),
 * electra-base-discriminator; BERT is bench_model_dir's. */
void bench_model_dir_family(const char *keep, tpa__family family, char *dir, size_t cap,
                            double *weights_mib);

/* The dtype bench_model_dir writes the weights in (io/safetensors.h's
 * TPA__DT_F32, the default, TPA__DT_F16 or TPA__DT_BF16). */
extern int bench_weights_dtype;

/* Remove what bench_model_dir wrote, and the directory. */
void bench_rm_dir(const char *dir);

/* Write @p text to DIR/NAME; 0 on success, -1 on failure. */
int bench_write_text(const char *dir, const char *name, const char *text);

/* The heads bench_prune and bench_int8 remove from BERT-base: 44 of 144,
 * per layer ORIGINAL indices ascending, -1 ends a row. */
extern const int8_t bench_plan_heads[BENCH_LAYERS][8];

/* One f32 matmul M x K x N through lib/nn with its weights packed in the
 * layout oneDNN runs fastest (the one the model uses), bias included: the
 * machine's ceiling for the model's largest shapes. */
typedef struct bench_mm {
  int64_t m, k, n;
  double total, best; /* seconds over the counted runs */
  float *a, *b, *c, *bias;
} bench_mm;

void bench_mm_setup(tpa__nn_ctx *ctx, bench_mm *x);
/* One run; counted into total/best when @p count. */
void bench_mm_run(tpa__nn_ctx *ctx, bench_mm *x, bool count);
double bench_mm_gflops(const bench_mm *x, double seconds);
void bench_mm_free(bench_mm *x);

#endif
