/* SPDX-License-Identifier: Apache-2.0 */
/* Training benchmark: one optimizer step of BertForSequenceClassification
 * at BERT-base shapes (L=12, H=768, 12 heads, FFN 3072, vocab 30522,
 * 2 labels; seeded random weights written as an F32 HF directory and
 * loaded with tpa_model_load), batch 32, sequence 128, dropout 0.1:
 *
 *   lora: rank-R LoRA on Q/K/V/O (tpa_lora_set_create), the model frozen;
 *         a step is tpa__loss_and_grads (LoRA A/B, LayerNorm and
 *         classifier gradients) + clipping + AdamW on those tensors.
 *   full: every weight trainable (copies), every gradient, AdamW moments
 *         for all 109.5M parameters.
 *
 * Each mode runs in a child process of its own, so that its peak RSS is
 * that step's alone (the parent never starts oneDNN or OpenMP threads, so
 * forking is safe). In each child, warm-up then @c --reps steps, each
 * followed by one run of three single oneDNN f32 matmuls of the model's
 * shapes (the same run's yardstick, as in bench_infer). Throughput is the
 * step's matmul FLOPs (train_flops_per_seq(), printed term by term) over its time,
 * as a fraction of the 4096x768x3072 matmul's GFLOP/s.
 *
 * Then the same steps in PyTorch (bench/torch_train_step.py, run by
 * /usr/bin/python3 when it has torch) and our time and memory as ratios.
 *
 *   bench_train [--reps N] [--batch B] [--seq S] [--rank R] [--keep DIR]
 *               [--no-lora] [--no-full] [--no-torch] [--python EXE] [--torch-script PATH]
 *               [--openblas-coretype NAME|auto|none]
 *
 * OMP_NUM_THREADS (default 2 here) sets the threads, also for PyTorch. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "model/forward.h"
#include "model/grad.h"
#include "model/model.h"
#include "stages/lora.h"
#include "stages/optim.h"
#include "stages/train_internal.h"
#include "tpa/tpa.h"

#ifndef TPA_TORCH_SCRIPT
#define TPA_TORCH_SCRIPT "bench/torch_train_step.py"
#endif

enum { L = BENCH_LAYERS, H = BENCH_HIDDEN, INTER = BENCH_INTER, LABELS = BENCH_LABELS };
enum { N_MM = 3 };

/* ------------------------------------------------------------------ */
/* FLOP model                                                          */
/* ------------------------------------------------------------------ */

/* Matmul FLOPs of one training step, per sequence of length S, 2 FLOPs
 * per multiply-add. Only matrix products are counted: softmax, LayerNorm,
 * GELU, dropout, embedding gathers and the optimizer are elementwise work
 * that a step pays for without being credited, so it shows as a lower
 * fraction of the matmul throughput.
 *
 * LoRA training needs the forward, and the gradient with respect to the
 * activations all the way down: the embeddings LayerNorm is trainable, so
 * dX flows through every matmul of every block (also block 0's Q/K/V).
 * It needs no gradient of a frozen weight (dW), except the classifier's,
 * which is trainable. Full fine-tuning adds dW of every Linear. */
typedef struct train_flops {
  double fwd_linear; /* L x (Q, K, V, O: 4 x 2SH^2, FFN in and out: 2 x 2SHI) */
  double fwd_attn;   /* L x (scores QK^T and context PV: 2 x 2S^2H) */
  double fwd_head;   /* pooler 2H^2 and classifier 2HC, on [CLS] only */
  double dx_linear;  /* dX = dY W of every encoder Linear: the same as fwd_linear */
  double dx_attn;    /* L x (dP = dC V^T, dV = P^T dC, dQ = dS K, dK = dS^T Q: 4 x 2S^2H) */
  double dx_head;    /* pooler dX 2H^2, classifier dX 2HC */
  double dw_cls;     /* classifier dW 2HC (trainable in both modes) */
  double lora;       /* per adapted module (in, out, r): forward A x then B(Ax), 2Sr(in+out);
                        backward dB = dY^T(Ax), dU = dY B, dA = dU^T x, dX += dU A, 4Sr(in+out) */
  double dw_linear; /* full only: dW = dY^T X of every encoder Linear (= fwd_linear), pooler 2H^2 */
  double forward, total;
} train_flops;

static train_flops train_flops_per_seq(double S, int rank, bool full) {
  const double Hd = H, I = INTER, C = LABELS, r = full ? 0 : rank;
  train_flops f;
  memset(&f, 0, sizeof f);
  f.fwd_linear = L * (4 * 2 * S * Hd * Hd + 2 * 2 * S * Hd * I);
  f.fwd_attn = L * (2 * 2 * S * S * Hd);
  f.fwd_head = 2 * Hd * Hd + 2 * Hd * C;
  f.dx_linear = f.fwd_linear;
  f.dx_attn = L * (4 * 2 * S * S * Hd);
  f.dx_head = 2 * Hd * Hd + 2 * Hd * C;
  f.dw_cls = 2 * Hd * C;
  f.lora = L * 4 * (2 + 4) * S * r * (Hd + Hd); /* Q/K/V: H -> H, O: H -> H */
  f.dw_linear = full ? f.fwd_linear + 2 * Hd * Hd : 0;
  f.forward = f.fwd_linear + f.fwd_attn + f.fwd_head;
  f.total = f.forward + f.dx_linear + f.dx_attn + f.dx_head + f.dw_cls + f.lora + f.dw_linear;
  return f;
}

static void print_flops(const char *title, const train_flops *f) {
  printf("  %s, GFLOP per sequence:\n", title);
  const struct {
    const char *name;
    double v;
  } t[] = {
      {"forward: Q/K/V/O and FFN", f->fwd_linear},
      {"forward: attention scores and context", f->fwd_attn},
      {"forward: pooler and classifier", f->fwd_head},
      {"backward dX: Q/K/V/O and FFN", f->dx_linear},
      {"backward: attention (dP, dV, dQ, dK)", f->dx_attn},
      {"backward dX: pooler and classifier", f->dx_head},
      {"backward dW: classifier", f->dw_cls},
      {"LoRA A/B: forward and backward", f->lora},
      {"backward dW: encoder Linears and pooler", f->dw_linear},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (t[i].v > 0)
      printf("    %-44s %12.4f\n", t[i].name, t[i].v * 1e-9);
  printf("    %-44s %12.4f\n", "total", f->total * 1e-9);
}

/* ------------------------------------------------------------------ */
/* One mode, in a child process                                        */
/* ------------------------------------------------------------------ */

typedef struct mode_result {
  int ok;
  double mean, best;                   /* seconds per step */
  double rss_load, rss_step;           /* MiB: after load, after the warm-up step */
  double mm_mean[N_MM], mm_best[N_MM]; /* GFLOP/s */
  int64_t mm_shape[N_MM][3];
  double first_loss;
  uint64_t trainable;
} mode_result;

typedef struct opts {
  int reps, batch, seq, rank;
} opts;

/* What the training loop does after the gradients: clipping to norm 1
 * and one AdamW update of every trainable tensor, at the rate of step
 * @p t of a 1000-step linear schedule with 6% warmup. */
static void optimizer_step(tpa__trainable *tr, int64_t t, double peak_lr) {
  tpa__clip_grad_norm(tr->grads, tr->n, 1.0);
  const tpa__adamw o = TPA__ADAMW_DEFAULTS;
  const double lr = tpa__linear_lr(peak_lr, t - 1, tpa__warmup_steps(0.06, 1000), 1000);
  size_t off = 0;
  for (size_t i = 0; i < tr->n; i++) {
    const tpa__tensor_ref *r = &tr->refs[i];
    tpa__adamw_update(&o, t, lr, r->decay, r->data, tr->grads[i].g, tr->m + off, tr->v + off,
                      r->count);
    off += r->count;
  }
}

static void run_mode(const char *dir, bool full, const opts *o, mode_result *r) {
  tpa_model *m = NULL;
  if (tpa_model_load(&m, dir, NULL) != TPA_OK)
    bench_die("loading the model");
  r->rss_load = bench_peak_rss_mib();

  /* Random ids (not [PAD]), [CLS] first, two segments, no padding. */
  const size_t tokens = (size_t)o->batch * (size_t)o->seq;
  int32_t *ids = bench_xcalloc(tokens, sizeof *ids), *types = bench_xcalloc(tokens, sizeof *types);
  int32_t *mask = bench_xcalloc(tokens, sizeof *mask);
  float *labels = bench_xcalloc((size_t)o->batch, sizeof *labels);
  for (size_t i = 0; i < tokens; i++) {
    ids[i] = (i % (size_t)o->seq) == 0 ? 2 : 5 + (int32_t)(bench_uniform() * (BENCH_VOCAB - 5));
    types[i] = (int32_t)(i % (size_t)o->seq) >= o->seq / 2;
    mask[i] = 1;
  }
  for (int i = 0; i < o->batch; i++)
    labels[i] = (float)(i % 2);
  const tpa__batch b = {o->batch, o->seq, ids, types, mask, labels};

  /* The training loop's own trainable tensors (stages/train_tensors.c):
   * LoRA set + gradient clone, or copies of every tensor + gradients. */
  tpa_lora_set *set = NULL;
  tpa__trainable tr;
  if (!full) {
    tpa_lora_params lp;
    tpa_lora_params_init(&lp, sizeof lp);
    lp.rank = o->rank;
    if (tpa_lora_set_create(&set, m, &lp) != TPA_OK)
      bench_die("LoRA set");
  }
  if ((full ? tpa__trainable_full(&tr, m, false) : tpa__trainable_lora(&tr, m, set, false)) !=
      TPA_OK)
    bench_die("trainable tensors");
  for (size_t i = 0; i < tr.n; i++)
    r->trainable += tr.refs[i].count;

  tpa__grad_work *work = NULL;
  if (tpa__grad_work_create(&work, m, o->batch, o->seq) != TPA_OK)
    bench_die("gradient work memory");
  tpa__grad_opts go = {(float)m->cfg.hidden_dropout, (float)m->cfg.attn_dropout,
                       (float)m->cfg.cls_dropout, 42, NULL};
  const double lr = full ? 2e-5 : 5e-4;

  /* Warm-up (primitive creation, first touch of every buffer); the peak
   * RSS it leaves is the step's, before the matmul buffers exist. */
  int64_t t = 1;
  double loss = 0;
  go.dropout_seed = tpa__mix64(42, (uint64_t)t);
  if (tpa__loss_and_grads(work, m, &tr.w, tr.lora, &b, &go, &loss, NULL, &tr.gout) != TPA_OK)
    bench_die("training step");
  optimizer_step(&tr, t, lr);
  r->first_loss = loss;
  r->rss_step = bench_peak_rss_mib();

  tpa__nn_ctx *ctx = NULL;
  if (tpa__nn_ctx_create(&ctx, m->infer->cache) != TPA_OK)
    bench_die("oneDNN context");
  const int64_t M = (int64_t)tokens;
  bench_mm mm[N_MM] = {{.m = M, .k = H, .n = INTER, .best = 1e30},
                       {.m = M, .k = INTER, .n = H, .best = 1e30},
                       {.m = M, .k = H, .n = H, .best = 1e30}};
  for (int i = 0; i < N_MM; i++)
    bench_mm_setup(ctx, &mm[i]);
  /* Step and matmuls interleaved so that both see the same machine load;
   * the first matmul round is their warm-up. */
  double total = 0, best = 1e30;
  for (int i = 0; i < N_MM; i++)
    bench_mm_run(ctx, &mm[i], false);
  for (int rep = 0; rep < o->reps; rep++) {
    t++;
    go.dropout_seed = tpa__mix64(42, (uint64_t)t);
    double t0 = bench_now();
    if (tpa__loss_and_grads(work, m, &tr.w, tr.lora, &b, &go, &loss, NULL, &tr.gout) != TPA_OK)
      bench_die("training step");
    optimizer_step(&tr, t, lr);
    double dt = bench_now() - t0;
    total += dt;
    best = dt < best ? dt : best;
    for (int i = 0; i < N_MM; i++)
      bench_mm_run(ctx, &mm[i], true);
  }
  r->mean = total / o->reps;
  r->best = best;
  for (int i = 0; i < N_MM; i++) {
    r->mm_mean[i] = bench_mm_gflops(&mm[i], mm[i].total / o->reps);
    r->mm_best[i] = bench_mm_gflops(&mm[i], mm[i].best);
    r->mm_shape[i][0] = mm[i].m;
    r->mm_shape[i][1] = mm[i].k;
    r->mm_shape[i][2] = mm[i].n;
    bench_mm_free(&mm[i]);
  }
  tpa__nn_ctx_free(ctx);
  tpa__grad_work_free(work);
  r->ok = 1;
  tpa__trainable_free(&tr);
  tpa_lora_set_free(set);
  tpa_model_free(m);
  free(ids);
  free(types);
  free(mask);
  free(labels);
}

typedef struct mode_job {
  const char *dir;
  bool full;
  const opts *o;
} mode_job;

static void mode_entry(const void *ctx, void *r) {
  const mode_job *j = ctx;
  run_mode(j->dir, j->full, j->o, r);
}

/* Run one mode in a child (bench_in_child). */
static int run_child(const char *dir, bool full, const opts *o, mode_result *r) {
  const mode_job job = {dir, full, o};
  if (!bench_in_child(mode_entry, &job, r, sizeof *r) || !r->ok) {
    fprintf(stderr, "%s: the %s step failed\n", bench_prog, full ? "full" : "LoRA");
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* PyTorch side by side                                                */
/* ------------------------------------------------------------------ */

typedef struct torch_result {
  int ok;
  double mean, best, rss;
  char blas[64], version[32];
} torch_result;

/* OpenBLAS picks its kernel from the CPU model; where a virtual machine
 * hides the model it falls back to a generic one (Prescott here, 4x
 * slower). "auto" names the kernel of the CPU's instruction set, which
 * the script checks against a float64 matmul before timing. */
static const char *auto_coretype(void) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[8192];
  bool avx512 = false, avx2 = false;
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, "flags", 5) != 0)
      continue;
    avx512 = strstr(line, " avx512f") && strstr(line, " avx512bw") && strstr(line, " avx512vl");
    avx2 = strstr(line, " avx2") != NULL;
    break;
  }
  if (f)
    fclose(f);
  return avx512 ? "SkylakeX" : avx2 ? "Haswell" : NULL;
}

static void parse_torch_line(const char *line, torch_result *lora, torch_result *fullr) {
  if (strncmp(line, "TORCH_TRAIN ", 12) != 0)
    return;
  torch_result r;
  memset(&r, 0, sizeof r);
  char mode[16] = "";
  char copy[1024];
  snprintf(copy, sizeof copy, "%s", line + 12);
  for (char *save = NULL, *tok = strtok_r(copy, " \n", &save); tok;
       tok = strtok_r(NULL, " \n", &save)) {
    char *eq = strchr(tok, '=');
    if (!eq)
      continue;
    *eq = '\0';
    const char *v = eq + 1;
    if (!strcmp(tok, "mode"))
      snprintf(mode, sizeof mode, "%s", v);
    else if (!strcmp(tok, "mean_s"))
      r.mean = atof(v);
    else if (!strcmp(tok, "best_s"))
      r.best = atof(v);
    else if (!strcmp(tok, "peak_rss_mib"))
      r.rss = atof(v);
    else if (!strcmp(tok, "blas"))
      snprintf(r.blas, sizeof r.blas, "%s", v);
    else if (!strcmp(tok, "torch"))
      snprintf(r.version, sizeof r.version, "%s", v);
  }
  r.ok = r.mean > 0 && r.best > 0 && r.rss > 0;
  if (!strcmp(mode, "lora"))
    *lora = r;
  else if (!strcmp(mode, "full"))
    *fullr = r;
}

static void run_torch(const char *python, const char *script, const char *coretype, const opts *o,
                      bool lora_on, bool full_on, int threads, torch_result *lora,
                      torch_result *fullr) {
  char cmd[8192], env[128] = "";
  if (coretype)
    snprintf(env, sizeof env, "OPENBLAS_CORETYPE=%s ", coretype);
  /* OPENBLAS_L2_SIZE and OPENBLAS_CORETYPE are unset for this command
   * only (see docs/benchmarks.md); OMP for torch's own kernels. */
  snprintf(cmd, sizeof cmd,
           "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE %sOMP_NUM_THREADS=%d '%s' '%s' "
           "--mode %s --reps %d --batch %d --seq %d --rank %d --threads %d",
           env, threads, python, script,
           lora_on && full_on ? "both"
           : lora_on          ? "lora"
                              : "full",
           o->reps, o->batch, o->seq, o->rank, threads);
  printf("running: %s\n", cmd);
  fflush(stdout);
  FILE *f = popen(cmd, "r");
  if (!f) {
    printf("PyTorch side by side: could not run %s\n", python);
    return;
  }
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    fputs(line, stdout);
    parse_torch_line(line, lora, fullr);
  }
  pclose(f);
}

/* ------------------------------------------------------------------ */

static void print_mode(const char *name, const opts *o, const mode_result *r,
                       const train_flops *f) {
  const double tokens = (double)o->batch * o->seq;
  const double gf_mean = f->total * o->batch / r->mean * 1e-9,
               gf_best = f->total * o->batch / r->best * 1e-9;
  printf("  %s step\n", name);
  printf("  %-46s %12s %12s\n", "figure", "mean", "best");
  printf("  %-46s %12.3f %12.3f\n", "step time (loss, gradients, AdamW), s", r->mean, r->best);
  printf("  %-46s %12.2f %12.2f\n", "examples / s", o->batch / r->mean, o->batch / r->best);
  printf("  %-46s %12.0f %12.0f\n", "tokens / s", tokens / r->mean, tokens / r->best);
  printf("  %-46s %12.2f\n", "counted GFLOP per sequence", f->total * 1e-9);
  printf("  %-46s %12.1f %12.1f\n", "step GFLOP/s", gf_mean, gf_best);
  for (int i = 0; i < N_MM; i++) {
    char label[64];
    snprintf(label, sizeof label, "matmul GFLOP/s %lldx%lldx%lld (f32 packed)",
             (long long)r->mm_shape[i][0], (long long)r->mm_shape[i][1],
             (long long)r->mm_shape[i][2]);
    printf("  %-46s %12.1f %12.1f\n", label, r->mm_mean[i], r->mm_best[i]);
  }
  printf("  %-46s %11.1f%% %11.1f%%\n", "step / matmul(MxHxFFN) throughput",
         100.0 * gf_mean / r->mm_mean[0], 100.0 * gf_best / r->mm_best[0]);
  printf("  %-46s %12llu\n", "trainable parameters", (unsigned long long)r->trainable);
  printf("  %-46s %12.4f\n", "loss of the first step", r->first_loss);
  printf("  %-46s %12.1f\n", "peak RSS after load, MiB", r->rss_load);
  printf("  %-46s %12.1f\n", "peak RSS after the first step, MiB", r->rss_step);
}

int main(int argc, char **argv) {
  opts o = {3, 32, 128, 8};
  const char *keep = NULL, *python = "/usr/bin/python3", *script = TPA_TORCH_SCRIPT;
  const char *coretype = "auto";
  bool do_lora = true, do_full = true, do_torch = true;
  bench_prog = "bench_train";
  for (int i = 1; i < argc; i++) {
    const bool has = i + 1 < argc;
    if (!strcmp(argv[i], "--reps") && has)
      o.reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--batch") && has)
      o.batch = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--seq") && has)
      o.seq = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--rank") && has)
      o.rank = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--keep") && has)
      keep = argv[++i];
    else if (!strcmp(argv[i], "--python") && has)
      python = argv[++i];
    else if (!strcmp(argv[i], "--torch-script") && has)
      script = argv[++i];
    else if (!strcmp(argv[i], "--openblas-coretype") && has)
      coretype = argv[++i];
    else if (!strcmp(argv[i], "--no-lora"))
      do_lora = false;
    else if (!strcmp(argv[i], "--no-full"))
      do_full = false;
    else if (!strcmp(argv[i], "--no-torch"))
      do_torch = false;
    else {
      fprintf(stderr,
              "usage: %s [--reps N] [--batch B] [--seq S] [--rank R] [--keep DIR] [--no-lora]\n"
              "       [--no-full] [--no-torch] [--python EXE] [--torch-script PATH]\n"
              "       [--openblas-coretype NAME|auto|none]\n",
              argv[0]);
      return 2;
    }
  }
  if (o.reps < 1 || o.batch < 1 || o.seq < 1 || o.seq > BENCH_MAXPOS || o.rank < 1 ||
      o.rank > 1024) {
    fprintf(stderr, "bench_train: bad --reps/--batch/--seq/--rank\n");
    return 2;
  }
  /* libgomp reads OMP_NUM_THREADS before main: default to 2 here. No
   * OpenMP region runs in this process, so forking stays safe. */
  if (!getenv("OMP_NUM_THREADS"))
    omp_set_num_threads(2);
  const int threads = omp_get_max_threads();

  char dir[4096];
  double weights_mib = 0;
  bench_model_dir(keep, dir, sizeof dir, &weights_mib);

  mode_result lora, full;
  memset(&full, 0, sizeof full);
  const train_flops fl = train_flops_per_seq(o.seq, o.rank, false);
  const train_flops ff = train_flops_per_seq(o.seq, 0, true);
  memset(&lora, 0, sizeof lora);
  int failed = do_lora ? run_child(dir, false, &o, &lora) : 0;
  if (do_full && !failed)
    failed = run_child(dir, true, &o, &full);
  if (!keep)
    bench_rm_dir(dir);
  if (failed)
    return 1;

  torch_result tt[2];
  memset(tt, 0, sizeof tt);
  if (do_torch) {
    if (access(python, X_OK) != 0) {
      printf("PyTorch side by side: %s not found, skipped\n", python);
    } else if (access(script, R_OK) != 0) {
      printf("PyTorch side by side: %s not found, skipped\n", script);
    } else {
      const char *ct = !strcmp(coretype, "auto")   ? auto_coretype()
                       : !strcmp(coretype, "none") ? NULL
                                                   : coretype;
      run_torch(python, script, ct, &o, do_lora, do_full, threads, &tt[0], &tt[1]);
      if (!tt[0].ok && !tt[1].ok)
        printf("PyTorch side by side: no result from %s (is torch installed?)\n", python);
    }
  }

  printf("\nlibtpa %s training benchmark: BERT-base (L=%d H=%d heads=%d FFN=%d vocab=%d), "
         "batch %d, seq %d, LoRA rank %d on Q/K/V/O, dropout 0.1, %d threads, %d reps\n",
         tpa_version(), L, H, BENCH_HEADS, INTER, BENCH_VOCAB, o.batch, o.seq, o.rank, threads,
         o.reps);
  printf("  %-46s %12.1f\n", "weights (model.safetensors), MiB", weights_mib);
  const struct {
    bool on;
    const char *name, *key;
    const mode_result *r;
    const train_flops *f;
    const torch_result *t;
  } modes[2] = {{do_lora, "LoRA", "lora", &lora, &fl, &tt[0]},
                {do_full, "full fine-tuning", "full", &full, &ff, &tt[1]}};
  for (int k = 0; k < 2; k++) {
    if (!modes[k].on)
      continue;
    print_flops(modes[k].name, modes[k].f);
    print_mode(modes[k].name, &o, modes[k].r, modes[k].f);
    const torch_result *t = modes[k].t;
    const mode_result *r = modes[k].r;
    if (!t->ok)
      continue;
    printf("  PyTorch %s (BLAS %s), same shapes, threads and step\n", t->version, t->blas);
    printf("  %-46s %12.3f %12.3f\n", "torch step time, s", t->mean, t->best);
    printf("  %-46s %12.2f %12.2f\n", "libtpa speed / torch speed", t->mean / r->mean,
           t->best / r->best);
    printf("  %-46s %12.1f\n", "torch peak RSS, MiB", t->rss);
    printf("  %-46s %12.2f\n", "libtpa peak RSS / torch peak RSS", r->rss_step / t->rss);
  }
  /* Machine-readable lines, like the PyTorch script's. */
  for (int k = 0; k < 2; k++)
    if (modes[k].on)
      printf("TPA_TRAIN mode=%s mean_s=%.4f best_s=%.4f peak_rss_mib=%.1f frac_mean=%.4f "
             "frac_best=%.4f\n",
             modes[k].key, modes[k].r->mean, modes[k].r->best, modes[k].r->rss_step,
             modes[k].f->total * o.batch / modes[k].r->mean * 1e-9 / modes[k].r->mm_mean[0],
             modes[k].f->total * o.batch / modes[k].r->best * 1e-9 / modes[k].r->mm_best[0]);
  return 0;
}
