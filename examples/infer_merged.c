/* SPDX-License-Identifier: Apache-2.0 */
/* Inference with a pruned-and-merged model exported by `tpa run` (or
 * examples/pipeline.c), through the public API only.
 *
 *   cc -std=c99 infer_merged.c $(pkg-config --cflags --libs libtpa) -o infer_merged
 *   ./infer_merged OUT/model TASK FILE.tsv
 *
 * The export is an ordinary HF directory whose config.json lists the
 * removed heads in `pruned_heads`; the loader builds the smaller matrices
 * directly and no adapter is needed any more. Prints the heads each layer
 * kept, the parameter count, a prediction per example (label name) and,
 * the file being labelled, the task's metric. */
#include <stdio.h>
#include <stdlib.h>

#include <tpa/tpa.h>

static int fail(const char *what, tpa_status st) {
  fprintf(stderr, "%s: %s (%s)\n", what, tpa_last_error(), tpa_status_str(st));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s MERGED_MODEL_DIR TASK FILE.tsv\n", argv[0]);
    return 2;
  }
  tpa_task task;
  tpa_status st = tpa_task_from_name(argv[2], &task);
  if (st != TPA_OK)
    return fail("task", st);
  tpa_model *model = NULL;
  if ((st = tpa_model_load(&model, argv[1], NULL)) != TPA_OK)
    return fail("load", st);
  tpa_dataset *ds = NULL;
  if ((st = tpa_dataset_load(&ds, task, argv[3], NULL)) != TPA_OK) {
    tpa_model_free(model);
    return fail("data", st);
  }
  tpa_model_config cfg = {.size = sizeof cfg};
  tpa_param_counts pc = {.size = sizeof pc};
  const size_t n = tpa_dataset_size(ds);
  const int32_t width = tpa_task_num_labels(task);
  float *logits = malloc((n * (size_t)width + 1) * sizeof *logits);
  float *labels = malloc((n + 1) * sizeof *labels);
  int rc = 1;
  if (logits == NULL || labels == NULL) {
    fprintf(stderr, "out of memory\n");
    goto out;
  }
  if ((st = tpa_model_get_config(model, &cfg)) != TPA_OK ||
      (st = tpa_model_param_counts(model, &pc)) != TPA_OK) {
    rc = fail("inspect", st);
    goto out;
  }
  int kept = 0;
  for (int32_t l = 0; l < cfg.num_layers; l++) {
    int32_t heads[256];
    size_t k = 0;
    if ((st = tpa_model_layer_heads(model, l, heads, 256, &k)) != TPA_OK) {
      rc = fail("heads", st);
      goto out;
    }
    printf("layer %d keeps %zu of %d heads:", (int)l, k, (int)cfg.num_heads);
    for (size_t i = 0; i < k; i++)
      printf(" %d", (int)heads[i]);
    printf("\n");
    kept += (int)k;
  }
  printf("%d of %d heads, %llu parameters\n", kept, (int)(cfg.num_layers * cfg.num_heads),
         (unsigned long long)pc.total);

  if ((st = tpa_model_predict(model, ds, NULL, logits, n * (size_t)width)) != TPA_OK) {
    rc = fail("predict", st);
    goto out;
  }
  for (size_t i = 0; i < n && i < 5; i++) {
    int32_t best = 0;
    for (int32_t j = 1; j < width; j++)
      if (logits[i * (size_t)width + (size_t)j] > logits[i * (size_t)width + (size_t)best])
        best = j;
    if (cfg.regression)
      printf("%zu\t%.4f\t%s\n", i, logits[i], tpa_dataset_text_a(ds, i));
    else
      printf("%zu\t%s\t%s\n", i, tpa_model_label_name(model, best), tpa_dataset_text_a(ds, i));
  }
  for (size_t i = 0; i < n; i++)
    labels[i] = tpa_dataset_label(ds, i);
  tpa_metrics m = {.size = sizeof m};
  if ((st = tpa_metrics_compute(task, logits, labels, n, &m)) != TPA_OK) {
    rc = fail("metrics", st);
    goto out;
  }
  printf("%s on %zu examples: main metric %.4f\n", tpa_task_name(task), n, m.main);
  rc = 0;
out:
  free(labels);
  free(logits);
  tpa_dataset_free(ds);
  tpa_model_free(model);
  return rc;
}
