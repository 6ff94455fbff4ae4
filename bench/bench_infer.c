/* SPDX-License-Identifier: Apache-2.0 */
/* Inference benchmark: BERT-base shapes (L=12, H=768, 12 heads, FFN 3072,
 * vocab 30522, 2 labels), or another family's base model (--family
 * roberta: roberta-base; distilbert: 6 layers; electra; xlm-roberta),
 * with seeded random weights, written as an F32 HF
 * directory to a temporary folder and loaded through tpa_model_load (so
 * the real mmap and weight-packing path runs). Reports whole-model
 * sequences/s and tokens/s at batch 32, sequence 128, next to the GFLOP/s
 * of single oneDNN f32 matmuls of the model's shapes measured in the same
 * run, the fraction of that matmul throughput the model reaches, and peak
 * resident memory against the weights' size.
 *
 *   bench_infer [--reps N] [--batch B] [--seq S] [--keep DIR] [--family NAME]
 *               [--dtype f32|f16|bf16|all]
 *
 * --dtype writes the checkpoint in that dtype (F16 and BF16 are widened to
 * f32 at load); --dtype all measures memory only: for each of F32, F16 and
 * BF16, a fresh process loads the checkpoint and runs one forward, and the
 * peak RSS of each is printed beside F32's.
 *
 * The weights are written by a child process, so its memory does not
 * count in this process's peak RSS. OMP_NUM_THREADS (default 2 here)
 * sets the threads. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "io/safetensors.h"
#include "model/forward.h"
#include "nn/nn.h"
#include "tpa/tpa.h"

enum {
  H = BENCH_HIDDEN,
  HEADS = BENCH_HEADS,
  INTER = BENCH_INTER,
  VOCAB = BENCH_VOCAB,
  MAXPOS = BENCH_MAXPOS,
  LABELS = BENCH_LABELS
};

/* --dtype all: one checkpoint per dtype, each loaded in a fresh process. */
typedef struct rss_job {
  const char *dir;
  int batch, seq;
} rss_job;

typedef struct rss_out {
  double after_load, after_forward, load_s;
} rss_out;

static void rss_child(const void *ctx, void *out) {
  const rss_job *j = ctx;
  rss_out *o = out;
  double t0 = bench_now();
  tpa_model *m = NULL;
  if (tpa_model_load(&m, j->dir, NULL) != TPA_OK)
    bench_die("loading");
  o->load_s = bench_now() - t0;
  o->after_load = bench_peak_rss_mib();
  const size_t tokens = (size_t)j->batch * (size_t)j->seq;
  int32_t *ids = bench_xcalloc(tokens, sizeof *ids), *types = bench_xcalloc(tokens, sizeof *types);
  float *logits = bench_xcalloc((size_t)j->batch * LABELS, sizeof *logits);
  for (size_t i = 0; i < tokens; i++)
    ids[i] = (i % (size_t)j->seq) == 0 ? 2 : 5 + (int32_t)(bench_uniform() * (VOCAB - 5));
  if (tpa_model_forward(m, ids, types, NULL, j->batch, j->seq, logits) != TPA_OK)
    bench_die("forward");
  o->after_forward = bench_peak_rss_mib();
  free(ids);
  free(types);
  free(logits);
  tpa_model_free(m);
}

static int memory_by_dtype(tpa__family family, int batch, int seq) {
  static const struct {
    const char *name;
    int dtype;
  } dt[] = {{"F32", TPA__DT_F32}, {"F16", TPA__DT_F16}, {"BF16", TPA__DT_BF16}};
  rss_out r[3];
  double weights[3];
  for (int i = 0; i < 3; i++) {
    char dir[4096];
    bench_weights_dtype = dt[i].dtype;
    bench_model_dir_family(NULL, family, dir, sizeof dir, &weights[i]);
    const rss_job j = {dir, batch, seq};
    bool ok = bench_in_child(rss_child, &j, &r[i], sizeof r[i]);
    bench_rm_dir(dir);
    if (!ok) {
      fprintf(stderr, "bench_infer: the %s run failed\n", dt[i].name);
      return 1;
    }
  }
  printf("\nlibtpa %s peak memory by checkpoint dtype: %s-base, one forward of batch %d, seq %d, "
         "%d threads, each in a fresh process\n",
         tpa_version(), tpa__family_get(family)->model_type, batch, seq, omp_get_max_threads());
  printf("  %-6s %14s %16s %18s %12s %10s\n", "dtype", "file, MiB", "RSS after load",
         "RSS after forward", "vs F32", "load, s");
  for (int i = 0; i < 3; i++)
    printf("  %-6s %14.1f %16.1f %18.1f %11.2fx %10.2f\n", dt[i].name, weights[i], r[i].after_load,
           r[i].after_forward, r[i].after_forward / r[0].after_forward, r[i].load_s);
  return 0;
}

int main(int argc, char **argv) {
  int reps = 5, batch = 32, seq = 128;
  const char *keep = NULL;
  bool all_dtypes = false;
  tpa__family family = TPA__FAM_BERT;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
      batch = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--seq") && i + 1 < argc)
      seq = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--keep") && i + 1 < argc)
      keep = argv[++i];
    else if (!strcmp(argv[i], "--family") && i + 1 < argc && tpa__family_find(argv[i + 1], &family))
      i++;
    else if (!strcmp(argv[i], "--dtype") && i + 1 < argc) {
      const char *d = argv[++i];
      all_dtypes = !strcmp(d, "all");
      if (!strcmp(d, "f16"))
        bench_weights_dtype = TPA__DT_F16;
      else if (!strcmp(d, "bf16"))
        bench_weights_dtype = TPA__DT_BF16;
      else if (strcmp(d, "f32") && !all_dtypes) {
        fprintf(stderr, "bench_infer: --dtype %s: f32, f16, bf16 or all\n", d);
        return 2;
      }
    } else {
      fprintf(stderr,
              "usage: %s [--reps N] [--batch B] [--seq S] [--keep DIR] [--family %s] "
              "[--dtype f32|f16|bf16|all]\n",
              argv[0], tpa__family_list());
      return 2;
    }
  }
  if (reps < 1 || batch < 1 || seq < 1 || seq > MAXPOS) {
    fprintf(stderr, "bench_infer: bad --reps/--batch/--seq\n");
    return 2;
  }
  bench_prog = "bench_infer";
  /* libgomp reads OMP_NUM_THREADS before main: default to 2 here. */
  if (!getenv("OMP_NUM_THREADS"))
    omp_set_num_threads(2);
  if (all_dtypes)
    return memory_by_dtype(family, batch, seq);

  char dir[4096];
  double weights_mib = 0;
  bench_model_dir_family(keep, family, dir, sizeof dir, &weights_mib);

  double t0 = bench_now();
  tpa_model *m = NULL;
  if (tpa_model_load(&m, dir, NULL) != TPA_OK) {
    fprintf(stderr, "bench_infer: %s\n", tpa_last_error());
    return 1;
  }
  const double load_s = bench_now() - t0;
  const double rss_after_load = bench_peak_rss_mib();
  double rss_forward = 0;

  /* Random ids (not [PAD]), one [CLS] first, two segments, no padding. */
  const size_t tokens = (size_t)batch * (size_t)seq;
  int32_t *ids = malloc(tokens * sizeof *ids), *types = malloc(tokens * sizeof *types);
  float *logits = malloc((size_t)batch * LABELS * sizeof *logits);
  if (!ids || !types || !logits)
    return 1;
  tpa_model_config mc = {.size = sizeof mc};
  if (tpa_model_get_config(m, &mc) != TPA_OK)
    return 1;
  const int layers = mc.num_layers;
  for (size_t i = 0; i < tokens; i++) {
    ids[i] = (i % (size_t)seq) == 0 ? 2 : 5 + (int32_t)(bench_uniform() * (VOCAB - 5));
    types[i] = mc.type_vocab_size > 1 && (int32_t)(i % (size_t)seq) >= seq / 2;
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
  rss_forward = bench_peak_rss_mib();
  bench_mm mm[3] = {{.m = M, .k = H, .n = INTER, .best = 1e30},
                    {.m = M, .k = INTER, .n = H, .best = 1e30},
                    {.m = M, .k = H, .n = H, .best = 1e30}};
  for (int i = 0; i < 3; i++)
    bench_mm_setup(ctx, &mm[i]);
  for (int r = -1; r < reps; r++) {
    double t1 = bench_now();
    if (tpa_model_forward(m, ids, types, NULL, batch, seq, logits) != TPA_OK) {
      fprintf(stderr, "bench_infer: %s\n", tpa_last_error());
      return 1;
    }
    double dt = bench_now() - t1;
    if (r >= 0) {
      total += dt;
      best = dt < best ? dt : best;
    }
    for (int i = 0; i < 3; i++)
      bench_mm_run(ctx, &mm[i], r >= 0);
  }
  tpa__nn_ctx_free(ctx);
  const double per_batch = total / reps;
  for (int i = 0; i < 3; i++)
    bench_mm_free(&mm[i]);

  /* FLOPs of one sequence: the matmuls (2 per multiply-add). */
  const double S = seq, Hd = H, I = INTER;
  const double flops_seq = layers * (4 * 2 * S * Hd * Hd    /* Q, K, V, O */
                                     + 2 * 2 * S * Hd * I   /* FFN */
                                     + 2 * 2 * S * S * Hd)  /* scores, context */
                           + 2 * Hd * Hd + 2 * Hd * LABELS; /* pooler, classifier */
  const double model_mean = flops_seq * batch / per_batch * 1e-9;
  const double model_best = flops_seq * batch / best * 1e-9;
  const double mm_mean = bench_mm_gflops(&mm[0], mm[0].total / reps),
               mm_best = bench_mm_gflops(&mm[0], mm[0].best);

  printf("\nlibtpa %s inference benchmark: %s (L=%d H=%d heads=%d FFN=%d vocab=%d), "
         "batch %d, seq %d, %d threads, %d reps\n",
         tpa_version(), mc.model_type, layers, H, HEADS, INTER, mc.vocab_size, batch, seq,
         omp_get_max_threads(), reps);
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
    printf("  %-46s %12.1f %12.1f\n", label, bench_mm_gflops(&mm[i], mm[i].total / reps),
           bench_mm_gflops(&mm[i], mm[i].best));
  }
  printf("  %-46s %12.2f %12.2f\n", "matmul ceiling, sequences / s", mm_mean * 1e9 / flops_seq,
         mm_best * 1e9 / flops_seq);
  printf("  %-46s %11.1f%% %11.1f%%\n", "model / matmul(MxHxFFN) throughput",
         100.0 * model_mean / mm_mean, 100.0 * model_best / mm_best);
  printf("  %-46s %12.1f\n", "weights (model.safetensors), MiB", weights_mib);
  printf("  %-46s %12.1f\n", "peak RSS after load, MiB", rss_after_load);
  printf("  %-46s %12.1f\n", "peak RSS after the first forward, MiB", rss_forward);
  printf("  %-46s %12.2f\n", "peak RSS / weights", rss_forward / weights_mib);
  printf("  (peak RSS at the end, bench matmul buffers included: %.1f MiB)\n",
         bench_peak_rss_mib());

  free(ids);
  free(types);
  free(logits);
  tpa_model_free(m);
  if (!keep)
    bench_rm_dir(dir);
  return 0;
}
