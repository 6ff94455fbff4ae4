/* SPDX-License-Identifier: Apache-2.0 */
/* Data-parallel training throughput and a communication model
 * (docs/distributed.md).
 *
 *   bench_dist [--model DIR] [--data DIR] [--steps N] [--batch B] [--rank R] [--full]
 *   mpirun -np 2 --oversubscribe bench_dist ...
 *
 * Runs LoRA (or with --full, full fine-tuning) training for N steps of a
 * global batch of B examples with tpa_train_lora / tpa_train_full, through
 * a tpa_dist when started by mpirun, and prints examples per second
 * (global examples over the training call's wall time). Defaults: the
 * shipped model and task (share/default), 40 steps of 32.
 *
 * Then it prints, without measuring anything, the bytes one step
 * all-reduces for BERT-base (LoRA rank 8 on query/key/value/attention
 * output of the 12 blocks, every LayerNorm and the classifier, docs/method.md
 * section 7; versus every one of its parameters in full fine-tuning) and
 * the time a ring all-reduce needs for them: 2 (N-1)/N * bytes /
 * bandwidth, latency ignored. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tpa/tpa.h"

#ifndef TPA_DEFAULT_DIR
#define TPA_DEFAULT_DIR "share/default"
#endif

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(int rank, const char *what, tpa_status st) {
  fprintf(stderr, "bench_dist rank %d: %s: %s\n", rank, what,
          tpa_last_error()[0] ? tpa_last_error() : tpa_status_str(st));
  exit(1);
}

/* Parameters of BERT-base (uncased vocabulary, 2 labels). */
static void bert_base_counts(double *full, double *lora) {
  const double H = 768, I = 3072, L = 12, V = 30522, P = 512, T = 2, C = 2, R = 8;
  const double emb = (V + P + T) * H + 2 * H;
  const double block = 4 * (H * H + H) + 2 * (2 * H) + (H * I + I) + (I * H + H);
  const double pooler = H * H + H, cls = C * H + C;
  *full = emb + L * block + pooler + cls;
  /* LoRA A [R, H] and B [H, R] on 4 modules per block; LayerNorms; classifier. */
  *lora = L * 4 * (2 * R * H) + (2 * H + L * 2 * (2 * H)) + cls;
}

static void comm_model(void) {
  double full = 0, lora = 0;
  bert_base_counts(&full, &lora);
  const double bytes[2] = {4 * lora, 4 * full};
  const char *name[2] = {"LoRA r=8 (Q,K,V,O) + LayerNorms + classifier", "full fine-tuning"};
  printf("\ncommunication model, BERT-base, one float32 all-reduce per step:\n");
  for (int k = 0; k < 2; k++)
    printf("  %-46s %11.0f params  %8.2f MB per step\n", name[k], bytes[k] / 4, bytes[k] / 1e6);
  printf("ring all-reduce time per step = 2 (N-1)/N * bytes / bandwidth (latency ignored):\n");
  printf("  %-18s %6s %12s %12s %12s\n", "", "ranks", "1 Gbit/s", "10 Gbit/s", "100 Gbit/s");
  const int ranks[3] = {2, 8, 64};
  for (int k = 0; k < 2; k++)
    for (int j = 0; j < 3; j++) {
      const double n = ranks[j], f = 2 * (n - 1) / n * bytes[k] * 8;
      printf("  %-18s %6d %10.1f ms %10.2f ms %10.3f ms\n", k ? "full" : "LoRA", ranks[j],
             1e3 * f / 1e9, 1e3 * f / 1e10, 1e3 * f / 1e11);
    }
}

int main(int argc, char **argv) {
  const char *model_dir = TPA_DEFAULT_DIR "/model", *data = TPA_DEFAULT_DIR "/task";
  long steps = 40, batch = 32, rank_lora = 8;
  bool full = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
      model_dir = argv[++i];
    else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
      data = argv[++i];
    else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
      steps = atol(argv[++i]);
    else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
      batch = atol(argv[++i]);
    else if (strcmp(argv[i], "--rank") == 0 && i + 1 < argc)
      rank_lora = atol(argv[++i]);
    else if (strcmp(argv[i], "--full") == 0)
      full = true;
    else {
      fprintf(stderr, "usage: bench_dist [--model DIR] [--data DIR] [--steps N] [--batch B] "
                      "[--rank R] [--full]\n");
      return 2;
    }
  }
  const bool launched = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK");
  tpa_dist *dist = NULL;
  int me = 0;
  if (launched) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    tpa_status st = tpa_dist_create_mpi(&dist, NULL);
    if (st != TPA_OK)
      die(0, "tpa_dist_create_mpi", st);
    me = (int)tpa_dist_rank(dist);
  }
  tpa_model *m = NULL;
  tpa_dataset *tr = NULL;
  tpa_lora_set *set = NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s/train.tsv", data);
  tpa_status st = tpa_model_load(&m, model_dir, NULL);
  if (st == TPA_OK)
    st = tpa_dataset_load(&tr, TPA_TASK_SST2, path, NULL);
  tpa_lora_params lp;
  tpa_lora_params_init(&lp, sizeof lp);
  lp.rank = (int32_t)rank_lora;
  if (st == TPA_OK && !full)
    st = tpa_lora_set_create(&set, m, &lp);
  if (st != TPA_OK)
    die(me, "loading", st);
  tpa_train_params tp;
  tpa_train_params_init(&tp, sizeof tp);
  tp.batch_size = (int32_t)batch;
  tp.max_steps = steps;
  tp.dist = dist;
  tpa_train_result res = {.size = sizeof res};
  const double t0 = now_s(), c0 = cpu_s();
  st = full ? tpa_train_full(m, tr, NULL, &tp, &res) : tpa_train_lora(m, set, tr, NULL, &tp, &res);
  const double sec = now_s() - t0;
  double cpu = cpu_s() - c0;
  if (st != TPA_OK)
    die(me, "training", st);
  /* CPU seconds of every rank: on a shared machine the wall time says how
   * busy the machine was, the CPU time what the work cost. */
  if (launched)
    MPI_Allreduce(MPI_IN_PLACE, &cpu, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  if (me == 0) {
    printf("bench_dist: %s, %d rank(s), %ld steps of %ld examples, %s threads per rank\n",
           full ? "full fine-tuning" : "LoRA", (int)tpa_dist_size(dist), steps, batch,
           getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "default");
    printf("  %.1f examples/s (%.3f s), %llu trainable params = %.3f MB all-reduced per step\n",
           (double)res.examples / sec, sec, (unsigned long long)res.trainable_params,
           4e-6 * (double)res.trainable_params);
    printf("  %.3f CPU-seconds over all ranks = %.1f examples per CPU-second "
           "(idle-machine estimate: %.1f examples/s with one core per rank)\n",
           cpu, (double)res.examples / cpu,
           (double)res.examples / cpu * (double)tpa_dist_size(dist));
    comm_model();
  }
  tpa_lora_set_free(set);
  tpa_dataset_free(tr);
  tpa_model_free(m);
  tpa_dist_free(dist);
  if (launched)
    MPI_Finalize();
  return 0;
}
