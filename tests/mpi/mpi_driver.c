/* SPDX-License-Identifier: Apache-2.0 */
/* Test driver of data parallelism through the public API
 * (tests/mpi/test_mpi.py). Under mpirun it initialises MPI and passes a
 * tpa_dist to the stage; without mpirun it runs the same stage in one
 * process, which is the reference. Every rank writes its own results to
 * OUT/rank<R>/ so the test can compare the ranks with each other.
 *
 * usage: mpi_driver lora|full|importance MODEL_DIR DATA_DIR OUT [key=value...]
 *   steps=N save_every=N ckpt=DIR resume=1 cancel_at=K die_at=K die_rank=R
 *   train_rows=N dev_rows=N batch=N */
#include <errno.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tpa/tpa.h"

typedef struct opts {
  long steps, save_every, cancel_at, die_at, die_rank, train_rows, dev_rows, batch;
  const char *ckpt;
  int resume;
  int rank;
} opts;

static opts O = {.steps = 6,
                 .save_every = 0,
                 .cancel_at = -1,
                 .die_at = -1,
                 .die_rank = 1,
                 .train_rows = 96,
                 .dev_rows = 64,
                 .batch = 8};

static int fail(const char *what, tpa_status st) {
  fprintf(stderr, "mpi_driver rank %d: %s: %s\n", O.rank, what,
          tpa_last_error()[0] ? tpa_last_error() : tpa_status_str(st));
  return 1;
}

static bool on_progress(void *user, const char *stage, uint64_t done, uint64_t total) {
  (void)user, (void)stage, (void)total;
  if (O.die_at >= 0 && (long)done == O.die_at && O.rank == O.die_rank) {
    fprintf(stderr, "mpi_driver rank %d: killing myself at step %ld\n", O.rank, O.die_at);
    fflush(stderr);
    raise(SIGKILL);
  }
  return !(O.cancel_at >= 0 && (long)done == O.cancel_at);
}

static tpa_status load_split(tpa_dataset **ds, const char *dir, const char *name, long rows) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  tpa_dataset_params dp;
  tpa_dataset_params_init(&dp, sizeof dp);
  dp.max_rows = (size_t)rows;
  return tpa_dataset_load(ds, TPA_TASK_SST2, path, &dp);
}

static int write_logits(const char *dir, const tpa_model *m, const tpa_lora_set *set,
                        const tpa_dataset *dev) {
  const size_t n = tpa_dataset_size(dev);
  float *logits = malloc(n * 2 * sizeof *logits);
  tpa_predict_params pp;
  tpa_predict_params_init(&pp, sizeof pp);
  pp.adapter = set;
  tpa_status st = logits ? tpa_model_predict(m, dev, &pp, logits, n * 2) : TPA_ERR_NO_MEMORY;
  if (st != TPA_OK) {
    free(logits);
    return fail("predict", st);
  }
  char path[4200];
  snprintf(path, sizeof path, "%s/logits.txt", dir);
  FILE *f = fopen(path, "w");
  for (size_t i = 0; f && i < n * 2; i++)
    fprintf(f, "%.9g\n", (double)logits[i]);
  free(logits);
  return f && fclose(f) == 0 ? 0 : fail("writing logits", TPA_ERR_IO);
}

static int train(bool full, const tpa_dist *dist, const char *model_dir, const char *data,
                 const char *out) {
  tpa_model *m = NULL;
  tpa_dataset *tr = NULL, *dev = NULL;
  tpa_lora_set *set = NULL;
  tpa_status st = tpa_model_load(&m, model_dir, NULL);
  if (st == TPA_OK)
    st = load_split(&tr, data, "train.tsv", O.train_rows);
  if (st == TPA_OK)
    st = load_split(&dev, data, "dev.tsv", O.dev_rows);
  if (st == TPA_OK && !full) {
    tpa_lora_params lp;
    tpa_lora_params_init(&lp, sizeof lp);
    lp.rank = 4;
    st = tpa_lora_set_create(&set, m, &lp);
  }
  if (st != TPA_OK)
    return fail("loading", st);
  tpa_train_params tp;
  tpa_train_params_init(&tp, sizeof tp);
  tp.batch_size = (int32_t)O.batch;
  tp.max_steps = O.steps;
  tp.learning_rate = full ? 2e-3 : 5e-3;
  tp.warmup_ratio = 0;
  tp.hidden_dropout = 0.1;
  tp.attention_dropout = 0.1;
  tp.checkpoint_dir = O.ckpt;
  tp.save_every = O.save_every;
  tp.resume = O.resume != 0;
  tp.progress = on_progress;
  tp.dist = dist;
  tpa_train_result res = {.size = sizeof res};
  st = full ? tpa_train_full(m, tr, dev, &tp, &res) : tpa_train_lora(m, set, tr, dev, &tp, &res);
  int rc = 0;
  if (st != TPA_OK) {
    rc = fail("training", st);
    fprintf(stderr, "mpi_driver rank %d: status %d\n", O.rank, (int)st);
  } else {
    mkdir(out, 0755);
    char dir[4000];
    snprintf(dir, sizeof dir, "%s/rank%d", out, O.rank);
    st = full ? tpa_model_save(m, dir) : tpa_lora_set_save(set, dir);
    rc = st == TPA_OK ? write_logits(dir, m, set, dev) : fail("saving", st);
    char path[4200];
    snprintf(path, sizeof path, "%s/result.txt", dir);
    FILE *f = rc == 0 ? fopen(path, "w") : NULL;
    if (f) {
      fprintf(f,
              "steps %lld\nexamples %llu\ntokens %llu\nbest_epoch %d\nbest_metric %.9g\n"
              "final_train_loss %.9g\n",
              (long long)res.steps, (unsigned long long)res.examples,
              (unsigned long long)res.tokens, (int)res.best_epoch, res.best_metric,
              res.final_train_loss);
      fclose(f);
    }
  }
  tpa_lora_set_free(set);
  tpa_dataset_free(tr);
  tpa_dataset_free(dev);
  tpa_model_free(m);
  return rc;
}

static int importance(const tpa_dist *dist, const char *model_dir, const char *data,
                      const char *out) {
  tpa_model *m = NULL;
  tpa_dataset *tr = NULL;
  tpa_importance *imp = NULL;
  tpa_status st = tpa_model_load(&m, model_dir, NULL);
  if (st == TPA_OK)
    st = load_split(&tr, data, "train.tsv", O.train_rows);
  tpa_importance_params ip;
  tpa_importance_params_init(&ip, sizeof ip);
  ip.batch_size = (int32_t)O.batch;
  ip.dist = dist;
  if (st == TPA_OK)
    st = tpa_importance_compute(&imp, m, tr, &ip);
  char path[4200];
  mkdir(out, 0755);
  snprintf(path, sizeof path, "%s/rank%d.json", out, O.rank);
  if (st == TPA_OK)
    st = tpa_importance_save(imp, path);
  int rc = st == TPA_OK ? 0 : fail("importance", st);
  tpa_importance_free(imp);
  tpa_dataset_free(tr);
  tpa_model_free(m);
  return rc;
}

/* The API's edges without mpirun: NULL means one process; a handle needs
 * MPI initialised first. Prints what failed; returns 0 when all hold. */
static int api_checks(void) {
  int bad = 0;
#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "api: check failed: %s\n", #cond);                                           \
      bad = 1;                                                                                     \
    }                                                                                              \
  } while (0)
  CHECK(tpa_dist_available());
  CHECK(tpa_dist_rank(NULL) == 0 && tpa_dist_size(NULL) == 1);
  tpa_dist_free(NULL);
  tpa_dist *d = (tpa_dist *)&bad;
  CHECK(tpa_dist_create_mpi(&d, NULL) == TPA_ERR_UNSUPPORTED);
  CHECK(d == NULL);
  CHECK(strstr(tpa_last_error(), "MPI is not initialized") != NULL);
  CHECK(tpa_dist_create_mpi(NULL, NULL) == TPA_ERR_INVALID_ARGUMENT);
  CHECK(strstr(tpa_last_error(), "NULL out") != NULL);
#undef CHECK
  printf("api checks %s\n", bad ? "FAILED" : "passed");
  return bad;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "api") == 0)
    return api_checks();
  if (argc < 5) {
    fprintf(stderr, "usage: mpi_driver lora|full|importance MODEL DATA OUT [key=value...]\n");
    return 2;
  }
  for (int i = 5; i < argc; i++) {
    const char *eq = strchr(argv[i], '=');
    if (!eq)
      return fprintf(stderr, "bad option %s\n", argv[i]), 2;
    const size_t k = (size_t)(eq - argv[i]);
    const char *v = eq + 1;
#define KEY(name) (k == strlen(name) && strncmp(argv[i], name, k) == 0)
    if (KEY("steps"))
      O.steps = atol(v);
    else if (KEY("save_every"))
      O.save_every = atol(v);
    else if (KEY("cancel_at"))
      O.cancel_at = atol(v);
    else if (KEY("die_at"))
      O.die_at = atol(v);
    else if (KEY("die_rank"))
      O.die_rank = atol(v);
    else if (KEY("train_rows"))
      O.train_rows = atol(v);
    else if (KEY("dev_rows"))
      O.dev_rows = atol(v);
    else if (KEY("batch"))
      O.batch = atol(v);
    else if (KEY("ckpt"))
      O.ckpt = v;
    else if (KEY("resume"))
      O.resume = atoi(v);
    else
      return fprintf(stderr, "unknown option %s\n", argv[i]), 2;
#undef KEY
  }
  const bool launched = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK");
  tpa_dist *dist = NULL;
  if (launched) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    tpa_status st = tpa_dist_create_mpi(&dist, NULL);
    if (st != TPA_OK)
      return fail("tpa_dist_create_mpi", st);
    O.rank = (int)tpa_dist_rank(dist);
  }
  int rc;
  if (strcmp(argv[1], "lora") == 0 || strcmp(argv[1], "full") == 0)
    rc = train(strcmp(argv[1], "full") == 0, dist, argv[2], argv[3], argv[4]);
  else if (strcmp(argv[1], "importance") == 0)
    rc = importance(dist, argv[2], argv[3], argv[4]);
  else
    rc = 2;
  tpa_dist_free(dist);
  if (launched)
    MPI_Finalize();
  return rc;
}
