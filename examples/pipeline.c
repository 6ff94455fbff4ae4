/* SPDX-License-Identifier: Apache-2.0 */
/* The TPA pipeline in C, stage by stage, through the public API only.
 *
 *   cc -std=c99 pipeline.c $(pkg-config --cflags --libs libtpa) -o pipeline
 *   ./pipeline MODEL_DIR TASK_DIR OUT_DIR
 *
 * With the default model and task that ship with libtpa
 * (share/default/model and share/default/task in the source tree,
 * DATADIR/libtpa/default/ once installed) it finishes in a few seconds:
 * head importance on train.tsv, a prune plan removing the paper's share of
 * heads, structural pruning, the importance-oriented rank schedule, LoRA
 * training with dev evaluation, merge into the pruned weights, and an HF
 * export in OUT_DIR/model (plus the unmerged adapter in OUT_DIR/adapter).
 * The task is SST-2 format: TASK_DIR/train.tsv and TASK_DIR/dev.tsv. */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <tpa/tpa.h>

static int fail(const char *what, tpa_status st) {
  fprintf(stderr, "%s: %s (%s)\n", what, tpa_last_error(), tpa_status_str(st));
  return 1;
}

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p != NULL)
    snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static void on_epoch(void *user, const tpa_epoch_report *r) {
  (void)user;
  printf("epoch %d: train loss %.4f, dev %.4f%s\n", (int)r->epoch, r->train_loss, r->dev.main,
         r->best ? " (best)" : "");
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s MODEL_DIR TASK_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  const char *out = argv[3];
  char *train_path = join(argv[2], "train.tsv"), *dev_path = join(argv[2], "dev.tsv");
  char *imp_path = join(out, "importance.json"), *adapter_dir = join(out, "adapter");
  char *model_dir = join(out, "model");
  tpa_model *model = NULL;
  tpa_dataset *train = NULL, *dev = NULL;
  tpa_importance *imp = NULL;
  tpa_prune_plan *plan = NULL;
  tpa_lora_set *set = NULL;
  int32_t *ranks = NULL;
  tpa_status st = TPA_OK;
  int rc = 1;
  if (!train_path || !dev_path || !imp_path || !adapter_dir || !model_dir)
    goto out;
  if (mkdir(out, 0755) != 0 && errno != EEXIST) {
    perror(out);
    goto out;
  }

  /* 1. Load the checkpoint and the task's two splits. */
  if ((st = tpa_model_load(&model, argv[1], NULL)) != TPA_OK) {
    rc = fail("load model", st);
    goto out;
  }
  if ((st = tpa_dataset_load(&train, TPA_TASK_SST2, train_path, NULL)) != TPA_OK ||
      (st = tpa_dataset_load(&dev, TPA_TASK_SST2, dev_path, NULL)) != TPA_OK) {
    rc = fail("load data", st);
    goto out;
  }
  tpa_model_config cfg = {.size = sizeof cfg};
  if ((st = tpa_model_get_config(model, &cfg)) != TPA_OK) {
    rc = fail("config", st);
    goto out;
  }
  tpa_param_counts before = {.size = sizeof before}, after = {.size = sizeof after};
  if ((st = tpa_model_param_counts(model, &before)) != TPA_OK) {
    rc = fail("count", st);
    goto out;
  }

  /* 2. Task-oriented head importance (head-mask gradients only). */
  if ((st = tpa_importance_compute(&imp, model, train, NULL)) != TPA_OK ||
      (st = tpa_importance_save(imp, imp_path)) != TPA_OK) {
    rc = fail("importance", st);
    goto out;
  }
  printf("importance of %llu examples, block scores:",
         (unsigned long long)tpa_importance_examples(imp));
  for (int32_t l = 0; l < cfg.num_layers; l++)
    printf(" %.4f", tpa_importance_block(imp, l));
  printf("\n");

  /* 3. Plan (default: the paper's 30.56% of heads) and structural prune. */
  if ((st = tpa_prune_plan_create(&plan, imp, NULL)) != TPA_OK ||
      (st = tpa_model_prune(model, plan)) != TPA_OK ||
      (st = tpa_model_param_counts(model, &after)) != TPA_OK) {
    rc = fail("prune", st);
    goto out;
  }
  printf("pruned %d heads: %llu -> %llu parameters\n", (int)tpa_prune_plan_num_pruned(plan),
         (unsigned long long)before.total, (unsigned long long)after.total);

  /* 4. Rank schedule from block importance, and a LoRA set of those ranks
   *    sized to the pruned projections. */
  size_t n_ranks = (size_t)cfg.num_layers * TPA_LORA_MODULES;
  ranks = malloc(n_ranks * sizeof *ranks);
  if (ranks == NULL)
    goto out;
  if ((st = tpa_rank_schedule(imp, NULL, ranks, n_ranks)) != TPA_OK) {
    rc = fail("rank schedule", st);
    goto out;
  }
  tpa_lora_params lp;
  tpa_lora_params_init(&lp, sizeof lp);
  lp.ranks = ranks; /* borrowed for the call */
  if ((st = tpa_lora_set_create(&set, model, &lp)) != TPA_OK) {
    rc = fail("lora set", st);
    goto out;
  }

  /* 5. Train the adapters (the model stays frozen), evaluating on dev.
   *    These settings suit the small default task; real checkpoints use
   *    the library defaults (lr 5e-4, batch 32, dropout from config). */
  tpa_train_params tp;
  tpa_train_params_init(&tp, sizeof tp);
  tp.epochs = 6;
  tp.learning_rate = 3e-3;
  tp.batch_size = 16;
  tp.hidden_dropout = tp.attention_dropout = 0;
  tp.on_epoch = on_epoch;
  tpa_train_result res = {.size = sizeof res};
  if ((st = tpa_train_lora(model, set, train, dev, &tp, &res)) != TPA_OK) {
    rc = fail("train", st);
    goto out;
  }
  printf("trained %llu parameters, best dev %.4f (epoch %d)\n",
         (unsigned long long)res.trainable_params, res.best_metric, (int)res.best_epoch);

  /* 6. Save the unmerged adapter, merge it into the pruned weights and
   *    export the smaller model as an HF directory. */
  if ((st = tpa_lora_set_save(set, adapter_dir)) != TPA_OK ||
      (st = tpa_lora_set_merge(set, model)) != TPA_OK ||
      (st = tpa_model_save(model, model_dir)) != TPA_OK) {
    rc = fail("merge/export", st);
    goto out;
  }
  printf("wrote %s and %s\n", adapter_dir, model_dir);
  rc = 0;
out:
  if (rc != 0 && st == TPA_OK && errno == ENOMEM)
    fprintf(stderr, "out of memory\n");
  free(ranks);
  tpa_lora_set_free(set);
  tpa_prune_plan_free(plan);
  tpa_importance_free(imp);
  tpa_dataset_free(train);
  tpa_dataset_free(dev);
  tpa_model_free(model);
  free(train_path);
  free(dev_path);
  free(imp_path);
  free(adapter_dir);
  free(model_dir);
  return rc;
}
